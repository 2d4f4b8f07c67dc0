"""JAX backend: a ``jax.custom_jvp`` rule."""

from grl.backends.jax.ops import gradient_reversal

__all__ = ["gradient_reversal"]
