"""Eager calls of grl.jax.gradient_reversal: constants are returned as they are (no device
work, no λ put on the device), and anything traced still goes through the primitive."""

from __future__ import annotations

import numpy as np

from tests.backends import require
from tests.jax.helpers import assert_same_bits, reference_grad, sample

grl_jax = require("jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from grl.backends.jax import ops  # noqa: E402

reverse = grl_jax.gradient_reversal


def test_concrete_leaves_come_back_as_they_are_and_lambda_stays_on_the_host(monkeypatch):
    x = jnp.asarray(sample("float32", (4,), 70))
    tree = {"a": x, "b": [jnp.arange(3), np.ones(2, np.float32)]}

    def no_device_lambda(*args, **kwargs):
        raise AssertionError("an eager call put λ on the device")

    monkeypatch.setattr(ops._Lambda, "array", no_device_lambda)
    assert reverse(x, 0.5) is x
    out = reverse(tree, np.float32(2.0))
    assert out["a"] is x and out["b"][0] is tree["b"][0]
    assert isinstance(out["b"][1], jax.Array)
    np.testing.assert_array_equal(out["b"][1], tree["b"][1])


def test_traced_inputs_still_bind_the_primitive():
    x = jnp.asarray(sample("float32", (3,), 71))
    assert "gradient_reversal" in str(jax.make_jaxpr(lambda v: reverse(v, 0.5))(x))
    assert "gradient_reversal" in str(jax.make_jaxpr(lambda lam: reverse(x, lam))(0.5))


def test_a_constant_input_under_jit_and_a_lambda_batched_over_it():
    x = jnp.asarray(sample("float32", (3,), 72))
    assert_same_bits(jax.jit(lambda: reverse(x, 0.5))(), x)
    lambdas = jnp.asarray([0.5, 1.0], jnp.float32)
    assert_same_bits(jax.vmap(lambda lam: reverse(x, lam))(lambdas), jnp.stack([x, x]))
    assert jax.grad(lambda lam: jnp.sum(reverse(x, lam)))(jnp.float32(0.5)) == 0.0


def test_one_lambda_array_for_every_leaf_of_a_traced_tree():
    tree = {
        "a": jnp.asarray(sample("float32", (3,), 73)),
        "b": jnp.asarray(sample("float16", (2,), 74)),
    }
    c = {
        "a": jnp.asarray(sample("float32", (3,), 75)),
        "b": jnp.asarray(sample("float16", (2,), 76)),
    }

    def loss(t):
        out = reverse(t, 0.25)
        return jnp.sum(c["a"] * out["a"]) + jnp.sum(c["b"] * out["b"])

    grads = jax.grad(loss)(tree)
    assert_same_bits(grads["a"], reference_grad(c["a"], 0.25))
    assert_same_bits(grads["b"], reference_grad(c["b"], 0.25))
