"""JAX GRLs to compare with, re-implemented here from their common description.

* the ``jax.custom_vjp`` layer of most JAX DANN code: forward ``x``, backward
  ``(−g)·λ`` (two passes eagerly), λ a Python float in ``nondiff_argnums`` (so a new λ
  is a new static value: a retrace under ``jit``);
* the ``stop_gradient`` trick ``−λx + (1+λ)·stop_gradient(x)``: gradient ``−λ``, value
  ``x`` only up to rounding, and a full forward computation.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from benchmarks.peers.names import CUSTOM_VJP, STOP_GRADIENT


@partial(jax.custom_vjp, nondiff_argnums=(1,))
def custom_vjp_reversal(x: jax.Array, lambda_: float) -> jax.Array:
    return x


def _forward(x: jax.Array, lambda_: float) -> tuple[jax.Array, None]:
    return x, None


def _backward(lambda_: float, residual: None, g: jax.Array) -> tuple[jax.Array]:
    return (-g * lambda_,)


custom_vjp_reversal.defvjp(_forward, _backward)


def stop_gradient_trick(x: jax.Array, lambda_: jax.Array) -> jax.Array:
    lambda_ = lambda_.astype(x.dtype)
    return -lambda_ * x + (1 + lambda_) * jax.lax.stop_gradient(x)


ORIGINS = {
    CUSTOM_VJP: "re-implemented here (the usual jax.custom_vjp GRL, λ static)",
    STOP_GRADIENT: "re-implemented here (a common snippet)",
}


def as_array(value: float) -> jax.Array:
    return jnp.asarray(value, dtype=jnp.float32)
