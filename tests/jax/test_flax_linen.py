"""grl.jax.linen: the step lives in the "grl" collection; advance() is explicit and pure."""

from __future__ import annotations

import numpy as np
import pytest

from tests.backends import require
from tests.jax.helpers import assert_same_bits, reference_grad, require_module, sample

grl_jax = require("jax")
require_module("flax")

import flax.linen as nn  # noqa: E402
import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from flax.core import FrozenDict  # noqa: E402

linen = grl_jax.linen
schedules = grl_jax.schedules
SCHEDULE = schedules.dann(10, hi=2.0)


class Head(nn.Module):
    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        return linen.GradientReversal(SCHEDULE)(x) * 1.0


def _pullback(model: nn.Module, variables, x, g) -> jax.Array:
    return jax.vjp(lambda v: model.apply(variables, v), x)[1](g)[0]


def test_init_creates_step_zero_and_the_call_applies_the_schedule():
    model, x = Head(), jnp.asarray(sample("float32", (5,), 50))
    variables = model.init(jax.random.key(0), x)
    assert jax.tree.map(int, variables[linen.COLLECTION]) == {"GradientReversal_0": {"step": 0}}
    g = jnp.asarray(sample("float32", (5,), 51))
    assert_same_bits(_pullback(model, variables, x, g), reference_grad(g, np.float32(0.0)))
    moved = linen.advance(variables, 3)
    lam = np.float32(SCHEDULE(3))
    assert_same_bits(_pullback(model, moved, x, g), reference_grad(g, lam))
    assert int(variables[linen.COLLECTION]["GradientReversal_0"]["step"]) == 0  # pure


def test_advance_is_jittable_and_keeps_other_collections_and_mapping_type():
    model, x = Head(), jnp.ones(3)
    variables = {**model.init(jax.random.key(0), x), "params": {"w": jnp.ones(2)}}
    assert linen.advance(variables)["params"] is variables["params"]
    advance = jax.jit(linen.advance)
    moved = advance(advance(variables))
    np.testing.assert_array_equal(moved["params"]["w"], variables["params"]["w"])
    assert int(moved[linen.COLLECTION]["GradientReversal_0"]["step"]) == 2
    frozen = linen.advance(FrozenDict(variables))
    assert isinstance(frozen, FrozenDict)
    assert int(frozen[linen.COLLECTION]["GradientReversal_0"]["step"]) == 1


def test_fixed_lambda_and_bad_input():
    model = linen.GradientReversal(0.5)
    x, g = jnp.ones(2), jnp.asarray([1.0, -2.0])
    variables = model.init(jax.random.key(0), x)
    np.testing.assert_array_equal(_pullback(model, variables, x, g), [-0.5, 1.0])
    with pytest.raises(ValueError, match="lambda_ must be >= 0"):
        linen.GradientReversal(-1.0)
    with pytest.raises(ValueError, match="no 'grl' collection"):
        linen.advance({"params": {}})
    with pytest.raises(ValueError, match="steps must be an int >= 0"):
        linen.advance(variables, -2)


class Net(nn.Module):
    """A model holding a fixed GRL as a setup submodule, as Linen users write them."""

    def setup(self) -> None:
        self.grl = linen.GradientReversal(0.5)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.grl(x)

    def set_grl_lambda(self, value: float) -> None:
        self.grl.set_lambda(value)


def test_a_fixed_lambda_is_state_set_through_apply_and_counts_steps():
    model, x, g = Net(), jnp.ones(2), jnp.asarray([1.0, -2.0])
    variables = model.init(jax.random.key(0), x)
    assert jax.tree.map(float, variables[linen.COLLECTION]) == {
        "grl": {"step": 0.0, "lambda_": 0.5}
    }
    _, mutated = model.apply(variables, 2.0, method="set_grl_lambda", mutable=[linen.COLLECTION])
    variables = linen.advance({**variables, **mutated}, 3)
    assert jax.tree.map(float, variables[linen.COLLECTION]) == {
        "grl": {"step": 3.0, "lambda_": 2.0}
    }
    np.testing.assert_array_equal(_pullback(model, variables, x, g), [-2.0, 4.0])
    with pytest.raises(ValueError, match="lambda_ must be >= 0"):
        model.apply(variables, -1.0, method="set_grl_lambda", mutable=[linen.COLLECTION])


def test_the_layer_methods_and_a_schedule_given_as_its_config():
    layer = linen.GradientReversal(SCHEDULE.get_config())
    variables = layer.init(jax.random.key(0), jnp.ones(2))
    assert set(variables[linen.COLLECTION]) == {"step"}  # λ is schedule(step)
    _, mutated = layer.apply(variables, 4, method="advance", mutable=[linen.COLLECTION])
    lam = layer.apply(mutated, method="current_lambda")
    assert lam.dtype == jnp.float32 and int(mutated[linen.COLLECTION]["step"]) == 4
    with jax.enable_x64(True):
        assert layer.apply(mutated, method="current_lambda") == np.float32(SCHEDULE(4))
    with pytest.raises(RuntimeError, match="follows the schedule dann"):
        layer.apply(variables, 0.5, method="set_lambda", mutable=[linen.COLLECTION])


def test_loaded_variables_with_a_forbidden_lambda_or_step_are_refused():
    layer, x = linen.GradientReversal(0.5), jnp.ones(2)
    bad_lambda = {"grl": {"step": jnp.int32(0), "lambda_": jnp.float32(-1.0)}}
    with pytest.raises(ValueError, match="invalid saved lambda_"):
        layer.apply(bad_lambda, x)
    bad_step = {"grl": {"step": jnp.int32(-3), "lambda_": jnp.float32(0.5)}}
    with pytest.raises(ValueError, match="invalid saved step"):
        layer.apply(bad_step, x)
