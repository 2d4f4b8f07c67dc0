"""Each private TensorFlow/Keras API grl uses has a public fallback that gives the same
results: these tests force every fallback (grl.backends.tf.internals,
grl.backends.keras.internals) and check the op's values and derivatives."""

from __future__ import annotations

import numpy as np
import pytest

from tests.backends import require

grl_tf = require("tf")

import tensorflow as tf  # noqa: E402

from grl.backends.tf import internals  # noqa: E402
from grl.core.reference import gradient_reversal_backward  # noqa: E402
from tests.tf.helpers import sample  # noqa: E402

reverse = grl_tf.gradient_reversal
FALLBACKS = [
    pytest.param((), id="private"),
    pytest.param(("RECORD",), id="no-record"),
    pytest.param(("PFOR",), id="no-pfor"),
    pytest.param(("RECORD", "PFOR"), id="public-only"),
]
MODES = [pytest.param(False, id="eager"), pytest.param(True, id="tf_function")]
SPECIAL = np.array([0.0, -0.0, 1.5, -2.25, np.inf, -np.inf, np.nan, 3e38], np.float32)


@pytest.fixture(params=FALLBACKS)
def fallback(request, monkeypatch) -> tuple[str, ...]:
    for name in request.param:
        monkeypatch.setattr(internals, name, None)
    return request.param


def run(function, compiled: bool):
    return tf.function(function)() if compiled else function()


def test_every_private_api_is_found_here() -> None:
    assert internals.RECORD is not None and internals.PFOR is not None


@pytest.mark.parametrize("compiled", MODES)
def test_forward_is_the_identity_bit_for_bit(fallback, compiled) -> None:
    x = tf.constant(SPECIAL)

    def forward():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = reverse(x, 2.0)
        return y

    y = run(forward, compiled).numpy()
    assert y.tobytes() == SPECIAL.tobytes()


@pytest.mark.parametrize("compiled", MODES)
@pytest.mark.parametrize("dtype", ["float32", "float64", "float16"])
def test_gradient_is_minus_lambda_times_g(fallback, compiled, dtype) -> None:
    x, g = tf.constant(sample(dtype, (7,), 1)), tf.constant(sample(dtype, (7,), 2))
    lam = tf.Variable(0.3, dtype=tf.float64)

    def gradient():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = reverse(x, lam)
        return tape.gradient(y, x, output_gradients=g)

    expected = gradient_reversal_backward(g.numpy(), 0.3, flush_to_zero=True)
    assert run(gradient, compiled).numpy().tobytes() == expected.tobytes()


@pytest.mark.parametrize("compiled", MODES)
def test_vectorized_map_is_reversed(fallback, compiled) -> None:
    x = tf.constant(sample("float32", (3, 2), 3))

    def gradient():
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.vectorized_map(lambda row: reverse(row, 0.5), x)
        return tf.convert_to_tensor(tape.gradient(y, x))

    np.testing.assert_array_equal(run(gradient, compiled).numpy(), np.full((3, 2), -0.5))


@pytest.mark.parametrize("compiled", MODES)
def test_forward_mode_and_second_order(fallback, compiled) -> None:
    x = tf.constant(sample("float64", (5,), 4))

    def derivatives():
        with tf.autodiff.ForwardAccumulator(x, tf.ones_like(x)) as accumulator:
            y = reverse(x, 0.5)
        with tf.GradientTape() as outer:
            outer.watch(x)
            with tf.GradientTape() as inner:
                inner.watch(x)
                out = tf.reduce_sum(tf.sin(reverse(x, 0.5)))
            first = inner.gradient(out, x)
        return accumulator.jvp(y), outer.gradient(first, x)

    jvp, second = run(derivatives, compiled)
    np.testing.assert_array_equal(jvp.numpy(), np.full(5, -0.5))
    np.testing.assert_allclose(second.numpy(), -0.25 * np.sin(x.numpy()), rtol=1e-15)


# -- Keras ----------------------------------------------------------------------------------


def keras_fallback_model():
    import keras

    from grl.core import schedules

    class Block(keras.layers.Layer):
        def __init__(self) -> None:
            super().__init__()
            self.parts = {"grl": grl_tf.GradientReversal(schedules.linear(4), name="inner")}

        def call(self, x):
            return self.parts["grl"](x)

    inputs = keras.Input((1,))
    outputs = keras.layers.Dense(1)(grl_tf.GradientReversal(0.5, name="outer")(Block()(inputs)))
    return keras.Model(inputs, outputs)


@pytest.mark.parametrize("flatten", [True, False], ids=["private", "public-walk"])
def test_callback_finds_every_layer(flatten, monkeypatch) -> None:
    from grl.backends.keras import internals as keras_internals
    from grl.backends.keras.callback import find_gradient_reversal_layers

    monkeypatch.setattr(keras_internals, "FLATTEN_LAYERS", flatten)
    names = sorted(layer.name for layer in find_gradient_reversal_layers(keras_fallback_model()))
    assert names == ["inner", "outer"]


@pytest.mark.parametrize("detect", [True, False], ids=["private", "assume-scope"])
def test_eager_advance_with_or_without_the_stateless_scope_test(detect, monkeypatch) -> None:
    import keras

    from grl.backends.keras import internals as keras_internals
    from grl.backends.keras import layer as keras_layer
    from grl.core import schedules

    if not detect:
        monkeypatch.setattr(keras_internals, "IN_STATELESS_SCOPE", None)
    schedule = schedules.dann(30, gamma=5.0, lo=0.1)
    layer = grl_tf.GradientReversal(schedule)
    for _ in range(3):
        layer.advance(2)
    assert (layer in keras_layer._EAGER_ADVANCE) is detect  # the fast path, or not
    with keras.StatelessScope() as scope:
        layer.advance()
    assert int(scope.get_current_value(layer.step)) == 7
    assert layer.current_step() == 6
    assert layer.lambda_.numpy() == np.float32(schedule(6))


def test_without_jax_state_sync_the_callback_refuses(monkeypatch) -> None:
    import keras

    from grl.backends.keras import internals as keras_internals

    model = keras.Sequential([keras.Input((1,))])
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    with pytest.raises(RuntimeError, match=r"has no Model\.jax_state_sync"):
        keras_internals.sync_jax_state(model)


PRIVATE_MARKS = ("tensorflow.python", "keras.src", "_flatten_layers", "jax_state_sync")


@pytest.mark.parametrize("package", ["tf", "keras"])
def test_private_apis_only_in_the_internals_module(package) -> None:
    from pathlib import Path

    import grl.backends

    folder = Path(grl.backends.__file__).parent / package
    offenders = [
        f"{path.name}: {mark}"
        for path in sorted(folder.glob("*.py"))
        if path.name != "internals.py"
        for mark in PRIVATE_MARKS
        if mark in path.read_text()
    ]
    assert offenders == []
