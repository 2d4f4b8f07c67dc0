"""JAX retraces: ``jax.jit`` traces of a training step over a λ schedule, per method.

A tiny model (``x @ w → GRL → sum``, SGD) is stepped ``steps`` times; a Python counter in
the step body counts traces (the body runs only when JAX traces it).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp

from benchmarks import records
from benchmarks.peers import jax_peers
from benchmarks.settings import Settings
from grl.core import schedules
from grl.jax import gradient_reversal
from grl.jax import schedules as jax_schedules


def _count(layer: Callable, lambda_static: bool, steps: int) -> int:
    """Traces of ``step`` when λ is given as the method's users give it."""
    traces = [0]
    x = jnp.ones((4, 8))
    core = schedules.dann(total_steps=steps)
    traced_schedule = jax_schedules.dann(total_steps=steps)

    def loss(w: jax.Array, lambda_: object) -> jax.Array:
        return layer(x @ w, lambda_).sum()

    if lambda_static:

        @partial(jax.jit, static_argnums=1)
        def step(w: jax.Array, lambda_: float) -> jax.Array:
            traces[0] += 1
            return w - 0.01 * jax.grad(loss)(w, lambda_)

        schedule_value = core
    else:

        @jax.jit
        def step(w: jax.Array, k: jax.Array) -> jax.Array:
            traces[0] += 1
            return w - 0.01 * jax.grad(loss)(w, traced_schedule(k))

        def schedule_value(k: int) -> jax.Array:
            return jnp.asarray(k, jnp.int32)

    w = jnp.ones((8, 8))
    for k in range(steps):
        w = step(w, schedule_value(k))
    jax.block_until_ready(w)
    return traces[0]


def run(settings: Settings) -> list[records.Record]:
    steps = settings.schedule_steps
    methods = (
        (records.GRL, gradient_reversal, False, "λ = schedules.dann(...)(step), step an array"),
        (
            jax_peers.CUSTOM_VJP,
            jax_peers.custom_vjp_reversal,
            True,
            "λ a Python float (nondiff_argnums), static under jit",
        ),
        (
            jax_peers.STOP_GRADIENT,
            jax_peers.stop_gradient_trick,
            False,
            "λ = schedule(step) as an array",
        ),
    )
    return [
        records.compiles("jax", name, steps, usage, _count(layer, static, steps))
        for name, layer, static, usage in methods
    ]
