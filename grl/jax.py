"""grl for JAX: the gradient reversal layer for every JAX transformation.

* :func:`gradient_reversal` — ``R_λ(x) = x`` forward, ``−λ·I`` for every derivative, on an
  array or any pytree of arrays (a JAX primitive whose JVP rule binds itself; a
  ``jax.custom_jvp`` where JAX lacks the internals, see ``docs/internals.md``).
* :mod:`schedules` — optax-compatible, jittable λ schedules ``step -> λ``: the formulas of
  :mod:`grl.core.schedules`, evaluated with ``jax.numpy``.
* :class:`GradientReversal` — the Flax NNX module (λ and step as state, the layer contract
  of :mod:`grl.core.layer`: a number, a 0-d array or a grl schedule; other callables such
  as optax schedules are refused), the same class as ``grl.jax.nnx.GradientReversal``.
* ``nnx`` — :mod:`grl.jax.nnx`, the module of that class.
* ``linen`` — :class:`grl.jax.linen.GradientReversal`, a Flax Linen module, with
  ``advance`` and ``set_lambda`` (methods and functions over variables).

``GradientReversal``, ``nnx`` and ``linen`` import Flax on first access
(``from grl.jax import GradientReversal``, ``grl.jax.nnx``), so ``import grl.jax`` works
without Flax installed; without it they raise an ImportError naming ``pip install
'grl[flax]'``. Imports neither PyTorch nor TensorFlow.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from grl._frameworks import require

require("jax")

from grl.backends.jax import schedules  # noqa: E402
from grl.backends.jax.ops import gradient_reversal  # noqa: E402

if TYPE_CHECKING:
    from grl.backends.jax import diagnostics, linen, nnx
    from grl.backends.jax.nnx import GradientReversal

__all__ = ["GradientReversal", "diagnostics", "gradient_reversal", "linen", "nnx", "schedules"]

#: Attributes that need Flax: name -> (module, attribute of that module or None for itself).
_FLAX_ATTRIBUTES = {
    "GradientReversal": ("grl.backends.jax.nnx", "GradientReversal"),
    "nnx": ("grl.backends.jax.nnx", None),
    "linen": ("grl.backends.jax.linen", None),
}


def __getattr__(name: str) -> Any:
    if name == "diagnostics":  # docs/diagnostics.md; loaded on first use
        return importlib.import_module("grl.backends.jax.diagnostics")
    if name not in _FLAX_ATTRIBUTES:
        raise AttributeError(f"module 'grl.jax' has no attribute {name!r}")
    require("flax", f"grl.jax.{name}")
    module_name, attribute = _FLAX_ATTRIBUTES[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
