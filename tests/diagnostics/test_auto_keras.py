"""total_steps="auto" in Keras: the scheduler callback resolves it at the start of fit."""

from __future__ import annotations

import numpy as np
import pytest

from tests.backends import require

grl_tf = require("tf")

import keras  # noqa: E402

from grl.backends.keras.diagnostics import resolve_total_steps  # noqa: E402
from grl.core import schedules  # noqa: E402
from tests.diagnostics.keras_setups import compile_for_fit, dann, fit_data  # noqa: E402

EPOCHS, BATCH, N = 2, 16, 64  # 4 batches per epoch: 8 steps


def fit(model: keras.Model, **kwargs) -> keras.Model:
    compile_for_fit(model)
    x, y = fit_data(N)
    model.fit(
        x,
        y,
        batch_size=BATCH,
        epochs=EPOCHS,
        callbacks=[grl_tf.GradientReversalScheduler()],
        verbose=0,
        **kwargs,
    )
    return model


def state(model: keras.Model) -> tuple[int, int]:
    layer = model.get_layer("grl")
    return int(layer.current_step()), int(np.asarray(layer.lambda_.numpy()).view(np.int32))


def test_fit_resolves_auto_as_epochs_times_steps_with_the_same_bits():
    auto = fit(dann(schedules.dann("auto", gamma=7.0)))
    direct = fit(dann(schedules.dann(EPOCHS * N // BATCH, gamma=7.0)))
    assert auto.get_layer("grl").schedule == schedules.dann(8, gamma=7.0)
    assert state(auto) == state(direct)
    assert state(auto)[0] == 8 and float(auto.get_layer("grl").lambda_.numpy()) > 0.0


def test_the_train_function_is_traced_once():
    model = fit(dann(schedules.dann("auto")))
    traced = model.train_function
    x, y = fit_data(N)
    scheduler = grl_tf.GradientReversalScheduler()
    model.fit(x, y, batch_size=BATCH, epochs=EPOCHS, callbacks=[scheduler], verbose=0)
    assert model.train_function is traced  # a second fit: same length, same function
    assert model.get_layer("grl").schedule == schedules.dann(8)
    assert state(model)[0] == 16


def endless():
    x, y = fit_data(N)
    while True:
        for i in range(0, N, BATCH):
            yield x[i : i + BATCH], {key: value[i : i + BATCH] for key, value in y.items()}


def test_an_unsized_dataset_is_a_clear_error_before_the_first_batch():
    model = compile_for_fit(dann(schedules.dann("auto")))
    weights = [w.numpy() for w in model.weights]
    with pytest.raises(
        ValueError, match=r"epochs × steps_per_epoch \(2 × None\).*steps_per_epoch="
    ):
        model.fit(
            endless(), epochs=EPOCHS, callbacks=[grl_tf.GradientReversalScheduler()], verbose=0
        )
    assert all(np.array_equal(w.numpy(), v) for w, v in zip(model.weights, weights, strict=True))
    model.fit(
        endless(),
        epochs=EPOCHS,
        steps_per_epoch=3,
        callbacks=[grl_tf.GradientReversalScheduler()],
        verbose=0,
    )
    assert model.get_layer("grl").schedule == schedules.dann(6)


def test_a_saved_model_keeps_the_resolved_number(tmp_path):
    model = fit(dann(schedules.dann("auto")))
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.get_layer("grl").get_config()["lambda_"]["total_steps"] == 8
    assert state(loaded) == state(model)


def test_an_unsaved_auto_model_round_trips_at_step_zero(tmp_path):
    model = dann(schedules.dann("auto"))
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert loaded.get_layer("grl").schedule == schedules.dann("auto")
    assert state(loaded) == (0, 0)


def test_a_custom_loop_resolves_with_a_number_and_refuses_to_advance_before():
    model = dann(schedules.dann("auto"))
    layer = model.get_layer("grl")
    with pytest.raises(
        RuntimeError, match=r"advance\(\) needs the run length.*GradientReversalScheduler"
    ):
        layer.advance()
    assert layer.current_step() == 0
    assert resolve_total_steps(model, 10) == 10
    layer.advance(3)
    direct = dann(schedules.dann(10)).get_layer("grl")
    direct.advance(3)
    assert float(layer.lambda_.numpy()) == float(direct.lambda_.numpy()) != 0.0
    assert resolve_total_steps(model, {"epochs": 3, "steps": 5}) == 15
    assert layer.schedule == schedules.dann(10)  # the first length stays


def test_a_training_call_of_an_unresolved_layer_is_refused_inference_is_not():
    model = dann(schedules.dann("auto"))
    x, y = fit_data(N)
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(model(x)["domain"]),
        keras.ops.convert_to_numpy(model(x, training=False)["domain"]),
    )
    with pytest.raises(RuntimeError, match=r"GradientReversal training call.*resolve"):
        model(x, training=True)
    compile_for_fit(model)
    before = [v.numpy().copy() for v in model.trainable_variables]
    with pytest.raises(RuntimeError, match="GradientReversal training call"):
        model.fit(x, y, batch_size=BATCH, epochs=1, verbose=0)  # no scheduler: never resolved
    for variable, value in zip(model.trainable_variables, before, strict=True):
        np.testing.assert_array_equal(variable.numpy(), value)  # refused before any work
