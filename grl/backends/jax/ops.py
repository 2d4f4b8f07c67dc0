"""The GRL as a ``jax.custom_jvp`` rule whose primal output calls the rule itself.

Why ``custom_jvp`` and not ``custom_vjp``: a ``custom_vjp`` rule cannot be used in forward
mode (``jvp``, ``jacfwd``, ``hessian`` raise TypeError). Why the JVP rule computes its
primal output by calling the GRL again: JAX differentiates the JVP rule itself for higher
orders, so a primal computed by plain code (``return x``) would be "consumed" by the first
differentiation and the second derivative of ``sin(R(x))`` would come out as ``+λ·sin x``.
Calling the rule keeps every order consistent: each derivative through the GRL applies
−λ·I (``−λ²·sin x`` for the second). The tangent ``t · cast(−λ, t.dtype)`` is linear in
``t``, so JAX transposes it into the backward ``g · cast(−λ, g.dtype)``: one multiply.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from grl.core import lambda_ as spec

_SIXTEEN_BIT = (jnp.dtype(jnp.float16), jnp.dtype(jnp.bfloat16))


def cast_negated_lambda(lambda_: jax.Array, dtype: Any) -> jax.Array:
    """``cast(−λ, dtype)``: 16-bit targets go through float32, as in the NumPy reference."""
    negated = -lambda_
    if jnp.dtype(dtype) in _SIXTEEN_BIT and negated.dtype == jnp.float64:
        negated = negated.astype(jnp.float32)
    return negated.astype(dtype)


@jax.custom_jvp
def _reversal(x: jax.Array, lambda_: jax.Array) -> jax.Array:
    return x


@_reversal.defjvp
def _reversal_jvp(primals: tuple[jax.Array, jax.Array], tangents: tuple[Any, Any]) -> Any:
    x, lambda_ = primals
    x_tangent, _ = tangents  # λ is a meta-parameter: its tangent is ignored.
    lambda_ = jax.lax.stop_gradient(lambda_)
    return _reversal(x, lambda_), x_tangent * cast_negated_lambda(lambda_, x_tangent.dtype)


def lambda_array(lambda_: Any) -> jax.Array:
    """Validate λ and return it as a 0-d floating array.

    Host numbers become float64 arrays when x64 is enabled, else float32. Traced λ (under
    ``jit``) is checked for rank and dtype at trace time; concrete arrays are checked in full.
    """
    if spec.is_number_like(lambda_):
        value = spec.validate_lambda_number(lambda_)
        return jnp.asarray(value, dtype=jnp.float64 if jax.config.x64_enabled else jnp.float32)
    if not isinstance(lambda_, jax.Array):
        raise spec.type_error(lambda_)
    dtype = jnp.dtype(lambda_.dtype)
    spec.check_floating_dtype(jnp.issubdtype(dtype, jnp.floating), dtype.name, lambda_)
    spec.check_rank(tuple(lambda_.shape), lambda_)
    if not isinstance(lambda_, jax.core.Tracer):
        spec.check_real_value(float(np.asarray(lambda_)), lambda_)
    return lambda_


def gradient_reversal(x: Any, lambda_: Any = 1.0) -> jax.Array:
    """Gradient reversal: ``R_λ(x) = x`` forward, ``∂L/∂x = −λ·∂L/∂R`` backward.

    Args:
        x: an array. Floating and complex arrays get the reversed derivative (in every
            mode and order); other dtypes are returned unchanged.
        lambda_: a number ≥ 0 or a 0-d floating array (traced values under ``jit`` never
            cause a recompile).
    """
    lam = lambda_array(lambda_)
    if not isinstance(x, jax.Array):
        if isinstance(x, (np.ndarray, np.generic)):
            x = jnp.asarray(x)
        else:
            raise TypeError(
                f"x must be a JAX or NumPy array; got {type(x).__name__}: {spec.describe(x)}"
            )
    if not jnp.issubdtype(x.dtype, jnp.inexact):
        return x
    return _reversal(x, lam)
