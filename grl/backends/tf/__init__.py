"""TensorFlow backend: a ``tf.custom_gradient`` op and a Keras 3 layer."""

from grl.backends.tf.layer import GradientReversal
from grl.backends.tf.ops import gradient_reversal

__all__ = ["GradientReversal", "gradient_reversal"]
