"""``GradientReversalScheduler``: a Keras callback that drives every GRL's λ schedule."""

from __future__ import annotations

from typing import Any

import keras

from grl.backends.keras.layer import GradientReversal
from grl.backends.keras.schedule_ops import float64_available


def find_gradient_reversal_layers(model: keras.layers.Layer) -> list[GradientReversal]:
    """Every :class:`GradientReversal` in ``model``, nested models and sublayers included."""
    # Keras has no public recursive layer walk; `_flatten_layers` is what Keras itself
    # uses for that (e.g. to decide XLA support), and it covers subclassed models too.
    return [
        layer
        for layer in model._flatten_layers(include_self=True, recursive=True)
        if isinstance(layer, GradientReversal)
    ]


class GradientReversalScheduler(keras.callbacks.Callback):
    """Advance every :class:`GradientReversal` of the model once per training batch.

    Before each training batch, each scheduled layer gets ``λ = schedule(step)`` (computed
    in float64 with the host schedule's values, stored as float32) and ``step`` grows by
    one, so ``model.fit(..., callbacks=[GradientReversalScheduler()])`` follows the
    schedule. Each layer updates itself on its device (:meth:`GradientReversal.advance`);
    on JAX without x64, which has no float64, the steps are tracked on the host instead.
    Layers with a fixed λ only count steps. Evaluation, prediction and validation never
    advance anything.

    λ and ``step`` are model weights, so ``BackupAndRestore``, ``ModelCheckpoint`` and
    ``load_model`` resume the schedule exactly where it stopped. With
    ``steps_per_execution = k`` Keras calls the callback once per k batches: λ is then
    held for those k batches and ``step`` still counts every batch (for an epoch of
    unknown length, a last, shorter execution counts as k).
    """

    def __init__(self) -> None:
        super().__init__()
        self._layers: list[GradientReversal] = []
        self._steps: list[int] | None = None

    def on_train_begin(self, logs: dict[str, Any] | None = None) -> None:
        self._layers = find_gradient_reversal_layers(self.model)
        if not self._layers:
            raise ValueError(
                "GradientReversalScheduler found no GradientReversal layer in model "
                f"{self.model.name!r}; remove the callback or add the layer"
            )

    def on_epoch_begin(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        # Host-tracked steps are re-read from the weights once per epoch (after any
        # restore), and tracked on the host in between, to avoid a device read per batch.
        self._steps = None

    def on_train_batch_begin(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        self._sync_jax_state()
        num_batches = self._planned_batches(batch)
        if float64_available():
            for layer in self._layers:
                layer.advance(num_batches)
        else:
            self._advance_on_host(num_batches)

    def _advance_on_host(self, num_batches: int) -> None:
        if self._steps is None:
            self._steps = [layer.current_step() for layer in self._layers]
        self._steps = [
            layer.advance_from(step, num_batches)
            for layer, step in zip(self._layers, self._steps, strict=True)
        ]

    def _planned_batches(self, batch: int) -> int:
        """Batches this execution runs: ``steps_per_execution``, fewer at the end of an
        epoch of known length (Keras reports no exact count for a short execution)."""
        per_execution = int(getattr(self.model, "steps_per_execution", 1) or 1)
        total = (self.params or {}).get("steps")
        if total:
            return max(1, min(per_execution, total - batch))
        return per_execution

    def _sync_jax_state(self) -> None:
        # The JAX trainer keeps the state outside the variables during an epoch; syncing
        # puts it back, so our assignments are what the next train step reads.
        sync = getattr(self.model, "jax_state_sync", None)
        if sync is not None:
            sync()
