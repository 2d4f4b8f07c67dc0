"""TensorFlow retraces: ``tf.function`` traces over a λ schedule, per method.

A tiny model (``Dense → GRL → sum``, SGD) runs one training step per schedule step,
with λ changed the way that method's users change it. Traces are counted with
``experimental_get_tracing_count``. The functions are traced without ``jit_compile``:
the trace count is the same, and with XLA each trace would also be compiled.
"""

from __future__ import annotations

import logging

import keras
import tensorflow as tf

from benchmarks import records
from benchmarks.peers import tf_peers
from benchmarks.settings import Settings
from grl.core import schedules
from grl.tf import GradientReversal


def _probe(
    *extra: keras.layers.Layer,
) -> tuple[keras.layers.Dense, keras.optimizers.Optimizer, tf.Tensor]:
    dense = keras.layers.Dense(8)
    dense.build((None, 8))
    for layer in extra:
        layer.build((None, 8))
    optimizer = keras.optimizers.SGD(0.01)
    optimizer.build([v for layer in (dense, *extra) for v in layer.trainable_variables])
    return dense, optimizer, tf.random.normal([4, 8])


def grl_traces(steps: int) -> int:
    dense, optimizer, x = _probe()
    layer = GradientReversal(schedules.dann(total_steps=steps))

    @tf.function
    def step(x: tf.Tensor) -> None:
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(layer(dense(x)))
        variables = dense.trainable_variables
        optimizer.apply(tape.gradient(loss, variables), variables)

    for _ in range(steps):
        step(x)
        layer.advance()
    return step.experimental_get_tracing_count()


def custom_gradient_traces(steps: int) -> int:
    dense, optimizer, x = _probe()

    @tf.function
    def step(x: tf.Tensor, lambda_: float) -> None:
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf_peers.custom_gradient_layer(lambda_)(dense(x)))
        variables = dense.trainable_variables
        optimizer.apply(tape.gradient(loss, variables), variables)

    schedule = schedules.dann(total_steps=steps)
    for k in range(steps):
        step(x, schedule(k))
    return step.experimental_get_tracing_count()


def loss_subtraction_traces(steps: int) -> int:
    head = keras.layers.Dense(1)
    dense, optimizer, x = _probe(head)

    @tf.function
    def step(x: tf.Tensor, lambda_: float) -> None:
        with tf.GradientTape(persistent=True) as tape:
            domain_loss = tf.reduce_sum(head(dense(x)))
            feature_loss = -lambda_ * domain_loss
        grads = tape.gradient(feature_loss, dense.trainable_variables)
        grads += tape.gradient(domain_loss, head.trainable_variables)
        optimizer.apply(grads, dense.trainable_variables + head.trainable_variables)

    schedule = schedules.dann(total_steps=steps)
    for k in range(steps):
        step(x, schedule(k))
    return step.experimental_get_tracing_count()


def run(settings: Settings) -> list[records.Record]:
    # Retracing warnings are what the trace counts measure; keep them out of error reports.
    tf.get_logger().setLevel(logging.ERROR)
    steps = settings.schedule_steps
    methods = (
        (records.GRL, grl_traces, "GradientReversal(schedules.dann(...)); layer.advance()"),
        (tf_peers.CUSTOM_GRADIENT, custom_gradient_traces, "λ passed as a Python float"),
        (tf_peers.LOSS_SUBTRACTION, loss_subtraction_traces, "λ passed as a Python float"),
    )
    return [
        records.compiles("tf", name, steps, usage, count(steps)) for name, count, usage in methods
    ]
