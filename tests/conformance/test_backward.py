"""Backward: one multiply, ``g · cast(−λ, dtype(g))``, the NumPy reference's bits."""

import numpy as np
import pytest

from grl.core.reference import numpy_dtype
from grl.core.samples import sample
from tests.conformance.cases import (
    FLOAT_DTYPES,
    GRAD_DTYPES,
    LAMBDAS,
    assert_conforms,
    assert_same_bits,
)


@pytest.mark.capability("backward matches the reference bit for bit")
@pytest.mark.parametrize("dtype", GRAD_DTYPES)
@pytest.mark.parametrize("lambda_", LAMBDAS)
def test_backward_matches_reference(backend, dtype, lambda_):
    x, g = sample(dtype, (64,), seed=10), sample(dtype, (64,), seed=11)
    actual = backend.run(lambda: backend.vjp(x, lambda_, g))
    assert_conforms(backend, actual, g, lambda_)


@pytest.mark.capability("backward matches the reference bit for bit")
@pytest.mark.parametrize("grad_dtype", GRAD_DTYPES)
@pytest.mark.parametrize("lambda_dtype", FLOAT_DTYPES)
def test_backward_with_lambda_tensor(backend, grad_dtype, lambda_dtype):
    """A 0-d λ tensor of any floating dtype is cast once to the gradient's dtype."""
    x, g = sample(grad_dtype, (32,), seed=12), sample(grad_dtype, (32,), seed=13)
    lam_np = np.asarray(0.1).astype(numpy_dtype(lambda_dtype))
    actual = backend.run(lambda: backend.vjp(x, (0.1, lambda_dtype), g))
    assert actual.dtype == g.dtype  # never promoted to λ's dtype
    assert_conforms(backend, actual, g, lam_np)


@pytest.mark.capability("λ accepts numbers, NumPy scalars and 0-d tensors")
@pytest.mark.parametrize(
    "lambda_",
    [1, 3, 0.25, np.float32(0.1), np.float64(0.1), np.int64(2), np.array(0.3)],
    ids=repr,
)
def test_backward_with_host_lambda_types(backend, lambda_):
    x, g = sample("float32", (16,), seed=14), sample("float32", (16,), seed=15)
    actual = backend.run(lambda: backend.vjp(x, lambda_, g))
    assert_conforms(backend, actual, g, lambda_)


@pytest.mark.capability("compiled gradients equal eager gradients")
@pytest.mark.parametrize("dtype", GRAD_DTYPES)
def test_compiled_backward_equals_eager(backend, dtype):
    x, g = sample(dtype, (48,), seed=16), sample(dtype, (48,), seed=17)
    eager = backend.run(lambda: backend.vjp(x, (0.1, "float32"), g))
    compiled = backend.run(lambda: backend.vjp_compiled(x, (0.1, "float32"), g))
    if backend.complex_zero_sign_free and compiled.dtype.kind == "c":
        compiled, eager = compiled + 0, eager + 0  # x + 0 turns -0 into +0
    assert_same_bits(compiled, eager)


@pytest.mark.capability("λ never receives a gradient")
def test_lambda_receives_no_gradient(backend):
    x = sample("float32", (8,), seed=18)
    assert backend.run(lambda: backend.lambda_gradient_is_zero(x, 0.5))


@pytest.mark.capability("backward uses the λ of its forward")
def test_backward_uses_lambda_of_its_forward(backend):
    x = sample("float32", (8,), seed=19)
    grad = backend.run(lambda: backend.backward_uses_forward_lambda(x, 0.5, 2.0))
    np.testing.assert_array_equal(grad, np.full(8, -0.5, dtype=np.float32))
