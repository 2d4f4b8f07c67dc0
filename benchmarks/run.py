"""Run every benchmark side by side and write the table, the JSON and the plot.

    python -m benchmarks.run            # full run (about 10 minutes on 2 cores)
    python -m benchmarks.run --quick    # small sizes, few repeats: checks the harness

Each framework runs in its own worker process (:mod:`benchmarks.worker`); a framework
that cannot be imported is reported, not fatal. Ratios in the tables come from this one
run: medians of interleaved repeats (:mod:`benchmarks.timing`).
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.metadata
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if __package__ in (None, ""):  # run as ``python benchmarks/run.py``
    sys.path.insert(0, str(ROOT))

from benchmarks import report  # noqa: E402
from benchmarks.records import Record  # noqa: E402
from benchmarks.settings import FULL, QUICK, Settings  # noqa: E402
from benchmarks.worker import FRAMEWORKS, SECTIONS  # noqa: E402
from grl._frameworks import BACKENDS, COMPANIONS  # noqa: E402

#: Distributions whose versions a run records: the frameworks, and what else it imports.
DISTRIBUTIONS = (
    *(f.module.split(".")[0] for f in BACKENDS + COMPANIONS),
    *("tensorflow-cpu", "jaxlib", "optax", "pytorch-revgrad", "torch-gradient-reversal"),
)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as handle:
            for line in handle:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine() -> dict:
    versions = {}
    for name in DISTRIBUTIONS:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "versions": versions,
        "load_average_at_start": os.getloadavg(),
    }


def run_worker(
    framework: str, settings: Settings, sections: tuple[str, ...], threads: int
) -> list[Record]:
    """One framework's records, or one ``error`` record saying why there are none."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "records.json"
        command = [
            sys.executable,
            "-m",
            "benchmarks.worker",
            framework,
            "--settings",
            json.dumps(settings.to_dict()),
            "--sections",
            ",".join(sections),
            "--threads",
            str(threads),
            "--out",
            str(out),
        ]
        env = {
            **os.environ,
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        start = time.perf_counter()
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
        print(f"  {framework}: {time.perf_counter() - start:.0f} s", file=sys.stderr)
        if done.returncode != 0 or not out.exists():
            tail = (done.stderr or done.stdout).strip().splitlines()[-15:]
            return [{"section": "error", "framework": framework, "error": "\n".join(tail)}]
        return json.loads(out.read_text())


def compact(records: list[Record]) -> list[Record]:
    """Round timings and ratios to 4 significant digits: small JSON, no signal lost."""
    for r in records:
        for key in ("seconds", "ratio", "ratio_q1", "ratio_q3"):
            if isinstance(r.get(key), float):
                r[key] = float(f"{r[key]:.4g}")
    return records


def json_text(meta: dict, records: list[Record]) -> str:
    """The run as JSON, one record per line (small, and diffs line by line)."""
    lines = ",\n".join(json.dumps(r, ensure_ascii=False) for r in records)
    return f'{{"meta": {json.dumps(meta, ensure_ascii=False)},\n"records": [\n{lines}\n]}}\n'


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, few repeats")
    parser.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    parser.add_argument("--sections", default=",".join(SECTIONS))
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="intra-op threads per framework (1: robust on a shared machine)",
    )
    parser.add_argument(
        "--clock",
        choices=("cpu", "wall"),
        default="cpu",
        help="cpu: process CPU time (robust on a shared machine); wall: elapsed time",
    )
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks/results/latest.json")
    parser.add_argument("--markdown", type=Path, default=ROOT / "benchmarks/results/latest.md")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs/images/performance.png")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)

    settings = dataclasses.replace(QUICK if args.quick else FULL, clock=args.clock)
    frameworks = [f for f in args.frameworks.split(",") if f]
    sections = tuple(s for s in args.sections.split(",") if s)
    start = time.perf_counter()
    meta = {
        "command": " ".join(["python -m benchmarks.run", *(argv or sys.argv[1:])]),
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": machine(),
        "settings": dataclasses.asdict(settings),
        "threads": args.threads,
    }
    records: list[Record] = []
    for framework in frameworks:
        records += run_worker(framework, settings, sections, args.threads)
    meta["seconds"] = round(time.perf_counter() - start, 1)
    compact(records)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json_text(meta, records))
    text = report.markdown(records, settings.sizes, frameworks)
    errors = [r for r in records if r["section"] == "error"]
    for error in errors:
        text += f"\n**{error['framework']} did not run:**\n\n```\n{error['error']}\n```\n"
    args.markdown.parent.mkdir(parents=True, exist_ok=True)
    args.markdown.write_text(text)
    if not args.no_plot:
        from benchmarks.plot import plot

        plot(records, args.plot)
    print(text)
    print(f"total {meta['seconds']} s; JSON {args.json}; tables {args.markdown}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
