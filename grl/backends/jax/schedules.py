"""λ schedules as optax-compatible, jittable callables ``step -> λ``.

Each schedule wraps a validated :mod:`grl.core.schedules` spec (same factories, same
settings checks, same ``get_config``) and evaluates it with ``jax.numpy``, so the step may
be a traced integer or float array: ``optax.join_schedules``, ``optax.inject_hyperparams``
and ``jit`` all work, and a new step never recompiles. Settings are static Python floats:
a schedule is a frozen, hashable dataclass (usable as a static ``jit`` argument or as a
static attribute of a Flax module).

With ``p = clip(step / total_steps, 0, 1)``:

* ``constant(value)``: λ = value;
* ``linear(total_steps, lo, hi)``: λ = lo + (hi − lo)·p;
* ``dann(total_steps, gamma, lo, hi, normalize)``: λ = lo + (hi − lo)·tanh(γp/2)
  [/ tanh(γ/2) when ``normalize``].

Values are computed in float64 when x64 is enabled (else float32), with the same operations
in the same order as :mod:`grl.core.schedules`, so with x64 they match it bit for bit except
where XLA rounds differently from Python:

* ``lo + (hi − lo)·s`` may be fused by XLA into one multiply-add, rounded once instead of
  twice: up to 1 ulp away when ``lo > 0`` (exact when ``lo == 0``);
* XLA's ``tanh`` is not the C library's ``math.tanh``: a few ulp apart (measured on every
  step of 997- and 10,000-step runs: at most 4 ulp with the papers' γ = 10, at most 7 ulp
  with γ up to 50, where tanh nears its rounding to 1). ``normalize`` divides by XLA's own
  tanh(γ/2), so that the curve still reaches exactly 1 at ``p = 1``, as grl.core's does.

``constant`` and ``linear`` with ``lo == 0`` are bit-exact.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from grl.backends.jax.validation import default_float_dtype, is_traced, lambda_array
from grl.core import lambda_ as lambda_spec
from grl.core import schedules as core

__all__ = [
    "Schedule",
    "as_schedule",
    "constant",
    "dann",
    "from_config",
    "from_core",
    "linear",
]


def _step_type_error(step: Any, detail: str = "") -> TypeError:
    detail = f" ({detail})" if detail else ""
    return TypeError(
        f"step must be a real number or an integer/floating array{detail}; got "
        f"{lambda_spec.describe(step)} of type {type(step).__name__}"
    )


def step_array(step: Any) -> jax.Array:
    """Validate a step and return it as an array of the default float dtype.

    Host numbers and concrete arrays must be finite; a traced step is checked for dtype
    only. Any shape is accepted (the schedule is applied elementwise).
    """
    if isinstance(step, bool | np.bool_):
        raise _step_type_error(step, "bool is ambiguous")
    if isinstance(step, numbers.Real | np.integer | np.floating):
        if not math.isfinite(float(step)):
            raise ValueError(f"step must be finite; got {step!r}")
        return jnp.asarray(float(step), dtype=default_float_dtype())
    if not isinstance(step, jax.Array | np.ndarray):
        raise _step_type_error(step)
    dtype = np.dtype(step.dtype)
    is_real = jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating)
    if not is_real or dtype == np.bool_:
        raise _step_type_error(step, f"dtype {dtype.name}")
    if not is_traced(step) and not np.all(np.isfinite(np.asarray(step))):
        raise ValueError(f"step must be finite; got {lambda_spec.describe(step)}")
    return jnp.asarray(step).astype(default_float_dtype())


def _opaque(value: float, like: jax.Array) -> jax.Array:
    """``value`` broadcast like ``like``, as a computed array rather than a constant.

    ``like · 0 + value`` equals ``value`` for every finite ``like``, but XLA cannot fold it
    (``x · 0`` is not 0 for inf/NaN), so no constant-only rewrite applies to it.
    """
    return like * 0.0 + value


def _divide(numerator: jax.Array, denominator: float) -> jax.Array:
    """``numerator / denominator``, correctly rounded as in Python.

    XLA rewrites a division by a constant into a multiplication by the rounded reciprocal,
    which is one ulp off for about a third of all steps; dividing by an opaque value keeps
    a true division.
    """
    return numerator / _opaque(denominator, numerator)


def _progress(step: jax.Array, total_steps: int) -> jax.Array:
    return jnp.clip(_divide(step, total_steps), 0.0, 1.0)


def _constant(spec: core.Constant, step: jax.Array) -> jax.Array:
    return jnp.full(step.shape, spec.value, dtype=step.dtype)


def _linear(spec: core.Linear, step: jax.Array) -> jax.Array:
    return spec.lo + (spec.hi - spec.lo) * _progress(step, spec.total_steps)


def _dann(spec: core.DANN, step: jax.Array) -> jax.Array:
    shape = jnp.tanh(spec.gamma * _progress(step, spec.total_steps) / 2.0)
    if spec.normalize:
        # The same tanh kernel as the numerator's, so that the curve reaches exactly 1 at
        # p = 1 (as grl.core's does with math.tanh); XLA's tanh differs from math.tanh.
        shape = shape / jnp.tanh(_opaque(spec.gamma / 2.0, shape))
    return spec.lo + (spec.hi - spec.lo) * shape


_EVALUATORS = {core.Constant: _constant, core.Linear: _linear, core.DANN: _dann}


@dataclass(frozen=True)
class Schedule:
    """An optax-compatible schedule ``step -> λ`` built on a :mod:`grl.core` spec."""

    spec: core.Schedule

    def __post_init__(self) -> None:
        if type(self.spec) not in _EVALUATORS:
            raise TypeError(
                f"spec must be a grl.core.schedules schedule "
                f"({', '.join(sorted(c.name for c in _EVALUATORS))}); got {self.spec!r}"
            )

    def __call__(self, step: Any) -> jax.Array:
        """λ at ``step`` (an array of the step's shape, float64 under x64 else float32)."""
        return _EVALUATORS[type(self.spec)](self.spec, step_array(step))

    @property
    def name(self) -> str:
        return self.spec.name

    def get_config(self) -> dict[str, Any]:
        """The :mod:`grl.core` config dict; :func:`from_config` rebuilds the schedule."""
        return self.spec.get_config()


def from_core(spec: core.Schedule) -> Schedule:
    """The JAX form of a :mod:`grl.core.schedules` schedule."""
    return Schedule(spec)


def from_config(config: dict[str, Any]) -> Schedule:
    """Rebuild a schedule from :meth:`Schedule.get_config` output (validated again)."""
    return Schedule(core.from_config(config))


def constant(value: float) -> Schedule:
    """λ(step) = value, for every step."""
    return Schedule(core.constant(value))


def linear(total_steps: int, lo: float = 0.0, hi: float = 1.0) -> Schedule:
    """λ(step) = lo + (hi − lo)·p, with p = clip(step/total_steps, 0, 1)."""
    return Schedule(core.linear(total_steps, lo, hi))


def dann(
    total_steps: int,
    gamma: float = 10.0,
    lo: float = 0.0,
    hi: float = 1.0,
    normalize: bool = False,
) -> Schedule:
    """The DANN schedule: λ(step) = lo + (hi − lo)·tanh(γp/2), p = clip(step/total_steps, 0, 1).

    ``tanh(γp/2)`` is the papers' ``2/(1 + exp(−γp)) − 1`` in a form stable for any γ;
    ``normalize=True`` divides by tanh(γ/2) so that λ(total_steps) == hi.
    """
    return Schedule(core.dann(total_steps, gamma, lo, hi, normalize))


def is_fixed_lambda(lambda_: Any) -> bool:
    """True for a λ given as a value (number or array), False for a schedule (a callable)."""
    return not callable(lambda_)


def as_schedule(lambda_: Any) -> Callable[[Any], Any]:
    """A fixed λ or a schedule, as a callable ``step -> λ``.

    A number (or concrete 0-d array) becomes :func:`constant`; a :mod:`grl.core` schedule
    becomes its JAX form; a :class:`Schedule` or any other callable ``step -> λ`` (an optax
    schedule, ``optax.join_schedules(...)``) is returned as is.
    """
    if isinstance(lambda_, Schedule):
        return lambda_
    if core.is_schedule(lambda_):
        return from_core(lambda_)
    if callable(lambda_):
        return lambda_
    if isinstance(lambda_, jax.Array) and is_traced(lambda_):
        raise TypeError(
            f"lambda_ must be concrete to build a layer's schedule; got a traced array "
            f"{lambda_spec.describe(lambda_)}"
        )
    return constant(float(lambda_array(lambda_)))
