"""Keras (TensorFlow backend): the Monitor callback, its warnings, and check_placement."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from tests.backends import require

grl_tf = require("tf")

import keras  # noqa: E402

from grl.backends.keras.diagnostics import (  # noqa: E402
    GRLWarning,
    Monitor,
    check_placement,
    total_steps_from_params,
)
from grl.core import diagnostics as core  # noqa: E402
from grl.core import schedules  # noqa: E402
from tests.diagnostics.keras_setups import (  # noqa: E402
    batch,
    compile_for_fit,
    dann,
    fit_data,
    losses,
)

SHORT = core.Thresholds(advance_within=3, stretch=3)
BATCHES, EPOCHS = 4, 2


def fit(model, *, scheduler=True, thresholds=SHORT, y=None, lr=0.1, layer=None):
    compile_for_fit(model)
    model.optimizer.learning_rate.assign(lr)
    x, labels = fit_data()
    monitor = Monitor(
        layer, domain_loss="domain_loss", domain_accuracy="domain_accuracy", thresholds=thresholds
    )
    callbacks = [grl_tf.GradientReversalScheduler(), monitor] if scheduler else [monitor]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GRLWarning)
        history = model.fit(
            x, y or labels, batch_size=16, epochs=EPOCHS, callbacks=callbacks, verbose=0
        )
    raised = [
        str(w.message).split("]")[0].removeprefix("[grl: ")
        for w in caught
        if issubclass(w.category, GRLWarning)
    ]
    return history, monitor, raised


def test_values_land_in_history_and_match_the_layer():
    model = dann(schedules.dann(total_steps=BATCHES * EPOCHS))
    history, monitor, raised = fit(model, thresholds=core.Thresholds())
    assert raised == []
    for name in core.metric_names():
        assert len(history.history[name]) == EPOCHS
    # Step and λ the batch trained with: the last batch of each epoch is step 3 and 7.
    assert history.history["grl/step"] == [3.0, 7.0]
    last = monitor.last
    schedule = model.get_layer("grl").schedule
    assert last["grl/lambda"] == float(np.float32(schedule(7)))
    assert float(model.get_layer("grl").lambda_.numpy()) == float(np.float32(schedule(8)))
    assert last["grl/grad_cosine"] == pytest.approx(-1.0, abs=1e-6)  # float32 sums
    assert last["grl/domain_loss"] == history.history["domain_loss"][-1]
    assert last["grl/domain_to_task"] > 0
    assert last["grl/grad_in_norm"] > 0


def test_monitored_fit_trains_and_logs_as_a_plain_fit():
    """The taps are identities and the epoch's logs stay Keras' metric results: a fit with
    the monitor gives the weights and losses of one without, bit for bit."""
    runs = []
    for monitored in (False, True):
        model = compile_for_fit(dann(schedules.dann(total_steps=BATCHES * EPOCHS)))
        x, y = fit_data()
        callbacks = [grl_tf.GradientReversalScheduler()]
        callbacks += [Monitor(thresholds=core.Thresholds())] if monitored else []
        history = model.fit(x, y, batch_size=16, epochs=EPOCHS, callbacks=callbacks, verbose=0)
        runs.append((history.history, [v.numpy() for v in model.weights]))
    (plain, plain_weights), (watched, watched_weights) = runs
    assert {k: v for k, v in watched.items() if not k.startswith("grl/")} == plain
    for a, b in zip(plain_weights, watched_weights, strict=True):
        np.testing.assert_array_equal(a, b)


def one_batch_fit(model, monitor):
    """One batch of 16 with learning rate 0: the weights stay those of the batch."""
    compile_for_fit(model)
    model.optimizer.learning_rate.assign(0.0)
    data = batch(n=16)
    y = {"label": data["labels"], "domain": data["domains"]}
    model.fit(data["x"], y, batch_size=16, epochs=1, verbose=0, shuffle=False, callbacks=[monitor])
    return data, y


@pytest.mark.parametrize("explicit", [False, True])
def test_domain_to_task_is_the_ratio_of_the_two_gradients_at_the_features(explicit):
    model = dann(0.25)
    layer = model.get_layer("grl")
    features = layer._inbound_nodes[0].input_tensors[0]._keras_history.operation
    monitor = Monitor(features=features if explicit else None, thresholds=core.Thresholds())
    data, y = one_batch_fit(model, monitor)
    import tensorflow as tf

    with tf.GradientTape(persistent=True) as tape:
        f = features(data["x"])
        tape.watch(f)
        label = model.get_layer("label")(f)
        domain_dense = model.get_layer("domain").input._keras_history.operation
        domain = model.get_layer("domain")(domain_dense(layer(f)))
        label_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)(y["label"], label)
        domain_loss = keras.losses.BinaryCrossentropy(from_logits=True)(y["domain"], domain)
    task, reversed_ = tape.gradient(label_loss, f), tape.gradient(domain_loss, f)
    expected = np.linalg.norm(reversed_) / np.linalg.norm(task)
    assert monitor.last["grl/domain_to_task"] == pytest.approx(expected, rel=1e-5)
    assert monitor.last["grl/grad_out_norm"] == pytest.approx(np.linalg.norm(reversed_), rel=1e-5)


def test_domain_to_task_is_nan_without_a_features_layer():
    keras.utils.set_random_seed(0)
    x = keras.Input((4,))
    features = keras.ops.tanh(keras.layers.Dense(8)(x))  # an op, not a layer, feeds the GRL
    domain = keras.layers.Dense(1)(grl_tf.GradientReversal(0.5)(features))
    outputs = {
        "label": keras.layers.Dense(2, name="label")(features),
        "domain": keras.layers.Reshape((), name="domain")(domain),
    }
    model = keras.Model(x, outputs)
    monitor = Monitor(thresholds=core.Thresholds())
    one_batch_fit(model, monitor)
    assert math.isnan(monitor.last["grl/domain_to_task"])
    assert monitor.last["grl/grad_ratio"] == pytest.approx(0.5, rel=1e-6)


def test_gradient_ratio_is_lambda():
    _, monitor, _ = fit(dann(0.25), thresholds=core.Thresholds())
    assert monitor.last["grl/grad_ratio"] == pytest.approx(0.25, rel=1e-6)


def test_forgotten_scheduler_warns_never_advanced():
    _, _, raised = fit(dann(schedules.dann(total_steps=BATCHES * EPOCHS)), scheduler=False)
    assert raised == ["never_advanced"]  # not also λ = 0 and ended early: one cause


def test_detached_grl_warns_no_gradient():
    _, _, raised = fit(dann(0.5, "detached"))
    assert raised == ["no_gradient"]


def test_lambda_zero_for_an_epoch():
    _, _, raised = fit(dann(0.0))
    assert raised == ["lambda_zero_epoch"]


def test_schedule_too_short():
    _, _, raised = fit(dann(schedules.dann(total_steps=BATCHES)))
    assert raised == ["past_total_steps"]


def test_schedule_ten_times_too_long():
    _, _, raised = fit(dann(schedules.dann(total_steps=10 * BATCHES * EPOCHS)))
    assert raised == ["ended_early"]


class NotReversing(grl_tf.GradientReversal):
    """A 'GRL' that passes gradients unchanged (what a cancelled reversal looks like)."""

    def call(self, inputs):
        return inputs


def test_layer_that_does_not_reverse_warns_reversal_cancelled():
    keras.utils.set_random_seed(0)
    x = keras.Input((4,))
    features = keras.layers.Dense(8, activation="tanh")(x)
    layer = NotReversing(0.5)
    domain = keras.layers.Reshape((), name="domain")(keras.layers.Dense(1)(layer(features)))
    model = keras.Model(
        x, {"label": keras.layers.Dense(2, name="label")(features), "domain": domain}
    )
    _, _, raised = fit(model, layer=layer)
    assert raised == ["reversal_cancelled"]


def test_domain_head_frozen_at_zero_is_stuck_at_ln2():
    model = dann(0.5)
    head = model.get_layer("domain").input._keras_history.operation
    head.kernel.assign(np.zeros_like(head.kernel.numpy()))
    head.trainable = False  # its parameters are not trained: the head learns nothing
    _, monitor, raised = fit(model)
    assert raised == ["domain_stuck"]
    assert monitor.last["grl/domain_loss"] == pytest.approx(math.log(2), abs=1e-6)


def test_domain_head_that_wins_warns_collapsed():
    model = dann(0.5)
    x, labels = fit_data()
    head = model.get_layer("domain").input._keras_history.operation
    head.kernel.assign(head.kernel.numpy() * 1000)
    predicted = (keras.ops.convert_to_numpy(model(x)["domain"]) > 0).astype("float32")
    _, _, raised = fit(model, y={**labels, "domain": predicted}, lr=0.0)
    assert raised == ["domain_collapsed"]


def test_missing_log_key_is_a_clear_error():
    model = compile_for_fit(dann(0.5))
    x, y = fit_data()
    with pytest.raises(KeyError, match="Monitor: the logs have no key 'nope'"):
        model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[Monitor(domain_loss="nope")])


def test_monitor_removes_its_taps_after_fit():
    model = dann(0.5)
    fit(model)
    features = model.get_layer("grl")._inbound_nodes[0].input_tensors[0]._keras_history.operation
    assert "call" not in model.get_layer("grl").__dict__
    assert "call" not in features.__dict__
    assert "train_step" not in model.__dict__


def test_total_steps_from_params():
    assert total_steps_from_params({"epochs": 3, "steps": 7}) == 21
    with pytest.raises(ValueError, match=r"epochs × steps_per_epoch \(3 × None\)"):
        total_steps_from_params({"epochs": 3, "steps": None})


# -- check_placement ---------------------------------------------------------------------


def kinds(report):
    return [kind for kind, _ in report.problems]


def test_correct_setup_passes():
    report = check_placement(dann(0.5), losses, batch())
    assert report.ok, str(report)
    assert report.feature_factor == pytest.approx(-0.5, rel=1e-6)
    assert report.honest_weight == pytest.approx(1.0, rel=1e-6)


@pytest.mark.parametrize(
    ("wiring", "kind"),
    [
        ("detached", "domain_not_through_grl"),
        ("label_path", "label_through_grl"),
        ("bypass", "domain_bypasses_grl"),
        ("double_grl", "reversal_cancelled"),
    ],
)
def test_each_wrong_wiring_gets_its_verdict(wiring, kind):
    assert kind in kinds(check_placement(dann(0.5, wiring), losses, batch()))


def test_lambda_applied_twice():
    report = check_placement(dann(2.0), lambda m, b: losses(m, b, 2.0), batch())
    assert kinds(report) == ["lambda_applied_twice"]


def test_jmlr_minus_sign_cancels_the_reversal():
    report = check_placement(dann(0.5), lambda m, b: losses(m, b, -1.0), batch())
    assert kinds(report) == ["reversal_cancelled"]


def test_probe_has_no_training_side_effects():
    model = dann(schedules.dann(total_steps=100), norm=True)
    model.get_layer("grl").advance(3)
    before = [v.numpy().copy() for v in model.variables]
    report = check_placement(model, losses, batch())
    assert report.ok, str(report)
    for variable, value in zip(model.variables, before, strict=True):
        np.testing.assert_array_equal(variable.numpy(), value, err_msg=variable.path)
    assert "call" not in model.get_layer("grl").__dict__


def test_lambda_zero_is_probed_with_one_and_restored():
    model = dann(schedules.dann(total_steps=100))
    report = check_placement(model, losses, batch())
    assert report.ok, str(report)
    assert report.lambdas == (1.0,)  # λ = schedule(0) = 0 reveals no sign
    assert float(model.get_layer("grl").lambda_.numpy()) == 0.0


def test_second_fit_with_the_monitor_reuses_the_traced_step(monkeypatch):
    traces = []
    keras_step = keras.Model.train_step

    def counted(model, data):
        traces.append(1)  # Python runs here only while tracing
        return keras_step(model, data)

    monkeypatch.setattr(keras.Model, "train_step", counted)
    model = compile_for_fit(dann(0.25))
    x, y = fit_data()
    monitor = Monitor(thresholds=core.Thresholds())
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[monitor])
    traced, first = monitor._traced, len(traces)
    assert model.train_function is not traced  # the model's own, after the fit
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[monitor])
    assert monitor._traced is traced
    assert len(traces) == first  # no trace in the second fit
    assert monitor.last["grl/grad_ratio"] == pytest.approx(0.25, rel=1e-6)
    plain = model.fit(x, y, batch_size=16, epochs=1, verbose=0)  # without: no taps, no keys
    assert not [key for key in plain.history if key.startswith("grl/")]


class Overridden(grl_tf.GradientReversal):
    """grl's layer with its own call: the monitor taps the gradient passed on too."""

    def call(self, inputs, training=None):
        return super().call(inputs, training)


