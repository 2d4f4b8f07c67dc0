"""JAX micro benchmark: forward, backward and forward+backward of one layer.

Eager (op by op): forward ``f(x)``; backward the ``vjp`` function of one ``jax.vjp`` call
applied to ``g``; forward+backward both. Compiled: ``jax.jit`` of the same three.
Every case ends with ``block_until_ready`` (JAX dispatches asynchronously).
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import records
from benchmarks.peers import jax_peers
from benchmarks.settings import Settings
from grl.jax import gradient_reversal

DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}
LAMBDA = 0.5


def layers() -> dict[str, Callable[[jax.Array], jax.Array]]:
    lambda_ = jax_peers.as_array(LAMBDA)
    return {
        records.IDENTITY: lambda x: x,
        records.GRL: lambda x: gradient_reversal(x, lambda_),
        jax_peers.CUSTOM_VJP: lambda x: jax_peers.custom_vjp_reversal(x, LAMBDA),
        jax_peers.STOP_GRADIENT: lambda x: jax_peers.stop_gradient_trick(x, lambda_),
    }


def origins() -> dict[str, str]:
    return {
        records.IDENTITY: "baseline: the array itself",
        records.FLOOR: "baseline: one g * c multiply",
        records.GRL: "grl.jax.gradient_reversal (λ a 0-d array)",
        **jax_peers.ORIGINS,
    }


def _ready(tree: object) -> object:
    return jax.block_until_ready(tree)


def method_cases(layer: Callable, mode: str, x: jax.Array, g: jax.Array) -> dict[str, Callable]:
    def backward(x: jax.Array, g: jax.Array) -> jax.Array:
        return jax.vjp(layer, x)[1](g)[0]

    def both(x: jax.Array, g: jax.Array) -> tuple[jax.Array, jax.Array]:
        y, pullback = jax.vjp(layer, x)
        return y, pullback(g)[0]

    if mode == "eager":
        _, pullback = jax.vjp(layer, x)
        return {
            records.FORWARD: lambda: _ready(layer(x)),
            records.BACKWARD: lambda: _ready(pullback(g)),
            records.BOTH: lambda: _ready(both(x, g)),
        }
    forward, backward, both = jax.jit(layer), jax.jit(backward), jax.jit(both)
    return {
        records.FORWARD: lambda: _ready(forward(x)),
        records.BACKWARD: lambda: _ready(backward(x, g)),
        records.BOTH: lambda: _ready(both(x, g)),
    }


def size_cases(mode: str, size: int, dtype: object) -> dict[tuple[str, str], Callable]:
    rng = np.random.default_rng(size)
    x = jnp.asarray(rng.standard_normal(size, dtype=np.float32)).astype(dtype)
    g = jnp.asarray(rng.standard_normal(size, dtype=np.float32)).astype(dtype)
    c = jnp.asarray(-LAMBDA, dtype=dtype)
    floor = (lambda g, c: g * c) if mode == "eager" else jax.jit(lambda g, c: g * c)
    cases: dict[tuple[str, str], Callable] = {
        (records.FLOOR, records.BACKWARD): lambda: _ready(floor(g, c))
    }
    for name, layer in layers().items():
        for kind, case in method_cases(layer, mode, x, g).items():
            cases[(name, kind)] = case
    return cases


def run(settings: Settings) -> list[records.Record]:
    def cases_for(mode: str, dtype: str) -> Callable:
        return lambda size: size_cases(mode, size, DTYPES[dtype])

    return records.micro_sweep("jax", settings, origins(), cases_for)
