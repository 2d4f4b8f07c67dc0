"""``python -m grl.demo``: domain-adversarial training on every installed framework."""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path

# Fastest first on the paper's MNIST network on CPU (docs/results.md): the default backend is
# the first installed one.
BACKENDS = ("tf", "torch", "jax")
DEFAULT_EXPERIMENTS = ("moons", "mnist_m")
DEFAULT_PLOT_DIR = "grl-demo-figures"
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


def _experiments(text: str) -> list[str]:
    from grl.demo.data import EXPERIMENTS

    names = list(EXPERIMENTS) if text == "all" else text.split(",")
    unknown = [n for n in names if n not in EXPERIMENTS]
    if unknown or len(set(names)) != len(names):
        raise argparse.ArgumentTypeError(
            f"expected 'all' or distinct names from {', '.join(EXPERIMENTS)}, comma-separated; "
            f"got {text!r}"
        )
    return names


def _folder(text: str) -> Path:
    path = Path(text)
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"{text!r} is not a folder")
    return path


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m grl.demo",
        description="Train domain-adversarial networks (DANN, with grl's gradient reversal "
        "layer) against source-only baselines on shifted-domain problems and print the "
        "target accuracies, a verdict per experiment and figures. The default (moons and "
        "MNIST → MNIST-M, seed 0, the fastest installed framework) takes a few minutes on 2 "
        "CPU cores; the paper's table in every framework: --backend all --experiment all "
        "--seeds 0,1,2.",
    )
    parser.add_argument(
        "--backend",
        choices=(*BACKENDS, "all"),
        default=None,
        help="framework to run: one, or all installed ones (default: the fastest installed, "
        f"in the order {', '.join(BACKENDS)})",
    )
    parser.add_argument(
        "--experiment",
        type=_experiments,
        default=list(DEFAULT_EXPERIMENTS),
        help="comma-separated: moons (JMLR 2016 §5.1), mnist_m (MNIST → MNIST-M), "
        "mnist_digits (MNIST → UCI digits), digits_mnist (UCI digits → MNIST), or all "
        f"(default: {','.join(DEFAULT_EXPERIMENTS)})",
    )
    parser.add_argument(
        "--seeds", type=_seeds, default=[0], help="comma-separated seeds (default: 0)"
    )
    parser.add_argument(
        "--steps",
        type=_positive,
        default=None,
        help="training steps per run (default: each experiment's own)",
    )
    parser.add_argument(
        "--mnist-dir",
        type=_folder,
        help="full scale: a folder with MNIST's four IDX files (train-images-idx3-ubyte[.gz], "
        "...) to use instead of the 5,000 packaged digits",
    )
    parser.add_argument(
        "--bsds-dir",
        type=_folder,
        help="full scale: a folder of photographs (e.g. BSDS500/images/train) to cut MNIST-M "
        "patches from instead of the packaged photographs",
    )
    parser.add_argument("--json", type=Path, metavar="PATH", help="write the records as JSON")
    parser.add_argument(
        "--plot-dir",
        type=Path,
        metavar="DIR",
        default=Path(DEFAULT_PLOT_DIR),
        help=f"write PNG figures here (default: ./{DEFAULT_PLOT_DIR})",
    )
    parser.add_argument("--no-plots", action="store_true", help="write no figures")
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


def _run_experiment(args, experiment, backends, note, records) -> None:  # type: ignore[no-untyped-def]
    """Train every backend × seed × method of ``experiment``, then draw its figures."""
    from tqdm.auto import tqdm

    from grl.demo import plots
    from grl.demo.data import make_data
    from grl.demo.experiments import config_for, make_plan, methods_for
    from grl.demo.monitoring import interval
    from grl.demo.train import run

    config = config_for(experiment, args.steps)
    datasets = {s: make_data(experiment, s, args.mnist_dir, args.bsds_dir) for s in args.seeds}
    first: dict[str, object] = {}  # the trainers of the first backend and seed, for figures
    for backend in backends:
        for seed in args.seeds:
            for method in methods_for(experiment):
                with tqdm(
                    total=config.steps,
                    desc=f"{experiment} {backend} {method} seed {seed}",
                    disable=args.quiet,
                    file=sys.stderr,
                    unit="step",
                ) as bar:
                    # The run whose figures are drawn also records grl's monitor (source
                    # only and DANN of the image experiments; grl.demo.monitoring).
                    drawn = backend == backends[0] and seed == args.seeds[0]
                    monitored = (
                        drawn
                        and not args.no_plots
                        and experiment != "moons"
                        and method in ("source_only", "dann")
                    )
                    every = interval(config.steps) if monitored else None
                    record, trainer = run(
                        backend, config, datasets[seed], method, seed, bar, monitor_every=every
                    )
                records.append(record)
                if drawn:
                    first[method] = trainer
    if args.no_plots:
        return
    data = datasets[args.seeds[0]]
    title = f"{backends[0]}, seed {args.seeds[0]}"
    plan = make_plan(config, "dann", 1, 1, args.seeds[0])
    for path in plots.for_experiment(experiment, data, first, plan, title, args.plot_dir):
        note(f"wrote {path}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    _limit_threads()
    note = (lambda msg: None) if args.quiet else (lambda msg: print(msg, file=sys.stderr))

    wanted = BACKENDS if args.backend in (None, "all") else (args.backend,)
    backends = []
    for backend in wanted:
        why = _usable(backend)
        if why is None:
            backends.append(backend)
            if args.backend is None:  # the fastest installed one; import no other framework
                break
        elif args.backend is None or args.backend == "all":
            note(f"skipping backend {backend}: {why}")
        else:
            parser.error(f"backend {backend!r} is unavailable: {why}")
    if not backends:
        parser.error("no backend is available: install torch, tensorflow or jax")

    from grl.demo import report

    if not args.no_plots:
        args.plot_dir.mkdir(parents=True, exist_ok=True)
    records: list = []
    for experiment in args.experiment:
        _run_experiment(args, experiment, backends, note, records)

    if not args.no_plots and len(args.experiment) > 1:
        from grl.demo import plots

        note(f"wrote {plots.accuracy_bars(records, args.plot_dir / 'accuracy.png')}")
    print(report.LEGEND)
    print(report.format_table(records))
    print()
    print("\n".join(report.verdicts(records)))
    if not args.no_plots:
        print(f"figures: {args.plot_dir}/")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([r.to_dict() for r in records], indent=1) + "\n")
        note(f"wrote {args.json}")
    return 0
