"""The MLX op: ``R_λ(x) = x`` forward, ``g · cast(−λ, dtype(g))`` for every derivative.

One ``mx.custom_function`` with three rules written with MLX ops, so that every
transformation composes: the VJP rule scales the cotangent (and, being MLX ops itself, is
differentiated again for second derivatives: ``−λ²·sin x``), the JVP rule scales the
tangent (never a silent ``+t``), and the vmap rule passes the batch axis through. λ is an
input array, so ``mx.compile`` traces once for every value of λ.
"""

from __future__ import annotations

from typing import Any

import mlx.core as mx

from grl.core import lambda_ as lambda_rules

_SIXTEEN_BIT = (mx.float16, mx.bfloat16)
_EVAL_UNDER_TRANSFORM = "[eval]"  # MLX's message when a value is read inside compile/vmap


def _factor(lambda_: mx.array, dtype: mx.Dtype) -> mx.array:
    """``cast(−λ, dtype)``: 16-bit dtypes get a float64 λ through float32 (the spec's rule)."""
    negated = -lambda_
    if dtype in _SIXTEEN_BIT and negated.dtype == mx.float64:
        negated = negated.astype(mx.float32)
    return negated.astype(dtype)


def _scale(g: mx.array, lambda_: mx.array) -> mx.array:
    """``g · cast(−λ, dtype(g))``, one multiply; a complex ``g`` has each part scaled by the
    real factor (a complex multiply would turn ``inf·0`` into NaN)."""
    if g.dtype == mx.complex64:
        factor = _factor(lambda_, mx.float32)
        parts = mx.stack([mx.real(g) * factor, mx.imag(g) * factor], axis=-1)
        return parts.view(mx.complex64).reshape(g.shape)
    return g * _factor(lambda_, g.dtype)


@mx.custom_function
def _reverse(x: mx.array, lambda_: mx.array) -> mx.array:
    return x


@_reverse.vjp
def _reverse_vjp(primals: Any, cotangent: mx.array, output: mx.array) -> tuple:
    _, lambda_ = primals
    return _scale(cotangent, lambda_), mx.zeros_like(lambda_)  # λ is never trained


@_reverse.jvp
def _reverse_jvp(primals: Any, tangents: Any) -> mx.array:
    return _scale(tangents[0], primals[1])


@_reverse.vmap
def _reverse_vmap(inputs: Any, axes: Any) -> tuple:
    return inputs[0], axes[0]


def _is_inexact(dtype: mx.Dtype) -> bool:
    return mx.issubdtype(dtype, mx.inexact)


def lambda_array(lambda_: Any, like: mx.Dtype) -> mx.array:
    """Validate λ; a host number becomes a 0-d array (float64 for float64 ``x``, where λ
    must not be rounded to float32; float32 otherwise, which rounds the same as the spec's
    float64 → dtype cast). An array keeps its dtype; its value is checked unless it is
    being traced (inside ``mx.compile`` or ``mx.vmap`` it cannot be read)."""
    if lambda_rules.is_number_like(lambda_):
        value = lambda_rules.validate_lambda_number(lambda_)
        return mx.array(value, dtype=mx.float64 if like == mx.float64 else mx.float32)
    if not isinstance(lambda_, mx.array):
        raise lambda_rules.type_error(lambda_)
    lambda_rules.check_floating_dtype(
        mx.issubdtype(lambda_.dtype, mx.floating), str(lambda_.dtype).split(".")[-1], lambda_
    )
    lambda_rules.check_rank(tuple(lambda_.shape), lambda_)
    try:
        value = lambda_.item()
    except ValueError as error:
        if _EVAL_UNDER_TRANSFORM not in str(error):
            raise
        return lambda_
    lambda_rules.check_real_value(float(value), lambda_)
    return lambda_


def gradient_reversal(x: mx.array, lambda_: Any = 1.0) -> mx.array:
    """``R_λ(x) = x``; every derivative through it is multiplied by ``−λ``.

    Args:
        x: an ``mx.array``. Integer and boolean arrays come back unchanged (they carry no
            gradient).
        lambda_: a real number ``>= 0`` or a 0-d floating ``mx.array`` (an array never
            recompiles ``mx.compile`` when its value changes).
    """
    _check_x(x)
    return reverse(x, lambda_array(lambda_, x.dtype))


def reverse(x: mx.array, lambda_: mx.array) -> mx.array:
    """The op on an already validated 0-d λ array (the layer's state): no host read."""
    _check_x(x)
    return _reverse(x, lambda_) if _is_inexact(x.dtype) else x


def _check_x(x: Any) -> None:
    if not isinstance(x, mx.array):
        raise TypeError(
            f"x must be an mlx.core.array; got {lambda_rules.describe(x)} of type "
            f"{type(x).__name__}"
        )
