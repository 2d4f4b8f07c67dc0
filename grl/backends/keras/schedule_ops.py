"""``λ = schedule(step)`` on the device, for every Keras backend.

The formulas are :mod:`grl.core.schedules`' own, evaluated with ``keras.ops`` as the array
namespace (:func:`grl.core.schedules.evaluate`): in float64 they have the host's bits on
every backend, so a float32 λ rounds to the host's too. Without float64 (JAX with x64
disabled) the layer evaluates on the host wherever the step can be read.
"""

from __future__ import annotations

from typing import Any

import keras

from grl.core import schedules


def float64_available() -> bool:
    """Whether the active Keras backend computes in float64 (JAX only with x64 enabled)."""
    if keras.backend.backend() != "jax":
        return True
    import jax

    return bool(jax.config.jax_enable_x64)


def scheduled_lambda(schedule: schedules.Schedule, step: Any, dtype: str) -> Any:
    """``schedule(step)`` for a 0-d integer tensor ``step``, rounded once to ``dtype``."""
    compute = "float64" if float64_available() else "float32"
    value = schedules.evaluate(schedule, keras.ops.cast(step, compute), keras.ops)
    return keras.ops.cast(value, dtype)
