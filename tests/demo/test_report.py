"""What the demo prints besides the table: the legend and one verdict line per experiment."""

from __future__ import annotations

from grl.demo import report
from grl.demo.train import Record


def record(experiment: str, backend: str, method: str, seed: int, target: float) -> Record:
    return Record(experiment, backend, method, seed, 0.9, target, 1.0)


def test_verdict_pairs_dann_with_source_only_per_backend_and_seed() -> None:
    records = [
        record("mnist_m", "tf", "source_only", 0, 0.40),
        record("mnist_m", "tf", "dann", 0, 0.70),
        record("mnist_m", "tf", "target_only", 0, 0.95),
        record("mnist_m", "jax", "source_only", 0, 0.50),
        record("mnist_m", "jax", "dann", 0, 0.45),
        record("mnist_m", "jax", "target_only", 0, 0.93),
        record("moons", "tf", "source_only", 3, 0.75),
        record("moons", "tf", "dann", 3, 0.97),
    ]
    assert report.verdicts(records) == [
        "MNIST → MNIST-M: DANN +0.125 over source only (target accuracy 0.450 → 0.575; "
        "train on target 0.940), 1 seed × 2 backends; better in 1 of 2 runs",
        "moons → rotated moons: DANN +0.220 over source only (target accuracy 0.750 → 0.970), "
        "1 seed × 1 backend (tf); better in 1 of 1 runs",
    ]


def test_no_verdict_without_a_pair() -> None:
    assert report.verdicts([record("mnist_digits", "torch", "dann", 0, 0.8)]) == []


def test_legend_names_every_method_and_the_table_uses_them() -> None:
    for method in ("source_only", "dann", "target_only"):
        assert f"\n{method} " in "\n" + report.LEGEND
    table = report.format_table([record("moons", "tf", "dann", s, 0.9 + s / 100) for s in (0, 2)])
    assert table.splitlines()[2].split() == [
        "moons",
        "tf",
        "dann",
        "2",
        "0.900",
        "±",
        "0.000",
        "0.910",
        "±",
        "0.010",
        "2.0",
    ]
