"""The GRL as a TensorFlow op: recorded by hand eagerly, a ``tf.custom_gradient`` in graphs.

Every derivative applies the same linear backward ``g ↦ g · cast(−λ, dtype(g))``:

* eagerly, the op is a plain ``Identity`` recorded by hand, once for the backward tapes
  and once for the forward accumulators (TensorFlow transposes the linear backward into
  the JVP ``t ↦ −λ·t``). That is all an eager op needs, and it avoids the per-call cost of
  ``tf.custom_gradient``'s eager decorator;
* in graphs (``tf.function``, XLA, SavedModel, ``tf.gradients``) the gradient has to
  live in the graph itself, so the identity is a ``tf.custom_gradient`` whose gradient
  override is that backward. ``tf.custom_gradient`` alone gets forward mode wrong (a
  ``tf.autodiff.ForwardAccumulator`` sees only the identity inside it and silently returns
  ``+t``), so it is run with tape recording stopped and recorded by hand, as eagerly.
"""

from __future__ import annotations

import sys
import weakref
from typing import Any

import tensorflow as tf

from grl.backends.tf import internals
from grl.core import lambda_ as lambda_rules

_OP_NAME = "GrlGradientReversal"
_SIXTEEN_BIT = (tf.float16, tf.bfloat16)

#: λ for one eager call: a validated host number, a tensor, or a variable (read by the call).
EagerLambda = float | tf.Tensor | tf.Variable


#: One entry per ``tf.recompute_grad`` call whose forward read a λ variable:
#: ``id(kwargs) -> (kwargs, {id(variable): (weak reference to it, λ as its forward read it)})``,
#: one table for eager calls, one for calls traced in graphs. The call's ``kwargs`` dict is
#: held here and by the call's backward closure; an entry that only this table still holds
#: belongs to a call no tape can recompute any more, and is dropped. (A call traced in a
#: graph stays, as TensorFlow keeps that graph's gradient functions.)
_Reads = dict[int, tuple["weakref.ref[tf.Variable]", tf.Tensor]]
_FORWARD_READS: dict[bool, dict[int, tuple[dict[str, Any], _Reads]]] = {True: {}, False: {}}
#: References to a dropped call's ``kwargs``: this table, the loop's name, getrefcount's argument.
_UNREFERENCED = 3


def _read(variable: tf.Variable) -> tf.Tensor:
    """λ's value now: a snapshot eagerly (a later assignment does not change it)."""
    return variable.value() if tf.executing_eagerly() else variable.read_value()


def _drop_finished_calls(table: dict[int, tuple[dict[str, Any], _Reads]]) -> None:
    for key, (kwargs, _) in list(table.items()):
        if sys.getrefcount(kwargs) <= _UNREFERENCED:
            del table[key]


def _may_be_recomputed() -> bool:
    """Whether an eager call may run inside ``tf.recompute_grad``: tested before walking
    the stack. A recomputed forward runs with recording stopped; its recomputation at
    backward time records, and only matters once some forward stored a λ."""
    record, stopped = internals.RECORD, internals.TAPE_SET_IS_STOPPED
    if record is None or stopped is None:
        return True  # cannot tell: walk
    if record.could_possibly_record():
        return bool(_FORWARD_READS[True])
    return bool(stopped())


def _recompute_call() -> tuple[dict[str, Any], bool] | None:
    if tf.executing_eagerly() and not _may_be_recomputed():
        return None
    return internals.recompute_call()


def forward_read(variable: tf.Variable) -> tf.Tensor:
    """λ as the forward pass of this call reads it.

    Outside ``tf.recompute_grad`` (and ``keras.remat``), the variable's value now. Inside
    it, the value its forward pass read: the forward stores it, and the recomputation at
    backward time, which runs the forward again, reuses it, so an assignment between a
    forward and its backward never reaches that backward (as without recomputation).
    """
    return _read_in(_recompute_call(), variable)


def _read_in(call: tuple[dict[str, Any], bool] | None, variable: tf.Variable) -> tf.Tensor:
    """:func:`forward_read` for the recomputed call ``call`` (None: none)."""
    if call is None:
        return _read(variable)
    kwargs, recomputing = call
    table = _FORWARD_READS[tf.executing_eagerly()]
    entry = table.get(id(kwargs))
    if entry is None or entry[0] is not kwargs:
        if recomputing:  # the forward read no variable (λ was given otherwise)
            return _read(variable)
        _drop_finished_calls(table)
        entry = table[id(kwargs)] = (kwargs, {})
    reads = entry[1]
    stored = reads.get(id(variable))
    if stored is None or stored[0]() is not variable:
        if recomputing:
            return _read(variable)
        stored = reads[id(variable)] = (weakref.ref(variable), _read(variable))
    return stored[1]


