"""total_steps="auto" in grl.core: the schedule, its resolution and the layer contract."""

from __future__ import annotations

import numpy as np
import pytest

from grl.core import diagnostics as core
from grl.core import schedules
from grl.core.layer import LayerContract

AUTO_SCHEDULES = [
    (lambda n: schedules.dann(n)),
    (lambda n: schedules.dann(n, gamma=7.0, lo=0.2, hi=0.9, normalize=True)),
    (lambda n: schedules.linear(n, lo=0.25, hi=1.5)),
]


@pytest.mark.parametrize("build", AUTO_SCHEDULES, ids=["dann", "dann-settings", "linear"])
def test_resolving_gives_the_schedule_built_with_the_number(build):
    auto = build("auto")
    assert not auto.resolved and build(1234).resolved
    assert schedules.from_config(auto.get_config()) == auto  # "auto" round-trips
    assert auto.get_config()["total_steps"] == "auto"
    resolved = auto.resolve(1234)
    assert resolved == build(1234) and resolved.resolved
    steps = np.arange(0, 1500, 7, dtype=np.float64)
    np.testing.assert_array_equal(
        resolved.evaluate(steps, np).view(np.int64), build(1234).evaluate(steps, np).view(np.int64)
    )
    # The length as an integer array (Linen keeps it as state) gives the same bits.
    held = auto.evaluate(steps, np, np.asarray(1234, np.int32))
    np.testing.assert_array_equal(
        held.view(np.int64), build(1234).evaluate(steps, np).view(np.int64)
    )


def test_an_unresolved_schedule_knows_only_step_zero():
    auto = schedules.dann("auto", lo=0.1)
    assert auto(0) == schedules.dann(17, lo=0.1)(0) == 0.1  # p = 0 for any length
    with pytest.raises(RuntimeError, match=r'total_steps="auto" and was not resolved yet'):
        auto(1)
    with pytest.raises(RuntimeError, match=r"resolve_total_steps"):
        schedules.evaluate(auto, np.zeros(3), np)


def test_resolve_leaves_a_schedule_with_a_length_as_it_is():
    schedule = schedules.dann(100)
    assert schedule.resolve(5) is schedule
    assert schedules.constant(0.5).resolve(5) == schedules.constant(0.5)


@pytest.mark.parametrize(
    ("value", "error", "words"),
    [
        ("auto", TypeError, r"total_steps must be an int; got 'auto'"),
        (0, ValueError, "total_steps must be > 0; got 0"),
        (2.5, TypeError, "total_steps must be an int; got 2.5"),
    ],
)
def test_resolve_checks_the_length(value, error, words):
    with pytest.raises(error, match=words):
        schedules.dann("auto").resolve(value)


def test_other_strings_are_refused_naming_auto():
    with pytest.raises(
        TypeError, match=r'total_steps must be an int; got \'100\' of type str \(or "auto"'
    ):
        schedules.dann("100")


def test_monitors_see_no_length_until_resolved():
    assert core.total_steps_of(schedules.dann("auto")) is None
    assert core.total_steps_of(schedules.dann("auto").resolve(9)) == 9


class HostLayer(LayerContract):
    """The smallest layer bound to the contract, as a framework's layer is."""

    def __init__(self, lambda_: object) -> None:
        self.lambda_ = self._parse_lambda(lambda_)
        self.step = 0

    def _store_lambda(self, value: float) -> None:
        self.lambda_ = value

    def _advance(self, steps: int) -> None:
        self.step += steps
        if self._schedule is not None:
            self.lambda_ = self._schedule(self.step)

    def _current_step(self) -> int:
        return self.step


def test_the_contract_refuses_to_advance_an_unresolved_layer_before_any_work():
    layer = HostLayer(schedules.dann("auto"))
    assert layer.lambda_ == 0.0
    with pytest.raises(RuntimeError, match=r"GradientReversal advance\(\) needs the run length"):
        layer.advance(3)
    assert layer.step == 0
    with pytest.raises(ValueError, match="total_steps must be > 0"):
        layer.resolve_total_steps(0)
    assert layer.resolve_total_steps(40) is True
    assert layer.schedule == schedules.dann(40)
    layer.advance(7)
    assert layer.lambda_ == schedules.dann(40)(7)
    assert layer.resolve_total_steps(80) is False  # the first length stays
    assert HostLayer(0.5).resolve_total_steps(80) is False


def test_resolving_mid_run_recomputes_lambda_at_the_current_step():
    layer = HostLayer(schedules.dann("auto"))
    layer.step = 12  # e.g. a checkpoint's step, loaded before the length was known
    layer.resolve_total_steps(40)
    assert layer.lambda_ == schedules.dann(40)(12)
