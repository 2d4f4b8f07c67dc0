"""``GradientReversal``: the GRL as an ``nn.Module`` with λ as a buffer."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from grl.backends.torch.ops import gradient_reversal
from grl.core import lambda_ as spec


class GradientReversal(nn.Module):
    """Gradient reversal layer: identity forward, gradient times −λ backward.

    λ lives in a 0-d floating buffer named ``lambda_``: it is in the ``state_dict``, moves
    with ``.to(device)`` and is read by the op as a tensor, so changing it never triggers a
    recompile under ``torch.compile``.

    Args:
        lambda_: the initial λ (a number ≥ 0).
        dtype: dtype of the λ buffer (float32 by default).
    """

    lambda_: torch.Tensor

    def __init__(self, lambda_: Any = 1.0, *, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        value = spec.validate_lambda_number(lambda_)
        if not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating dtype; got {dtype}")
        self.register_buffer("lambda_", torch.tensor(value, dtype=dtype))

    @torch.no_grad()
    def set_lambda(self, value: Any) -> None:
        """Set λ in place (validated; the buffer keeps its dtype and device)."""
        self.lambda_.fill_(spec.validate_lambda_number(value))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return gradient_reversal(x, self.lambda_)

    def extra_repr(self) -> str:
        return f"lambda_={float(self.lambda_):g}"
