"""Validation of the reversal strength λ, shared by every backend.

λ must be a real, finite number ≥ 0. A negative λ would cancel the reversal (the layer
would then *help* the domain classifier instead of fighting it), so it is rejected rather
than silently accepted. Every backend raises the same error types with the same messages:

* ``TypeError`` for something that is not a real scalar (bool, str, None, sequences,
  complex numbers, integer or boolean tensors);
* ``ValueError`` for a real scalar outside the domain (NaN, ±inf, negative) and for
  tensors that are not 0-d.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from grl.core import schedules

ARGUMENT = "lambda_"


def describe(value: Any, limit: int = 60) -> str:
    """A short ``repr`` of ``value`` for error messages, cut between words if too long.

    Schedules are shown whole: their settings are what the message is about.
    """
    text = repr(value)
    if len(text) <= limit or schedules.is_schedule(value):
        return text
    cut = max(text.rfind(mark, 0, limit) for mark in (" ", ",", "("))
    return text[: cut if cut > limit // 2 else limit].rstrip(" ,") + " ..."


def schedule_given_to_op_error(schedule: schedules.Schedule) -> TypeError:
    """The error for a schedule passed where the op needs λ's value (every backend)."""
    return TypeError(
        f"gradient_reversal takes {ARGUMENT} as a number or a 0-d tensor, not the schedule "
        f"{schedule!r}: a schedule needs a step count. Use "
        f"GradientReversal({ARGUMENT}=schedule) and advance it, or pass schedule(step)."
    )


def type_error(value: Any, what: str = "") -> TypeError:
    if schedules.is_schedule(value):
        return schedule_given_to_op_error(value)
    detail = f" ({what})" if what else ""
    return TypeError(
        f"{ARGUMENT} must be a real number >= 0 or a 0-d floating tensor{detail}; "
        f"got {describe(value)} of type {type(value).__name__}"
    )


def check_real_value(value: float, original: Any = None) -> float:
    """Reject NaN, ±inf and negative values; return ``value`` as a Python float."""
    if math.isfinite(value) and value >= 0:
        return float(value)
    # The message (a repr of a possibly large tensor) is built only on the error path.
    shown = describe(original if original is not None else value)
    if not math.isfinite(value):
        raise ValueError(f"{ARGUMENT} must be finite; got {shown}")
    raise ValueError(
        f"{ARGUMENT} must be >= 0 (a negative value cancels the gradient reversal); got {shown}"
    )


def check_rank(shape: tuple[int, ...], original: Any) -> None:
    """λ given as a tensor must be 0-d (a scalar), not ``[1]`` or larger."""
    if len(shape) != 0:
        raise ValueError(
            f"{ARGUMENT} must be a 0-d (scalar) tensor; got shape {tuple(shape)}: "
            f"{describe(original)}"
        )


def is_number_like(value: Any) -> bool:
    """True for Python numbers, NumPy scalars and NumPy arrays (validated on the host)."""
    return isinstance(value, (numbers.Number, np.generic, np.ndarray))


def validate_lambda_number(value: Any) -> float:
    """Validate a host-side λ (Python number, NumPy scalar or 0-d NumPy array).

    Returns the value as a Python float. Integers are accepted (``lambda_=1``); booleans,
    complex numbers and integer/boolean arrays are not.
    """
    if isinstance(value, (bool, np.bool_)):
        raise type_error(value, "bool is ambiguous")
    if isinstance(value, np.ndarray):
        check_rank(value.shape, value)
        if value.dtype.kind != "f":
            raise type_error(value, f"dtype {value.dtype} is not floating")
        return check_real_value(float(value), value)
    if isinstance(value, (complex, np.complexfloating)):
        raise type_error(value, "complex")
    if isinstance(value, (numbers.Real, np.integer, np.floating)):
        return check_real_value(float(value), value)
    raise type_error(value)


def check_floating_dtype(is_floating: bool, dtype_name: str, original: Any) -> None:
    """A λ tensor must have a real floating dtype."""
    if not is_floating:
        raise type_error(original, f"dtype {dtype_name} is not a real floating dtype")
