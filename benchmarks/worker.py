"""One framework's benchmarks in a process of its own: ``python -m benchmarks.worker torch``.

Thread counts must be fixed before the framework starts its thread pools, so this module
sets them through the environment first and imports the framework only afterwards.

The frameworks are those of :data:`grl._frameworks.BACKENDS`. Each section of framework
``<name>`` is the ``run(settings)`` of ``benchmarks/<name>_<module>.py`` (:data:`TABLE`);
a backend without that module skips the section. The import-cost section is the same for
all (:mod:`benchmarks.imports`).
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from grl._frameworks import NAMES

FRAMEWORKS = NAMES
#: Section -> the module name after ``<framework>_``; "imports" is framework-neutral.
SECTION_MODULES = {"compiles": "compiles", "memory": "memory", "micro": "micro", "macro": "dann"}
SECTIONS = ("imports", *SECTION_MODULES)
HERE = Path(__file__).resolve().parent
#: framework -> section -> module that runs it (the sections its modules exist for).
TABLE = {
    name: {
        section: f"benchmarks.{name}_{module}"
        for section, module in SECTION_MODULES.items()
        if (HERE / f"{name}_{module}.py").is_file()
    }
    for name in FRAMEWORKS
}


def limit_threads(threads: int) -> None:
    """Pin every framework's intra-op pool to ``threads`` (before any import)."""
    os.environ["OMP_NUM_THREADS"] = str(threads)
    os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    # TensorFlow reports CPU memory only from its BFC allocator (see tf_memory).
    os.environ["TF_CPU_ALLOCATOR_USE_BFC"] = "true"
    os.environ["JAX_PLATFORMS"] = "cpu"
    flags = os.environ.get("XLA_FLAGS", "")
    if threads == 1 and "multi_thread_eigen" not in flags:
        flags += " --xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    os.environ["XLA_FLAGS"] = flags.strip()
    os.environ["TORCHINDUCTOR_COMPILE_THREADS"] = "1"


def section_runner(framework: str, section: str) -> Callable:
    """The ``run(settings)`` of one section of one framework (imports its module)."""
    if section == "imports":
        from benchmarks import imports

        return partial(imports.run, framework)
    return importlib.import_module(TABLE[framework][section]).run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("framework", choices=FRAMEWORKS)
    parser.add_argument("--settings", required=True, help="Settings as JSON")
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", required=True, help="where to write the JSON records")
    args = parser.parse_args(argv)
    limit_threads(args.threads)

    from benchmarks import timing
    from benchmarks.settings import Settings

    settings = Settings.from_dict(json.loads(args.settings))
    timing.use_clock(settings.clock)
    sections = tuple(s for s in args.sections.split(",") if s)
    unknown = set(sections) - set(SECTIONS)
    if unknown:
        parser.error(f"unknown sections {sorted(unknown)}; choose from {SECTIONS}")
    start = time.perf_counter()
    results = []
    available = ("imports", *TABLE[args.framework])
    for section in SECTIONS:  # this order: imports first, in a still cold worker
        if section in sections and section in available:
            results += section_runner(args.framework, section)(settings)
    results.append(
        {
            "section": "run",
            "framework": args.framework,
            "seconds": time.perf_counter() - start,
            "threads": args.threads,
        }
    )
    with open(args.out, "w") as handle:
        json.dump(results, handle)
    return 0


if __name__ == "__main__":
    sys.exit(main())