def cast_negated_lambda(lambda_: tf.Tensor, dtype: tf.DType) -> tf.Tensor:
    """``cast(−λ, dtype)``: 16-bit targets go through float32, as in the NumPy reference."""
    negated = -lambda_
    if dtype in _SIXTEEN_BIT and negated.dtype == tf.float64:
        negated = tf.cast(negated, tf.float32)
    return tf.cast(negated, dtype)


def _multiply(grad: tf.Tensor, factor: tf.Tensor) -> tf.Tensor:
    """``grad · factor`` for a real factor of ``grad``'s real dtype."""
    if isinstance(grad, tf.IndexedSlices):
        # A sparse gradient (tf.gather, embeddings) stays sparse: only its rows are scaled.
        return tf.IndexedSlices(_multiply(grad.values, factor), grad.indices, grad.dense_shape)
    if grad.dtype.is_complex:
        # Scale both parts by the real −λ: a complex multiply by (−λ + 0j) would add
        # implementation-defined signed zeros (and NaN for inf·0) to the result.
        return tf.complex(tf.math.real(grad) * factor, tf.math.imag(grad) * factor)
    return grad * factor


def _scale(grad: tf.Tensor, lambda_: tf.Tensor) -> tf.Tensor:
    """``g · cast(−λ, dtype(g))``, the one backward of every path."""
    return _multiply(grad, cast_negated_lambda(lambda_, grad.dtype.real_dtype))


@tf.custom_gradient
def _reversal(x: tf.Tensor, lambda_: tf.Tensor) -> Any:
    def backward(grad: tf.Tensor) -> tuple[tf.Tensor, None]:
        return _scale(grad, lambda_), None

    return tf.identity(x), backward


def _check_lambda_tensor(lambda_: Any) -> None:
    """Type, dtype and rank of a λ that is not a host number (no value read)."""
    if not isinstance(lambda_, (tf.Tensor, tf.Variable)):
        raise lambda_rules.type_error(lambda_)
    lambda_rules.check_floating_dtype(lambda_.dtype.is_floating, lambda_.dtype.name, lambda_)
    lambda_rules.check_rank(tuple(lambda_.shape), lambda_)


def lambda_tensor(lambda_: Any) -> tf.Tensor:
    """Validate λ and return it as a 0-d floating tensor (host numbers become float64).

    Symbolic λ (inside ``tf.function``) is checked for rank and dtype at trace time; eager
    values are checked in full.
    """
    if lambda_rules.is_number_like(lambda_):
        return tf.constant(lambda_rules.validate_lambda_number(lambda_), dtype=tf.float64)
    _check_lambda_tensor(lambda_)
    if isinstance(lambda_, tf.Variable):
        lambda_ = forward_read(lambda_)
    if tf.executing_eagerly():
        lambda_rules.check_real_value(float(lambda_.numpy()), lambda_)
    return tf.stop_gradient(lambda_)


def _eager_lambda(lambda_: Any) -> float | tf.Tensor:
    """Validate λ in full for one eager call; a variable is read (a snapshot) to check it."""
    if lambda_rules.is_number_like(lambda_):
        return lambda_rules.validate_lambda_number(lambda_)
    _check_lambda_tensor(lambda_)
    if isinstance(lambda_, tf.Variable):
        lambda_ = tf.stop_gradient(forward_read(lambda_))
    lambda_rules.check_real_value(float(lambda_.numpy()), lambda_)
    return lambda_


def _is_recordable(x: tf.Tensor) -> bool:
    """Whether a derivative through ``x``'s reversal can be recorded (if not, R_λ(x) is x)."""
    return (x.dtype.is_floating or x.dtype.is_complex) and internals.RECORD.could_possibly_record()


def _record_reversal(x: tf.Tensor, lambda_: EagerLambda) -> tf.Tensor:
    """``Identity(x)``, recorded by hand for the tapes and the forward accumulators."""
    record = internals.RECORD
    with record.stop_recording():
        if isinstance(lambda_, tf.Variable):
            # A snapshot: an assignment after this forward must not reach its backward.
            lambda_ = _read(lambda_)
        y = tf.raw_ops.Identity(input=x)

    def backward(grad: tf.Tensor) -> list[tf.Tensor]:
        # −λ is computed unrecorded, so that no derivative of any order reaches λ (a
        # meta-parameter); the multiply is recorded, which is what higher orders need.
        with record.stop_recording():
            lam = lambda_ if isinstance(lambda_, tf.Tensor) else tf.constant(lambda_, tf.float64)
            factor = cast_negated_lambda(lam, grad.dtype.real_dtype)
        return [_multiply(grad, factor)]

    record.record_operation_backprop_only(_OP_NAME, [y], [x], backward)
    record.record_operation_forwardprop_only(_OP_NAME, [y], [x], backward, None)
    return y


