"""grl.core.schedules: formulas, clamping, normalisation, validation, config round trip."""

import math

import numpy as np
import pytest

from grl.core import schedules


def test_dann_matches_the_papers_formula():
    schedule = schedules.dann(1000)
    for step in range(0, 1001, 37):
        p = step / 1000
        assert schedule(step) == pytest.approx(2 / (1 + math.exp(-10 * p)) - 1, abs=1e-15)
    assert schedule(1000) == math.tanh(5.0) == 0.9999092042625951


def test_dann_is_stable_for_huge_gamma():
    schedule = schedules.dann(10, gamma=1e6)
    assert schedule(5) == 1.0 and schedule(0) == 0.0


def test_dann_bounds_and_normalisation():
    schedule = schedules.dann(100, gamma=10.0, lo=0.5, hi=2.0)
    assert schedule(0) == 0.5
    assert schedule(100) == 0.5 + 1.5 * math.tanh(5.0)
    normalised = schedules.dann(100, lo=0.5, hi=2.0, normalize=True)
    assert normalised(100) == 2.0
    assert normalised(50) == 0.5 + 1.5 * (math.tanh(2.5) / math.tanh(5.0))


@pytest.mark.parametrize("factory", [lambda: schedules.dann(10), lambda: schedules.linear(10)])
def test_progress_is_clamped(factory):
    schedule = factory()
    assert schedule(-5) == schedule(0)
    assert schedule(10) == schedule(11) == schedule(10**9)


def test_linear_and_constant():
    assert schedules.linear(4, 1.0, 3.0)(1) == 1.5
    assert schedules.constant(0.3)(123) == 0.3


def test_steps_may_be_numpy_scalars():
    assert schedules.dann(10)(np.int64(5)) == schedules.dann(10)(5)


@pytest.mark.parametrize(
    "schedule",
    [
        schedules.constant(2.0),
        schedules.linear(7, 0.1, 0.9),
        schedules.dann(50, gamma=3.0, lo=0.2, hi=1.5, normalize=True),
    ],
    ids=repr,
)
def test_config_round_trip(schedule):
    config = schedule.get_config()
    rebuilt = schedules.from_config(config)
    assert rebuilt == schedule and rebuilt.get_config() == config
    assert all(rebuilt(s) == schedule(s) for s in range(0, 60, 7))


@pytest.mark.parametrize(
    ("call", "error", "fragment"),
    [
        (lambda: schedules.dann(0), ValueError, "total_steps must be > 0; got 0"),
        (lambda: schedules.dann(-3), ValueError, "total_steps must be > 0; got -3"),
        (lambda: schedules.dann(2.5), TypeError, "total_steps must be an int; got 2.5"),
        (lambda: schedules.dann(True), TypeError, "total_steps must be an int; got True"),
        (lambda: schedules.dann(10, gamma=math.nan), ValueError, "gamma must be finite; got nan"),
        (lambda: schedules.dann(10, gamma=0.0), ValueError, "gamma must be > 0; got 0.0"),
        (lambda: schedules.dann(10, lo=2.0, hi=1.0), ValueError, "lo must be <= hi"),
        (lambda: schedules.dann(10, lo=-1.0), ValueError, "lo must be >= 0"),
        (lambda: schedules.dann(10, hi=math.inf), ValueError, "hi must be finite; got inf"),
        (lambda: schedules.dann(10, normalize="yes"), TypeError, "normalize must be a bool"),
        (lambda: schedules.linear(10, lo="a"), TypeError, "lo must be a real number; got 'a'"),
        (lambda: schedules.constant(-0.1), ValueError, "value must be >= 0"),
        (lambda: schedules.dann(10)(math.nan), ValueError, "step must be finite; got nan"),
        (lambda: schedules.dann(10)("3"), TypeError, "step must be a real number; got '3'"),
    ],
)
def test_bad_settings_raise_clear_errors(call, error, fragment):
    with pytest.raises(error) as info:
        call()
    assert fragment in str(info.value)


@pytest.mark.parametrize(
    ("config", "error", "fragment"),
    [
        ({"name": "cosine", "total_steps": 3}, ValueError, "unknown schedule name 'cosine'"),
        ({"total_steps": 3}, ValueError, "unknown schedule name None"),
        ({"name": "dann"}, ValueError, "invalid 'dann' schedule config"),
        ({"name": "dann", "total_steps": 3, "beta": 1}, ValueError, "invalid 'dann' schedule"),
        ({"name": "dann", "total_steps": -1}, ValueError, "total_steps must be > 0"),
        ("dann", TypeError, "a schedule config must be a dict"),
    ],
)
def test_bad_configs_raise_clear_errors(config, error, fragment):
    with pytest.raises(error) as info:
        schedules.from_config(config)
    assert fragment in str(info.value)


def test_schedules_are_immutable_and_recognised():
    schedule = schedules.dann(10)
    assert schedules.is_schedule(schedule) and not schedules.is_schedule(lambda s: 1.0)
    with pytest.raises(AttributeError):
        schedule.gamma = 3.0  # type: ignore[misc]
