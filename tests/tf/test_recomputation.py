"""The backward uses the λ of its forward, recomputed or not (issue #13).

``tf.recompute_grad`` and ``keras.remat`` run the forward pass again at backward time;
that recomputation used to read λ's variable then, so an assignment between a forward and
its backward (``advance()``, ``set_lambda()``, ``lambda_var.assign``) silently reached the
backward. Each case here computes the forward with λ = 0.5, assigns λ = 1.0, then asks for
the gradient: it must be −0.5, as it is without recomputation.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from tests.backends import require

grl_tf = require("tf")

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

from grl.backends.tf import internals, ops  # noqa: E402

FORWARD, LATER = 0.5, 1.0

RECOMPUTE: dict[str, Callable[[Callable[..., Any]], Callable[..., Any]]] = {
    "plain": lambda f: f,
    "recompute_grad": tf.recompute_grad,
    "keras.remat": keras.remat,
    "nested": lambda f: tf.recompute_grad(lambda v: tf.recompute_grad(f)(v) * 1.0),
}


class _Layer:
    """λ in the Keras layer; ``write`` is a public way to change it."""

    def __init__(self, write: str) -> None:
        self.layer = grl_tf.GradientReversal(FORWARD)
        self.write_kind = write

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        return self.layer(x)

    def write(self) -> None:
        if self.write_kind == "set_lambda":
            self.layer.set_lambda(LATER)
        else:
            self.layer.lambda_.assign(LATER)


class _Op:
    """λ a ``tf.Variable`` given to the functional op."""

    def __init__(self, write: str) -> None:
        self.variable = tf.Variable(FORWARD)

    def __call__(self, x: tf.Tensor) -> tf.Tensor:
        return grl_tf.gradient_reversal(x, self.variable)

    def write(self) -> None:
        self.variable.assign(LATER)


SUBJECTS = {
    "layer-set_lambda": (_Layer, "set_lambda"),
    "layer-assign": (_Layer, "assign"),
    "op-variable": (_Op, "assign"),
}


def _gradient_after_a_write(subject: Any, wrap: Callable[..., Any], graph: bool) -> np.ndarray:
    f = wrap(lambda v: subject(v) * 1.0)
    x = tf.constant([1.0, 2.0])

    def run() -> tf.Tensor:
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(f(x))
        subject.write()  # between the forward and its backward
        return tape.gradient(y, x)

    return (tf.function(run) if graph else run)().numpy()


@pytest.mark.parametrize("graph", [False, True], ids=["eager", "tf.function"])
@pytest.mark.parametrize("recompute", list(RECOMPUTE))
@pytest.mark.parametrize("subject", list(SUBJECTS))
def test_the_backward_uses_the_lambda_of_its_forward(
    subject: str, recompute: str, graph: bool
) -> None:
    kind, write = SUBJECTS[subject]
    gradient = _gradient_after_a_write(kind(write), RECOMPUTE[recompute], graph)
    np.testing.assert_array_equal(gradient, [-FORWARD, -FORWARD])


@pytest.mark.parametrize("recompute", ["recompute_grad", "keras.remat"])
def test_each_forward_keeps_its_own_lambda(recompute: str) -> None:
    """A forward after the write reads the new λ; a persistent tape recomputes twice."""
    layer = grl_tf.GradientReversal(FORWARD)
    f = RECOMPUTE[recompute](lambda v: layer(v) * 1.0)
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        first = tf.reduce_sum(f(x))
        layer.set_lambda(LATER)
        second = tf.reduce_sum(f(x))
        layer.set_lambda(2.0)
    for _ in range(2):
        np.testing.assert_array_equal(tape.gradient(first, x), [-FORWARD] * 2)
        np.testing.assert_array_equal(tape.gradient(second, x), [-LATER] * 2)


def test_keras_remat_scope_keeps_the_forward_lambda() -> None:
    with keras.RematScope(mode="full"):
        layer = grl_tf.GradientReversal(FORWARD)
    x = tf.constant([1.0, 2.0])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(layer(x) * 1.0)
    layer.set_lambda(LATER)
    np.testing.assert_array_equal(tape.gradient(y, x), [-FORWARD] * 2)


def test_a_finished_call_keeps_nothing() -> None:
    """The forward's λ lives as long as a tape can recompute the call, no longer."""
    variable = tf.Variable(FORWARD)
    f = tf.recompute_grad(lambda v: grl_tf.gradient_reversal(v, variable) * 1.0)
    x = tf.constant([1.0])
    for _ in range(5):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = tf.reduce_sum(f(x))
        tape.gradient(y, x)
    del tape, y
    gc.collect()
    with tf.GradientTape() as tape:  # a new forward drops the finished ones
        tape.watch(x)
        tf.reduce_sum(f(x))
    held = [
        reads
        for _, reads in ops._FORWARD_READS[True].values()
        if any(ref() is variable for ref, _ in reads.values())
    ]
    assert len(held) == 1


def test_the_private_hook_is_found() -> None:
    """If TensorFlow renames recompute_grad's closures, the fallback below takes over."""
    assert internals.RECOMPUTE_CODES is not None


def test_without_the_hook_a_recomputation_reads_lambda_again(monkeypatch) -> None:
    """The documented fallback (docs/internals.md): a plain tape is still right, a
    recomputation reads the λ of the time of the backward."""
    monkeypatch.setattr(internals, "RECOMPUTE_CODES", None)
    plain = _gradient_after_a_write(_Op("assign"), RECOMPUTE["plain"], graph=False)
    recomputed = _gradient_after_a_write(_Op("assign"), tf.recompute_grad, graph=False)
    np.testing.assert_array_equal(plain, [-FORWARD] * 2)
    np.testing.assert_array_equal(recomputed, [-LATER] * 2)


@pytest.mark.parametrize("fallback", ["TAPE_SET_IS_STOPPED", "RECORD"])
@pytest.mark.parametrize("subject", list(SUBJECTS))
def test_the_forward_lambda_on_the_fallbacks(monkeypatch, subject: str, fallback: str) -> None:
    """Without the cheap "is recording stopped" test (every call walks the stack), and on
    the public op (no hand recording), a recomputation still reuses its forward's λ."""
    monkeypatch.setattr(internals, fallback, None)
    kind, write = SUBJECTS[subject]
    for wrap in (tf.recompute_grad, keras.remat):
        gradient = _gradient_after_a_write(kind(write), wrap, graph=False)
        np.testing.assert_array_equal(gradient, [-FORWARD, -FORWARD])
