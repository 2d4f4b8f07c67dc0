"""Conformance adapter for grl.mlx: the kit's MLX adapter plus the layer and its contract."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import numpy as np
from mlx.utils import tree_flatten

import grl.backends.mlx as grl_mlx
from grl.conformance.frameworks.mlx import CallableAdapter
from grl.core import schedules
from tests.conformance.adapters.base import Adapter


class MlxAdapter(CallableAdapter, Adapter):
    layer_kinds = ("module",)

    def __init__(self) -> None:
        super().__init__(grl_mlx.gradient_reversal)

    def backward_uses_forward_lambda(self, x: np.ndarray, before: float, after: float) -> Any:
        layer = grl_mlx.GradientReversal(before)

        def loss(v: mx.array) -> mx.array:
            y = layer(v)  # the graph holds this forward's λ array
            layer.set_lambda(after)
            return mx.sum(y)

        return self.to_numpy(mx.grad(loss)(self.from_numpy(x)))

    # -- the layer ------------------------------------------------------------------------
    def make_layer(self, lambda_: Any) -> Any:
        return grl_mlx.GradientReversal(lambda_)

    def layer_lambda(self, layer: Any) -> tuple[float, str]:
        value = layer["lambda_"]
        return float(value.item()), str(value.dtype).split(".")[-1]

    def layer_state_has_lambda(self, layer: Any) -> bool:
        saved = dict(tree_flatten(layer.parameters()))
        trained = dict(tree_flatten(layer.trainable_parameters()))
        return "lambda_" in saved and saved["lambda_"].ndim == 0 and "lambda_" not in trained

    def layer_vjp(self, layer: Any, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        return self.to_numpy(mx.vjp(layer, [self.from_numpy(x)], [self.from_numpy(g)])[1][0])

    def layer_step(self, layer: Any) -> int:
        return int(layer["step"].item())

    # -- the layer contract ---------------------------------------------------------------
    def contract_layer(self, kind: str, lambda_: Any) -> Any:
        return grl_mlx.GradientReversal(lambda_)

    def contract_state(self, handle: Any) -> tuple[float, str, int]:
        return (*self.layer_lambda(handle), self.layer_step(handle))

    def contract_set_lambda(self, handle: Any, value: Any) -> None:
        handle.set_lambda(value)

    def contract_advance(self, handle: Any, steps: Any) -> None:
        handle.advance(steps)

    def contract_train(self, handle: Any, batches: int) -> Any:
        model = nn.Sequential(nn.Linear(3, 4), handle, nn.Linear(4, 1))
        optimizer = optim.SGD(learning_rate=0.01)
        loss_and_grad = nn.value_and_grad(model, lambda x: mx.mean(model(x) ** 2))
        x = mx.array(np.random.default_rng(0).standard_normal((8, 3)), dtype=mx.float32)
        for _ in range(batches):
            _, grads = loss_and_grad(x)
            optimizer.update(model, grads)
            mx.eval(model.parameters(), optimizer.state)
            handle.advance()
        return handle

    def contract_checkpoint(self, handle: Any, kind: str, lambda_: Any) -> Any:
        with tempfile.TemporaryDirectory() as folder:
            path = str(Path(folder) / "layer.safetensors")
            handle.save_weights(path)
            restored = grl_mlx.GradientReversal(lambda_)
            restored.load_weights(path)
        return restored

    def contract_load_state(self, handle: Any, lambda_value: float, step: int) -> None:
        saved = [
            ("lambda_", mx.array(lambda_value, dtype=mx.float32)),
            ("step", mx.array(step, dtype=mx.int32)),
        ]
        handle.load_weights(saved)

    def device_schedule(self, schedule: Any, steps: np.ndarray) -> np.ndarray:
        values = schedules.evaluate(schedule, mx.array(steps, dtype=mx.float64), mx)
        return np.array(values)
