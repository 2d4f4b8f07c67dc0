"""Every TensorFlow input kind works or gets a clear error naming it: sparse, ragged,
IndexedSlices (inputs and gradients), variables, KerasTensors, non-floating dtypes, unknown
ranks, mixed precision."""

from __future__ import annotations

import numpy as np
import pytest

from tests.backends import require

grl_tf = require("tf")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

reverse = grl_tf.gradient_reversal
MODES = [pytest.param(False, id="eager"), pytest.param(True, id="tf_function")]


def run(function, compiled: bool):
    return tf.function(function)() if compiled else function()


def reversers():
    return [lambda v: reverse(v, 0.5), grl_tf.GradientReversal(0.5)]


@pytest.mark.parametrize("compiled", MODES)
@pytest.mark.parametrize("which", [0, 1], ids=["op", "layer"])
def test_sparse_tensor_values_are_reversed(which, compiled) -> None:
    function = reversers()[which]
    values = tf.constant([1.5, -2.0])

    def gradient():
        with tf.GradientTape() as tape:
            tape.watch(values)
            x = tf.SparseTensor([[0, 0], [1, 2]], values, [2, 3])
            y = function(x)
            assert isinstance(y, tf.SparseTensor)
            total = tf.sparse.reduce_sum(y)
        return y.values, tape.gradient(total, values)

    forward, grad = run(gradient, compiled)
    np.testing.assert_array_equal(forward.numpy(), [1.5, -2.0])
    np.testing.assert_array_equal(grad.numpy(), [-0.5, -0.5])


@pytest.mark.parametrize("compiled", MODES)
@pytest.mark.parametrize("which", [0, 1], ids=["op", "layer"])
def test_ragged_tensor_values_are_reversed(which, compiled) -> None:
    function = reversers()[which]
    values = tf.constant([1.0, 2.0, 3.0])

    def gradient():
        with tf.GradientTape() as tape:
            tape.watch(values)
            x = tf.RaggedTensor.from_row_lengths(values, [2, 1])
            y = function(x)
            assert isinstance(y, tf.RaggedTensor)
            total = tf.reduce_sum(y)
        return y.flat_values, tape.gradient(total, values)

    forward, grad = run(gradient, compiled)
    np.testing.assert_array_equal(forward.numpy(), [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(grad.numpy(), [-0.5, -0.5, -0.5])


@pytest.mark.parametrize("compiled", MODES)
@pytest.mark.parametrize("which", [0, 1], ids=["op", "layer"])
def test_indexed_slices_gradients_of_an_embedding(which, compiled) -> None:
    function = reversers()[which]
    table = tf.Variable(tf.reshape(tf.range(12, dtype=tf.float32), (4, 3)))

    def gradients():
        with tf.GradientTape(persistent=True) as tape:
            before = tf.reduce_sum(function(tf.gather(table, [0, 2])))
            after = tf.reduce_sum(tf.gather(function(table), [0, 2]))
        return tape.gradient(before, table), tape.gradient(after, table)

    before, after = run(gradients, compiled)
    expected = np.zeros((4, 3), np.float32)
    expected[[0, 2]] = -0.5
    for grad in (before, after):  # sparse stays sparse: the rows not gathered are absent
        assert isinstance(grad, tf.IndexedSlices)
        assert tf.convert_to_tensor(grad).numpy().tobytes() == expected.tobytes()


@pytest.mark.parametrize("which", [0, 1], ids=["op", "layer"])
def test_variable_input(which) -> None:
    function = reversers()[which]
    v = tf.Variable([1.0, -2.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(function(v))
    np.testing.assert_array_equal(tape.gradient(y, v).numpy(), [-0.5, -0.5])


def test_keras_tensor() -> None:
    inputs = keras.Input((3,))
    outputs = grl_tf.GradientReversal(0.5)(inputs)
    assert isinstance(outputs, keras.KerasTensor) and outputs.shape == (None, 3)
    with pytest.raises(ValueError, match="KerasTensor cannot be used as input to a TensorFlow"):
        reverse(inputs, 0.5)


@pytest.mark.parametrize("dtype", [tf.int32, tf.string, tf.bool])
def test_non_floating_inputs(dtype) -> None:
    x = tf.zeros([2], dtype)
    assert reverse(x, 0.5) is x  # the op: returned unchanged (no gradient to reverse)
    with pytest.raises(TypeError, match=f"must be a floating .* got dtype '{dtype.name}'"):
        grl_tf.GradientReversal(0.5)(x)


def test_unknown_rank_in_an_input_signature() -> None:
    layer = grl_tf.GradientReversal(0.5)

    @tf.function(input_signature=[tf.TensorSpec(None, tf.float32)])
    def gradient(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.vectorized_map(layer, x)
        return tf.convert_to_tensor(tape.gradient(y, x))

    np.testing.assert_array_equal(gradient(tf.ones([2, 3])).numpy(), np.full((2, 3), -0.5))


@pytest.mark.parametrize("policy", ["mixed_float16", "mixed_bfloat16"])
def test_mixed_precision(policy) -> None:
    keras.mixed_precision.set_global_policy(policy)
    try:
        layer = grl_tf.GradientReversal(0.5)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    dtype = policy.removeprefix("mixed_")
    x = tf.ones([2], dtype)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x)
    assert layer.lambda_.dtype == "float32" and y.dtype == dtype
    grad = tape.gradient(y, x)
    assert grad.dtype == dtype
    np.testing.assert_array_equal(tf.cast(grad, tf.float32).numpy(), [-0.5, -0.5])
