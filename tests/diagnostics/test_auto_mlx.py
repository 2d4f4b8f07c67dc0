"""total_steps="auto" in MLX: resolved by an explicit call with a number."""

from __future__ import annotations

import pytest

from tests.backends import require

grl_mlx = require("mlx")

import mlx.core as mx  # noqa: E402
import mlx.nn as nn  # noqa: E402
import numpy as np  # noqa: E402

from grl.backends.mlx.diagnostics import resolve_total_steps  # noqa: E402
from grl.core import schedules  # noqa: E402

AUTO = schedules.dann("auto", gamma=7.0)


def model(lambda_: object) -> nn.Sequential:
    return nn.Sequential(nn.Linear(3, 3), grl_mlx.GradientReversal(lambda_))


def bits(layer: grl_mlx.GradientReversal) -> int:
    return int(np.array(layer["lambda_"]).view(np.int32))


def test_an_unresolved_layer_refuses_to_train_before_any_work():
    net = model(AUTO)
    net.eval()
    net(mx.ones((2, 3)))  # inference needs no λ
    net.train()
    with pytest.raises(RuntimeError, match=r"training call needs the run length"):
        net(mx.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"advance\(\) needs the run length"):
        net.layers[1].advance()
    assert int(net.layers[1]["step"].item()) == 0


def test_resolved_has_the_same_bits_and_survives_save_and_load(tmp_path):
    auto, direct = model(AUTO), model(schedules.dann(40, gamma=7.0))
    assert resolve_total_steps(auto, 40) == 40
    auto.layers[1].advance(13)
    direct.layers[1].advance(13)
    assert bits(auto.layers[1]) == bits(direct.layers[1])
    path = str(tmp_path / "weights.safetensors")
    auto.save_weights(path)
    fresh = model(AUTO)
    resolve_total_steps(fresh, 40)
    fresh.load_weights(path)
    assert bits(fresh.layers[1]) == bits(auto.layers[1])
    assert int(fresh.layers[1]["step"].item()) == 13
    unresolved = model(AUTO)
    with pytest.raises(RuntimeError, match=r"not resolved yet.*loading a checkpoint"):
        unresolved.load_weights(path)


def test_resolve_checks_the_number():
    with pytest.raises(ValueError, match="total_steps must be > 0"):
        resolve_total_steps(model(AUTO), -4)
