"""TensorFlow macro benchmark: one DANN training step with grl, identity, or loss subtraction.

Keras layers, a ``GradientTape`` and ``keras.optimizers.SGD``; the compiled mode wraps
the step in ``tf.function(jit_compile=True)``. The grl variant advances its λ schedule
every step with ``layer.advance()`` at the start of the step, inside the compiled
function (the update is a few scalar operations on the device, as in the JAX step);
"grl, fixed λ" skips that update.
The loss-subtraction variant has no layer: one persistent tape, and the features take the
gradient of ``L_y − λ·L_d`` while the heads take those of ``L_y`` and ``L_d``.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from benchmarks import dann_spec, records
from benchmarks.dann_spec import ModelSpec
from benchmarks.peers import tf_peers
from benchmarks.settings import Settings
from benchmarks.timing import interleaved_samples
from grl.core import schedules
from grl.tf import GradientReversal

VARIANTS = (records.GRL, records.GRL_FIXED, records.IDENTITY, tf_peers.LOSS_SUBTRACTION)


def build(spec: ModelSpec, params: dict) -> dict[str, keras.Sequential]:
    """Feature extractor, label head and domain head, loaded with the shared weights."""
    blocks: list[keras.layers.Layer] = []
    for i in range(len(spec.conv)):
        blocks += [
            keras.layers.Conv2D(spec.conv[i], 3, padding="same", activation="relu", name=f"c{i}"),
            keras.layers.MaxPooling2D(2),
        ]
    if spec.conv:
        blocks.append(keras.layers.Flatten())
    blocks += [
        keras.layers.Dense(width, activation="relu", name=f"f{i}")
        for i, width in enumerate(spec.features)
    ]
    parts = {
        "features": keras.Sequential(blocks),
        "label": keras.Sequential([keras.layers.Dense(spec.classes, name="y")]),
        "domain": keras.Sequential(
            [
                keras.layers.Dense(spec.domain_hidden, activation="relu", name="d0"),
                keras.layers.Dense(1, name="d1"),
            ]
        ),
    }
    shape = (spec.image, spec.image, spec.inputs) if spec.conv else (spec.inputs,)
    parts["features"].build((None, *shape))
    parts["label"].build((None, spec.features[-1]))
    parts["domain"].build((None, spec.features[-1]))
    for part in parts.values():
        for layer in part.layers:
            if layer.weights:
                layer.set_weights([params[f"{layer.name}.w"], params[f"{layer.name}.b"]])
    return parts


class Shared:
    """Weights, optimizer and batch shared by the variants of one comparison.

    Separate model instances differ by a few percent from memory placement alone; sharing
    them leaves the GRL slot as the only difference.
    """

    def __init__(self, spec: ModelSpec):
        self.data = {key: tf.constant(value) for key, value in dann_spec.batch(spec).items()}
        self.parts = build(spec, dann_spec.init_params(spec))
        self.optimizer = keras.optimizers.SGD(dann_spec.LEARNING_RATE, momentum=dann_spec.MOMENTUM)
        self.variables = [v for part in self.parts.values() for v in part.trainable_variables]
        self.optimizer.build(self.variables)


def make_step(
    spec: ModelSpec, variant: str, mode: str, shared: Shared | None = None
) -> Callable[[], None]:
    shared = shared or Shared(spec)
    data, parts, optimizer, variables = (
        shared.data,
        shared.parts,
        shared.optimizer,
        shared.variables,
    )
    reversal = {
        records.GRL: lambda: GradientReversal(schedules.dann(total_steps=dann_spec.SCHEDULE_STEPS)),
        records.GRL_FIXED: lambda: GradientReversal(0.5),
    }.get(variant, keras.layers.Identity)()
    lambda_ = tf.Variable(0.5, trainable=False)
    n = spec.batch

    def losses() -> tuple[tf.Tensor, tf.Tensor]:
        features = parts["features"](tf.concat([data["source"], data["target"]], 0))
        label_loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(
                data["labels"], parts["label"](features[:n])
            )
        )
        domain_logits = tf.squeeze(parts["domain"](reversal(features)), 1)
        domain_loss = tf.reduce_mean(
            tf.nn.sigmoid_cross_entropy_with_logits(data["domains"], domain_logits)
        )
        return label_loss, domain_loss

    def layer_step() -> None:
        if variant == records.GRL:
            reversal.advance()  # λ ← schedule(step), step ← step + 1
        with tf.GradientTape() as tape:
            label_loss, domain_loss = losses()
            loss = label_loss + domain_loss
        optimizer.apply(tape.gradient(loss, variables), variables)

    def subtraction_step() -> None:
        with tf.GradientTape(persistent=True) as tape:
            label_loss, domain_loss = losses()
            feature_loss = label_loss - lambda_ * domain_loss
        grads = tape.gradient(feature_loss, parts["features"].trainable_variables)
        grads += tape.gradient(label_loss, parts["label"].trainable_variables)
        grads += tape.gradient(domain_loss, parts["domain"].trainable_variables)
        optimizer.apply(grads, variables)

    body = subtraction_step if variant == tf_peers.LOSS_SUBTRACTION else layer_step
    return body if mode == "eager" else tf.function(body, jit_compile=True)


def steps_for(spec: ModelSpec, mode: str) -> dict[str, Callable[[], None]]:
    shared = Shared(spec)
    return {variant: make_step(spec, variant, mode, shared) for variant in VARIANTS}


def run(settings: Settings) -> list[records.Record]:
    from benchmarks import tf_memory

    results: list[records.Record] = []
    for spec in dann_spec.MODELS:
        for mode in settings.modes:
            steps = steps_for(spec, mode)
            results += tf_memory.step_peak_records(steps, spec.name, mode)
            samples = interleaved_samples(steps, settings.macro_repeats, settings.macro_sample_s)
            results += records.macro("tf", spec.name, mode, samples)
    return results
