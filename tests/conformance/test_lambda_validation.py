"""Bad λ gets a clear error naming ``lambda_`` and the value, the same in every backend."""

import math

import numpy as np
import pytest

BAD_NUMBERS = [
    (math.nan, ValueError, "finite"),
    (math.inf, ValueError, "finite"),
    (-math.inf, ValueError, "finite"),
    (-0.5, ValueError, ">= 0"),
    (-1, ValueError, ">= 0"),
    (True, TypeError, "bool"),
    (np.bool_(False), TypeError, "bool"),
    ("1.0", TypeError, "real number"),
    (None, TypeError, "real number"),
    ([1.0], TypeError, "real number"),
    ((0.5,), TypeError, "real number"),
    (1 + 2j, TypeError, "complex"),
    (np.array([1.0]), ValueError, "0-d"),
    (np.array(1), TypeError, "not floating"),
    (np.float32("nan"), ValueError, "finite"),
]


@pytest.mark.capability("bad λ raises a clear error")
@pytest.mark.parametrize(("value", "error", "fragment"), BAD_NUMBERS, ids=repr)
def test_bad_host_lambda(backend, value, error, fragment):
    x = backend.from_numpy(np.ones(3, np.float32))
    with pytest.raises(error) as info:
        backend.run(lambda: backend.forward(x, value))
    message = str(info.value)
    assert "lambda_" in message and fragment in message
    assert repr(value)[:20] in message


BAD_TENSORS = [
    ((math.nan, "float32"), ValueError, "finite"),
    ((math.inf, "float64"), ValueError, "finite"),
    ((-0.25, "float32"), ValueError, ">= 0"),
]


@pytest.mark.capability("bad λ raises a clear error")
@pytest.mark.parametrize(("value", "error", "fragment"), BAD_TENSORS, ids=repr)
def test_bad_lambda_tensor_value(backend, value, error, fragment):
    x = backend.from_numpy(np.ones(3, np.float32))
    lam = backend.make_lambda(*value)
    with pytest.raises(error, match=r"lambda_") as info:
        backend.run(lambda: backend.forward(x, lam))
    assert fragment in str(info.value)


@pytest.mark.capability("bad λ raises a clear error")
def test_lambda_tensor_must_be_0d(backend):
    x = backend.from_numpy(np.ones(3, np.float32))
    lam = backend.from_numpy(np.array([0.5], np.float32))
    with pytest.raises(ValueError, match=r"lambda_ must be a 0-d .*shape \(1,\)"):
        backend.run(lambda: backend.forward(x, lam))


@pytest.mark.capability("bad λ raises a clear error")
def test_lambda_tensor_must_be_floating(backend):
    x = backend.from_numpy(np.ones(3, np.float32))
    lam = backend.from_numpy(np.array(1, np.int32))
    with pytest.raises(TypeError, match=r"lambda_ .*int32 is not a real floating dtype"):
        backend.run(lambda: backend.forward(x, lam))


@pytest.mark.capability("bad λ raises a clear error")
@pytest.mark.parametrize("value", [-1.0, math.nan, "x", None])
def test_layer_rejects_bad_lambda(backend, value):
    with pytest.raises((ValueError, TypeError), match="lambda_"):
        backend.run(lambda: backend.make_layer(value))
    layer = backend.run(lambda: backend.make_layer(1.0))
    with pytest.raises((ValueError, TypeError), match="lambda_"):
        backend.run(lambda: backend.set_layer_lambda(layer, value))
    assert backend.layer_lambda(layer)[0] == 1.0
