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
"""

from __future__ import annotations

from collections.abc import Callable
from types import ModuleType
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


RECORD: ModuleType | None = _record_module()
PFOR: ModuleType | None = _pfor_module()


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
