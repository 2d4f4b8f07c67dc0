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
import weakref
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

# Keras has no public test for an active StatelessScope; this is what Variable.assign uses.
from keras.src.backend.common.stateless_scope import in_stateless_scope

from grl.backends.keras.dispatch import reversal_op
from grl.backends.keras.lambda_arg import lambda_config, parse_lambda
from grl.backends.keras.schedule_ops import float64_available, scheduled_lambda
from grl.core import lambda_ as spec
from grl.core import schedules

#: Each layer's ``advance`` as one compiled TensorFlow call, for eager callers. Kept out of
#: the layer's attributes: a ``tf.function`` attribute would be exported with a SavedModel.
_GRAPH_ADVANCE: weakref.WeakKeyDictionary[Any, Callable[[int], None]] = weakref.WeakKeyDictionary()


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


def _is_traced(value: Any) -> bool:
    """Whether ``value`` is a JAX tracer (a step inside ``jax.jit``: no host read)."""
    if keras.backend.backend() != "jax":
        return False
    import jax

    return isinstance(value, jax.core.Tracer)


def _assigns_eager_tf_variables() -> bool:
    """Whether an assignment now writes a TensorFlow variable eagerly: not inside a graph,
    and not inside a ``StatelessScope``, which collects assignments instead."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return tf.executing_eagerly() and not in_stateless_scope()


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

        Both updates are tensor operations on the weights: the schedule is evaluated from
        ``step`` on its device, in float64, with the host's values (see
        :mod:`grl.backends.keras.schedule_ops`), and nothing is read back to the host. So
        ``advance`` may also be called inside a compiled train step, before the forward
        pass (``tf.function``, with or without XLA; a ``StatelessScope`` under ``jax.jit``):
        there it adds a few scalar operations to the step and never retraces it. Eagerly on
        TensorFlow it is one compiled call. On JAX without x64 (no float64), a concrete
        ``step`` is read and the schedule evaluated on the host instead.
        """
        num_batches = check_num_batches(num_batches)
        if not float64_available() and not _is_traced(self.step.value):
            # A float32 evaluation could round λ differently from the host's float64 one;
            # a concrete step can be read instead (JAX without x64 only).
            self.advance_from(self.current_step(), num_batches)
        elif _assigns_eager_tf_variables():
            self._graph_advance()(num_batches)
        else:
            self._advance_in_place(num_batches)

    def _advance_in_place(self, num_batches: int) -> None:
        if self._schedule is not None:
            self.lambda_.assign(
                scheduled_lambda(self._schedule, self.step.value, self.lambda_.dtype)
            )
        self.step.assign_add(num_batches)

    def _graph_advance(self) -> Callable[[int], None]:
        """:meth:`_advance_in_place` as one compiled TensorFlow call, for eager callers."""
        function = _GRAPH_ADVANCE.get(self)
        if function is None:
            import tensorflow as tf

            from grl.backends.tf.eager_update import EagerUpdate

            layer = weakref.ref(self)  # the cache must not keep its key alive

            def advance(num_batches: int) -> None:
                layer()._advance_in_place(num_batches)

            # XLA rounds float64 a few ulp differently (schedule_ops): only for a float32 λ.
            # A distributed variable lives on several devices, which one XLA call cannot.
            xla = self.lambda_.dtype == "float32" and not isinstance(
                self.step.value, tf.distribute.DistributedValues
            )
            function = _GRAPH_ADVANCE[self] = EagerUpdate(advance, xla=xla)
        return function

    def advance_from(self, step: int, num_batches: int) -> int:
        """:meth:`advance` given the current step on the host (no variable read).

        λ is ``schedule(step)`` evaluated on the host. Returns the new step,
        ``step + num_batches``.
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
