"""The NumPy reference numerics: the specification of the GRL, executable.

For an input ``x`` and an upstream gradient ``g``:

* forward:  ``R_λ(x) = x`` — the input itself, bit for bit (same dtype, shape, values);
* backward: ``∂L/∂x = g · cast(−λ, dtype(g))`` — ONE multiply, rounded once in ``g``'s dtype.

``cast(−λ, d)`` negates λ and rounds it to ``d``. When ``d`` is a 16-bit float
(float16, bfloat16) and λ is wider than float32, λ is rounded to float32 first: every
framework converts float64 to 16-bit floats through float32, so the spec does the same and
all backends agree bit for bit. For complex ``d``, λ becomes ``complex(cast(−λ, real(d)), 0)``
and the product is the framework's complex multiply.

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


def gradient_reversal_backward(g: np.ndarray, lambda_: Any) -> np.ndarray:
    """Backward pass: ``g · cast(−λ, dtype(g))``, one multiply in ``g``'s dtype."""
    g = np.asarray(g)
    if g.dtype.kind not in "fcV" and g.dtype != numpy_dtype("bfloat16"):
        raise TypeError(f"gradients exist only for floating dtypes; got {g.dtype}")
    result = g * cast_lambda(lambda_, g.dtype)
    return np.asarray(result, dtype=g.dtype)
