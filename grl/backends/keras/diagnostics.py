"""Diagnostics for domain-adversarial training in Keras (the rules: :mod:`grl.core.diagnostics`).

* :class:`Monitor`: a callback that puts the monitor's numbers into ``logs`` (so into
  ``History`` and TensorBoard) and raises the warnings.
* :func:`check_placement`: one probe forward and backward that reports where the GRL sits,
  with no training side effects (TensorFlow backend).
* :func:`total_steps_from_params`: ``total_steps="auto"`` as ``epochs × steps_per_epoch``;
  :func:`resolve_total_steps` gives every ``"auto"`` GRL of a model its run length (the
  scheduler callback does it at the start of ``fit``).

The gradient numbers need to see inside the compiled train step: on the TensorFlow backend
the monitor wraps the layer's ``call`` (and the shared features layer's) during ``fit`` with
identity taps whose gradient functions add the step's sums to a variable, and the model's
``train_step`` with one that turns them (with step and λ) into the monitor's numbers, which
come back with the step's other logs: no host read of its own per batch. On the JAX and
PyTorch Keras backends a gradient function cannot write state, and those numbers are NaN;
step, λ, the domain loss and the warnings work on every backend.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import keras
import numpy as np

from grl.backends.keras import internals
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

# What the taps add up in one training step: |in|², |out|², <in, out>, |task|², gradients.
_SUMS = 5
#: The numbers the train step computes (the domain loss and accuracy come from the logs).
_IN_STEP = ("step", "lambda", *core.gradient_values(1.0, 1.0, -1.0, 1.0))


def _read(variable: Any) -> float:
    """A Keras variable's value on the host. On TensorFlow through its ``tf.Variable``'s
    ``value()``: one eager op, where the Keras variable's ``.numpy()`` takes two."""
    read = getattr(variable.value, "value", None)  # absent: JAX, torch, an autocast tensor
    return float(read().numpy() if callable(read) else variable.numpy())


def _feeding_layer(layer: GradientReversal) -> keras.layers.Layer | None:
    """The layer whose output the GRL takes in a functional model (the shared features)."""
    nodes = getattr(layer, "_inbound_nodes", None) or []
    producers = set()
    for node in nodes:
        for tensor in getattr(node, "input_tensors", ()):
            history = getattr(tensor, "_keras_history", None)
            producers.add(None if history is None else history.operation)
    (producer,) = producers if len(producers) == 1 else (None,)
    if isinstance(producer, keras.layers.Layer) and not isinstance(
        producer, keras.layers.InputLayer
    ):
        return producer
    return None


class _GraphMath:
    """The two array functions :func:`grl.core.diagnostics.gradient_values` uses, as plain
    TensorFlow ops on float64 scalars (``keras.ops`` adds casts: twice the ops per step)."""

    @staticmethod
    def sqrt(x: Any) -> Any:
        import tensorflow as tf

        return tf.sqrt(x)

    @staticmethod
    def where(condition: Any, a: Any, b: Any) -> Any:
        import tensorflow as tf

        return tf.where(condition, a, tf.constant(b, tf.float64))


