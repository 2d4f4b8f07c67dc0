"""The eager path of grl.tf.gradient_reversal: an Identity recorded by hand, no
tf.custom_gradient. Every derivative must match the graph path's, and λ must never
receive a derivative, of any order, in either mode."""

from __future__ import annotations

import numpy as np
import pytest

from tests.backends import require

grl_tf = require("tf")

import tensorflow as tf  # noqa: E402

from grl.core.reference import gradient_reversal_backward  # noqa: E402
from tests.tf.helpers import assert_same_bits, from_numpy, sample, to_numpy  # noqa: E402

reverse = grl_tf.gradient_reversal
MODES = [pytest.param(False, id="eager"), pytest.param(True, id="tf_function")]


def run(function, compiled: bool):
    return tf.function(function)() if compiled else function()


@pytest.mark.parametrize(
    "lambda_", [0.5, tf.constant(0.5), tf.Variable(0.5)], ids=["float", "tensor", "variable"]
)
def test_without_a_tape_the_eager_identity_is_the_input_itself(lambda_) -> None:
    x = tf.constant(sample("float32", (4,), seed=40))
    assert reverse(x, lambda_) is x
    assert grl_tf.GradientReversal(0.5)(x) is x


@pytest.mark.parametrize("compiled", MODES)
@pytest.mark.parametrize("kind", ["tensor", "variable"])
def test_no_derivative_of_any_order_reaches_lambda(kind: str, compiled: bool) -> None:
    x = tf.constant(sample("float64", (5,), seed=41))
    lam = tf.Variable(0.5, dtype=tf.float64) if kind == "variable" else tf.constant(0.5, tf.float64)

    def derivatives():
        with tf.GradientTape(persistent=True) as outer:
            outer.watch([x, lam])
            with tf.GradientTape(persistent=True) as inner:
                inner.watch([x, lam])
                out = tf.reduce_sum(tf.sin(reverse(x, lam)))
            first = inner.gradient(out, x)
            first_lambda = inner.gradient(out, lam)
        return first, first_lambda, outer.gradient(first, x), outer.gradient(first, lam)

    first, first_lambda, second, mixed = run(derivatives, compiled)
    assert first_lambda is None and mixed is None
    np.testing.assert_allclose(first.numpy(), -0.5 * np.cos(x.numpy()), rtol=1e-15)
    np.testing.assert_allclose(second.numpy(), -0.25 * np.sin(x.numpy()), rtol=1e-15)


@pytest.mark.parametrize("compiled", MODES)
def test_forward_mode_along_lambda_is_none(compiled: bool) -> None:
    x, lam = tf.constant(sample("float32", (3,), seed=42)), tf.constant(0.5)

    def jvp():
        with tf.autodiff.ForwardAccumulator(lam, tf.constant(1.0)) as accumulator:
            y = reverse(x, lam)
        return accumulator.jvp(y)

    assert run(jvp, compiled) is None


@pytest.mark.parametrize("compiled", MODES)
def test_forward_over_backward_hessian_vector_product(compiled: bool) -> None:
    x, v = tf.constant(sample("float64", (6,), seed=43)), tf.constant(sample("float64", (6,), 44))

    def hvp():
        with tf.autodiff.ForwardAccumulator(x, v) as accumulator:
            with tf.GradientTape() as tape:
                tape.watch(x)
                out = tf.reduce_sum(tf.sin(reverse(x, 0.5)))
            gradient = tape.gradient(out, x)
        return accumulator.jvp(gradient)

    np.testing.assert_allclose(
        run(hvp, compiled).numpy(), -0.25 * np.sin(x.numpy()) * v.numpy(), rtol=1e-14
    )


def test_backward_uses_the_lambda_variable_of_the_forward() -> None:
    lam = tf.Variable(0.5)
    x, g = tf.constant(sample("float32", (4,), seed=45)), sample("float32", (4,), seed=46)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = reverse(x, lam)
    lam.assign(2.0)
    grad = tape.gradient(y, x, output_gradients=tf.constant(g)).numpy()
    assert_same_bits(grad, gradient_reversal_backward(g, np.float32(0.5)))


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "float32", "complex64"])
def test_python_lambda_backward_follows_the_reference(dtype: str) -> None:
    if dtype == "complex64":
        x = sample("float32", (5,), seed=47) + 1j * sample("float32", (5,), seed=48)
        g = (sample("float32", (5,), seed=49) - 1j * sample("float32", (5,), seed=50)).astype(dtype)
        x = x.astype(dtype)
    else:
        x, g = sample(dtype, (5,), seed=47), sample(dtype, (5,), seed=49)
    xt = from_numpy(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = reverse(xt, 0.1)
    grad = to_numpy(tape.gradient(y, xt, output_gradients=from_numpy(g)))
    assert_same_bits(grad, gradient_reversal_backward(g, 0.1))


def test_bad_lambda_fails_even_where_nothing_is_recorded() -> None:
    x = tf.constant([1.0, 2.0])
    with pytest.raises(ValueError, match="lambda_ must be >= 0"):
        reverse(x, tf.constant(-1.0))
    with pytest.raises(ValueError, match="lambda_ must be finite"):
        reverse(x, tf.Variable(float("nan")))
