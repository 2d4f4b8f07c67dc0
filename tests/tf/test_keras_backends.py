"""The same Keras layer and callback with KERAS_BACKEND=jax and KERAS_BACKEND=torch.

Keras fixes its backend at import time, so each backend runs scripts/keras_backend.py in
its own subprocess, with TensorFlow made unimportable (a JAX-only / PyTorch-only install).
JAX runs twice: without x64 (the default; λ schedules are evaluated on the host) and with
x64 (evaluated on the device in float64, like the other backends).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from grl.core import schedules
from grl.core.reference import gradient_reversal_backward
from tests.backends import require
from tests.tf.helpers import assert_same_bits, cumulative_float32, lambda_history
from tests.tf.subprocesses import decode, run_script

_RESULTS: dict[str, dict[str, Any]] = {}
#: Each run: (Keras backend, extra environment).
_RUNS = {"jax": ("jax", {}), "jax_x64": ("jax", {"JAX_ENABLE_X64": "1"}), "torch": ("torch", {})}


def run_backend(name: str) -> dict[str, Any]:
    backend, env = _RUNS[name]
    require(backend)
    if name not in _RESULTS:  # one subprocess per run, shared by the tests below
        _RESULTS[name] = run_script("keras_backend.py", KERAS_BACKEND=backend, **env)
    return _RESULTS[name]


@pytest.fixture(params=list(_RUNS))
def result(request: pytest.FixtureRequest) -> dict[str, Any]:
    return run_backend(request.param)


def test_runs_on_the_requested_backend_without_tensorflow(result) -> None:
    assert result["backend"] in ("jax", "torch")
    assert result["tensorflow_imported"] is False
    assert result["lambda_dtype"] == "float32"


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32"])
def test_forward_identity_and_backward_bits(result, dtype: str) -> None:
    arrays = {name: decode(value) for name, value in result["vjp"][dtype].items()}
    assert_same_bits(arrays["y"], arrays["x"])
    assert_same_bits(arrays["d"], gradient_reversal_backward(arrays["g"], np.float32(0.1)))


@pytest.mark.parametrize("name", ["jax", "jax_x64"])
def test_jax_jit_never_retraces_when_lambda_changes(name: str) -> None:
    result = run_backend(name)
    assert result["jit_traces"] == 1
    g = decode(result["jit_g"])
    for value, grad in zip([0.5, 2.0, 6.0], result["jit_grads"], strict=True):
        assert_same_bits(decode(grad), gradient_reversal_backward(g, np.float32(value)))


def test_advance_inside_jax_jit_follows_the_schedule() -> None:
    # λ = s(step) after each advance: s(1) ... s(40).
    expected = np.asarray(lambda_history(schedules.dann(40, gamma=4.0), range(1, 41)), np.float32)
    # With x64 the schedule is evaluated in float64, as on the host: the same bits.
    assert_same_bits(np.asarray(run_backend("jax_x64")["jitted_advance"], np.float32), expected)
    # Without x64, a traced step leaves float32 only: within a few float32 ulp.
    seen = np.asarray(run_backend("jax")["jitted_advance"], np.float32)
    np.testing.assert_array_max_ulp(seen, expected, maxulp=4)


def test_fit_with_the_callback_follows_the_schedule(result) -> None:
    schedule = schedules.dann(12, gamma=4.0)
    expected = lambda_history(schedule, range(12))
    fit = result["fit"]
    assert fit["seen"] == expected
    assert fit["step"] == 12  # validation and predict did not advance
    assert_same_bits(decode(fit["lambda"]), np.float32(schedule(12)))  # λ = s(n) after n
    assert_same_bits(decode(fit["kernel"]), np.full((1, 1), cumulative_float32(expected)))


def test_keras_file_round_trip(result) -> None:
    loaded = result["loaded"]
    assert loaded["config"] == schedules.dann(12, gamma=4.0).get_config()
    assert loaded["step"] == 12
    assert_same_bits(decode(loaded["lambda"]), decode(result["fit"]["lambda"]))


def test_non_float_input_error(result) -> None:
    assert "floating" in result["int_input_error"] and "'int32'" in result["int_input_error"]


def test_a_forgotten_scheduler_warns(result) -> None:
    """JAX traces fit's step (a fit callback watches); PyTorch runs it eagerly (the layer
    counts its training calls)."""
    assert result["forgotten_scheduler_warnings"] == ["[grl: never_advanced] a sch"]


def test_monitor_logs_step_lambda_and_the_domain_loss_and_warns(result) -> None:
    """No gradient numbers here (a gradient function cannot write state on these backends):
    step and λ the batch trained with, the domain loss from the logs, and the warnings."""
    monitor = result["monitor"]
    history, schedule = monitor["history"], schedules.dann(12, gamma=4.0)
    assert history["grl/step"] == [3.0, 7.0, 11.0]  # the last batch of each epoch
    lambda_dtype = np.float64 if result["lambda_dtype"] == "float64" else np.float32
    assert history["grl/lambda"] == [float(lambda_dtype(schedule(s))) for s in (3, 7, 11)]
    assert history["grl/domain_loss"] == history["loss"]
    assert all(np.isnan(monitor["last"][f"grl/{name}"]) for name in ("grad_in_norm", "grad_ratio"))
    assert monitor["warnings"] == []
    assert monitor["forgotten_scheduler"] == ["never_advanced"]
    assert monitor["ten_times_too_long"] == ["ended_early"]
