"""The Keras layer on the TensorFlow backend: state, config, saving, policies, bad input."""

from __future__ import annotations

import json
import zipfile

import numpy as np
import pytest

from tests.backends import require

grl_tf = require("tf")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import grl.keras  # noqa: E402
from grl.backends.keras.callback import find_gradient_reversal_layers  # noqa: E402
from grl.core import schedules  # noqa: E402
from grl.core.reference import gradient_reversal_backward  # noqa: E402
from tests.tf.helpers import (  # noqa: E402
    assert_same_bits,
    bad_lambdas,
    from_numpy,
    sample,
    to_numpy,
)

GradientReversal = grl_tf.GradientReversal


def test_one_layer_class_for_tf_and_keras() -> None:
    assert grl.keras.GradientReversal is GradientReversal
    assert grl.keras.GradientReversalScheduler is grl_tf.GradientReversalScheduler
    assert keras.saving.get_registered_name(GradientReversal) == "grl>GradientReversal"
    assert keras.saving.get_registered_object("grl>GradientReversal") is GradientReversal


def test_lambda_and_step_are_non_trainable_weights() -> None:
    layer = GradientReversal(0.75)
    assert (layer.lambda_.shape, layer.lambda_.dtype) == ((), "float32")
    assert (layer.step.shape, layer.step.dtype) == ((), "int64")
    assert float(layer.lambda_.numpy()) == 0.75 and layer.current_step() == 0
    assert [w.path for w in layer.non_trainable_weights] == [
        f"{layer.name}/lambda_",
        f"{layer.name}/step",
    ]
    assert layer.trainable_weights == []
    assert layer.schedule is None


@pytest.mark.parametrize(
    ("schedule", "initial"),
    [(schedules.dann(100), 0.0), (schedules.linear(10, lo=0.25, hi=2.0), 0.25)],
)
def test_scheduled_layer_starts_at_schedule_of_zero(schedule, initial) -> None:
    layer = GradientReversal(schedule)
    assert layer.schedule == schedule
    assert float(layer.lambda_.numpy()) == initial


def test_advance_follows_schedule_on_the_host() -> None:
    schedule = schedules.dann(10, gamma=3.0)
    layer = GradientReversal(schedule)
    seen = []
    for _ in range(4):
        layer.advance()
        seen.append(layer.lambda_.numpy())
    assert seen == [np.float32(schedule(step)) for step in range(1, 5)]
    layer.advance(steps=3)
    assert layer.current_step() == 7 and layer.lambda_.numpy() == np.float32(schedule(7))
    layer.advance(0)
    assert layer.current_step() == 7 and layer.lambda_.numpy() == np.float32(schedule(7))


def test_advance_with_fixed_lambda_only_counts_steps() -> None:
    layer = GradientReversal(0.5)
    layer.set_lambda(2.0)
    layer.advance(steps=2)
    assert layer.current_step() == 2 and float(layer.lambda_.numpy()) == 2.0


@pytest.mark.parametrize(
    ("steps", "error"), [(-2, ValueError), (1.0, TypeError), (True, TypeError)]
)
def test_advance_rejects_bad_steps(steps, error) -> None:
    layer = GradientReversal(schedules.linear(5))
    with pytest.raises(error, match="steps must be an int >= 0"):
        layer.advance(steps)
    assert layer.current_step() == 0


@pytest.mark.parametrize("dtype", ["float16", "bfloat16", "float32", "float64"])
def test_backward_is_one_multiply_by_float32_lambda(dtype: str) -> None:
    layer = GradientReversal(0.1)
    x, g = sample(dtype, (9,), seed=1), sample(dtype, (9,), seed=2)
    xt = from_numpy(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt)
    assert_same_bits(to_numpy(y), x)
    grad = to_numpy(tape.gradient(y, xt, output_gradients=from_numpy(g)))
    assert_same_bits(grad, gradient_reversal_backward(g, np.float32(0.1)))


