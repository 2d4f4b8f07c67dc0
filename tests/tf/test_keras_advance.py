"""``GradientReversal.advance`` on TensorFlow: the schedule is evaluated on the device, with
the host schedule's bits, eagerly (one compiled call) and inside compiled train steps."""

from __future__ import annotations

import numpy as np
import pytest

from tests.backends import require

grl_tf = require("tf")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from grl.backends.tf.eager_update import EagerUpdate  # noqa: E402
from grl.core import schedules  # noqa: E402
from grl.core.reference import gradient_reversal_backward  # noqa: E402
from tests.tf.helpers import assert_same_bits, lambda_history, sample  # noqa: E402

GradientReversal = grl_tf.GradientReversal

SCHEDULES = [
    schedules.dann(997),
    schedules.dann(400, gamma=50.0, normalize=True),
    schedules.dann(300, gamma=3.0, lo=0.1, hi=2.5),
    schedules.linear(300, lo=0.25, hi=1.75),
    schedules.constant(0.3),
]
IDS = ["dann", "dann_normalized", "dann_lo", "linear_lo", "constant"]


def no_host_reads(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("advance read a weight on the host")

    monkeypatch.setattr(GradientReversal, "current_step", refuse)
    monkeypatch.setattr(keras.ops, "convert_to_numpy", refuse)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=IDS)
def test_eager_advance_gives_the_host_values_bit_for_bit(schedule, monkeypatch) -> None:
    layer = GradientReversal(schedule)
    no_host_reads(monkeypatch)
    steps = range(getattr(schedule, "total_steps", 20) + 2)
    seen = []
    for _ in steps:
        layer.advance()
        seen.append(layer.lambda_.numpy())
    expected = lambda_history(schedule, range(1, len(steps) + 1))  # λ = s(step) after each
    assert_same_bits(np.asarray(seen), np.asarray(expected, np.float32))
    assert int(layer.step.numpy()) == len(steps)


def test_float64_policy_gets_the_float64_host_values() -> None:
    schedule = schedules.dann(300, gamma=7.0, lo=0.2, normalize=True)
    layer = GradientReversal(schedule, dtype="float64")
    seen = []
    for _ in range(302):
        layer.advance()
        seen.append(layer.lambda_.numpy())
    assert_same_bits(np.asarray(seen), np.asarray([schedule(k) for k in range(1, 303)]))


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_advance_inside_the_train_step_traces_once_over_1000_steps(jit_compile: bool) -> None:
    schedule = schedules.dann(1000, gamma=6.0)
    layer = GradientReversal(schedule)
    x, g = sample("float32", (6,), seed=60), sample("float32", (6,), seed=61)

    @tf.function(jit_compile=jit_compile)
    def train_step(x: tf.Tensor, g: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        grad = tape.gradient(y, x, output_gradients=g)
        layer.advance()  # after the step's update, as outside
        return grad

    xt, gt = tf.constant(x), tf.constant(g)
    grads = [train_step(xt, gt).numpy() for _ in range(1000)]
    assert train_step.experimental_get_tracing_count() == 1
    for step, value in enumerate(lambda_history(schedule, range(1000))):
        assert_same_bits(grads[step], gradient_reversal_backward(g, np.float32(value)))
    assert int(layer.step.numpy()) == 1000


def test_advance_of_several_batches_inside_a_tf_function() -> None:
    schedule = schedules.linear(20)
    layer = GradientReversal(schedule)
    advance = tf.function(lambda: layer.advance(steps=3))
    for _ in range(3):
        advance()
    assert int(layer.step.numpy()) == 9
    assert layer.lambda_.numpy() == np.float32(schedule(9))


def test_set_lambda_on_a_schedule_is_refused_and_changes_nothing() -> None:
    schedule = schedules.linear(10)
    layer = GradientReversal(schedule)
    layer.advance()
    with pytest.raises(RuntimeError, match="follows the schedule linear"):
        layer.set_lambda(5.0)
    assert layer.lambda_.numpy() == np.float32(schedule(1)) and int(layer.step.numpy()) == 1


def test_fit_with_the_callback_reads_no_weight_on_the_host(monkeypatch) -> None:
    schedule = schedules.linear(8)
    model = keras.Sequential([keras.Input((1,)), GradientReversal(schedule), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse", jit_compile=True)
    ones = np.ones((8, 1), np.float32)
    monkeypatch.setattr(GradientReversal, "current_step", None)  # would fail if called
    model.fit(ones, ones, batch_size=2, epochs=2, verbose=0,
              callbacks=[grl_tf.GradientReversalScheduler()])  # fmt: skip
    layer = model.layers[0]
    assert int(layer.step.numpy()) == 8
    assert layer.lambda_.numpy() == np.float32(schedule(8))


class Exported(tf.Module):
    def __init__(self, model: keras.Model) -> None:
        super().__init__()
        self.model = model

    @tf.function(input_signature=[tf.TensorSpec((None, 3), tf.float32)])
    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        return self.model(x)


def test_saved_model_after_eager_advances(tmp_path) -> None:
    keras.utils.set_random_seed(8)
    layer = GradientReversal(schedules.dann(10))
    model = keras.Sequential(
        [keras.Input((3,)), keras.layers.Dense(4), layer, keras.layers.Dense(1)]
    )
    for _ in range(4):
        layer.advance()
    module = Exported(model)
    tf.saved_model.save(module, str(tmp_path / "saved"))
    loaded = tf.saved_model.load(str(tmp_path / "saved"))
    x = tf.constant(sample("float32", (2, 3), seed=62))

    def input_gradient(function) -> np.ndarray:
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.reduce_sum(function(x))
        return tape.gradient(loss, x).numpy()

    assert_same_bits(input_gradient(loaded), input_gradient(module))


def test_an_update_xla_cannot_compile_falls_back_to_a_graph_function() -> None:
    counter = tf.Variable(0, dtype=tf.int64)

    def update(n: int) -> None:
        # numpy_function has no XLA kernel: the XLA call fails to compile, before any update.
        increment = tf.numpy_function(lambda: np.int64(n), [], tf.int64, stateful=False)
        counter.assign_add(increment)

    function = EagerUpdate(update, xla=True)
    function(2)
    function(3)
    assert int(counter.numpy()) == 5
    assert function._xla is None  # it did fall back


def test_advance_in_a_stateless_scope_only_records_its_updates() -> None:
    schedule = schedules.linear(10)
    layer = GradientReversal(schedule)
    layer.advance()  # the eager compiled update exists from now on
    with keras.StatelessScope() as scope:
        layer.advance()
    assert int(layer.step.numpy()) == 1 and layer.lambda_.numpy() == np.float32(schedule(1))
    assert int(scope.get_current_value(layer.step)) == 2
    assert scope.get_current_value(layer.lambda_).numpy() == np.float32(schedule(2))


def test_the_compiled_update_does_not_keep_a_layer_alive() -> None:
    import gc
    import weakref

    from grl.backends.keras.layer import _EAGER_ADVANCE

    layer = GradientReversal(schedules.linear(10))
    layer.advance()
    assert layer in _EAGER_ADVANCE
    alive = weakref.ref(layer)
    del layer
    gc.collect()
    assert alive() is None
