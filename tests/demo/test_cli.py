"""The demo CLI end to end on a few steps per backend: records, table, JSON and figures."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from grl.demo import report
from grl.demo.cli import (
    BACKENDS,  # the demo's frameworks (grl may support more)
    build_parser,
    main,
)
from tests.backends import require
from tests.demo.deps import require_demo_dependencies

require_demo_dependencies()

FIGURES = (
    "moons.png",
    "mnist_m_samples.png",
    "mnist_m_tsne.png",
    "mnist_m_monitor.png",  # grl's monitor, source only vs DANN (grl.demo.monitoring)
    "mnist_m_training.png",
    "accuracy.png",
)
KEYS = {"experiment", "backend", "method", "seed", "source_accuracy", "target_accuracy", "seconds"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_cli_runs_moons_and_mnist_m(backend: str, tmp_path: Path, capsys) -> None:
    require(backend)
    out = tmp_path / "out" / "results.json"
    plots = tmp_path / "plots"
    argv = ["--backend", backend, "--steps", "4", "--seeds", "0,3", "--quiet", "--json", str(out)]
    assert main([*argv, "--plot-dir", str(plots)]) == 0
    records = json.loads(out.read_text())
    expected = {("moons", m, s) for m in ("source_only", "dann") for s in (0, 3)}
    expected |= {("mnist_m", m, s) for m in ("source_only", "dann", "target_only") for s in (0, 3)}
    assert {(r["experiment"], r["method"], r["seed"]) for r in records} == expected
    assert len(records) == len(expected)
    for r in records:
        assert set(r) == KEYS
        assert r["backend"] == backend
        assert 0.0 <= r["source_accuracy"] <= 1.0 and 0.0 <= r["target_accuracy"] <= 1.0
        assert r["seconds"] > 0
    for name in FIGURES:
        data = (plots / name).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) > 1000
    printed = capsys.readouterr().out
    assert printed.startswith(report.LEGEND)
    assert f"mnist_m     {backend}" in printed and f"figures: {plots}/" in printed
    verdict = [line for line in printed.splitlines() if line.startswith("MNIST → MNIST-M: DANN ")]
    assert len(verdict) == 1 and f"2 seeds × 1 backend ({backend}); better in " in verdict[0]


def test_default_run_uses_the_fastest_backend_and_writes_figures(
    monkeypatch, tmp_path: Path, capsys
) -> None:
    """Without options: moons and MNIST → MNIST-M, seed 0, the first installed backend of
    cli.BACKENDS, figures in ./grl-demo-figures."""
    from grl.demo import cli

    first = next(b for b in cli.BACKENDS if cli._usable(b) is None)
    monkeypatch.chdir(tmp_path)
    asked: list[str] = []
    monkeypatch.setattr(
        cli, "_usable", lambda b: asked.append(b) or (None if b == first else "not here")
    )
    assert main(["--steps", "2", "--quiet", "--json", "r.json"]) == 0
    # Frameworks after the first usable one are not even imported.
    assert asked == list(cli.BACKENDS[: cli.BACKENDS.index(first) + 1])
    records = json.loads((tmp_path / "r.json").read_text())
    assert {(r["experiment"], r["backend"], r["seed"]) for r in records} == {
        ("moons", first, 0),
        ("mnist_m", first, 0),
    }
    assert sorted(p.name for p in (tmp_path / "grl-demo-figures").iterdir()) == sorted(FIGURES)


def test_mnist_and_digits_both_directions(tmp_path: Path) -> None:
    require("jax")
    out = tmp_path / "r.json"
    argv = ["--backend", "jax", "--experiment", "mnist_digits,digits_mnist", "--steps", "2"]
    assert main([*argv, "--seeds", "1", "--quiet", "--no-plots", "--json", str(out)]) == 0
    records = json.loads(out.read_text())
    assert [(r["experiment"], r["method"]) for r in records] == [
        (e, m)
        for e in ("mnist_digits", "digits_mnist")
        for m in ("source_only", "dann", "target_only")
    ]
    assert not (tmp_path / "grl-demo-figures").exists()


def test_same_seed_same_numbers(tmp_path: Path) -> None:
    """Runs are deterministic: the same command gives the same accuracies."""
    require("torch")
    runs = []
    for k in range(2):
        path = tmp_path / f"{k}.json"
        main(
            [
                "--backend",
                "torch",
                "--experiment",
                "moons",
                "--steps",
                "20",
                "--seeds",
                "1",
                "--quiet",
                "--no-plots",
                "--json",
                str(path),
            ]
        )
        runs.append(
            [(r["source_accuracy"], r["target_accuracy"]) for r in json.loads(path.read_text())]
        )
    assert runs[0] == runs[1]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--backend", "mxnet"], "invalid choice"),
        (["--experiment", "mnist"], "expected 'all' or distinct names from moons, mnist_m"),
        (["--experiment", "moons,moons"], "got 'moons,moons'"),
        (["--mnist-dir", "/no/such/folder"], "'/no/such/folder' is not a folder"),
        (["--seeds", "a,b"], "comma-separated"),
        (["--seeds", "0,0"], "distinct"),
        (["--seeds", "-1"], "distinct and >= 0"),
        (["--steps", "0"], "positive integer"),
        (["--steps", "ten"], "positive integer"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_options_are_argparse_errors(argv: list[str], message: str, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(argv)
    assert exit_info.value.code == 2
    assert message in capsys.readouterr().err


def test_missing_framework_named_is_an_error(monkeypatch, capsys) -> None:
    from grl.demo import cli

    monkeypatch.setattr(cli, "_usable", lambda b: "tensorflow is not installed")
    with pytest.raises(SystemExit) as exit_info:
        main(["--backend", "tf", "--steps", "1"])
    assert exit_info.value.code == 2
    assert "backend 'tf' is unavailable" in capsys.readouterr().err


def test_missing_framework_in_all_is_skipped(monkeypatch, capsys, tmp_path: Path) -> None:
    require("torch")
    from grl.demo import cli

    real = cli._usable
    monkeypatch.setattr(cli, "_usable", lambda b: None if b == "torch" else f"no {b} here")
    out = tmp_path / "r.json"
    argv = ["--experiment", "moons", "--steps", "2", "--seeds", "0", "--no-plots"]
    assert main([*argv, "--backend", "all", "--json", str(out)]) == 0
    err = capsys.readouterr().err
    assert "skipping backend tf: no tf here" in err and "skipping backend jax" in err
    assert {r["backend"] for r in json.loads(out.read_text())} == {"torch"}
    assert real("torch") is None


def test_module_entry_point_help() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "grl.demo", "--help"],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    for option in (
        "--backend",
        "--experiment",
        "--seeds",
        "--steps",
        "--json",
        "--plot-dir",
        "--no-plots",
        "--mnist-dir",
        "--bsds-dir",
        "--quiet",
    ):
        assert option in result.stdout


def test_torch_only_run_does_not_import_other_frameworks() -> None:
    require("torch")
    code = (
        "import sys; from grl.demo.cli import main; "
        "main(['--backend', 'torch', '--experiment', 'moons', '--steps', '2', '--seeds', '0',"
        " '--quiet', '--no-plots']); "
        "print(sorted(m for m in ('tensorflow', 'jax') if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=300
    )
    assert result.stdout.strip().splitlines()[-1] == "[]"
