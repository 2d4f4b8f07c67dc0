"""Flax NNX gradient reversal layer (needs ``flax``; imported lazily by ``grl.jax``).

The layer contract is grl.core's (:class:`grl.core.layer.LayerContract`): λ from a number,
a 0-d array or a grl schedule; ``advance(steps=1)``; ``set_lambda`` on a fixed λ; always
``λ == schedule(step)`` for a scheduled one. λ and the step are NNX variables of the type
:class:`ReversalState` (not :class:`flax.nnx.Param`): ``nnx.state(model)`` and checkpoints
carry them, while an optimizer built with ``wrt=nnx.Param`` never trains them. Calling the
layer never changes its state. Under ``nnx.jit`` both are traced arrays, so neither a new λ
nor a new step recompiles.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
from flax import nnx

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
from grl.core.layer import LayerContract, scheduled_set_lambda_error

__all__ = ["GradientReversal", "ReversalState"]


class ReversalState(nnx.Variable):
    """State of a gradient reversal layer: λ and the step. Never trained.

    ``nnx.update`` (restoring a checkpoint) refuses a λ that is negative or not finite and
    a negative step, as every grl layer does when loading.
    """

    def update_from_state(self, variable_state: Any) -> None:
        check_loaded(variable_state.get_value())
        super().update_from_state(variable_state)


class GradientReversal(LayerContract, nnx.Module):
    """``R_λ(x) = x`` forward, ``−λ·∂L/∂R`` backward (see :func:`grl.jax.gradient_reversal`).

    Args:
        lambda_: a fixed λ (a real number ``>= 0`` or a concrete 0-d floating array), or a
            :mod:`grl.core.schedules` / :mod:`grl.jax.schedules` schedule or its
            ``get_config()`` dict. Other callables (optax schedules) are refused: a λ
            schedule must be validated and serialisable.

    Attributes:
        lambda_: :class:`ReversalState`, λ as a 0-d float32 array.
        step: :class:`ReversalState`, the number of training steps taken (0-d int32).
        schedule: the grl.core schedule, or ``None`` for a fixed λ.
    """

    def __init__(self, lambda_: Any = 1.0) -> None:
        initial = self._parse_lambda(lambda_)
        self.step = ReversalState(jnp.zeros((), dtype=STEP_DTYPE))
        self.lambda_ = ReversalState(jnp.asarray(initial, dtype=LAMBDA_DTYPE))

    def __call__(self, x: Any) -> Any:
        """Apply the current λ to ``x`` (an array or pytree); the state is left unchanged.

        A ``total_steps="auto"`` schedule must be resolved first (:meth:`resolve_total_steps`):
        NNX does not tell a training call from another, so every call checks (in Python:
        under ``nnx.jit`` once, when traced)."""
        self._require_resolved("call")
        return gradient_reversal(x, self.lambda_[...])

    def advance(self, steps: Any = 1) -> None:
        """``step += steps`` (an int ``>= 0``; under ``jit`` also a traced 0-d integer
        array); a scheduled λ becomes ``schedule(step)``. Once per training step."""
        self._require_resolved("advance()")
        step = self.step[...] + jnp.asarray(steps_operand(steps), dtype=STEP_DTYPE)
        self.step[...] = step
        if self._schedule is not None:
            self.lambda_[...] = lambda_at(self._schedule, step)

    def set_lambda(self, value: Any) -> None:
        """Set a fixed λ (validated like the constructor's; under ``jit`` a traced 0-d
        floating array is checked for dtype and rank). A scheduled layer refuses it."""
        traced = traced_lambda(value)
        if traced is None:
            super().set_lambda(value)
        elif self._schedule is not None:
            raise scheduled_set_lambda_error(self._schedule)
        else:
            self.lambda_[...] = traced

    def _read_tensor(self, value: Any) -> float | None:
        return read_tensor(value)

    def _store_lambda(self, value: float) -> None:
        self.lambda_[...] = jnp.asarray(value, dtype=LAMBDA_DTYPE)

    def _current_step(self) -> int:
        return int(self.step[...])

    def resolve_total_steps(self, total_steps: int) -> bool:
        """Give a ``total_steps="auto"`` schedule its run length (an int > 0), outside
        ``jit``: the schedule is a static attribute, so resolving before the first
        ``nnx.jit`` call traces nothing more. Returns whether it resolved one."""
        if not is_concrete(self.step[...]):
            raise RuntimeError(
                "GradientReversal.resolve_total_steps() changes a static attribute (the "
                "schedule); call it outside nnx.jit, before the first training step"
            )
        return super().resolve_total_steps(total_steps)
