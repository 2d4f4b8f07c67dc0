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
    assert schedule(1000) == pytest.approx(math.tanh(5.0), rel=1e-15)
    assert round(schedule(1000), 7) == 0.9999092  # λ_1 = tanh(5), not exactly 1


def test_dann_is_stable_for_huge_gamma():
    schedule = schedules.dann(10, gamma=1e6)
    assert schedule(5) == 1.0 and schedule(0) == 0.0


def test_dann_bounds_and_normalisation():
    schedule = schedules.dann(100, gamma=10.0, lo=0.5, hi=2.0)
    assert schedule(0) == 0.5
    assert schedule(100) == pytest.approx(0.5 + 1.5 * math.tanh(5.0), rel=1e-15)
    normalised = schedules.dann(100, lo=0.5, hi=2.0, normalize=True)
    assert normalised(100) == 2.0
    assert normalised(50) == pytest.approx(0.5 + 1.5 * math.tanh(2.5) / math.tanh(5.0), rel=1e-15)


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


def test_tanh_is_within_eight_ulp_of_the_c_library():
    x = np.linspace(0.0, 25.0, 100_001)
    expected = np.array([math.tanh(value) for value in x])
    assert np.all(np.abs(schedules.tanh(x) - expected) <= 8 * np.spacing(expected))
    assert schedules.tanh(np.float64(0.0)) == 0.0 and schedules.tanh(np.float64(20.0)) == 1.0
    assert np.any(schedules.tanh(x) != expected)  # computed here, not the C library's


@pytest.mark.parametrize("lo", [0.0, 0.1, 0.2, 0.3, 1.0 / 3.0, 0.7])
@pytest.mark.parametrize("hi", [0.9, 1.0, 1.1, 2.0 / 3.0 + 0.5, 7.3])
@pytest.mark.parametrize("gamma", [0.5, 3.0, 10.0, 50.0, 1e6])
def test_end_points_are_exact(lo, hi, gamma):
    normalised = schedules.dann(97, gamma=gamma, lo=lo, hi=hi, normalize=True)
    assert normalised(0) == lo and normalised(97) == hi and normalised(10**9) == hi
    assert schedules.dann(97, gamma=gamma, lo=lo, hi=hi)(0) == lo
    line = schedules.linear(97, lo, hi)
    assert line(0) == lo and line(97) == hi


def test_normalised_dann_with_lo_reaches_hi_exactly():
    # Written lo + (hi − lo)·s, this ended at 0.8999999999999999.
    assert schedules.dann(100, lo=0.2, hi=0.9, normalize=True)(100) == 0.9


@pytest.mark.parametrize(
    "schedule",
    [
        schedules.dann(3000, gamma=50.0, lo=0.2, hi=0.9, normalize=True),
        schedules.dann(3000),
        schedules.linear(3000, 0.25, 1.5),
        schedules.constant(0.3),
    ],
    ids=repr,
)
def test_host_values_equal_the_vectorised_formula(schedule):
    steps = np.arange(3_500, dtype=np.float64)
    scalar = np.array([schedule(int(step)) for step in steps])
    np.testing.assert_array_equal(
        schedule.evaluate(steps, np).view(np.int64), scalar.view(np.int64)
    )
    assert schedules.evaluate(schedule, steps[:3], np).shape == (3,)


def test_schedules_are_monotone_and_within_bounds():
    for schedule in (
        schedules.dann(5000, gamma=10.0, lo=0.2, hi=0.9, normalize=True),
        schedules.linear(5000, 0.25, 1.5),
    ):
        values = schedule.evaluate(np.arange(5001, dtype=np.float64), np)
        assert np.all(np.diff(values) >= 0)
        assert values[0] == schedule(0) and values[-1] <= schedule.hi


def test_repr_shows_every_setting():
    assert repr(schedules.dann(50, normalize=True)) == (
        "dann(total_steps=50, gamma=10.0, lo=0.0, hi=1.0, normalize=True)"
    )
