"""grl for JAX: the gradient reversal layer for every JAX transformation.

* :func:`gradient_reversal` — ``R_λ(x) = x`` forward, ``−λ·I`` for every derivative, on an
  array or any pytree of arrays (a JAX primitive whose JVP rule binds itself).
* :mod:`schedules` — optax-compatible, jittable λ schedules ``step -> λ``.
* ``nnx`` — :class:`grl.jax.nnx.GradientReversal`, a Flax NNX module (λ and step as state).
* ``linen`` — :class:`grl.jax.linen.GradientReversal`, a Flax Linen module, and ``advance``.

``nnx`` and ``linen`` import Flax on first access (``grl.jax.nnx`` or
``from grl.jax import nnx``), so ``import grl.jax`` works without Flax installed.
Imports neither PyTorch nor TensorFlow.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import TYPE_CHECKING

from grl._frameworks import require

require("jax")

from grl.backends.jax import schedules  # noqa: E402
from grl.backends.jax.ops import gradient_reversal  # noqa: E402

if TYPE_CHECKING:
    from grl.backends.jax import linen, nnx

__all__ = ["gradient_reversal", "linen", "nnx", "schedules"]

_FLAX_MODULES = {"nnx": "grl.backends.jax.nnx", "linen": "grl.backends.jax.linen"}


def __getattr__(name: str) -> ModuleType:
    if name not in _FLAX_MODULES:
        raise AttributeError(f"module 'grl.jax' has no attribute {name!r}")
    try:
        importlib.import_module("flax")
    except ImportError as error:
        raise ImportError(
            f"grl.jax.{name} needs the 'flax' package, which could not be imported "
            f"({error}). Install it with: pip install 'grl[flax]'"
        ) from error
    module = importlib.import_module(_FLAX_MODULES[name])
    globals()[name] = module
    return module
