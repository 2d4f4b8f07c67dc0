"""The benchmark's result records: plain dicts, one per measurement, written as JSON.

Sections and their keys:

* ``micro``: framework, mode, dtype, size, method, kind (forward / backward /
  forward+backward), seconds (median per call);
* ``memory``: framework, what, method, bytes (and ``zero_copy`` where it applies);
* ``macro``: framework, model, mode, method, seconds (median per training step), ratio
  (median of the per-round ratios to identity) with its quartiles ratio_q1, ratio_q3;
* ``compiles``: framework, method, steps, compiles, graph_breaks, usage;
* ``peers``: framework, name, version, error (installed peers, or why they are missing);
* ``methods``: framework, method, origin (grl, a baseline, a package, a re-written pattern).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Record = dict[str, Any]

FORWARD, BACKWARD, BOTH = "forward", "backward", "forward+backward"
KINDS = (FORWARD, BACKWARD, BOTH)
GRL, IDENTITY, FLOOR = "grl", "identity", "floor"
GRL_FIXED = "grl, fixed λ"  # the DANN step without the per-step schedule update


def micro(
    framework: str, mode: str, dtype: str, size: int, medians: dict[tuple[str, str], float]
) -> list[Record]:
    return [
        {
            "section": "micro",
            "framework": framework,
            "mode": mode,
            "dtype": dtype,
            "size": size,
            "method": method,
            "kind": kind,
            "seconds": seconds,
        }
        for (method, kind), seconds in medians.items()
    ]


def macro(framework: str, model: str, mode: str, samples: dict[str, list[float]]) -> list[Record]:
    """One record per variant: median seconds per step, and its paired ratio to identity."""
    import statistics

    from benchmarks.timing import paired_ratio

    results = []
    for variant, values in samples.items():
        q1, median, q3 = paired_ratio(values, samples[IDENTITY])
        results.append(
            {
                "section": "macro",
                "framework": framework,
                "model": model,
                "mode": mode,
                "method": variant,
                "seconds": statistics.median(values),
                "ratio": median,
                "ratio_q1": q1,
                "ratio_q3": q3,
            }
        )
    return results


def compiles(
    framework: str, method: str, steps: int, usage: str, count: int, **extra: Any
) -> Record:
    """Compiles or traces of ``method`` over ``steps`` schedule steps (λ changed as ``usage``)."""
    return {
        "section": "compiles",
        "framework": framework,
        "method": method,
        "steps": steps,
        "usage": usage,
        "compiles": count,
        "graph_breaks": None,
        **extra,
    }


def micro_sweep(
    framework: str,
    settings: Any,
    origins: dict[str, str],
    cases_for: Callable[[str, str], Callable[[int], dict[tuple[str, str], Callable]]],
) -> list[Record]:
    """Every mode, dtype and size of ``settings``: medians of ``cases_for(mode, dtype)(size)``."""
    from benchmarks.timing import interleaved_medians

    results = method_origins(framework, origins)
    for mode in settings.modes:
        for dtype in settings.dtypes:
            cases_of_size = cases_for(mode, dtype)
            for size in settings.sizes:
                cases = cases_of_size(size)
                medians = interleaved_medians(cases, settings.repeats, settings.min_sample_s)
                results += micro(framework, mode, dtype, size, medians)
    return results


def method_origins(framework: str, origins: dict[str, str]) -> list[Record]:
    return [
        {"section": "methods", "framework": framework, "method": method, "origin": origin}
        for method, origin in origins.items()
    ]


def find(records: list[Record], **keys: Any) -> list[Record]:
    """The records whose fields equal every given key."""
    return [r for r in records if all(r.get(k) == v for k, v in keys.items())]


def one(records: list[Record], **keys: Any) -> Record | None:
    found = find(records, **keys)
    return found[0] if found else None
