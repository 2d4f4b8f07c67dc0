"""The framework-free parts of the harness: interleaved timing, ratios and goal checks."""

from __future__ import annotations

import pytest

from benchmarks import records, report, timing
from benchmarks.peers import names
from benchmarks.settings import FULL, QUICK, Settings


def test_interleaved_medians_times_every_case_in_rotating_order() -> None:
    order: list[str] = []
    cases = {name: (lambda name=name: order.append(name)) for name in "abc"}
    medians = timing.interleaved_medians(cases, repeats=3, min_sample_s=0.0)
    assert set(medians) == {"a", "b", "c"}
    assert all(seconds >= 0 for seconds in medians.values())
    # Two calibration calls per case first, then one sample per case per repeat, rotated.
    assert order[6:] == list("abc" + "bca" + "cab")


def test_interleaved_medians_refuses_zero_repeats() -> None:
    with pytest.raises(ValueError, match="repeats must be >= 1; got 0"):
        timing.interleaved_medians({"a": lambda: None}, repeats=0, min_sample_s=0.0)


def test_use_clock_refuses_unknown_clocks() -> None:
    with pytest.raises(ValueError, match="clock must be one of \\['cpu', 'wall'\\]; got 'gpu'"):
        timing.use_clock("gpu")


def test_settings_round_trip_through_json_dict() -> None:
    for settings in (FULL, QUICK):
        assert Settings.from_dict(settings.to_dict()) == settings
    assert max(FULL.sizes) == 30_000_000 and min(FULL.sizes) == 1_000
    assert FULL.schedule_steps == 1_000


def _micro(method: str, kind: str, seconds: float) -> records.Record:
    return {
        "section": "micro",
        "framework": "torch",
        "mode": "eager",
        "dtype": "float32",
        "size": 100,
        "method": method,
        "kind": kind,
        "seconds": seconds,
    }


SYNTHETIC = [
    _micro(records.FLOOR, records.BACKWARD, 1.0),
    _micro(records.GRL, records.BACKWARD, 1.05),
    _micro(records.GRL, records.BOTH, 1.1),
    _micro(names.REVGRAD, records.BACKWARD, 1.5),
    _micro(names.COPY_NEG_MUL, records.BOTH, 3.5),
    {"section": "compiles", "framework": "torch", "method": "grl", "steps": 9, "compiles": 1},
    {"section": "compiles", "framework": "jax", "method": "grl", "steps": 9, "compiles": 2},
    {
        "section": "memory",
        "framework": "torch",
        "what": "forward, 100 float32",
        "method": "identity",
        "bytes": 0,
    },
    {
        "section": "memory",
        "framework": "torch",
        "what": "forward, 100 float32",
        "method": "grl",
        "bytes": 4,
        "zero_copy": True,
    },
]


def test_goals_are_computed_from_the_records() -> None:
    met = {goal: (measured, ok) for goal, measured, ok in report.goals(SYNTHETIC, (100,))}
    assert met["PyTorch: eager float32 backward ≤ 1.1× floor at 100"] == ("1.05×", True)
    revgrad = "PyTorch: backward ≥ 1.8× faster than pytorch-revgrad (eager float32)"
    assert met[revgrad] == ("1.43×", False)
    copy = f"PyTorch: forward+backward ≥ 3.0× faster than {names.COPY_NEG_MUL} (eager float32)"
    assert met[copy] == ("3.18×", True)
    assert met["PyTorch: one compile/trace over 9 schedule steps"] == ("1", True)
    assert met["JAX: one compile/trace over 9 schedule steps"] == ("2", False)
    forward = "PyTorch: forward, 100 float32: allocates no more than identity (0 B)"
    assert met[forward] == ("4 B, zero-copy: True", False)


def test_micro_table_gives_ratios_to_the_floor() -> None:
    table = report.micro_table(SYNTHETIC, "torch", "eager", "float32", 100)
    assert "| **grl** | – | – | 1.05 s | 1.05× | 1.1 s | 1.10× |" in table


