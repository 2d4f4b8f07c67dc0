"""grl for JAX: ``gradient_reversal`` as a ``jax.custom_jvp`` rule.

Imports neither PyTorch nor TensorFlow.
"""

from grl._frameworks import require

require("jax")

from grl.backends.jax import gradient_reversal  # noqa: E402

__all__ = ["gradient_reversal"]
