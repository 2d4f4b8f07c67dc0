"""Exercise grl.keras under the Keras backend named by KERAS_BACKEND (jax or torch).

Run in a subprocess by tests/tf/test_keras_backends.py. TensorFlow is made unimportable
first, as on a machine with only JAX or only PyTorch installed: if grl (or our use of
Keras) needed TensorFlow, this script would fail. Prints one JSON object on its last line;
arrays travel as {"dtype", "shape", "hex"} so that their bits arrive unchanged.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import warnings
from typing import Any

sys.modules["tensorflow"] = None  # type: ignore[assignment]  # "not installed"

import keras  # noqa: E402
import ml_dtypes  # noqa: E402
import numpy as np  # noqa: E402

import grl.keras as grl_keras  # noqa: E402
from grl.core import schedules  # noqa: E402

BACKEND = keras.backend.backend()
assert os.environ["KERAS_BACKEND"] == BACKEND, BACKEND


def encode(array: Any) -> dict[str, Any]:
    array = np.asarray(array)  # not ascontiguousarray: it turns 0-d into 1-d
    return {"dtype": array.dtype.name, "shape": list(array.shape), "hex": array.tobytes().hex()}


def sample(dtype: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    values = np.random.default_rng(seed).standard_normal(shape) * 3.0
    return values.astype(ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype)


def native_vjp(layer: Any, x: np.ndarray, g: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(forward output, gradient) of ``layer`` at ``x`` for cotangent ``g``, natively."""
    if BACKEND == "jax":
        import jax
        import jax.numpy as jnp

        y, pullback = jax.vjp(layer, jnp.asarray(x))
        return np.asarray(y), np.asarray(pullback(jnp.asarray(g))[0])
    import torch

    def to_torch(array: np.ndarray) -> torch.Tensor:
        if array.dtype == ml_dtypes.bfloat16:
            return torch.from_numpy(array.view(np.int16).copy()).view(torch.bfloat16)
        return torch.from_numpy(array.copy())

    def to_numpy(tensor: torch.Tensor) -> np.ndarray:
        tensor = tensor.detach().cpu()
        if tensor.dtype == torch.bfloat16:
            return tensor.view(torch.int16).numpy().view(ml_dtypes.bfloat16)
        return tensor.numpy()

    xt = to_torch(x).requires_grad_()
    y = layer(xt)
    y.backward(to_torch(g))
    return to_numpy(y), to_numpy(xt.grad)


def jit_traces(layer: Any, x: np.ndarray, g: np.ndarray, lambdas: list[float]) -> Any:
    """JAX only: traces of a jitted stateless VJP while λ changes, and its gradients."""
    import jax

    traces = []

    @jax.jit
    def vjp(non_trainable: list, x: Any, g: Any) -> Any:
        traces.append(1)
        _, pullback = jax.vjp(lambda v: layer.stateless_call([], non_trainable, v)[0], x)
        return pullback(g)[0]

    grads = []
    for value in lambdas:
        layer.set_lambda(value)
        grads.append(encode(vjp([v.value for v in layer.non_trainable_variables], x, g)))
    return len(traces), grads


def jitted_advance(steps: int) -> list[float]:
    """JAX only: λ after each of ``steps`` calls of ``advance`` inside ``jax.jit`` (the way
    a Keras train step runs it: variables in a StatelessScope, ``step`` a tracer)."""
    import jax

    layer = grl_keras.GradientReversal(schedules.dann(steps, gamma=4.0))
    variables = layer.non_trainable_variables

    @jax.jit
    def advance(values: list) -> list:
        with keras.StatelessScope(state_mapping=list(zip(variables, values, strict=True))) as scope:
            layer.advance()
        return [scope.get_current_value(v) for v in variables]

    values, seen = [v.value for v in variables], []
    for _ in range(steps):
        values = advance(values)
        seen.append(float(values[0]))
    return seen


class LambdaProbe(keras.callbacks.Callback):
    def __init__(self, layer: Any) -> None:
        super().__init__()
        self.layer, self.seen = layer, []

    def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
        self.seen.append(float(keras.ops.convert_to_numpy(self.layer.lambda_.value)))


def mean_prediction(y_true: Any, y_pred: Any) -> Any:
    return keras.ops.mean(y_pred)


def forgotten_scheduler_warnings() -> list[str]:
    """The grl warnings of a 110-batch fit of a scheduled layer without the scheduler."""
    from grl.core.diagnostics import GRLWarning

    model = keras.Sequential(
        [keras.Input((1,)), keras.layers.Dense(1), grl_keras.GradientReversal(schedules.dann(1000))]
    )
    model.compile(keras.optimizers.SGD(0.1), mean_prediction)
    ones = np.ones((110, 1), np.float32)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GRLWarning)
        model.fit(ones, ones, batch_size=1, epochs=1, verbose=0)
    return [str(w.message)[:27] for w in caught if issubclass(w.category, GRLWarning)]


