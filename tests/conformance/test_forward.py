"""Forward: the identity, bit for bit, zero-copy where the framework allows it."""

import numpy as np
import pytest

from grl.core.samples import sample
from tests.conformance.cases import GRAD_DTYPES, SHAPES, assert_same_bits


@pytest.mark.capability("forward is bit-identical (every dtype and shape)")
@pytest.mark.parametrize("dtype", GRAD_DTYPES)
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_forward_is_bit_identical(backend, dtype, shape):
    x = sample(dtype, shape, seed=1)
    y = backend.run(lambda: backend.forward(backend.from_numpy(x), 0.5))
    assert_same_bits(backend.to_numpy(y), x)


@pytest.mark.capability("forward is bit-identical (every dtype and shape)")
def test_forward_of_non_contiguous_input(backend):
    x = sample("float32", (4, 6), seed=2)
    native = backend.non_contiguous(x)
    y = backend.run(lambda: backend.forward(native, 0.5))
    assert_same_bits(backend.to_numpy(y), x)


@pytest.mark.capability("forward is bit-identical (every dtype and shape)")
def test_forward_of_large_input(backend):
    x = sample("float32", (1 << 20,), seed=3)
    y = backend.run(lambda: backend.forward(backend.from_numpy(x), 6.0))
    assert_same_bits(backend.to_numpy(y), x)


@pytest.mark.capability("forward is zero-copy")
@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_forward_is_zero_copy(backend, dtype, request):
    x = backend.from_numpy(sample(dtype, (1000,), seed=4))
    y = backend.run(lambda: backend.forward(x, 1.0))
    shared = backend.shares_memory(x, y)
    if shared is None:
        # TensorFlow exposes no buffer identity; its op is tf.identity, which aliases.
        request.node.user_properties.append(("kind", "not observable"))
        return
    assert shared


@pytest.mark.capability("integer inputs pass through")
@pytest.mark.parametrize("dtype", ["int32", "int64", "uint8", "bool"])
def test_integer_input_passes_through(backend, dtype):
    x = (np.arange(12) % 3).astype(dtype).reshape(3, 4)
    y = backend.run(lambda: backend.forward(backend.from_numpy(x), 1.0))
    out = backend.to_numpy(y)
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(out, x)
