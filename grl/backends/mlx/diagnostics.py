"""Diagnostics for MLX: :func:`resolve_total_steps`, the ``total_steps="auto"`` run length.

The rules live in :mod:`grl.core.diagnostics`; MLX has no trainer that knows the run
length, so the length is given as a number.
"""

from __future__ import annotations

import mlx.nn as nn

from grl.backends.mlx.module import GradientReversal
from grl.core import schedules

__all__ = ["resolve_total_steps"]


def resolve_total_steps(model: nn.Module, total_steps: int) -> int:
    """Give every ``total_steps="auto"`` GRL in ``model`` its run length (an int > 0);
    returns it. GRLs with a fixed λ or a schedule that has its length are left as they are.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an mlx.nn.Module; got {type(model).__name__}")
    schedules._total_steps(total_steps, auto=False)  # the int > 0 check, before any change
    for _, module in model.named_modules():
        if isinstance(module, GradientReversal):
            module.resolve_total_steps(total_steps)
    return int(total_steps)
