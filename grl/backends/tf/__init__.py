"""TensorFlow backend: the ``gradient_reversal`` op (hand-recorded eagerly, a
``tf.custom_gradient`` in graphs).

The Keras layer lives in :mod:`grl.backends.keras` (it serves every Keras backend) and is
re-exported here and from :mod:`grl.tf`.
"""

from grl.backends.keras import GradientReversal, GradientReversalScheduler
from grl.backends.tf.ops import gradient_reversal

__all__ = ["GradientReversal", "GradientReversalScheduler", "gradient_reversal"]
