"""``python -m grl.demo``: domain-adversarial training on every installed framework."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

BACKENDS = ("torch", "tf", "jax")
EXPERIMENTS = ("moons", "digits")
_FRAMEWORK = {"torch": "torch", "tf": "tensorflow", "jax": "jax"}


def _seeds(text: str) -> list[int]:
    try:
        seeds = [int(s) for s in text.split(",")]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected a comma-separated list of integers such as 0,1,2; got {text!r}"
        ) from None
    if any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(f"seeds must be distinct and >= 0; got {text!r}")
    return seeds


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer; got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grl.demo",
        description="Train domain-adversarial networks (DANN, with grl's gradient reversal "
        "layer) against source-only baselines on two shifted-domain problems, in every "
        "installed framework, and print the accuracies.",
    )
    parser.add_argument(
        "--backend",
        choices=(*BACKENDS, "all"),
        default="all",
        help="framework to run (default: all installed ones)",
    )
    parser.add_argument(
        "--experiment",
        choices=(*EXPERIMENTS, "all"),
        default="all",
        help="moons (JMLR 2016 §5.1) or digits → digits-M (default: both)",
    )
    parser.add_argument(
        "--seeds", type=_seeds, default=[0, 1, 2], help="comma-separated seeds (default: 0,1,2)"
    )
    parser.add_argument(
        "--steps",
        type=_positive,
        default=None,
        help="training steps per run (default: each experiment's own)",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the records as JSON")
    parser.add_argument("--plot-dir", type=Path, metavar="DIR", help="write PNG figures here")
    parser.add_argument("--quiet", action="store_true", help="no progress bars or notes")
    return parser


def _limit_threads() -> None:
    """One thread per framework: these models are tiny, and on a small shared machine extra
    threads only contend (measured: 2 torch threads ran a moons step 30× slower than 1).
    Environment variables the user set win."""
    for name in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
        os.environ.setdefault(name, "1")
    os.environ.setdefault(
        "XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    )
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def _usable(backend: str) -> str | None:
    """None if ``backend`` imports, else why not."""
    if importlib.util.find_spec(_FRAMEWORK[backend]) is None:
        return f"{_FRAMEWORK[backend]} is not installed (pip install 'grl[{backend}]')"
    try:
        importlib.import_module(f"grl.demo.models_{backend}")
    except ImportError as error:
        return f"{_FRAMEWORK[backend]} cannot be imported: {error}"
    return None


def format_table(records: Sequence) -> str:
    """One row per experiment, backend and method: mean ± std over seeds, total seconds."""
    groups: dict[tuple[str, str, str], list] = {}
    for r in records:
        groups.setdefault((r.experiment, r.backend, r.method), []).append(r)
    header = ("experiment", "backend", "method", "seeds", "source acc", "target acc", "seconds")
    rows = [header]
    for (experiment, backend, method), rs in groups.items():

        def stat(values: list[float]) -> str:
            return f"{np.mean(values):.3f}" + (
                f" ± {np.std(values):.3f}" if len(values) > 1 else ""
            )

        rows.append(
            (
                experiment,
                backend,
                method,
                str(len(rs)),
                stat([r.source_accuracy for r in rs]),
                stat([r.target_accuracy for r in rs]),
                f"{sum(r.seconds for r in rs):.1f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _limit_threads()
    note = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))

    backends = []
    for backend in BACKENDS if args.backend == "all" else (args.backend,):
        why = _usable(backend)
        if why is None:
            backends.append(backend)
        elif args.backend == "all":
            note(f"skipping backend {backend}: {why}")
        else:
            parser.error(f"backend {backend!r} is unavailable: {why}")
    if not backends:
        parser.error("no backend is available: install torch, tensorflow or jax")

    from tqdm.auto import tqdm

    from grl.demo import plots
    from grl.demo.data import make_data
    from grl.demo.spec import config_for, methods_for
    from grl.demo.train import run

    if args.plot_dir is not None:
        args.plot_dir.mkdir(parents=True, exist_ok=True)
    records = []
    for experiment in EXPERIMENTS if args.experiment == "all" else (args.experiment,):
        config = config_for(experiment, args.steps)
        datasets = {seed: make_data(experiment, seed) for seed in args.seeds}
        for backend in backends:
            boundaries = {}
            for seed in args.seeds:
                for method in methods_for(experiment):
                    desc = f"{experiment} {backend} {method} seed {seed}"
                    with tqdm(
                        total=config.steps,
                        desc=desc,
                        disable=args.quiet,
                        leave=True,
                        file=sys.stderr,
                        unit="step",
                    ) as bar:
                        record, trainer = run(backend, config, datasets[seed], method, seed, bar)
                    records.append(record)
                    if seed == args.seeds[0]:
                        boundaries[method] = trainer.predict
            if args.plot_dir is not None and experiment == "moons":
                path = args.plot_dir / f"moons_{backend}.png"
                plots.moons_boundaries(
                    datasets[args.seeds[0]],
                    boundaries,
                    f"moons, {backend}, seed {args.seeds[0]}",
                    path,
                )
                note(f"wrote {path}")
        if args.plot_dir is not None and experiment == "digits":
            for path in (
                plots.digits_samples(datasets[args.seeds[0]], args.plot_dir / "digits_samples.png"),
                plots.accuracy_bars(records, "digits", args.plot_dir / "digits_accuracy.png"),
            ):
                note(f"wrote {path}")

    print(format_table(records))
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([r.to_dict() for r in records], indent=1) + "\n")
        note(f"wrote {args.json}")
    return 0
