"""grl for TensorFlow/Keras: the ``gradient_reversal`` op, the ``GradientReversal`` layer
and the ``GradientReversalScheduler`` callback.

The layer and callback are Keras 3 objects that work on every Keras backend (they are also
available without TensorFlow from :mod:`grl.keras`). Imports neither PyTorch nor JAX
unless ``KERAS_BACKEND`` selects one of them.
"""

from grl._frameworks import require

require("tf")

from grl.backends.tf import (  # noqa: E402
    GradientReversal,
    GradientReversalScheduler,
    gradient_reversal,
)

__all__ = ["GradientReversal", "GradientReversalScheduler", "gradient_reversal"]
