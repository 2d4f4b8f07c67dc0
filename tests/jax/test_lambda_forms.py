"""Every λ form the spec admits, under every JAX transformation (issue #13).

λ is given as a Python float or int, a NumPy scalar or 0-d array, a JAX array of each
floating dtype, or a traced value (a ``jit`` argument), and passed as an argument of the
transformation (where a Python number stays on the host as a primal). Each gives
``∂L/∂x = −λ·c`` bit for bit (the NumPy reference) and ``∂L/∂λ = 0``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tests.backends import require
from tests.jax.helpers import assert_same_bits, reference_grad, sample

grl_jax = require("jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
from jax.sharding import Mesh, PartitionSpec  # noqa: E402

from grl.backends.jax.internals import LINEAR_TRANSPOSE_ERROR  # noqa: E402

reverse = grl_jax.gradient_reversal

#: name -> (λ factory, λ's value, whether JAX can differentiate with respect to it).
KINDS: dict[str, tuple[Callable[[], Any], float, bool]] = {
    "python-float": (lambda: 0.75, 0.75, True),
    "python-int": (lambda: 2, 2.0, False),
    "numpy-scalar": (lambda: np.float32(0.75), 0.75, True),
    "numpy-0d": (lambda: np.array(0.75), 0.75, True),
    "jax-float16": (lambda: jnp.asarray(0.75, jnp.float16), 0.75, True),
    "jax-bfloat16": (lambda: jnp.asarray(0.75, jnp.bfloat16), 0.75, True),
    "jax-float32": (lambda: jnp.asarray(0.75, jnp.float32), 0.75, True),
    "jax-float64": (lambda: jnp.asarray(0.75, jnp.float64), 0.75, True),
    "traced": (lambda: jnp.asarray(0.75, jnp.float32), 0.75, True),
}


def loss(x: jax.Array, lam: Any, c: jax.Array) -> jax.Array:
    return jnp.sum(c * reverse(x, lam))


def _assert_zero(gradient: Any) -> None:
    gradient = np.asarray(gradient)
    if gradient.dtype != jax.dtypes.float0:  # an int λ's cotangent is float0, empty
        np.testing.assert_array_equal(gradient, np.zeros(gradient.shape))


def _lambda_tangent(lam: Any, differentiable: bool) -> Any:
    if not differentiable:
        return np.zeros((), jax.dtypes.float0)
    return jnp.ones_like(lam)  # λ's tangent is ignored: a non-zero one must not leak in


def _grad(x, lam, c, differentiable):
    return jax.grad(loss, argnums=(0, 1), allow_int=True)(x, lam, c)


def _value_and_grad(x, lam, c, differentiable):
    return jax.value_and_grad(loss, argnums=(0, 1), allow_int=True)(x, lam, c)[1]


def _vjp(x, lam, c, differentiable):
    _, pullback = jax.vjp(reverse, x, lam)
    return pullback(c)


def _jvp(x, lam, c, differentiable):
    return jax.jvp(reverse, (x, lam), (c, _lambda_tangent(lam, differentiable)))[1]


def _linearize(x, lam, c, differentiable):
    if not differentiable:
        return jax.linearize(lambda v: reverse(v, lam), x)[1](c)
    _, linear = jax.linearize(reverse, x, lam)
    return linear(c, _lambda_tangent(lam, differentiable))


def _jacobian(jacobian: Callable) -> Callable:
    def run(x, lam, c, differentiable):
        argnums = (0, 1) if differentiable else 0
        jac = jacobian(reverse, argnums=argnums)(x, lam)
        jac, *zeros = jac if differentiable else (jac,)
        return c * jnp.diagonal(jac), *zeros

    return run


def _hessian(x, lam, c, differentiable):
    argnums = (0, 1) if differentiable else 0
    hess = jax.hessian(lambda v, lam_: jnp.sum(jnp.sin(reverse(v, lam_))), argnums)(x, lam)
    zeros = []
    if differentiable:
        (hess, hxl), (hlx, hll) = hess
        zeros = [hxl, hlx, hll]
    # ∂²/∂x² Σ sin R_λ(x) = −λ²·sin x: returned as −λ·c to compare with the reference.
    return jnp.diagonal(hess) / jnp.sin(x) / jnp.asarray(lam, jnp.float32) * c, *zeros


def _vmap(x, lam, c, differentiable):
    rows = jax.vmap(jax.grad(loss), in_axes=(0, None, 0))(x[None], lam, c[None])
    return rows[0]


def _scan(x, lam, c, differentiable):
    def body(carry, rows):
        return carry, jax.grad(loss)(rows[0], carry, rows[1])

    return jax.lax.scan(body, lam, (x[None], c[None]))[1][0]


def _fori_loop(x, lam, c, differentiable):
    def f(v):
        return jnp.sum(c * jax.lax.fori_loop(0, 1, lambda i, u: reverse(u, lam), v))

    return jax.grad(f)(x)


def _while_loop(x, lam, c, differentiable):
    def f(v):
        def body(state):
            i, u = state
            return i + 1, reverse(u, lam)

        return jax.lax.while_loop(lambda state: state[0] < 1, body, (0, v))[1]

    return jax.jvp(f, (x,), (c,))[1]


def _cond(x, lam, c, differentiable):
    def f(v, lam_):
        return jax.lax.cond(True, lambda a, b: loss(a, b, c), lambda a, b: 0.0 * a.sum(), v, lam_)

    return jax.grad(f)(x, lam)


def _checkpoint(policy: Any) -> Callable:
    def run(x, lam, c, differentiable):
        return jax.grad(jax.checkpoint(loss, policy=policy))(x, lam, c)

    return run


def _pmap(x, lam, c, differentiable):
    return jax.pmap(jax.grad(loss), in_axes=(0, None, 0))(x[None], lam, c[None])[0]


def _shard_map(x, lam, c, differentiable):
    mesh = Mesh(np.asarray(jax.devices()[:1]), ("batch",))
    spec = PartitionSpec("batch")
    step = jax.shard_map(
        lambda a, lam_, b: jax.grad(loss)(a[0], lam_, b[0])[None],
        mesh=mesh,
        in_specs=(spec, PartitionSpec(), spec),
        out_specs=spec,
    )
    return step(x[None], jnp.asarray(lam), c[None])[0]


def _custom_vjp_wrapper(x, lam, c, differentiable):
    @jax.custom_vjp
    def wrapped(v):
        return reverse(v, lam)

    def forward(v):
        return jax.vjp(lambda u: reverse(u, lam), v)

    def backward(pullback, g):
        return pullback(g)

    wrapped.defvjp(forward, backward)
    return jax.grad(lambda v: jnp.sum(c * wrapped(v)))(x)


TRANSFORMS = {
    "grad": _grad,
    "value_and_grad": _value_and_grad,
    "vjp": _vjp,
    "jvp": _jvp,
    "linearize": _linearize,
    "jacrev": _jacobian(jax.jacrev),
    "jacfwd": _jacobian(jax.jacfwd),
    "hessian": _hessian,
    "vmap": _vmap,
    "scan-carry": _scan,
    "fori_loop": _fori_loop,
    "while_loop-jvp": _while_loop,
    "cond": _cond,
    "checkpoint": _checkpoint(None),
    "checkpoint-nothing_saveable": _checkpoint(jax.checkpoint_policies.nothing_saveable),
    "checkpoint-everything_saveable": _checkpoint(jax.checkpoint_policies.everything_saveable),
    "checkpoint-dots_saveable": _checkpoint(jax.checkpoint_policies.dots_saveable),
    "pmap": _pmap,
    "shard_map": _shard_map,
    "custom_vjp-wrapper": _custom_vjp_wrapper,
}


@pytest.mark.parametrize("transform", list(TRANSFORMS))
@pytest.mark.parametrize("kind", list(KINDS))
def test_every_lambda_form_under_every_transformation(kind, transform):
    make, value, differentiable = KINDS[kind]
    x = jnp.asarray(sample("float32", (3,), 11))
    c = jnp.asarray(sample("float32", (3,), 12))
    run = TRANSFORMS[transform]
    with jax.enable_x64(kind == "jax-float64"):
        lam = make()
        if kind == "traced":
            out = jax.jit(lambda a, lam_, b: run(a, lam_, b, differentiable))(x, lam, c)
        else:
            out = run(x, lam, c, differentiable)
    gx, *zeros = out if isinstance(out, tuple) else (out,)
    expected = reference_grad(c, np.float32(value))
    if transform == "hessian":
        np.testing.assert_allclose(gx, expected, rtol=2e-6)
    else:
        assert_same_bits(gx, expected)
    for zero in zeros:  # every derivative with respect to λ
        _assert_zero(zero)


@pytest.mark.parametrize("kind", ["python-float", "jax-float32", "traced"])
def test_per_example_lambda_under_vmap_of_every_kind(kind):
    make, value, _ = KINDS[kind]
    x = jnp.asarray(sample("float32", (2, 3), 13))
    c = jnp.asarray(sample("float32", (2, 3), 14))
    lambdas = jnp.asarray([jnp.asarray(make()), 2 * jnp.asarray(make())])
    grads = jax.vmap(jax.grad(loss))(x, lambdas, c)
    for row, lam in enumerate((value, 2 * value)):
        assert_same_bits(grads[row], reference_grad(c[row], np.float32(lam)))


@pytest.mark.parametrize("lam", [0.5, jnp.float32(0.5)], ids=["python-float", "array"])
def test_linear_transpose_is_refused_with_a_clear_error(lam):
    x = jnp.ones(3)
    with pytest.raises(TypeError, match=r"cannot be transposed with jax\.linear_transpose"):
        jax.linear_transpose(lambda t: reverse(t, lam), x)(x)
    assert "use jax.vjp" in LINEAR_TRANSPOSE_ERROR
