"""Shared helpers of the TensorFlow/Keras integration tests."""

from __future__ import annotations

from typing import Any

import ml_dtypes
import numpy as np

from grl.core import schedules
from tests.conformance.cases import assert_same_bits, bits  # noqa: F401  (shared helpers)


def to_numpy(tensor: Any) -> np.ndarray:
    """A TF tensor as NumPy, bfloat16 included (as ``ml_dtypes.bfloat16``)."""
    import tensorflow as tf

    tensor = tf.convert_to_tensor(tensor)
    if tensor.dtype == tf.bfloat16:
        return tf.bitcast(tensor, tf.uint16).numpy().view(ml_dtypes.bfloat16)
    return tensor.numpy()


def from_numpy(array: np.ndarray) -> Any:
    import tensorflow as tf

    if array.dtype == ml_dtypes.bfloat16:
        return tf.bitcast(tf.constant(array.view(np.uint16)), tf.bfloat16)
    return tf.constant(array)


def sample(dtype: str, shape: tuple[int, ...], seed: int) -> np.ndarray:
    values = np.random.default_rng(seed).standard_normal(shape) * 3.0
    return values.astype(ml_dtypes.bfloat16 if dtype == "bfloat16" else dtype)


def lambda_history(schedule: schedules.Schedule, steps: range) -> list[float]:
    """λ of each step as the layer's float32 weight holds it."""
    return [float(np.float32(schedule(step))) for step in steps]


def cumulative_float32(values: list[float]) -> np.ndarray:
    """Running float32 sum, rounded after every addition (as an SGD update is)."""
    total = np.float32(0.0)
    for value in values:
        total = np.float32(total + np.float32(value))
    return total


def bad_lambdas() -> list[tuple[Any, type[Exception], str]]:
    """(λ, expected error, text the message must contain) for constructor and config."""
    return [
        (-1.0, ValueError, "must be >= 0"),
        (-1, ValueError, "must be >= 0"),
        (float("nan"), ValueError, "must be finite"),
        (float("inf"), ValueError, "must be finite"),
        ("x", TypeError, "'x'"),
        (None, TypeError, "None"),
        (True, TypeError, "bool"),
        ([1.0], TypeError, "[1.0]"),
        (np.array([1.0]), ValueError, "0-d"),
        (1 + 2j, TypeError, "complex"),
        ({"name": "cosine"}, ValueError, "unknown schedule name 'cosine'"),
        ({"name": "dann"}, ValueError, "total_steps"),
        ({"name": "dann", "total_steps": 0}, ValueError, "total_steps must be > 0"),
        ({"name": "linear", "total_steps": 5, "lo": -1.0}, ValueError, "lo must be >= 0"),
        ({"name": "dann", "total_steps": "9"}, TypeError, "total_steps must be an int"),
        (
            {"class_name": "ExponentialDecay", "config": {"initial_learning_rate": 0.1}},
            ValueError,
            "Keras object config (class_name='ExponentialDecay')",
        ),
    ]
