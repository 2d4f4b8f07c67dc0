"""The GRL layer with the TensorFlow toolbox: tf.function, XLA, SavedModel, nested tapes,
jacobians, forward mode, vectorized_map and 16-bit inputs with a float32 λ variable."""

from __future__ import annotations

import numpy as np
import pytest

from tests.backends import require

grl_tf = require("tf")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from grl.core import schedules  # noqa: E402
from grl.core.reference import gradient_reversal_backward  # noqa: E402
from tests.tf.helpers import assert_same_bits, from_numpy, sample, to_numpy  # noqa: E402

GradientReversal = grl_tf.GradientReversal


def test_tf_function_traces_once_over_100_scheduled_steps() -> None:
    schedule = schedules.dann(100)
    layer = GradientReversal(schedule)
    traces = []

    @tf.function
    def input_gradient(x: tf.Tensor, g: tf.Tensor) -> tf.Tensor:
        traces.append(1)  # a Python side effect: runs once per trace
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        return tape.gradient(y, x, output_gradients=g)

    x, g = sample("float32", (6,), seed=10), sample("float32", (6,), seed=11)
    for step in range(100):
        grad = input_gradient(tf.constant(x), tf.constant(g)).numpy()
        layer.advance()
        assert_same_bits(grad, gradient_reversal_backward(g, np.float32(schedule(step))))
    assert len(traces) == 1
    assert input_gradient.experimental_get_tracing_count() == 1


def test_xla_gives_the_same_gradients() -> None:
    keras.utils.set_random_seed(5)
    layer = GradientReversal(0.37)
    dense = keras.layers.Dense(3)
    dense.build((None, 4))

    def gradients(x: tf.Tensor) -> list[tf.Tensor]:
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(tf.sin(dense(layer(x))))
        return tape.gradient(loss, [x, *dense.trainable_variables])

    x = tf.constant(sample("float32", (5, 4), seed=12))
    xla = tf.function(gradients, jit_compile=True)
    for value in (0.37, 4.0):
        layer.set_lambda(value)
        expected = tf.function(gradients, jit_compile=False)(x)
        for actual, wanted in zip(xla(x), expected, strict=True):
            # XLA may fuse and reorder the matmul sums: equal up to float32 rounding.
            np.testing.assert_allclose(actual.numpy(), wanted.numpy(), rtol=1e-5, atol=1e-6)
    assert xla.experimental_get_tracing_count() == 1
    # Straight through the GRL, XLA's gradient is the reference multiply, bit for bit.
    g = sample("float32", (5, 4), seed=13)

    @tf.function(jit_compile=True)
    def vjp(x: tf.Tensor, g: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        return tape.gradient(y, x, output_gradients=g)

    assert_same_bits(vjp(x, tf.constant(g)).numpy(), gradient_reversal_backward(g, 4.0))


class Exported(tf.Module):
    def __init__(self, model: keras.Model) -> None:
        super().__init__()
        self.model = model

    @tf.function(input_signature=[tf.TensorSpec((None, 4), tf.float32)])
    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        return self.model(x)


def test_saved_model_keeps_the_custom_gradient(tmp_path) -> None:
    keras.utils.set_random_seed(4)
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(5, activation="tanh"),
            GradientReversal(0.6),
            keras.layers.Dense(2),
        ]
    )
    module = Exported(model)
    tf.saved_model.save(module, str(tmp_path / "saved"))  # default save options
    loaded = tf.saved_model.load(str(tmp_path / "saved"))

    x = tf.constant(sample("float32", (3, 4), seed=14))

    def input_gradient(function) -> np.ndarray:
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(function(x) ** 2)
        return tape.gradient(loss, x).numpy()

    before = input_gradient(module)
    assert_same_bits(input_gradient(loaded), before)
    # The reversal survived: dropping the GRL flips the sign of this gradient.
    without_grl = keras.Sequential([model.layers[0], model.layers[2]])
    no_reversal = input_gradient(without_grl)
    np.testing.assert_allclose(before, -0.6 * no_reversal, rtol=1e-4, atol=1e-6)


