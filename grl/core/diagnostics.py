"""Diagnostics for domain-adversarial training, written once for every framework.

The failures people hit with a GRL are in its wiring and in whether the adversarial game
works, not in the op. Each framework's monitor (``grl.backends.<framework>.diagnostics``)
records a few numbers per training step; everything that judges them lives here, as pure
functions over host numbers:

* :data:`METRICS`: the names (and meanings) of the recorded numbers, the same everywhere;
* :class:`Thresholds`: when a number means trouble;
* one rule per failure (``*_problem`` functions) returning the warning's text, which names
  the fix, or ``None``;
* :class:`Diagnostics`: the per-run bookkeeping that feeds the rules and warns once per
  failure (:class:`GRLWarning`, through :func:`warnings.warn`);
* :class:`AdvanceWatch`: the counter a scheduled layer keeps to notice that nobody advances it;
* :class:`PlacementReport`: the verdicts of the one-call placement check;
* :func:`resolve_total_steps`: ``total_steps="auto"`` made a number once the trainer knows
  the run length.

Nothing here imports a deep-learning framework.
"""

from __future__ import annotations

import math
import numbers
import warnings
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from grl.core import schedules

__all__ = [
    "LN2",
    "METRICS",
    "AdvanceWatch",
    "Diagnostics",
    "GRLWarning",
    "GradientProbe",
    "PlacementReport",
    "Thresholds",
    "gradient_values",
    "placement_report",
    "resolve_total_steps",
    "step_values",
    "with_total_steps",
]

#: The domain loss (binary cross-entropy, in nats) of a domain classifier that cannot tell
#: the domains apart, and so guesses 1/2.
LN2 = math.log(2.0)

#: What a monitor records per training step (each key is prefixed, ``"grl/step"``, ...).
METRICS: dict[str, str] = {
    "step": "the layer's step when the training step ran (steps taken before it)",
    "lambda": "the λ the training step ran with",
    "grad_in_norm": "L2 norm of the gradient arriving at the GRL (from the domain head)",
    "grad_out_norm": "L2 norm of the gradient the GRL passes on (to the features)",
    "grad_ratio": "grad_out_norm / grad_in_norm: λ for a working GRL",
    "grad_cosine": "cosine between the gradients leaving and arriving: -1 for a working GRL",
    "domain_to_task": (
        "norm of the reversed domain gradient over the norm of the task (label) gradient, "
        "at the shared features"
    ),
    "domain_loss": "domain classifier loss (compare with ln 2 = 0.693: chance)",
    "domain_accuracy": "domain classifier accuracy (compare with 0.5: chance)",
}


def metric_names(prefix: str = "grl") -> tuple[str, ...]:
    return tuple(f"{prefix}/{name}" for name in METRICS)


class GRLWarning(UserWarning):
    """A domain-adversarial training run that is wired wrong or not adapting."""


