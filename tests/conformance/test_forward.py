"""Forward: the identity, bit for bit, zero-copy where the framework allows it.

The checks are the shipped kit's (grl.conformance.checks): CI holds grl to exactly them.
"""

import pytest

from grl.conformance import checks
from grl.conformance.pytest_plugin import run_check


@pytest.mark.capability("forward is bit-identical (every dtype and shape)")
@pytest.mark.parametrize("dtype", checks.GRAD_DTYPES)
@pytest.mark.parametrize("shape", checks.SHAPES, ids=str)
def test_forward_is_bit_identical(backend, dtype, shape):
    run_check(checks.forward_identity, backend, dtype, shape)


@pytest.mark.capability("forward is bit-identical (every dtype and shape)")
def test_forward_of_non_contiguous_input(backend):
    run_check(checks.forward_non_contiguous, backend)


@pytest.mark.capability("forward is bit-identical (every dtype and shape)")
def test_forward_of_large_input(backend):
    run_check(checks.forward_large, backend)


@pytest.mark.capability("forward is zero-copy")
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_forward_is_zero_copy(backend, dtype, request):
    try:
        checks.forward_zero_copy(backend, dtype)
    except checks.NotApplicable:
        # TensorFlow exposes no buffer identity; its op is tf.identity, which aliases.
        request.node.user_properties.append(("kind", "not observable"))


@pytest.mark.capability("integer inputs pass through")
@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "bool"])
def test_integer_input_passes_through(backend, dtype):
    run_check(checks.integer_passthrough, backend, dtype)
