"""The layer's λ and step variables: an assignment of a value the specification forbids is
refused before it is written.

``layer.lambda_.assign(-1.0)``, ``layer.step.assign(-3)`` and Keras' own writes of a whole
model (``Model.set_weights``, the legacy H5 ``load_weights``, the JAX trainer's state sync)
all go through the variable's ``assign``; the layer's ``set_weights`` and loading are
checked already. So the two variables made by ``add_weight`` get a subclass of their own
class whose ``assign`` checks a concrete value first: a number, a NumPy array, an eager
tensor, a concrete JAX or PyTorch array. A symbolic value (inside ``tf.function``, XLA,
``jax.jit``) has no value to read: it is written unchecked, so the compiled step costs
nothing more (a λ computed there comes from the layer's own validated schedule, or is the
caller's own device arithmetic).
"""

from __future__ import annotations

import contextlib
import contextvars
import math
from collections.abc import Iterator
from typing import Any

import keras
import numpy as np

from grl.core import lambda_ as checks

#: True while the layer writes a value it computed from validated state (its schedule,
#: ``step + n``): that write needs no check, and must not read a device value on the host.
_LAYER_WRITE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "grl_layer_write", default=False
)


@contextlib.contextmanager
def layer_write() -> Iterator[None]:
    """Mark the layer's own writes (already validated) inside the block."""
    token = _LAYER_WRITE.set(True)
    try:
        yield
    finally:
        _LAYER_WRITE.reset(token)


def concrete_value(value: Any) -> np.ndarray | None:
    """``value`` on the host, or None when it has no value yet (symbolic, traced)."""
    if isinstance(value, keras.Variable):
        value = value.value
    if isinstance(value, (int, float, np.ndarray, np.generic)):
        return np.asarray(value)
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.is_tensor(value):
            # Eager tensors and graph constants have a value; other graph tensors do not.
            static = tf.get_static_value(value)
            return None if static is None else np.asarray(static)
    elif backend == "jax":
        import jax

        if isinstance(value, jax.core.Tracer):
            return None
    elif backend == "torch":
        import torch

        if isinstance(value, torch.Tensor):
            if torch.compiler.is_compiling():
                return None  # a host read would break the compiled graph
            return value.detach().cpu().numpy()
    if isinstance(value, keras.KerasTensor):
        return None
    try:
        return np.asarray(value)
    except Exception:  # anything else without a value to copy: Keras decides
        return None


def _fix(variable: Any) -> str:
    return (
        "set λ with layer.set_lambda(value) (a fixed λ >= 0) or move a scheduled layer with "
        "layer.advance(steps)"
        if isinstance(variable, LambdaGuard)
        else "move the step with layer.advance(steps) (an int >= 0)"
    )


def _refuse(variable: Any, value: Any, problem: str) -> ValueError:
    return ValueError(
        f"GradientReversal variable {variable.path!r} cannot be assigned "
        f"{checks.describe(value)}: {problem}; {_fix(variable)}. Nothing was written."
    )


class _Guard:
    """Checks a concrete value before Keras' ``assign`` writes it (no ``__slots__``: the
    subclass must keep its base's layout for the class swap in :func:`guard`)."""

    def _problem(self, value: float) -> str | None:
        raise NotImplementedError

    def assign(self, value: Any) -> Any:
        if not _LAYER_WRITE.get():
            array = concrete_value(value)
            # A value of another shape is left to Keras' own shape error.
            if array is not None and array.shape == ():
                number = float(array) if array.dtype.kind in "biuf" else math.nan
                problem = self._problem(number)
                if problem is not None:
                    raise _refuse(self, array.item(), problem)
        return super().assign(value)  # type: ignore[misc]


class LambdaGuard(_Guard):
    """λ: a finite number >= 0 (a negative λ cancels the reversal)."""

    def _problem(self, value: float) -> str | None:
        try:
            checks.check_real_value(value)
        except ValueError as error:
            return str(error)
        return None


class StepGuard(_Guard):
    """The step: an integer >= 0 (the number of training steps taken)."""

    def _problem(self, value: float) -> str | None:
        if math.isfinite(value) and value >= 0 and value == int(value):
            return None
        return "step must be an integer >= 0 (it counts the training steps taken)"


_CLASSES: dict[tuple[type, type], type] = {}


def guard(variable: Any, kind: type[_Guard]) -> Any:
    """Give ``variable`` (just made by ``add_weight``) the checking ``assign`` of ``kind``.

    Its class becomes a subclass of its own class, so everything else (tracking, saving,
    distribution, ``isinstance``) is unchanged. Left as it is where that cannot be done
    safely: an unknown variable class, or Keras' Flax NNX variables (a pytree type of their
    own, which a subclass would not be).
    """
    base = type(variable)
    nnx = getattr(keras.config, "is_nnx_enabled", None)
    if base is not keras.Variable or (nnx is not None and nnx()):
        return variable
    cls = _CLASSES.get((kind, base))
    if cls is None:
        name = f"{kind.__name__}{base.__name__}"
        cls = type(name, (kind, base), {"__module__": __name__})
        _CLASSES[(kind, base)] = cls
    variable.__class__ = cls
    return variable
