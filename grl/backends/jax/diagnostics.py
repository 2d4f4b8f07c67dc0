"""Diagnostics for domain-adversarial training in JAX (the rules: :mod:`grl.core.diagnostics`).

* :func:`reversal_metrics`: a pure function returning the monitor's numbers as a pytree of
  0-d arrays; it works inside ``jit`` (and ``nnx.jit``). :func:`nnx_metrics` reads λ and
  the step from a Flax NNX layer.
* :class:`Monitor`: takes those metrics on the host once per step and raises the warnings.
* :func:`check_placement`: one probe of a Flax NNX model that reports where its GRLs sit,
  with no side effects (the model is split, probed on copies, never touched).
* :func:`resolve_total_steps`: gives every ``total_steps="auto"`` GRL of a Flax NNX model
  its run length (Linen: :func:`grl.jax.linen.resolve_total_steps` over the variables).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from grl.backends.jax.ops import gradient_reversal
from grl.core import diagnostics as core

__all__ = [
    "GRLWarning",
    "Monitor",
    "Thresholds",
    "check_placement",
    "nnx_metrics",
    "resolve_total_steps",
    "reversal_metrics",
]

GRLWarning = core.GRLWarning
Thresholds = core.Thresholds


def _summable(x: jax.Array) -> jax.Array:
    """Half precision widened to float32 for the sums; complex kept complex."""
    return x if jnp.iscomplexobj(x) else x.astype(jnp.promote_types(x.dtype, jnp.float32))


def _dot(a: Any, b: Any) -> jax.Array:
    """Re ⟨a, b⟩ over two pytrees (``a`` conjugated: ``_dot(x, x)`` is |x|², complex too)."""
    pairs = zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    parts = (jnp.real(jnp.vdot(_summable(x), _summable(y))).astype(jnp.float32) for x, y in pairs)
    return sum(parts, jnp.float32(0))


def _sum_squares(tree: Any) -> jax.Array:
    return _dot(tree, tree)


def domain_loss_and_accuracy(logits: jax.Array, labels: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Binary cross-entropy (one logit per example) or cross-entropy, and accuracy."""
    if logits.ndim == labels.ndim + 1 and logits.shape[-1] > 1:
        labels = labels.astype(jnp.int32)
        log_p = jax.nn.log_softmax(logits)
        loss = -jnp.mean(jnp.take_along_axis(log_p, labels[..., None], axis=-1))
        return loss, jnp.mean(jnp.argmax(logits, -1) == labels)
    logits = logits.reshape(labels.shape)
    labels = labels.astype(logits.dtype)
    loss = jnp.mean(jnp.logaddexp(0.0, logits) - labels * logits)
    return loss, jnp.mean((logits > 0).astype(labels.dtype) == labels)


def reversal_metrics(
    domain_head_loss: Callable[[Any], jax.Array],
    features: Any,
    lambda_: Any,
    step: Any,
    *,
    label_loss: Callable[[Any], jax.Array] | None = None,
    domain_logits: jax.Array | None = None,
    domain_labels: jax.Array | None = None,
    reversal: Callable[[Any, Any], Any] = gradient_reversal,
    prefix: str = "grl",
) -> dict[str, jax.Array]:
    """The monitor's numbers for one step: a pure function, fine inside ``jit``.

    Args:
        domain_head_loss: the domain head and its loss as a function of the GRL's output
            (``lambda r: bce(domain_head(params, r), domains)``).
        features: the shared features (the GRL's input).
        lambda_: the GRL's λ; step: its step.
        label_loss: the label head and loss as a function of the features, for
            ``domain_to_task``.
        domain_logits, domain_labels: for ``domain_loss`` and ``domain_accuracy``.
        reversal: the GRL function ``(x, λ) -> R_λ(x)`` (to watch another one).

    The gradient arriving at the GRL is ``grad(domain_head_loss)`` at ``features``; the one
    it passes on is measured through ``reversal`` (:func:`grl.jax.gradient_reversal`). That is one
    more backward pass through the domain head (the features are not differentiated again).
    """
    reversed_, pull_back = jax.vjp(lambda f: reversal(f, lambda_), features)
    arriving = jax.grad(domain_head_loss)(reversed_)
    (leaving,) = pull_back(arriving)
    task_sq = jnp.float32(jnp.nan)
    if label_loss is not None:
        task_sq = _sum_squares(jax.grad(label_loss)(features))
    loss = accuracy = jnp.float32(jnp.nan)
    if domain_logits is not None and domain_labels is not None:
        loss, accuracy = domain_loss_and_accuracy(
            jax.lax.stop_gradient(domain_logits), domain_labels
        )
    gradients = core.gradient_values(
        _sum_squares(arriving), _sum_squares(leaving), _dot(arriving, leaving), task_sq, xp=jnp
    )
    values = {
        "step": jnp.asarray(step, jnp.float32),
        "lambda": jnp.asarray(lambda_, jnp.float32),
        **gradients,
        "domain_loss": jnp.asarray(loss, jnp.float32),
        "domain_accuracy": jnp.asarray(accuracy, jnp.float32),
    }
    return {f"{prefix}/{name}": value for name, value in values.items()}


