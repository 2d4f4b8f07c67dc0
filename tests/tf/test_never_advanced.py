"""A scheduled Keras layer whose fit never advances it warns once (issue #15: the forgotten
GradientReversalScheduler), at no cost per batch."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from tests.backends import require

grl_tf = require("tf")

import keras  # noqa: E402

from grl.backends.keras import callback, internals  # noqa: E402
from grl.backends.keras.diagnostics import Monitor  # noqa: E402
from grl.core import schedules  # noqa: E402
from grl.core.diagnostics import GRLWarning  # noqa: E402
from tests.diagnostics.keras_setups import compile_for_fit, dann  # noqa: E402

BATCHES = 120  # past the 100 batches a layer may stay at step 0


class Advancing(keras.callbacks.Callback):
    """A user's own callback that advances the layer (no GradientReversalScheduler)."""

    def on_train_batch_end(self, batch, logs=None):
        self.model.get_layer("grl").advance()


def fit(lambda_, callbacks, batches=BATCHES, eager=False):
    model = compile_for_fit(dann(lambda_))
    model.run_eagerly = eager
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batches * 4, 4)).astype("float32")
    y = {"label": (x[:, 0] > 0).astype("int64"), "domain": (x[:, 1] > 0).astype("float32")}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GRLWarning)
        model.fit(x, y, batch_size=4, epochs=1, verbose=0, callbacks=callbacks)
    assert not any(isinstance(c, callback.AdvanceWatch) for c in callbacks)  # fit's list only
    return model, [str(w.message) for w in caught if issubclass(w.category, GRLWarning)]


def test_a_forgotten_scheduler_warns_once_naming_the_fix():
    model, raised = fit(schedules.dann(1000), [])
    assert len(raised) == 1
    assert raised[0].startswith("[grl: never_advanced]")
    assert "still at step 0 after 120 training passes" in raised[0]  # at the epoch end
    assert "GradientReversalScheduler" in raised[0]
    assert model.get_layer("grl").current_step() == 0


@pytest.mark.parametrize("setup", ["scheduler", "own_callback", "fixed", "short_fit"])
def test_correct_setups_stay_silent(setup):
    lambda_ = 0.5 if setup == "fixed" else schedules.dann(1000)
    callbacks = {
        "scheduler": [grl_tf.GradientReversalScheduler()],
        "own_callback": [Advancing()],
    }.get(setup, [])
    _, raised = fit(lambda_, callbacks, batches=50 if setup == "short_fit" else BATCHES)
    assert raised == []


def test_with_the_monitor_only_the_monitor_warns():
    _, raised = fit(schedules.dann(1000), [Monitor()])
    assert [m.split("]")[0] for m in raised] == ["[grl: never_advanced"]


@pytest.mark.parametrize("scheduler", [False, True])
def test_the_watch_runs_when_the_step_is_traced_not_per_batch(scheduler):
    calls = []
    original = callback.watch_advancing

    def spy(layer):
        calls.append(layer.name)
        original(layer)

    callbacks = [grl_tf.GradientReversalScheduler()] if scheduler else []
    callback.watch_advancing = spy
    try:
        fit(schedules.dann(1000), callbacks, batches=10)
        short = len(calls)
        fit(schedules.dann(1000), callbacks, batches=30)
    finally:
        callback.watch_advancing = original
    assert 0 < short == len(calls) - short  # the traces of one fit, however many batches


def test_without_the_frame_walk_there_is_no_default_warning(monkeypatch):
    monkeypatch.setattr(internals, "FIT_FRAMES", None)
    assert internals.running_fit_callbacks() is None
    _, raised = fit(schedules.dann(1000), [])
    assert raised == []


# -- eager training calls (run_eagerly, a custom loop, the PyTorch Keras backend) ---------


def test_an_eager_fit_without_the_scheduler_warns_once_after_100_passes():
    _, raised = fit(schedules.dann(1000), [], eager=True)
    assert [m.split("]")[0] for m in raised] == ["[grl: never_advanced"]
    assert "still at step 0 after 100 training passes" in raised[0]


def test_an_eager_fit_with_the_scheduler_stays_silent():
    _, raised = fit(schedules.dann(1000), [grl_tf.GradientReversalScheduler()], eager=True)
    assert raised == []


def test_an_eager_fit_with_the_monitor_warns_once():
    """The monitor judges never_advanced; the layer's own watch waits during its fit."""
    model, raised = fit(schedules.dann(1000), [Monitor()], eager=True)
    assert [m.split("]")[0] for m in raised] == ["[grl: never_advanced"]
    # Still at step 0 after the fit: the layer's own watch is back.
    raised = loop(model.get_layer("grl"), 150, advance=False)
    assert len(raised) == 1 and "still at step 0 after 100 training passes" in raised[0]


def loop(layer, passes, *, advance, training=True):
    x = keras.ops.ones((2, 3))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GRLWarning)
        for _ in range(passes):
            layer(x, training=training)
            if advance:
                layer.advance()
    return [str(w.message) for w in caught if issubclass(w.category, GRLWarning)]


def test_a_custom_loop_that_never_advances_warns_once():
    raised = loop(grl_tf.GradientReversal(schedules.dann(1000)), 250, advance=False)
    assert len(raised) == 1 and "still at step 0 after 100 training passes" in raised[0]


@pytest.mark.parametrize("setup", ["advanced", "inference", "fixed", "resumed"])
def test_correct_custom_loops_stay_silent(setup):
    layer = grl_tf.GradientReversal(0.5 if setup == "fixed" else schedules.dann(1000))
    if setup == "resumed":
        stepped = grl_tf.GradientReversal(schedules.dann(1000))
        stepped.advance(3)
        layer.set_weights(stepped.get_weights())
    raised = loop(layer, 150, advance=setup == "advanced", training=setup != "inference")
    assert raised == []
