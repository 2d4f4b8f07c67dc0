"""``GradientReversal``: the GRL as a Keras 3 layer, on every Keras backend.

Forward ``R_λ(x) = x``; backward ``∂L/∂x = ∂L/∂R · cast(−λ, dtype)`` (Ganin & Lempitsky,
ICML 2015). The layer delegates to the op of the active Keras backend, and its λ argument,
``set_lambda`` and ``advance`` rules are :class:`grl.core.layer.LayerContract`'s: this
module holds only the Keras mechanics.

λ and the step are non-trainable weights: they are saved with the model, restored by
``load_model``/``load_weights``/``BackupAndRestore`` (validated first) and read as tensors,
so changing them never retraces or recompiles a step function. Their ``assign`` refuses a
concrete value the specification forbids (:mod:`grl.backends.keras.variables`).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import Any

import keras
import numpy as np

from grl.backends.keras import internals
from grl.backends.keras.dispatch import reversal_op
from grl.backends.keras.schedule_ops import float64_available, scheduled_lambda
from grl.backends.keras.variables import LambdaGuard, StepGuard, guard, layer_write
from grl.core import lambda_ as checks
from grl.core import layer as contract

#: Each layer's ``_advance`` as one compiled TensorFlow call, for eager callers. Kept out of
#: the layer's attributes: a ``tf.function`` attribute would be exported with a SavedModel.
_EAGER_ADVANCE: weakref.WeakKeyDictionary[Any, Callable[[int], None]] = weakref.WeakKeyDictionary()


def check_input_dtype(inputs: Any) -> None:
    """The GRL only makes sense on floating inputs: anything else carries no gradient."""
    dtype = getattr(inputs, "dtype", None)
    name = None if dtype is None else keras.backend.standardize_dtype(dtype)
    if name is None or not ("float" in name or name.startswith("complex")):
        raise TypeError(
            f"GradientReversal inputs must be a floating (or complex) tensor; got dtype "
            f"{name!r}: {checks.describe(inputs)}"
        )


def _exact_constant(value: float) -> Callable[..., np.ndarray]:
    """An initializer that rounds ``value`` once, straight to the variable's dtype
    (``keras.initializers.Constant`` goes through float32 first)."""

    def initializer(shape: Any, dtype: Any = None) -> np.ndarray:
        return np.full(shape, value, np.float64).astype(keras.backend.standardize_dtype(dtype))

    return initializer


def _is_traced(value: Any) -> bool:
    """Whether ``value`` is a JAX tracer (a step inside ``jax.jit``: no host read)."""
    if keras.backend.backend() != "jax":
        return False
    import jax

    return isinstance(value, jax.core.Tracer)


def _in_traced_step(inputs: Any) -> bool:
    """Whether this call is being traced into a compiled step (runs once, not per batch)."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.inside_function()
    return _is_traced(inputs)


def _assigns_eager_tf_variables() -> bool:
    """Whether an assignment now writes TensorFlow variables eagerly (not in a graph, not
    collected by a ``StatelessScope``)."""
    if keras.backend.backend() != "tensorflow":
        return False
    import tensorflow as tf

    return tf.executing_eagerly() and not internals.maybe_in_stateless_scope()


