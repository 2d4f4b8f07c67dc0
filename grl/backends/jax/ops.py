"""``gradient_reversal``: validation, pytrees and the op of :mod:`.internals`.

λ is validated once (host values in full, traced ones for rank and dtype at trace time),
every leaf of ``x`` is checked before anything is staged, and each floating or complex
leaf goes through :func:`.internals.reversal_op`; integer and boolean leaves pass through.

A leaf goes through the op only when it or λ is traced. Where neither is, no
transformation can see the call (to every trace, a value that is not a tracer is a
constant), and ``R_λ(x) = x`` is the leaf itself: an eager call does no device work and
puts no λ on the device.
"""

from __future__ import annotations

from typing import Any, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from grl.backends.jax.internals import is_traced, reversal_op
from grl.backends.jax.validation import (
    default_float_dtype,
    is_array_leaf,
    is_inexact,
    leaf_type_error,
    validated_lambda,
)

Tree = TypeVar("Tree")


class _Lambda:
    """λ for the binds of one call: a host number becomes an array at the first bind."""

    __slots__ = ("_array", "value")

    def __init__(self, value: float | jax.Array) -> None:
        self.value = value
        self._array: jax.Array | None = None

    def array(self) -> jax.Array:
        if self._array is None:
            value = self.value
            self._array = (
                jnp.asarray(value, dtype=default_float_dtype())
                if isinstance(value, float)
                else value
            )
        return self._array


def _reverse_leaf(leaf: jax.Array | np.ndarray, lambda_: _Lambda) -> Any:
    if not is_inexact(leaf.dtype):
        return leaf  # integers and booleans have no gradient to reverse
    if not isinstance(leaf, jax.Array):
        leaf = jnp.asarray(leaf)
    if not (is_traced(leaf) or is_traced(lambda_.value)):
        return leaf
    return reversal_op()(leaf, lambda_.array())


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
    lam = _Lambda(validated_lambda(lambda_))
    if isinstance(x, jax.Array):  # the common case, one array: no pytree round trip
        return _reverse_leaf(x, lam)
    leaves, treedef = jax.tree_util.tree_flatten(x)
    # Every leaf is checked before any is staged, so a bad leaf leaves no half-built graph.
    if not all(is_array_leaf(leaf) for leaf in leaves):
        raise leaf_type_error(x)
    return jax.tree_util.tree_unflatten(treedef, [_reverse_leaf(leaf, lam) for leaf in leaves])
