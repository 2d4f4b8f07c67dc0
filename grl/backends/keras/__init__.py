"""Keras 3 layer and callback, dispatching to the op of the active Keras backend."""

from grl.backends.keras.callback import GradientReversalScheduler
from grl.backends.keras.layer import GradientReversal

__all__ = ["GradientReversal", "GradientReversalScheduler"]