class _Taps:
    """Identity taps around one GRL (and the shared features) inside ``fit``'s train step.

    Their gradient functions add the step's sums to a variable; the model's ``train_step``,
    wrapped, zeroes it first and returns the numbers made from it with its logs. The GRL
    takes the features layer's own output and every other consumer takes the tapped copy,
    so the features tap sees exactly the task gradient: no subtraction, no recomputed
    reversal (the whole gradient at the features is unchanged).
    """

    def __init__(self, model: keras.Model, layer: GradientReversal, features: Any, prefix: str):
        import tensorflow as tf

        self.tf = tf
        self.model, self.layer, self.features, self.prefix = model, layer, features, prefix
        self.sums = tf.Variable(tf.zeros(_SUMS, tf.float64), trainable=False)
        self.originals = [layer] if features is None else [layer, features]
        self.calls = {id(owner): owner.call for owner in self.originals}
        self.untapped: list[tuple[Any, Any]] = []  # (tapped features, the layer's own output)

    @property
    def owners(self) -> tuple[keras.Model, GradientReversal, Any]:
        return self.model, self.layer, self.features

    def install(self) -> None:
        self.untapped.clear()
        object.__setattr__(self.layer, "call", self.call)
        if self.features is not None:
            object.__setattr__(self.features, "call", self.features_call)
        object.__setattr__(self.model, "train_step", self.train_step)

    def remove(self) -> None:
        for owner in [*self.originals, self.model]:
            for name in ("call", "train_step"):
                if name in owner.__dict__:
                    object.__delattr__(owner, name)

    def train_step(self, data: Any) -> dict[str, Any]:
        """Keras' train step, with the monitor's numbers of this step added to its logs
        (Keras copies them to the host with the rest: the callback reads no variable)."""
        tf = self.tf
        self.sums.assign(tf.zeros(_SUMS, tf.float64))
        logs = type(self.model).train_step(self.model, data)
        sums = self.sums.value()
        # No gradient reached the GRL: its numbers are NaN.
        parts = tf.where(sums[4] > 0, sums[:4], tf.constant(math.nan, tf.float64))
        values = {
            "step": tf.cast(self.layer.step.value, tf.float64),
            "lambda": tf.cast(self.layer.lambda_.value, tf.float64),
            **core.gradient_values(*tf.unstack(parts), xp=_GraphMath),
        }
        return {**logs, **{f"{self.prefix}/{name}": value for name, value in values.items()}}

    def gradients(self) -> int:
        """How many gradients reached the GRL in the last step (one host read)."""
        return int(self.sums.value()[4].numpy())

    def _add(self, values: list[Any]) -> Any:
        """Add ``_SUMS`` values to the step's sums."""
        tf = self.tf
        return self.sums.assign_add(tf.stack([tf.cast(value, tf.float64) for value in values]))

    def call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        tf = self.tf
        inputs = next((own for tapped, own in self.untapped if tapped is inputs), inputs)
        if type(self.layer).call is GradientReversal.call:
            return self._contracted_call(inputs, *args, **kwargs)
        arriving_box: list[Any] = []

        @tf.custom_gradient
        def after(r: Any) -> Any:
            def grad(arriving: Any) -> Any:
                arriving_box.append(arriving)
                return tf.identity(arriving)

            return tf.identity(r), grad

        @tf.custom_gradient
        def before(x: Any) -> Any:
            def grad(passed: Any) -> Any:
                a = self._summable(arriving_box.pop() if arriving_box else tf.zeros_like(passed))
                # |a|², |p|² and <a, p> in one product: [a; p] [a; p]ᴴ.
                both = tf.reshape(tf.stack([a, tf.cast(passed, a.dtype)]), [2, -1])
                gram = tf.math.real(tf.matmul(both, both, adjoint_b=True))
                self._add([gram[0, 0], gram[1, 1], gram[0, 1], 0.0, 1.0])
                return tf.identity(passed)

            return tf.identity(x), grad

        return after(self.calls[id(self.layer)](before(inputs), *args, **kwargs))

    def _summable(self, x: Any) -> Any:
        """Half precision widened to float32 for the sums (a float16 sum of squares passes
        65504 at once); complex kept complex."""
        tf = self.tf
        return tf.cast(x, tf.float32) if x.dtype in (tf.float16, tf.bfloat16) else x

    def _squared_norm(self, x: Any) -> Any:
        """|x|² as float64, real also for a complex ``x``."""
        tf, x = self.tf, self._summable(x)
        if x.dtype.is_complex:
            return tf.cast(tf.math.real(tf.reduce_sum(x * tf.math.conj(x))), tf.float64)
        # l2_loss = Σx²/2 in one pass (a product and a sum take two).
        return 2 * tf.cast(tf.nn.l2_loss(x), tf.float64)

    def _contracted_call(self, inputs: Any, *args: Any, **kwargs: Any) -> Any:
        """grl's own layer: what it passes on is ``cast(−λ) · arriving``, bit for bit (the
        op's contract, held by the conformance suite), so one tap on the gradient arriving
        measures both (the generic path, for a layer whose ``call`` is overridden, taps the
        gradient passed on too)."""
        from grl.backends.tf.ops import cast_negated_lambda

        tf = self.tf
        factor = cast_negated_lambda(self.layer.lambda_.value, inputs.dtype)  # the forward's λ

        @tf.custom_gradient
        def after(r: Any) -> Any:
            def grad(arriving: Any) -> Any:
                in_sq = self._squared_norm(arriving)
                f = tf.cast(tf.math.real(factor), tf.float64)
                self._add([in_sq, f * f * in_sq, f * in_sq, 0.0, 1.0])
                return tf.identity(arriving)

            return tf.identity(r), grad

        return after(self.calls[id(self.layer)](inputs, *args, **kwargs))

    def features_call(self, *args: Any, **kwargs: Any) -> Any:
        tf = self.tf
        output = self.calls[id(self.features)](*args, **kwargs)
        if not tf.is_tensor(output):
            return output

        @tf.custom_gradient
        def tap(f: Any) -> Any:
            def grad(task: Any) -> Any:
                # Every consumer's gradient but the GRL's: the GRL takes `output` itself.
                self._add([0.0, 0.0, 0.0, self._squared_norm(task), 0.0])
                return tf.identity(task)

            return tf.identity(f), grad

        tapped = tap(output)
        self.untapped.append((tapped, output))
        return tapped


