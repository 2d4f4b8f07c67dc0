"""Bad λ gets a clear error naming ``lambda_`` and the value, the same in every backend.

The checks are the shipped kit's (grl.conformance.checks), here with grl's own wording.
"""

import pytest

from grl.conformance import checks
from grl.conformance.pytest_plugin import run_check


@pytest.mark.capability("bad λ raises a clear error")
@pytest.mark.parametrize(("value", "error", "fragment"), checks.BAD_NUMBERS, ids=repr)
def test_bad_host_lambda(backend, value, error, fragment):
    run_check(checks.bad_lambda, backend, value, error, fragment)


@pytest.mark.capability("bad λ raises a clear error")
@pytest.mark.parametrize(("value", "error", "fragment"), checks.BAD_TENSORS, ids=repr)
def test_bad_lambda_tensor_value(backend, value, error, fragment):
    run_check(checks.bad_lambda_tensor, backend, value, error, fragment)


@pytest.mark.capability("bad λ raises a clear error")
def test_lambda_tensor_must_be_0d(backend):
    run_check(checks.lambda_tensor_not_0d, backend, r"lambda_ must be a 0-d .*shape \(1,\)")


@pytest.mark.capability("bad λ raises a clear error")
def test_lambda_tensor_must_be_floating(backend):
    pattern = r"lambda_ .*int32 is not a real floating dtype"
    run_check(checks.lambda_tensor_not_floating, backend, pattern)


@pytest.mark.capability("bad λ raises a clear error")
@pytest.mark.parametrize("value", checks.BAD_LAYER_LAMBDAS)
def test_layer_rejects_bad_lambda(backend, value):
    run_check(checks.layer_rejects_bad_lambda, backend, value)
