"""The layer contract: how every grl layer takes λ, counts steps and changes λ.

Written once here and bound by each framework's layer (the PyTorch module, the Keras layer,
the Flax NNX and Linen modules); the conformance suite's layer section holds every backend
to it. Nothing here imports a deep-learning framework.

* ``lambda_`` at construction (:func:`parse_lambda`): a real number ``>= 0`` or a 0-d
  floating tensor (a **fixed** λ, its value copied), or a :mod:`grl.core.schedules`
  schedule or its ``get_config()`` dict (a **scheduled** λ).
* State: ``step``, the number of training steps taken (0 at construction), and λ. For a
  scheduled layer, always ``λ == schedule(step)`` (rounded to λ's storage dtype).
* ``advance(steps=1)``: ``step += steps`` (:func:`check_steps`: an int ``>= 0``); a
  scheduled λ becomes ``schedule(step)``, a fixed one stays. Call it once per training
  step, after the optimizer's update: after ``n`` steps every layer holds ``step == n``
  and ``λ == schedule(n)``.
* ``set_lambda(value)``: a new fixed λ, validated like the constructor's; a scheduled
  layer refuses it (:func:`scheduled_set_lambda_error`).
* A saved state is validated before it is loaded (:func:`saved_state_problem`).
* ``resolve_total_steps(n)``: a schedule built with ``total_steps="auto"`` gets its run
  length, once the trainer knows it; λ becomes ``schedule(step)``. Until then the layer
  starts at ``schedule(0)`` (the same for every length), and training with it (a training
  forward where the framework tells one, ``advance``) raises the error that names the fix.

:class:`LayerContract` holds these rules as a mixin: a framework's layer supplies how to
read one of its tensors and how to store λ and the step.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable
from typing import Any

import numpy as np

from grl.core import schedules
from grl.core.diagnostics import AdvanceWatch
from grl.core.lambda_ import (
    ARGUMENT,
    check_real_value,
    describe,
    is_number_like,
    validate_lambda_number,
)

__all__ = [
    "LayerContract",
    "check_steps",
    "fixed_lambda",
    "parse_lambda",
    "saved_state_problem",
    "scheduled_set_lambda_error",
]

#: Reads a framework tensor given as λ: its value after checking that it is a 0-d real
#: floating tensor (raising the core errors otherwise), or None if it is no tensor at all.
TensorReader = Callable[[Any], "float | None"]

_FACTORIES = (schedules.constant, schedules.linear, schedules.dann)


def as_schedule(value: Any) -> schedules.Schedule | None:
    """The schedule that ``value`` describes (validated again), or None if it describes none.

    A schedule object or its config dict; an object with a ``grl_schedule`` attribute
    holding one (a framework's wrapper of a core schedule).
    """
    wrapped = getattr(value, "grl_schedule", None)
    if schedules.is_schedule(wrapped):
        value = wrapped
    if schedules.is_schedule(value):
        # Rebuilding from the config re-runs validation, even on a tampered frozen object.
        return schedules.from_config(value.get_config())
    if not isinstance(value, dict):
        return None
    if "class_name" in value:
        raise ValueError(
            f"{ARGUMENT} got a Keras object config (class_name={value['class_name']!r}); "
            f"expected a grl.core.schedules config such as "
            f"{schedules.dann(1000).get_config()!r}"
        )
    try:
        return schedules.from_config(value)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{ARGUMENT}: invalid schedule config: {error}") from None


def argument_error(value: Any) -> TypeError:
    """The error for a λ argument that is neither a number, a tensor nor a schedule."""
    if value in _FACTORIES or (isinstance(value, type) and issubclass(value, schedules.Schedule)):
        return TypeError(
            f"{ARGUMENT} got the schedule factory {getattr(value, '__name__', value)} itself; "
            "call it with its settings, e.g. grl.core.schedules.dann(total_steps=10_000)"
        )
    kind = "a callable that is not a grl schedule" if callable(value) else "a value"
    return TypeError(
        f"{ARGUMENT} must be a real number >= 0, a 0-d floating tensor, or a schedule from "
        f"grl.core.schedules (constant, linear, dann) or its get_config() dict; got {kind}, "
        f"{describe(value)} of type {type(value).__name__}. A λ schedule must be validated "
        "and serialisable: for a formula of your own, build the layer with a number and "
        "call set_lambda() each step."
    )


def fixed_lambda(value: Any, read_tensor: TensorReader | None = None) -> float:
    """A fixed λ (a number, or a tensor that ``read_tensor`` reads) as a validated float."""
    if is_number_like(value):
        return validate_lambda_number(value)
    number = read_tensor(value) if read_tensor is not None else None
    if number is None:
        raise argument_error(value)
    return check_real_value(number, value)


def parse_lambda(
    value: Any, read_tensor: TensorReader | None = None
) -> tuple[float, schedules.Schedule | None]:
    """``lambda_`` as ``(initial λ, schedule)``; the schedule is None for a fixed λ."""
    schedule = as_schedule(value)
    if schedule is not None:
        return check_real_value(schedule(0)), schedule
    if callable(value) and not is_number_like(value):
        raise argument_error(value)
    return fixed_lambda(value, read_tensor), None


def check_steps(steps: Any) -> int:
    """How far ``advance`` moves: an int ``>= 0`` (0 is allowed and changes nothing)."""
    if isinstance(steps, (bool, np.bool_)) or not isinstance(steps, (numbers.Integral)):
        raise TypeError(
            f"steps must be an int >= 0; got {describe(steps)} of type {type(steps).__name__}"
        )
    if steps < 0:
        raise ValueError(f"steps must be an int >= 0 (a schedule never goes back); got {steps}")
    return int(steps)


def scheduled_set_lambda_error(schedule: schedules.Schedule) -> RuntimeError:
    return RuntimeError(
        f"set_lambda() sets a fixed λ, but this GradientReversal follows the schedule "
        f"{schedule!r}, so λ is schedule(step); move the step with advance() (or the "
        "framework's stepping helper), or build the layer with a number to set λ by hand"
    )


def saved_state_problem(lambda_value: Any, step_value: Any) -> str | None:
    """What is wrong with a saved λ and step (host numbers; None for one not saved), or None.

    λ must be a finite number ``>= 0`` (a negative λ would cancel the reversal), the step an
    integer ``>= 0``.
    """
    if lambda_value is not None:
        try:
            check_real_value(float(lambda_value), lambda_value)
        except ValueError as error:
            return f"invalid saved {ARGUMENT}: {error}"
    if step_value is not None:
        integral = isinstance(step_value, (numbers.Integral, np.integer)) or (
            isinstance(step_value, np.ndarray) and step_value.dtype.kind in "iu"
        )
        if not integral or isinstance(step_value, (bool, np.bool_)):
            return f"invalid saved step: must be an integer >= 0; got {describe(step_value)}"
        if int(step_value) < 0:
            return f"invalid saved step: must be >= 0; got {int(step_value)}"
    return None


class LayerContract:
    """The rules of every grl layer, for a framework's layer class to inherit.

    The layer calls :meth:`_parse_lambda` in its constructor and supplies:

    * :meth:`_read_tensor`: the value of one of its framework's tensors given as λ;
    * :meth:`_store_lambda`: write a validated fixed λ;
    * :meth:`_advance`: ``step += steps`` and, with a schedule, ``λ = schedule(step)``;
    * :meth:`_current_step`: the step on the host (for :meth:`resolve_total_steps`).

    A layer that runs Python on every training pass (PyTorch; Keras called eagerly) calls
    :meth:`_watch_advancing` in its constructor and :meth:`_training_pass` per training
    pass: a scheduled layer never advanced warns once (a forgotten ``step_all``/scheduler).
    """

    _schedule: schedules.Schedule | None = None
    #: Counts training passes until the first advance; None for a fixed λ, once advanced
    #: (or resumed past step 0), once warned, and in layers that do not watch.
    _advance_watch: AdvanceWatch | None = None

    def _watch_advancing(self) -> None:
        self._advance_watch = AdvanceWatch() if self._schedule is not None else None

    def _training_pass(self) -> None:
        """One training pass: counted while the layer was never advanced."""
        watch = self._advance_watch
        if watch is not None and not watch.count():
            self._advance_watch = None  # it has warned

    def _resumed_at(self, step: int) -> None:
        """A load set the step: past 0, the layer has been advanced."""
        if step > 0:
            self._stop_advance_watch()

    def _stop_advance_watch(self) -> None:
        if self._advance_watch is not None:  # no attribute write per step once gone
            self._advance_watch = None

    def _parse_lambda(self, value: Any) -> float:
        """Validate the constructor's ``lambda_``; return the initial λ."""
        initial, self._schedule = parse_lambda(value, self._read_tensor)
        return initial

    @property
    def schedule(self) -> schedules.Schedule | None:
        """The λ schedule given at construction, or None for a fixed λ."""
        return self._schedule

    def set_lambda(self, value: Any) -> None:
        """Set a fixed λ (validated like the constructor's ``lambda_``)."""
        if self._schedule is not None:
            raise scheduled_set_lambda_error(self._schedule)
        self._store_lambda(fixed_lambda(value, self._read_tensor))

    def advance(self, steps: int = 1) -> None:
        """Move on ``steps`` training steps: ``step += steps``; a scheduled λ becomes
        ``schedule(step)``. Call it once per training step, after the optimizer's update."""
        self._require_resolved("advance()")
        steps = check_steps(steps)
        self._stop_advance_watch()
        self._advance(steps)

    def resolve_total_steps(self, total_steps: int) -> bool:
        """Give a ``total_steps="auto"`` schedule its run length (an int > 0); λ becomes
        ``schedule(step)``. Returns whether it did: a fixed λ, or a schedule that has its
        length (given at construction or resolved before), is left as it is."""
        schedules._total_steps(total_steps, auto=False)  # checked before anything changes
        schedule = self._schedule
        if schedule is None or schedule.resolved:
            return False
        resolved = schedule.resolve(total_steps)
        self._schedule = resolved
        self._store_lambda(resolved(self._current_step()))
        return True

    def _require_resolved(self, action: str) -> None:
        """Raise, before any work, if λ still waits for ``total_steps="auto"``."""
        schedule = self._schedule
        if schedule is not None and not schedule.resolved:
            raise schedules.unresolved_error(schedule, f"GradientReversal {action}")

    def _current_step(self) -> int:
        """The step as a host int (the Keras layer's ``current_step()``; others override)."""
        return int(self.current_step())  # type: ignore[attr-defined]

    def _read_tensor(self, value: Any) -> float | None:
        return None

    def _store_lambda(self, value: float) -> None:
        raise NotImplementedError

    def _advance(self, steps: int) -> None:
        raise NotImplementedError
