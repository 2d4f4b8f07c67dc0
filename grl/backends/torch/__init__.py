"""PyTorch backend: a ``torch.autograd.Function`` and an ``nn.Module``."""

from grl.backends.torch.module import GradientReversal
from grl.backends.torch.ops import gradient_reversal

__all__ = ["GradientReversal", "gradient_reversal"]
