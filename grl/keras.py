"""grl for Keras 3 on any backend: the ``GradientReversal`` layer and the
``GradientReversalScheduler`` callback.

The layer runs the GRL op of the active Keras backend (``KERAS_BACKEND`` = ``tensorflow``,
``jax`` or ``torch``) and imports only that framework: with ``KERAS_BACKEND=jax`` this
module never imports TensorFlow. These are the same classes as ``grl.tf.GradientReversal``
and ``grl.tf.GradientReversalScheduler``.
"""

import importlib

try:
    _keras = importlib.import_module("keras")
except ImportError as error:
    raise ImportError(
        f"grl.keras needs Keras 3, which could not be imported ({error}). "
        "Install it with: pip install 'keras>=3' (plus a backend: tensorflow, jax or torch)"
    ) from error
if int(_keras.__version__.split(".")[0]) < 3:
    raise ImportError(
        f"grl.keras needs Keras 3; found keras {_keras.__version__}. "
        "Install it with: pip install 'keras>=3'"
    )

from grl.backends.keras import GradientReversal, GradientReversalScheduler

__all__ = ["GradientReversal", "GradientReversalScheduler"]
