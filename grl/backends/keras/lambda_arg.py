"""Parsing of the layer's ``lambda_`` argument: a number, a schedule or a schedule config.

The layer's config stores λ as a plain number or as a schedule config dict (the output of
:meth:`grl.core.schedules.Schedule.get_config`), so the config must be validated as
carefully as the constructor argument: a hand-edited ``.keras`` file is user input too.
"""

from __future__ import annotations

from typing import Any

from grl.core import lambda_ as spec
from grl.core import schedules

#: What ``lambda_`` means once parsed: the initial λ and the schedule (``None`` = fixed λ).
ParsedLambda = tuple[float, "schedules.Schedule | None"]


def _schedule_from_config(config: dict[str, Any]) -> schedules.Schedule:
    if "class_name" in config:
        # A Keras-serialised object (e.g. a LearningRateSchedule) is not a λ schedule.
        raise ValueError(
            f"{spec.ARGUMENT} got a Keras object config (class_name="
            f"{config['class_name']!r}); expected a grl.core.schedules config such as "
            f"{schedules.dann(1000).get_config()!r}: {spec.describe(config)}"
        )
    try:
        return schedules.from_config(config)
    except (TypeError, ValueError) as error:
        raise type(error)(f"{spec.ARGUMENT}: invalid schedule config: {error}") from None


def parse_lambda(value: Any) -> ParsedLambda:
    """Turn ``lambda_`` into ``(initial λ, schedule or None)``, validating it first.

    Accepted: a real number ≥ 0 (fixed λ), a :mod:`grl.core.schedules` schedule, or such a
    schedule's config dict. The initial λ of a schedule is ``schedule(0)``.
    """
    if schedules.is_schedule(value):
        return spec.check_real_value(value(0)), value
    if isinstance(value, dict):
        schedule = _schedule_from_config(value)
        return spec.check_real_value(schedule(0)), schedule
    if callable(value):
        raise spec.type_error(
            value, "only schedules from grl.core.schedules are accepted, not arbitrary callables"
        )
    return spec.validate_lambda_number(value), None


def lambda_config(initial: float, schedule: schedules.Schedule | None) -> float | dict[str, Any]:
    """The JSON-serialisable form of ``lambda_`` that :func:`parse_lambda` reads back."""
    return initial if schedule is None else schedule.get_config()
