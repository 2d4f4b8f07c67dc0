"""Small DANN setups in Keras, each wired right or wrong on purpose."""

from __future__ import annotations

import keras
import numpy as np

from grl.keras import GradientReversal


def dann(lambda_: object = 0.5, wiring: str = "correct", norm: bool = False) -> keras.Model:
    keras.utils.set_random_seed(0)
    x = keras.Input((4,))
    features = keras.layers.Dense(8, activation="tanh")(x)
    if norm:
        features = keras.layers.Dropout(0.5)(keras.layers.BatchNormalization()(features))
    grl_input = keras.ops.stop_gradient(features) if wiring == "detached" else features
    reversed_ = GradientReversal(lambda_, name="grl")(grl_input)
    if wiring == "double_grl":
        reversed_ = GradientReversal(lambda_, name="grl2")(reversed_)
    domain_input = reversed_ + features if wiring == "bypass" else reversed_
    label_input = reversed_ if wiring == "label_path" else features
    label = keras.layers.Dense(2, name="label")(label_input)
    domain = keras.layers.Reshape((), name="domain")(keras.layers.Dense(1)(domain_input))
    return keras.Model(x, {"label": label, "domain": domain})


def batch(seed: int = 0, n: int = 16) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype("float32")
    x[n // 2 :] += 1.5
    domains = np.concatenate([np.zeros(n // 2), np.ones(n - n // 2)]).astype("float32")
    return {"x": x, "labels": (x[:, 0] > 0).astype("int64"), "domains": domains}


def losses(model: keras.Model, data: dict, domain_weight: float = 1.0) -> dict:
    out = model(data["x"], training=True)
    label = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    domain = keras.losses.BinaryCrossentropy(from_logits=True)
    return {
        "label": label(data["labels"], out["label"]),
        "domain": domain_weight * domain(data["domains"], out["domain"]),
        "domain_logits": out["domain"],
        "domain_labels": data["domains"],
    }


def compile_for_fit(model: keras.Model) -> keras.Model:
    model.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss={
            "label": keras.losses.SparseCategoricalCrossentropy(from_logits=True),
            "domain": keras.losses.BinaryCrossentropy(from_logits=True),
        },
        metrics={"domain": [keras.metrics.BinaryAccuracy(threshold=0.0, name="accuracy")]},
    )
    return model


def fit_data(n: int = 64) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    data = batch(n=n)
    return data["x"], {"label": data["labels"], "domain": data["domains"]}
