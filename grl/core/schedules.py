"""λ schedules: small pure functions of the training step, written once for every framework.

Every schedule is a callable ``step -> λ`` (a Python float, computed in float64), built by
one of the factories below. Each factory validates its settings, and every schedule
round-trips through a plain config dict (``get_config()`` / :func:`from_config`), which is
what checkpoints and Keras configs store.

The progress of training is ``p = clamp(step / total_steps, 0, 1)``.

``total_steps="auto"`` (:data:`AUTO`) builds a schedule whose run length is filled in later,
once the trainer knows it (:meth:`Schedule.resolve`; the layers' ``resolve_total_steps``).
Until then it has no λ but ``schedule(0)`` (the same for every run length): evaluating it
anywhere else raises :func:`unresolved_error`, which names the fix.

The formulas live once, in :meth:`Schedule.evaluate`, written against an array namespace
``xp`` (NumPy on the host; ``jax.numpy`` or a ``keras.ops`` namespace on a device; see
:func:`evaluate`). They use only operations that IEEE 754 rounds exactly one way (``+``,
``−``, ``×``, ``÷``, comparisons), so the host and a device compute the same bits:

* ``tanh`` is computed here (:func:`tanh`) rather than taken from the C library or a
  compiler, whose implementations differ by a few ulp;
* each product is kept as its own rounding (:func:`_product`): compilers (XLA on CPU)
  otherwise fuse ``a·b + c`` into one fused multiply-add, rounded once instead of twice;
* a division by a constant is made a division by a computed value (:func:`_opaque`):
  XLA would otherwise multiply by the rounded reciprocal instead;
* ``lo + (hi − lo)·s`` is written ``lo·(1 − s) + hi·s``, which is exactly ``lo`` at
  ``s = 0`` and exactly ``hi`` at ``s = 1``.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

import numpy as np

__all__ = [
    "AUTO",
    "Schedule",
    "constant",
    "dann",
    "evaluate",
    "from_config",
    "is_schedule",
    "linear",
    "tanh",
    "unresolved_error",
]

#: ``total_steps="auto"``: the run length, filled in once the trainer knows it.
AUTO = "auto"

#: How to give an ``"auto"`` schedule its run length, in every framework.
RESOLVE_FIX = (
    "resolve it once the run length is known, before training, advancing or loading a "
    "checkpoint into the layer: in Keras, callbacks=[grl.keras.GradientReversalScheduler()] "
    "resolves it at the start of fit (as epochs × steps_per_epoch; list it before "
    "BackupAndRestore); in PyTorch, grl.torch.diagnostics.resolve_total_steps(model, trainer "
    "or n) (in a LightningModule: in setup()); in Flax NNX and MLX, "
    "resolve_total_steps(model, n) from grl.backends.<framework>.diagnostics (or "
    "layer.resolve_total_steps(n)); in Linen, variables = "
    "grl.jax.linen.resolve_total_steps(variables, n). Or build the schedule with "
    "total_steps=<number of training steps>"
)


def unresolved_error(schedule: Any, action: str = "its λ") -> RuntimeError:
    """The error for using a ``total_steps="auto"`` schedule before its run length is known."""
    return RuntimeError(
        f'{action} needs the run length, but the schedule {schedule!r} has total_steps="auto" '
        f"and was not resolved yet: {RESOLVE_FIX}"
    )


def _real(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Real, np.number)):
        raise TypeError(
            f"{name} must be a real number; got {value!r} of type {type(value).__name__}"
        )
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite; got {value!r}")
    return value


def _total_steps(value: Any, auto: bool = True) -> int | str:
    if auto and isinstance(value, str) and value == AUTO:
        return AUTO
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (numbers.Integral, np.integer)):
        also = ' (or "auto": the run length, filled in from the trainer)' if auto else ""
        raise TypeError(
            f"total_steps must be an int; got {value!r} of type {type(value).__name__}{also}"
        )
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
    return _progress(_HostScalar, _real("step", step), total_steps)


# -- the formulas, against an array namespace ------------------------------------------------

#: tanh(x) rounds to 1.0 in float64 for x > 19.06; clamping there keeps the halved argument
#: small for any γ.
_TANH_CLAMP = 20.0
#: tanh is evaluated at x / 2**_HALVINGS by its Taylor series, then doubled back with
#: tanh(2y) = 2·tanh(y) / (1 + tanh(y)²); both scalings by 2 are exact.
_HALVINGS = 10
#: Taylor coefficients of tanh(y)/y − 1 in powers of y², enough for |y| ≤ 20/1024.
_TANH_SERIES = (-1.0 / 3.0, 2.0 / 15.0, -17.0 / 315.0, 62.0 / 2835.0)


def _opaque(value: float, like: Any) -> Any:
    """``value`` as a computed array (``like · 0 + value``), which no compiler folds into a
    constant (``x · 0`` is not 0 for inf or NaN)."""
    return like * 0.0 + value


def _settled(xp: Any, value: Any) -> Any:
    """``value`` behind a select that no compiler sees through: a product stays its own
    rounding (no fused multiply-add), and ``a / (b / c)`` is not rewritten as
    ``a · c / b`` (XLA does both)."""
    return xp.where(value == value, value, 0.0)


def _product(xp: Any, a: Any, b: Any) -> Any:
    """``a · b``, rounded on its own."""
    return _settled(xp, a * b)


def tanh(x: Any, xp: Any = np) -> Any:
    """``tanh(x)`` for ``x ≥ 0`` from +, −, ×, ÷ alone (the same bits on every backend).

    Within a few float64 ulp of the C library's ``tanh``; exactly 0 at 0 and 1.0 for
    ``x ≥ 20``.
    """
    y = xp.clip(x, 0.0, _TANH_CLAMP) * (0.5**_HALVINGS)
    y2 = _product(xp, y, y)
    series = _opaque(_TANH_SERIES[-1], y2)
    for coefficient in reversed(_TANH_SERIES[:-1]):
        series = _product(xp, series, y2) + coefficient
    t = y + _product(xp, _product(xp, y, y2), series)
    for _ in range(_HALVINGS):
        t = _settled(xp, (2.0 * t) / (_product(xp, t, t) + 1.0))
    return t


def _interpolate(xp: Any, lo: float, hi: float, s: Any) -> Any:
    """``lo·(1 − s) + hi·s``: exactly ``lo`` at ``s = 0`` and exactly ``hi`` at ``s = 1``."""
    return _product(xp, _opaque(lo, s), 1.0 - s) + _product(xp, _opaque(hi, s), s)


def _progress(xp: Any, step: Any, total_steps: Any) -> Any:
    # total_steps is an int, or an integer array (a run length held as state, e.g. Linen's):
    # either way the divisor is the exact float of the integer, so the bits agree.
    length = float(total_steps) if isinstance(total_steps, numbers.Real) else total_steps
    return xp.clip(step / _opaque(length, step), 0.0, 1.0)


class _HostScalar:
    """The namespace of :meth:`Schedule.evaluate` for one Python float: the host's λ.

    Python floats are IEEE float64 with the same correctly rounded operations as NumPy's
    float64 arrays, at a fraction of the cost of 0-d arrays.
    """

    @staticmethod
    def where(condition: bool, x: float, y: float) -> float:
        return x if condition else y

    @staticmethod
    def clip(x: float, lo: float, hi: float) -> float:
        return min(max(x, lo), hi)


@dataclass(frozen=True)
class Schedule:
    """Base class: a frozen, validated, serialisable ``step -> λ`` function."""

    name: ClassVar[str] = ""

    def __call__(self, step: Any) -> float:
        """λ at ``step`` (a real number), computed on the host in float64."""
        step = _real("step", step)
        if step == 0 and not self.resolved:
            # p = 0 for every run length: λ(0) is known before the length is.
            return float(self.resolve(1).evaluate(step, _HostScalar))
        return float(self.evaluate(step, _HostScalar))

    def evaluate(self, step: Any, xp: Any, total_steps: Any = None) -> Any:
        """λ at ``step``, a floating array of namespace ``xp``, in ``step``'s dtype.

        ``total_steps`` (an integer array) stands in for a ``"auto"`` run length that lives
        as state on a device (Linen); None uses the schedule's own."""
        raise NotImplementedError

    @property
    def resolved(self) -> bool:
        """False while ``total_steps="auto"`` waits for the run length."""
        return getattr(self, "total_steps", None) != AUTO

    def resolve(self, total_steps: int) -> Schedule:
        """This schedule with ``total_steps="auto"`` replaced by ``total_steps`` (an int
        > 0); a schedule that has its length (or needs none) is returned as it is."""
        total_steps = _total_steps(total_steps, auto=False)
        if self.resolved:
            return self
        return from_config({**self.get_config(), "total_steps": total_steps})

    def _length(self, total_steps: Any) -> Any:
        if total_steps is not None:
            return total_steps
        if not self.resolved:
            raise unresolved_error(self)
        return self.total_steps  # type: ignore[attr-defined]  # a field of the subclasses

    def get_config(self) -> dict[str, Any]:
        """A JSON-serialisable dict that :func:`from_config` turns back into this schedule."""
        return {"name": self.name, **asdict(self)}

    def __repr__(self) -> str:
        config = self.get_config()
        name = config.pop("name")
        return f"{name}({', '.join(f'{key}={value!r}' for key, value in config.items())})"


