"""grl.jax.schedules: device values against grl.core.schedules, jit with a traced step, optax.

The formulas are grl.core's, evaluated with ``jax.numpy``: with x64 the values have the
host's bits; without it they are float32 within :data:`FLOAT32_ULPS` of the host value
rounded to float32.
"""

from __future__ import annotations

import numpy as np
import pytest

from grl.core import golden
from grl.core import schedules as core
from tests.backends import require
from tests.jax.helpers import require_module

grl_jax = require("jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

schedules = grl_jax.schedules
#: float32 without x64: the largest distance to the host value rounded to float32,
#: measured at most 6 ulp over 20,001 steps of the schedules below.
FLOAT32_ULPS = 8
STEPS = np.arange(-3, 20_004)
SCHEDULES = [
    core.constant(0.37),
    core.linear(20_000, 0.3, 1.7),
    core.dann(20_000),
    core.dann(20_000, normalize=True),
    core.dann(20_000, gamma=50.0, lo=0.2, hi=0.9, normalize=True),
    core.dann(20_000, gamma=3.0, lo=0.1, hi=2.0),
]


def _jax_values(schedule: schedules.Schedule, steps: np.ndarray) -> np.ndarray:
    return np.asarray(jax.jit(schedule)(jnp.asarray(steps)))


@pytest.mark.parametrize("schedule", SCHEDULES, ids=repr)
def test_x64_values_have_the_host_bits(schedule):
    with jax.enable_x64(True):
        values = _jax_values(schedules.from_core(schedule), STEPS)
    assert values.dtype == np.float64
    expected = schedule.evaluate(STEPS.astype(np.float64), np)
    np.testing.assert_array_equal(values.view(np.int64), expected.view(np.int64))
    assert values[-1] == schedule(20_000)  # the host's scalar path too


@pytest.mark.parametrize("schedule", SCHEDULES, ids=repr)
def test_float32_without_x64_stays_within_the_stated_bound(schedule):
    values = _jax_values(schedules.from_core(schedule), STEPS)
    assert values.dtype == np.float32
    expected = schedule.evaluate(STEPS.astype(np.float64), np).astype(np.float32)
    distance = np.abs(values.view(np.int32).astype(np.int64) - expected.view(np.int32))
    assert distance.max() <= FLOAT32_ULPS


def test_golden_schedule_vectors_shared_by_every_backend():
    with jax.enable_x64(True):
        for case in golden.load()["schedules"]:
            schedule = schedules.from_config(case["config"])
            expected = np.asarray([float.fromhex(value) for value in case["values"]])
            values = _jax_values(schedule, np.asarray(case["steps"]))
            host = np.asarray([schedule.grl_schedule(step) for step in case["steps"]])
            np.testing.assert_array_equal(values, host)
            np.testing.assert_allclose(values, expected, rtol=1e-14, err_msg=case["config"])


def test_one_trace_for_every_step_and_elementwise_arrays():
    traces = []
    schedule = schedules.dann(100)

    @jax.jit
    def lam(step):
        traces.append(1)
        return schedule(step)

    values = [float(lam(jnp.asarray(step, dtype=jnp.int32))) for step in (0, 1, 50, 100, 1000)]
    assert len(traces) == 1
    np.testing.assert_allclose(values, [core.dann(100)(s) for s in (0, 1, 50, 100, 1000)], 1e-6)
    curve = schedule(jnp.arange(4)[None, :])
    assert curve.shape == (1, 4)
    np.testing.assert_array_equal(curve[0], [float(schedule(s)) for s in range(4)])
    with jax.enable_x64(True):  # float steps are fine too
        assert schedule(2.5) == core.dann(100)(2.5)


def test_schedules_are_hashable_static_and_round_trip_their_config():
    schedule = schedules.dann(1000, gamma=5.0, hi=2.0, normalize=True)
    assert schedule == schedules.from_config(schedule.get_config())
    assert schedule.get_config() == core.dann(1000, 5.0, 0.0, 2.0, True).get_config()
    assert schedule.name == "dann"
    assert hash(schedule) == hash(schedules.dann(1000, gamma=5.0, hi=2.0, normalize=True))
    run = jax.jit(lambda s, step: s(step), static_argnums=0)
    assert run(schedule, 1000) == np.float32(2.0)


def test_optax_join_schedules_and_learning_rate():
    optax = require_module("optax")
    warmup, ramp = schedules.constant(0.0), schedules.dann(100)
    joined = optax.join_schedules([warmup, ramp], boundaries=[10])
    steps = jnp.arange(0, 120, 7)
    np.testing.assert_array_equal(
        jax.jit(jax.vmap(joined))(steps), np.where(steps < 10, 0.0, ramp(steps - 10))
    )

    # As an optax learning-rate schedule: SGD's update at count k is −λ(k)·g.
    tx = optax.sgd(learning_rate=schedules.linear(4, lo=0.5, hi=1.5))
    params = jnp.zeros(2)
    state = tx.init(params)
    update = jax.jit(tx.update)
    grads = jnp.asarray([1.0, -2.0])
    for count in range(6):
        updates, state = update(grads, state)
        lam = schedules.linear(4, lo=0.5, hi=1.5)(count)
        np.testing.assert_array_equal(updates, -lam * grads)

    injected = optax.inject_hyperparams(optax.sgd)(learning_rate=schedules.dann(10))
    state = injected.init(params)
    for _ in range(3):
        _, state = jax.jit(injected.update)(grads, state)
    assert state.hyperparams["learning_rate"] == schedules.dann(10)(2)
