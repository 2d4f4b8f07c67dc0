"""The demo's use of grl's diagnostics monitor (docs/diagnostics.md), shared by every backend.

The run whose figures are drawn records, every ``every`` training steps, the monitor's
numbers (:data:`grl.core.diagnostics.METRICS`: λ, the gradient norms arriving at and leaving
the GRL, their ratio, ``domain_to_task`` at the shared features, the domain loss and
accuracy):

* DANN: the GRL of the training step itself, on the step's batch and weights;
* source only: the run has no adversary, so it gets a *probe*: its own copy of the domain
  head (DANN's initial weights, DANN's SGD rule and learning rate), trained every step on
  the same source + target batches as DANN's, behind a GRL with λ = 0 on detached
  features. Nothing reaches the features (``grad_out_norm`` and ``domain_to_task`` are 0),
  and the label path is computed exactly as without it: the curve shows what a domain
  classifier sees in features that nobody aligns.

Recording never changes a run's numbers (``tests/demo/test_monitor.py`` checks that the
losses are bit-identical with and without it). Each backend records through its own
monitor: torch ``grl.backends.torch.diagnostics.Monitor`` (hooks), JAX
``grl.backends.jax.diagnostics.reversal_metrics`` and ``Monitor``; the TF trainer is a
``tf.function`` loop, not ``keras.Model.fit``, so the Keras callback does not apply and it
feeds :class:`grl.core.diagnostics.Diagnostics` (the rules every monitor shares) directly.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from grl.core import diagnostics as core
from grl.demo.experiments import Layer

#: How many points each monitored run records at most (one every steps // RECORDS steps).
RECORDS = 300


def interval(steps: int) -> int:
    """Record every ``interval(steps)`` training steps: at most :data:`RECORDS` points."""
    return max(1, steps // RECORDS)


def thresholds(every: int) -> core.Thresholds:
    """The default thresholds with ``stretch`` counted in recorded steps, so that a
    domain-loss warning still means 200 training steps."""
    return core.Thresholds(stretch=max(1, core.DEFAULT_THRESHOLDS.stretch // every))


def check_every(every: Any) -> int:
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(
            f"monitor_every must be an int >= 1 (record every that many steps) or None "
            f"(no monitor); got {every!r}"
        )
    return every


def head_keys(layers: Sequence[Layer]) -> list[str]:
    """The :func:`grl.demo.experiments.init_params` keys of ``layers`` (e.g. the domain head)."""
    return [f"{layer[1]}.{p}" for layer in layers if layer[0] in ("dense", "conv") for p in "wb"]


@dataclass
class MonitorLog:
    """The numbers a trainer's monitor recorded, and the kinds of warning it raised.

    The monitor's warnings (:class:`grl.core.diagnostics.GRLWarning`) are kept here instead
    of printed: a source-only probe is *expected* to trip ``domain_collapsed``, and the
    figure names what each run raised.
    """

    every: int
    diagnostics: core.Diagnostics | None = None
    steps: list[int] = field(default_factory=list)
    values: dict[str, list[float]] = field(default_factory=dict)

    def add(self, step: int, record: Callable[[], Mapping[str, float]]) -> None:
        """Record training step ``step``: ``record()`` runs the monitor (and its rules)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", core.GRLWarning)
            values = record()
        self.steps.append(step)
        for name in core.METRICS:
            self.values.setdefault(name, []).append(float(values[name]))

    @property
    def warned(self) -> list[str]:
        """The kinds of warning the monitor raised (each once), sorted."""
        return [] if self.diagnostics is None else sorted(self.diagnostics.warn.raised)

    def arrays(self) -> dict[str, np.ndarray]:
        """``{"train_step": ..., "<metric>": ...}``, one entry per recorded step."""
        out = {"train_step": np.asarray(self.steps, dtype=np.int64)}
        out.update({name: np.asarray(v, dtype=np.float64) for name, v in self.values.items()})
        return out


def judge(diagnostics: core.Diagnostics, values: Mapping[str, float]) -> Mapping[str, float]:
    """Feed one step's numbers to the shared rules (as every framework's monitor does)."""
    gradients = 0 if not values["grad_in_norm"] > 0 else 1
    diagnostics.record(values, forward_passes=1, gradients=gradients)
    return values


def strip_prefix(metrics: Mapping[str, float], prefix: str = "grl/") -> dict[str, float]:
    return {key.removeprefix(prefix): float(value) for key, value in metrics.items()}
