"""tf.distribute.MirroredStrategy over 2 logical CPU devices gives the same λ, step and
gradients as one device (run in a subprocess: see scripts/mirrored.py)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from grl.core import schedules
from grl.core.reference import gradient_reversal_backward
from tests.backends import require
from tests.tf.helpers import assert_same_bits
from tests.tf.subprocesses import decode, run_script


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    require("tf")
    return run_script("mirrored.py")


def test_two_replicas_in_sync(result) -> None:
    assert result["replicas"] == 2
    assert len(result["mirrored"]["replica_lambdas"]) == 2


def test_lambda_and_step_match_one_device(result) -> None:
    expected = np.float32(schedules.dann(8, gamma=4.0)(8))  # λ = s(n) after n batches
    for run in (result["single"], result["mirrored"]):
        assert run["step"] == 8
        assert_same_bits(decode(run["lambda"]), expected)
        for replica_lambda in run["replica_lambdas"]:
            assert_same_bits(decode(replica_lambda), expected)


def test_trained_weights_match_one_device(result) -> None:
    # All-reducing per-replica gradients sums in another order: equal up to rounding.
    pairs = zip(result["single"]["weights"], result["mirrored"]["weights"], strict=True)
    for single, mirrored in pairs:
        np.testing.assert_allclose(decode(mirrored), decode(single), rtol=1e-5, atol=1e-6)


def test_each_replica_gradient_is_the_reference(result) -> None:
    g = decode(result["g"])
    grads = [decode(grad) for grad in result["grads"]]
    assert len(grads) == 2
    for replica, grad in enumerate(grads):
        assert_same_bits(grad, gradient_reversal_backward(g[replica], np.float32(0.3)))
