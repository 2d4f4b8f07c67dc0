"""Import cost: ``import <framework>`` against ``import grl.<name>``, in fresh processes.

Each sample is a new Python process that imports one module and reports how long the
import took, on the run's clock (process CPU time by default, or wall time). The two
imports take turns, ``settings.import_repeats`` times each, after one discarded warm-up
(so both find the OS file cache warm, as a user's second run does); the ratio is the
median of the per-round ratios, as for the DANN steps.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
from pathlib import Path

from benchmarks import records
from benchmarks.settings import Settings
from benchmarks.timing import paired_ratio
from grl._frameworks import BY_NAME

ROOT = Path(__file__).resolve().parent.parent
CLOCK_CALLS = {"cpu": "process_time", "wall": "perf_counter"}
PROGRAM = "import time\nstart = time.{clock}()\nimport {module}\nprint(time.{clock}() - start)"


def import_seconds(module: str, clock: str = "cpu") -> float:
    """Seconds one fresh interpreter spends on ``import module``."""
    program = PROGRAM.format(clock=CLOCK_CALLS[clock], module=module)
    done = subprocess.run(
        [sys.executable, "-c", program], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"import {module} failed:\n{done.stderr[-2000:]}")
    return float(done.stdout.strip().splitlines()[-1])


def compare(base: str, wrapper: str, repeats: int, clock: str = "cpu") -> dict[str, list[float]]:
    """Interleaved samples of ``import base`` and ``import wrapper`` (which imports base)."""
    import_seconds(wrapper, clock)
    samples: dict[str, list[float]] = {base: [], wrapper: []}
    for repeat in range(repeats):
        order = (base, wrapper) if repeat % 2 == 0 else (wrapper, base)
        for module in order:
            samples[module].append(import_seconds(module, clock))
    return samples


def run(framework: str, settings: Settings) -> list[records.Record]:
    base, wrapper = BY_NAME[framework].module, f"grl.{framework}"
    samples = compare(base, wrapper, settings.import_repeats, settings.clock)
    q1, ratio, q3 = paired_ratio(samples[wrapper], samples[base])
    return [
        {
            "section": "imports",
            "framework": framework,
            "method": f"import {module}",
            "seconds": statistics.median(values),
            "samples": len(values),
            **({"ratio": ratio, "ratio_q1": q1, "ratio_q3": q3} if module == wrapper else {}),
        }
        for module, values in samples.items()
    ]
