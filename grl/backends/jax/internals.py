"""Every private or undocumented JAX API grl uses, in this one module, each with a fallback.

Each is feature-detected on first use. Where one is missing or fails (a JAX release moved
or changed it) grl takes the public path written next to it, which gives the same values;
``GRL_JAX_PUBLIC_ONLY=1`` (or :data:`PUBLIC_ONLY`) forces every fallback, and the tests
do so. The list, with the reasons, is in ``docs/internals.md`` ("JAX").

* ``jax.extend.core.Primitive`` with ``jax.interpreters.ad`` (``primitive_jvps``,
  ``Zero``), ``jax.interpreters.batching.primitive_batchers`` and
  ``jax.interpreters.mlir.register_lowering``: the GRL as a primitive whose JVP rule binds
  itself, right to every order under every transformation, ``lax.scan`` included.
  Fallback: :func:`grl.backends.jax.rules.custom_jvp_reversal` (loses the rule for second
  and higher derivatives inside ``lax.scan``/``lax.map``). Imported on the first traced
  call, not with ``grl.jax`` (``jax.extend`` costs about 60 ms of import time).
* ``jax.core.Tracer``: whether a value is traced, so that an eager call on constants does
  no device work and a concrete λ is checked in full. Fallback: treat every ``jax.Array``
  as possibly traced (bind the op; check λ's value where JAX can read it).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from grl.backends.jax.rules import custom_jvp_reversal, scale_by_negated_lambda

__all__ = ["PUBLIC_ONLY", "is_concrete", "is_traced", "reversal_op"]

#: True: use the public fallbacks only (tests set it; so does GRL_JAX_PUBLIC_ONLY=1).
PUBLIC_ONLY = os.environ.get("GRL_JAX_PUBLIC_ONLY", "") == "1"

#: R_λ is the identity forward but −λ·I for every derivative, so it is no linear map that
#: jax.linear_transpose could transpose: refused rather than answered with either value.
LINEAR_TRANSPOSE_ERROR = (
    "gradient_reversal cannot be transposed with jax.linear_transpose: it is the identity "
    "forward but every derivative is −λ·I, so it is not a linear function; use jax.vjp "
    "(or jax.grad) for the reversed cotangent"
)

ReversalOp = Callable[[jax.Array, jax.Array], jax.Array]


def reversal_op() -> ReversalOp:
    """``(x, λ) -> R_λ(x)`` for traced operands: the primitive, else the custom_jvp."""
    if not PUBLIC_ONLY:
        bind = _primitive_bind()
        if bind is not None:
            return bind
    return custom_jvp_reversal


def is_traced(value: Any) -> bool:
    """True for a tracer; with the public fallback, for any ``jax.Array`` (it may be one)."""
    tracer = None if PUBLIC_ONLY else _tracer_type()
    if tracer is None:
        return isinstance(value, jax.Array)
    return isinstance(value, tracer)


def is_concrete(value: jax.Array) -> bool:
    """True where ``value``'s contents can be read now (it is not traced)."""
    tracer = None if PUBLIC_ONLY else _tracer_type()
    if tracer is not None:
        return not isinstance(value, tracer)
    try:
        np.asarray(value)
    except (jax.errors.ConcretizationTypeError, jax.errors.TracerArrayConversionError):
        return False
    return True


@functools.cache
def _tracer_type() -> type | None:
    tracer = getattr(getattr(jax, "core", None), "Tracer", None)
    return tracer if isinstance(tracer, type) else None


@functools.cache
def _primitive_bind() -> ReversalOp | None:
    try:
        return _define_primitive().bind
    except (ImportError, AttributeError, TypeError):
        return None


# -- the primitive ---------------------------------------------------------------------------
# gradient_reversal_p(x, λ) is the identity on x. JVP: (x, t) ↦ (gradient_reversal_p(x, λ),
# t · cast(−λ, dtype(t))); JAX transposes the linear tangent into the backward. The primal
# output binds the primitive again, never plain x: JAX differentiates the JVP rule for
# higher orders, and a primal computed by plain code would be "consumed" by the first
# differentiation (the second derivative of sin(R(x)) would be +λ·sin x). A primitive,
# unlike a custom_jvp, is never inlined into its plain body (which lax.scan does when it
# hoists loop invariants). λ is an array operand, never a static parameter: a new λ never
# recompiles. After batching with one λ per example, λ broadcasts against x (batch
# dimension first, the others 1).


def _define_primitive() -> Any:
    from jax.extend.core import Primitive
    from jax.interpreters import ad, batching, mlir

    primitive = Primitive("gradient_reversal")

    def abstract_eval(x: Any, lambda_: Any) -> Any:
        # λ is 0-d, or batched so that it broadcasts against x. Shapes are compared by
        # rank only: under jax.export dimensions may be symbolic.
        if lambda_.ndim > x.ndim:
            raise ValueError(f"internal: λ of shape {lambda_.shape} for x of shape {x.shape}")
        return x  # same shape, dtype, weak type and sharding

    def jvp(primals: tuple[Any, Any], tangents: tuple[Any, Any]) -> tuple[Any, Any]:
        x, lambda_ = primals
        # A transformation may leave a Python-float λ on the host; its tangent is ignored.
        lambda_ = jax.lax.stop_gradient(jnp.asarray(lambda_))
        out = primitive.bind(x, lambda_)
        if type(tangents[0]) is ad.Zero:
            return out, tangents[0]
        return out, scale_by_negated_lambda(tangents[0], lambda_)

    def batch(args: tuple[Any, Any], dims: tuple[Any, Any]) -> tuple[Any, int | None]:
        x, lambda_ = args
        x_dim, lambda_dim = dims
        if lambda_dim is None:
            if lambda_.ndim == 0 or x_dim is None:
                return primitive.bind(x, lambda_), x_dim
            # λ was aligned to x's trailing dims by an inner vmap: lead with the batch dim.
            return primitive.bind(jnp.moveaxis(x, x_dim, 0), lambda_), 0
        size = lambda_.shape[lambda_dim]
        x = jnp.broadcast_to(x, (size, *x.shape)) if x_dim is None else jnp.moveaxis(x, x_dim, 0)
        lambda_ = jnp.moveaxis(lambda_, lambda_dim, 0)
        # One λ per example: [B, *λ_rest] -> [B, 1, ..., 1, *λ_rest], broadcastable to x.
        lambda_ = lambda_.reshape((size,) + (1,) * (x.ndim - lambda_.ndim) + lambda_.shape[1:])
        return primitive.bind(x, lambda_), 0

    def transpose(*args: Any, **kwargs: Any) -> Any:
        raise TypeError(LINEAR_TRANSPOSE_ERROR)

    primitive.def_impl(lambda x, lambda_: x)  # eagerly the very input object: no copy
    primitive.def_abstract_eval(abstract_eval)
    mlir.register_lowering(primitive, lambda ctx, x, lambda_: [x])
    ad.primitive_jvps[primitive] = jvp
    batching.primitive_batchers[primitive] = batch
    ad.primitive_transposes[primitive] = transpose
    return primitive