@keras.saving.register_keras_serializable(package="grl")
class GradientReversal(contract.LayerContract, keras.layers.Layer):
    """Gradient reversal layer: identity forward, gradient times −λ backward.

    Args:
        lambda_: a number ≥ 0 or a 0-d floating tensor (fixed λ), a schedule from
            :mod:`grl.core.schedules`, or such a schedule's config dict. A scheduled λ
            starts at ``schedule(0)`` and is ``schedule(step)`` after each
            :meth:`advance` (:class:`GradientReversalScheduler` advances once per batch).
        **kwargs: standard Keras layer arguments (``name``, ``dtype``, ...).

    Weights (non-trainable, saved with the model): ``lambda_``, 0-d float32 (float64 under
    a float64 policy; float32 under mixed policies, cast to the gradient's dtype at the
    multiply); ``step``, 0-d int64 (int32 on JAX without x64), the steps taken.

    The layer never casts its input: its gradient has the dtype of its input.
    """

    def __init__(self, lambda_: Any = 1.0, **kwargs: Any) -> None:
        initial, schedule = contract.parse_lambda(lambda_, self._read_tensor)
        if kwargs.pop("autocast", False):
            raise ValueError(
                "GradientReversal does not autocast: its forward pass is the identity and "
                "must return its input unchanged; got autocast=True"
            )
        super().__init__(autocast=False, **kwargs)
        self._schedule = schedule
        self._initial_lambda = initial
        # Counts eager training calls until the first advance (compiled steps get a fit
        # callback instead: their Python runs once).
        self._watch_advancing()
        self._reversal = reversal_op()
        lambda_ = self.add_weight(
            name="lambda_",
            shape=(),
            dtype="float64" if self.variable_dtype == "float64" else "float32",
            initializer=_exact_constant(initial),
            trainable=False,
            autocast=False,
        )
        # Keras' own step counter dtype: int64, or int32 on JAX without x64.
        step = self.add_weight(
            name="step", shape=(), dtype="int", initializer="zeros", trainable=False
        )
        # Direct assignments (`layer.lambda_.assign(-1.0)`, a model's set_weights) are
        # checked by the variables themselves.
        self.lambda_ = guard(lambda_, LambdaGuard)
        self.step = guard(step, StepGuard)
        self.supports_masking = True
        # No build step: the weights exist already, and Keras' build needs a known rank.
        self.built = True

    # -- the contract's hooks ----------------------------------------------------------
    @staticmethod
    def _read_tensor(value: Any) -> float | None:
        if not (keras.ops.is_tensor(value) or isinstance(value, keras.Variable)):
            return None
        name = keras.backend.standardize_dtype(value.dtype)
        checks.check_floating_dtype("float" in name, name, value)
        checks.check_rank(tuple(value.shape), value)
        try:
            return float(keras.ops.convert_to_numpy(value))
        except Exception as error:  # a symbolic tensor has no value to copy
            raise TypeError(
                f"{checks.ARGUMENT} as a tensor is read once, on the host, so it must be "
                f"concrete; got {checks.describe(value)}. Inside compiled code, assign to "
                "layer.lambda_ instead."
            ) from error

    def _store_lambda(self, value: float) -> None:
        self.lambda_.assign(value)

    def _advance(self, steps: int) -> None:
        with layer_write():  # step + steps and schedule(step): valid by construction
            self._advance_body(steps)

    def _advance_body(self, steps: int) -> None:
        if not float64_available() and not _is_traced(self.step.value):
            # float32 could round λ differently from the host: read the step instead.
            step = self.current_step() + steps
            self.step.assign(step)
            if self._schedule is not None:
                self.lambda_.assign(self._schedule(step))
        elif _assigns_eager_tf_variables():
            self._eager_advance()(steps)
        else:
            self._advance_in_place(steps)

    # -- Keras mechanics ---------------------------------------------------------------
    def current_step(self) -> int:
        """The ``step`` weight as a Python int (reads the variable on the host)."""
        return int(keras.ops.convert_to_numpy(self.step.value))

    def _advance_in_place(self, steps: int) -> None:
        """``step += steps``; ``λ = schedule(step)`` on the device: no host read, so it
        runs inside compiled steps too (``tf.function``, XLA, ``StatelessScope``)."""
        self.step.assign_add(steps)
        if self._schedule is not None:
            value = scheduled_lambda(self._schedule, self.step.value, self.lambda_.dtype)
            self.lambda_.assign(value)

    def _eager_advance(self) -> Callable[[int], None]:
        """:meth:`_advance_in_place` as one compiled TensorFlow call, for eager callers."""
        function = _EAGER_ADVANCE.get(self)
        if function is None:
            import tensorflow as tf

            from grl.backends.tf.eager_update import EagerUpdate

            layer = weakref.ref(self)  # the cache must not keep its key alive
            # One XLA call cannot update a variable that lives on several devices.
            xla = not isinstance(self.step.value, tf.distribute.DistributedValues)
            function = EagerUpdate(lambda steps: layer()._advance_in_place(steps), xla=xla)
            _EAGER_ADVANCE[self] = function
        return function

    def _check_saved(self, lambda_value: Any, step_value: Any) -> None:
        problem = contract.saved_state_problem(lambda_value, step_value)
        if problem is not None:
            raise ValueError(f"GradientReversal {self.name!r}: {problem}")

    def _after_load(self) -> None:
        if self._schedule is not None:
            step = self.current_step()
            self.lambda_.assign(self._schedule(step))
            self._resumed_at(step)

    def set_weights(self, weights: Any) -> None:
        """Keras' ``set_weights``, with λ and the step validated first."""
        if len(weights) == len(self.weights):
            values = dict(zip((id(w) for w in self.weights), weights, strict=True))
            lambda_value, step_value = values[id(self.lambda_)], values[id(self.step)]
            self._check_saved(np.asarray(lambda_value), np.asarray(step_value))
        super().set_weights(weights)
        self._after_load()

    def load_own_variables(self, store: Any) -> None:
        """Keras' loading (``load_model``, ``load_weights``), validated first."""
        variables = self._trainable_variables + self._non_trainable_variables
        # .keys(): the H5 store of Keras 3.8 (the floor) has no __contains__, so `in store`
        # would index it with integers (min-versions check).
        names = set(store.keys())
        values = {id(v): store[str(i)] for i, v in enumerate(variables) if str(i) in names}
        self._check_saved(_saved(values.get(id(self.lambda_))), _saved(values.get(id(self.step))))
        super().load_own_variables(store)
        self._after_load()

    def call(self, inputs: Any, training: bool | None = None) -> Any:
        check_input_dtype(inputs)
        if training:
            # Checked when the step is traced: an unresolved total_steps="auto" has no λ.
            self._require_resolved("training call")
            if self._advance_watch is not None and _in_traced_step(inputs):
                from grl.backends.keras.callback import watch_advancing  # imports this module

                watch_advancing(self)
            elif self._advance_watch is not None:
                self._training_pass()
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
            contract.parse_lambda(config["lambda_"])
        return super().from_config(config)

    def get_config(self) -> dict[str, Any]:
        schedule = self._schedule
        lambda_ = self._initial_lambda if schedule is None else schedule.get_config()
        return {**super().get_config(), "lambda_": lambda_}


def _saved(value: Any) -> np.ndarray | None:
    """A stored weight (an h5 dataset, an array) as a NumPy array, or None if absent."""
    return None if value is None else np.asarray(value)
