"""grl for PyTorch: ``gradient_reversal`` and the ``GradientReversal`` module.

Imports neither TensorFlow nor JAX.
"""

from grl._frameworks import require

require("torch")

from grl.backends.torch import GradientReversal, gradient_reversal  # noqa: E402

__all__ = ["GradientReversal", "gradient_reversal"]
