"""The GRL's derivative rule, with public JAX APIs only, and the public form of the op.

Every derivative through ``R_λ`` maps a tangent (or cotangent) ``t`` to
``t · cast(−λ, dtype(t))``: one multiply in ``t``'s own dtype. λ's own tangent is ignored
(a meta-parameter). :mod:`.internals` builds the preferred form of the op (a primitive)
on these rules; :func:`custom_jvp_reversal` is the fallback when those internals are
missing.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["cast_negated_lambda", "custom_jvp_reversal", "scale_by_negated_lambda"]

_SIXTEEN_BIT = (np.dtype(jnp.float16), np.dtype(jnp.bfloat16))


def cast_negated_lambda(lambda_: Any, dtype: Any) -> jax.Array:
    """``cast(−λ, dtype)``: 16-bit targets go through float32, as in the NumPy reference.

    λ may be a Python float: a primal that a transformation left on the host (``jax.jvp``
    or ``jax.grad(argnums=...)`` with a Python-float λ).
    """
    negated = -jnp.asarray(lambda_)
    if np.dtype(dtype) in _SIXTEEN_BIT and negated.dtype == np.float64:
        negated = negated.astype(jnp.float32)
    return negated.astype(dtype)


def scale_by_negated_lambda(tangent: jax.Array, lambda_: Any) -> jax.Array:
    """``t · cast(−λ, dtype(t))``, one multiply in ``t``'s dtype.

    A complex ``t`` has its real and imaginary parts scaled by the real factor, as the
    reference specifies: a complex multiply by ``(−λ + 0j)`` would add ``inf·0 = NaN`` and
    stray signed zeros.
    """
    if jnp.issubdtype(tangent.dtype, jnp.complexfloating):
        return _scale_complex(tangent, jnp.asarray(lambda_))
    return tangent * cast_negated_lambda(lambda_, tangent.dtype)


@jax.jit
def _scale_complex(tangent: jax.Array, lambda_: jax.Array) -> jax.Array:
    # Reverse mode transposes real/imag by adding a +0 part, so a −0 part of a complex
    # cotangent may come back as +0 (values are exact). Jitting makes that transpose one
    # XLA computation in eager mode too, so eager and jitted gradients have the same bits
    # (op-by-op execution flushes subnormal intermediates differently from a fused one).
    factor = cast_negated_lambda(lambda_, jnp.finfo(tangent.dtype).dtype)
    return jax.lax.complex(jax.lax.real(tangent) * factor, jax.lax.imag(tangent) * factor)


@jax.custom_jvp
def custom_jvp_reversal(x: jax.Array, lambda_: jax.Array) -> jax.Array:
    """``R_λ`` as a ``jax.custom_jvp`` whose rule calls itself for its primal output.

    The fallback of :mod:`.internals`: right to every order under ``jit``, ``vmap``,
    ``grad``, ``jvp``, ``checkpoint``, but inside ``lax.scan``/``lax.map`` JAX inlines a
    ``custom_jvp`` into its plain body when it hoists loop invariants, so second and higher
    derivatives there lose the rule (docs/internals.md, "JAX").
    """
    return x


@custom_jvp_reversal.defjvp
def _custom_jvp_rule(primals: tuple[Any, Any], tangents: tuple[Any, Any]) -> tuple[Any, Any]:
    x, lambda_ = primals
    lambda_ = jax.lax.stop_gradient(lambda_)
    return custom_jvp_reversal(x, lambda_), scale_by_negated_lambda(tangents[0], lambda_)
