"""PyTorch backend: the functional op, the ``nn.Module`` and the schedule stepping helper."""

from grl.backends.torch.module import GradientReversal
from grl.backends.torch.ops import gradient_reversal
from grl.backends.torch.stepping import step_all

__all__ = ["GradientReversal", "gradient_reversal", "step_all"]
