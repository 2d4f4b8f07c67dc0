"""Every JAX measurement, in the order the worker runs them."""

from __future__ import annotations

from benchmarks import jax_compiles, jax_dann, jax_memory, jax_micro, records
from benchmarks.settings import Settings


def configure(threads: int) -> None:
    """Threads are fixed through ``XLA_FLAGS`` by the worker before JAX is imported."""


def run(settings: Settings, sections: tuple[str, ...]) -> list[records.Record]:
    results: list[records.Record] = []
    if "compiles" in sections:
        results += jax_compiles.run(settings.schedule_steps)
    if "memory" in sections:
        results += jax_memory.run(settings, jax_micro.layers())
    if "micro" in sections:
        results += jax_micro.run(settings)
    if "macro" in sections:
        results += jax_dann.run(settings)
    return results
