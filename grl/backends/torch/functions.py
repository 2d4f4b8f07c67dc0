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
* ``torch.func`` transforms or forward-mode AD inside ``torch.compile``: a graph break to
  the eager Functions (with ``fullgraph=True`` Dynamo raises an error that gives the
  reason). Under ``torch.func.grad``/``jvp``, and ``vmap`` with gradients on, Dynamo (torch
  2.13) traces a custom Function as its plain forward and drops its derivative rules: it
  would silently give ``+g`` and ``+t`` instead of ``−λ·g`` and ``−λ·t``.
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
def transform_drops_custom_rules() -> bool:
    """True where Dynamo would trace :class:`Reversal` as its plain forward (see above).

    That is inside ``torch.func`` grad/jacrev/jvp/jacfwd/hessian, inside ``vmap`` while
    gradients are enabled, and inside a ``torch.autograd.forward_ad`` dual level. Dynamo
    evaluates this once while tracing (it enters functorch transforms for real then) and
    guards compiled code on the functorch stack and grad mode, so the answer is not stale.
    """
    if forward_ad._current_level >= 0:
        return True
    for layer in get_interpreter_stack() or ():
        key = layer.key()
        if key in (TransformType.Grad, TransformType.Jvp):
            return True
        if key == TransformType.Vmap and torch.is_grad_enabled():
            return True
    return False


def _eager_reverse(x: torch.Tensor, lambda_: torch.Tensor) -> torch.Tensor:
    if forward_ad._current_level >= 0 and forward_ad.unpack_dual(x).tangent is not None:
        return CopyingReversalWithJvp.apply(x, lambda_)
    return ReversalWithJvp.apply(x, lambda_)


_eager_reverse_from_compiled = torch.compiler.disable(
    _eager_reverse,
    reason=(
        "grl: torch.func transforms (grad, jacrev, jvp, jacfwd, hessian; vmap with gradients "
        "on) and forward-mode AD (torch.autograd.forward_ad) through the gradient reversal "
        "layer run eagerly: under them Dynamo drops an autograd.Function's custom derivative "
        "rules and would silently return +g / +t. Compile without fullgraph=True, or apply "
        "the transform outside torch.compile."
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
        if transform_drops_custom_rules():
            return _eager_reverse_from_compiled(x, lambda_)
        return Reversal.apply(x, lambda_)
    return _eager_reverse(x, lambda_)