@pytest.mark.parametrize(
    "lambda_",
    [
        0.25,
        3,
        schedules.constant(2.0),
        schedules.linear(40, lo=0.5, hi=1.5),
        schedules.dann(1000, gamma=7.0, normalize=True),
    ],
    ids=["float", "int", "constant", "linear", "dann"],
)
def test_config_round_trip(lambda_) -> None:
    layer = GradientReversal(lambda_, name="grl")
    config = layer.get_config()
    json.dumps(config)  # configs are stored as JSON
    rebuilt = GradientReversal.from_config(config)
    assert rebuilt.get_config() == config
    assert rebuilt.schedule == layer.schedule
    assert rebuilt.lambda_.numpy() == layer.lambda_.numpy()
    revived = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(layer))
    assert type(revived) is GradientReversal and revived.get_config() == config


@keras.saving.register_keras_serializable(package="grl_tests")
class SubclassedDann(keras.Model):
    """A subclassed model with the GRL inside (features → label head, GRL → domain head)."""

    def __init__(self, lambda_=1.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.features = keras.layers.Dense(6, activation="relu")
        self.label_head = keras.layers.Dense(2)
        self.grl = GradientReversal(lambda_)
        self.domain_head = keras.layers.Dense(1)

    def call(self, inputs):
        features = self.features(inputs)
        return self.label_head(features), self.domain_head(self.grl(features))

    def get_config(self):
        return {**super().get_config(), "lambda_": self.grl.get_config()["lambda_"]}


def build_model(kind: str, lambda_) -> keras.Model:
    keras.utils.set_random_seed(0)
    if kind == "sequential":
        return keras.Sequential(
            [
                keras.Input((4,)),
                keras.layers.Dense(6),
                GradientReversal(lambda_),
                keras.layers.Dense(3),
            ]
        )
    if kind == "functional":
        inputs = keras.Input((4,))
        features = keras.layers.Dense(6)(inputs)
        domain = keras.layers.Dense(3)(GradientReversal(lambda_)(features))
        return keras.Model(inputs, [keras.layers.Dense(2)(features), domain])
    model = SubclassedDann(lambda_)
    model(np.zeros((1, 4), np.float32))
    return model


def the_grl(model: keras.Model) -> GradientReversal:
    (layer,) = find_gradient_reversal_layers(model)
    return layer


def domain_gradient(model: keras.Model, x: np.ndarray, g: np.ndarray) -> np.ndarray:
    """∂(g·domain_output)/∂x: the gradient that crosses the GRL."""
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        out = model(xt)
        y = out if isinstance(model, keras.Sequential) else out[1]
    return tape.gradient(y, xt, output_gradients=tf.constant(g)).numpy()


@pytest.mark.parametrize("kind", ["sequential", "functional", "subclassed"])
def test_keras_file_round_trip_without_custom_objects(kind: str, tmp_path) -> None:
    schedule = schedules.dann(50)
    model = build_model(kind, schedule)
    layer = the_grl(model)
    for _ in range(7):
        layer.advance()
    x, g = sample("float32", (5, 4), seed=3), sample("float32", (5, 3), seed=4)
    grad = domain_gradient(model, x, g)
    model.save(tmp_path / "model.keras")

    loaded = keras.models.load_model(tmp_path / "model.keras")
    loaded_layer = the_grl(loaded)
    assert loaded_layer is not layer and loaded_layer.schedule == schedule
    assert loaded_layer.current_step() == 7
    assert_same_bits(loaded_layer.lambda_.numpy(), np.float32(schedule(7)))
    assert_same_bits(domain_gradient(loaded, x, g), grad)
    loaded_layer.advance()  # the schedule continues from the restored step
    assert loaded_layer.lambda_.numpy() == np.float32(schedule(8))


@pytest.fixture
def global_policy(request):
    """Set a global dtype policy for one test and restore the previous one after it."""
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy(request.param)
    yield request.param
    keras.config.set_dtype_policy(previous)


@pytest.mark.parametrize("global_policy", ["mixed_float16", "mixed_bfloat16"], indirect=True)
def test_mixed_precision_policy(global_policy: str) -> None:
    compute = global_policy.removeprefix("mixed_")
    layer = GradientReversal(0.3)
    assert layer.dtype_policy.name == global_policy
    assert layer.lambda_.dtype == "float32"
    for dtype in (compute, "float32"):  # never casts its input, whatever the policy
        x, g = sample(dtype, (6,), seed=5), sample(dtype, (6,), seed=6)
        xt = from_numpy(x)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            y = layer(xt)
        assert_same_bits(to_numpy(y), x)
        grad = to_numpy(tape.gradient(y, xt, output_gradients=from_numpy(g)))
        assert_same_bits(grad, gradient_reversal_backward(g, np.float32(0.3)))


@pytest.mark.parametrize("global_policy", ["mixed_float16", "mixed_bfloat16"], indirect=True)
def test_mixed_precision_model_trains(global_policy: str) -> None:
    keras.utils.set_random_seed(1)
    inputs = keras.Input((4,))
    features = keras.layers.Dense(8, activation="relu")(inputs)
    reversed_features = GradientReversal(schedules.linear(4))(features)
    assert reversed_features.dtype == global_policy.removeprefix("mixed_")
    outputs = keras.layers.Dense(1, dtype="float32")(reversed_features)
    model = keras.Model(inputs, outputs)
    model.compile(keras.optimizers.SGD(0.01), "mse", jit_compile=False)
    history = model.fit(
        np.ones((8, 4), np.float32),
        np.ones((8, 1), np.float32),
        batch_size=4,
        epochs=1,
        verbose=0,
        callbacks=[grl_tf.GradientReversalScheduler()],
    )
    assert np.isfinite(history.history["loss"]).all()
    assert the_grl(model).current_step() == 2
    assert the_grl(model).lambda_.numpy() == np.float32(0.5)


def test_float64_policy_keeps_lambda_in_float64() -> None:
    layer = GradientReversal(0.1, dtype="float64")
    assert layer.lambda_.dtype == "float64"
    g = sample("float64", (4,), seed=7)
    xt = tf.constant(g)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt)
    grad = tape.gradient(y, xt, output_gradients=tf.constant(g)).numpy()
    assert_same_bits(grad, gradient_reversal_backward(g, 0.1))


