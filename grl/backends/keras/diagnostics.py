"""Diagnostics for domain-adversarial training in Keras (the rules: :mod:`grl.core.diagnostics`).

* :class:`Monitor`: a callback that puts the monitor's numbers into ``logs`` (so into
  ``History`` and TensorBoard) and raises the warnings.
* :func:`check_placement`: one probe forward and backward that reports where the GRL sits,
  with no training side effects (TensorFlow backend).
* :func:`total_steps_from_params`: ``total_steps="auto"`` as ``epochs × steps_per_epoch``;
  :func:`resolve_total_steps` gives every ``"auto"`` GRL of a model its run length (the
  scheduler callback does it at the start of ``fit``).

The gradient numbers need to see inside the compiled train step: on the TensorFlow backend
the monitor wraps the layer's ``call`` during ``fit`` with two identity taps whose gradient
functions add the norms to a variable (a few scalar ops per step). On the JAX and PyTorch
Keras backends a gradient function cannot write state, and those numbers are NaN; step, λ,
the domain loss and the warnings work on every backend.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import keras
import numpy as np

from grl.backends.keras.callback import find_gradient_reversal_layers, total_steps_from_params
from grl.backends.keras.layer import GradientReversal
from grl.core import diagnostics as core

__all__ = [
    "GRLWarning",
    "Monitor",
    "Thresholds",
    "check_placement",
    "resolve_total_steps",
    "total_steps_from_params",
]

GRLWarning = core.GRLWarning
Thresholds = core.Thresholds

# The sums a monitored step accumulates: |in|², |out|², <in, out>, forward passes, gradients.
_SUMS = 5


def _read(variable: Any) -> float:
    """A Keras variable's value on the host."""
    return float(variable.numpy())


class _Taps:
    """The TensorFlow identity taps around one GRL, and the variable they add to."""

    def __init__(self, layer: GradientReversal) -> None:
        import tensorflow as tf

        self.tf = tf
        self.layer = layer
        self.sums = tf.Variable(tf.zeros(_SUMS, tf.float64), trainable=False)
        self.original = layer.call

    def install(self) -> None:
        object.__setattr__(self.layer, "call", self.call)

    def remove(self) -> None:
        if self.layer.__dict__.get("call") == self.call:
            object.__delattr__(self.layer, "call")

    def _add(self, values: list[Any]) -> Any:
        """Add the five sums (zeros where a tap has nothing) in one update."""
        return self.sums.assign_add(self.tf.stack(values))

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        tf = self.tf
        zero, one = tf.constant(0.0, tf.float64), tf.constant(1.0, tf.float64)
        forward = self._add([zero, zero, zero, one, zero])
        arriving_box: list[Any] = []

        @tf.custom_gradient
        def after(r: Any) -> Any:
            def grad(arriving: Any) -> Any:
                arriving_box.append(tf.cast(arriving, tf.float64))
                return tf.identity(arriving)

            return tf.identity(r), grad

        @tf.custom_gradient
        def before(x: Any) -> Any:
            def grad(passed: Any) -> Any:
                out = tf.cast(passed, tf.float64)
                a = arriving_box.pop() if arriving_box else tf.zeros_like(out)
                sums = [tf.reduce_sum(a * a), tf.reduce_sum(out * out), tf.reduce_sum(a * out)]
                with tf.control_dependencies([self._add([*sums, zero, one])]):
                    return tf.identity(passed)

            with tf.control_dependencies([forward]):
                return tf.identity(x), grad

        return after(self.original(before(inputs), *args, **kwargs))