def _eager_reversal(x: tf.Tensor, lambda_: EagerLambda) -> tf.Tensor:
    if isinstance(lambda_, tf.Variable):
        call = _recompute_call()
        if call is not None:
            # The forward of a recomputed call records nothing, but its recomputation at
            # backward time must find the λ this forward saw.
            lambda_ = _read_in(call, lambda_)
    if internals.RECORD is None:
        if not (x.dtype.is_floating or x.dtype.is_complex):
            return x
        lam = _read(lambda_) if isinstance(lambda_, tf.Variable) else lambda_
        return _public_reversal(
            x, tf.convert_to_tensor(lam, tf.float64) if isinstance(lam, float) else lam
        )
    return _record_reversal(x, lambda_) if _is_recordable(x) else x


@tf.custom_gradient
def _public_reversal(x: tf.Tensor, lambda_: tf.Tensor) -> Any:
    """The reversal from public APIs only (used where a private one is missing).

    ``x − (s̄ − s)`` with ``s = −λ·x`` and ``s̄`` its stopped copy: the forward value is x
    (``s̄ − s`` is +0 for finite s; x itself where s is not finite) and every derivative
    that sees these operations (pfor, forward accumulators) is ``−λ·t``; tapes get the
    backward of every other path.
    """
    lam = tf.stop_gradient(lambda_)
    scaled = _multiply(x, cast_negated_lambda(lam, x.dtype.real_dtype))
    offset = tf.stop_gradient(scaled) - scaled
    y = tf.where(tf.equal(offset, 0), tf.stop_gradient(x) - offset, x)

    def backward(grad: tf.Tensor) -> tuple[tf.Tensor, None]:
        return _scale(grad, lam), None

    return y, backward


def _graph_reversal(x: Any, lambda_: Any) -> tf.Tensor:
    lam = lambda_tensor(lambda_)
    x = tf.convert_to_tensor(x)
    if not (x.dtype.is_floating or x.dtype.is_complex):
        return x
    if internals.RECORD is None or internals.PFOR is None:
        return _public_reversal(x, lam)
    return _recorded_reversal(x, lam)


def _recorded_reversal(x: tf.Tensor, lam: tf.Tensor) -> tf.Tensor:
    """:func:`_reversal` recorded by hand (tapes and forward accumulators), which pfor
    (``tf.vectorized_map``, jacobians) vectorizes into itself, λ per example included."""
    record = internals.RECORD
    with record.stop_recording():
        y = _reversal(x, lam)
    internals.vectorize_as(y, _recorded_reversal)

    def backward(grad: tf.Tensor) -> list[Any]:
        return [_scale(grad, lam), None]

    record.record_operation_backprop_only(_OP_NAME, [y], [x, lam], backward)
    record.record_operation_forwardprop_only(_OP_NAME, [y], [x, lam], backward, None)
    return y


def _composite_reversal(x: Any, lambda_: Any, reverse: Any) -> Any:
    """A sparse or ragged tensor: its stored values are reversed, its structure kept."""
    if isinstance(x, tf.SparseTensor):
        return x.with_values(reverse(x.values, lambda_))
    return x.with_flat_values(reverse(x.flat_values, lambda_))


def gradient_reversal(x: Any, lambda_: Any = 1.0) -> tf.Tensor:
    """Gradient reversal: ``R_λ(x) = x`` forward, ``∂L/∂x = −λ·∂L/∂R`` backward.

    Args:
        x: a tensor (or anything ``tf.convert_to_tensor`` accepts), a ``tf.SparseTensor``
            or a ``tf.RaggedTensor`` (its values are reversed, its structure kept).
            Floating and complex tensors get the reversed gradient; other dtypes are
            returned unchanged.
        lambda_: a number ≥ 0, or a 0-d floating tensor / ``tf.Variable`` (use one to change
            λ inside a ``tf.function`` without retracing).
    """
    if isinstance(x, (tf.SparseTensor, tf.RaggedTensor)):
        return _composite_reversal(x, lambda_, gradient_reversal)
    if not tf.executing_eagerly():
        return _graph_reversal(x, lambda_)
    lam = _eager_lambda(lambda_)  # bad λ fails before any work
    return _eager_reversal(tf.convert_to_tensor(x), lam)


def validated_lambda_reversal(x: Any, lambda_: tf.Variable | tf.Tensor) -> tf.Tensor:
    """:func:`gradient_reversal` for a λ whose value was validated when it was written.

    The Keras layer's λ weight (0-d, floating) is written only by the layer's validating
    paths (constructor, ``set_lambda``, ``advance``, restoring its saved weights) and by
    its own ``assign``, which refuses a forbidden concrete value
    (:mod:`grl.backends.keras.variables`). So eager calls skip the device-to-host read of
    its value, as graphs always have, and read the weight (on its device) only when a tape
    or accumulator could record the call (or a recomputation may need it).
    """
    if isinstance(x, (tf.SparseTensor, tf.RaggedTensor)):
        return _composite_reversal(x, lambda_, validated_lambda_reversal)
    if not tf.executing_eagerly():
        return _graph_reversal(x, lambda_)
    return _eager_reversal(tf.convert_to_tensor(x), lambda_)
