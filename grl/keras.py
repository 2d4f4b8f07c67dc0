"""grl for Keras 3 on any backend: the ``GradientReversal`` layer and the
``GradientReversalScheduler`` callback.

The layer runs the GRL op of the active Keras backend (``KERAS_BACKEND`` = ``tensorflow``,
``jax`` or ``torch``) and imports only that framework: with ``KERAS_BACKEND=jax`` this
module never imports TensorFlow. These are the same classes as ``grl.tf.GradientReversal``
and ``grl.tf.GradientReversalScheduler``.
"""

from grl._frameworks import install_hint, require

_keras = require("keras", "grl.keras")
if int(_keras.__version__.split(".")[0]) < 3:
    raise ImportError(
        f"grl.keras needs Keras 3; found keras {_keras.__version__}. "
        f"Install it with: {install_hint('keras')}"
    )

from grl.backends.keras import GradientReversal, GradientReversalScheduler  # noqa: E402

__all__ = ["GradientReversal", "GradientReversalScheduler"]
