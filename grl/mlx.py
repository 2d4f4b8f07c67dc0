"""grl for MLX: ``gradient_reversal`` and the ``GradientReversal`` ``mlx.nn.Module``.

λ schedules come from :mod:`grl.core.schedules` (re-exported here as ``schedules``).
Imports neither PyTorch, TensorFlow nor JAX.
"""

from grl._frameworks import require

require("mlx")

from grl.backends.mlx import GradientReversal, gradient_reversal  # noqa: E402
from grl.core import schedules  # noqa: E402

__all__ = ["GradientReversal", "gradient_reversal", "schedules"]