def nnx_metrics(
    layer: Any, domain_head_loss: Callable[[Any], jax.Array], features: Any, **options: Any
) -> dict[str, jax.Array]:
    """:func:`reversal_metrics` with λ and the step read from a Flax NNX ``GradientReversal``."""
    return reversal_metrics(
        domain_head_loss, features, layer.lambda_[...], layer.step[...], **options
    )


class Monitor:
    """Judges the metrics of each step on the host and raises the warnings (once each).

    Args:
        schedule: the GRL's schedule (``layer.schedule``) or ``None`` for a fixed λ.
        prefix: the prefix of the metric keys.
        thresholds: when a number means trouble.

    Call :meth:`update` with each step's metrics (outside ``jit``; one device-to-host
    copy), :meth:`end_epoch` and :meth:`end_run` at the ends. Returns host floats, for a
    logger.
    """

    def __init__(
        self,
        schedule: Any = None,
        *,
        prefix: str = "grl",
        thresholds: core.Thresholds = core.DEFAULT_THRESHOLDS,
    ) -> None:
        self.prefix = prefix
        self.diagnostics = core.Diagnostics(
            scheduled=schedule is not None,
            total_steps=core.total_steps_of(schedule),
            thresholds=thresholds,
        )

    def update(self, metrics: Mapping[str, Any]) -> dict[str, float]:
        host = {key: float(value) for key, value in jax.device_get(dict(metrics)).items()}
        values = {name: host.get(f"{self.prefix}/{name}", math.nan) for name in core.METRICS}
        gradients = 0 if values["grad_in_norm"] == 0.0 else 1
        self.diagnostics.record(values, forward_passes=1, gradients=gradients)
        return host

    def end_epoch(self) -> None:
        self.diagnostics.end_epoch()

    def end_run(self) -> None:
        self.diagnostics.end_run()


# -- the placement check (Flax NNX) --------------------------------------------------------


class _Probe:
    """What the probing GRLs read and write during one traced call of the losses."""

    def __init__(self, d_in: list | None, d_out: list | None, block: bool) -> None:
        self.d_in, self.d_out, self.block = d_in, d_out, block
        self.calls: list[tuple[Any, Any, float, bool]] = []  # (input, output, λ, fed by a GRL)


_ACTIVE: list[_Probe] = []


def _probing_class(base: type) -> type:
    class Probing(base):  # type: ignore[misc, valid-type]
        def __call__(self, x: Any) -> Any:
            probe = _ACTIVE[-1]
            index = len(probe.calls)
            lambda_ = float(self.lambda_[...]) or core.PROBE_LAMBDA
            inner = jax.lax.stop_gradient(x) if probe.block else x
            if probe.d_in is not None:
                inner = inner + probe.d_in[index]
            output = gradient_reversal(inner, lambda_)
            if probe.d_out is not None:
                output = output + probe.d_out[index]
            fed = any(x is earlier for _, earlier, _, _ in probe.calls)
            probe.calls.append((x, output, lambda_, fed))
            return output

    return Probing