@dataclass(frozen=True)
class Thresholds:
    """When a recorded number means trouble.

    Attributes:
        advance_within: training passes (forward and backward) a scheduled layer may run
            at step 0 before it is reported as never advanced.
        collapsed_loss: a domain loss below this (nats) means the domain head wins.
        stuck_band: a domain loss within this of ln 2 (nats) means the head learns nothing.
        stretch: consecutive recorded steps a domain-loss condition must hold.
        early_end: a run that ends before this fraction of ``total_steps`` ended far
            before its schedule (the schedule is too long).
        tolerance: relative tolerance when comparing gradients (placement check).
    """

    advance_within: int = 100
    collapsed_loss: float = 0.05
    stuck_band: float = 0.01
    stretch: int = 200
    early_end: float = 0.5
    tolerance: float = 1e-3

    def __post_init__(self) -> None:
        for name in ("advance_within", "stretch"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"Thresholds.{name} must be an int >= 1; got {value!r}")
        for name in ("collapsed_loss", "stuck_band", "early_end", "tolerance"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not 0 < value < math.inf:
                raise ValueError(f"Thresholds.{name} must be a finite number > 0; got {value!r}")


DEFAULT_THRESHOLDS = Thresholds()


# -- the rules: host numbers in, the warning's text (naming the fix) or None out -----------

STEPPING_FIX = (
    "advance it once per training step, after the optimizer update: grl.torch.step_all(model) "
    "(or layer.advance()) in PyTorch / Lightning's on_train_batch_end, "
    "callbacks=[grl.keras.GradientReversalScheduler()] in Keras model.fit, layer.advance() in "
    "Flax NNX, grl.jax.linen.advance(variables) in Linen"
)


def never_advanced_problem(step: int, passes: int, scheduled: bool, within: int) -> str | None:
    """A scheduled layer still at step 0 after ``passes`` training passes."""
    if not scheduled or step != 0 or passes < within:
        return None
    return (
        f"a scheduled GradientReversal is still at step 0 after {passes} training passes, so "
        f"λ stays at schedule(0) (0 for dann/linear schedules) and training is source-only: "
        f"{STEPPING_FIX}"
    )


def no_gradient_problem(forward_passes: int, gradients: int) -> str | None:
    """The GRL ran forward in a training step, but no gradient came back through it."""
    if forward_passes == 0 or gradients > 0:
        return None
    return (
        "no gradient reached the GradientReversal during a training step: its output is not "
        "on the path to the loss, or its input is detached (.detach(), stop_gradient, "
        "no_grad). Feed the domain head with grl(features) and add the domain loss to the "
        "loss you differentiate; check it with check_placement(...)"
    )


def lambda_zero_epoch_problem(lambdas: Sequence[float]) -> str | None:
    """λ was exactly 0 at every recorded step of an epoch."""
    if not lambdas or any(value != 0.0 for value in lambdas):
        return None
    return (
        f"λ was 0 for a whole epoch ({len(lambdas)} steps): the features got no domain "
        "gradient, so this epoch trained source-only. If the layer has a schedule, advance "
        f"it ({STEPPING_FIX}); with a fixed λ, set a positive one"
    )


def past_total_steps_problem(step: int, total_steps: int | None) -> str | None:
    if total_steps is None or step <= total_steps:
        return None
    return (
        f"the layer's step {step} is past its schedule's total_steps={total_steps}: λ has "
        "been flat at its final value since, and the run is longer than the schedule. Build "
        "the schedule with the run's length (total_steps = epochs × steps per epoch, or "
        'total_steps="auto" with the trainer), or advance once per step, not per call'
    )


def ended_early_problem(step: int, total_steps: int | None, early_end: float) -> str | None:
    if total_steps is None or step >= early_end * total_steps:
        return None
    return (
        f"the run ended at step {step}, {step / total_steps:.0%} of the schedule's "
        f"total_steps={total_steps}: λ never got near its final value. Build the schedule "
        'with the run\'s length (epochs × steps per epoch, or total_steps="auto" with the '
        "trainer)"
    )


def reversal_cancelled_problem(cosine: float) -> str | None:
    """The gradient leaving the GRL points the way of the one arriving."""
    if not cosine > 0.0:
        return None
    return (
        f"the gradient leaving the GRL has the sign of the one arriving (cosine {cosine:+.3f}, "
        "-1 expected): the module is not reversing (an identity or a second reversal in its "
        "place). Use grl's GradientReversal once between the features and the domain head"
    )


def domain_collapsed_problem(losses: Sequence[float], thresholds: Thresholds) -> str | None:
    """The domain loss stayed near 0 for ``thresholds.stretch`` steps: the domain head wins."""
    window = losses[-thresholds.stretch :]
    if len(window) < thresholds.stretch or max(window) >= thresholds.collapsed_loss:
        return None
    return (
        f"the domain loss stayed below {thresholds.collapsed_loss} for {len(window)} steps "
        "(chance is ln 2 = 0.693): the domain head separates the domains at will and the "
        "features are not aligning. Raise λ (or its schedule's hi), make the domain head "
        "smaller, or check that the GRL sits between the features and the domain head"
    )


def domain_stuck_problem(losses: Sequence[float], thresholds: Thresholds) -> str | None:
    """The domain loss never left ln 2 for ``thresholds.stretch`` steps: the head learns nothing."""
    window = losses[-thresholds.stretch :]
    if len(window) < thresholds.stretch:
        return None
    if max(abs(value - LN2) for value in window) >= thresholds.stuck_band:
        return None
    return (
        f"the domain loss stayed within {thresholds.stuck_band} of ln 2 = 0.693 for "
        f"{len(window)} steps: the domain head is not learning (chance level). Check that "
        "the domain loss is in the loss you differentiate with a + sign, that the domain "
        "head's parameters are in the optimizer, and lower λ if it is large early on"
    )


# -- warn once -----------------------------------------------------------------------------


def warn(kind: str, message: str, stacklevel: int = 1) -> None:
    """Raise the :class:`GRLWarning` of ``kind`` (its message starts ``[grl: kind]``);
    ``stacklevel`` counts from the caller, as in :func:`warnings.warn`."""
    warnings.warn(f"[grl: {kind}] {message}", GRLWarning, stacklevel=stacklevel + 1)


class WarnOnce:
    """Raises each kind of :class:`GRLWarning` once per owner (a monitor, a layer)."""

    def __init__(self) -> None:
        self.raised: set[str] = set()

    def __call__(self, kind: str, message: str | None, stacklevel: int = 3) -> bool:
        if message is None or kind in self.raised:
            return False
        self.raised.add(kind)
        warn(kind, message, stacklevel)
        return True


class AdvanceWatch:
    """The counter a scheduled layer keeps to notice that it is never advanced.

    The layer holds one (``None`` once advanced, or for a fixed λ) and calls :meth:`count`
    on each training pass while its step is 0: one integer increment, and one comparison.
    After ``within`` passes it warns once, and then costs nothing more (``count`` returns
    ``False`` and the layer drops the watch).
    """

    __slots__ = ("passes", "warned", "within")

    def __init__(self, within: int = DEFAULT_THRESHOLDS.advance_within) -> None:
        self.passes = 0
        self.within = within
        self.warned = False

    def count(self) -> bool:
        """One training pass at step 0; returns True while the watch is still needed."""
        self.passes += 1
        if self.passes < self.within:
            return True
        if not self.warned:
            self.warned = True
            message = never_advanced_problem(0, self.passes, True, self.within)
            warn("never_advanced", message or "", stacklevel=3)
        return False


# -- the per-run bookkeeping ---------------------------------------------------------------


def total_steps_of(schedule: Any) -> int | None:
    """The run length a schedule was built for (any framework's wrapper), or None (also
    for a ``total_steps="auto"`` schedule not resolved yet)."""
    get_config = getattr(schedule, "get_config", None)
    total_steps = None if get_config is None else get_config().get("total_steps")
    return None if total_steps == schedules.AUTO else total_steps


@dataclass
class Diagnostics:
    """What a monitor feeds per training step, and the warnings it raises once.

    A framework's monitor calls :meth:`record` once per training step with host numbers
    (``None`` for what it did not measure), :meth:`end_epoch` and :meth:`end_run`.
    """

    scheduled: bool
    total_steps: int | None
    thresholds: Thresholds = DEFAULT_THRESHOLDS
    warn: WarnOnce = field(default_factory=WarnOnce)
    steps: int = 0
    epoch_lambdas: list[float] = field(default_factory=list)
    domain_losses: list[float] = field(default_factory=list)
    last_step: int = 0
    # Lengths of the current runs of domain losses near 0 and near ln 2: the window checks
    # run only when a run is long enough (a step costs O(1), not O(stretch)).
    collapsed_run: int = 0
    stuck_run: int = 0

    def record(
        self,
        values: Mapping[str, float | None],
        *,
        forward_passes: int = 1,
        gradients: int = 1,
    ) -> list[str]:
        """Judge one training step; returns the kinds of warning raised now."""
        values = {k: None if _is_nan(v) else v for k, v in values.items()}
        self.steps += 1
        step = int(values["step"] or 0)
        self.last_step = step
        lambda_ = values.get("lambda")
        if lambda_ is not None:
            self.epoch_lambdas.append(float(lambda_))
        loss = values.get("domain_loss")
        limits = self.thresholds
        if loss is not None:
            loss = float(loss)
            self.domain_losses.append(loss)
            del self.domain_losses[: -limits.stretch]
            self.collapsed_run = self.collapsed_run + 1 if loss < limits.collapsed_loss else 0
            near = abs(loss - LN2) < limits.stuck_band
            self.stuck_run = self.stuck_run + 1 if near else 0
        cosine = values.get("grad_cosine")
        checks = {
            "never_advanced": never_advanced_problem(
                step, self.steps, self.scheduled, self.thresholds.advance_within
            ),
            "no_gradient": no_gradient_problem(forward_passes, gradients),
            "past_total_steps": past_total_steps_problem(step, self.total_steps),
            "reversal_cancelled": None if cosine is None else reversal_cancelled_problem(cosine),
            "domain_collapsed": self._window_problem(
                "domain_collapsed", self.collapsed_run, domain_collapsed_problem
            ),
            "domain_stuck": self._window_problem(
                "domain_stuck", self.stuck_run, domain_stuck_problem
            ),
        }
        return [kind for kind, message in checks.items() if self.warn(kind, message, 4)]

    def end_epoch(self) -> list[str]:
        lambdas, self.epoch_lambdas = self.epoch_lambdas, []
        if self._never_advanced():
            return []  # the same failure, already reported with its fix
        raised = self.warn("lambda_zero_epoch", lambda_zero_epoch_problem(lambdas), 4)
        return ["lambda_zero_epoch"] if raised else []

    def end_run(self, step: int | None = None) -> list[str]:
        step = self.last_step if step is None else step
        if self._never_advanced():
            return []
        problem = ended_early_problem(step, self.total_steps, self.thresholds.early_end)
        return ["ended_early"] if self.warn("ended_early", problem, 4) else []

    def _window_problem(
        self, kind: str, run: int, problem: Callable[[Sequence[float], Thresholds], str | None]
    ) -> str | None:
        if run < self.thresholds.stretch or kind in self.warn.raised:
            return None
        return problem(self.domain_losses, self.thresholds)

    def _never_advanced(self) -> bool:
        return "never_advanced" in self.warn.raised


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def gradient_values(in_sq: Any, out_sq: Any, dot: Any, task_sq: Any, xp: Any = None) -> dict:
    """The gradient numbers of :data:`METRICS` from the step's sums, NaN where a norm is 0.

    ``in_sq``, ``out_sq``: squared norms of the gradient arriving at the GRL and of the one
    it passes on; ``dot``: their dot product; ``task_sq``: squared norm of the task (label)
    gradient at the shared features (NaN when not measured). Written once against an array
    namespace ``xp`` (``numpy``, the default, on host numbers; ``jax.numpy`` or
    ``keras.ops`` inside a compiled step).

    >>> values = gradient_values(4.0, 1.0, -2.0, 4.0)
    >>> [float(values[k]) for k in ("grad_ratio", "grad_cosine", "domain_to_task")]
    [0.5, -1.0, 0.5]
    """
    import numpy as np

    xp = np if xp is None else xp
    in_norm, out_norm, task = xp.sqrt(in_sq), xp.sqrt(out_sq), xp.sqrt(task_sq)
    both = (in_norm > 0) & (out_norm > 0)
    has_task = task > 0
    return {
        "grad_in_norm": in_norm,
        "grad_out_norm": out_norm,
        "grad_ratio": xp.where(both, out_norm / xp.where(both, in_norm, 1.0), math.nan),
        "grad_cosine": xp.where(both, dot / xp.where(both, in_norm * out_norm, 1.0), math.nan),
        "domain_to_task": xp.where(has_task, out_norm / xp.where(has_task, task, 1.0), math.nan),
    }


class _HostMath:
    """The two array functions :func:`gradient_values` uses, on Python floats: a step's
    numbers come out several times faster than through NumPy's scalar ops."""

    @staticmethod
    def sqrt(x: float) -> float:
        return math.sqrt(x) if x >= 0 else math.nan  # NaN (not measured) stays NaN

    @staticmethod
    def where(condition: bool, a: float, b: float) -> float:
        return a if condition else b


def step_values(
    step: float,
    lambda_: float,
    sums: Sequence[float],
    domain_loss: float = math.nan,
    domain_accuracy: float = math.nan,
) -> dict[str, float]:
    """One step's :data:`METRICS` on the host, from ``sums`` = ``(|in|², |out|², <in, out>,
    |task|²)`` (see :func:`gradient_values`); NaN for what was not measured."""
    parts = [float(s) for s in sums]
    try:
        gradients = gradient_values(*parts, xp=_HostMath)
    except ZeroDivisionError:  # a product of two tiny norms underflowed: NumPy gives inf
        gradients = gradient_values(*parts)
    return {
        "step": float(step),
        "lambda": float(lambda_),
        **{name: float(value) for name, value in gradients.items()},
        "domain_loss": float(domain_loss),
        "domain_accuracy": float(domain_accuracy),
    }


# -- the placement check -------------------------------------------------------------------


@dataclass(frozen=True)
class GradientProbe:
    """Gradients measured at one GRL by a probe backward, as host numbers.

    ``domain_*`` are for the domain term of the loss (as the train step adds it),
    ``label_*`` for the label term; ``*_arriving`` is at the GRL's output, ``*_at_input`` the
    whole gradient at its input (the shared features): through the GRL and any other path.
    ``*_dot`` are dot products with ``domain_arriving``. ``honest_weight`` is the weight of a
    plain domain classification loss inside the domain term (1 expected), when the caller
    gave the domain logits and labels.
    """

    lambda_: float
    domain_arriving: float
    domain_at_input: float
    domain_input_dot: float  # <domain gradient at the input, domain gradient arriving>
    domain_rest: float  # |domain gradient at the input + λ·arriving|: paths around the GRL
    label_arriving: float
    fed_by_grl: bool = False  # this GRL's input is another GRL's output (a chain)
    honest_weight: float | None = None


@dataclass(frozen=True)
class PlacementReport:
    """The verdicts of the placement check (one probe backward, no training side effects)."""

    lambdas: tuple[float, ...]
    domain_reaches_grl: bool
    domain_bypasses_grl: bool
    label_through_grl: bool
    feature_factor: float  # end-to-end factor on the domain gradient at the features
    honest_weight: float | None
    problems: tuple[tuple[str, str], ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def sign_reversed(self) -> bool:
        return self.feature_factor < 0

    def __str__(self) -> str:
        lines = [
            f"GRL placement check: {'OK' if self.ok else f'{len(self.problems)} problem(s)'}",
            f"  GRLs: {len(self.lambdas)}, λ = {', '.join(f'{v:g}' for v in self.lambdas)}",
            f"  domain loss reaches the GRL: {_yes(self.domain_reaches_grl)}",
            f"  domain loss reaches the features around the GRL: "
            f"{_yes(self.domain_bypasses_grl)} (should be no)",
            f"  label loss passes through the GRL: {_yes(self.label_through_grl)} (should be no)",
            f"  end-to-end factor on the domain gradient at the features: "
            f"{self.feature_factor:+.4g} (−λ expected: "
            f"{'reversed' if self.sign_reversed else 'NOT reversed'})",
        ]
        if self.honest_weight is not None:
            lines.append(
                f"  weight of the domain classification loss in the loss: "
                f"{self.honest_weight:+.4g} (1 expected)"
            )
        lines += [f"  - {kind}: {message}" for kind, message in self.problems]
        return "\n".join(lines)

    def raise_if_failed(self) -> None:
        if self.problems:
            raise AssertionError(str(self))


def _yes(flag: bool) -> str:
    return "yes" if flag else "no"


#: The λ a placement probe uses for a GRL whose λ is 0 (which would show no sign).
PROBE_LAMBDA = 1.0


def placement_report(probes: Sequence[GradientProbe], tolerance: float) -> PlacementReport:
    """Judge the probes of every GRL in a model (one per GRL call seen by the probe)."""
    if not probes:
        return PlacementReport((), False, False, False, math.nan, None, (("no_grl", NO_GRL),))
    on_path = [probe for probe in probes if probe.domain_arriving > 0.0]
    reaches = bool(on_path)
    bypasses = any(_bypasses(probe, tolerance) for probe in on_path)
    label_through = any(probe.label_arriving > 0.0 for probe in probes)
    features = [probe for probe in on_path if not probe.fed_by_grl] or on_path
    factor = math.nan
    weight = next((p.honest_weight for p in probes if p.honest_weight is not None), None)
    if features:
        # The factor of the GRL on the features, times that of each GRL chained after it
        # (each reverses the gradient again before it arrives), times the loss's own weight.
        factor = _factor(features[0]) * math.prod(_factor(p) for p in on_path if p.fed_by_grl)
        if weight is not None:
            factor *= weight
    problems = []
    if not reaches:
        problems.append(("domain_not_through_grl", DOMAIN_NOT_THROUGH))
    if bypasses:
        problems.append(("domain_bypasses_grl", DOMAIN_BYPASSES))
    if label_through:
        problems.append(("label_through_grl", LABEL_THROUGH))
    if reaches and not bypasses and not factor < 0:  # a bypass is reported as the cause
        problems.append(("reversal_cancelled", REVERSAL_CANCELLED.format(factor=factor)))
    if weight is not None and reaches and _lambda_twice(weight, probes):
        problems.append(("lambda_applied_twice", LAMBDA_TWICE.format(weight=weight)))
    return PlacementReport(
        tuple(probe.lambda_ for probe in probes),
        reaches,
        bypasses,
        label_through,
        factor,
        weight,
        tuple(problems),
    )


def _factor(probe: GradientProbe) -> float:
    """What the GRL multiplies the arriving gradient by, as seen at its input (−λ)."""
    return probe.domain_input_dot / probe.domain_arriving**2


def _bypasses(probe: GradientProbe, tolerance: float) -> bool:
    # Through the GRL alone, the gradient at its input is exactly −λ·(arriving).
    return probe.domain_rest > tolerance * max(probe.domain_at_input, probe.domain_arriving)


def _lambda_twice(weight: float, probes: Iterable[GradientProbe]) -> bool:
    """The domain term weighs the classification loss by a GRL's λ (λ ≠ 1)."""
    return any(
        abs(probe.lambda_ - 1.0) > 0.05 and abs(weight - probe.lambda_) <= 0.05 * probe.lambda_
        for probe in probes
    )


NO_GRL = (
    "the model contains no GradientReversal layer (or the probe never called it): add one "
    "between the features and the domain head"
)
DOMAIN_NOT_THROUGH = (
    "the domain loss's gradient does not reach any GRL: the GRL is detached, not on the "
    "path to the domain loss, or the domain head reads the features directly. Feed the "
    "domain head with grl(features), and do not detach its input"
)
DOMAIN_BYPASSES = (
    "the domain loss also reaches the shared features around the GRL (a second path that "
    "is not reversed): the features partly help the domain head. Make grl(features) the "
    "domain head's only input from the features"
)
LABEL_THROUGH = (
    "the label loss's gradient passes through the GRL, so the label head's gradient is "
    "reversed too and the features un-learn the task. Put the GRL on the domain branch "
    "only: label_head(features), domain_head(grl(features))"
)
REVERSAL_CANCELLED = (
    "the domain gradient at the features is not reversed end to end (factor {factor:+.4g}, "
    "−λ expected): a second reversal cancels the GRL (a second GRL, or the JMLR-style "
    "loss L_y − λ·L_d used together with a GRL). With grl, add the domain loss: L_y + L_d"
)
LAMBDA_TWICE = (
    "the domain loss enters the loss with weight {weight:.4g} while the GRL applies λ too: "
    "λ is applied twice (the JMLR form L_y + λ·L_d plus a GRL with λ). With grl, λ lives in "
    "the layer: add the domain loss with weight 1"
)


# -- total_steps="auto" --------------------------------------------------------------------

AUTO = "auto"


#: The fix when a trainer cannot tell the run length.
UNKNOWN_LENGTH_FIX = (
    "Build the schedule with total_steps=<number of training steps>, or give the "
    "trainer a length (max_steps, steps_per_epoch)"
)


def resolve_total_steps(known: Any, source: str, fix: str = UNKNOWN_LENGTH_FIX) -> int:
    """The run length a trainer reports, as ``total_steps`` (or a clear error).

    ``known`` is what ``source`` (e.g. ``"trainer.estimated_stepping_batches"``) gave:
    an int > 0; ``None``, ``inf`` or anything else means the trainer cannot know it, and
    the error names ``fix``.
    """
    if isinstance(known, float) and known.is_integer():
        known = int(known)
    if isinstance(known, bool) or not isinstance(known, numbers.Integral) or known <= 0:
        raise ValueError(
            f'total_steps="auto" needs the run length, but {source} is {known!r} (the trainer '
            "cannot know it: an iterable dataset without a length, or no max_steps/epochs). "
            f"{fix}"
        )
    return int(known)


def with_total_steps(schedule_config: Mapping[str, Any], total_steps: int) -> schedules.Schedule:
    """The schedule of ``schedule_config`` (``total_steps`` possibly ``"auto"``) with the
    run length filled in."""
    config = dict(schedule_config)
    if "total_steps" in config:
        config["total_steps"] = total_steps
    return schedules.from_config(config)