def _check_error(error: pytest.ExceptionInfo, expected_text: str) -> None:
    message = str(error.value)
    assert "lambda_" in message and expected_text in message, message


@pytest.mark.parametrize(("value", "error", "text"), bad_lambdas())
def test_bad_lambda_in_constructor(value, error, text) -> None:
    with pytest.raises(error) as raised:
        GradientReversal(value)
    _check_error(raised, text)


@pytest.mark.parametrize(("value", "error", "text"), bad_lambdas())
def test_bad_lambda_in_hand_edited_config(value, error, text) -> None:
    config = GradientReversal(0.5).get_config()
    config["lambda_"] = value
    with pytest.raises(error) as raised:
        GradientReversal.from_config(config)
    _check_error(raised, text)


@pytest.mark.parametrize(
    ("value", "error", "text"),
    [
        (-1.0, ValueError, "must be >= 0"),
        ("x", TypeError, "'x'"),
        ({"name": "cosine"}, ValueError, "cosine"),
    ],
)
def test_bad_lambda_in_hand_edited_keras_file(value, error, text, tmp_path) -> None:
    model = keras.Sequential([keras.Input((3,)), GradientReversal(0.5, name="grl")])
    model.save(tmp_path / "good.keras")
    with zipfile.ZipFile(tmp_path / "good.keras") as source:
        files = {name: source.read(name) for name in source.namelist()}
    config = json.loads(files["config.json"])
    (grl_config,) = [c for c in config["config"]["layers"] if c["config"]["name"] == "grl"]
    grl_config["config"]["lambda_"] = value
    files["config.json"] = json.dumps(config).encode()
    with zipfile.ZipFile(tmp_path / "edited.keras", "w") as target:
        for name, content in files.items():
            target.writestr(name, content)
    with pytest.raises(error) as raised:
        keras.models.load_model(tmp_path / "edited.keras")
    _check_error(raised, text)


def test_keras_learning_rate_schedule_is_not_a_lambda_schedule() -> None:
    with pytest.raises(TypeError, match="a callable that is not a grl schedule"):
        GradientReversal(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9))


@pytest.mark.parametrize("dtype", ["int32", "int64", "bool", "uint8"])
def test_non_float_input_is_rejected(dtype: str) -> None:
    with pytest.raises(TypeError, match=f"floating .*got dtype '{dtype}'"):
        GradientReversal()(keras.Input((3,), dtype=dtype))
    with pytest.raises(TypeError, match=f"floating .*got dtype '{dtype}'"):
        GradientReversal()(tf.zeros((2, 3), dtype=dtype))


def test_autocast_cannot_be_enabled() -> None:
    with pytest.raises(ValueError, match="autocast=True"):
        GradientReversal(autocast=True)


