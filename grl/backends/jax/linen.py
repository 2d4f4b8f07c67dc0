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
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

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
from grl.core import schedules
from grl.core.layer import fixed_lambda, parse_lambda, scheduled_set_lambda_error

__all__ = ["COLLECTION", "GradientReversal", "advance"]

#: The Linen variable collection that holds every GRL's state.
COLLECTION = "grl"


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
        for variable in (self.step, *([self.fixed] if schedule is None else [])):
            check_loaded(variable.value)

    def __call__(self, x: Any) -> Any:
        return gradient_reversal(x, self.current_lambda())

    def current_lambda(self) -> jax.Array:
        """λ now: the fixed value, or ``schedule(step)`` (0-d float32)."""
        schedule = self.schedule
        if schedule is None:
            return self.fixed.value
        return lambda_at(schedule, self.step.value)

    def advance(self, steps: Any = 1) -> None:
        """``step += steps`` for this layer (``apply(..., mutable=["grl"])``)."""
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
    if COLLECTION not in variables:
        raise ValueError(
            f"variables has no {COLLECTION!r} collection (collections: {sorted(variables)}); "
            f"pass the full variables returned by model.init"
        )

    def move(path: tuple[Any, ...], leaf: Any) -> Any:
        if getattr(path[-1], "key", None) != "step":
            return leaf
        return leaf + jnp.asarray(steps, leaf.dtype)

    moved = jax.tree_util.tree_map_with_path(move, variables[COLLECTION])
    if isinstance(variables, dict):
        return {**variables, COLLECTION: moved}
    return variables.copy({COLLECTION: moved})