class Monitor(keras.callbacks.Callback):
    """Puts the monitor's numbers (``grl/step``, ``grl/lambda``, ...) into the training logs.

    Args:
        layer: the :class:`GradientReversal` to watch (default: the model's only one).
        domain_loss, domain_accuracy: keys of the logs that hold the domain head's loss and
            accuracy (e.g. ``"domain_loss"`` for an output named ``domain``); their values
            become ``grl/domain_loss`` and ``grl/domain_accuracy``.
        prefix: the prefix of the keys (``"grl"``).
        thresholds: when a number means trouble (:class:`grl.core.diagnostics.Thresholds`).

    Per batch the numbers land in the batch ``logs``; per epoch their last values land in
    the epoch ``logs``, so ``History`` and ``TensorBoard`` record them. Reading ``step`` and
    λ costs one host read per batch.
    """

    def __init__(
        self,
        layer: GradientReversal | None = None,
        *,
        domain_loss: str | None = None,
        domain_accuracy: str | None = None,
        prefix: str = "grl",
        thresholds: core.Thresholds = core.DEFAULT_THRESHOLDS,
    ) -> None:
        super().__init__()
        self.layer = layer
        self.keys = {"domain_loss": domain_loss, "domain_accuracy": domain_accuracy}
        self.prefix = prefix
        self.thresholds = thresholds
        self.last: dict[str, float] = {}
        self._taps: _Taps | None = None
        self._traced: Any = None  # the train function traced with the taps
        self._seen = [0.0] * _SUMS  # the taps' sums at the last batch (they only grow)

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        if self.layer is None:
            layers = find_gradient_reversal_layers(self.model)
            if len(layers) != 1:
                raise ValueError(
                    f"Monitor needs layer=... when the model has {len(layers)} "
                    "GradientReversal layers (one monitor per layer)"
                )
            self.layer = layers[0]
        schedule = self.layer.schedule
        self.diagnostics = core.Diagnostics(
            scheduled=schedule is not None,
            total_steps=core.total_steps_of(schedule),
            thresholds=self.thresholds,
        )
        if keras.backend.backend() == "tensorflow":
            if self._taps is None or self._taps.layer is not self.layer:
                self._taps = _Taps(self.layer)
            self._taps.install()
            if self.model.train_function is not self._traced:
                # The train function is traced at its first call: rebuild it with the taps
                # (once: later fits with this monitor reuse it).
                self.model.make_train_function(force=True)
                self._traced = self.model.train_function
            self._seen = self._taps.sums.numpy().tolist()

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.diagnostics.total_steps is None and self.layer.schedule is not None:
            # A total_steps="auto" schedule resolved after on_train_begin read it.
            self.diagnostics.total_steps = core.total_steps_of(self.layer.schedule)
        sums = [math.nan] * _SUMS
        if self._taps is not None:
            total = self._taps.sums.numpy().tolist()
            sums = [now - before for now, before in zip(total, self._seen, strict=True)]
            self._seen = total
        logs = {} if logs is None else logs
        in_norm, out_norm = math.sqrt(sums[0]), math.sqrt(sums[1])
        ratio, cosine = core.ratios(in_norm, out_norm, sums[2])
        values = {
            "step": float(_read(self.layer.step)),
            "lambda": _read(self.layer.lambda_),
            "grad_in_norm": in_norm,
            "grad_out_norm": out_norm,
            "grad_ratio": ratio,
            "grad_cosine": cosine,
            "domain_to_task": math.nan,
            "domain_loss": _log_value(logs, self.keys["domain_loss"]),
            "domain_accuracy": _log_value(logs, self.keys["domain_accuracy"]),
        }
        measured = {k: None if math.isnan(v) else v for k, v in values.items()}
        if self._taps is None:
            counts = {}
        else:
            counts = {"forward_passes": int(sums[3]), "gradients": int(sums[4])}
        self.diagnostics.record(measured, **counts)
        self.last = {f"{self.prefix}/{name}": value for name, value in values.items()}
        logs.update(self.last)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.diagnostics.end_epoch()
        if logs is not None:
            logs.update(self.last)

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        if self._taps is not None:
            # The traced train function keeps its taps (a few scalar ops) until Keras
            # rebuilds it; eager calls of the layer no longer go through them.
            self._taps.remove()
        self.diagnostics.end_run(int(_read(self.layer.step)))


def _log_value(logs: Mapping[str, Any], key: str | None) -> float:
    if key is None:
        return math.nan
    if key not in logs:
        raise KeyError(
            f"Monitor: the logs have no key {key!r} (keys: {sorted(logs)}); pass the name "
            "Keras gives the domain output's loss or metric"
        )
    return float(logs[key])


def resolve_total_steps(model: keras.layers.Layer, total_steps: Any) -> int:
    """Give every ``total_steps="auto"`` GRL in ``model`` its run length; returns it.

    ``total_steps`` is an int > 0, or a callback's ``params`` mapping (``epochs × steps``).
    ``fit`` with :class:`grl.keras.GradientReversalScheduler` does this by itself at the
    start of training; call it for a custom training loop. GRLs with a fixed λ or a schedule
    that has its length are left as they are.
    """
    if isinstance(total_steps, Mapping):
        length = total_steps_from_params(total_steps)
    else:
        core.schedules._total_steps(total_steps, auto=False)  # the int > 0 check
        length = int(total_steps)
    for layer in find_gradient_reversal_layers(model):
        layer.resolve_total_steps(length)
    return length


# -- the placement check (TensorFlow backend) ----------------------------------------------


