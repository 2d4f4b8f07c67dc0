"""The layer/module: λ is framework state (saved, moved), applied like the function."""

import numpy as np
import pytest

from grl.core.samples import sample
from tests.conformance.cases import assert_conforms


@pytest.mark.capability("layer holds λ as a 0-d float32 state variable")
def test_layer_lambda_is_state(backend):
    layer = backend.run(lambda: backend.make_layer(0.75))
    assert backend.layer_lambda(layer) == (0.75, "float32")
    assert backend.layer_state_has_lambda(layer)


@pytest.mark.capability("layer backward matches the reference bit for bit")
@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_layer_backward(backend, dtype):
    layer = backend.run(lambda: backend.make_layer(0.1))
    x, g = sample(dtype, (20,), seed=30), sample(dtype, (20,), seed=31)
    actual = backend.run(lambda: backend.layer_vjp(layer, x, g))
    assert_conforms(backend, actual, g, np.float32(0.1))


@pytest.mark.capability("layer backward matches the reference bit for bit")
def test_layer_set_lambda(backend):
    layer = backend.run(lambda: backend.make_layer(1.0))
    backend.run(lambda: backend.set_layer_lambda(layer, 6))
    assert backend.layer_lambda(layer)[0] == 6.0
    g = sample("float32", (5,), seed=32)
    actual = backend.run(lambda: backend.layer_vjp(layer, np.zeros(5, np.float32), g))
    assert_conforms(backend, actual, g, 6.0)
