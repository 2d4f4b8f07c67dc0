"""λ and the step can never be assigned a value the specification forbids (issue #13).

The layer's own paths (constructor, ``set_lambda``, ``advance``, its ``set_weights`` and
loading) were validated already; these tests hold the direct ones: ``layer.lambda_.assign``,
``layer.step.assign``/``assign_add`` and a whole model's ``set_weights`` and legacy H5
loading, which Keras writes variable by variable. A refused value names the variable, the
value and the fix, and nothing is written. Symbolic values (compiled steps) are written
unchecked and cost nothing.
"""

from __future__ import annotations

import copy
import math
import pickle
from pathlib import Path

import numpy as np
import pytest

from tests.backends import require

grl_tf = require("tf")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from grl.core import schedules  # noqa: E402
from tests.tf.subprocesses import run_script  # noqa: E402

GradientReversal = grl_tf.GradientReversal


def _model(layer: GradientReversal) -> keras.Model:
    inputs = keras.Input((3,))
    outputs = keras.layers.Dense(1)(layer(keras.layers.Dense(4)(inputs)))
    return keras.Model(inputs, outputs)


def _state(layer: GradientReversal) -> tuple[float, int]:
    return float(layer.lambda_.numpy()), int(layer.step.numpy())


BAD_LAMBDAS = [
    (-1.0, "must be >= 0"),
    (math.nan, "must be finite"),
    (math.inf, "must be finite"),
    (np.float32(-0.5), "must be >= 0"),
]


@pytest.mark.parametrize(("value", "text"), BAD_LAMBDAS)
@pytest.mark.parametrize("as_tensor", [False, True])
def test_assigning_a_forbidden_lambda_is_refused(value: float, text: str, as_tensor: bool) -> None:
    layer = GradientReversal(0.5, name="grl")
    given = tf.constant(value, tf.float32) if as_tensor else value
    with pytest.raises(ValueError, match=text) as error:
        layer.lambda_.assign(given)
    message = str(error.value)
    assert "'grl/lambda_'" in message  # the variable
    assert "layer.set_lambda(value)" in message  # the fix
    assert "Nothing was written" in message
    assert _state(layer) == (0.5, 0)


@pytest.mark.parametrize("value", [-3, -1.0, 2.5, math.nan])
def test_assigning_a_forbidden_step_is_refused(value: float) -> None:
    layer = GradientReversal(schedules.linear(10), name="grl")
    layer.advance(4)
    with pytest.raises(ValueError, match="step must be an integer >= 0") as error:
        layer.step.assign(value)
    assert "'grl/step'" in str(error.value)
    assert "layer.advance(steps)" in str(error.value)
    assert _state(layer) == (np.float32(0.4), 4)


def test_assign_add_below_zero_is_refused() -> None:
    layer = GradientReversal(0.5, name="grl")
    layer.advance(2)
    with pytest.raises(ValueError, match="'grl/step'"):
        layer.step.assign_add(-5)
    with pytest.raises(ValueError, match="'grl/lambda_'"):
        layer.lambda_.assign_sub(1.0)
    assert _state(layer) == (0.5, 2)


def test_allowed_assignments_are_written() -> None:
    layer = GradientReversal(0.5)
    layer.lambda_.assign(0.0)
    layer.step.assign(7)
    layer.step.assign_add(1)
    layer.lambda_.assign(tf.constant(0.25))
    assert _state(layer) == (0.25, 8)


def test_a_constant_assigned_inside_tf_function_is_refused_at_trace_time() -> None:
    layer = GradientReversal(0.5, name="grl")

    @tf.function
    def write() -> None:
        layer.lambda_.assign(-2.0)

    with pytest.raises(ValueError, match="'grl/lambda_'"):
        write()
    assert _state(layer) == (0.5, 0)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_compiled_writes_are_unchecked_and_add_no_op(jit_compile: bool) -> None:
    """A symbolic value has nothing to read: the compiled graph is the one of a plain
    Keras variable (no host read, no assertion op)."""
    layer = GradientReversal(0.5)
    plain = keras.Variable(0.5, trainable=False, autocast=False)

    def graph_ops(variable: keras.Variable) -> list[str]:
        function = tf.function(lambda v: variable.assign(v * 2.0), jit_compile=jit_compile)
        graph = function.get_concrete_function(tf.TensorSpec((), tf.float32)).graph
        return sorted(op.type for op in graph.get_operations())

    assert graph_ops(layer.lambda_) == graph_ops(plain)
    tf.function(lambda: layer.advance(3), jit_compile=jit_compile)()
    assert _state(layer) == (0.5, 3)


