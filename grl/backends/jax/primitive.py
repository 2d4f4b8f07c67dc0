"""The GRL as a JAX primitive whose JVP rule binds the primitive itself for its primal output.

``gradient_reversal_p(x, λ)`` is the identity on ``x``. Its rules:

* JVP: ``(x, t) ↦ (gradient_reversal_p(x, λ), t · cast(−λ, dtype(t)))``. The tangent is
  linear in ``t``, so JAX transposes it into the backward ``g · cast(−λ, dtype(g))``: one
  multiply, in the cotangent's own dtype. λ's own tangent is ignored (a meta-parameter).
* The primal output is the primitive again, never plain ``x``: JAX differentiates the JVP
  rule for higher orders, and a primal computed by plain code would be "consumed" by the
  first differentiation (the second derivative of ``sin(R(x))`` would come out as
  ``+λ·sin x``). Binding the primitive keeps every order consistent: each derivative
  through the GRL applies −λ·I (``−λ²·sin x`` for the second, ``λ³·cos x`` for the third).

Why a primitive and not ``jax.custom_jvp`` with the same rule: JAX (0.10) inlines a
``custom_jvp`` function into its plain primal body whenever it partially evaluates it with
some inputs unknown, on the assumption that only linear functions are being built. ``scan``
does exactly that when it hoists loop invariants out of the linearized body, so inside
``lax.scan``/``lax.map`` the rule was lost after the first derivative (``+λ·sin x`` again).
A primitive is never inlined. Why not ``custom_vjp``: it cannot be used in forward mode
(``jvp``, ``jacfwd``, ``hessian`` raise TypeError).

λ is an array operand (never a static parameter), so a new λ never recompiles. Inside the
primitive λ is 0-d or, after batching (``vmap`` with one λ per example), an array that
broadcasts against ``x`` (the batch dimension leads, the others are 1), so that
``t · cast(−λ)`` scales each example by its own λ.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.core import Primitive
from jax.interpreters import ad, batching, mlir

__all__ = ["cast_negated_lambda", "gradient_reversal_p", "scale_by_negated_lambda"]

_SIXTEEN_BIT = (np.dtype(jnp.float16), np.dtype(jnp.bfloat16))

gradient_reversal_p = Primitive("gradient_reversal")


def cast_negated_lambda(lambda_: jax.Array, dtype: Any) -> jax.Array:
    """``cast(−λ, dtype)``: 16-bit targets go through float32, as in the NumPy reference."""
    negated = -lambda_
    if np.dtype(dtype) in _SIXTEEN_BIT and negated.dtype == np.float64:
        negated = negated.astype(jnp.float32)
    return negated.astype(dtype)


def scale_by_negated_lambda(tangent: jax.Array, lambda_: jax.Array) -> jax.Array:
    """``t · cast(−λ, dtype(t))``, one multiply in ``t``'s dtype.

    A complex ``t`` has its real and imaginary parts scaled by the real factor, as the
    reference specifies: a complex multiply by ``(−λ + 0j)`` would add ``inf·0 = NaN`` and
    stray signed zeros.
    """
    if jnp.issubdtype(tangent.dtype, jnp.complexfloating):
        return _scale_complex(tangent, lambda_)
    return tangent * cast_negated_lambda(lambda_, tangent.dtype)


@jax.jit
def _scale_complex(tangent: jax.Array, lambda_: jax.Array) -> jax.Array:
    # Reverse mode transposes real/imag by adding a +0 part, so a −0 part of a complex
    # cotangent may come back as +0 (values are exact). Jitting makes that transpose one
    # XLA computation in eager mode too, so eager and jitted gradients have the same bits
    # (op-by-op execution flushes subnormal intermediates differently from a fused one).
    factor = cast_negated_lambda(lambda_, jnp.finfo(tangent.dtype).dtype)
    return jax.lax.complex(jax.lax.real(tangent) * factor, jax.lax.imag(tangent) * factor)


def _identity(x: Any, lambda_: Any) -> Any:
    return x  # eagerly the very input object: no copy


def _abstract_eval(x: Any, lambda_: Any) -> Any:
    if np.broadcast_shapes(lambda_.shape, x.shape) != x.shape:
        raise ValueError(f"internal: λ of shape {lambda_.shape} for x of shape {x.shape}")
    return x  # same shape, dtype, weak type and sharding


def _lower(ctx: Any, x: Any, lambda_: Any) -> list[Any]:
    return [x]


def _jvp(primals: tuple[Any, Any], tangents: tuple[Any, Any]) -> tuple[Any, Any]:
    x, lambda_ = primals
    x_tangent, _ = tangents  # λ is a meta-parameter: its tangent is ignored
    lambda_ = jax.lax.stop_gradient(lambda_)
    out = gradient_reversal_p.bind(x, lambda_)
    if type(x_tangent) is ad.Zero:
        return out, x_tangent
    return out, scale_by_negated_lambda(x_tangent, lambda_)


def _batch(args: tuple[Any, Any], dims: tuple[Any, Any]) -> tuple[Any, int | None]:
    x, lambda_ = args
    x_dim, lambda_dim = dims
    if lambda_dim is None:
        if lambda_.ndim == 0 or x_dim is None:
            return gradient_reversal_p.bind(x, lambda_), x_dim
        # λ was aligned to x's trailing dims by an inner vmap: lead with the batch dim.
        return gradient_reversal_p.bind(jnp.moveaxis(x, x_dim, 0), lambda_), 0
    size = lambda_.shape[lambda_dim]
    x = jnp.broadcast_to(x, (size, *x.shape)) if x_dim is None else jnp.moveaxis(x, x_dim, 0)
    lambda_ = jnp.moveaxis(lambda_, lambda_dim, 0)
    # One λ per example: [B, *λ_rest] -> [B, 1, ..., 1, *λ_rest], broadcastable to x.
    lambda_ = lambda_.reshape((size,) + (1,) * (x.ndim - lambda_.ndim) + lambda_.shape[1:])
    return gradient_reversal_p.bind(x, lambda_), 0


gradient_reversal_p.def_impl(_identity)
gradient_reversal_p.def_abstract_eval(_abstract_eval)
mlir.register_lowering(gradient_reversal_p, _lower)
ad.primitive_jvps[gradient_reversal_p] = _jvp
batching.primitive_batchers[gradient_reversal_p] = _batch
