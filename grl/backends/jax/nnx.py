"""Flax NNX gradient reversal layer (needs ``flax``; imported lazily by ``grl.jax``).

λ and the schedule step are NNX variables of the type :class:`ReversalState` (not
:class:`flax.nnx.Param`): ``nnx.state(model)`` and checkpoints carry them, while an
optimizer built with ``wrt=nnx.Param`` never trains them. The schedule itself is static
configuration (a hashable callable), like a layer's width.

Stepping is explicit: calling the layer never changes its state; :meth:`advance` moves
the step on and sets ``λ = schedule(step)``. Under ``nnx.jit`` both are traced arrays, so
neither a new λ nor a new step recompiles.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from grl.backends.jax.ops import gradient_reversal
from grl.backends.jax.schedules import as_schedule, is_fixed_lambda
from grl.backends.jax.validation import check_steps, lambda_array

__all__ = ["GradientReversal", "ReversalState"]


def _lambda_state(value: Any) -> jax.Array:
    return lambda_array(value).astype(jnp.float32)


class ReversalState(nnx.Variable):
    """State of a gradient reversal layer: λ and the schedule step. Never trained."""


class GradientReversal(nnx.Module):
    """``R_λ(x) = x`` forward, ``−λ·∂L/∂R`` backward (see :func:`grl.jax.gradient_reversal`).

    Args:
        lambda_: a fixed λ (a real number ``>= 0`` or a concrete 0-d array), a
            :mod:`grl.jax.schedules` or :mod:`grl.core.schedules` schedule, or any callable
            ``step -> λ`` (optax schedules included).

    Attributes:
        lambda_: :class:`ReversalState` holding λ as a 0-d float32 array, as every grl
            layer stores it (a schedule computes in float64 under x64, then rounds).
        step: :class:`ReversalState` holding the step (0-d int32), 0 at construction.
        schedule: the static callable ``step -> λ``, or ``None`` for a fixed λ.
    """

    def __init__(self, lambda_: Any = 1.0) -> None:
        self.schedule = None if is_fixed_lambda(lambda_) else as_schedule(lambda_)
        self.step = ReversalState(jnp.zeros((), dtype=jnp.int32))
        initial = lambda_ if self.schedule is None else self.schedule(self.step[...])
        self.lambda_ = ReversalState(_lambda_state(initial))

    def __call__(self, x: Any) -> Any:
        """Apply the current λ to ``x`` (an array or pytree); the state is left unchanged."""
        return gradient_reversal(x, self.lambda_[...])

    def advance(self, steps: Any = 1) -> None:
        """Move the step on by ``steps``; with a schedule, set ``λ = schedule(step)``.

        Call it once per training step (inside the jitted step is fine), never per call.
        """
        step = self.step[...] + jnp.asarray(check_steps(steps), dtype=self.step[...].dtype)
        self.step[...] = step
        if self.schedule is not None:
            self.lambda_[...] = _lambda_state(self.schedule(step))

    def set_lambda(self, lambda_: Any) -> None:
        """Set λ (validated like every λ). With a schedule, the next :meth:`advance` wins."""
        self.lambda_[...] = _lambda_state(lambda_)
