"""JAX backend: the GRL op, optax-style schedules and (lazily) Flax modules.

``grl.backends.jax.nnx`` and ``grl.backends.jax.linen`` import Flax; nothing else here does.
"""

from grl.backends.jax import schedules
from grl.backends.jax.ops import gradient_reversal

__all__ = ["gradient_reversal", "schedules"]
