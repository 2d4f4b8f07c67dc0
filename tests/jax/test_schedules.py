"""grl.jax.schedules: values against grl.core.schedules, jit with a traced step, optax.

With x64 the JAX schedules compute in float64 with the same operations as grl.core, so they
match it bit for bit except where XLA rounds differently from Python: a fused multiply-add
in ``lo + (hi − lo)·s`` (at most 1 ulp, only when lo > 0) and XLA's tanh, which is not the C
library's (the bounds below are the largest differences measured on these grids).
"""

from __future__ import annotations

import numpy as np
import pytest

from grl.core import golden
from grl.core import schedules as core
from tests.backends import require
from tests.jax.helpers import require_module, ulp_distance

grl_jax = require("jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

schedules = grl_jax.schedules
BOUNDS = ((0.0, 1.0), (0.0, 6.0), (0.3, 1.7))
#: Largest float64 ulp distance to grl.core measured for dann on the grids below.
DANN_PAPER_ULPS = 4  # gamma = 10, lo = 0, hi = 1: tanh arguments in [0, 5]
DANN_ANY_ULPS = 7  # gamma up to 50: tanh arguments up to 25, near its rounding to 1


def _steps(total_steps: int) -> np.ndarray:
    return np.arange(-3, total_steps + 4)


def _jax_values(schedule: schedules.Schedule, steps: np.ndarray) -> np.ndarray:
    return np.asarray(jax.jit(schedule)(jnp.asarray(steps)))


def _core_values(spec: core.Schedule, steps: np.ndarray) -> np.ndarray:
    return np.asarray([spec(int(step)) for step in steps], dtype=np.float64)


@pytest.mark.parametrize("total_steps", [997, 10_000])
def test_constant_and_linear_match_core_in_float64(total_steps):
    steps = _steps(total_steps)
    with jax.enable_x64(True):
        constant = _jax_values(schedules.constant(0.37), steps)
        np.testing.assert_array_equal(constant, np.full(steps.shape, 0.37))
        for lo, hi in BOUNDS:
            spec = core.linear(total_steps, lo, hi)
            values = _jax_values(schedules.from_core(spec), steps)
            assert values.dtype == np.float64
            allowed = 0 if lo == 0 else 1  # a fused multiply-add when lo > 0
            assert ulp_distance(values, _core_values(spec, steps)) <= allowed


@pytest.mark.parametrize("total_steps", [997, 10_000])
def test_dann_matches_core_in_float64_up_to_xla_tanh(total_steps):
    steps = _steps(total_steps)
    with jax.enable_x64(True):
        paper = core.dann(total_steps)
        assert (
            ulp_distance(_jax_values(schedules.from_core(paper), steps), _core_values(paper, steps))
            <= DANN_PAPER_ULPS
        )
        for gamma in (3.0, 10.0, 50.0):
            for normalize in (False, True):
                for lo, hi in BOUNDS:
                    spec = core.dann(total_steps, gamma, lo, hi, normalize)
                    values = _jax_values(schedules.from_core(spec), steps)
                    expected = _core_values(spec, steps)
                    assert ulp_distance(values, expected) <= DANN_ANY_ULPS, spec
                    assert values[steps <= 0].tolist() == [lo] * 4  # tanh(0) = 0 exactly
                    if normalize:  # the curve ends exactly where grl.core's does
                        assert values[steps >= total_steps].tolist() == [expected[-1]] * 4


def test_golden_schedule_vectors_shared_by_every_backend():
    with jax.enable_x64(True):
        for case in golden.load()["schedules"]:
            schedule = schedules.from_config(case["config"])
            expected = np.asarray([float.fromhex(value) for value in case["values"]])
            values = _jax_values(schedule, np.asarray(case["steps"]))
            spec = schedule.spec
            exact = spec.name == "constant" or (spec.name == "linear" and spec.lo == 0)
            allowed = 0 if exact else DANN_PAPER_ULPS  # measured: at most 3 on these vectors
            assert ulp_distance(values, expected) <= allowed, case["config"]


def test_float32_without_x64_stays_within_a_few_float32_ulps():
    steps = _steps(997)
    for spec, allowed in ((core.linear(997, 0.3, 1.7), 1), (core.dann(997, hi=6.0), 5)):
        values = _jax_values(schedules.from_core(spec), steps)
        assert values.dtype == np.float32
        expected = _core_values(spec, steps).astype(np.float32)
        distance = np.abs(values.view(np.int32).astype(np.int64) - expected.view(np.int32))
        assert distance.max() <= allowed


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
    assert schedule(2.5) == np.float32(core.dann(100)(2.5))  # float steps are fine too


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
