"""total_steps="auto" in Flax NNX and Linen: resolved by an explicit call with a number."""

from __future__ import annotations

import pytest

from tests.backends import require

grl_jax = require("jax")
nnx = pytest.importorskip("flax.nnx")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from flax import serialization  # noqa: E402

from grl.backends.jax import linen  # noqa: E402
from grl.backends.jax.diagnostics import resolve_total_steps  # noqa: E402
from grl.core import schedules  # noqa: E402

AUTO = schedules.dann("auto", gamma=7.0)
DIRECT = schedules.dann(40, gamma=7.0)


class Model(nnx.Module):
    def __init__(self, lambda_: object) -> None:
        self.linear = nnx.Linear(3, 3, rngs=nnx.Rngs(0))
        self.grl = grl_jax.GradientReversal(lambda_)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.grl(self.linear(x))


def bits(value: jax.Array) -> int:
    return int(np.asarray(value, np.float32).view(np.int32))


def test_nnx_refuses_an_unresolved_layer_before_any_work():
    model = Model(AUTO)
    assert float(model.grl.lambda_[...]) == 0.0
    with pytest.raises(RuntimeError, match=r"call needs the run length.*resolve_total_steps"):
        model(jnp.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"call needs the run length"):
        nnx.jit(lambda m, x: m(x))(model, jnp.ones((2, 3)))
    with pytest.raises(RuntimeError, match=r"advance\(\) needs the run length"):
        model.grl.advance()
    assert int(model.grl.step[...]) == 0


def test_nnx_resolved_trains_with_the_same_bits_and_one_trace():
    traces = []

    @nnx.jit
    def train_step(model: Model, x: jax.Array) -> jax.Array:
        traces.append(1)  # a Python side effect: once per trace
        grads = nnx.grad(lambda m: m(x).sum())(model)
        model.grl.advance()
        return grads

    auto, direct = Model(AUTO), Model(DIRECT)
    assert resolve_total_steps(auto, 40) == 40
    assert auto.grl.schedule == DIRECT
    x = jnp.ones((2, 3))
    for _ in range(11):
        train_step(auto, x)
    assert len(traces) == 1
    for _ in range(11):
        train_step(direct, x)
    assert bits(auto.grl.lambda_[...]) == bits(direct.grl.lambda_[...])
    assert int(auto.grl.step[...]) == 11 and float(auto.grl.lambda_[...]) > 0.0


def test_nnx_state_restores_into_a_resolved_model():
    trained = Model(AUTO)
    resolve_total_steps(trained, 40)
    trained.grl.advance(9)
    fresh = Model(AUTO)
    resolve_total_steps(fresh, 40)
    nnx.update(fresh, nnx.state(trained))
    assert bits(fresh.grl.lambda_[...]) == bits(trained.grl.lambda_[...])
    fresh.grl.advance(1)
    trained.grl.advance(1)
    assert bits(fresh.grl.lambda_[...]) == bits(trained.grl.lambda_[...])


def test_nnx_resolve_checks_the_number():
    with pytest.raises(ValueError, match="total_steps must be > 0"):
        resolve_total_steps(Model(AUTO), 0)
    with pytest.raises(TypeError, match="total_steps must be an int"):
        resolve_total_steps(Model(AUTO), "auto")


def linen_model(lambda_: object) -> tuple[linen.GradientReversal, dict]:
    model = linen.GradientReversal(lambda_)
    return model, model.init(jax.random.key(0), jnp.ones(3))


def test_linen_init_works_and_use_before_resolving_is_refused():
    model, variables = linen_model(AUTO)
    assert variables["grl"]["total_steps"].shape == (0,)
    with pytest.raises(RuntimeError, match=r"Linen\) call needs the run length"):
        model.apply(variables, jnp.ones(3))
    with pytest.raises(RuntimeError, match=r"call needs the run length"):
        jax.jit(model.apply)(variables, jnp.ones(3))
    with pytest.raises(RuntimeError, match=r"advance\(\) needs the run length"):
        linen.advance(variables)
    with pytest.raises(RuntimeError, match=r"needs the run length"):
        model.apply(variables, method="current_lambda")


def test_linen_resolved_has_the_same_bits_under_jit_with_one_trace():
    model, variables = linen_model(AUTO)
    direct, direct_variables = linen_model(DIRECT)
    variables = linen.resolve_total_steps(variables, 40)
    assert variables["grl"]["total_steps"].shape == ()
    traces = []

    def current(v: dict) -> jax.Array:
        traces.append(1)
        return model.apply(v, method="current_lambda")

    current_jit = jax.jit(current)
    for k in range(0, 45, 3):
        moved = linen.advance(variables, k)
        expected = direct.apply(linen.advance(direct_variables, k), method="current_lambda")
        assert bits(current_jit(moved)) == bits(expected) == bits(current(moved))
    assert len(traces) == 1 + 15  # one trace, plus the eager calls
    # A later resolution keeps the first length.
    again = linen.resolve_total_steps(variables, 99)
    assert int(again["grl"]["total_steps"]) == 40


def test_linen_the_length_is_saved_with_the_variables():
    model, variables = linen_model(AUTO)
    variables = linen.advance(linen.resolve_total_steps(variables, 40), 9)
    data = serialization.to_bytes(variables)
    _, template = linen_model(AUTO)
    restored = serialization.from_bytes(template, data)
    assert int(restored["grl"]["total_steps"]) == 40
    assert bits(model.apply(restored, method="current_lambda")) == bits(
        model.apply(variables, method="current_lambda")
    )
    bad = {"grl": {**restored["grl"], "total_steps": jnp.asarray(0, jnp.int32)}}
    with pytest.raises(ValueError, match="invalid saved total_steps"):
        model.apply(bad, jnp.ones(3))