def test_model_set_weights_refuses_a_forbidden_lambda_or_step() -> None:
    layer = GradientReversal(0.5, name="grl")
    model = _model(layer)
    weights = model.get_weights()
    index = {id(w): i for i, w in enumerate(model.weights)}
    bad = list(weights)
    bad[index[id(layer.lambda_)]] = np.float32(-1.0)
    with pytest.raises(ValueError, match=r"'grl/lambda_' cannot be assigned -1\.0"):
        model.set_weights(bad)
    bad = list(weights)
    bad[index[id(layer.step)]] = np.int64(-3)
    with pytest.raises(ValueError, match="'grl/step' cannot be assigned -3"):
        model.set_weights(bad)
    assert _state(layer) == (0.5, 0)
    good = list(weights)
    good[index[id(layer.lambda_)]] = np.float32(2.0)
    model.set_weights(good)
    assert _state(layer) == (2.0, 0)


def _write_past_the_guard(layer: GradientReversal, lambda_: float, step: int) -> None:
    """A file with a forbidden state, written through the underlying backend variable
    (what a file from elsewhere could hold)."""
    layer.lambda_.value.assign(lambda_)
    layer.step.value.assign(step)


@pytest.mark.parametrize("suffix", [".weights.h5", ".h5", ".keras"])
def test_loading_a_forbidden_state_into_a_model_is_refused(tmp_path: Path, suffix: str) -> None:
    source = GradientReversal(0.5)
    model = _model(source)
    _write_past_the_guard(source, -1.0, 2)
    path = str(tmp_path / f"model{suffix}")
    if suffix == ".weights.h5":
        model.save_weights(path)
    else:
        model.save(path)
    target = GradientReversal(0.5, name="target")
    fresh = _model(target)
    with pytest.raises(ValueError, match="must be >= 0"):
        if suffix == ".weights.h5":
            fresh.load_weights(path)
        else:
            keras.models.load_model(path)
    assert _state(target) == (0.5, 0)


def test_the_guard_survives_saving_loading_cloning_and_copies(tmp_path: Path) -> None:
    layer = GradientReversal(schedules.linear(10), name="grl")
    model = _model(layer)
    layer.advance(3)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    weights_path = str(tmp_path / "model.weights.h5")
    model.save_weights(weights_path)
    reloaded = _model(GradientReversal(schedules.linear(10), name="grl"))
    reloaded.load_weights(weights_path)
    cloned = keras.models.clone_model(model)
    pickled, deep = pickle.loads(pickle.dumps(model)), copy.deepcopy(model)
    for copy_ in (loaded, reloaded, cloned, pickled, deep):
        (grl,) = [lay for lay in copy_.layers if isinstance(lay, GradientReversal)]
        with pytest.raises(ValueError, match="'grl/lambda_'"):
            grl.lambda_.assign(-1.0)
        with pytest.raises(ValueError, match="'grl/step'"):
            grl.step.assign(-1)
    assert _state(loaded.layers[2]) == (np.float32(0.3), 3)


@pytest.mark.parametrize("jit_compile", [False, True])
def test_fit_with_the_callback_is_unchanged(jit_compile: bool) -> None:
    layer = GradientReversal(schedules.linear(8))
    model = _model(layer)
    model.compile(optimizer="sgd", loss="mse", jit_compile=jit_compile)
    x = np.ones((8, 3), np.float32)
    model.fit(
        x,
        x[:, :1],
        batch_size=2,
        epochs=1,
        verbose=0,
        callbacks=[grl_tf.GradientReversalScheduler()],
    )
    assert _state(layer) == (np.float32(0.5), 4)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_the_guard_on_the_other_keras_backends(backend: str) -> None:
    """JAX: the trainer's state sync goes through ``assign`` too (fit still follows the
    schedule); ``keras.remat`` is ``jax.checkpoint``, whose vjp keeps its forward's λ."""
    require(backend)
    result = run_script("keras_guards.py", KERAS_BACKEND=backend)
    assert result["backend"] == backend
    for name, refusal in result["refused"].items():
        assert refusal["error"] is not None, name
        assert "'grl/" in refusal["error"] and "Nothing was written" in refusal["error"], name
        assert refusal["unchanged"], name
    assert result["allowed"] == [0.25, 0.0]
    assert result["fit"] == [float(np.float32(0.5)), 4.0]
    assert result["remat"] == {"False": [-0.5, -0.5], "True": [-0.5, -0.5]}