def monitored_fits() -> dict[str, Any]:
    """The Monitor callback: its numbers in a fit (4 batches × 3 epochs), and the warnings of
    that fit, of one without the scheduler and of one whose schedule is ten times too long."""
    from grl.backends.keras.diagnostics import Monitor
    from grl.core.diagnostics import GRLWarning, Thresholds

    def fit(total_steps: int, scheduler: bool) -> tuple[dict, dict, list[str]]:
        model = keras.Sequential(
            [keras.Input((1,)), keras.layers.Dense(1), grl_keras.GradientReversal(
                schedules.dann(total_steps, gamma=4.0))]
        )  # fmt: skip
        model.compile(keras.optimizers.SGD(0.1), mean_prediction)
        monitor = Monitor(domain_loss="loss", thresholds=Thresholds(advance_within=3))
        callbacks = [grl_keras.GradientReversalScheduler()] if scheduler else []
        ones = np.ones((8, 1), np.float32)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", GRLWarning)
            history = model.fit(
                ones, ones, batch_size=2, epochs=3, verbose=0, callbacks=[*callbacks, monitor]
            )
        kinds = [str(w.message)[6:].split("]")[0] for w in caught if w.category is GRLWarning]
        return history.history, monitor.last, kinds

    history, last, kinds = fit(12, True)
    return {
        "history": history,
        "last": last,
        "warnings": kinds,
        "forgotten_scheduler": fit(12, False)[2],
        "ten_times_too_long": fit(120, True)[2],
    }


def main() -> dict[str, Any]:
    result: dict[str, Any] = {"backend": BACKEND}
    layer = grl_keras.GradientReversal(0.1)
    result["lambda_dtype"] = layer.lambda_.dtype
    result["vjp"] = {}
    for dtype in ("float16", "bfloat16", "float32"):
        x, g = sample(dtype, (9,), 1), sample(dtype, (9,), 2)
        y, grad = native_vjp(layer, x, g)
        result["vjp"][dtype] = {k: encode(v) for k, v in zip("xgyd", (x, g, y, grad), strict=True)}
    if BACKEND == "jax":
        x, g = sample("float32", (4,), 3), sample("float32", (4,), 4)
        result["jit_traces"], result["jit_grads"] = jit_traces(layer, x, g, [0.5, 2.0, 6.0])
        result["jit_g"] = encode(g)
        result["jitted_advance"] = jitted_advance(40)

    # model.fit with the callback: w·x → GRL and loss mean(output); with x = 1 and batches
    # of 2, SGD(1) makes w the float32 running sum of the λ each batch really used.
    schedule = schedules.dann(12, gamma=4.0)
    model = keras.Sequential(
        [
            keras.Input((1,)),
            keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros"),
            grl_keras.GradientReversal(schedule, name="grl"),
        ]
    )
    model.compile(keras.optimizers.SGD(1.0), mean_prediction)
    grl_layer = model.get_layer("grl")
    probe = LambdaProbe(grl_layer)
    ones = np.ones((8, 1), np.float32)
    model.fit(ones, ones, batch_size=2, epochs=3, shuffle=False, verbose=0,
              validation_data=(ones, ones),
              callbacks=[grl_keras.GradientReversalScheduler(), probe])  # fmt: skip
    model.predict(ones, verbose=0)
    result["fit"] = {
        "seen": probe.seen,
        "step": grl_layer.current_step(),
        "lambda": encode(keras.ops.convert_to_numpy(grl_layer.lambda_.value)),
        "kernel": encode(keras.ops.convert_to_numpy(model.layers[0].kernel.value)),
    }

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.keras")
        model.save(path)
        loaded = keras.models.load_model(path, compile=False).get_layer("grl")
    result["loaded"] = {
        "config": loaded.get_config()["lambda_"],
        "step": loaded.current_step(),
        "lambda": encode(keras.ops.convert_to_numpy(loaded.lambda_.value)),
    }

    result["forgotten_scheduler_warnings"] = forgotten_scheduler_warnings()
    result["monitor"] = monitored_fits()
    try:
        grl_keras.GradientReversal()(keras.ops.zeros((2,), dtype="int32"))
        result["int_input_error"] = None
    except TypeError as error:
        result["int_input_error"] = str(error)
    result["tensorflow_imported"] = sys.modules.get("tensorflow") is not None
    return result


if __name__ == "__main__":
    print(json.dumps(main()))
