"""Flax Linen gradient reversal layer (needs ``flax``; imported lazily by ``grl.jax``).

The layer contract is grl.core's (:mod:`grl.core.layer`), in Linen's terms: state lives in
the variable collection :data:`COLLECTION` (``"grl"``), created by ``model.init`` and saved
with the other variables. Each layer holds ``step`` there (0-d int32), and a fixed layer
also its ``lambda_`` (0-d float32); a scheduled layer's λ is ``schedule(step)``, evaluated
in the call, so it always follows the step.

* :func:`advance` ``(variables, steps=1)`` returns the variables with every GRL's step
  moved on: a pure function for the training loop (``jit`` can trace it).
* The methods :meth:`GradientReversal.advance`, :meth:`GradientReversal.set_lambda` and
  :meth:`GradientReversal.current_lambda` act on one layer, through
  ``model.apply(variables, ..., method=..., mutable=["grl"])``.
* Loaded variables are checked (λ finite and ``>= 0``, step ``>= 0``) when a call can read
  them, i.e. outside ``jit``.
* A schedule built with ``total_steps="auto"`` keeps its run length in the collection too
  (``total_steps``, empty until :func:`resolve_total_steps` gives it a number), so it is
  saved and restored with the variables. A call, ``current_lambda`` or :func:`advance`
  before that raises the error that names the fix; the check is on the variable's shape,
  which ``jit`` knows when it traces, so it costs no compiled step anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from grl.backends.jax.internals import is_concrete
from grl.backends.jax.layer_binding import (
    LAMBDA_DTYPE,
    STEP_DTYPE,
    check_loaded,
    lambda_at,
    read_tensor,
    steps_operand,
    traced_lambda,
)
from grl.backends.jax.ops import gradient_reversal
from grl.backends.jax.validation import default_float_dtype
from grl.core import schedules
from grl.core.layer import fixed_lambda, parse_lambda, scheduled_set_lambda_error

__all__ = ["COLLECTION", "GradientReversal", "advance", "resolve_total_steps"]

#: The Linen variable collection that holds every GRL's state.
COLLECTION = "grl"

#: The variable of a ``total_steps="auto"`` layer: shape ``(0,)`` until resolved, then 0-d.
LENGTH = "total_steps"
_UNRESOLVED_SHAPE = (0,)


def _unresolved_error(what: str) -> RuntimeError:
    return RuntimeError(
        f"GradientReversal (Linen) {what} needs the run length, but its schedule has "
        f'total_steps="auto" and the variables do not hold it yet: {schedules.RESOLVE_FIX}'
    )


class GradientReversal(nn.Module):
    """``R_λ(x) = x`` forward, ``−λ·∂L/∂R`` backward.

    Attributes:
        lambda_: a fixed λ (a real number ``>= 0`` or a concrete 0-d floating array), or a
            :mod:`grl.core.schedules` / :mod:`grl.jax.schedules` schedule or its
            ``get_config()`` dict (checked at construction, like every grl layer's).
    """

    lambda_: Any = 1.0

    def __post_init__(self) -> None:
        self._parsed()  # bad input fails here, not at first call
        super().__post_init__()

    def _parsed(self) -> tuple[float, schedules.Schedule | None]:
        # Flax turns a config dict attribute into a FrozenDict.
        value = dict(self.lambda_) if isinstance(self.lambda_, Mapping) else self.lambda_
        return parse_lambda(value, read_tensor)

    @property
    def schedule(self) -> schedules.Schedule | None:
        """The grl.core schedule, or ``None`` for a fixed λ."""
        return self._parsed()[1]

    def setup(self) -> None:
        initial, schedule = self._parsed()
        self.step = self.variable(COLLECTION, "step", jnp.zeros, (), STEP_DTYPE)
        if schedule is None:
            self.fixed = self.variable(COLLECTION, "lambda_", jnp.asarray, initial, LAMBDA_DTYPE)
        elif not schedule.resolved:
            self.length = self.variable(
                COLLECTION, LENGTH, jnp.zeros, _UNRESOLVED_SHAPE, STEP_DTYPE
            )
            _check_length(self.length.value)
        for variable in (self.step, *([self.fixed] if schedule is None else [])):
            check_loaded(variable.value)

    def __call__(self, x: Any) -> Any:
        return gradient_reversal(x, self.current_lambda())

    def current_lambda(self) -> jax.Array:
        """λ now: the fixed value, or ``schedule(step)`` (0-d float32)."""
        schedule = self.schedule
        if schedule is None:
            return self.fixed.value
        if schedule.resolved:
            return lambda_at(schedule, self.step.value)
        length = self.length.value
        if jnp.shape(length) == _UNRESOLVED_SHAPE:
            if self.is_initializing():
                return jnp.asarray(schedule(0), LAMBDA_DTYPE)  # λ(0): the same for any length
            raise _unresolved_error("call")
        # The length as an integer array: the exact float of the integer, as a number gives.
        step = self.step.value.astype(default_float_dtype())
        return schedules.evaluate(schedule, step, jnp, length).astype(LAMBDA_DTYPE)

    def advance(self, steps: Any = 1) -> None:
        """``step += steps`` for this layer (``apply(..., mutable=["grl"])``)."""
        schedule = self.schedule
        unresolved = schedule is not None and not schedule.resolved
        if unresolved and jnp.shape(self.length.value) == _UNRESOLVED_SHAPE:
            raise _unresolved_error("advance()")
        self.step.value = self.step.value + jnp.asarray(steps_operand(steps), STEP_DTYPE)

    def set_lambda(self, value: Any) -> None:
        """Set this layer's fixed λ (``apply(..., mutable=["grl"])``); refused when scheduled."""
        schedule = self.schedule
        if schedule is not None:
            raise scheduled_set_lambda_error(schedule)
        traced = traced_lambda(value)
        if traced is None:
            traced = jnp.asarray(fixed_lambda(value, read_tensor), LAMBDA_DTYPE)
        self.fixed.value = traced


def advance(variables: Mapping[str, Any], steps: Any = 1) -> Any:
    """``variables`` with every GRL's step in :data:`COLLECTION` moved on by ``steps``.

    ``steps`` is an int ``>= 0`` (under ``jit`` also a traced 0-d integer array). Other
    collections are returned as they are (same objects); the mapping keeps its type
    (``dict`` or ``FrozenDict``).
    """
    steps = steps_operand(steps)
    _check_collection(variables)
    lengths = jax.tree_util.tree_leaves_with_path(variables[COLLECTION])
    if any(_is_unresolved(path, leaf) for path, leaf in lengths):
        raise _unresolved_error("advance()")

    def move(path: tuple[Any, ...], leaf: Any) -> Any:
        if getattr(path[-1], "key", None) != "step":
            return leaf
        return leaf + jnp.asarray(steps, leaf.dtype)

    moved = jax.tree_util.tree_map_with_path(move, variables[COLLECTION])
    if isinstance(variables, dict):
        return {**variables, COLLECTION: moved}
    return variables.copy({COLLECTION: moved})


def resolve_total_steps(variables: Mapping[str, Any], total_steps: int) -> Any:
    """``variables`` with the run length of every ``total_steps="auto"`` GRL filled in.

    ``total_steps`` is an int > 0. A length already there (resolved before, or restored
    from a checkpoint) is kept; other collections are returned as they are (same
    objects), and the mapping keeps its type (``dict`` or ``FrozenDict``). The length is a
    0-d int32 array: under ``jit`` it is traced like the step, so no value recompiles.
    """
    schedules._total_steps(total_steps, auto=False)  # the int > 0 check
    _check_collection(variables)

    def fill(path: tuple[Any, ...], leaf: Any) -> Any:
        return jnp.asarray(total_steps, STEP_DTYPE) if _is_unresolved(path, leaf) else leaf

    filled = jax.tree_util.tree_map_with_path(fill, variables[COLLECTION])
    if isinstance(variables, dict):
        return {**variables, COLLECTION: filled}
    return variables.copy({COLLECTION: filled})


def _check_collection(variables: Mapping[str, Any]) -> None:
    if COLLECTION not in variables:
        raise ValueError(
            f"variables has no {COLLECTION!r} collection (collections: {sorted(variables)}); "
            f"pass the full variables returned by model.init"
        )


def _is_unresolved(path: tuple[Any, ...], leaf: Any) -> bool:
    return getattr(path[-1], "key", None) == LENGTH and jnp.shape(leaf) == _UNRESOLVED_SHAPE


def _check_length(value: Any) -> None:
    """Refuse a loaded run length that is not > 0 (where it can be read: outside ``jit``)."""
    if jnp.shape(value) != () or not is_concrete(value):
        return
    if int(value) <= 0:
        raise ValueError(f"invalid saved total_steps: must be an int > 0; got {int(value)}")
