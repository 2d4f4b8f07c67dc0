"""The GRL as a ``jax.custom_jvp`` rule whose primal output calls the rule itself.

Why ``custom_jvp`` and not ``custom_vjp``: a ``custom_vjp`` rule cannot be used in forward
mode (``jvp``, ``jacfwd``, ``hessian`` raise TypeError). Why the JVP rule computes its
primal output by calling the GRL again: JAX differentiates the JVP rule itself for higher
orders, so a primal computed by plain code (``return x``) would be "consumed" by the first
differentiation and the second derivative of ``sin(R(x))`` would come out as ``+λ·sin x``.
Calling the rule keeps every order consistent: each derivative through the GRL applies
−λ·I (``−λ²·sin x`` for the second, ``λ³·cos x`` for the third). The tangent
``t · cast(−λ, t.dtype)`` is linear in ``t``, so JAX transposes it into the backward
``g · cast(−λ, g.dtype)``: one multiply, in the cotangent's own dtype.

λ is an ordinary array argument (never a static one), so a traced λ never retraces, and
``vmap`` over λ (one λ per example) goes through ``custom_jvp``'s own batching.
"""

from __future__ import annotations

from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from grl.backends.jax.validation import lambda_array, leaf_array

_SIXTEEN_BIT = (np.dtype(jnp.float16), np.dtype(jnp.bfloat16))

Tree = TypeVar("Tree")


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


@jax.custom_jvp
def _reversal(x: jax.Array, lambda_: jax.Array) -> jax.Array:
    return x


@_reversal.defjvp
def _reversal_jvp(primals: tuple[jax.Array, jax.Array], tangents: tuple[Any, Any]) -> Any:
    x, lambda_ = primals
    x_tangent, _ = tangents  # λ is a meta-parameter: its tangent is ignored.
    lambda_ = jax.lax.stop_gradient(lambda_)
    return _reversal(x, lambda_), scale_by_negated_lambda(x_tangent, lambda_)


def _reverse_leaf(leaf: jax.Array | np.ndarray, lambda_: jax.Array) -> Any:
    if not jnp.issubdtype(leaf.dtype, jnp.inexact):
        return leaf  # integers and booleans have no gradient to reverse
    if not isinstance(leaf, jax.Array):
        leaf = jnp.asarray(leaf)
    return _reversal(leaf, lambda_)


def gradient_reversal(x: Tree, lambda_: Any = 1.0) -> Tree:
    """Gradient reversal: ``R_λ(x) = x`` forward, ``∂L/∂x = −λ·∂L/∂R`` backward.

    Every derivative through ``R_λ`` applies ``−λ·I``, in every mode and order: ``grad``,
    ``jvp``/``jacfwd`` (tangent ``t ↦ −λ·t``), ``hessian`` (``∂²/∂x² Σ sin R_λ(x) =
    −λ²·sin x``) and beyond, under ``jit``, ``vmap``, ``checkpoint``, ``scan`` and ``cond``.

    Args:
        x: a JAX or NumPy array, or any pytree of them. Floating and complex leaves get
            the reversed derivative; integer and boolean leaves are returned untouched.
            NumPy leaves are converted with ``jnp.asarray`` (as every JAX function does).
        lambda_: the reversal strength, a real number ``>= 0`` or a 0-d floating array.
            The same λ applies to every leaf. A traced λ (a ``jit`` argument) never causes
            a recompile. For one λ per example, ``jax.vmap`` over ``x`` and ``lambda_``.

    Returns:
        ``x`` with the same structure, dtypes and values (outside ``jit``, array leaves are
        the very objects passed in). Cotangents keep each leaf's dtype whatever λ's dtype:
        ``g · cast(−λ, dtype(g))``, with 16-bit dtypes cast through float32.

    Raises:
        TypeError: ``lambda_`` is not a real number or floating array, or a leaf of ``x``
            is not an array (the message names the leaf's path).
        ValueError: ``lambda_`` is negative, NaN, infinite, or not 0-d.
    """
    lam = lambda_array(lambda_)
    paths_and_leaves, treedef = jax.tree_util.tree_flatten_with_path(x)
    # Every leaf is checked before any is staged, so a bad leaf leaves no half-built graph.
    leaves = [leaf_array(leaf, jax.tree_util.keystr(path)) for path, leaf in paths_and_leaves]
    return jax.tree_util.tree_unflatten(treedef, [_reverse_leaf(leaf, lam) for leaf in leaves])
