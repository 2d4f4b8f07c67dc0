"""grl.core.diagnostics: the rules, warn-once bookkeeping and run-length resolution."""

from __future__ import annotations

import math
import subprocess
import sys
import warnings

import pytest

from grl.core import diagnostics as core
from grl.core import schedules

SHORT = core.Thresholds(stretch=3, advance_within=3)


def test_core_diagnostics_imports_no_framework():
    code = (
        "import sys, grl.core.diagnostics; "
        "print(sorted({'torch', 'tensorflow', 'jax', 'keras'} & set(sys.modules)))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("stretch", 0),
        ("advance_within", 1.5),
        ("advance_within", True),
        ("tolerance", 0.0),
        ("early_end", math.inf),
    ],
)
def test_thresholds_reject_bad_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=f"Thresholds.{field}"):
        core.Thresholds(**{field: value})


def test_rules_return_none_when_healthy():
    assert core.never_advanced_problem(1, 500, True, 100) is None
    assert core.never_advanced_problem(0, 500, False, 100) is None
    assert core.never_advanced_problem(0, 99, True, 100) is None
    assert core.no_gradient_problem(0, 0) is None
    assert core.no_gradient_problem(2, 1) is None
    assert core.lambda_zero_epoch_problem([0.0, 0.1]) is None
    assert core.lambda_zero_epoch_problem([]) is None
    assert core.past_total_steps_problem(10, 10) is None
    assert core.past_total_steps_problem(10, None) is None
    assert core.ended_early_problem(5, 10, 0.5) is None
    assert core.reversal_cancelled_problem(-1.0) is None
    assert core.reversal_cancelled_problem(math.nan) is None
    assert core.domain_collapsed_problem([0.0, 0.0], SHORT) is None  # too short a stretch
    assert core.domain_stuck_problem([core.LN2, core.LN2, 0.5], SHORT) is None


@pytest.mark.parametrize(
    ("message", "fix"),
    [
        (core.never_advanced_problem(0, 100, True, 100), "step_all"),
        (core.no_gradient_problem(1, 0), "grl(features)"),
        (core.lambda_zero_epoch_problem([0.0] * 4), "advance"),
        (core.past_total_steps_problem(11, 10), 'total_steps="auto"'),
        (core.ended_early_problem(4, 10, 0.5), "40%"),
        (core.reversal_cancelled_problem(0.9), "once between"),
        (core.domain_collapsed_problem([0.01] * 3, SHORT), "Raise λ"),
        (core.domain_stuck_problem([core.LN2 + 0.001] * 3, SHORT), "+ sign"),
    ],
)
def test_each_rule_names_its_fix(message, fix):
    assert message is not None and fix in message


def test_diagnostics_warn_once_per_kind():
    diagnostics = core.Diagnostics(scheduled=True, total_steps=2, thresholds=SHORT)
    with pytest.warns(core.GRLWarning, match=r"\[grl: past_total_steps\]"):
        assert diagnostics.record({"step": 3, "lambda": 1.0}) == ["past_total_steps"]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert diagnostics.record({"step": 4, "lambda": 1.0}) == []


def test_domain_losses_keep_only_the_stretch():
    diagnostics = core.Diagnostics(scheduled=False, total_steps=None, thresholds=SHORT)
    for loss in (0.3, 0.2, 0.1, 0.0):
        diagnostics.record({"step": 0, "domain_loss": loss})
    assert diagnostics.domain_losses == [0.2, 0.1, 0.0]


def test_advance_watch_warns_once_after_within_passes():
    watch = core.AdvanceWatch(within=3)
    assert watch.count() and watch.count()
    with pytest.warns(core.GRLWarning, match="still at step 0 after 3 training passes"):
        assert watch.count() is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert watch.count() is False


def test_gradient_values():
    values = core.gradient_values(4.0, 1.0, -2.0, 16.0)
    assert {k: float(v) for k, v in values.items()} == {
        "grad_in_norm": 2.0,
        "grad_out_norm": 1.0,
        "grad_ratio": 0.5,
        "grad_cosine": -1.0,
        "domain_to_task": 0.25,
    }
    for in_sq, out_sq, task_sq in [(0.0, 1.0, 1.0), (1.0, 0.0, 1.0), (math.nan, 1.0, 1.0)]:
        values = core.gradient_values(in_sq, out_sq, 0.0, task_sq)
        assert math.isnan(values["grad_ratio"]) and math.isnan(values["grad_cosine"])
    assert math.isnan(core.gradient_values(1.0, 1.0, -1.0, 0.0)["domain_to_task"])
    assert math.isnan(core.gradient_values(1.0, 1.0, -1.0, math.nan)["domain_to_task"])


