"""Bit-level comparison against the NumPy reference (``grl.core.reference``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from grl.core.reference import gradient_reversal_backward, numpy_dtype


def bits(array: np.ndarray) -> np.ndarray:
    """The raw bit patterns of ``array`` (so that -0.0 != 0.0 and NaNs compare by payload)."""
    array = np.ascontiguousarray(array)
    width = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64, 16: np.uint64}
    return array.view(width[array.dtype.itemsize]) if array.size else array.view(np.uint8)


def assert_same_bits(actual: Any, expected: Any) -> None:
    actual, expected = np.asarray(actual), np.asarray(expected)
    assert actual.dtype == expected.dtype, f"dtype {actual.dtype}, expected {expected.dtype}"
    assert actual.shape == expected.shape, f"shape {actual.shape}, expected {expected.shape}"
    mismatch = bits(actual) != bits(expected)
    if mismatch.any():
        where = np.argwhere(mismatch.reshape(bits(actual).shape))[:5]
        raise AssertionError(
            f"{int(mismatch.sum())} elements differ in bits; first at {where.tolist()}: "
            f"actual {actual.reshape(-1)[:8]} expected {expected.reshape(-1)[:8]}"
        )


def unsign_zero_parts(array: np.ndarray) -> np.ndarray:
    """``array`` with the sign of exactly-zero complex parts dropped."""
    result = np.array(array, copy=True)
    result.real = np.where(result.real == 0, 0.0, result.real)
    result.imag = np.where(result.imag == 0, 0.0, result.imag)
    return result


def assert_conforms(adapter: Any, actual: Any, g: np.ndarray, lambda_: Any) -> None:
    """``actual`` equals the reference ``g · cast(−λ, dtype(g))`` bit for bit, in the
    adapter's declared subnormal and complex-zero modes."""
    expected = gradient_reversal_backward(g, lambda_, flush_to_zero=adapter.flush_to_zero)
    actual = np.asarray(actual)
    if adapter.complex_zero_sign_free and expected.dtype.kind == "c":
        actual, expected = unsign_zero_parts(actual), unsign_zero_parts(expected)
    assert_same_bits(actual, expected)


def as_dtype(values: np.ndarray, dtype: str) -> np.ndarray:
    return np.asarray(values).astype(numpy_dtype(dtype))