def check_placement(
    model: keras.Model,
    losses: Callable[[keras.Model, Any], Mapping[str, Any]],
    batch: Any,
    *,
    thresholds: core.Thresholds = core.DEFAULT_THRESHOLDS,
) -> core.PlacementReport:
    """Where do the model's GRLs sit? One probe forward and backward, no side effects.

    ``losses(model, batch)`` runs the training forward (``model(..., training=True)``) and
    returns ``{"label": L_y, "domain": L_d}`` as the train step adds them, optionally with
    ``"domain_logits"`` and ``"domain_labels"``. Every model variable (weights, λ, step,
    batch-norm statistics, seed generators) holds the same value afterwards.
    """
    if keras.backend.backend() != "tensorflow":
        raise NotImplementedError(
            "grl.keras check_placement runs on the TensorFlow Keras backend; with "
            f"KERAS_BACKEND={keras.backend.backend()!r} use the grl.torch or grl.jax check"
        )
    import tensorflow as tf

    layers = find_gradient_reversal_layers(model)
    saved = [np.array(keras.ops.convert_to_numpy(v.value)) for v in model.variables]
    calls: list[tuple[GradientReversal, Any, Any]] = []
    originals = {}

    def recording(layer: GradientReversal) -> Callable[..., Any]:
        def call(inputs: Any, *args: Any, **kwargs: Any) -> Any:
            output = originals[id(layer)](inputs, *args, **kwargs)
            calls.append((layer, inputs, output))
            return output

        return call

    for layer in layers:
        if _read(layer.lambda_) == 0.0:
            layer.lambda_.assign(core.PROBE_LAMBDA)  # restored below with every variable
        originals[id(layer)] = layer.call
        object.__setattr__(layer, "call", recording(layer))
    try:
        with tf.GradientTape(persistent=True) as tape:
            out = dict(losses(model, batch))
            for _, x, _ in calls:
                tape.watch(x)
            if out.get("domain_logits") is not None and out.get("domain_labels") is not None:
                out["honest"] = _honest_loss(out["domain_logits"], out["domain_labels"], tf)
        probes = _probes(tape, out, calls)
    finally:
        for layer in layers:
            object.__delattr__(layer, "call")
        for variable, value in zip(model.variables, saved, strict=True):
            variable.assign(value)
    return core.placement_report(probes, thresholds.tolerance)


def _probes(tape: Any, out: Mapping[str, Any], calls: list) -> list[core.GradientProbe]:
    for key in ("label", "domain"):
        if key not in out:
            raise KeyError(
                f"losses(model, batch) must return a mapping with 'label' and 'domain'; got "
                f"keys {sorted(out)}"
            )

    def grads(loss: Any, tensors: list[Any]) -> list[np.ndarray]:
        found = tape.gradient(loss, tensors, unconnected_gradients="zero")
        return [np.asarray(g, dtype=np.float64) for g in found]

    weight = None
    if "honest" in out:
        logits = out["domain_logits"]
        (term,), (reference,) = grads(out["domain"], [logits]), grads(out["honest"], [logits])
        size = float(np.vdot(reference, reference))
        weight = float(np.vdot(term, reference)) / size if size else None
    tensors = [t for _, x, r in calls for t in (x, r)]
    domain, label = grads(out["domain"], tensors), grads(out["label"], tensors)
    outputs = [r for _, _, r in calls]
    probes = []
    for i, (layer, x, _) in enumerate(calls):
        at_input, arriving = domain[2 * i], domain[2 * i + 1]
        lambda_ = _read(layer.lambda_)
        probes.append(
            core.GradientProbe(
                lambda_=lambda_,
                domain_arriving=float(np.linalg.norm(arriving)),
                domain_at_input=float(np.linalg.norm(at_input)),
                domain_input_dot=float(np.vdot(at_input, arriving)),
                domain_rest=float(np.linalg.norm(at_input + lambda_ * arriving)),
                label_arriving=float(np.linalg.norm(label[2 * i + 1])),
                fed_by_grl=any(x is r for r in outputs),
                honest_weight=weight,
            )
        )
    return probes


def _honest_loss(logits: Any, labels: Any, tf: Any) -> Any:
    """Binary cross-entropy from one logit per example, else cross-entropy."""
    logits = tf.convert_to_tensor(logits)
    labels = tf.convert_to_tensor(labels)
    if logits.shape.rank == labels.shape.rank + 1 and logits.shape[-1] > 1:
        return tf.reduce_mean(
            tf.nn.sparse_softmax_cross_entropy_with_logits(tf.cast(labels, tf.int64), logits)
        )
    logits = tf.reshape(logits, tf.shape(labels))
    labels = tf.cast(labels, logits.dtype)
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels, logits))
