"""Every private JAX API of grl.backends.jax.internals has a public fallback: forced here.

The fallbacks are the ``jax.custom_jvp`` form of the op (instead of the primitive built
with ``jax.extend`` / ``jax.interpreters``) and treating every array as possibly traced
(instead of ``isinstance(value, jax.core.Tracer)``).
"""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tests.backends import require
from tests.jax.helpers import assert_same_bits, reference_grad, sample, sum_sin

grl_jax = require("jax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402

from grl.backends.jax import internals  # noqa: E402
from tests.jax.test_lambda_forms import KINDS, TRANSFORMS  # noqa: E402

reverse = grl_jax.gradient_reversal


@pytest.fixture
def public_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(internals, "PUBLIC_ONLY", True)


@pytest.fixture
def missing_internals(monkeypatch: pytest.MonkeyPatch):
    """As if this JAX had neither jax.extend.core nor jax.core.Tracer."""
    monkeypatch.setitem(sys.modules, "jax.extend.core", None)  # import now raises
    monkeypatch.delattr(jax.core, "Tracer")
    internals._primitive_bind.cache_clear()
    internals._tracer_type.cache_clear()
    yield
    internals._primitive_bind.cache_clear()
    internals._tracer_type.cache_clear()


def test_the_primitive_is_the_default():
    x = jnp.ones(3)
    jaxpr = str(jax.make_jaxpr(lambda v: reverse(v, 0.5))(x))
    assert "gradient_reversal" in jaxpr and "custom_jvp" not in jaxpr


@pytest.mark.usefixtures("missing_internals")
def test_missing_internals_are_detected_and_the_fallback_taken():
    assert internals.reversal_op() is internals.custom_jvp_reversal
    assert internals.is_traced(jnp.ones(())) and not internals.is_traced(np.ones(()))
    assert internals.is_concrete(jnp.ones(()))
    jax.jit(lambda v: internals.is_concrete(v) and pytest.fail("a tracer read as concrete"))(1.0)
    x, c = jnp.asarray(sample("float32", (3,), 1)), jnp.asarray(sample("float32", (3,), 2))
    grad = jax.grad(lambda v: jnp.sum(c * reverse(v, 0.5)))(x)
    assert_same_bits(grad, reference_grad(c, 0.5))
    with pytest.raises(ValueError, match="must be >= 0"):
        reverse(x, jnp.float32(-1.0))  # a concrete λ is still checked in full


@pytest.mark.usefixtures("public_only")
@pytest.mark.parametrize("transform", list(TRANSFORMS))
def test_the_public_fallback_under_every_transformation(transform):
    x, c = jnp.asarray(sample("float32", (3,), 3)), jnp.asarray(sample("float32", (3,), 4))
    for kind in ("python-float", "python-int", "jax-bfloat16"):
        make, value, differentiable = KINDS[kind]
        out = TRANSFORMS[transform](x, make(), c, differentiable)
        gx = out[0] if isinstance(out, tuple) else out
        expected = reference_grad(c, np.float32(value))
        if transform == "hessian":
            np.testing.assert_allclose(gx, expected, rtol=2e-6)
        else:
            assert_same_bits(gx, expected)


@pytest.mark.usefixtures("public_only")
def test_the_public_fallback_to_higher_orders_and_per_example_lambda():
    with jax.enable_x64(True):
        x = jnp.asarray(sample("float64", (4,), 5))
        hessian = jax.hessian(lambda v: sum_sin(reverse, v, 0.5))(x)
        np.testing.assert_allclose(jnp.diagonal(hessian), -0.25 * np.sin(x), rtol=1e-14)
        third = jax.jacfwd(jax.hessian(lambda v: sum_sin(reverse, v, 0.5)))(x)
        np.testing.assert_allclose(np.einsum("iii->i", third), 0.125 * np.cos(x), rtol=1e-14)
    lambdas = jnp.asarray([0.5, 2.0], jnp.float32)
    c = jnp.asarray(sample("float32", (2, 3), 6))
    grads = jax.vmap(jax.grad(lambda v, lam_, w: jnp.sum(w * reverse(v, lam_))))(
        jnp.ones((2, 3)), lambdas, c
    )
    assert_same_bits(grads[1], reference_grad(c[1], np.float32(2.0)))
    assert "custom_jvp" in str(jax.make_jaxpr(lambda v: reverse(v, 0.5))(jnp.ones(2)))
