"""grl for TensorFlow/Keras: the ``gradient_reversal`` op, the ``GradientReversal`` layer
and the ``GradientReversalScheduler`` callback.

The layer and callback are Keras 3 objects that work on every Keras backend (they are also
available without TensorFlow from :mod:`grl.keras`). Imports neither PyTorch nor JAX
unless ``KERAS_BACKEND`` selects one of them.
"""

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from grl._frameworks import require

require("tf")

from grl.backends.tf import (  # noqa: E402
    GradientReversal,
    GradientReversalScheduler,
    gradient_reversal,
)

if TYPE_CHECKING:
    from grl.backends.keras import diagnostics

__all__ = ["GradientReversal", "GradientReversalScheduler", "diagnostics", "gradient_reversal"]


def __getattr__(name: str) -> ModuleType:
    # The monitor, warnings and placement check (docs/diagnostics.md), loaded on first use.
    if name != "diagnostics":
        raise AttributeError(f"module 'grl.tf' has no attribute {name!r}")
    return importlib.import_module("grl.backends.keras.diagnostics")
