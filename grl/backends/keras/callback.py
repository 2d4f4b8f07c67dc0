"""``GradientReversalScheduler``: a Keras callback that advances every GRL once per batch
(and gives ``total_steps="auto"`` schedules the run length at the start of ``fit``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import keras

from grl.backends.keras import internals
from grl.backends.keras.layer import GradientReversal
from grl.core import diagnostics as core

#: What to do when ``fit`` cannot tell the run length.
_FIT_FIX = (
    "Pass steps_per_epoch=<batches per epoch> to fit (or give it a dataset with a length), "
    "or build the schedule with total_steps=<number of training steps>"
)


def total_steps_from_params(params: Mapping[str, Any]) -> int:
    """``total_steps="auto"`` as ``epochs × steps`` from a callback's ``self.params``
    (a clear error when ``fit`` does not know the steps per epoch)."""
    epochs, steps = params.get("epochs"), params.get("steps")
    known = None if epochs is None or steps is None else epochs * steps
    source = f"epochs × steps_per_epoch ({epochs} × {steps})"
    return core.resolve_total_steps(known, source, _FIT_FIX)


def find_gradient_reversal_layers(model: keras.layers.Layer) -> list[GradientReversal]:
    """Every :class:`GradientReversal` in ``model``, nested models and sublayers included."""
    return [layer for layer in internals.all_layers(model) if isinstance(layer, GradientReversal)]


class AdvanceWatch(keras.callbacks.Callback):
    """Warns once when a scheduled layer is still at step 0 after ``within`` batches of a
    ``fit`` (the scheduler callback forgotten, so λ stays at schedule(0)).

    A scheduled layer adds it to the running ``fit``'s callbacks when its training step is
    traced, unless a callback there advances or monitors it. It counts batches as they
    begin (Keras may run batch-end callbacks on another thread) and reads the layer's step
    once at the end of an epoch, where every backend's variables hold the trained state.
    """

    covers_never_advanced = True

    def __init__(self, layer: GradientReversal, within: int) -> None:
        super().__init__()
        # Made while the first batch is traced, after that batch began: it counts.
        self.layer, self.within, self.batches, self.done = layer, within, 1, False

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self.batches += 1

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        if self.done or self.batches < self.within:
            return
        self.done = True
        step = self.layer.current_step()
        problem = core.never_advanced_problem(step, self.batches, True, self.within)
        if problem is not None:
            core.warn("never_advanced", problem, stacklevel=2)


def watch_advancing(layer: GradientReversal) -> None:
    """Add an :class:`AdvanceWatch` for ``layer`` to the running ``fit`` (see there)."""
    callbacks = internals.running_fit_callbacks()
    if callbacks is None:
        return
    if any(getattr(c, "covers_never_advanced", False) for c in callbacks.callbacks):
        return
    callbacks.callbacks.append(AdvanceWatch(layer, core.DEFAULT_THRESHOLDS.advance_within))


class GradientReversalScheduler(keras.callbacks.Callback):
    """Advance every :class:`GradientReversal` of the model once per training batch.

    After each training batch, every layer's ``advance`` runs (on its device): batch ``k``
    (from 0) trains with ``λ = schedule(k)``, and after ``n`` batches each scheduled layer
    holds ``step == n`` and ``λ == schedule(n)``, as a hand-written loop that calls
    ``advance()`` after each optimizer step does. Layers with a fixed λ only count steps.
    Evaluation, prediction and validation never advance anything.

    λ and ``step`` are model weights, so ``BackupAndRestore``, ``ModelCheckpoint`` and
    ``load_model`` resume the schedule exactly where it stopped. With
    ``steps_per_execution = k`` Keras calls the callback once per k batches: λ is then held
    for those k batches and ``step`` still counts every batch (for an epoch of unknown
    length, a last, shorter execution counts as k).

    At the start of ``fit``, a schedule built with ``total_steps="auto"`` gets
    ``epochs × steps_per_epoch`` (``self.params``; a clear error, before the first batch,
    when the steps per epoch are unknown). The layer's config then holds that number, so
    a saved model keeps it, and a later ``fit`` continues the same schedule.
    """

    covers_never_advanced = True

    def __init__(self) -> None:
        super().__init__()
        self._layers: list[GradientReversal] = []
        self._batches = 1

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._layers = find_gradient_reversal_layers(self.model)
        if not self._layers:
            raise ValueError(
                "GradientReversalScheduler found no GradientReversal layer in model "
                f"{self.model.name!r}; remove the callback or add the layer"
            )
        unresolved = [
            layer
            for layer in self._layers
            if layer.schedule is not None and not layer.schedule.resolved
        ]
        if unresolved:
            total_steps = total_steps_from_params(self.params or {})
            for layer in unresolved:
                layer.resolve_total_steps(total_steps)

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._batches = self._planned_batches(batch)

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        internals.sync_jax_state(self.model)
        for layer in self._layers:
            layer.advance(self._batches)

    def _planned_batches(self, batch: int) -> int:
        """Batches this execution runs: ``steps_per_execution``, fewer at the end of an
        epoch of known length (Keras reports no exact count for a short execution)."""
        per_execution = int(getattr(self.model, "steps_per_execution", 1) or 1)
        total = (self.params or {}).get("steps")
        if total:
            return max(1, min(per_execution, total - batch))
        return per_execution
