"""The conformance adapter for a TensorFlow ``f(x, lambda_)``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ml_dtypes
import numpy as np
import tensorflow as tf

from grl.conformance.adapter import Adapter


class CallableAdapter(Adapter):
    """Drives ``fn(x, lambda_)``: tapes, ``tf.function`` (XLA), ``ForwardAccumulator``."""

    name = "tf"
    second_order_methods = ("nested_tape", "nested_tape_tf_function", "tape_jacobian")
    forward_mode_methods = ("forward_accumulator", "forward_accumulator_tf_function")
    flush_to_zero = True
    compiled_forward_mode_method = "forward_accumulator_tf_function"

    def __init__(self, fn: Callable[..., Any] | None = None) -> None:
        self.fn = fn

    def apply(self, x: tf.Tensor, lambda_: Any) -> tf.Tensor:
        """The implementation under test; override it for another signature."""
        return self.fn(x, lambda_)

    def from_numpy(self, array: np.ndarray) -> tf.Tensor:
        if array.dtype == ml_dtypes.bfloat16:
            return tf.bitcast(tf.constant(array.view(np.uint16)), tf.bfloat16)
        return tf.constant(array)

    def to_numpy(self, tensor: Any) -> np.ndarray:
        tensor = tf.convert_to_tensor(tensor)
        if tensor.dtype == tf.bfloat16:
            return tf.bitcast(tensor, tf.uint16).numpy().view(ml_dtypes.bfloat16)
        return tensor.numpy()

    def make_lambda(self, value: float, dtype: str) -> tf.Tensor:
        return tf.constant(value, dtype=dtype)

    def _native(self, lambda_: Any) -> Any:
        return self.make_lambda(*lambda_) if isinstance(lambda_, tuple) else lambda_

    def forward(self, x: Any, lambda_: Any) -> tf.Tensor:
        return self.apply(x, lambda_)

    def _vjp(self, x: tf.Tensor, lam: Any, g: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = self.apply(x, lam)
        return tape.gradient(y, x, output_gradients=g)

    def vjp(self, x: np.ndarray, lambda_: Any, g: np.ndarray) -> np.ndarray:
        grad = self._vjp(self.from_numpy(x), self._native(lambda_), self.from_numpy(g))
        return self.to_numpy(grad)

    def vjp_compiled(self, x: np.ndarray, lambda_: Any, g: np.ndarray) -> np.ndarray:
        lam = self._native(lambda_)
        if not isinstance(lam, tf.Tensor):
            lam = tf.constant(float(lam), dtype=tf.float64)
        step = tf.function(self._vjp, jit_compile=True)
        return self.to_numpy(step(self.from_numpy(x), lam, self.from_numpy(g)))

    def _sum_sin(self, x: tf.Tensor, lambda_: Any) -> tf.Tensor:
        return tf.reduce_sum(tf.sin(self.apply(x, lambda_)))

    def _lambda_gradient(self, x: np.ndarray, lambda_value: float) -> tf.Tensor | None:
        lam = tf.Variable(lambda_value)
        xt = self.from_numpy(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            out = self._sum_sin(xt, lam)
        return tape.gradient(out, lam)

    def lambda_gradient_is_zero(self, x: np.ndarray, lambda_value: float) -> bool:
        grad = self._lambda_gradient(x, lambda_value)
        return grad is None or not bool(tf.reduce_any(grad != 0))

    def second_derivative(self, x: np.ndarray, lambda_: float, method: str) -> np.ndarray:
        xt = self.from_numpy(x)

        def nested(v: tf.Tensor) -> tf.Tensor:
            with tf.GradientTape() as outer:
                outer.watch(v)
                with tf.GradientTape() as inner:
                    inner.watch(v)
                    out = self._sum_sin(v, lambda_)
                g = inner.gradient(out, v)
            return outer.gradient(g, v)

        if method == "nested_tape":
            return self.to_numpy(nested(xt))
        if method == "nested_tape_tf_function":
            return self.to_numpy(tf.function(nested)(xt))
        if method == "tape_jacobian":
            with tf.GradientTape() as outer:
                outer.watch(xt)
                with tf.GradientTape() as inner:
                    inner.watch(xt)
                    out = self._sum_sin(xt, lambda_)
                g = inner.gradient(out, xt)
            return self.to_numpy(tf.linalg.diag_part(outer.jacobian(g, xt)))
        raise ValueError(method)

    def forward_mode(self, x: np.ndarray, lambda_: float, t: np.ndarray, method: str) -> Any:
        def jvp(v: tf.Tensor, tangent: tf.Tensor) -> tf.Tensor:
            with tf.autodiff.ForwardAccumulator(v, tangent) as acc:
                out = self.apply(v, lambda_)
            return acc.jvp(out)

        if method == "forward_accumulator_tf_function":
            jvp = tf.function(jvp)
        elif method != "forward_accumulator":
            raise ValueError(method)
        return self.to_numpy(jvp(self.from_numpy(x), self.from_numpy(t)))

    def compile_count(self, x: np.ndarray, lambdas: Sequence[float]) -> tuple[int, list]:
        traces = []

        @tf.function
        def step(x: tf.Tensor, lam: tf.Tensor) -> tf.Tensor:
            traces.append(1)  # Python side effect: runs once per trace.
            with tf.GradientTape() as tape:
                tape.watch(x)
                out = self._sum_sin(x, lam)
            return tape.gradient(out, x)

        grads = [self.to_numpy(step(self.from_numpy(x), tf.constant(v))) for v in lambdas]
        return len(traces), grads
