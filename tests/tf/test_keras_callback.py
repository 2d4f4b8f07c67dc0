"""``GradientReversalScheduler`` under ``model.fit`` (TensorFlow backend): the schedule is
followed batch by batch, never on inference, and resumes bit for bit after a restart."""

from __future__ import annotations

import numpy as np
import pytest

from tests.backends import require

grl_tf = require("tf")

import keras  # noqa: E402

from grl.backends.keras.callback import find_gradient_reversal_layers  # noqa: E402
from grl.core import schedules  # noqa: E402
from tests.tf.helpers import assert_same_bits, cumulative_float32, lambda_history  # noqa: E402

GradientReversal = grl_tf.GradientReversal
GradientReversalScheduler = grl_tf.GradientReversalScheduler


class LambdaProbe(keras.callbacks.Callback):
    """Records λ of one layer when each training batch starts (after the scheduler)."""

    def __init__(self, layer: GradientReversal) -> None:
        super().__init__()
        self.layer, self.seen = layer, []

    def on_train_batch_begin(self, batch, logs=None) -> None:
        self.seen.append(float(self.layer.lambda_.numpy()))


def mean_prediction(y_true, y_pred):
    return keras.ops.mean(y_pred)


def linear_probe_model(schedule: schedules.Schedule, jit_compile: bool) -> keras.Model:
    """w·x → GRL, loss mean(output): with x = 1 and batches of 2, ∂L/∂w = −λ exactly, so
    plain SGD(1) makes w the float32 running sum of the λ each batch really used."""
    model = keras.Sequential(
        [
            keras.Input((1,)),
            keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros"),
            GradientReversal(schedule),
        ]
    )
    model.compile(keras.optimizers.SGD(1.0), mean_prediction, jit_compile=jit_compile)
    return model


@pytest.mark.parametrize("jit_compile", [False, True], ids=["graph", "xla"])
def test_fit_follows_the_schedule_batch_by_batch(jit_compile: bool) -> None:
    schedule = schedules.dann(12, gamma=4.0)
    model = linear_probe_model(schedule, jit_compile)
    (layer,) = find_gradient_reversal_layers(model)
    probe = LambdaProbe(layer)
    ones = np.ones((8, 1), np.float32)
    model.fit(
        ones,
        ones,
        batch_size=2,
        epochs=3,
        shuffle=False,
        verbose=0,
        validation_data=(ones, ones),
        callbacks=[GradientReversalScheduler(), probe],
    )
    expected = lambda_history(schedule, range(12))
    assert probe.seen == expected
    assert layer.current_step() == 12  # validation batches did not count
    assert_same_bits(layer.lambda_.numpy(), np.float32(schedule(12)))  # λ = s(n) after n
    assert_same_bits(model.layers[0].kernel.numpy()[0, 0], cumulative_float32(expected))


def test_inference_never_advances() -> None:
    model = linear_probe_model(schedules.linear(10), jit_compile=False)
    (layer,) = find_gradient_reversal_layers(model)
    for _ in range(3):
        layer.advance()
    ones = np.ones((4, 1), np.float32)
    callbacks = [GradientReversalScheduler()]
    model.predict(ones, verbose=0, callbacks=callbacks)
    model.evaluate(ones, ones, verbose=0, callbacks=callbacks)
    model(ones, training=True)
    model(ones, training=False)
    assert layer.current_step() == 3
    assert layer.lambda_.numpy() == np.float32(0.3)


def test_every_layer_is_advanced_nested_ones_included() -> None:
    inner = keras.Sequential([keras.Input((1,)), GradientReversal(schedules.linear(4), name="a")])
    inputs = keras.Input((1,))
    outputs = keras.layers.Dense(1)(GradientReversal(0.5, name="b")(inner(inputs)))
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(0.1), mean_prediction, jit_compile=False)
    ones = np.ones((6, 1), np.float32)
    model.fit(ones, ones, batch_size=2, verbose=0, callbacks=[GradientReversalScheduler()])
    layers = {layer.name: layer for layer in find_gradient_reversal_layers(model)}
    scheduled, fixed = layers["a"], layers["b"]
    assert scheduled.current_step() == fixed.current_step() == 3
    assert scheduled.lambda_.numpy() == np.float32(0.75)  # linear(4) at step 3
    assert fixed.lambda_.numpy() == np.float32(0.5)  # a fixed λ is never touched


