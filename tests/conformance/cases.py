"""Shared parameters of the conformance suite."""

from __future__ import annotations

import numpy as np

from grl.core.reference import gradient_reversal_backward, numpy_dtype

FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
GRAD_DTYPES = (*FLOAT_DTYPES, "complex64", "complex128")
#: λ ∈ {0, tiny, 0.1, 1, 6, large}
LAMBDAS = (0.0, 1e-30, 0.1, 1.0, 6.0, 1000.0)
SHAPES = ((), (0,), (7,), (3, 5), (2, 3, 4))


def bits(array: np.ndarray) -> np.ndarray:
    """The raw bit patterns of ``array`` (so that -0.0 != 0.0 and NaNs compare by payload)."""
    array = np.ascontiguousarray(array)
    width = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64, 16: np.uint64}
    return array.view(width[array.dtype.itemsize]) if array.size else array.view(np.uint8)


def assert_same_bits(actual: np.ndarray, expected: np.ndarray) -> None:
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype, (actual.dtype, expected.dtype)
    assert actual.shape == expected.shape, (actual.shape, expected.shape)
    mismatch = bits(actual) != bits(expected)
    if mismatch.any():
        where = np.argwhere(mismatch.reshape(bits(actual).shape))[:5]
        raise AssertionError(
            f"{int(mismatch.sum())} elements differ in bits; first at {where.tolist()}: "
            f"actual {actual.reshape(-1)[:8]} expected {expected.reshape(-1)[:8]}"
        )


def expected_backward(backend, g: np.ndarray, lambda_) -> np.ndarray:
    """The reference gradient in the backend's subnormal mode."""
    return gradient_reversal_backward(g, lambda_, flush_to_zero=backend.flush_to_zero)


def assert_conforms(backend, actual: np.ndarray, g: np.ndarray, lambda_) -> None:
    """``actual`` equals the reference bit for bit, in the backend's declared modes."""
    expected = expected_backward(backend, g, lambda_)
    if backend.complex_zero_sign_free and expected.dtype.kind == "c":
        actual, expected = _unsign_zero_parts(actual), _unsign_zero_parts(expected)
    assert_same_bits(np.asarray(actual), expected)


def _unsign_zero_parts(array: np.ndarray) -> np.ndarray:
    result = np.array(array, copy=True)
    result.real = np.where(result.real == 0, 0.0, result.real)
    result.imag = np.where(result.imag == 0, 0.0, result.imag)
    return result


def as_dtype(values: np.ndarray, dtype: str) -> np.ndarray:
    return np.asarray(values).astype(numpy_dtype(dtype))