def sum_sin(layer: GradientReversal, x: tf.Tensor) -> tf.Tensor:
    return tf.reduce_sum(tf.sin(layer(x)))


def test_nested_tapes_give_minus_lambda_squared_sin() -> None:
    layer = GradientReversal(0.5, dtype="float64")
    x = tf.constant(sample("float64", (7,), seed=15))
    with tf.GradientTape() as outer:
        outer.watch(x)
        with tf.GradientTape() as inner:
            inner.watch(x)
            out = sum_sin(layer, x)
        first = inner.gradient(out, x)
    second = outer.gradient(first, x)
    np.testing.assert_allclose(first.numpy(), -0.5 * np.cos(x.numpy()), rtol=1e-15)
    np.testing.assert_allclose(second.numpy(), -0.25 * np.sin(x.numpy()), rtol=1e-15)


def test_tape_jacobian_is_minus_lambda_identity() -> None:
    layer = GradientReversal(1.5)
    x = tf.constant(sample("float32", (4,), seed=16))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = layer(x)
    assert_same_bits(tape.jacobian(y, x).numpy(), np.float32(-1.5) * np.eye(4, dtype=np.float32))
    assert_same_bits(
        tape.jacobian(y, x, experimental_use_pfor=False).numpy(),
        np.float32(-1.5) * np.eye(4, dtype=np.float32),
    )


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "tf_function"])
def test_forward_accumulator_gives_minus_lambda_t(compiled: bool) -> None:
    layer = GradientReversal(0.25)
    x, t = sample("float32", (5,), seed=17), sample("float32", (5,), seed=18)

    def jvp(x: tf.Tensor, t: tf.Tensor) -> tf.Tensor:
        with tf.autodiff.ForwardAccumulator(x, t) as accumulator:
            y = layer(x)
        return accumulator.jvp(y)

    function = tf.function(jvp) if compiled else jvp
    tangent = function(tf.constant(x), tf.constant(t)).numpy()
    assert_same_bits(tangent, gradient_reversal_backward(t, np.float32(0.25)))


def test_vectorized_map_per_example_gradients() -> None:
    layer = GradientReversal(2.0)
    x = sample("float32", (6, 3), seed=19)

    def per_example(row: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(row)
            out = sum_sin(layer, row)
        return tape.gradient(out, row)

    grads = tf.vectorized_map(per_example, tf.constant(x)).numpy()
    np.testing.assert_allclose(grads, -2.0 * np.cos(x), rtol=1e-6)
    assert_same_bits(tf.vectorized_map(layer, tf.constant(x)).numpy(), x)
    with tf.GradientTape() as tape:
        xt = tf.constant(x)
        tape.watch(xt)
        y = layer(xt)
    assert_same_bits(
        tape.batch_jacobian(y, xt).numpy(),
        np.broadcast_to(np.float32(-2.0) * np.eye(3, dtype=np.float32), (6, 3, 3)),
    )


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "tf_function"])
def test_sixteen_bit_inputs_with_float32_lambda_variables(dtype: str, compiled: bool) -> None:
    layer = GradientReversal(0.1)
    variable = tf.Variable(0.1, dtype=tf.float32)
    x, g = sample(dtype, (8,), seed=20), sample(dtype, (8,), seed=21)

    def vjps(x: tf.Tensor, g: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape(persistent=True) as tape:
            tape.watch(x)
            through_layer = layer(x)
            through_op = grl_tf.gradient_reversal(x, variable)
        return (
            tape.gradient(through_layer, x, output_gradients=g),
            tape.gradient(through_op, x, output_gradients=g),
        )

    function = tf.function(vjps) if compiled else vjps
    expected = gradient_reversal_backward(g, np.float32(0.1))
    for grad in function(from_numpy(x), from_numpy(g)):
        assert grad.dtype == dtype
        assert_same_bits(to_numpy(grad), expected)
