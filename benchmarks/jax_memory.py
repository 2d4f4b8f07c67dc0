"""JAX memory: zero-copy eager forward, and XLA's compiled memory analysis.

``jit(f).lower(...).compile().memory_analysis()`` gives the bytes XLA plans for a
computation: arguments, outputs, aliased buffers and temporaries. The peak of a step
beyond its inputs is ``output + temp − alias``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from benchmarks import records
from benchmarks.settings import Settings


def planned_bytes(fn: Callable, *args: object) -> dict[str, int]:
    analysis = jax.jit(fn).lower(*args).compile().memory_analysis()
    return {
        "output": int(analysis.output_size_in_bytes),
        "temp": int(analysis.temp_size_in_bytes),
        "alias": int(analysis.alias_size_in_bytes),
    }


def _address(array: jax.Array) -> int:
    return array.unsafe_buffer_pointer()


def forward_records(layers: dict[str, Callable], size: int) -> list[records.Record]:
    x = jnp.asarray(np.random.default_rng(0).standard_normal(size, dtype=np.float32))
    results = []
    for name, layer in layers.items():
        y = jax.block_until_ready(layer(x))
        results.append(
            {
                "section": "memory",
                "framework": "jax",
                "what": f"forward, {size} float32, eager",
                "method": name,
                "bytes": 0 if _address(y) == _address(x) else int(y.nbytes),
                "zero_copy": _address(y) == _address(x),
            }
        )
        compiled_y = jax.block_until_ready(jax.jit(layer)(x))
        plan = planned_bytes(layer, x)
        results.append(
            {
                "section": "memory",
                "framework": "jax",
                "what": f"forward, {size} float32, compiled (XLA plan: output + temp)",
                "method": name,
                "bytes": plan["output"] + plan["temp"] - plan["alias"],
                "zero_copy": _address(compiled_y) == _address(x),
            }
        )
    return results


def step_plan_records(steps: dict[str, Any], model: str, mode: str) -> list[records.Record]:
    """XLA's planned temporaries of each variant's jitted training step (compiled mode)."""
    if mode != "compiled":
        return []
    return [
        {
            "section": "memory",
            "framework": "jax",
            "what": f"training step temp bytes, {model}, compiled (XLA plan)",
            "method": name,
            "bytes": planned_bytes(step.pure, *step.state)["temp"],
        }
        for name, step in steps.items()
    ]


def run(settings: Settings) -> list[records.Record]:
    from benchmarks.jax_micro import layers

    return forward_records(layers(), settings.memory_size)
