"""``GradientReversal``, an ``mlx.nn.Module`` bound to the layer contract (grl.core.layer).

λ and the step are 0-d arrays of the module (float32 and int32), so ``save_weights`` and
``load_weights`` carry them; both are frozen, so ``trainable_parameters()`` (what an
optimizer updates) never holds them. Loading validates them (``saved_state_problem``) and a
scheduled layer then recomputes ``λ = schedule(step)``.
"""

from __future__ import annotations

from typing import Any

import mlx.core as mx
import mlx.nn as nn

from grl.backends.mlx.ops import reverse
from grl.core.lambda_ import check_floating_dtype, check_rank
from grl.core.layer import LayerContract, saved_state_problem

_STATE = ("lambda_", "step")


class GradientReversal(LayerContract, nn.Module):
    """``R_λ(x) = x`` forward, ``−λ·∂L/∂R`` backward (see :func:`grl.mlx.gradient_reversal`).

    Args:
        lambda_: a fixed λ (a real number ``>= 0`` or a 0-d floating ``mx.array``, its value
            copied) or a :mod:`grl.core.schedules` schedule (or its ``get_config()`` dict).

    Call :meth:`advance` once per training step, after the optimizer's update. A
    ``total_steps="auto"`` schedule needs :meth:`resolve_total_steps` first (a training call,
    in ``train()`` mode, refuses to run before).
    """

    def __init__(self, lambda_: Any = 1.0) -> None:
        nn.Module.__init__(self)
        initial = self._parse_lambda(lambda_)
        dict.__setitem__(self, "lambda_", mx.array(initial, dtype=mx.float32))
        dict.__setitem__(self, "step", mx.array(0, dtype=mx.int32))
        self.freeze(keys=list(_STATE), recurse=False)

    def __call__(self, x: mx.array) -> mx.array:
        if self.training and self._schedule is not None and not self._schedule.resolved:
            self._require_resolved("training call")  # total_steps="auto": no λ yet
        # λ was validated when it was stored: no host read of it per call.
        return reverse(x, self["lambda_"])

    def _current_step(self) -> int:
        return int(self["step"].item())

    def _read_tensor(self, value: Any) -> float | None:
        if not isinstance(value, mx.array):
            return None
        check_floating_dtype(
            mx.issubdtype(value.dtype, mx.floating), str(value.dtype).split(".")[-1], value
        )
        check_rank(tuple(value.shape), value)
        return float(value.item())

    def _store_lambda(self, value: float) -> None:
        dict.__setitem__(self, "lambda_", mx.array(value, dtype=mx.float32))

    def _advance(self, steps: int) -> None:
        step = int(self["step"].item()) + steps
        dict.__setitem__(self, "step", mx.array(step, dtype=mx.int32))
        if self._schedule is not None:
            self._store_lambda(self._schedule(step))

    def __setitem__(self, key: str, value: Any) -> None:
        """Loading (``load_weights``/``update``) validates λ and the step first."""
        if key in _STATE and isinstance(value, mx.array) and _readable(value):
            lam, step = (value.item(), None) if key == "lambda_" else (None, value.item())
            if key == "step" and not mx.issubdtype(value.dtype, mx.integer):
                step = float(step)
            problem = saved_state_problem(lam, step)
            if problem is not None:
                raise ValueError(f"GradientReversal.load_weights: {problem}")
            if key == "step" and self._schedule is not None:
                self._store_lambda(self._schedule(int(step)))
            if key == "lambda_" and self._schedule is not None:
                return  # a scheduled λ is schedule(step), whatever the file says
        super().__setitem__(key, value)

    def _extra_repr(self) -> str:
        shown = self._schedule if self._schedule is not None else float(self["lambda_"].item())
        return f"lambda_={shown!r}"


def _readable(value: mx.array) -> bool:
    """False for an array being traced (inside ``mx.compile``), whose value is unknown."""
    try:
        value.item()
    except ValueError:
        return False
    return value.size == 1
