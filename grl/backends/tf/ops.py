"""The GRL as a TensorFlow op built on ``tf.custom_gradient``.

``tf.custom_gradient`` alone gets forward mode wrong: a ``tf.autodiff.ForwardAccumulator``
sees only the identity inside it and silently returns ``+t``. So the custom-gradient op is
run with tape recording stopped, and the op is then recorded by hand — once for the
backward tapes, once for the forward accumulators — with the same linear backward function
(TensorFlow transposes it into the JVP ``−λ·t``). Graph-mode gradients (a tape outside a
``tf.function``, ``tf.gradients``, SavedModel) still come from ``tf.custom_gradient``'s
gradient override, so every path applies the same ``g · cast(−λ, g.dtype)``.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
from tensorflow.python.eager import record  # the tape API behind tf.custom_gradient

from grl.core import lambda_ as spec

_OP_NAME = "GrlGradientReversal"
_SIXTEEN_BIT = (tf.float16, tf.bfloat16)


def cast_negated_lambda(lambda_: tf.Tensor, dtype: tf.DType) -> tf.Tensor:
    """``cast(−λ, dtype)``: 16-bit targets go through float32, as in the NumPy reference."""
    negated = -lambda_
    if dtype in _SIXTEEN_BIT and negated.dtype == tf.float64:
        negated = tf.cast(negated, tf.float32)
    return tf.cast(negated, dtype)


def _scale(grad: tf.Tensor, lambda_: tf.Tensor) -> tf.Tensor:
    if grad.dtype.is_complex:
        # Scale both parts by the real −λ: a complex multiply by (−λ + 0j) would add
        # implementation-defined signed zeros (and NaN for inf·0) to the result.
        factor = cast_negated_lambda(lambda_, grad.dtype.real_dtype)
        return tf.complex(tf.math.real(grad) * factor, tf.math.imag(grad) * factor)
    return grad * cast_negated_lambda(lambda_, grad.dtype)


@tf.custom_gradient
def _reversal(x: tf.Tensor, lambda_: tf.Tensor) -> Any:
    def backward(grad: tf.Tensor) -> tuple[tf.Tensor, None]:
        return _scale(grad, lambda_), None

    return tf.identity(x), backward


def lambda_tensor(lambda_: Any) -> tf.Tensor:
    """Validate λ and return it as a 0-d floating tensor (host numbers become float64).

    Symbolic λ (inside ``tf.function``) is checked for rank and dtype at trace time; eager
    values are checked in full.
    """
    if spec.is_number_like(lambda_):
        return tf.constant(spec.validate_lambda_number(lambda_), dtype=tf.float64)
    if not isinstance(lambda_, (tf.Tensor, tf.Variable)):
        raise spec.type_error(lambda_)
    spec.check_floating_dtype(lambda_.dtype.is_floating, lambda_.dtype.name, lambda_)
    spec.check_rank(tuple(lambda_.shape), lambda_)
    if isinstance(lambda_, tf.Variable):
        lambda_ = lambda_.read_value()
    if tf.executing_eagerly():
        spec.check_real_value(float(lambda_.numpy()), lambda_)
    return tf.stop_gradient(lambda_)


def gradient_reversal(x: Any, lambda_: Any = 1.0) -> tf.Tensor:
    """Gradient reversal: ``R_λ(x) = x`` forward, ``∂L/∂x = −λ·∂L/∂R`` backward.

    Args:
        x: a tensor (or anything ``tf.convert_to_tensor`` accepts). Floating and complex
            tensors get the reversed gradient; other dtypes are returned unchanged.
        lambda_: a number ≥ 0, or a 0-d floating tensor / ``tf.Variable`` (use one to change
            λ inside a ``tf.function`` without retracing).
    """
    lam = lambda_tensor(lambda_)
    x = tf.convert_to_tensor(x)
    if not (x.dtype.is_floating or x.dtype.is_complex):
        return x
    with record.stop_recording():
        y = _reversal(x, lam)

    def backward(grad: tf.Tensor) -> list[Any]:
        return [_scale(grad, lam), None]

    record.record_operation_backprop_only(_OP_NAME, [y], [x, lam], backward)
    record.record_operation_forwardprop_only(_OP_NAME, [y], [x, lam], backward, None)
    return y
