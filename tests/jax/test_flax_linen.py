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
    with pytest.raises(ValueError, match="steps must be >= 0"):
        linen.advance(variables, -2)