def test_steps_per_execution_counts_every_batch() -> None:
    schedule = schedules.linear(20)
    model = linear_probe_model(schedule, jit_compile=False)
    model.compile(model.optimizer, mean_prediction, jit_compile=False, steps_per_execution=3)
    (layer,) = find_gradient_reversal_layers(model)
    probe = LambdaProbe(layer)
    ones = np.ones((10, 1), np.float32)  # 5 batches per epoch: executions of 3 and 2
    model.fit(
        ones,
        ones,
        batch_size=2,
        epochs=2,
        shuffle=False,
        verbose=0,
        callbacks=[GradientReversalScheduler(), probe],
    )
    assert probe.seen == lambda_history(schedule, [0, 3, 5, 8])
    assert layer.current_step() == 10


def test_no_gradient_reversal_layer_is_an_error() -> None:
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile("sgd", "mse")
    with pytest.raises(ValueError, match="found no GradientReversal layer"):
        model.fit(
            np.ones((2, 1)), np.ones((2, 1)), verbose=0, callbacks=[GradientReversalScheduler()]
        )


EPOCHS, BATCHES_PER_EPOCH = 4, 3


def dann_data() -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((6 * BATCHES_PER_EPOCH, 5)).astype(np.float32)
    labels = (x[:, 0] > 0).astype(np.int64)
    domains = (np.arange(len(x)) % 2).astype(np.float32)[:, None]
    return x, (labels, domains)


def dann_model() -> keras.Model:
    """A small DANN: features → label head, and features → GRL → domain head; Adam."""
    keras.utils.set_random_seed(3)
    inputs = keras.Input((5,))
    features = keras.layers.Dense(8, activation="relu")(inputs)
    labels = keras.layers.Dense(2, name="label")(features)
    domain = keras.layers.Dense(4, activation="relu")(
        GradientReversal(schedules.dann(EPOCHS * BATCHES_PER_EPOCH))(features)
    )
    model = keras.Model(inputs, [labels, keras.layers.Dense(1, name="domain")(domain)])
    model.compile(
        keras.optimizers.Adam(0.01),
        [
            keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            keras.losses.BinaryCrossentropy(from_logits=True),
        ],
        jit_compile=False,
    )
    return model


def fit_dann(model: keras.Model, callbacks: list, initial_epoch: int = 0) -> list[float]:
    (layer,) = find_gradient_reversal_layers(model)
    probe = LambdaProbe(layer)
    x, y = dann_data()
    model.fit(
        x,
        y,
        batch_size=6,
        epochs=EPOCHS,
        initial_epoch=initial_epoch,
        shuffle=False,
        verbose=0,
        callbacks=[GradientReversalScheduler(), *callbacks, probe],
    )
    return probe.seen


def state(model: keras.Model) -> list[np.ndarray]:
    """Every weight and optimizer variable (λ and step included), as NumPy."""
    return [np.asarray(v.numpy()) for v in [*model.weights, *model.optimizer.variables]]


@pytest.fixture(scope="module")
def uninterrupted() -> tuple[list[np.ndarray], list[float]]:
    model = dann_model()
    seen = fit_dann(model, [])
    assert seen == lambda_history(model.layers[2].schedule, range(EPOCHS * BATCHES_PER_EPOCH))
    return state(model), seen


class Interrupt(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None) -> None:
        if epoch == 2:
            raise RuntimeError("simulated preemption")


def test_backup_and_restore_resumes_bit_for_bit(uninterrupted, tmp_path) -> None:
    backup = keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))
    with pytest.raises(RuntimeError, match="simulated preemption"):
        fit_dann(dann_model(), [backup, Interrupt()])
    resumed = dann_model()  # a fresh process: new model, state only from the backup
    seen = fit_dann(resumed, [keras.callbacks.BackupAndRestore(str(tmp_path / "backup"))])
    expected_state, expected_seen = uninterrupted
    assert seen == expected_seen[2 * BATCHES_PER_EPOCH :]
    for actual, expected in zip(state(resumed), expected_state, strict=True):
        assert_same_bits(actual, expected)


def test_saved_model_resumes_bit_for_bit(uninterrupted, tmp_path) -> None:
    model = dann_model()
    with pytest.raises(RuntimeError, match="simulated preemption"):
        fit_dann(model, [Interrupt()])
    model.save(tmp_path / "dann.keras")
    resumed = keras.models.load_model(tmp_path / "dann.keras")
    seen = fit_dann(resumed, [], initial_epoch=2)
    expected_state, expected_seen = uninterrupted
    assert seen == expected_seen[2 * BATCHES_PER_EPOCH :]
    for actual, expected in zip(state(resumed), expected_state, strict=True):
        assert_same_bits(actual, expected)