class Monitor(keras.callbacks.Callback):
    """Puts the monitor's numbers (``grl/step``, ``grl/lambda``, ...) into the training logs.

    Args:
        layer: the :class:`GradientReversal` to watch (default: the model's only one).
        domain_loss, domain_accuracy: keys of the logs that hold the domain head's loss and
            accuracy (e.g. ``"domain_loss"`` for an output named ``domain``); their values
            become ``grl/domain_loss`` and ``grl/domain_accuracy``.
        features: the layer whose output is the shared features (the GRL's input), for
            ``domain_to_task`` (default: in a functional model, the layer that feeds the GRL).
        prefix: the prefix of the keys (``"grl"``).
        thresholds: when a number means trouble (:class:`grl.core.diagnostics.Thresholds`).

    Per batch the numbers land in the batch ``logs``; per epoch their last values land in
    the epoch ``logs``, so ``History`` and ``TensorBoard`` record them. ``step`` and λ are
    the ones the batch trained with (before the scheduler advances the layer). On the
    TensorFlow backend the train step computes them with the gradient numbers and returns
    them with its logs; on the other backends the callback reads step and λ as a batch
    begins.
    """

    covers_never_advanced = True  # no default watch beside the monitor

    def __init__(
        self,
        layer: GradientReversal | None = None,
        *,
        domain_loss: str | None = None,
        domain_accuracy: str | None = None,
        features: keras.layers.Layer | None = None,
        prefix: str = "grl",
        thresholds: core.Thresholds = core.DEFAULT_THRESHOLDS,
    ) -> None:
        super().__init__()
        self.layer = layer
        self.features = features
        self.keys = {"domain_loss": domain_loss, "domain_accuracy": domain_accuracy}
        self.prefix = prefix
        self.thresholds = thresholds
        self.last: dict[str, float] = {}
        self._taps: _Taps | None = None
        self._traced: Any = None  # the train function traced with the taps
        self._untapped: Any = None  # the model's train function before this fit
        self._state = (math.nan, math.nan)  # step and λ read as the batch began (no taps)
        self._layer_watch: core.AdvanceWatch | None = None

    def on_train_begin(self, logs: Mapping[str, Any] | None = None) -> None:
        if self.layer is None:
            layers = find_gradient_reversal_layers(self.model)
            if len(layers) != 1:
                raise ValueError(
                    f"Monitor needs layer=... when the model has {len(layers)} "
                    "GradientReversal layers (one monitor per layer)"
                )
            self.layer = layers[0]
        # The monitor judges never_advanced itself: the layer's eager watch waits (it is
        # back after the fit if the layer is still at step 0).
        self._layer_watch, self.layer._advance_watch = self.layer._advance_watch, None
        schedule = self.layer.schedule
        self.diagnostics = core.Diagnostics(
            scheduled=schedule is not None,
            total_steps=core.total_steps_of(schedule),
            thresholds=self.thresholds,
        )
        if keras.backend.backend() == "tensorflow":
            features = self.features or _feeding_layer(self.layer)
            owners = (self.model, self.layer, features)
            if self._taps is None or self._taps.owners != owners:
                self._taps, self._traced = _Taps(*owners, self.prefix), None
            self._taps.install()
            self._untapped = self.model.train_function
            if self._traced is None:
                # Traced at its first call, with the taps (once: later fits with this
                # monitor reuse it).
                self.model.make_train_function(force=True)
                self._traced = self.model.train_function
            self.model.train_function = self._traced

    def on_train_batch_begin(self, batch: int, logs: Mapping[str, Any] | None = None) -> None:
        if self._taps is None:
            internals.sync_jax_state(self.model)  # JAX's fit empties variables between syncs
            self._state = (_read(self.layer.step), _read(self.layer.lambda_))

    def on_train_batch_end(self, batch: int, logs: dict[str, Any] | None = None) -> None:
        if self.diagnostics.total_steps is None and self.layer.schedule is not None:
            # A total_steps="auto" schedule resolved after on_train_begin read it.
            self.diagnostics.total_steps = core.total_steps_of(self.layer.schedule)
        logs = {} if logs is None else logs
        domain = {name: _log_value(logs, key) for name, key in self.keys.items()}
        gradients = 1
        if self._taps is None:
            values = core.step_values(*self._state, [math.nan] * 4, **domain)
        else:
            values = {name: float(logs[f"{self.prefix}/{name}"]) for name in _IN_STEP}
            values.update(domain)
            if math.isnan(values["grad_in_norm"]):  # no gradient, or a NaN gradient
                gradients = self._taps.gradients()
        self.diagnostics.record(values, gradients=gradients)
        self.last = {f"{self.prefix}/{name}": value for name, value in values.items()}
        logs.update(self.last)

    def on_epoch_end(self, epoch: int, logs: dict[str, Any] | None = None) -> None:
        self.diagnostics.end_epoch()
        if logs is not None:
            logs.update(self.last)

    def on_train_end(self, logs: Mapping[str, Any] | None = None) -> None:
        if self._taps is not None:
            # The model gets back its own train step and train function (a later fit
            # without the monitor runs no tap and logs no monitor numbers).
            self._taps.remove()
            self.model.train_function = self._untapped
        step = int(_read(self.layer.step))
        if step == 0 and self.layer._advance_watch is None:
            self.layer._advance_watch = self._layer_watch
        self.diagnostics.end_run(step)


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
        size = float(np.vdot(reference, reference).real)
        weight = float(np.vdot(term, reference).real) / size if size else None
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
                domain_input_dot=float(np.vdot(at_input, arriving).real),
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
