"""What the Flax NNX and Linen layers add to the layer contract of :mod:`grl.core.layer`.

The rules (λ argument, steps, set_lambda, saved state) are grl.core's; here is only how JAX
values meet them: a concrete 0-d array read as λ, a traced step or λ accepted under ``jit``
(checked for dtype and rank, its value unknown until run time), and λ = schedule(step)
evaluated on the device with grl.core's formulas.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from grl.backends.jax.internals import is_concrete, is_traced
from grl.backends.jax.validation import default_float_dtype, validated_lambda
from grl.core import layer as contract
from grl.core import schedules

#: Every grl layer stores λ as a 0-d float32 and the step as a 0-d int32.
LAMBDA_DTYPE = jnp.float32
STEP_DTYPE = jnp.int32


def read_tensor(value: Any) -> float | None:
    """A concrete 0-d floating JAX array given as λ, as a float (core checks the value)."""
    if not isinstance(value, jax.Array):
        return None
    if is_traced(value) and not is_concrete(value):
        raise TypeError(
            f"lambda_ must be concrete here (a traced array has no value until run time); got "
            f"{value!r}. Under jit, build the layer outside and call set_lambda inside."
        )
    return float(validated_lambda(value))


def steps_operand(steps: Any) -> Any:
    """``advance``'s ``steps``: core's int ``>= 0``, or a traced 0-d integer array."""
    if isinstance(steps, jax.Array) and not is_concrete(steps):
        if not jnp.issubdtype(steps.dtype, jnp.integer) or steps.ndim != 0:
            raise TypeError(
                f"steps must be an int >= 0 (under jit, a 0-d integer array); got {steps!r}"
            )
        return steps
    is_array = isinstance(steps, jax.Array | np.ndarray)
    if is_array and steps.ndim == 0 and jnp.issubdtype(steps.dtype, jnp.integer):
        steps = int(steps)
    return contract.check_steps(steps)


def traced_lambda(value: Any) -> jax.Array | None:
    """A traced λ for ``set_lambda`` under ``jit`` (dtype and rank checked), else None."""
    if isinstance(value, jax.Array) and not is_concrete(value):
        return jnp.asarray(validated_lambda(value), LAMBDA_DTYPE)
    return None


def lambda_at(schedule: schedules.Schedule, step: jax.Array) -> jax.Array:
    """``schedule(step)`` on the device, rounded to λ's storage dtype.

    With x64 the float64 value has the host's bits, so the stored λ is exactly the host's
    ``schedule(step)`` rounded to float32; without x64 it is computed in float32.
    """
    value = schedules.evaluate(schedule, step.astype(default_float_dtype()), jnp)
    return value.astype(LAMBDA_DTYPE)


def check_loaded(value: Any) -> None:
    """Refuse a loaded λ (floating) or step (integer) that the contract forbids."""
    if not isinstance(value, jax.Array | np.ndarray) or not is_concrete(value):
        return  # abstract (eval_shape) or traced: nothing to read
    array = np.asarray(value)
    if array.ndim != 0:
        return
    if np.issubdtype(array.dtype, np.integer):
        problem = contract.saved_state_problem(None, array)
    else:
        problem = contract.saved_state_problem(float(array), None)
    if problem is not None:
        raise ValueError(problem)
