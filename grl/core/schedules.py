"""λ schedules: small pure functions of the training step.

Every schedule is a callable ``step -> λ`` (a Python float, computed in float64), built by
one of the factories below. Each factory validates its settings, and every schedule
round-trips through a plain config dict (``get_config()`` / :func:`from_config`), which is
what checkpoints and Keras configs store.

The progress of training is ``p = clamp(step / total_steps, 0, 1)``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "Schedule",
    "constant",
    "dann",
    "from_config",
    "is_schedule",
    "linear",
]


def _real(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)):
        raise TypeError(
            f"{name} must be a real number; got {value!r} of type {type(value).__name__}"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value!r}")
    return value


def _total_steps(value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"total_steps must be an int; got {value!r} of type {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"total_steps must be > 0; got {value!r}")
    return int(value)


def _bounds(lo: Any, hi: Any) -> tuple[float, float]:
    lo, hi = _real("lo", lo), _real("hi", hi)
    if lo < 0:
        raise ValueError(f"lo must be >= 0 (λ < 0 cancels the reversal); got {lo!r}")
    if lo > hi:
        raise ValueError(f"lo must be <= hi; got lo={lo!r}, hi={hi!r}")
    return lo, hi


def progress(step: Any, total_steps: int) -> float:
    """``p = clamp(step / total_steps, 0, 1)``, the fraction of training done."""
    step = _real("step", step)
    return min(max(step / total_steps, 0.0), 1.0)


@dataclass(frozen=True)
class Schedule:
    """Base class: a frozen, validated, serialisable ``step -> λ`` function."""

    name: ClassVar[str] = ""

    def __call__(self, step: Any) -> float:
        raise NotImplementedError

    def get_config(self) -> dict[str, Any]:
        """A JSON-serialisable dict that :func:`from_config` turns back into this schedule."""
        return {"name": self.name, **asdict(self)}


@dataclass(frozen=True)
class Constant(Schedule):
    name: ClassVar[str] = "constant"
    value: float

    def __post_init__(self) -> None:
        value = _real("value", self.value)
        if value < 0:
            raise ValueError(f"value must be >= 0 (λ < 0 cancels the reversal); got {value!r}")
        object.__setattr__(self, "value", value)

    def __call__(self, step: Any) -> float:
        _real("step", step)
        return self.value


@dataclass(frozen=True)
class Linear(Schedule):
    name: ClassVar[str] = "linear"
    total_steps: int
    lo: float = 0.0
    hi: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "total_steps", _total_steps(self.total_steps))
        lo, hi = _bounds(self.lo, self.hi)
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    def __call__(self, step: Any) -> float:
        return self.lo + (self.hi - self.lo) * progress(step, self.total_steps)


@dataclass(frozen=True)
class DANN(Schedule):
    name: ClassVar[str] = "dann"
    total_steps: int
    gamma: float = 10.0
    lo: float = 0.0
    hi: float = 1.0
    normalize: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "total_steps", _total_steps(self.total_steps))
        gamma = _real("gamma", self.gamma)
        if gamma <= 0:
            raise ValueError(f"gamma must be > 0; got {gamma!r}")
        object.__setattr__(self, "gamma", gamma)
        lo, hi = _bounds(self.lo, self.hi)
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)
        if not isinstance(self.normalize, (bool, np.bool_)):
            raise TypeError(f"normalize must be a bool; got {self.normalize!r}")
        object.__setattr__(self, "normalize", bool(self.normalize))

    def __call__(self, step: Any) -> float:
        p = progress(step, self.total_steps)
        # tanh(γp/2) == 2/(1+exp(−γp)) − 1, without overflow in exp for large γ.
        shape = math.tanh(self.gamma * p / 2.0)
        if self.normalize:
            shape /= math.tanh(self.gamma / 2.0)
        return self.lo + (self.hi - self.lo) * shape


def constant(value: float) -> Constant:
    """λ(step) = value, for every step."""
    return Constant(value)


def linear(total_steps: int, lo: float = 0.0, hi: float = 1.0) -> Linear:
    """λ(step) = lo + (hi − lo)·p, with p = clamp(step/total_steps, 0, 1)."""
    return Linear(total_steps, lo, hi)


def dann(
    total_steps: int,
    gamma: float = 10.0,
    lo: float = 0.0,
    hi: float = 1.0,
    normalize: bool = False,
) -> DANN:
    """The schedule of Ganin & Lempitsky (2015) and Ganin et al. (2016).

    λ(step) = lo + (hi − lo)·tanh(γ·p/2), with p = clamp(step/total_steps, 0, 1).

    ``tanh(γp/2)`` equals the papers' ``2/(1 + exp(−γ·p)) − 1`` but is stable for any γ.
    With the papers' γ = 10 the curve ends at tanh(5) = 0.9999092, not exactly ``hi``;
    ``normalize=True`` divides the curve by tanh(γ/2) so that λ(total_steps) == hi.
    """
    return DANN(total_steps, gamma, lo, hi, normalize)


_REGISTRY: dict[str, type[Schedule]] = {cls.name: cls for cls in (Constant, Linear, DANN)}


def is_schedule(obj: Any) -> bool:
    """True for schedules built by this module."""
    return isinstance(obj, Schedule)


def from_config(config: dict[str, Any]) -> Schedule:
    """Rebuild a schedule from :meth:`Schedule.get_config` output (validated again)."""
    if not isinstance(config, dict):
        raise TypeError(f"a schedule config must be a dict; got {config!r}")
    settings = dict(config)
    name = settings.pop("name", None)
    if name not in _REGISTRY:
        raise ValueError(
            f"unknown schedule name {name!r} in config {config!r}; known: {sorted(_REGISTRY)}"
        )
    cls = _REGISTRY[name]
    try:
        return cls(**settings)
    except TypeError as error:
        if "unexpected keyword" in str(error) or "missing" in str(error):
            raise ValueError(f"invalid {name!r} schedule config {config!r}: {error}") from None
        raise
