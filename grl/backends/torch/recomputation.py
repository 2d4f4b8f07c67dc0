"""Reentrant activation recomputation: the recomputed forward uses the λ of its first pass.

``torch.utils.checkpoint.checkpoint(fn, x, use_reentrant=True)`` (and
``checkpoint_sequential``) runs ``fn`` once without a graph, inside its
``CheckpointFunction.forward``, and runs it again inside that node's backward to build the
graph the gradient flows through. The GRL's backward reads the λ of that second run: without
this module, a λ change between ``forward`` and ``backward()`` (``step()``, ``set_lambda``,
``advance``, ``load_state_dict``, a write into a caller's λ tensor) reached the backward.

So each first pass is recorded on the ``ctx`` of the autograd Function whose forward runs it
(that ``ctx`` is the node of the graph), and a forward that runs inside that node's backward
finds it again:

* a :class:`~grl.backends.torch.module.GradientReversal` records a copy of its λ (a 0-d
  clone), and its recomputation uses that copy: the gradient has the bits of a run without
  checkpointing, whatever changed λ in between;
* the functional op records the version counter of the caller's λ tensor, and its
  recomputation raises, as autograd does without checkpointing, if that tensor was written
  in place in between (its old value is gone).

A record lives as long as its node (a weak reference drops it): a first pass whose backward
never runs (``checkpoint`` under ``torch.no_grad()``) leaves nothing behind. Cost outside
recomputation: one truth test of :data:`FIRST_PASSES` and ``torch.is_grad_enabled()`` per
eager forward; first passes pay a walk of the Python stack. Compiled code never gets here.
Needs the private APIs of :func:`grl.backends.torch.internals.recomputation_supported`;
without them nothing is recorded and the check is off (documented in docs/internals.md).
"""

from __future__ import annotations

import weakref
from typing import Any

import torch

from grl.backends.torch import internals

#: ``id(node) → (weak reference to the node, {key: record})``. Keys: a module (record: the
#: copy of its λ) or a caller's λ tensor (record: its version counter at the first pass).
FIRST_PASSES: dict[int, tuple[weakref.ref[Any], dict[Any, Any]]] = {}


def _records_of(node: Any) -> dict[Any, Any] | None:
    entry = FIRST_PASSES.get(id(node))
    if entry is None or entry[0]() is not node:
        return None
    return entry[1]


def _records_for_new_pass(node: Any) -> dict[Any, Any]:
    records = _records_of(node)
    if records is None:
        key = id(node)

        def forget(_: weakref.ref[Any], key: int = key) -> None:
            FIRST_PASSES.pop(key, None)

        records = {}
        FIRST_PASSES[key] = (weakref.ref(node, forget), records)
    return records


def module_lambda(module: Any, lambda_: torch.Tensor) -> torch.Tensor:
    """The λ tensor this eager forward of ``module`` uses (``lambda_``: its buffer).

    Inside the backward of a node whose first pass ran this module: that pass's λ. Inside the
    forward of one or more autograd Functions with gradients off (a first pass): records λ
    on each of them.
    """
    node = internals.current_backward_node()
    if node is not None:
        records = _records_of(node)
        if records is not None and module in records:
            lambda_ = records[module]
    if not torch.is_grad_enabled():
        contexts = internals.enclosing_function_contexts()
        if contexts:
            copy = lambda_.detach().clone() if lambda_ is module.lambda_ else lambda_
            for ctx in contexts:
                _records_for_new_pass(ctx).setdefault(module, copy)
    return lambda_


def check_caller_lambda(lambda_: torch.Tensor) -> None:
    """For a caller's λ tensor given to the functional op: record its version at a first
    pass; at the recomputation, raise if it was written in place since (the non-checkpointed
    backward refuses that too: autograd's "modified by an inplace operation")."""
    node = internals.current_backward_node()
    if node is not None:
        records = _records_of(node)
        seen = None if records is None else records.get(lambda_)
        if seen is not None and seen != lambda_._version:
            raise RuntimeError(
                "grl.torch.gradient_reversal: the lambda_ tensor was modified in place "
                f"(version {seen} → {lambda_._version}) between a forward under "
                "torch.utils.checkpoint(..., use_reentrant=True) and its recomputation in "
                "backward(); the recomputation would silently use the new λ. Write into λ "
                "only after backward(), or pass a new tensor (lambda_ = torch.full_like("
                "lambda_, value)) instead of writing into the one the forward used"
            )
    if not torch.is_grad_enabled():
        for ctx in internals.enclosing_function_contexts():
            _records_for_new_pass(ctx).setdefault(lambda_, lambda_._version)
