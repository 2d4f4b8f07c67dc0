"""``λ = schedule(step)`` as tensor operations (``keras.ops``), for every Keras backend.

:meth:`GradientReversal.advance` evaluates the schedule where ``step`` lives, on the
device, so that it needs no host read of ``step`` and can run inside a compiled train
step. With ``p = clip(step / total_steps, 0, 1)``:

* ``constant(value)``: λ = value;
* ``linear(total_steps, lo, hi)``: λ = lo + (hi − lo)·p;
* ``dann(total_steps, gamma, lo, hi, normalize)``: λ = lo + (hi − lo)·tanh(γp/2)
  [/ tanh(γ/2) when ``normalize``].

The operations are those of :mod:`grl.core.schedules`, in the same order, in float64, with
``tanh(γ/2)`` taken from the host, so each value is the host's wherever each operation is
correctly rounded or is the C library's: bit for bit on TensorFlow's CPU kernels, graph and
eager (``tanh`` of a 0-d float64 tensor is ``std::tanh``, as Python's ``math.tanh``). Two
roundings can differ elsewhere:

* ``tanh`` of XLA (``jit_compile=True``, JAX) and of PyTorch is a few float64 ulp away
  from the C library's;
* XLA may fuse ``lo + (hi − lo)·s`` into one multiply-add (a difference only when
  ``lo > 0``).

Rounded to a float32 λ, those differences vanished from every value we compared: each step
of DANN schedules (10⁴ steps with γ = 10; γ = 50 normalized; γ = 3 with lo = 0.1; γ = 10
normalized with lo = 0.5) and of linear ones (with lo = 0.25), on TensorFlow (graph,
eager, XLA), PyTorch and JAX with x64. A float64 λ may differ by those few ulp.

Without float64 (JAX with x64 disabled) the evaluation is in float32, a few float32 ulp
from the host's value (at most 3 over a 40-step DANN schedule); the layer uses it only
where ``step`` is traced and cannot be read on the host.
"""

from __future__ import annotations

import math
from typing import Any

import keras

from grl.core import schedules

ops = keras.ops


def float64_available() -> bool:
    """Whether the active Keras backend computes in float64 (JAX only with x64 enabled)."""
    if keras.backend.backend() != "jax":
        return True
    import jax

    return bool(jax.config.jax_enable_x64)


def _opaque(value: float, like: Any) -> Any:
    """``value`` as a computed tensor (``like · 0 + value``), which no compiler folds.

    XLA rewrites a division by a constant into a multiplication by its rounded reciprocal,
    which is one ulp off for about a third of all steps; dividing by a value computed at
    run time keeps a true division (``x · 0`` is not 0 for inf/NaN, so it is not folded).
    """
    return like * 0.0 + value


def _tanh(x: Any) -> Any:
    if keras.backend.backend() == "jax":
        import jax.numpy as jnp

        # keras.ops.tanh on JAX returns float32 for a float64 input.
        return jnp.tanh(x)
    return ops.tanh(x)


def _progress(step: Any, total_steps: int) -> Any:
    return ops.clip(step / _opaque(float(total_steps), step), 0.0, 1.0)


def _constant(schedule: schedules.Constant, step: Any) -> Any:
    return _opaque(schedule.value, step)


def _linear(schedule: schedules.Linear, step: Any) -> Any:
    return schedule.lo + (schedule.hi - schedule.lo) * _progress(step, schedule.total_steps)


def _dann(schedule: schedules.DANN, step: Any) -> Any:
    shape = _tanh(schedule.gamma * _progress(step, schedule.total_steps) / 2.0)
    if schedule.normalize:
        shape = shape / _opaque(math.tanh(schedule.gamma / 2.0), shape)
    return schedule.lo + (schedule.hi - schedule.lo) * shape


_EVALUATORS = {schedules.Constant: _constant, schedules.Linear: _linear, schedules.DANN: _dann}


def scheduled_lambda(schedule: schedules.Schedule, step: Any, dtype: str) -> Any:
    """``schedule(step)`` as a 0-d tensor of ``dtype``, computed in float64 (see above).

    Args:
        schedule: a :mod:`grl.core.schedules` schedule.
        step: a 0-d integer tensor or variable value (traced or concrete).
        dtype: the dtype of the result (λ's storage dtype); the value is rounded once,
            from float64, as the host's ``schedule(step)`` is when assigned.
    """
    compute = "float64" if float64_available() else "float32"
    value = _EVALUATORS[type(schedule)](schedule, ops.cast(step, compute))
    return ops.cast(value, dtype)
