"""Argument checks for the JAX backend, run before any work is staged.

λ follows the shared rules of :mod:`grl.core.lambda_`. What can be checked depends on
what JAX lets us see:

* host numbers (Python, NumPy) and concrete ``jax.Array`` values are checked in full
  (type, dtype, rank, finite, ``>= 0``);
* traced λ (inside ``jit``, ``vmap``, ``grad``…) is checked for rank and dtype at trace
  time; its value is unknown until run time, and checking it there would need a host
  callback on every call, so it is not checked.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from grl.backends.jax.internals import is_concrete
from grl.core import lambda_ as rules

_VMAP_HINT = " (for one λ per example, map over the batch with jax.vmap)"


def default_float_dtype() -> np.dtype:
    """float64 when x64 is enabled (globally or by ``jax.enable_x64``), else float32: what
    a Python float becomes in JAX."""
    return np.dtype(jax.dtypes.canonicalize_dtype(np.float64))


def validated_lambda(lambda_: Any) -> float | jax.Array:
    """Validate λ; return a host number as a Python float and an array as it is.

    Nothing is put on a device: the eager identity needs no λ at all, so the caller
    makes an array only when the primitive is bound.
    """
    if rules.is_number_like(lambda_):
        if isinstance(lambda_, np.ndarray) and lambda_.ndim != 0:
            _raise_rank(lambda_)
        return rules.validate_lambda_number(lambda_)
    if not isinstance(lambda_, jax.Array):
        # A grl.jax schedule gets the same hint as the grl.core schedule it wraps.
        raise rules.type_error(getattr(lambda_, "grl_schedule", lambda_))
    dtype = lambda_.dtype
    if not is_real_floating(dtype):
        if not is_python_int(lambda_):
            rules.check_floating_dtype(False, np.dtype(dtype).name, lambda_)
        # A Python int that a transformation (jit, scan's carry) turned into an array.
        lambda_ = lambda_.astype(default_float_dtype())
    if lambda_.ndim != 0:
        _raise_rank(lambda_)
    if is_concrete(lambda_):
        # A jax.Array caches its host copy, so one λ array used call after call is read
        # from its device once.
        rules.check_real_value(float(np.asarray(lambda_)), lambda_)
    return lambda_


def is_python_int(value: jax.Array) -> bool:
    """A weakly typed integer array: what JAX makes of a Python int it traces."""
    dtype, weak = jax.dtypes.result_type(value, return_weak_type_flag=True)
    return weak and jnp.issubdtype(dtype, jnp.integer)


@functools.cache
def is_real_floating(dtype: Any) -> bool:
    """``jnp.issubdtype(dtype, jnp.floating)``, memoised (it is a slow check per call)."""
    return bool(jnp.issubdtype(dtype, jnp.floating))


@functools.cache
def is_inexact(dtype: Any) -> bool:
    """``jnp.issubdtype(dtype, jnp.inexact)`` (floating or complex), memoised."""
    return bool(jnp.issubdtype(dtype, jnp.inexact))


def _raise_rank(lambda_: Any) -> None:
    try:
        rules.check_rank(tuple(np.shape(lambda_)), lambda_)
    except ValueError as error:
        raise ValueError(f"{error}{_VMAP_HINT}") from None


def is_array_leaf(leaf: Any) -> bool:
    """JAX arrays (tracers included) and NumPy arrays or scalars.

    Python scalars are refused: a constant cannot carry a gradient, so a Python number in
    ``x`` is almost always a mistake (wrap it with ``jnp.asarray`` if meant).
    """
    return isinstance(leaf, jax.Array | np.ndarray | np.generic)


def leaf_type_error(tree: Any) -> TypeError:
    """The error for the first leaf of ``tree`` that is not an array, naming its path."""
    for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
        if not is_array_leaf(leaf):
            return TypeError(
                f"x{jax.tree_util.keystr(path)} must be a JAX or NumPy array (or a pytree of "
                f"them); got {rules.describe(leaf)} of type {type(leaf).__name__}"
            )
    raise AssertionError("every leaf is an array")
