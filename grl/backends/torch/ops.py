"""``gradient_reversal``: the functional GRL, with validation of ``x`` and λ.

The autograd machinery lives in :mod:`grl.backends.torch.functions`; this module only checks
arguments (before any work) and dispatches.
"""

from __future__ import annotations

import sys
from typing import Any

import torch

from grl.backends.torch.functions import cast_negated_lambda, reverse
from grl.backends.torch.recomputation import FIRST_PASSES, check_caller_lambda
from grl.core import lambda_ as lambda_rules

__all__ = ["cast_negated_lambda", "check_lambda_tensor", "gradient_reversal", "lambda_tensor"]


def check_input(x: Any) -> None:
    """``x`` must be a dense tensor (lists and NumPy arrays are not converted silently)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(
            f"x must be a torch.Tensor; got {type(x).__name__}: {lambda_rules.describe(x)} "
            "(convert it with torch.as_tensor first)"
        )
    if x.layout != torch.strided or x.is_nested:
        kind = "a nested tensor" if x.is_nested else f"a tensor of layout {x.layout}"
        raise TypeError(
            f"x must be a dense (strided) tensor; got {kind}: the gradient reversal layer "
            "returns a view of x, which sparse and nested tensors do not support. Convert "
            "it with x.to_dense() (nested: torch.nested.to_padded_tensor) first"
        )


def traced_op(x: torch.fx.Proxy, lambda_: Any) -> torch.fx.Proxy:
    """Under ``torch.fx.symbolic_trace``: the op as one node of the graph (its checks read
    values, which a Proxy does not have); the graph runs the real op."""
    return x.tracer.create_proxy("call_function", gradient_reversal, (x, lambda_), {})


def check_lambda_tensor(lambda_: torch.Tensor, x: torch.Tensor) -> None:
    """Checks on a tensor λ that need no value, hence no host sync (and no graph break).

    λ must be 0-d, real floating, not require grad, and live on ``x``'s device: a CPU λ with
    a CUDA ``x`` would be read on the host at every launch (and frozen into CUDA graphs).
    """
    check_lambda_properties(lambda_)
    if lambda_.device != x.device:
        raise ValueError(
            f"{lambda_rules.ARGUMENT} is on device {lambda_.device} but x is on {x.device}; move λ "
            f"with lambda_.to(x.device) (GradientReversal modules follow .to(device))"
        )


def check_lambda_properties(lambda_: torch.Tensor) -> None:
    """:func:`check_lambda_tensor` without the device check (for callers that make their own)."""
    if lambda_.dim() != 0:
        lambda_rules.check_rank(tuple(lambda_.shape), lambda_)
    if not lambda_.is_floating_point():
        lambda_rules.check_floating_dtype(False, str(lambda_.dtype).removeprefix("torch."), lambda_)
    if lambda_.requires_grad:
        raise ValueError(
            f"{lambda_rules.ARGUMENT} must not require grad (λ is a fixed meta-parameter and never "
            f"receives a gradient); pass lambda_.detach(); got {lambda_rules.describe(lambda_)}"
        )


# Host λ values → their 0-d float64 CPU tensors. Bounded: a schedule's values passed as
# numbers would otherwise pile up, one per step.
_HOST_LAMBDAS: dict[str, torch.Tensor] = {}
_HOST_LAMBDAS_MAX = 64


def host_lambda(value: float) -> torch.Tensor:
    """``value`` as a 0-d float64 CPU tensor, the same tensor every call (no allocation).

    The backward pass saves this tensor, not a copy, so it must never change: it is not
    exposed, and nothing writes to it. A CPU scalar is passed to device kernels by value:
    no host-to-device copy.
    """
    # hex(), not the float: 0.0 == -0.0 as dict keys, but −λ·g differs in the zeros' sign.
    key = value.hex()
    cached = _HOST_LAMBDAS.get(key)
    if cached is None:
        if len(_HOST_LAMBDAS) >= _HOST_LAMBDAS_MAX:
            _HOST_LAMBDAS.clear()
        # A tensor made under inference_mode could not be saved by a later training backward.
        with torch.inference_mode(False):
            cached = _HOST_LAMBDAS[key] = torch.tensor(value, dtype=torch.float64)
    return cached


def lambda_tensor(lambda_: Any, x: torch.Tensor) -> torch.Tensor:
    """Validate λ and return it as a 0-d tensor (host numbers become float64 CPU scalars).

    A CPU tensor's value is checked too (outside compiled code; reading it needs no device
    sync); a device tensor's value is not read, so that the op never syncs with the host.
    """
    if isinstance(lambda_, torch.Tensor):
        check_lambda_tensor(lambda_, x)
        if lambda_.device.type == "cpu" and not torch.compiler.is_compiling():
            check_cpu_lambda_value(lambda_)
        return lambda_
    if torch.compiler.is_compiling():
        return compiled_number(lambda_)
    return host_lambda(lambda_rules.validate_lambda_number(lambda_))


def check_cpu_lambda_value(lambda_: torch.Tensor) -> None:
    """Refuse a negative or non-finite CPU λ (reading it needs no device sync)."""
    try:
        value = float(lambda_)
    except RuntimeError:
        # A per-example λ under torch.func.vmap has no single value (like a device λ,
        # whose value is not read either).
        return
    lambda_rules.check_real_value(value, lambda_)


def compiled_number(lambda_: Any) -> torch.Tensor:
    """A host λ in traced code, as a tensor of the graph.

    Dynamo makes a Python float symbolic once it has seen two values; then only comparisons
    work on it (``math.isfinite`` would end the graph), so a valid float is checked with
    them and becomes an input of the graph: one recompile, not one per value.
    """
    if type(lambda_) in (int, float) and 0 <= lambda_ <= sys.float_info.max:
        return torch.scalar_tensor(lambda_, dtype=torch.float64)
    return torch.tensor(lambda_rules.validate_lambda_number(lambda_), dtype=torch.float64)


def gradient_reversal(x: torch.Tensor, lambda_: Any = 1.0) -> torch.Tensor:
    """Gradient reversal: ``R_λ(x) = x`` forward, ``∂L/∂x = −λ·∂L/∂R`` backward.

    Args:
        x: any tensor. Floating and complex tensors get the reversed gradient; other dtypes
            cannot carry gradients and are returned as they are.
        lambda_: a number ≥ 0 or a 0-d floating tensor on ``x``'s device (pass a tensor —
            e.g. the buffer of :class:`~grl.torch.GradientReversal` — to change λ without
            recompiling). The backward uses λ as it was at this call; λ is not copied, so
            writing into a λ tensor of your own before that backward is an error (autograd's
            in-place check; under activation checkpointing, grl's). The module's own λ
            changes (``step``, ``set_lambda``) are safe, checkpointed or not.

    Returns:
        ``x`` itself for non-differentiable dtypes, else a zero-copy view of ``x`` (a copy
        only for ``torch.autograd.forward_ad`` dual tensors).

    Raises:
        TypeError: ``x`` is not a tensor, or λ is not a real number / floating tensor.
        ValueError: λ is negative, not finite, not 0-d, requires grad, or is on another device.
    """
    if isinstance(x, torch.fx.Proxy):
        return traced_op(x, lambda_)
    check_input(x)
    lam = lambda_tensor(lambda_, x)
    if not (x.is_floating_point() or x.is_complex()):
        return x
    mutable = lam is lambda_
    # A caller's λ tensor in a reentrant checkpoint's first pass or its recomputation (a
    # host λ is one of grl's own tensors, never written); never in compiled code.
    if (
        mutable
        and (FIRST_PASSES or not torch.is_grad_enabled())
        and not torch.compiler.is_compiling()
    ):
        check_caller_lambda(lam)
    return reverse(x, lam, mutable=mutable)