@dataclass(frozen=True, repr=False)
class Constant(Schedule):
    name: ClassVar[str] = "constant"
    value: float

    def __post_init__(self) -> None:
        value = _real("value", self.value)
        if value < 0:
            raise ValueError(f"value must be >= 0 (λ < 0 cancels the reversal); got {value!r}")
        object.__setattr__(self, "value", value)

    def evaluate(self, step: Any, xp: Any, total_steps: Any = None) -> Any:
        return _opaque(self.value, step)


@dataclass(frozen=True, repr=False)
class Linear(Schedule):
    name: ClassVar[str] = "linear"
    total_steps: int | str
    lo: float = 0.0
    hi: float = 1.0

    def __post_init__(self) -> None:
        object.__setattr__(self, "total_steps", _total_steps(self.total_steps))
        lo, hi = _bounds(self.lo, self.hi)
        object.__setattr__(self, "lo", lo)
        object.__setattr__(self, "hi", hi)

    def evaluate(self, step: Any, xp: Any, total_steps: Any = None) -> Any:
        length = self._length(total_steps)
        return _interpolate(xp, self.lo, self.hi, _progress(xp, step, length))


@dataclass(frozen=True, repr=False)
class DANN(Schedule):
    name: ClassVar[str] = "dann"
    total_steps: int | str
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

    def evaluate(self, step: Any, xp: Any, total_steps: Any = None) -> Any:
        p = _progress(xp, step, self._length(total_steps))
        # tanh(γp/2) == 2/(1+exp(−γp)) − 1, without overflow in exp for large γ.
        shape = tanh(_product(xp, _opaque(self.gamma, p), p) * 0.5, xp)
        if self.normalize:
            shape = shape / tanh(_opaque(self.gamma * 0.5, shape), xp)
        return _interpolate(xp, self.lo, self.hi, shape)


def evaluate(schedule: Schedule, step: Any, xp: Any, total_steps: Any = None) -> Any:
    """``schedule`` at ``step`` with namespace ``xp`` (``jax.numpy``, a ``keras.ops``-like
    namespace with ``where`` and ``clip``): the device form of
    ``schedule(step)``. ``step`` is a floating array; the result has its dtype and, in
    float64, the host's bits. An unresolved ``"auto"`` schedule raises
    :func:`unresolved_error` here, when the computation is built, unless ``total_steps``
    (an integer array) gives the run length."""
    return schedule.evaluate(step, xp, total_steps)


def constant(value: float) -> Constant:
    """λ(step) = value, for every step."""
    return Constant(value)


def linear(total_steps: int | str, lo: float = 0.0, hi: float = 1.0) -> Linear:
    """λ(step) = lo + (hi − lo)·p, with p = clamp(step/total_steps, 0, 1).

    ``total_steps="auto"``: the run length, filled in from the trainer (module doc)."""
    return Linear(total_steps, lo, hi)


def dann(
    total_steps: int | str,
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
    ``total_steps="auto"``: the run length, filled in from the trainer (module doc).
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
