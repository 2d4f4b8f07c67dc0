"""Flax Linen gradient reversal layer (needs ``flax``; imported lazily by ``grl.jax``).

Linen keeps mutable state in variable collections. The layer stores its schedule step in
the collection :data:`COLLECTION` (``"grl"``), created by ``model.init`` and saved with the
other variables; λ is ``schedule(step)``, evaluated inside the call (one scalar op, no
state of its own). Stepping is explicit and never happens per call: :func:`advance` returns
the variables with every GRL step in the model moved on, a pure function that ``jit``
can trace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from grl.backends.jax.ops import gradient_reversal
from grl.backends.jax.schedules import as_schedule
from grl.backends.jax.validation import check_steps, lambda_array

__all__ = ["COLLECTION", "GradientReversal", "advance"]

#: The Linen variable collection that holds every GRL's ``step``.
COLLECTION = "grl"


class GradientReversal(nn.Module):
    """``R_λ(x) = x`` forward, ``−λ·∂L/∂R`` backward, with ``λ = schedule(step)``.

    Attributes:
        lambda_: a fixed λ (a real number ``>= 0``), a :mod:`grl.jax.schedules` or
            :mod:`grl.core.schedules` schedule, or any callable ``step -> λ``.
    """

    lambda_: Any = 1.0

    def __post_init__(self) -> None:
        as_schedule(self.lambda_)  # bad settings fail at construction, not at first call
        super().__post_init__()

    @nn.compact
    def __call__(self, x: Any) -> Any:
        step = self.variable(COLLECTION, "step", lambda: jnp.zeros((), dtype=jnp.int32))
        # float32, as every grl layer stores λ; the schedule computes in float64 under x64.
        lam = lambda_array(as_schedule(self.lambda_)(step.value)).astype(jnp.float32)
        return gradient_reversal(x, lam)


def advance(variables: Mapping[str, Any], steps: Any = 1) -> Any:
    """``variables`` with every step in the :data:`COLLECTION` collection moved on by ``steps``.

    Other collections are returned as they are (same objects); the mapping keeps its type
    (``dict`` or ``FrozenDict``).
    """
    steps = check_steps(steps)
    if COLLECTION not in variables:
        raise ValueError(
            f"variables has no {COLLECTION!r} collection (collections: {sorted(variables)}); "
            f"pass the full variables returned by model.init"
        )
    moved = jax.tree.map(lambda step: step + jnp.asarray(steps, step.dtype), variables[COLLECTION])
    if isinstance(variables, dict):
        return {**variables, COLLECTION: moved}
    return variables.copy({COLLECTION: moved})
