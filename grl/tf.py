"""grl for TensorFlow/Keras: ``gradient_reversal`` and the ``GradientReversal`` layer.

Imports neither PyTorch nor JAX.
"""

from grl._frameworks import require

require("tf")

from grl.backends.tf import GradientReversal, gradient_reversal  # noqa: E402

__all__ = ["GradientReversal", "gradient_reversal"]
