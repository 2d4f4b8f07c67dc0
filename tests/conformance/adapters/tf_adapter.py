"""Conformance adapter for grl.tf."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import tensorflow as tf

import grl.tf as grl_tf
from grl.conformance.frameworks.tf import CallableAdapter
from tests.conformance.adapters.base import Adapter


class TFAdapter(CallableAdapter, Adapter):
    """The kit's callable adapter driving ``grl.tf.gradient_reversal``, plus the layer."""

    def __init__(self) -> None:
        super().__init__(grl_tf.gradient_reversal)

    def lambda_gradient_is_zero(self, x: np.ndarray, lambda_value: float) -> bool:
        # Stricter than the kit's: grl gives λ no gradient at all (None), not a zero one.
        return self._lambda_gradient(x, lambda_value) is None

    def compile_count(self, x: np.ndarray, lambdas: Sequence[float]) -> tuple[int, list]:
        layer = grl_tf.GradientReversal(lambdas[0])
        traces = []

        @tf.function
        def step(x: tf.Tensor) -> tf.Tensor:
            traces.append(1)  # Python side effect: runs once per trace.
            with tf.GradientTape() as tape:
                tape.watch(x)
                out = tf.reduce_sum(tf.sin(layer(x)))
            return tape.gradient(out, x)

        grads = []
        for value in lambdas:
            layer.set_lambda(value)
            grads.append(self.to_numpy(step(self.from_numpy(x))))
        return len(traces), grads

    def backward_uses_forward_lambda(self, x: np.ndarray, before: float, after: float) -> Any:
        layer = grl_tf.GradientReversal(before)
        xt = self.from_numpy(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = tf.reduce_sum(layer(xt))
        layer.set_lambda(after)
        return self.to_numpy(tape.gradient(y, xt))

    def make_layer(self, lambda_: float) -> Any:
        return grl_tf.GradientReversal(lambda_)

    def layer_lambda(self, layer: Any) -> tuple[float, str]:
        return float(np.asarray(layer.lambda_)), str(layer.lambda_.dtype)

    def layer_state_has_lambda(self, layer: Any) -> bool:
        return any(w is layer.lambda_ for w in layer.non_trainable_weights) and not any(
            w is layer.lambda_ for w in layer.trainable_weights
        )

    def layer_vjp(self, layer: Any, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        xt = self.from_numpy(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = layer(xt)
        return self.to_numpy(tape.gradient(y, xt, output_gradients=self.from_numpy(g)))

    # -- the layer contract -------------------------------------------------------------
    layer_kinds = ("keras",)

    def contract_layer(self, kind: str, lambda_: Any) -> Any:
        return grl_tf.GradientReversal(lambda_)

    def contract_state(self, handle: Any) -> tuple[float, str, int]:
        return float(handle.lambda_.numpy()), str(handle.lambda_.dtype), handle.current_step()

    def contract_set_lambda(self, handle: Any, value: Any) -> None:
        handle.set_lambda(value)

    def contract_advance(self, handle: Any, steps: Any) -> None:
        handle.advance(steps)

    def contract_train(self, handle: Any, batches: int) -> Any:
        import keras

        inputs = keras.Input((2,))
        model = keras.Model(inputs, keras.layers.Dense(1)(handle(inputs)))
        model.compile(optimizer="sgd", loss="mse")
        x, y = np.ones((batches * 4, 2), np.float32), np.zeros((batches * 4, 1), np.float32)
        callback = grl_tf.GradientReversalScheduler()
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=[callback])
        return handle

    def contract_checkpoint(self, handle: Any, kind: str, lambda_: Any) -> Any:
        import tempfile

        import keras

        restored = grl_tf.GradientReversal(lambda_)
        with tempfile.TemporaryDirectory() as folder:
            path = f"{folder}/model.weights.h5"
            keras.Sequential([keras.Input((2,)), handle]).save_weights(path)
            keras.Sequential([keras.Input((2,)), restored]).load_weights(path)
        return restored

    def contract_load_state(self, handle: Any, lambda_value: float, step: int) -> None:
        handle.set_weights([np.float32(lambda_value), np.int64(step)])

    def device_schedule(self, schedule: Any, steps: np.ndarray) -> np.ndarray:
        import keras

        from grl.core import schedules

        evaluate = tf.function(
            lambda step: schedules.evaluate(schedule, step, keras.ops), jit_compile=True
        )
        return evaluate(tf.constant(steps, tf.float64)).numpy()
