"""GradientReversal under tf.distribute.MirroredStrategy over 2 logical CPU devices.

Run in a subprocess by tests/tf/test_tf_distribute.py: logical devices can only be set up
before TensorFlow initialises its runtime, which the test process has long done. Trains
the same model on one device and on two replicas, and computes per-replica gradients
straight through the GRL. Prints one JSON object on its last line (arrays as hex bytes).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import tensorflow as tf

(_cpu,) = tf.config.list_physical_devices("CPU")
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)

import keras  # noqa: E402

import grl.tf as grl_tf  # noqa: E402
from grl.core import schedules  # noqa: E402

SCHEDULE = schedules.dann(8, gamma=4.0)


def encode(array: Any) -> dict[str, Any]:
    array = np.asarray(array)
    return {"dtype": array.dtype.name, "shape": list(array.shape), "hex": array.tobytes().hex()}


def data() -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((32, 5)).astype(np.float32)
    return x, ((x[:, 0] > 0).astype(np.int64), (np.arange(32) % 2).astype(np.float32)[:, None])


def dann_model() -> keras.Model:
    keras.utils.set_random_seed(7)
    inputs = keras.Input((5,))
    features = keras.layers.Dense(8, activation="tanh")(inputs)
    domain = grl_tf.GradientReversal(SCHEDULE, name="grl")(features)
    model = keras.Model(inputs, [keras.layers.Dense(2)(features), keras.layers.Dense(1)(domain)])
    model.compile(
        keras.optimizers.SGD(0.1),
        [
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            keras.losses.BinaryCrossentropy(from_logits=True),
        ],
    )
    return model


def train(model: keras.Model) -> dict[str, Any]:
    x, y = data()
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0,
              callbacks=[grl_tf.GradientReversalScheduler()])  # fmt: skip
    layer = model.get_layer("grl")
    replicas = model.distribute_strategy.experimental_local_results(layer.lambda_.value)
    return {
        "lambda": encode(layer.lambda_.numpy()),
        "replica_lambdas": [encode(value.numpy()) for value in replicas],
        "step": layer.current_step(),
        "weights": [encode(w.numpy()) for w in model.trainable_weights],
    }


def replica_gradients(strategy: tf.distribute.Strategy) -> dict[str, Any]:
    """Each replica's gradient straight through the GRL, for its own slice of data."""
    with strategy.scope():
        layer = grl_tf.GradientReversal(0.3)
    rng = np.random.default_rng(1)
    x, g = (rng.standard_normal((2, 4)).astype(np.float32) for _ in range(2))

    @tf.function
    def vjp(x: tf.Tensor, g: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        return tape.gradient(y, x, output_gradients=g)

    def per_replica(values: np.ndarray) -> Any:
        return strategy.experimental_distribute_values_from_function(
            lambda context: tf.constant(values[context.replica_id_in_sync_group])
        )

    grads = strategy.run(vjp, args=(per_replica(x), per_replica(g)))
    return {
        "g": encode(g),
        "grads": [encode(t.numpy()) for t in strategy.experimental_local_results(grads)],
    }


def main() -> dict[str, Any]:
    strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
    single = train(dann_model())
    with strategy.scope():
        mirrored_model = dann_model()
    mirrored = train(mirrored_model)
    return {
        "replicas": strategy.num_replicas_in_sync,
        "single": single,
        "mirrored": mirrored,
        **replica_gradients(strategy),
    }


if __name__ == "__main__":
    print(json.dumps(main()))
