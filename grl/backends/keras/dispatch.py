"""Pick the GRL op of the active Keras backend (``KERAS_BACKEND``).

Each backend module is imported only when that backend is active, so a Keras user on JAX
or PyTorch never imports TensorFlow (and the other way round).
"""

from __future__ import annotations

import functools
import importlib
from collections.abc import Callable
from typing import Any

import keras

#: Keras backend name -> (module, function): the ``f(x, lambda_)`` that the layer calls.
#: TensorFlow's skips the eager host read of λ's value: the layer's weight is validated
#: whenever grl writes it.
BACKEND_OPS = {
    "tensorflow": ("grl.backends.tf.ops", "validated_lambda_reversal"),
    "jax": ("grl.backends.jax.ops", "gradient_reversal"),
    "torch": ("grl.backends.torch.ops", "gradient_reversal"),
}


@functools.cache
def _op_for(backend: str) -> Callable[[Any, Any], Any]:
    if backend not in BACKEND_OPS:
        raise NotImplementedError(
            f"GradientReversal supports the Keras backends {sorted(BACKEND_OPS)}; "
            f"the active backend (KERAS_BACKEND) is {backend!r}"
        )
    module, function = BACKEND_OPS[backend]
    op = getattr(importlib.import_module(module), function)
    if backend == "torch":
        return _with_own_lambda(op)
    return op


def _with_own_lambda(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """The PyTorch op given a copy of λ's tensor: Keras writes a PyTorch variable in place
    (``copy_``), and the op's backward uses the λ tensor its forward got (refusing one
    written since), so a ``set_lambda``/``advance`` between a forward and its backward
    would fail that backward. With a copy the backward uses its forward's λ, also under
    ``keras.remat`` (non-reentrant checkpointing keeps the forward's context)."""

    def reversal(x: Any, lambda_: Any) -> Any:
        return op(x, lambda_.detach().clone())

    return reversal


def reversal_op() -> Callable[[Any, Any], Any]:
    """``gradient_reversal(x, lambda_)`` of the active Keras backend."""
    return _op_for(keras.backend.backend())
