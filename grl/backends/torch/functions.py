"""The GRL as ``torch.autograd.Function`` subclasses, and which one runs where.

Math (the spec in :mod:`grl.core.reference`): ``R_λ(x) = x`` forward,
``∂L/∂x = g · cast(−λ, dtype(g))`` backward, and a forward-mode tangent ``t`` maps to
``cast(−λ, dtype(t)) · t``.

* Forward returns ``x.view_as(x)``: a zero-copy alias, and allocates nothing: backward saves
  λ (or an alias of its memory), not a copy of it (see :func:`reverse` for why that is safe).
* Backward is one multiply built from differentiable ops, so double backward applies −λ again.
* λ is a 0-d tensor *input*, never a Python float on ``ctx``: ``torch.compile`` treats it as
  data and never recompiles when it changes.

Which Function runs where:

* eager, reverse mode and ``torch.func``: :class:`ReversalWithJvp` (view forward, custom
  ``jvp``). Outside functorch transforms it is applied through
  :func:`grl.backends.torch.internals.fast_apply`;
* ``torch.autograd.forward_ad`` dual tensors: :class:`CopyingReversalWithJvp`. Autograd
  requires a view-returning Function to return a view tangent, which ``−λ·t`` cannot be, so
  the forward copies here, and only here;
* inside ``torch.compile`` / ``torch.export``: :class:`Reversal`, because Dynamo cannot trace
  a Function with a custom ``jvp``;
* ``torch.func`` transforms or forward-mode AD inside ``torch.compile``
  (:mod:`grl.backends.torch.compiled`): a graph break to the eager Functions (with
  ``fullgraph=True`` Dynamo raises an error that gives the reason). Under
  ``torch.func.grad``/``jvp``, and ``vmap`` with gradients on, Dynamo (torch 2.13) traces
  a custom Function as its plain forward and drops its derivative rules: it would silently
  give ``+g`` and ``+t`` instead of ``−λ·g`` and ``−λ·t``.
"""

from __future__ import annotations

from typing import Any

import torch

from grl.backends.torch import internals

_SIXTEEN_BIT = (torch.float16, torch.bfloat16)


def cast_negated_lambda(lambda_: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``cast(−λ, dtype)``: 16-bit targets go through float32, as in the NumPy reference."""
    negated = -lambda_
    if negated.dtype == dtype:
        return negated  # what .to(dtype) returns too, after parsing its arguments
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


_WRITTEN_IN_PLACE = (
    "grl.torch.gradient_reversal: the lambda_ tensor the forward used was modified by an "
    "inplace operation (version {} → {}) before its backward, which would silently use the "
    "new λ (activation checkpointing does not run autograd's own check). Write into λ only "
    "after backward(), or pass a new tensor (torch.full_like(lambda_, value)) instead"
)


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
        try:
            ctx.lambda_version = inputs[1]._version
        except RuntimeError:  # an inference tensor, under inference_mode: no backward follows
            ctx.lambda_version = None

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:
        # Unpacking keeps autograd's check that nobody wrote into λ since the forward; the
        # value used is the forward's own tensor, held on ctx. Under activation
        # checkpointing (use_reentrant=False) the unpacked tensor is a recomputation's λ,
        # read from the layer at backward time, while ctx still holds the forward's, and
        # autograd checks nothing: the version test below refuses a write into that tensor
        # (a caller's λ; a module's own changes go to new memory while ctx holds λ).
        ctx.saved_tensors  # noqa: B018
        lambda_ = ctx.lambda_
        if lambda_._version != ctx.lambda_version:
            raise RuntimeError(_WRITTEN_IN_PLACE.format(ctx.lambda_version, lambda_._version))
        return scale(grad, lambda_), None

    @staticmethod
    def jvp(ctx: Any, x_tangent: torch.Tensor, lambda_tangent: Any) -> torch.Tensor:
        return scale(x_tangent, ctx.lambda_)


class CopyingReversalWithJvp(ReversalWithJvp):
    """:class:`ReversalWithJvp` with a copying forward, for ``forward_ad`` dual tensors."""

    @staticmethod
    def forward(x: torch.Tensor, lambda_: torch.Tensor) -> torch.Tensor:
        return x.clone()


_apply_with_jvp = internals.fast_apply(ReversalWithJvp)


def eager_reverse(x: torch.Tensor, lambda_: torch.Tensor, mutable: bool) -> torch.Tensor:
    """The eager dispatch (see the module docstring)."""
    if mutable:
        # A second tensor on λ's memory (no allocation): while a backward holds it, the
        # memory has another user, and GradientReversal then gives λ new memory instead of
        # writing into this one (GradientReversal._write_buffer). Made whatever the grad
        # mode, so that torch.jit.trace records the same graph with and without gradients.
        lambda_ = lambda_.detach()
    if lambda_.is_inference() and torch.is_grad_enabled():
        # Autograd refuses to save a tensor made under inference_mode; its copy can be saved.
        lambda_ = lambda_.clone()
    if internals.is_dual(x):
        return CopyingReversalWithJvp.apply(x, lambda_)
    if internals.functorch_active():
        return ReversalWithJvp.apply(x, lambda_)
    return _apply_with_jvp(x, lambda_)


def reverse(x: torch.Tensor, lambda_: torch.Tensor, *, mutable: bool = True) -> torch.Tensor:
    """Apply the GRL to a validated floating/complex ``x`` with a validated 0-d tensor λ.

    ``R_λ(x) = x`` (a view), and the backward pass computes ``g · cast(−λ, dtype(g))`` with
    λ as it was at this call, without copying λ (the forward allocates nothing):

    * ``mutable=False``: λ is one of grl's cached tensors for host numbers, never written;
    * ``mutable=True`` (a module buffer or a caller's tensor): the backward saves an alias of
      λ's memory (compiled code: λ itself). ``GradientReversal`` sees that holder while a
      backward is pending and then puts a changed λ in new memory; a caller's in-place write
      to a λ tensor before the backward is refused by autograd's version check (under
      activation checkpointing, which bypasses it, by :class:`ReversalWithJvp`'s own).
    """
    if torch.compiler.is_compiling():
        # Imported here, while Dynamo traces (it runs the import): the compiled path needs
        # torch._dynamo, which costs ~1 s to import and eager use never needs.
        from grl.backends.torch.compiled import compiled_reverse

        return compiled_reverse(x, lambda_, mutable)
    return eager_reverse(x, lambda_, mutable)
