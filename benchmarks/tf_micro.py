"""TensorFlow micro benchmark: forward, backward and forward+backward of one layer.

Eager: forward runs under a ``GradientTape`` (as in training); backward is
``tape.gradient(y, x, output_gradients=g)`` on a persistent tape; forward+backward both.
Compiled: ``tf.function(jit_compile=True)`` functions returning ``y`` (forward), ``dx``
(backward: XLA drops the unused forward) and ``(y, dx)`` (forward+backward). An XLA
computation cannot hand back an input buffer as ``dx``, so even identity's compiled
backward writes one full copy of ``g``: in that mode the floor is a pass, not zero.
"""

from __future__ import annotations

from collections.abc import Callable

import tensorflow as tf

from benchmarks import records
from benchmarks.peers import tf_peers
from benchmarks.settings import Settings
from grl.tf import gradient_reversal

DTYPES = {"float32": tf.float32, "bfloat16": tf.bfloat16}
LAMBDA = 0.5


def layers() -> dict[str, Callable[[tf.Tensor], tf.Tensor]]:
    lambda_ = tf.Variable(LAMBDA, trainable=False)
    return {
        records.IDENTITY: tf.identity,
        records.GRL: lambda x: gradient_reversal(x, lambda_),
        tf_peers.CUSTOM_GRADIENT: tf_peers.custom_gradient_layer(LAMBDA),
    }


def origins() -> dict[str, str]:
    return {
        records.IDENTITY: "baseline: tf.identity",
        records.FLOOR: "baseline: one g * c multiply",
        records.GRL: "grl.tf.gradient_reversal (λ a tf.Variable)",
        **tf_peers.ORIGINS,
    }


def _pull(result: object) -> object:
    """Wait for the values (eager ops on CPU are synchronous; this is a no-op there)."""
    return result


def eager_cases(layer: Callable, x: tf.Tensor, g: tf.Tensor) -> dict[str, Callable]:
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        y = layer(x)

    def forward() -> object:
        with tf.GradientTape() as t:
            t.watch(x)
            return layer(x)

    def both() -> object:
        with tf.GradientTape() as t:
            t.watch(x)
            out = layer(x)
        return t.gradient(out, x, output_gradients=g)

    return {
        records.FORWARD: forward,
        records.BACKWARD: lambda: tape.gradient(y, x, output_gradients=g),
        records.BOTH: both,
    }


def compiled_cases(layer: Callable, x: tf.Tensor, g: tf.Tensor) -> dict[str, Callable]:
    def vjp(x: tf.Tensor, g: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = layer(x)
        return y, tape.gradient(y, x, output_gradients=g)

    forward = tf.function(layer, jit_compile=True)
    backward = tf.function(lambda x, g: vjp(x, g)[1], jit_compile=True)
    both = tf.function(vjp, jit_compile=True)
    return {
        records.FORWARD: lambda: forward(x),
        records.BACKWARD: lambda: backward(x, g),
        records.BOTH: lambda: both(x, g),
    }


def size_cases(mode: str, size: int, dtype: tf.DType) -> dict[tuple[str, str], Callable]:
    tf.random.set_seed(size)
    x = tf.cast(tf.random.normal([size]), dtype)
    g = tf.cast(tf.random.normal([size]), dtype)
    c = tf.constant(-LAMBDA, dtype=dtype)
    floor = (
        (lambda g, c: g * c)
        if mode == "eager"
        else tf.function(lambda g, c: g * c, jit_compile=True)
    )
    cases: dict[tuple[str, str], Callable] = {
        (records.FLOOR, records.BACKWARD): lambda: floor(g, c)
    }
    make = eager_cases if mode == "eager" else compiled_cases
    for name, layer in layers().items():
        for kind, case in make(layer, x, g).items():
            cases[(name, kind)] = case
    return cases


def run(settings: Settings) -> list[records.Record]:
    def cases_for(mode: str, dtype: str) -> Callable:
        return lambda size: size_cases(mode, size, DTYPES[dtype])

    return records.micro_sweep("tf", settings, origins(), cases_for)
