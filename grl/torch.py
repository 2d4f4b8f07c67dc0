"""grl for PyTorch: ``gradient_reversal``, the ``GradientReversal`` module and ``step_all``.

λ schedules come from :mod:`grl.core.schedules` (re-exported here as ``schedules``).
Imports neither TensorFlow nor JAX.
"""

from grl._frameworks import require

require("torch")

from grl.backends.torch import GradientReversal, gradient_reversal, step_all  # noqa: E402
from grl.core import schedules  # noqa: E402

__all__ = ["GradientReversal", "gradient_reversal", "schedules", "step_all"]
