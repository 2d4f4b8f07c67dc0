"""The NumPy reference numerics: the specification of the GRL, executable.

For an input ``x`` and an upstream gradient ``g``:

* forward:  ``R_λ(x) = x`` — the input itself, bit for bit (same dtype, shape, values);
* backward: ``∂L/∂x = g · cast(−λ, dtype(g))`` — ONE multiply, rounded once in ``g``'s dtype.

``cast(−λ, d)`` negates λ and rounds it to ``d``. When ``d`` is a 16-bit float
(float16, bfloat16) and λ is wider than float32, λ is rounded to float32 first: every
framework converts float64 to 16-bit floats through float32, so the spec does the same and
all backends agree bit for bit. For complex ``d`` the real and imaginary parts are each
multiplied by the real ``cast(−λ, real(d))``: a complex multiply by ``(−λ + 0j)`` would add
implementation-defined signed zeros (and NaN for ``inf·0``) that differ between frameworks.

Subnormals: PyTorch (and NumPy) follow IEEE-754 gradual underflow; TensorFlow and XLA (JAX)
run CPU arithmetic with flush-to-zero and denormals-are-zero, so subnormal inputs and results
become zeros of the same sign (float16 excepted, see :func:`flush_subnormals`). Both modes
are specified here, and outside the subnormal range all backends agree bit for bit.

Every derivative through the GRL applies −λ·I: the second derivative of
``sum(sin(R_λ(x)))`` is ``−λ²·sin(x)``, and forward mode maps a tangent ``t`` to ``−λ·t``.
"""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np

#: The floating dtypes the numerics rule covers (names as in every framework).
FLOAT_DTYPES = ("float16", "bfloat16", "float32", "float64")
COMPLEX_DTYPES = ("complex64", "complex128")
SIXTEEN_BIT_FLOATS = ("float16", "bfloat16")


def numpy_dtype(name: str | np.dtype) -> np.dtype:
    """The NumPy dtype for ``name`` (``bfloat16`` comes from ``ml_dtypes``)."""
    if isinstance(name, np.dtype):
        return name
    if name == "bfloat16":
        return np.dtype(ml_dtypes.bfloat16)
    return np.dtype(name)


def dtype_name(dtype: Any) -> str:
    """Canonical name of a NumPy dtype (``bfloat16`` included)."""
    return np.dtype(dtype).name


def is_sixteen_bit_float(dtype: Any) -> bool:
    return dtype_name(dtype) in SIXTEEN_BIT_FLOATS


def cast_lambda(lambda_: Any, dtype: Any) -> np.ndarray:
    """``cast(−λ, dtype)`` as a 0-d NumPy array, following the rounding rule above.

    ``lambda_`` is a Python number (taken as float64) or a NumPy scalar/0-d array whose
    own dtype is respected (a float32 λ is not re-rounded).
    """
    target = numpy_dtype(dtype)
    source = np.asarray(lambda_)
    negated = -(source if source.dtype.kind == "f" else source.astype(np.float64))
    if target.kind == "c":
        component = np.finfo(target).dtype
        return cast_lambda(lambda_, component).astype(target)
    if is_sixteen_bit_float(target) and negated.dtype.itemsize > 4:
        negated = negated.astype(np.float32)
    return negated.astype(target)


def gradient_reversal_forward(x: np.ndarray) -> np.ndarray:
    """Forward pass: the identity. Returns ``x`` itself (no copy)."""
    return x


def flush_subnormals(array: np.ndarray) -> np.ndarray:
    """Replace subnormal values (and parts) by a zero of the same sign.

    This models the flush-to-zero / denormals-are-zero mode in which TensorFlow and XLA
    (JAX) run CPU arithmetic. float16 is exempt: its arithmetic runs in float32, where
    float16's subnormals are normal numbers, and the conversion back does not flush.
    """
    array = np.asarray(array)
    if array.dtype.kind == "c":
        result = np.empty_like(array)
        result.real, result.imag = flush_subnormals(array.real), flush_subnormals(array.imag)
        return result
    if array.dtype == np.float16:
        return array
    wide = array.astype(np.float64)
    tiny = float(ml_dtypes.finfo(array.dtype).smallest_normal)
    return np.where(np.abs(wide) < tiny, np.copysign(0.0, wide), wide).astype(array.dtype)


def gradient_reversal_backward(
    g: np.ndarray, lambda_: Any, *, flush_to_zero: bool = False
) -> np.ndarray:
    """Backward pass: ``g · cast(−λ, dtype(g))``, one multiply in ``g``'s dtype.

    With ``flush_to_zero=True`` subnormal inputs and results are flushed to signed zeros
    (see :func:`flush_subnormals`), as TensorFlow and XLA do on CPU; PyTorch and NumPy keep
    IEEE-754 gradual underflow.
    """
    g = np.asarray(g)
    if g.dtype.kind not in "fcV" and g.dtype != numpy_dtype("bfloat16"):
        raise TypeError(f"gradients exist only for floating dtypes; got {g.dtype}")
    if flush_to_zero:
        factor = flush_subnormals(
            cast_lambda(lambda_, g.real.dtype if g.dtype.kind == "c" else g.dtype)
        )
        scaled = gradient_reversal_backward(flush_subnormals(g), -factor)
        return flush_subnormals(scaled)
    with np.errstate(over="ignore", under="ignore", invalid="ignore"):
        # Overflow to ±inf and underflow are part of the rounding rule, not errors.
        if g.dtype.kind == "c":
            factor = cast_lambda(lambda_, g.real.dtype)
            result = np.empty_like(g)
            result.real = g.real * factor
            result.imag = g.imag * factor
            return result
        result = g * cast_lambda(lambda_, g.dtype)
    return np.asarray(result, dtype=g.dtype)
