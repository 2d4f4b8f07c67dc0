"""Deterministic test inputs covering the awkward corners of each dtype.

Used by the golden vectors and by the conformance suite, so both exercise the same values:
signed zeros, subnormals, values near the dtype's largest finite number and ordinary
normal numbers.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np

from grl.core.reference import numpy_dtype


def special_values(dtype: str) -> np.ndarray:
    """Signed zeros, the smallest subnormal and normal, the largest finite, ±1."""
    np_dtype = numpy_dtype(dtype)
    real = np.dtype(np.finfo(np_dtype).dtype) if np_dtype.kind == "c" else np_dtype
    info = ml_dtypes.finfo(real)
    values = [
        0.0,
        -0.0,
        float(info.smallest_subnormal),
        float(info.smallest_normal),
        float(info.max),
        -float(info.max),
        1.0,
        -1.0,
    ]
    return np.array(values, dtype=np.float64).astype(real)


def sample(dtype: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Normal-distributed values with a wide exponent range, plus the special values."""
    np_dtype = numpy_dtype(dtype)
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape, dtype=np.int64))

    def real_part() -> np.ndarray:
        scale = np.exp2(rng.integers(-12, 12, size=size)).astype(np.float64)
        values = rng.standard_normal(size) * scale
        specials = special_values(dtype).astype(np.float64)
        count = min(size, len(specials))
        values[:count] = specials[:count]
        return values[rng.permutation(size)]

    if np_dtype.kind == "c":
        component = np.finfo(np_dtype).dtype
        values = real_part().astype(component) + 1j * real_part().astype(component)
        return values.astype(np_dtype).reshape(shape)
    return real_part().astype(np_dtype).reshape(shape)


def normal_sample(dtype: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    """Nonzero values of magnitude 2**-12 .. 2**12: no zeros, subnormals or overflow."""
    np_dtype = numpy_dtype(dtype)
    rng = np.random.default_rng(seed)
    size = int(np.prod(shape, dtype=np.int64))

    def real_part() -> np.ndarray:
        magnitude = np.exp2(rng.uniform(-12, 12, size=size))
        return np.where(rng.random(size) < 0.5, -magnitude, magnitude)

    if np_dtype.kind == "c":
        component = np.finfo(np_dtype).dtype
        values = np.empty(size, dtype=np_dtype)
        values.real, values.imag = real_part().astype(component), real_part().astype(component)
        return values.reshape(shape)
    return real_part().astype(np_dtype).reshape(shape)
