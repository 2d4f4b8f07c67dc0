"""Medians of interleaved repeats: the only timing rule of the benchmark.

On a shared machine the load changes from second to second. Timing case A for a while and
then case B would fold that drift into the A/B ratio; taking one sample of every case in
turn (in a rotating order), many times over, and comparing medians does not.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

Case = Callable[[], object]

#: What a sample measures. "cpu" (the default): CPU time of the whole process, user and
#: system, every thread included (JAX's dispatch thread, TensorFlow's pools, the kernel
#: zeroing fresh pages). On a shared machine, wall time mostly measures the wait for a
#: free core; with one compute thread per framework, CPU time is the work itself.
#: "wall": ``perf_counter``, for a machine of one's own.
CLOCKS: dict[str, Callable[[], float]] = {"cpu": time.process_time, "wall": time.perf_counter}
_clock = CLOCKS["cpu"]


def use_clock(name: str) -> None:
    """Select the clock of every later measurement ("cpu" or "wall")."""
    global _clock
    if name not in CLOCKS:
        raise ValueError(f"clock must be one of {sorted(CLOCKS)}; got {name!r}")
    _clock = CLOCKS[name]


def calibrate(case: Case, min_sample_s: float, max_calls: int = 10_000) -> int:
    """How many calls make one sample last at least ``min_sample_s`` (after a warm-up call)."""
    case()
    calls = 1
    while True:
        start = _clock()
        for _ in range(calls):
            case()
        elapsed = _clock() - start
        if elapsed >= min_sample_s or calls >= max_calls:
            return calls
        calls = min(max_calls, max(calls * 2, int(calls * min_sample_s / max(elapsed, 1e-7))))


def interleaved_samples(
    cases: dict[str, Case], repeats: int, min_sample_s: float
) -> dict[str, list[float]]:
    """``repeats`` samples (seconds per call) of each case, taken in turn.

    Each case must block until its work is done (e.g. ``block_until_ready``), or its time
    would only be the dispatch. Sample ``i`` of every case comes from the same round, so
    ratios of samples with the same index are paired: the load drift cancels in them.
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1; got {repeats}")
    names = list(cases)
    calls = {name: calibrate(cases[name], min_sample_s) for name in names}
    samples: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            case, n = cases[name], calls[name]
            start = _clock()
            for _ in range(n):
                case()
            samples[name].append((_clock() - start) / n)
    return samples


def interleaved_medians(
    cases: dict[str, Case], repeats: int, min_sample_s: float
) -> dict[str, float]:
    """Median seconds per call of each case, from ``repeats`` interleaved samples."""
    samples = interleaved_samples(cases, repeats, min_sample_s)
    return {name: statistics.median(values) for name, values in samples.items()}


def paired_ratio(numerator: list[float], denominator: list[float]) -> tuple[float, float, float]:
    """(first quartile, median, third quartile) of the per-round ratios ``a_i / b_i``."""
    ratios = sorted(a / b for a, b in zip(numerator, denominator, strict=True))
    if len(ratios) == 1:
        return ratios[0], ratios[0], ratios[0]
    q1, median, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    return q1, median, q3
