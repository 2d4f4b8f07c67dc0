"""The private TensorFlow APIs grl uses, each feature-detected, each with a public fallback.

Listed with their reasons in ``docs/internals.md`` ("TensorFlow and Keras"). Tests force
each fallback by setting the module attribute to ``None``.

* :data:`RECORD`, the eager ``record`` module (the tape API behind ``tf.custom_gradient``):
  the op records a plain ``Identity`` by hand, for tapes and forward accumulators. Without
  it, :mod:`grl.backends.tf.ops` runs its public form (``tf.custom_gradient`` around an
  arithmetic identity whose JVP is ``−λ·t``).
* :data:`PFOR`, the ``parallel_for.pfor`` module: an op's ``pfor_converter`` attribute
  (the hook pfor's own while-loop conversion uses) lets ``tf.vectorized_map`` and pfor
  jacobians vectorize the reversal into a reversal; pfor's stock conversion of the
  ``IdentityN`` behind ``tf.custom_gradient`` drops the custom gradient (the gradient
  silently comes out ``+g``). Without it, graphs use the public form too.
* :data:`RECOMPUTE_CODES`, the code objects of ``tf.recompute_grad``'s two closures (its
  forward ``inner`` and its backward ``grad_wrapper``, which share the call's ``kwargs``
  dict): a λ variable read while one of them runs is read once per recomputed call, at its
  forward, and the recomputation at backward time reuses that value
  (:func:`recompute_call`). ``keras.remat`` on TensorFlow is ``tf.recompute_grad``. No
  public API tells a recomputation from a forward pass; without this one a recomputation
  reads λ's current value (documented). :data:`TAPE_SET_IS_STOPPED` (``record``'s
  ``pywrap_tfe.TFE_Py_TapeSetIsStopped``, what ``stop_recording`` itself asks) spares an
  eager call outside any ``stop_recording`` block (a recomputed forward runs inside one)
  that stack walk; without it the walk runs.
"""

from __future__ import annotations

import inspect
import sys
from collections.abc import Callable
from types import CodeType, ModuleType
from typing import Any

import tensorflow as tf

_RECORD_NAMES = (
    "stop_recording",
    "could_possibly_record",
    "record_operation_backprop_only",
    "record_operation_forwardprop_only",
)


def _record_module() -> ModuleType | None:
    try:
        from tensorflow.python.eager import record
    except ImportError:
        return None
    return record if all(hasattr(record, name) for name in _RECORD_NAMES) else None


def _pfor_module() -> ModuleType | None:
    try:
        from tensorflow.python.ops.parallel_for import pfor
    except ImportError:
        return None
    hook = isinstance(getattr(pfor, "WhileOp", None), type) and hasattr(
        pfor.WhileOp, "pfor_converter"
    )
    return pfor if hook and callable(getattr(pfor, "wrap", None)) else None


def _nested_code(code: CodeType | None, name: str, variable: str) -> CodeType | None:
    """The code of the function ``name`` defined in ``code`` that shares ``variable``."""
    for constant in getattr(code, "co_consts", ()):
        if isinstance(constant, CodeType) and constant.co_name == name:
            shared = constant.co_cellvars + constant.co_freevars
            return constant if variable in shared else None
    return None


def _recompute_codes() -> tuple[CodeType, CodeType] | None:
    try:
        from tensorflow.python.ops import custom_gradient
    except ImportError:
        return None
    function = getattr(custom_gradient, "recompute_grad", None)
    code = getattr(inspect.unwrap(function), "__code__", None) if callable(function) else None
    forward = _nested_code(code, "inner", "kwargs")
    backward = _nested_code(forward, "grad_wrapper", "kwargs")
    return None if forward is None or backward is None else (forward, backward)


RECORD: ModuleType | None = _record_module()
PFOR: ModuleType | None = _pfor_module()
RECOMPUTE_CODES: tuple[CodeType, CodeType] | None = _recompute_codes()


def _tape_set_is_stopped() -> Callable[[], bool] | None:
    function = getattr(getattr(RECORD, "pywrap_tfe", None), "TFE_Py_TapeSetIsStopped", None)
    return function if callable(function) else None


TAPE_SET_IS_STOPPED: Callable[[], bool] | None = _tape_set_is_stopped()


def recompute_call() -> tuple[dict[str, Any], bool] | None:
    """The outermost ``tf.recompute_grad`` call running now, as ``(its kwargs dict, whether
    this is its recomputation at backward time)``; None outside any.

    The ``kwargs`` dict is made for each call and held by the call's backward closure for
    as long as a tape can recompute it, so it identifies the call. The outermost call
    counts: everything a nested call recomputes belongs to the outer call's forward.
    """
    if RECOMPUTE_CODES is None:
        return None
    forward, backward = RECOMPUTE_CODES
    found = None
    frame = sys._getframe(1)
    while frame is not None:
        if frame.f_code is forward or frame.f_code is backward:
            found = frame
        frame = frame.f_back
    if found is None:
        return None
    return found.f_locals["kwargs"], found.f_code is backward


def vectorize_as(output: tf.Tensor, rebuild: Callable[[tf.Tensor, tf.Tensor], tf.Tensor]) -> None:
    """Make pfor vectorize ``output`` (an ``IdentityN([y, x, λ])`` of ``tf.custom_gradient``)
    as ``rebuild(stacked x, λ)``, λ broadcast against x when it varies per example."""

    def convert(pfor_input: Any) -> list[Any]:
        x = pfor_input.stacked_input(1)
        lam = pfor_input.inputs[2]
        value = lam.t
        if lam.is_stacked:
            ones = tf.ones([tf.rank(x) - tf.rank(value)], tf.int32)
            value = tf.reshape(value, tf.concat([tf.shape(value), ones], 0))
        return [PFOR.wrap(rebuild(x, value), True), PFOR.wrap(x, True), lam]

    output.op.pfor_converter = convert