def test_step_values_are_host_floats_in_the_metrics_order():
    values = core.step_values(3, 0.5, [4.0, 1.0, -2.0, math.nan], 0.69, 0.5)
    assert list(values) == list(core.METRICS)
    assert all(type(v) is float for v in values.values())
    assert math.isnan(values["domain_to_task"]) and values["grad_ratio"] == 0.5


def test_nan_means_not_measured():
    diagnostics = core.Diagnostics(scheduled=False, total_steps=None)
    values = core.step_values(1, 0.5, [1.0, 1.0, math.nan, math.nan])  # no cosine, no loss
    assert diagnostics.record(values) == []
    assert diagnostics.domain_losses == []


def probe(**changes):
    values = dict(
        lambda_=0.5,
        domain_arriving=2.0,
        domain_at_input=1.0,
        domain_input_dot=-2.0,
        domain_rest=0.0,
        label_arriving=0.0,
    )
    return core.GradientProbe(**{**values, **changes})


def test_placement_report_verdicts():
    assert core.placement_report([probe()], 1e-3).ok
    assert core.placement_report([probe()], 1e-3).feature_factor == -0.5
    kinds = lambda *p: [k for k, _ in core.placement_report(list(p), 1e-3).problems]  # noqa: E731
    assert kinds() == ["no_grl"]
    assert kinds(probe(domain_arriving=0.0)) == ["domain_not_through_grl"]
    assert kinds(probe(label_arriving=1e-9)) == ["label_through_grl"]
    assert kinds(probe(domain_rest=0.01)) == ["domain_bypasses_grl"]
    assert kinds(probe(), probe(fed_by_grl=True)) == ["reversal_cancelled"]
    assert kinds(probe(honest_weight=-1.0)) == ["reversal_cancelled"]
    assert kinds(probe(lambda_=2.0, domain_input_dot=-8.0, honest_weight=2.0)) == [
        "lambda_applied_twice"
    ]


def test_report_text_is_readable():
    text = str(core.placement_report([probe(label_arriving=1.0)], 1e-3))
    assert "1 problem(s)" in text and "label loss passes through the GRL: yes" in text
    assert "label_head(features), domain_head(grl(features))" in text


def test_resolve_total_steps():
    assert core.resolve_total_steps(1200, "x") == 1200
    assert core.resolve_total_steps(1200.0, "x") == 1200
    for unknown in (None, math.inf, 0, True, "10"):
        with pytest.raises(
            ValueError,
            match=r'total_steps="auto" needs the run length, but '
            r"trainer.estimated_stepping_batches is",
        ):
            core.resolve_total_steps(unknown, "trainer.estimated_stepping_batches")


def test_with_total_steps_fills_an_auto_config():
    config = {**schedules.dann(total_steps=1).get_config(), "total_steps": "auto"}
    assert core.with_total_steps(config, 500) == schedules.dann(total_steps=500)
    assert core.with_total_steps(schedules.constant(0.3).get_config(), 9) == schedules.constant(0.3)


@pytest.mark.parametrize(("near", "kind"), [(0.01, "domain_collapsed"), (core.LN2, "domain_stuck")])
def test_a_domain_loss_condition_must_hold_for_a_whole_unbroken_stretch(near, kind):
    diagnostics = core.Diagnostics(scheduled=False, total_steps=None, thresholds=SHORT)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for loss in [near] * (SHORT.stretch - 1) + [0.3] + [near] * (SHORT.stretch - 1):
            assert diagnostics.record({"step": 0, "domain_loss": loss}) == []
    with pytest.warns(core.GRLWarning, match=kind):
        assert diagnostics.record({"step": 0, "domain_loss": near}) == [kind]


@pytest.mark.parametrize(
    "sums",
    [
        (4.0, 1.0, -2.0, 16.0),
        (0.0, 1.0, 0.0, 1.0),
        (1.0, 0.0, 0.0, 0.0),
        (math.nan, math.nan, math.nan, math.nan),
        (2.0, 3.0, 1.5, math.nan),
        (math.inf, 1.0, -1.0, math.inf),
        (1e-300, 1e-300, -1e-300, 1e-300),
    ],
)
def test_step_values_on_floats_equal_numpys(sums):
    # step_values computes on Python floats; gradient_values' default namespace is NumPy.
    fast = core.step_values(1, 0.5, sums)
    reference = {k: float(v) for k, v in core.gradient_values(*sums).items()}
    for name, value in reference.items():
        assert fast[name] == value or (math.isnan(fast[name]) and math.isnan(value)), name