def check_placement(
    model: Any,
    losses: Callable[[Any, Any], Mapping[str, jax.Array]],
    batch: Any,
    *,
    thresholds: core.Thresholds = core.DEFAULT_THRESHOLDS,
) -> core.PlacementReport:
    """Where do a Flax NNX model's GRLs sit? A probe with no side effects.

    ``losses(model, batch)`` runs the training forward and returns ``{"label": L_y,
    "domain": L_d}`` as the train step adds them, optionally with ``"domain_logits"`` and
    ``"domain_labels"``. The model is split into its parameters and state; every probe
    runs on a merged copy, so the model (parameters, λ, step, batch statistics, RNG
    streams) is never changed. The gradient at each GRL's output is measured by adding a
    zero there; paths around the GRL by differentiating the parameters with the GRL's path
    blocked. A GRL whose λ is 0 is probed with λ = 1.
    """
    from flax import nnx

    from grl.backends.jax.nnx import GradientReversal

    graphdef, params, rest = nnx.split(model, nnx.Param, ...)

    def run(p: Any, d_in: list | None, d_out: list | None, block: bool = False) -> tuple:
        copy = nnx.merge(graphdef, p, rest, copy=True)
        for _, node in nnx.iter_graph(copy):
            if isinstance(node, GradientReversal):
                node.__class__ = _probing_class(type(node))
        probe = _Probe(d_in, d_out, block)
        _ACTIVE.append(probe)
        try:
            out = dict(losses(copy, batch))
        finally:
            _ACTIVE.pop()
        for key in ("label", "domain"):
            if key not in out:
                raise KeyError(
                    f"losses(model, batch) must return a mapping with 'label' and 'domain'; "
                    f"got keys {sorted(out)}"
                )
        if out.get("domain_logits") is not None and out.get("domain_labels") is not None:
            out["honest"] = domain_loss_and_accuracy(out["domain_logits"], out["domain_labels"])[0]
        return out, probe.calls

    _, calls = run(params, None, None)
    zeros = [jnp.zeros_like(output) for _, output, _, _ in calls]
    if not calls:
        return core.placement_report([], thresholds.tolerance)

    def term(name: str, block: bool = False) -> Callable[..., jax.Array]:
        return lambda p, d_in, d_out: run(p, d_in, d_out, block)[0][name]

    grad = jax.grad(term("domain"), argnums=(0, 1, 2))
    g_params, leaving, arriving = grad(params, zeros, zeros)
    _, _, label_arriving = jax.grad(term("label"), argnums=(0, 1, 2))(params, zeros, zeros)
    blocked, _, _ = jax.grad(term("domain", block=True), argnums=(0, 1, 2))(params, zeros, zeros)
    out, traced = run(params, None, zeros)  # a zero added: each output is a new array
    weight = None
    if "honest" in out:
        g_honest, _, _ = jax.grad(term("honest"), argnums=(0, 1, 2))(params, zeros, zeros)
        size = float(_dot(g_honest, g_honest))
        weight = float(_dot(g_params, g_honest)) / size if size else None
    # Paths around the GRL: parameters that the GRL's path reaches, still reached with it
    # blocked.
    pairs = [
        (_host(a), _host(b))
        for a, b in zip(jax.tree.leaves(g_params), jax.tree.leaves(blocked), strict=True)
    ]
    via_norm = math.sqrt(sum(float(np.sum(np.abs(a - b) ** 2)) for a, b in pairs))
    rest_norm = math.sqrt(sum(float(np.sum(np.abs(np.where(a != b, b, 0)) ** 2)) for a, b in pairs))
    probes = []
    for i, (_, _, lambda_, fed) in enumerate(traced):
        a, leave = _host(arriving[i]), _host(leaving[i])
        probes.append(
            core.GradientProbe(
                lambda_=lambda_,
                # A gradient that reaches no parameter through the GRL (its input detached)
                # did not reach the features: as if none arrived.
                domain_arriving=float(np.linalg.norm(a)) if via_norm else 0.0,
                domain_at_input=max(via_norm, float(np.linalg.norm(leave))),
                domain_input_dot=float(np.vdot(leave, a).real),
                domain_rest=rest_norm,
                label_arriving=float(np.linalg.norm(np.asarray(label_arriving[i]))),
                fed_by_grl=fed,
                honest_weight=weight,
            )
        )
    return core.placement_report(probes, thresholds.tolerance)


def _host(x: Any) -> np.ndarray:
    """A float64 (or complex128) NumPy copy, for the probe's host numbers."""
    x = np.asarray(x)
    return x.astype(np.complex128 if np.iscomplexobj(x) else np.float64)


def resolve_total_steps(model: Any, total_steps: int) -> int:
    """Give every ``total_steps="auto"`` GRL in the Flax NNX ``model`` its run length (an
    int > 0), outside ``jit``; returns it. GRLs with a fixed λ or a schedule that has its
    length are left as they are. (Linen keeps the length with its variables:
    ``variables = grl.jax.linen.resolve_total_steps(variables, n)``.)"""
    from flax import nnx

    from grl.backends.jax.nnx import GradientReversal

    core.schedules._total_steps(total_steps, auto=False)  # the int > 0 check, before any change
    for _, node in nnx.iter_graph(model):
        if isinstance(node, GradientReversal):
            node.resolve_total_steps(total_steps)
    return int(total_steps)
