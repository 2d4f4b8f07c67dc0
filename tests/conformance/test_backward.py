"""Backward: one multiply, ``g · cast(−λ, dtype(g))``, the NumPy reference's bits.

The checks are the shipped kit's (grl.conformance.checks): CI holds grl to exactly them.
"""

import pytest

from grl.conformance import checks
from grl.conformance.pytest_plugin import run_check


@pytest.mark.capability("backward matches the reference bit for bit")
@pytest.mark.parametrize("dtype", checks.GRAD_DTYPES)
@pytest.mark.parametrize("lambda_", checks.LAMBDAS)
def test_backward_matches_reference(backend, dtype, lambda_):
    run_check(checks.backward_reference, backend, dtype, lambda_)


@pytest.mark.capability("backward matches the reference bit for bit")
@pytest.mark.parametrize("grad_dtype", checks.GRAD_DTYPES)
@pytest.mark.parametrize("lambda_dtype", checks.FLOAT_DTYPES)
def test_backward_with_lambda_tensor(backend, grad_dtype, lambda_dtype):
    """A 0-d λ tensor of any floating dtype is cast once to the gradient's dtype."""
    run_check(checks.backward_lambda_tensor, backend, grad_dtype, lambda_dtype)


@pytest.mark.capability("λ accepts numbers, NumPy scalars and 0-d tensors")
@pytest.mark.parametrize("lambda_", checks.HOST_LAMBDAS, ids=repr)
def test_backward_with_host_lambda_types(backend, lambda_):
    run_check(checks.backward_host_lambda, backend, lambda_)


@pytest.mark.capability("compiled gradients equal eager gradients")
@pytest.mark.parametrize("dtype", checks.GRAD_DTYPES)
def test_compiled_backward_equals_eager(backend, dtype):
    run_check(checks.compiled_equals_eager, backend, dtype)


@pytest.mark.capability("λ never receives a gradient")
def test_lambda_receives_no_gradient(backend):
    run_check(checks.lambda_gets_no_gradient, backend)


@pytest.mark.capability("backward uses the λ of its forward")
def test_backward_uses_lambda_of_its_forward(backend):
    run_check(checks.backward_uses_forward_lambda, backend)
