"""PyTorch memory: bytes allocated by one forward call, and the peak of a training step.

CPU tensors have no allocator statistics, so both come from ``torch.profiler`` with
``profile_memory=True``: every allocation and free is an event with a signed byte count;
their sum over a forward call is what it allocated (and kept), and the running maximum
of their prefix sums over a training step is its peak above the memory held before it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch.profiler import ProfilerActivity, profile

from benchmarks import records
from benchmarks.settings import Settings


def allocation_trace(fn: Callable[[], object]) -> tuple[list[int], object]:
    """Signed byte counts of every allocation (+) and free (−) during ``fn``, in order."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        result = fn()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    events.sort(key=lambda e: e.start_ns())
    return [e.nbytes() for e in events], result


def allocated_and_peak(fn: Callable[[], object]) -> tuple[int, int, object]:
    """(bytes still allocated after ``fn``, peak bytes during it, its result)."""
    deltas, result = allocation_trace(fn)
    running = peak = 0
    for delta in deltas:
        running += delta
        peak = max(peak, running)
    return running, peak, result


def forward_records(
    layers: dict[str, torch.nn.Module], size: int, mode: str = "eager", backend: str = "inductor"
) -> list[records.Record]:
    """Bytes allocated by ``layer(x)`` for an ``x`` of ``size`` float32s that requires grad.

    ``zero_copy``: the output shares ``x``'s memory.
    """
    x = torch.randn(size).requires_grad_()
    results = []
    for name, layer in layers.items():
        if mode == "compiled":
            layer = torch.compile(layer, backend=backend)
        layer(x)  # first call outside the profiler (compile, lazy initialisation, caches)
        kept, peak, y = allocated_and_peak(lambda layer=layer: layer(x))
        results.append(
            {
                "section": "memory",
                "framework": "torch",
                "what": f"forward, {size} float32, {mode}",
                "method": name,
                "bytes": kept,
                "peak_bytes": peak,
                "zero_copy": y.data_ptr() == x.data_ptr(),
            }
        )
    return results


def step_peak_records(steps: dict[str, Any], model: str, mode: str) -> list[records.Record]:
    """Peak bytes above the starting point during one training step of each variant."""
    results = []
    for name, step in steps.items():
        step()  # allocate optimizer state and compile before measuring
        # Start from no gradients, so that the step's own gradients count in its peak
        # (otherwise the frees of the previous step's gradients come first and hide it).
        step.optimizer.zero_grad(set_to_none=True)
        _, peak, _ = allocated_and_peak(step)
        results.append(
            {
                "section": "memory",
                "framework": "torch",
                "what": f"training step peak, {model}, {mode}",
                "method": name,
                "bytes": peak,
            }
        )
    return results


def run(settings: Settings) -> list[records.Record]:
    from benchmarks.torch_micro import layers as make_layers

    layers = make_layers()
    results = forward_records(layers, settings.memory_size)
    compiled = {name: layers[name] for name in (records.IDENTITY, records.GRL)}
    return results + forward_records(
        compiled, settings.memory_size, "compiled", settings.torch_backend
    )
