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

#: Keras backend name -> module whose ``gradient_reversal(x, lambda_)`` implements the GRL.
BACKEND_OPS = {
    "tensorflow": "grl.backends.tf.ops",
    "jax": "grl.backends.jax.ops",
    "torch": "grl.backends.torch.ops",
}


@functools.cache
def _op_for(backend: str) -> Callable[[Any, Any], Any]:
    if backend not in BACKEND_OPS:
        raise NotImplementedError(
            f"GradientReversal supports the Keras backends {sorted(BACKEND_OPS)}; "
            f"the active backend (KERAS_BACKEND) is {backend!r}"
        )
    return importlib.import_module(BACKEND_OPS[backend]).gradient_reversal


def reversal_op() -> Callable[[Any, Any], Any]:
    """``gradient_reversal(x, lambda_)`` of the active Keras backend."""
    return _op_for(keras.backend.backend())
