"""The GRL as ``torch.autograd.Function`` subclasses, and which one runs where.

Math (the spec in :mod:`grl.core.reference`): ``R_λ(x) = x`` forward,
``∂L/∂x = g · cast(−λ, dtype(g))`` backward, and a forward-mode tangent ``t`` maps to
``cast(−λ, dtype(t)) · t``.

* Forward returns ``x.view_as(x)``: a zero-copy alias (only λ is saved for backward).
* Backward is one multiply built from differentiable ops, so double backward applies −λ again.
* λ is a 0-d tensor *input*, never a Python float on ``ctx``: ``torch.compile`` treats it as
  data and never recompiles when it changes.

Which Function runs where:

* eager, reverse mode and ``torch.func``: :class:`ReversalWithJvp` (view forward, custom
  ``jvp``);
* ``torch.autograd.forward_ad`` dual tensors: :class:`CopyingReversalWithJvp`. Autograd
  requires a view-returning Function to return a view tangent, which ``−λ·t`` cannot be, so
  the forward copies here, and only here;
* inside ``torch.compile`` / ``torch.export``: :class:`Reversal`, because Dynamo cannot trace
  a Function with a custom ``jvp``;
* forward mode inside ``torch.compile``: a graph break to the eager Functions. With
  ``fullgraph=True`` Dynamo raises an error that gives the reason. Tracing :class:`Reversal`
  there instead would silently give ``+t``.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.autograd.forward_ad as forward_ad
from torch._C._functorch import TransformType, get_interpreter_stack

_SIXTEEN_BIT = (torch.float16, torch.bfloat16)


def cast_negated_lambda(lambda_: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``cast(−λ, dtype)``: 16-bit targets go through float32, as in the NumPy reference."""
    negated = -lambda_
    if dtype in _SIXTEEN_BIT and negated.dtype == torch.float64:
        negated = negated.to(torch.float32)
    return negated.to(dtype)


def scale(grad: torch.Tensor, lambda_: torch.Tensor) -> torch.Tensor:
    """``grad · cast(−λ, dtype(grad))``: the single multiply of the backward pass."""
    if grad.is_complex():
        # Scale both parts by the real −λ: a complex multiply by (−λ + 0j) would add
        # implementation-defined signed zeros (and NaN for inf·0) to the result.
        parts = torch.view_as_real(grad) * cast_negated_lambda(lambda_, grad.real.dtype)
        return torch.view_as_complex(parts)
    return grad * cast_negated_lambda(lambda_, grad.dtype)


class Reversal(torch.autograd.Function):
    """Identity forward (a view), ``g · cast(−λ)`` backward; no forward-mode rule."""

    generate_vmap_rule = True

    @staticmethod
    def forward(x: torch.Tensor, lambda_: torch.Tensor) -> torch.Tensor:
        return x.view_as(x)

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[torch.Tensor, torch.Tensor], output: Any) -> None:
        ctx.save_for_backward(inputs[1])

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        (lambda_,) = ctx.saved_tensors
        return scale(grad, lambda_), None


class ReversalWithJvp(Reversal):
    """:class:`Reversal` plus the forward-mode rule ``t ↦ cast(−λ)·t``."""

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[torch.Tensor, torch.Tensor], output: Any) -> None:
        ctx.save_for_backward(inputs[1])
        ctx.save_for_forward(inputs[1])
        ctx.lambda_ = inputs[1]

    @staticmethod
    def jvp(ctx: Any, x_tangent: torch.Tensor, lambda_tangent: Any) -> torch.Tensor:
        return scale(x_tangent, ctx.lambda_)


class CopyingReversalWithJvp(ReversalWithJvp):
    """:class:`ReversalWithJvp` with a copying forward, for ``forward_ad`` dual tensors."""

    @staticmethod
    def forward(x: torch.Tensor, lambda_: torch.Tensor) -> torch.Tensor:
        return x.clone()


@torch.compiler.assume_constant_result
def forward_mode_active() -> bool:
    """True inside ``torch.func.jvp``/``jacfwd``/``hessian`` or a ``forward_ad`` dual level.

    Dynamo evaluates this once while tracing (it enters functorch transforms for real during
    tracing) and guards compiled code on the functorch stack, so the answer is not stale.
    """
    if forward_ad._current_level >= 0:
        return True
    return any(layer.key() == TransformType.Jvp for layer in get_interpreter_stack() or ())


def _eager_reverse(x: torch.Tensor, lambda_: torch.Tensor) -> torch.Tensor:
    if forward_ad._current_level >= 0 and forward_ad.unpack_dual(x).tangent is not None:
        return CopyingReversalWithJvp.apply(x, lambda_)
    return ReversalWithJvp.apply(x, lambda_)


_eager_reverse_from_compiled = torch.compiler.disable(
    _eager_reverse,
    reason=(
        "grl: forward-mode AD (torch.func.jvp/jacfwd/hessian, torch.autograd.forward_ad) "
        "through the gradient reversal layer runs eagerly: Dynamo cannot trace its jvp rule. "
        "Compile without fullgraph=True, or apply forward-mode AD outside torch.compile."
    ),
)


def reverse(x: torch.Tensor, lambda_: torch.Tensor) -> torch.Tensor:
    """Apply the GRL to a validated floating/complex ``x`` with a validated 0-d tensor λ.

    The backward pass uses λ as it was at this call: when a backward can follow, λ is
    snapshotted (a 0-d copy), so ``set_lambda``/``step`` between a forward and its backward
    neither trip autograd's version check nor change that backward. Exported graphs are
    inference graphs, where the copy would be dead code.
    """
    if x.requires_grad and torch.is_grad_enabled() and not torch.compiler.is_exporting():
        lambda_ = lambda_.clone()
    if torch.compiler.is_compiling():
        if forward_mode_active():
            return _eager_reverse_from_compiled(x, lambda_)
        return Reversal.apply(x, lambda_)
    return _eager_reverse(x, lambda_)
