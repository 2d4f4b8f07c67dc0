"""Every TensorFlow transformation that rewrites or batches the graph applies −λ (or
refuses): vectorized_map (pfor), jacobians with and without pfor, map_fn, while_loop,
recompute_grad, XLA and SavedModel, for the op and for the Keras layer."""

from __future__ import annotations

import numpy as np
import pytest

from tests.backends import require

grl_tf = require("tf")

import tensorflow as tf  # noqa: E402

X = np.arange(6, dtype=np.float32).reshape(3, 2) - 2.5


def op(x: tf.Tensor) -> tf.Tensor:
    return grl_tf.gradient_reversal(x, 0.5)


def keras_layer() -> grl_tf.GradientReversal:
    return grl_tf.GradientReversal(0.5)


FUNCTIONS = [pytest.param(lambda: op, id="op"), pytest.param(keras_layer, id="layer")]
MODES = [pytest.param(False, id="eager"), pytest.param(True, id="tf_function")]


def gradient(transform, function, compiled: bool, g=None) -> np.ndarray:
    def run(x: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = transform(function, x)
        return tape.gradient(y, x, output_gradients=g)

    x = tf.constant(X)
    return (tf.function(run) if compiled else run)(x).numpy()


TRANSFORMS = {
    "vectorized_map": lambda f, x: tf.vectorized_map(f, x),
    "vectorized_map_nested": lambda f, x: tf.vectorized_map(
        lambda row: tf.vectorized_map(f, row), x
    ),
    "map_fn": lambda f, x: tf.map_fn(f, x),
    "while_loop": lambda f, x: tf.while_loop(
        lambda i, v: i < 1, lambda i, v: (i + 1, f(v)), (0, x)
    )[1],
    "recompute_grad": lambda f, x: tf.recompute_grad(f)(x),
    "xla": lambda f, x: tf.function(f, jit_compile=True)(x),
    "xla_vectorized_map": lambda f, x: tf.function(
        lambda v: tf.vectorized_map(f, v), jit_compile=True
    )(x),
}


@pytest.mark.parametrize("compiled", MODES)
@pytest.mark.parametrize("transform", sorted(TRANSFORMS))
@pytest.mark.parametrize("make", FUNCTIONS)
def test_gradient_through_a_transformation_is_reversed(make, transform, compiled) -> None:
    grad = gradient(TRANSFORMS[transform], make(), compiled)
    np.testing.assert_array_equal(grad, np.full_like(X, -0.5))


@pytest.mark.parametrize("use_pfor", [True, False], ids=["pfor", "while_loop"])
@pytest.mark.parametrize("make", FUNCTIONS)
def test_jacobians_are_reversed(make, use_pfor) -> None:
    function, x = make(), tf.constant(X)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = function(x)
    jacobian = tape.jacobian(y, x, experimental_use_pfor=use_pfor).numpy()
    batch = tape.batch_jacobian(y, x, experimental_use_pfor=use_pfor).numpy()
    np.testing.assert_array_equal(jacobian, -0.5 * np.eye(6, dtype=np.float32).reshape(3, 2, 3, 2))
    np.testing.assert_array_equal(
        batch, np.broadcast_to(-0.5 * np.eye(2, dtype=np.float32), (3, 2, 2))
    )


@pytest.mark.parametrize("compiled", MODES)
def test_vectorized_map_with_a_lambda_per_example(compiled) -> None:
    lambdas = tf.constant([0.5, 1.0, 2.0])

    def transform(function, x):
        return tf.vectorized_map(lambda args: grl_tf.gradient_reversal(*args), (x, lambdas))

    grad = gradient(transform, None, compiled)
    np.testing.assert_array_equal(grad, -np.array([[0.5] * 2, [1.0] * 2, [2.0] * 2], np.float32))


def test_vectorized_map_forward_is_the_identity() -> None:
    x = tf.constant(X)
    assert np.array_equal(tf.vectorized_map(op, x).numpy(), X)


def test_forward_mode_through_vectorized_map() -> None:
    x, t = tf.constant(X), tf.ones_like(X)
    with tf.autodiff.ForwardAccumulator(x, t) as accumulator:
        y = tf.vectorized_map(op, x)
    np.testing.assert_array_equal(accumulator.jvp(y).numpy(), np.full_like(X, -0.5))


def test_saved_model_round_trip_keeps_the_reversal(tmp_path) -> None:
    class Module(tf.Module):
        def __init__(self) -> None:
            self.layer = keras_layer()

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32)])
        def forward(self, x: tf.Tensor) -> tf.Tensor:
            return self.layer(x)

        @tf.function(input_signature=[tf.TensorSpec([None, 2], tf.float32)])
        def grad(self, x: tf.Tensor) -> tf.Tensor:
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = tf.vectorized_map(self.layer, x)
            # pfor's gather makes it IndexedSlices.
            return tf.convert_to_tensor(tape.gradient(y, x))

    tf.saved_model.save(Module(), str(tmp_path))
    loaded = tf.saved_model.load(str(tmp_path))
    np.testing.assert_array_equal(loaded.grad(tf.constant(X)).numpy(), np.full_like(X, -0.5))
    x = tf.constant(X)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = loaded.forward(x)
    np.testing.assert_array_equal(tape.gradient(y, x).numpy(), np.full_like(X, -0.5))


@pytest.mark.parametrize("compiled", MODES)
def test_second_derivative_through_vectorized_map(compiled) -> None:
    x = tf.constant(X.astype(np.float64))

    def hessian_diagonal():
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                y = tf.reduce_sum(tf.sin(tf.vectorized_map(op, x)))
            first = inner.gradient(y, x)
        return tf.convert_to_tensor(outer.gradient(first, x))

    second = (tf.function(hessian_diagonal) if compiled else hessian_diagonal)()
    np.testing.assert_allclose(second.numpy(), -0.25 * np.sin(X.astype(np.float64)), rtol=1e-15)
