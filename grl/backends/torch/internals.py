"""Every private or version-dependent PyTorch API the backend uses, in one place.

Each is feature-detected at import and has a public fallback that is correct (slower is
fine). ``docs/internals.md`` ("PyTorch") lists them with their reasons; the tests force each
fallback (:data:`PUBLIC_ONLY` and the module attributes below).
"""

from __future__ import annotations

import inspect
import os
import sys
from collections.abc import Callable
from typing import Any

import torch
import torch.autograd.forward_ad as forward_ad

#: Set ``GRL_TORCH_PUBLIC_ONLY=1`` to run on public APIs only (the tests force each
#: fallback this way, one at a time, by patching the attributes below).
PUBLIC_ONLY = os.environ.get("GRL_TORCH_PUBLIC_ONLY", "") == "1"


def _private(owner: Any, name: str) -> Any:
    return None if PUBLIC_ONLY else getattr(owner, name, None)


# -- who else holds λ's memory ---------------------------------------------------------------
storage_use_count: Callable[[int], int] | None = _private(torch._C, "_storage_Use_Count")
tensor_use_count: Callable[[torch.Tensor], int] | None = _private(torch.Tensor, "_use_count")


def has_other_holders(tensor: torch.Tensor) -> bool:
    """True unless ``tensor`` provably is the only holder of its memory.

    Holders are other tensors on the same memory (an eager backward's saved alias of λ, a
    ``state_dict()`` held by the caller) and other owners of the tensor itself (a compiled
    graph's saved λ, a ``torch.jit.trace`` module). Fallback: True, so a changed λ always
    gets new memory (correct; only CUDA graphs replaying from the old address lose).
    """
    if storage_use_count is None or tensor_use_count is None:
        return True
    # Expected: ``tensor`` and the storage object this call makes; ``tensor`` itself once.
    shared = storage_use_count(tensor.untyped_storage()._cdata) > 2
    return shared or tensor_use_count(tensor) > 1


# -- Function.apply without its Python prelude -----------------------------------------------
def fast_apply(function: type[torch.autograd.Function]) -> Callable[..., Any]:
    """``function.apply`` through the C-level ``_FunctionBase.apply`` when available.

    ``Function.apply`` binds the arguments with ``inspect.signature`` on every call (most of
    the eager cost of the layer) and then makes that same call. The bypass is only used
    outside functorch transforms (:func:`functorch_active`), with tensors leaked by a
    finished transform unwrapped as ``Function.apply`` does. Fallback: ``function.apply``.
    """
    base_apply = getattr(super(torch.autograd.Function, function), "apply", None)
    functorch = _private(torch._C, "_functorch")
    unwrap = getattr(functorch, "unwrap_if_dead", None)
    if PUBLIC_ONLY or base_apply is None or unwrap is None:
        return function.apply

    def apply(x: torch.Tensor, lambda_: torch.Tensor) -> torch.Tensor:
        return base_apply(unwrap(x), unwrap(lambda_))

    return apply


# -- functorch and forward-mode state ---------------------------------------------------------
_transforms_active: Callable[[], bool] | None = _private(
    torch._C, "_are_functorch_transforms_active"
)
_functorch = _private(torch._C, "_functorch")
_interpreter_stack: Callable[[], Any] | None = getattr(_functorch, "get_interpreter_stack", None)
_transform_type: Any = getattr(_functorch, "TransformType", None)
_has_dual_level = isinstance(getattr(forward_ad, "_current_level", None), int) and not PUBLIC_ONLY


def functorch_active() -> bool:
    """True inside a ``torch.func`` transform. Fallback: True (the public ``apply`` path)."""
    return True if _transforms_active is None else _transforms_active()


def dual_level_active() -> bool:
    """True inside ``forward_ad.dual_level()``. Fallback: True (then callers ask
    ``forward_ad.unpack_dual``, public, whether a tensor is dual)."""
    return forward_ad._current_level >= 0 if _has_dual_level else True


def is_dual(x: torch.Tensor) -> bool:
    """True if ``x`` carries a forward-mode tangent."""
    return dual_level_active() and forward_ad.unpack_dual(x).tangent is not None


def transform_drops_custom_rules() -> bool:
    """True where Dynamo would trace an autograd.Function as its plain forward.

    That is inside ``torch.func`` grad/jacrev/jvp/jacfwd/hessian, inside ``vmap`` while
    gradients are enabled, and inside a ``forward_ad`` dual level. Fallback (the functorch
    stack cannot be read): True, so compiled code always runs the layer eagerly (a graph
    break: correct, slower, and an error under ``fullgraph=True``).
    """
    if _interpreter_stack is None or _transform_type is None or not _has_dual_level:
        return True
    if forward_ad._current_level >= 0:
        return True
    for layer in _interpreter_stack() or ():
        key = layer.key()
        if key in (_transform_type.Grad, _transform_type.Jvp):
            return True
        if key == _transform_type.Vmap and torch.is_grad_enabled():
            return True
    return False


# -- activation recomputation (grl/backends/torch/recomputation.py) ---------------------------
_current_autograd_node: Callable[[], Any] | None = _private(torch._C, "_current_autograd_node")
_fwd_grad_enabled: Callable[[], bool] | None = _private(torch._C, "_is_fwd_grad_enabled")
_backward_context: type | None = _private(torch.autograd.function, "BackwardCFunction")
_get_frame: Callable[[int], Any] | None = _private(sys, "_getframe")


def recomputation_supported() -> bool:
    """True where a recomputation can be matched to its first pass (all four APIs exist)."""
    return None not in (_current_autograd_node, _fwd_grad_enabled, _backward_context, _get_frame)


def current_backward_node() -> Any:
    """The autograd node whose backward runs now on this thread; None outside a backward
    pass. Fallback: None (nothing is matched: the recomputation check is off)."""
    return None if _current_autograd_node is None else _current_autograd_node()


def enclosing_function_contexts() -> list[Any]:
    """The ``ctx`` of every ``autograd.Function.forward(ctx, ...)`` running on this thread.

    ``Function.apply`` runs ``forward`` with gradients and forward-mode gradients off; a
    no-grad forward elsewhere (evaluation) has forward-mode gradients on and returns at
    once. The ``ctx`` is the node of the graph (the object that
    :func:`current_backward_node` returns in its backward). Functions whose ``forward``
    takes no ``ctx`` (``setup_context`` style) are not seen. Fallback: ``[]``.
    """
    if not recomputation_supported():
        return []
    assert _fwd_grad_enabled is not None and _get_frame is not None
    if _fwd_grad_enabled():
        return []
    contexts = []
    frame = _get_frame(1)
    while frame is not None:
        code = frame.f_code
        if code.co_name == "forward" and code.co_argcount:
            ctx = frame.f_locals.get(code.co_varnames[0])
            if isinstance(ctx, _backward_context):  # type: ignore[arg-type]
                contexts.append(ctx)
        frame = frame.f_back
    return contexts


# -- version differences of public APIs -------------------------------------------------------
def compiler_disable(function: Callable[..., Any], reason: str) -> Callable[..., Any]:
    """``torch.compiler.disable(function, reason=...)``; ``reason`` only where accepted
    (torch < 2.7 has no ``reason`` argument)."""
    disable = torch.compiler.disable
    if "reason" in inspect.signature(disable).parameters:
        return disable(function, reason=reason)
    return disable(function)
