"""The private or undocumented Keras APIs grl uses, each feature-detected, each with a
public fallback. Listed with their reasons in ``docs/internals.md`` ("TensorFlow and
Keras"). Tests force each fallback by setting the module attribute to ``None``.

* :data:`IN_STATELESS_SCOPE` (``keras.src.backend.common.stateless_scope``): Keras has no
  public test for an active ``StatelessScope``. Used only to pick the fast eager update on
  TensorFlow; without it the layer takes the general update path (correct everywhere,
  a few dispatches slower).
* ``Layer._flatten_layers`` (:data:`FLATTEN_LAYERS`): Keras' own recursive layer walk.
  Fallback: a walk over ``layers`` and the layer attributes (lists, tuples and dicts too).
* ``jax_state_sync`` (:func:`sync_jax_state`): the JAX trainer keeps the state outside
  the variables during an epoch; syncing puts it back so that the callback's assignments
  are what the next train step reads. Without it an assignment would be lost: refused.
* ``fit``'s local ``callbacks`` (:func:`running_fit_callbacks`, through ``sys._getframe``):
  the callback list of the ``fit`` that is tracing the train step, so that a scheduled
  layer can add a watch for a forgotten scheduler. Keras has no public way to reach it.
  Fallback (:data:`FIT_FRAMES` ``None``): no default ``never_advanced`` warning in Keras
  (the monitor still raises it).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

import keras


def _in_stateless_scope() -> Callable[[], bool] | None:
    try:
        from keras.src.backend.common.stateless_scope import in_stateless_scope
    except ImportError:
        return None
    return in_stateless_scope if callable(in_stateless_scope) else None


IN_STATELESS_SCOPE: Callable[[], bool] | None = _in_stateless_scope()
FLATTEN_LAYERS: bool = callable(getattr(keras.layers.Layer, "_flatten_layers", None))
FIT_FRAMES: Callable[[int], FrameType] | None = getattr(sys, "_getframe", None)


def running_fit_callbacks() -> keras.callbacks.CallbackList | None:
    """The callback list of the ``Model.fit`` that is running now (its train step being
    traced), or None when there is none or it cannot be told."""
    if FIT_FRAMES is None:
        return None
    frame: FrameType | None = FIT_FRAMES(1)
    while frame is not None:
        if frame.f_code.co_name == "fit":
            callbacks = frame.f_locals.get("callbacks")
            if isinstance(callbacks, keras.callbacks.CallbackList):
                return callbacks
        frame = frame.f_back
    return None


def maybe_in_stateless_scope() -> bool:
    """Whether a ``StatelessScope`` may be active (True when it cannot be told)."""
    return True if IN_STATELESS_SCOPE is None else IN_STATELESS_SCOPE()


def _walk(layer: Any, seen: set[int]) -> Iterator[keras.layers.Layer]:
    if id(layer) in seen:
        return
    seen.add(id(layer))
    yield layer
    children: list[Any] = list(getattr(layer, "layers", None) or [])
    for value in vars(layer).values():
        values = value.values() if isinstance(value, dict) else value
        children.extend(values if isinstance(values, (list, tuple)) else [value])
    for child in children:
        if isinstance(child, keras.layers.Layer):
            yield from _walk(child, seen)


def all_layers(model: keras.layers.Layer) -> list[keras.layers.Layer]:
    """``model`` and every layer inside it, nested models and sublayers included."""
    if FLATTEN_LAYERS:
        return list(model._flatten_layers(include_self=True, recursive=True))
    return list(_walk(model, set()))


def sync_jax_state(model: keras.Model) -> None:
    """Put the JAX trainer's state back into the variables (no-op on other backends)."""
    if keras.backend.backend() != "jax":
        return
    sync = getattr(model, "jax_state_sync", None)
    if sync is None:
        raise RuntimeError(
            f"GradientReversalScheduler cannot update the layers of {model.name!r} during "
            f"fit on the JAX backend: this Keras ({keras.__version__}) has no "
            "Model.jax_state_sync. Call layer.advance() in your own training loop instead."
        )
    sync()
