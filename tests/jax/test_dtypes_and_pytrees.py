"""Dtypes (every float dtype × every λ dtype, eager and jitted) and pytree inputs."""

from __future__ import annotations

import re
from collections import namedtuple

import numpy as np
import pytest

from grl.core.reference import numpy_dtype
from tests.backends import require
from tests.jax.helpers import FLOAT_DTYPES, assert_same_bits, reference_grad, sample

grl_jax = require("jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

reverse = grl_jax.gradient_reversal
LAMBDA_DTYPES = ("python", *FLOAT_DTYPES)


def _lambda(value: float, dtype: str):
    """λ as a host float or a 0-d JAX array, and the same λ as the NumPy reference takes it."""
    if dtype == "python":
        return value, value
    host = np.asarray(value).astype(numpy_dtype(dtype))
    return jnp.asarray(host), host


@pytest.mark.parametrize("lambda_dtype", LAMBDA_DTYPES)
@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_cotangent_keeps_the_input_dtype_and_follows_the_reference(dtype, lambda_dtype):
    with jax.enable_x64(True):
        x, g = sample(dtype, (7,), 30), sample(dtype, (7,), 31)
        lam, host_lam = _lambda(0.1, lambda_dtype)
        xj, gj = jnp.asarray(x), jnp.asarray(g)

        def pullback(x, g, lam):
            return jax.vjp(lambda v: reverse(v, lam), x)[1](g)[0]

        expected = reference_grad(g, host_lam)
        assert_same_bits(pullback(xj, gj, lam), expected)
        assert_same_bits(jax.jit(pullback)(xj, gj, lam), expected)
        tangent = jax.jvp(lambda v: reverse(v, lam), (xj,), (gj,))[1]
        assert_same_bits(tangent, expected)


@pytest.mark.parametrize("dtype", FLOAT_DTYPES)
def test_forward_is_the_input_itself(dtype):
    with jax.enable_x64(True):
        x = jnp.asarray(sample(dtype, (3, 2), 32))
        assert reverse(x, 0.5) is x
        assert_same_bits(jax.jit(reverse)(x, 0.5), x)


def test_float64_lambda_is_rounded_through_float32_for_sixteen_bit_gradients():
    # 1 + 2**-8 + 2**-40 rounds up to 1 + 2**-7 in bfloat16 directly, but through float32
    # it becomes the tie 1 + 2**-8, which rounds to even: 1.0. The spec says via float32.
    value = 1.0 + 2.0**-8 + 2.0**-40
    with jax.enable_x64(True):
        g = jnp.ones(3, dtype=jnp.bfloat16)
        grad = jax.vjp(lambda v: reverse(v, jnp.float64(value)), g)[1](g)[0]
        assert grad.dtype == jnp.bfloat16
        assert_same_bits(grad, reference_grad(np.asarray(g), np.float64(value)))
        np.testing.assert_array_equal(grad.astype(np.float32), np.full(3, -1.0, np.float32))


def test_x64_disabled_python_lambda_is_float32():
    x = jnp.asarray(sample("float32", (4,), 33))
    grad = jax.grad(lambda v: jnp.sum(reverse(v, 0.1)))(x)
    assert_same_bits(grad, reference_grad(np.ones(4, np.float32), np.float32(0.1)))


Pair = namedtuple("Pair", ["features", "labels"])


def test_pytree_structure_and_non_floating_leaves_pass_through():
    labels = jnp.arange(3)
    mask = np.array([True, False])
    tree = {
        "a": jnp.ones(2),
        "b": [jnp.zeros((1, 2), jnp.bfloat16), None],
        "c": Pair(jnp.ones(3), labels),
        "m": mask,
    }
    out = reverse(tree, 0.5)
    assert jax.tree.structure(out) == jax.tree.structure(tree)
    assert out["a"] is tree["a"]
    assert out["c"].labels is labels
    assert out["m"] is mask
    assert out["b"][1] is None


def test_pytree_gradient_reverses_every_floating_leaf():
    tree = {
        "w": jnp.asarray(sample("float32", (3,), 34)),
        "h": (jnp.asarray(sample("bfloat16", (2,), 35)),),
    }

    def loss(tree):
        reversed_tree = reverse(tree, 2.0)
        return jnp.sum(reversed_tree["w"] * 3.0) + jnp.sum(
            reversed_tree["h"][0].astype(jnp.float32)
        )

    grads = jax.grad(loss)(tree)
    np.testing.assert_array_equal(grads["w"], np.full(3, -6.0, np.float32))
    assert grads["h"][0].dtype == jnp.bfloat16
    np.testing.assert_array_equal(grads["h"][0].astype(np.float32), np.full(2, -2.0, np.float32))


def test_numpy_leaves_are_converted():
    x = sample("float32", (3,), 36)
    out = reverse({"x": x, "n": np.int32(3)}, 1.0)
    assert isinstance(out["x"], jax.Array)
    assert_same_bits(out["x"], x)
    assert out["n"] == 3


@pytest.mark.parametrize(
    ("tree", "where"),
    [
        ({"a": jnp.ones(2), "b": "text"}, "x['b']"),
        ([jnp.ones(2), 1.5], "x[1]"),
        (object(), "x"),
    ],
    ids=["string-leaf", "python-float-leaf", "object"],
)
def test_non_array_leaves_are_refused_with_their_path(tree, where):
    with pytest.raises(TypeError, match="^" + re.escape(f"{where} must be a JAX or NumPy array")):
        reverse(tree, 1.0)


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_complex_parts_are_scaled_separately(dtype):
    with jax.enable_x64(True):
        parts = np.array([0.0, -0.0, 1.5, -2.25, np.inf, -np.inf], dtype=np.finfo(dtype).dtype)
        g = np.empty((parts.size, parts.size), dtype=dtype)
        g.real, g.imag = np.meshgrid(parts, parts)
        expected = reference_grad(g, 0.5)  # no inf·0 = NaN: parts scaled by the real −λ
        gj = jnp.asarray(g)
        tangent = jax.jvp(lambda v: reverse(v, 0.5), (gj,), (gj,))[1]
        assert_same_bits(tangent, expected)

        def pullback(g):
            return jax.vjp(lambda v: reverse(v, 0.5), g)[1](g)[0]

        eager, jitted = pullback(gj), jax.jit(pullback)(gj)
        assert_same_bits(eager, jitted)
        # Reverse mode may turn a −0 part into +0 (JAX transposes real/imag by adding a
        # zero part); every value is exact, and there is no NaN.
        np.testing.assert_array_equal(eager, expected)
        assert not np.isnan(np.asarray(eager).view(np.finfo(dtype).dtype)).any()