@pytest.mark.parametrize(
    ("seconds", "text"), [(2.5, "2.5 s"), (0.0031, "3.1 ms"), (4.2e-6, "4.2 µs"), (None, "–")]
)
def test_duration_picks_a_readable_unit(seconds: float | None, text: str) -> None:
    assert report.duration(seconds) == text


def test_paired_ratio_compares_samples_of_the_same_round() -> None:
    # Round 2 is slow for both cases: per-round ratios cancel it, a ratio of medians might not.
    assert timing.paired_ratio([2.0, 40.0, 6.0], [1.0, 20.0, 3.0]) == (2.0, 2.0, 2.0)
    q1, median, q3 = timing.paired_ratio([1.0, 2.0, 3.0, 4.0, 5.0], [1.0] * 5)
    assert (q1, median, q3) == (2.0, 3.0, 4.0)


def test_macro_records_and_table_report_the_paired_ratio() -> None:
    samples = {records.IDENTITY: [1.0, 2.0, 1.0], records.GRL: [1.01, 2.02, 1.01]}
    made = records.macro("jax", "mlp", "compiled", samples)
    grl = records.one(made, method=records.GRL)
    assert grl is not None and grl["seconds"] == 1.01
    assert round(grl["ratio"], 6) == 1.01
    assert "| JAX | mlp | jax.jit | 1 s | 1.01 s | 1.010× (1.01–1.01) |" in report.macro_table(made)
    goal = dict((g, ok) for g, _, ok in report.goals(made, (1,)))
    assert goal["JAX: compiled DANN step (mlp, grl) ≤ 1.02× identity"] is True


def test_imports_table_and_goal_compare_grl_with_its_framework() -> None:
    made = [
        {
            "section": "imports",
            "framework": "torch",
            "method": "import torch",
            "seconds": 2.0,
            "samples": 3,
        },
        {
            "section": "imports",
            "framework": "torch",
            "method": "import grl.torch",
            "seconds": 2.5,
            "samples": 3,
            "ratio": 1.25,
            "ratio_q1": 1.2,
            "ratio_q3": 1.3,
        },
    ]
    assert "| PyTorch | 2 s | 2.5 s | 1.250× (1.20–1.30) | 3 + 3 |" in report.imports_table(made)
    goal = {g: (measured, ok) for g, measured, ok in report.goals(made, (1,))}
    key = "PyTorch: import grl.torch ≤ 1.10× import torch (fresh processes)"
    assert goal[key] == ("1.250× (1.20–1.30)", False)


def test_median_interval_takes_the_binomial_ranks() -> None:
    from benchmarks.diagnostics_cost import median_interval

    # The textbook 95 % ranks: 4 and 12 of 15 values, 41 and 61 of 101.
    assert median_interval([float(v) for v in range(1, 16)]) == (4.0, 12.0)
    assert median_interval([float(v) for v in range(101, 0, -1)]) == (41.0, 61.0)
    with pytest.raises(ValueError, match="5 values are too few for a 95% interval"):
        median_interval([1.0, 2.0, 3.0, 4.0, 5.0])


def test_diagnostics_cost_across_processes_takes_the_median_of_medians() -> None:
    from benchmarks.diagnostics_cost import across_processes

    runs = [{"cost_percent": c} for c in (0.9, 1.4, 0.2, 0.7, 1.1, 0.5)]
    # 6 values: the 1st and 6th order statistics hold the median with 1 − 2/64 = 96.9 %.
    assert across_processes(runs) == {
        "processes": 6, "cost_percent": 0.8, "cost_low_percent": 0.2, "cost_high_percent": 1.4
    }  # fmt: skip
    assert across_processes(runs[:3]) == {"processes": 3, "cost_percent": 0.9}


def test_diagnostics_cost_sample_alternates_single_calls() -> None:
    from benchmarks.diagnostics_cost import sample

    order: list[str] = []
    cases = {name: (lambda name=name: order.append(name)) for name in ("off", "on")}
    samples = sample(cases, repeats=3)
    assert [len(samples["off"]), len(samples["on"])] == [3, 3]
    warmup, rounds = ["off", "on"], ["off", "on", "on", "off", "off", "on"]
    assert order == [*warmup, *rounds]
