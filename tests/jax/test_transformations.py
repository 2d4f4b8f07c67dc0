"""grl.jax.gradient_reversal under every JAX transformation.

First derivatives are compared bit for bit with the NumPy reference (a loss ``Σ c·R_λ(x)``
hands the GRL the cotangent ``c``); higher derivatives with the closed forms, in float64:
``∂²/∂x² Σ sin R_λ(x) = −λ²·sin x`` and ``∂³ = λ³·cos x``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from tests.backends import require
from tests.jax.helpers import assert_same_bits, reference_grad, sample, sum_sin

grl_jax = require("jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

reverse = grl_jax.gradient_reversal
LAMBDA = 0.75


def weighted_sum(x: jax.Array, lambda_: jax.Array, c: jax.Array) -> jax.Array:
    return jnp.sum(c * reverse(x, lambda_))


def test_jit_compiles_once_across_lambda_values():
    traces = []

    @jax.jit
    def step(x, lambda_, c):
        traces.append(1)  # runs once per trace
        return jax.grad(weighted_sum)(x, lambda_, c)

    x, c = sample("float32", (6,), 0), sample("float32", (6,), 1)
    for value in (0.0, 0.1, 1.0, 6.0, 1000.0):
        lam = jnp.asarray(value, dtype=jnp.float32)
        assert_same_bits(step(x, lam, c), reference_grad(c, np.float32(value)))
    assert len(traces) == 1
    assert step._cache_size() == 1


def test_grad_and_value_and_grad_follow_the_reference():
    x, c = jnp.asarray(sample("float32", (5,), 2)), jnp.asarray(sample("float32", (5,), 3))
    value, grad = jax.value_and_grad(weighted_sum)(x, LAMBDA, c)
    assert value == jnp.sum(c * x)
    assert_same_bits(grad, reference_grad(c, LAMBDA))
    assert_same_bits(jax.grad(weighted_sum)(x, LAMBDA, c), reference_grad(c, LAMBDA))


def test_vmap_with_one_lambda_per_example():
    x, c = jnp.asarray(sample("float32", (4, 3), 4)), jnp.asarray(sample("float32", (4, 3), 5))
    lambdas = jnp.asarray([0.0, 0.5, 1.0, 6.0], dtype=jnp.float32)
    grads = jax.jit(jax.vmap(jax.grad(weighted_sum)))(x, lambdas, c)
    for row in range(4):
        assert_same_bits(grads[row], reference_grad(c[row], np.float32(lambdas[row])))
    # The transposed view: gradients of the whole batch reach each row's own λ.
    whole = jax.grad(lambda x: jnp.sum(c * jax.vmap(reverse)(x, lambdas)))(x)
    assert_same_bits(whole, grads)


def test_vmap_batched_lambda_over_a_shared_input():
    x = jnp.asarray(sample("float32", (3,), 6))
    lambdas = jnp.asarray([0.5, 1.0, 2.0], dtype=jnp.float32)

    def total(x):
        return jnp.sum(jax.vmap(lambda lam: jnp.sum(reverse(x, lam)))(lambdas))

    # Σ_k −λ_k, accumulated by JAX in float32 like the sum below.
    np.testing.assert_array_equal(jax.grad(total)(x), np.full(3, -3.5, dtype=np.float32))


def test_nested_vmap_with_lambda_batched_at_one_or_both_levels():
    x, c = (
        jnp.asarray(sample("float32", (2, 3, 4), 20)),
        jnp.asarray(sample("float32", (2, 3, 4), 21)),
    )
    grid = jnp.asarray([[0.5, 1.0, 2.0], [0.0, 0.25, 6.0]], dtype=jnp.float32)
    per_row = jnp.asarray([0.5, 3.0], dtype=jnp.float32)
    inner = jax.grad(weighted_sum)
    both = jax.vmap(jax.vmap(inner))(x, grid, c)
    outer_only = jax.vmap(jax.vmap(inner, in_axes=(0, None, 0)))(x, per_row, c)
    for i in range(2):
        for j in range(3):
            assert_same_bits(both[i, j], reference_grad(c[i, j], np.float32(grid[i, j])))
            assert_same_bits(outer_only[i, j], reference_grad(c[i, j], np.float32(per_row[i])))


def test_vmap_over_a_non_leading_axis_with_batched_lambda():
    x, c = jnp.asarray(sample("float32", (3, 4), 22)), jnp.asarray(sample("float32", (3, 4), 23))
    lambdas = jnp.asarray([0.5, 1.0, 2.0, 4.0], dtype=jnp.float32)
    grads = jax.vmap(jax.grad(weighted_sum), in_axes=(1, 0, 1), out_axes=1)(x, lambdas, c)
    for column in range(4):
        expected = reference_grad(c[:, column], np.float32(lambdas[column]))
        assert_same_bits(grads[:, column], expected)


def test_vmap_with_a_shared_lambda():
    x, c = jnp.asarray(sample("float32", (4, 3), 7)), jnp.asarray(sample("float32", (4, 3), 8))
    grads = jax.vmap(jax.grad(weighted_sum), in_axes=(0, None, 0))(x, LAMBDA, c)
    assert_same_bits(grads, reference_grad(c, LAMBDA))


@pytest.mark.parametrize("jacobian", [jax.jacrev, jax.jacfwd], ids=["jacrev", "jacfwd"])
def test_jacobian_is_minus_lambda_identity(jacobian):
    x = jnp.asarray(sample("float32", (4,), 9))
    jac = jacobian(lambda x: reverse(x, LAMBDA))(x)
    np.testing.assert_array_equal(jac, -LAMBDA * np.eye(4, dtype=np.float32))


def test_jvp_and_linearize_give_minus_lambda_t():
    x, t = jnp.asarray(sample("float32", (5,), 10)), jnp.asarray(sample("float32", (5,), 11))
    primal, tangent = jax.jvp(lambda x: reverse(x, LAMBDA), (x,), (t,))
    assert_same_bits(primal, x)
    assert_same_bits(tangent, reference_grad(t, LAMBDA))
    _, linear = jax.linearize(lambda x: reverse(x, LAMBDA), x)
    assert_same_bits(linear(t), reference_grad(t, LAMBDA))


def test_lambda_receives_no_gradient():
    x = jnp.asarray(sample("float32", (5,), 12))
    lam_grad = jax.grad(lambda lam: sum_sin(reverse, x, lam))(jnp.float32(0.5))
    assert lam_grad == 0.0


def test_checkpoint_scan_and_cond_first_order():
    x, c = jnp.asarray(sample("float32", (3, 4), 13)), jnp.asarray(sample("float32", (3, 4), 14))
    expected = reference_grad(c, LAMBDA)

    remat = jax.checkpoint(lambda x: weighted_sum(x, LAMBDA, c))
    assert_same_bits(jax.grad(remat)(x), expected)

    def scanned(x):
        def body(total, row):
            x_row, c_row = row
            return total + jnp.sum(c_row * reverse(x_row, LAMBDA)), None

        return jax.lax.scan(body, jnp.float32(0), (x, c))[0]

    assert_same_bits(jax.grad(scanned)(x), expected)

    def conditional(x, flag):
        return jax.lax.cond(flag, lambda v: weighted_sum(v, LAMBDA, c), lambda v: jnp.sum(c * v), x)

    grad_cond = jax.jit(jax.grad(conditional))
    assert_same_bits(grad_cond(x, True), expected)
    assert_same_bits(grad_cond(x, False), np.asarray(c))


def test_scan_with_a_lambda_per_step():
    x = jnp.asarray(sample("float32", (3, 2), 15))
    lambdas = jnp.asarray([0.5, 2.0, 0.0], dtype=jnp.float32)

    def scanned(x):
        def body(total, row):
            x_row, lam = row
            return total + jnp.sum(reverse(x_row, lam)), None

        return jax.lax.scan(body, jnp.float32(0), (x, lambdas))[0]

    np.testing.assert_array_equal(jax.grad(scanned)(x), -np.repeat(lambdas[:, None], 2, axis=1))


def _diag(matrix: jax.Array) -> jax.Array:
    return jnp.diagonal(matrix)


def _second_derivatives() -> dict[str, Callable[[Callable, jax.Array], jax.Array]]:
    """Ways to get the diagonal second derivative of a scalar function of a vector."""

    def grad_grad(f, x):
        return jax.grad(lambda v: jnp.sum(jax.grad(f)(v)))(x)

    def scanned(f, x):
        def body(total, v):
            return total + f(v), None

        total = lambda x: jax.lax.scan(body, 0.0, x[None])[0]  # noqa: E731
        return grad_grad(total, x)

    def conditional(f, x):
        return grad_grad(lambda v: jax.lax.cond(True, f, lambda u: 0.0 * jnp.sum(u), v), x)

    return {
        "grad_grad": grad_grad,
        "jacrev_jacrev": lambda f, x: _diag(jax.jacrev(jax.jacrev(f))(x)),
        "jacfwd_jacrev": lambda f, x: _diag(jax.jacfwd(jax.jacrev(f))(x)),
        "jacrev_jacfwd": lambda f, x: _diag(jax.jacrev(jax.jacfwd(f))(x)),
        "jacfwd_jacfwd": lambda f, x: _diag(jax.jacfwd(jax.jacfwd(f))(x)),
        "hessian": lambda f, x: _diag(jax.hessian(f)(x)),
        "jit_hessian": lambda f, x: _diag(jax.jit(jax.hessian(f))(x)),
        "jvp_of_grad": lambda f, x: jax.jvp(jax.grad(f), (x,), (jnp.ones_like(x),))[1],
        "vmap_hessian": lambda f, x: jax.vmap(jax.hessian(lambda s: f(s[None])))(x),
        "checkpoint": lambda f, x: grad_grad(jax.checkpoint(f), x),
        "scan": scanned,
        "lax_map": lambda f, x: grad_grad(lambda v: jnp.sum(jax.lax.map(f, v[None])), x),
        "cond": conditional,
    }


@pytest.mark.parametrize("method", sorted(_second_derivatives()))
def test_second_derivative_is_minus_lambda_squared_sin(method):
    with jax.enable_x64(True):
        x = jnp.asarray(sample("float64", (4,), 16))
        second = _second_derivatives()[method](lambda v: sum_sin(reverse, v, 0.5), x)
        np.testing.assert_allclose(second, -(0.5**2) * np.sin(np.asarray(x)), rtol=1e-14)


def test_second_derivative_off_diagonal_is_zero():
    with jax.enable_x64(True):
        x = jnp.asarray(sample("float64", (3,), 17))
        hessian = jax.hessian(lambda v: sum_sin(reverse, v, 2.0))(x)
        np.testing.assert_array_equal(hessian - jnp.diag(jnp.diagonal(hessian)), np.zeros((3, 3)))


def test_third_derivative_is_lambda_cubed_cos():
    with jax.enable_x64(True):
        x = jnp.asarray(sample("float64", (4,), 18))
        f = lambda v: sum_sin(reverse, v, 1.5)  # noqa: E731
        expected = 1.5**3 * np.cos(np.asarray(x))
        third_reverse = jax.grad(lambda v: jnp.sum(jax.grad(lambda u: jnp.sum(jax.grad(f)(u)))(v)))
        np.testing.assert_allclose(third_reverse(x), expected, rtol=1e-14)
        third_mixed = jax.jacfwd(jax.hessian(f))(x)
        np.testing.assert_allclose(jnp.einsum("iii->i", third_mixed), expected, rtol=1e-14)


def test_second_derivative_with_batched_lambda():
    with jax.enable_x64(True):
        x = jnp.asarray(sample("float64", (3,), 19))
        lambdas = jnp.asarray([0.5, 1.0, 3.0])
        scalar = lambda v, lam: jnp.sin(reverse(v, lam))  # noqa: E731
        second = jax.jit(jax.vmap(jax.grad(jax.grad(scalar))))(x, lambdas)
        np.testing.assert_allclose(second, -(lambdas**2) * np.sin(np.asarray(x)), rtol=1e-14)