@pytest.mark.parametrize(("value", "error"), [(-0.5, ValueError), ("1", TypeError)])
def test_set_lambda_validates(value, error) -> None:
    layer = GradientReversal(0.5)
    with pytest.raises(error, match="lambda_"):
        layer.set_lambda(value)
    assert float(layer.lambda_.numpy()) == 0.5


def test_mask_passes_through() -> None:
    tokens = np.array([[1, 2, 0, 0]])
    embedded = keras.layers.Embedding(5, 3, mask_zero=True)(tokens)
    reversed_embedding = GradientReversal()(embedded)
    mask = reversed_embedding._keras_mask
    assert mask is not None and mask.numpy().tolist() == [[True, True, False, False]]


@pytest.mark.parametrize(
    "value",
    [tf.constant(0.25), tf.constant(0.25, tf.float64), tf.Variable(0.25), keras.Variable(0.25)],
    ids=["float32", "float64", "tf-variable", "keras-variable"],
)
def test_set_lambda_takes_a_0d_floating_tensor(value) -> None:
    layer = GradientReversal(0.5)
    layer.set_lambda(value)
    assert layer.lambda_.numpy() == np.float32(0.25)


@pytest.mark.parametrize(
    ("value", "error", "words"),
    [
        (tf.constant(1), TypeError, "int32 is not a real floating dtype"),
        (tf.constant([0.5]), ValueError, "must be a 0-d"),
        (tf.constant(-0.5), ValueError, "must be >= 0"),
    ],
    ids=["int", "rank-1", "negative"],
)
def test_set_lambda_refuses_bad_tensors(value, error, words) -> None:
    layer = GradientReversal(0.5)
    with pytest.raises(error, match=words):
        layer.set_lambda(value)
    assert layer.lambda_.numpy() == np.float32(0.5)


def test_set_lambda_inside_a_tf_function_asks_for_an_assignment() -> None:
    layer = GradientReversal(0.5)
    with pytest.raises(TypeError, match=r"assign to layer\.lambda_ instead"):
        tf.function(lambda value: layer.set_lambda(value))(tf.constant(0.25))


@pytest.mark.parametrize(
    ("weights", "words"),
    [
        ([np.float32(-1.0), np.int64(0)], "invalid saved lambda_: lambda_ must be >= 0"),
        ([np.float32(np.nan), np.int64(0)], "must be finite"),
        ([np.float32(0.5), np.int64(-4)], "invalid saved step: must be >= 0"),
    ],
    ids=["negative-lambda", "nan-lambda", "negative-step"],
)
def test_set_weights_refuses_a_forbidden_state(weights, words) -> None:
    layer = GradientReversal(0.5)
    model = keras.Sequential([keras.Input((2,)), layer])
    for target in (layer, model):
        with pytest.raises(ValueError, match=words):
            layer.set_weights(weights) if target is layer else load_state(model, weights)
    assert layer.lambda_.numpy() == np.float32(0.5) and layer.current_step() == 0


def load_state(model: keras.Model, weights: list) -> None:
    """``model.load_weights`` of a weights file written with these λ and step."""
    import tempfile

    source = keras.Sequential([keras.Input((2,)), GradientReversal(0.5)])
    for variable, value in zip(source.layers[0].weights, weights, strict=True):
        variable.value.assign(value)  # past the guard (the tf.Variable): a file from elsewhere
    with tempfile.TemporaryDirectory() as folder:
        source.save_weights(f"{folder}/bad.weights.h5")
        model.load_weights(f"{folder}/bad.weights.h5")


def test_keras_file_with_a_negative_lambda_is_refused(tmp_path) -> None:
    model = keras.Sequential([keras.Input((2,)), GradientReversal(0.5)])
    model.layers[0].lambda_.value.assign(-1.0)  # past the guard: a file from elsewhere
    model.save(tmp_path / "bad.keras")
    with pytest.raises(ValueError, match="invalid saved lambda_"):
        keras.models.load_model(tmp_path / "bad.keras")


def test_loading_recomputes_a_scheduled_lambda_from_the_step() -> None:
    schedule = schedules.dann(20)
    layer = GradientReversal(schedule)
    layer.set_weights([np.float32(0.0), np.int64(5)])
    assert layer.current_step() == 5 and layer.lambda_.numpy() == np.float32(schedule(5))
