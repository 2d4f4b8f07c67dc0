"""TensorFlow macro benchmark: one DANN training step with grl, identity, or loss subtraction.

The network is applied by the demo's TF builder to ``tf.Variable`` weights; a
``GradientTape`` and ``keras.optimizers.SGD`` train it; the compiled mode wraps the step
in ``tf.function(jit_compile=True)``. The grl variant is the Keras ``GradientReversal``
layer and advances its λ schedule with ``layer.advance()`` at the start of the step,
inside the compiled function; "grl, fixed λ" skips that update. The loss-subtraction
variant has no layer: one persistent tape, and the features take the gradient of
``L_y − λ·L_d`` while the heads take those of ``L_y`` and ``L_d``.
"""

from __future__ import annotations

from collections.abc import Callable

import keras
import tensorflow as tf

from benchmarks import dann, records, tf_memory
from benchmarks.dann import Model
from benchmarks.peers import tf_peers
from benchmarks.settings import Settings
from grl.core import schedules
from grl.demo.models_tf import _apply as apply_layers
from grl.tf import GradientReversal

VARIANTS = (records.GRL, records.GRL_FIXED, records.IDENTITY, tf_peers.LOSS_SUBTRACTION)


class Shared:
    """Weights, optimizer and batch shared by the variants of one comparison.

    Separate model instances differ by a few percent from memory placement alone; sharing
    them leaves the GRL slot as the only difference.
    """

    def __init__(self, model: Model):
        self.net = model.net
        self.data = {key: tf.constant(value) for key, value in model.data().items()}
        weights = {k: tf.Variable(v, name=k.replace(".", "_")) for k, v in model.params().items()}
        self.weights = weights
        #: The variables of the features, the label head and the domain head.
        self.groups = [
            [weights[k] for k in dann.weight_names(part)]
            for part in (model.net.features, model.net.label_head, model.net.domain_head)
        ]
        self.variables = [v for group in self.groups for v in group]
        self.optimizer = keras.optimizers.SGD(dann.LEARNING_RATE, momentum=dann.MOMENTUM)
        self.optimizer.build(self.variables)


def make_step(model: Model, variant: str, mode: str, shared: Shared) -> Callable[[], None]:
    net, weights, data, optimizer = shared.net, shared.weights, shared.data, shared.optimizer
    reversal = {
        records.GRL: lambda: GradientReversal(schedules.dann(total_steps=dann.SCHEDULE_STEPS)),
        records.GRL_FIXED: lambda: GradientReversal(dann.FIXED_LAMBDA),
    }.get(variant, keras.layers.Identity)()
    lambda_ = tf.Variable(dann.FIXED_LAMBDA, trainable=False)

    def losses() -> tuple[tf.Tensor, tf.Tensor]:
        features = apply_layers(
            net.features, weights, tf.concat([data["source"], data["target"]], 0)
        )
        label_logits = apply_layers(net.label_head, weights, features[: model.batch])
        label_loss = tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(data["labels"], label_logits)
        )
        domain_logits = apply_layers(net.domain_head, weights, reversal(features))[:, 0]
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
        optimizer.apply(tape.gradient(loss, shared.variables), shared.variables)

    def subtraction_step() -> None:
        with tf.GradientTape(persistent=True) as tape:
            label_loss, domain_loss = losses()
            feature_loss = label_loss - lambda_ * domain_loss
        features, label_head, domain_head = shared.groups
        grads = tape.gradient(feature_loss, features)
        grads += tape.gradient(label_loss, label_head)
        grads += tape.gradient(domain_loss, domain_head)
        optimizer.apply(grads, shared.variables)

    body = subtraction_step if variant == tf_peers.LOSS_SUBTRACTION else layer_step
    return body if mode == "eager" else tf.function(body, jit_compile=True)


def steps_for(model: Model, mode: str) -> dict[str, Callable[[], None]]:
    shared = Shared(model)
    return {variant: make_step(model, variant, mode, shared) for variant in VARIANTS}


def run(settings: Settings) -> list[records.Record]:
    return dann.run("tf", settings, steps_for, tf_memory.step_peak_records)