def test_one_tap_for_grls_layer_gives_the_numbers_of_two_taps():
    """grl's layer passes on cast(−λ)·arriving (its contract), so the monitor measures only
    the gradient arriving; a layer with its own call gets a second tap. Same numbers."""
    values = []
    for layer_class in (grl_tf.GradientReversal, Overridden):
        keras.utils.set_random_seed(0)
        x = keras.Input((4,))
        features = keras.layers.Dense(8, activation="tanh")(x)
        reversed_ = layer_class(0.3, name="grl")(features)
        outputs = {
            "label": keras.layers.Dense(2, name="label")(features),
            "domain": keras.layers.Reshape((), name="domain")(keras.layers.Dense(1)(reversed_)),
        }
        monitor = Monitor(thresholds=core.Thresholds())
        one_batch_fit(keras.Model(x, outputs), monitor)
        values.append(monitor.last)
    for name in ("grad_in_norm", "grad_out_norm", "grad_ratio", "grad_cosine", "domain_to_task"):
        assert values[0][f"grl/{name}"] == pytest.approx(values[1][f"grl/{name}"], rel=1e-6)
    assert values[0]["grl/grad_ratio"] == pytest.approx(0.3, rel=1e-6)


def test_half_precision_gradients_are_summed_wide():
    """Under mixed_float16 the gradients are float16 (and loss-scaled): their squared
    norms, summed in float16, overflow to inf (65504 is float16's largest)."""
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = dann(0.25)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert model.get_layer("grl").compute_dtype == "float16"
    _, monitor, _ = fit(model, thresholds=core.Thresholds())
    last = monitor.last
    assert math.isfinite(last["grl/grad_in_norm"]) and last["grl/grad_in_norm"] > 256
    assert last["grl/grad_ratio"] == pytest.approx(0.25, rel=1e-3)
    assert last["grl/grad_cosine"] == pytest.approx(-1.0, abs=1e-3)
    assert math.isfinite(last["grl/domain_to_task"])
