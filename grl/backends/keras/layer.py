"""``GradientReversal``: the GRL as a Keras 3 layer, on every Keras backend.

Forward ``R_λ(x) = x``; backward ``∂L/∂x = ∂L/∂R · cast(−λ, dtype)`` (Ganin & Lempitsky,
ICML 2015). The layer delegates to the op of the active Keras backend (``grl.backends.tf``,
``grl.backends.jax`` or ``grl.backends.torch``), so the numerics are the same everywhere.

λ and the schedule step are non-trainable weights: they are saved with the model, restored
by ``load_model``/``load_weights``/``BackupAndRestore`` and read as tensors, so changing
them never retraces or recompiles a step function.
"""

from __future__ import annotations

import numbers
from typing import Any

import keras
import numpy as np

from grl.backends.keras.dispatch import reversal_op
from grl.backends.keras.lambda_arg import lambda_config, parse_lambda
from grl.core import lambda_ as spec
from grl.core import schedules


def _is_differentiable_dtype(dtype: Any) -> bool:
    name = keras.backend.standardize_dtype(dtype)
    return "float" in name or name.startswith("complex")


def check_input_dtype(inputs: Any) -> None:
    """The GRL only makes sense on floating inputs: anything else carries no gradient."""
    dtype = getattr(inputs, "dtype", None)
    if dtype is None or not _is_differentiable_dtype(dtype):
        raise TypeError(
            f"GradientReversal inputs must be a floating (or complex) tensor; got dtype "
            f"{dtype if dtype is None else keras.backend.standardize_dtype(dtype)!r}: "
            f"{spec.describe(inputs)}"
        )


def check_num_batches(num_batches: Any) -> int:
    if isinstance(num_batches, (bool, np.bool_)) or not isinstance(
        num_batches, (numbers.Integral, np.integer)
    ):
        raise TypeError(
            f"num_batches must be an int >= 1; got {num_batches!r} of type "
            f"{type(num_batches).__name__}"
        )
    if num_batches < 1:
        raise ValueError(f"num_batches must be >= 1; got {num_batches!r}")
    return int(num_batches)


def _exact_constant(value: float) -> Any:
    """An initializer that rounds ``value`` once, straight to the variable's dtype.

    ``keras.initializers.Constant`` goes through a float32 tensor first, which would round a
    float64 λ to float32.
    """

    def initializer(shape: Any, dtype: Any = None) -> np.ndarray:
        return np.full(shape, value, dtype=np.float64).astype(
            keras.backend.standardize_dtype(dtype)
        )

    return initializer


@keras.saving.register_keras_serializable(package="grl")
class GradientReversal(keras.layers.Layer):
    """Gradient reversal layer: identity forward, gradient times −λ backward.

    Args:
        lambda_: a number ≥ 0 (fixed λ), a schedule from :mod:`grl.core.schedules`, or such
            a schedule's config dict. A scheduled λ starts at ``schedule(0)`` and follows
            ``schedule(step)`` as :class:`GradientReversalScheduler` (or :meth:`advance`)
            moves ``step`` on, one step per training batch.
        **kwargs: standard Keras layer arguments (``name``, ``dtype``, ...).

    Weights (non-trainable, saved with the model):
        ``lambda_``: 0-d float32 (float64 under a float64 policy), read by the op as a
        tensor. Under ``mixed_float16``/``mixed_bfloat16`` it stays float32 and is cast
        to the gradient's dtype at the multiply, as the numerics rule says.
        ``step``: 0-d int64 (int32 on JAX without x64), the number of training batches
        the schedule has advanced.

    The layer never casts its input (forward is the identity, bit for bit, whatever the
    dtype policy), so the gradient it returns has the dtype of its input.
    """

    def __init__(self, lambda_: Any = 1.0, **kwargs: Any) -> None:
        initial, schedule = parse_lambda(lambda_)
        if kwargs.pop("autocast", False):
            raise ValueError(
                "GradientReversal does not autocast: its forward pass is the identity and "
                "must return its input unchanged; got autocast=True"
            )
        super().__init__(autocast=False, **kwargs)
        self._reversal = reversal_op()
        self._initial_lambda = initial
        self._schedule = schedule
        lambda_dtype = "float64" if self.variable_dtype == "float64" else "float32"
        self.lambda_ = self.add_weight(
            name="lambda_",
            shape=(),
            dtype=lambda_dtype,
            initializer=_exact_constant(initial),
            trainable=False,
            autocast=False,
        )
        self.step = self.add_weight(
            name="step",
            shape=(),
            # Keras' own step counter dtype: int64, or int32 on JAX without x64.
            dtype="int",
            initializer="zeros",
            trainable=False,
            autocast=False,
        )
        self.supports_masking = True

    @property
    def schedule(self) -> schedules.Schedule | None:
        """The λ schedule, or ``None`` when λ is fixed."""
        return self._schedule

    def set_lambda(self, value: Any) -> None:
        """Set λ in place (validated). A scheduled layer overwrites it at the next batch."""
        self.lambda_.assign(spec.validate_lambda_number(value))

    def current_step(self) -> int:
        """The ``step`` weight as a Python int (reads the variable on the host)."""
        return int(keras.ops.convert_to_numpy(self.step.value))

    def advance(self, num_batches: int = 1) -> None:
        """Prepare λ for the next training batch(es), for hand-written training loops.

        ``λ ← schedule(step)`` (scheduled layers only), then ``step ← step + num_batches``.
        Call it once before each training step; never for inference.
        """
        self.advance_from(self.current_step(), check_num_batches(num_batches))

    def advance_from(self, step: int, num_batches: int) -> int:
        """:meth:`advance` given the current step on the host (no variable read).

        Returns the new step, ``step + num_batches``.
        """
        if self._schedule is not None:
            self.lambda_.assign(self._schedule(step))
        self.step.assign(step + num_batches)
        return step + num_batches

    def call(self, inputs: Any) -> Any:
        check_input_dtype(inputs)
        return self._reversal(inputs, self.lambda_.value)

    def compute_output_spec(self, inputs: Any) -> keras.KerasTensor:
        check_input_dtype(inputs)
        return keras.KerasTensor(inputs.shape, dtype=inputs.dtype)

    def compute_output_shape(self, input_shape: Any) -> Any:
        return input_shape

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> GradientReversal:
        # Keras turns any error raised in a constructor called from a config into a
        # TypeError; validating λ first keeps the documented ValueError/TypeError split.
        if "lambda_" in config:
            parse_lambda(config["lambda_"])
        return super().from_config(config)

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "lambda_": lambda_config(self._initial_lambda, self._schedule),
        }
