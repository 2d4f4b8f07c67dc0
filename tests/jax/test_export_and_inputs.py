"""Tracing, lowering and export; every kind of input (issue #13).

``jax.export`` with a symbolic batch dimension (the abstract-evaluation rule once compared
shapes with ``np.broadcast_shapes``, which cannot compare symbolic dimensions), its
serialization round trip with the reversed VJP, ``jit(...).lower().compile()``; then every
kind of input: every JAX dtype, NumPy arrays, ``None`` leaves, ``ShapeDtypeStruct`` under
``eval_shape``, typed PRNG keys, float0 and ``jax.experimental.sparse`` BCOO arrays.
"""

from __future__ import annotations

import ml_dtypes
import numpy as np
import pytest

from tests.backends import require
from tests.jax.helpers import assert_same_bits, reference_grad, sample

grl_jax = require("jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax import export  # noqa: E402
from jax.experimental import sparse  # noqa: E402

reverse = grl_jax.gradient_reversal


def grad_of_weighted_sum(x: jax.Array, lam: jax.Array, c: jax.Array) -> jax.Array:
    return jax.grad(lambda v: jnp.sum(c * reverse(v, lam)))(x)


def test_export_with_a_symbolic_batch_dimension_round_trips():
    (batch,) = export.symbolic_shape("batch")
    rows = jax.ShapeDtypeStruct((batch, 3), jnp.float32)
    lam = jax.ShapeDtypeStruct((), jnp.float32)
    exported = export.export(jax.jit(grad_of_weighted_sum))(rows, lam, rows)
    restored = export.deserialize(exported.serialize())
    assert str(restored.in_avals[0].shape[0]) == "batch"
    for size in (1, 5):
        x, c = (
            jnp.asarray(sample("float32", (size, 3), size)),
            jnp.asarray(sample("float32", (size, 3), 9)),
        )
        assert_same_bits(
            restored.call(x, jnp.float32(0.75), c), reference_grad(c, np.float32(0.75))
        )


def test_exported_forward_keeps_the_reversed_vjp_after_serialization():
    (batch,) = export.symbolic_shape("batch")
    exported = export.export(jax.jit(reverse))(
        jax.ShapeDtypeStruct((batch, 2), jnp.float32), jax.ShapeDtypeStruct((), jnp.float32)
    )
    restored = export.deserialize(exported.serialize(vjp_order=1))
    x, c = jnp.asarray(sample("float32", (4, 2), 1)), jnp.asarray(sample("float32", (4, 2), 2))
    assert_same_bits(restored.call(x, jnp.float32(0.5)), x)
    _, pullback = jax.vjp(restored.call, x, jnp.float32(0.5))
    assert_same_bits(pullback(c)[0], reference_grad(c, np.float32(0.5)))


def test_export_of_vmap_with_one_lambda_per_example_of_symbolic_count():
    (batch,) = export.symbolic_shape("batch")
    exported = export.export(jax.jit(jax.vmap(grad_of_weighted_sum)))(
        jax.ShapeDtypeStruct((batch, 3), jnp.float32),
        jax.ShapeDtypeStruct((batch,), jnp.float32),
        jax.ShapeDtypeStruct((batch, 3), jnp.float32),
    )
    x, c = jnp.asarray(sample("float32", (2, 3), 3)), jnp.asarray(sample("float32", (2, 3), 4))
    grads = exported.call(x, jnp.asarray([0.5, 2.0], jnp.float32), c)
    assert_same_bits(grads[1], reference_grad(c[1], np.float32(2.0)))


def test_lower_and_compile_ahead_of_time():
    x, c = jnp.asarray(sample("float32", (3,), 5)), jnp.asarray(sample("float32", (3,), 6))
    compiled = jax.jit(grad_of_weighted_sum).lower(x, jnp.float32(0.0), c).compile()
    assert_same_bits(compiled(x, jnp.float32(0.25), c), reference_grad(c, np.float32(0.25)))


ALL_DTYPES = [
    "bool", "int8", "int16", "int32", "uint8", "uint32", "float16", "bfloat16", "float32",
    "complex64", "float8_e4m3fn", "float8_e5m2",
]  # fmt: skip


@pytest.mark.parametrize("dtype", ALL_DTYPES)
def test_every_dtype_comes_back_unchanged_eagerly_and_under_jit(dtype):
    numpy_dtype = getattr(ml_dtypes, dtype, None) or np.dtype(dtype)
    x = jnp.asarray(np.arange(6).reshape(2, 3) % 2).astype(numpy_dtype)
    assert reverse(x, 0.5) is x
    out = jax.jit(lambda v: reverse(v, 0.5))(x)
    assert out.dtype == x.dtype
    np.testing.assert_array_equal(np.asarray(out), np.asarray(x))


@pytest.mark.parametrize("dtype", ["float8_e4m3fn", "float8_e5m2"])
def test_eight_bit_floats_are_reversed_in_their_own_dtype(dtype):
    x = jnp.ones(3, getattr(ml_dtypes, dtype))
    c = jnp.asarray([1.0, -2.0, 0.5]).astype(x.dtype)
    _, pullback = jax.vjp(lambda v: reverse(v, 0.5), x)
    grad = pullback(c)[0]
    assert grad.dtype == x.dtype
    np.testing.assert_array_equal(np.asarray(grad, np.float32), [-0.5, 1.0, -0.25])


def test_none_leaves_and_numpy_arrays_in_a_pytree():
    x = np.asarray(sample("float32", (3,), 7))
    c = jnp.asarray(sample("float32", (3,), 8))
    tree = {"a": x, "b": None, "c": (None, jnp.arange(2))}
    out = reverse(tree, 0.75)
    assert out["b"] is None and out["c"][0] is None
    grads = jax.grad(lambda t: jnp.sum(c * reverse(t, 0.75)["a"]), allow_int=True)(tree)
    assert grads["b"] is None
    assert_same_bits(grads["a"], reference_grad(c, 0.75))


def test_eval_shape_with_shape_dtype_structs_for_x_and_lambda():
    x = jax.ShapeDtypeStruct((2, 5), jnp.bfloat16)
    lam = jax.ShapeDtypeStruct((), jnp.float32)
    assert jax.eval_shape(reverse, x, lam) == x
    assert jax.eval_shape(lambda v: reverse(v, 0.5), x) == x
    grads = jax.eval_shape(jax.grad(lambda v, lam_: jnp.sum(reverse(v, lam_))), x, lam)
    assert grads == x


def test_typed_prng_keys_and_float0_pass_through():
    key = jax.random.key(0)
    zero_tangent = np.zeros(3, jax.dtypes.float0)
    assert reverse(key, 0.5) is key
    out = jax.jit(lambda k: reverse(k, 0.5))(key)
    assert jnp.array_equal(jax.random.key_data(out), jax.random.key_data(key))
    assert reverse(zero_tangent, 0.5) is zero_tangent

    def sampled(v, k):
        tree = reverse({"x": v, "key": k}, 0.5)
        return jnp.sum(tree["x"] * jax.random.normal(tree["key"], (3,)))

    noise = jax.random.normal(key, (3,))
    assert_same_bits(jax.grad(sampled)(jnp.ones(3), key), reference_grad(noise, 0.5))


def test_a_sparse_bcoo_array_reverses_its_stored_values():
    dense = jnp.asarray([0.0, 2.0, 0.0, -1.0])
    c = jnp.asarray(sample("float32", (4,), 10))
    matrix = sparse.BCOO.fromdense(dense)
    out = reverse(matrix, 0.75)
    assert isinstance(out, sparse.BCOO)
    assert_same_bits(out.todense(), dense)

    def loss(data):
        return jnp.sum(c * reverse(sparse.BCOO((data, matrix.indices), shape=(4,)), 0.75).todense())

    expected = reference_grad(c[matrix.indices[:, 0]], 0.75)
    assert_same_bits(jax.grad(loss)(matrix.data), expected)
