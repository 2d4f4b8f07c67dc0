"""The GRL as a ``torch.autograd.Function``.

* Forward returns ``x.view_as(x)``: a zero-copy alias of the input (nothing but λ is saved
  for backward). Autograd forbids in-place ops on that alias and says to clone it.
* Backward is one multiply, ``g * cast(−λ, g.dtype)``, built from differentiable ops so that
  double backward applies −λ again.
* λ travels as a 0-d tensor *input* of the Function, never as a Python float on ``ctx``:
  ``torch.compile`` then treats it as data and never recompiles when it changes.
* Forward-mode AD (``torch.func.jvp``/``jacfwd``, ``forward_ad``) uses the ``jvp`` of
  :class:`_ReversalWithJvp`. Dynamo cannot trace a Function with a custom ``jvp``, so
  under ``torch.compile`` the op uses :class:`_Reversal`, which lacks it; forward mode
  inside a compiled region then fails with PyTorch's own "not implemented" error.
"""

from __future__ import annotations

from typing import Any

import torch

from grl.core import lambda_ as spec

_SIXTEEN_BIT = (torch.float16, torch.bfloat16)


def cast_negated_lambda(lambda_: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    """``cast(−λ, dtype)``: 16-bit targets go through float32, as in the NumPy reference."""
    negated = -lambda_
    if dtype in _SIXTEEN_BIT and negated.dtype == torch.float64:
        negated = negated.to(torch.float32)
    return negated.to(dtype)


def _scale(grad: torch.Tensor, lambda_: torch.Tensor) -> torch.Tensor:
    return grad * cast_negated_lambda(lambda_, grad.dtype)


class _Reversal(torch.autograd.Function):
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
        return _scale(grad, lambda_), None


class _ReversalWithJvp(_Reversal):
    @staticmethod
    def setup_context(ctx: Any, inputs: tuple[torch.Tensor, torch.Tensor], output: Any) -> None:
        ctx.save_for_backward(inputs[1])
        ctx.save_for_forward(inputs[1])
        ctx.lambda_ = inputs[1]

    @staticmethod
    def jvp(ctx: Any, x_tangent: torch.Tensor, lambda_tangent: Any) -> torch.Tensor:
        return _scale(x_tangent, ctx.lambda_)


def lambda_tensor(lambda_: Any, like: torch.Tensor) -> torch.Tensor:
    """Validate λ and return it as a 0-d tensor (host numbers become float64 CPU scalars).

    Tensor λ is checked for rank and dtype without reading its value on the device
    (no host sync); a CPU tensor's value is checked too, outside compiled code.
    """
    if isinstance(lambda_, torch.Tensor):
        spec.check_rank(tuple(lambda_.shape), lambda_)
        spec.check_floating_dtype(
            lambda_.is_floating_point(), str(lambda_.dtype).removeprefix("torch."), lambda_
        )
        if lambda_.requires_grad:
            raise ValueError(
                f"{spec.ARGUMENT} must not require grad (λ is a fixed meta-parameter and "
                f"never receives a gradient); pass lambda_.detach(); got {spec.describe(lambda_)}"
            )
        if lambda_.device.type == "cpu" and not torch.compiler.is_compiling():
            spec.check_real_value(float(lambda_), lambda_)
        return lambda_
    value = spec.validate_lambda_number(lambda_)
    return torch.tensor(value, dtype=torch.float64)


def gradient_reversal(x: torch.Tensor, lambda_: Any = 1.0) -> torch.Tensor:
    """Gradient reversal: ``R_λ(x) = x`` forward, ``∂L/∂x = −λ·∂L/∂R`` backward.

    Args:
        x: any tensor. Floating and complex tensors get the reversed gradient; other dtypes
            cannot carry gradients and are returned as they are.
        lambda_: a number ≥ 0 or a 0-d floating tensor (pass a tensor — e.g. the buffer of
            :class:`~grl.torch.GradientReversal` — to change λ without recompiling).

    Returns:
        ``x`` itself for non-differentiable dtypes, else a zero-copy view of ``x``.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor; got {type(x).__name__}: {spec.describe(x)}")
    lam = lambda_tensor(lambda_, x)
    if not (x.is_floating_point() or x.is_complex()):
        return x
    function = _Reversal if torch.compiler.is_compiling() else _ReversalWithJvp
    return function.apply(x, lam)
