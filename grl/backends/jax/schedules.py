"""λ schedules as optax-compatible, jittable callables ``step -> λ``.

Each wraps a :mod:`grl.core.schedules` schedule (same factories, settings checks and
``get_config``) and evaluates it on the device with ``grl.core.schedules.evaluate(schedule,
step, jax.numpy)``: the formulas are written once, in grl.core. The step may be a traced
integer or float array of any shape, so ``optax.join_schedules``, ``optax.inject_hyperparams``
and ``jit`` all work, and a new step never recompiles. A schedule is a frozen, hashable
dataclass (a static ``jit`` argument, or a static attribute of a Flax module).

With x64 enabled, values are float64 with the host's bits (``schedule(step)`` of grl.core);
without it they are float32, computed in float32: within a few float32 ulp of the host value
rounded to float32 (docs/jax.md gives the measured bound).
"""

from __future__ import annotations

import functools
import math
import numbers
from dataclasses import dataclass
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from grl.backends.jax.internals import is_concrete
from grl.backends.jax.validation import default_float_dtype
from grl.core import lambda_ as lambda_rules
from grl.core import schedules as core

__all__ = ["Schedule", "constant", "dann", "from_config", "from_core", "linear"]


def _step_type_error(step: Any, detail: str = "") -> TypeError:
    detail = f" ({detail})" if detail else ""
    return TypeError(
        f"step must be a real number or an integer/floating array{detail}; got "
        f"{lambda_rules.describe(step)} of type {type(step).__name__}"
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
    if dtype == np.bool_ or not (
        jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating)
    ):
        raise _step_type_error(step, f"dtype {dtype.name}")
    if is_concrete(step) and not np.all(np.isfinite(np.asarray(step))):
        raise ValueError(f"step must be finite; got {lambda_rules.describe(step)}")
    return jnp.asarray(step).astype(default_float_dtype())


@functools.partial(jax.jit, static_argnums=0)
def _evaluate(schedule: core.Schedule, step: jax.Array) -> jax.Array:
    # One compiled call for a concrete step (op by op, the formula's ~40 scalar operations
    # cost about 1 ms); inlined into an enclosing jit.
    return core.evaluate(schedule, step, jnp)


@dataclass(frozen=True)
class Schedule:
    """An optax-compatible schedule ``step -> λ`` on a :mod:`grl.core` schedule."""

    grl_schedule: core.Schedule

    def __post_init__(self) -> None:
        if not core.is_schedule(self.grl_schedule):
            raise TypeError(
                f"grl_schedule must be a grl.core.schedules schedule (constant, linear, dann); "
                f"got {lambda_rules.describe(self.grl_schedule)}"
            )

    def __call__(self, step: Any) -> jax.Array:
        """λ at ``step`` (an array of the step's shape, float64 under x64 else float32)."""
        return _evaluate(self.grl_schedule, step_array(step))

    @property
    def name(self) -> str:
        return self.grl_schedule.name

    def get_config(self) -> dict[str, Any]:
        """The :mod:`grl.core` config dict; :func:`from_config` rebuilds the schedule."""
        return self.grl_schedule.get_config()

    def __repr__(self) -> str:
        return repr(self.grl_schedule)


def from_core(schedule: core.Schedule) -> Schedule:
    """The JAX form of a :mod:`grl.core.schedules` schedule."""
    return Schedule(schedule)


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

    ``normalize=True`` divides by tanh(γ/2) so that λ(total_steps) == hi exactly.
    """
    return Schedule(core.dann(total_steps, gamma, lo, hi, normalize))
