"""Bad λ, bad steps and bad schedule settings: clear errors, eagerly and at trace time."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest

from tests.backends import require

grl_jax = require("jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

reverse = grl_jax.gradient_reversal
schedules = grl_jax.schedules
X = jnp.ones(3)


@pytest.mark.parametrize(
    ("lambda_", "error", "message"),
    [
        (True, TypeError, "bool is ambiguous"),
        ("1.0", TypeError, "got '1.0' of type str"),
        (None, TypeError, "got None of type NoneType"),
        (1 + 2j, TypeError, "complex"),
        (float("nan"), ValueError, "must be finite; got nan"),
        (-math.inf, ValueError, "must be finite; got -inf"),
        (-0.5, ValueError, "must be >= 0 .*got -0.5"),
        (np.float32(-1.0), ValueError, "must be >= 0"),
        (np.ones(1), ValueError, r"0-d \(scalar\) tensor; got shape \(1,\).*jax.vmap"),
        (np.asarray(1), TypeError, "dtype int64 is not floating"),
        (jnp.asarray([0.5, 1.0]), ValueError, r"got shape \(2,\).*jax.vmap"),
        (jnp.asarray(2, jnp.int32), TypeError, "dtype int32 is not a real floating dtype"),
        (jnp.asarray(1.0 + 0j), TypeError, "complex64 is not a real floating dtype"),
        (jnp.asarray(jnp.nan), ValueError, "must be finite"),
        (jnp.asarray(-2.0), ValueError, "must be >= 0"),
        ([0.5], TypeError, r"got \[0.5\] of type list"),
    ],
)
def test_bad_lambda_is_refused_naming_lambda_and_the_value(lambda_, error, message):
    with pytest.raises(error, match=f"lambda_ .*{message}"):
        reverse(X, lambda_)


@pytest.mark.parametrize(
    ("lambda_", "error", "message"),
    [
        (jnp.ones(2), ValueError, r"0-d \(scalar\) tensor; got shape \(2,\)"),
        (jnp.asarray(1, dtype=jnp.int32), TypeError, "int32 is not a real floating dtype"),
        (jnp.asarray(True), TypeError, "bool is not a real floating dtype"),
    ],
)
def test_traced_lambda_rank_and_dtype_are_checked_at_trace_time(lambda_, error, message):
    traces = []

    def step(x, lam):
        traces.append(1)
        return jax.grad(lambda v: jnp.sum(reverse(v, lam)))(x)

    with pytest.raises(error, match=f"lambda_ .*{message}"):
        jax.jit(step)(X, lambda_)
    assert traces == [1]  # raised while tracing, before anything ran
    with pytest.raises(error, match="lambda_"):
        jax.eval_shape(step, X, lambda_)


def test_lambda_error_is_raised_before_any_leaf_is_touched():
    with pytest.raises(TypeError, match="lambda_"):
        reverse({"a": X, "b": "not an array"}, "bad")


@pytest.mark.parametrize(
    ("factory", "kwargs", "error", "message"),
    [
        (schedules.dann, {"total_steps": 0}, ValueError, "total_steps must be > 0; got 0"),
        (schedules.dann, {"total_steps": 10.0}, TypeError, "total_steps must be an int"),
        (schedules.dann, {"total_steps": 10, "gamma": -1.0}, ValueError, "gamma must be > 0"),
        (schedules.dann, {"total_steps": 10, "lo": 2.0, "hi": 1.0}, ValueError, "lo must be <="),
        (schedules.linear, {"total_steps": 10, "lo": -0.1}, ValueError, "lo must be >= 0"),
        (schedules.linear, {"total_steps": 10, "hi": math.inf}, ValueError, "hi must be finite"),
        (schedules.dann, {"total_steps": 10, "normalize": 1}, TypeError, "normalize must be"),
        (schedules.constant, {"value": -1.0}, ValueError, "value must be >= 0"),
        (schedules.constant, {"value": "1"}, TypeError, "value must be a real number"),
    ],
)
def test_bad_schedule_settings_are_refused(factory, kwargs, error, message):
    with pytest.raises(error, match=re.escape(message)):
        factory(**kwargs)


def test_bad_schedule_objects_and_configs_are_refused():
    with pytest.raises(TypeError, match=r"grl_schedule must be a grl\.core\.schedules schedule"):
        schedules.Schedule("dann")
    with pytest.raises(ValueError, match="unknown schedule name 'cosine'"):
        schedules.from_config({"name": "cosine"})
    with pytest.raises(ValueError, match="invalid 'dann' schedule config"):
        schedules.from_config({"name": "dann", "steps": 10})


@pytest.mark.parametrize(
    ("step", "error", "message"),
    [
        (True, TypeError, "step must be a real number .*bool is ambiguous"),
        ("3", TypeError, "step must be a real number .*got '3' of type str"),
        (math.nan, ValueError, "step must be finite; got nan"),
        (np.asarray([1.0, np.inf]), ValueError, "step must be finite"),
        (jnp.asarray([1, 2]) > 1, TypeError, "dtype bool"),
        (jnp.asarray(1 + 1j), TypeError, "dtype complex64"),
        ([1, 2], TypeError, "of type list"),
    ],
)
def test_bad_steps_are_refused(step, error, message):
    with pytest.raises(error, match=message):
        schedules.dann(100)(step)


def test_traced_step_dtype_is_checked_at_trace_time():
    with pytest.raises(TypeError, match=r"step must be .*dtype bool"):
        jax.jit(schedules.linear(10))(jnp.asarray(True))


def test_a_python_int_lambda_that_jax_made_an_array_is_a_number():
    # JAX turns a Python int into a weakly typed int32 array (jit arguments, scan carries).
    grad = jax.grad(lambda v, lam: jnp.sum(reverse(v, lam)))
    expected = np.full(3, -2.0, np.float32)
    np.testing.assert_array_equal(jax.jit(grad)(X, 2), expected)
    np.testing.assert_array_equal(grad(X, jnp.asarray(2)), expected)
    with pytest.raises(ValueError, match="must be >= 0"):
        reverse(X, jnp.asarray(-2))


def test_a_schedule_given_to_the_op_gets_the_hint_of_every_backend():
    for schedule in (schedules.dann(50), schedules.dann(50).grl_schedule):
        with pytest.raises(TypeError, match=r"not the schedule dann\(total_steps=50, .*advance it"):
            reverse(X, schedule)
