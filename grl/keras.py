"""grl for Keras 3 on any backend: the ``GradientReversal`` layer and the
``GradientReversalScheduler`` callback.

The layer runs the GRL op of the active Keras backend (``KERAS_BACKEND`` = ``tensorflow``,
``jax`` or ``torch``) and imports only that framework: with ``KERAS_BACKEND=jax`` this
module never imports TensorFlow. These are the same classes as ``grl.tf.GradientReversal``
and ``grl.tf.GradientReversalScheduler``.
"""

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from grl._frameworks import install_hint, require

_keras = require("keras", "grl.keras")
if int(_keras.__version__.split(".")[0]) < 3:
    raise ImportError(
        f"grl.keras needs Keras 3; found keras {_keras.__version__}. "
        f"Install it with: {install_hint('keras')}"
    )

from grl.backends.keras import GradientReversal, GradientReversalScheduler  # noqa: E402

if TYPE_CHECKING:
    from grl.backends.keras import diagnostics

__all__ = ["GradientReversal", "GradientReversalScheduler", "diagnostics"]


def __getattr__(name: str) -> ModuleType:
    # The monitor, warnings and placement check (docs/diagnostics.md), loaded on first use.
    if name != "diagnostics":
        raise AttributeError(f"module 'grl.keras' has no attribute {name!r}")
    return importlib.import_module("grl.backends.keras.diagnostics")
