"""The MLX backend: the op (``ops``) and the ``mlx.nn`` module (``module``)."""

from grl.backends.mlx.module import GradientReversal
from grl.backends.mlx.ops import gradient_reversal

__all__ = ["GradientReversal", "gradient_reversal"]
