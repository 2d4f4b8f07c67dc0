"""Issue #13 on the Keras backend named by KERAS_BACKEND (jax or torch), TensorFlow absent.

Run in a subprocess by tests/tf/test_variable_guard.py. Prints one JSON object on its last
line: what each direct write of a forbidden value raised (and whether it wrote anything),
the state after ``fit`` with the callback (the JAX trainer writes λ and the step back
through ``assign``), and the gradient of a rematerialized forward after λ changed.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

sys.modules["tensorflow"] = None  # type: ignore[assignment]  # "not installed"

import keras  # noqa: E402
import numpy as np  # noqa: E402

import grl.keras as grl_keras  # noqa: E402
from grl.core import schedules  # noqa: E402

BACKEND = keras.backend.backend()
assert os.environ["KERAS_BACKEND"] == BACKEND, BACKEND


def state(layer: Any) -> list[float]:
    return [float(keras.ops.convert_to_numpy(v.value)) for v in (layer.lambda_, layer.step)]


def refused(layer: Any, write: Any) -> dict[str, Any]:
    before = state(layer)
    try:
        write()
    except ValueError as error:
        return {"error": str(error), "unchanged": state(layer) == before}
    return {"error": None, "unchanged": state(layer) == before}


def model_of(layer: Any) -> keras.Model:
    inputs = keras.Input((3,))
    return keras.Model(inputs, keras.layers.Dense(1)(layer(keras.layers.Dense(4)(inputs))))


def remat_gradient(layer: Any, remat: bool) -> list[float]:
    """Forward at λ = 0.5, then λ = 1.0, then the backward (a vjp kept for later)."""
    x = np.array([1.0, 2.0], np.float32)
    f = keras.remat(layer) if remat else layer
    if BACKEND == "jax":
        import jax

        _, pullback = jax.vjp(f, jax.numpy.asarray(x))
        layer.set_lambda(1.0)
        return np.asarray(pullback(jax.numpy.ones(2, np.float32))[0]).tolist()
    import torch

    xt = torch.tensor(x, requires_grad=True)
    y = f(xt).sum()
    layer.set_lambda(1.0)
    y.backward()
    return xt.grad.numpy().tolist()


def main() -> dict[str, Any]:
    result: dict[str, Any] = {"backend": BACKEND}
    layer = grl_keras.GradientReversal(0.5, name="grl")
    model = model_of(layer)
    index = {id(w): i for i, w in enumerate(model.weights)}
    bad = model.get_weights()
    bad[index[id(layer.lambda_)]] = np.float32(-1.0)
    result["refused"] = {
        "lambda": refused(layer, lambda: layer.lambda_.assign(-1.0)),
        "nan": refused(layer, lambda: layer.lambda_.assign(float("nan"))),
        "step": refused(layer, lambda: layer.step.assign(-3)),
        "assign_add": refused(layer, lambda: layer.step.assign_add(-1)),
        "set_weights": refused(layer, lambda: model.set_weights(bad)),
    }
    layer.lambda_.assign(0.25)
    result["allowed"] = state(layer)

    scheduled = grl_keras.GradientReversal(schedules.linear(8))
    fitted = model_of(scheduled)
    fitted.compile(optimizer="sgd", loss="mse")
    x = np.ones((8, 3), np.float32)
    fitted.fit(
        x, x[:, :1], batch_size=2, epochs=1, verbose=0,
        callbacks=[grl_keras.GradientReversalScheduler()],
    )  # fmt: skip
    result["fit"] = state(scheduled)

    result["remat"] = {
        str(remat): remat_gradient(grl_keras.GradientReversal(0.5), remat)
        for remat in (False, True)
    }
    return result


if __name__ == "__main__":
    print(json.dumps(main()))
