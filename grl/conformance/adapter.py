"""The interface between the conformance checks and one implementation of the GRL.

Arrays cross the boundary as NumPy arrays (``bfloat16`` as ``ml_dtypes.bfloat16``); λ
crosses as a Python number or a ``(value, dtype_name)`` pair for a 0-d framework tensor.
A method that an adapter does not implement raises :class:`AdapterLacks` (a
``NotImplementedError``), and every check that needs it is reported as not applicable; a
``NotImplementedError`` raised by the framework itself (a custom function without a
forward-mode rule, say) is a failure.

:mod:`grl.conformance.frameworks` has one adapter per framework that wraps a callable
``f(x, lambda_)``; an implementation with another signature overrides :meth:`Adapter.apply`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

#: f(x) = sum(sin(GRL_λ(x))); its Hessian is diag(−λ²·sin x).
SECOND_ORDER_TARGET = "sum(sin(grl(x)))"


class AdapterLacks(NotImplementedError):
    """The adapter does not implement this method: the checks that need it do not apply."""

    def __init__(self, method: str = "") -> None:
        super().__init__(f"the adapter does not implement {method}" if method else "")


class Adapter:
    name: str = ""
    #: The name the implementation gives λ: its errors must mention it.
    lambda_name: str = "lambda_"
    #: False for an implementation without λ (always −I): checks then use λ = 1 only and
    #: the λ checks (bad values, tensors, recompiles) do not apply.
    takes_lambda: bool = True
    #: Ways this framework composes second derivatives (each checked against −λ²·sin x).
    second_order_methods: Sequence[str] = ()
    #: Ways this framework computes forward-mode derivatives (each must give −λ·t).
    forward_mode_methods: Sequence[str] = ()
    #: Forward-mode methods that cannot be supported and must raise (method -> exception).
    forward_mode_errors: ClassVar[dict[str, type[BaseException]]] = {}
    #: The forward-mode method that runs under the framework's compiler (when supported).
    compiled_forward_mode_method: str = ""
    #: True where CPU arithmetic flushes subnormals to zero (TensorFlow, XLA).
    flush_to_zero: bool = False
    #: True where the sign of exactly-zero complex parts is not controlled (JAX builds the
    #: complex backward by transposing real/imag ops, which adds +0 to each part).
    complex_zero_sign_free: bool = False
    #: Tolerance of the second-derivative check (float64 sin and cos as the framework
    #: computes them; every sign or factor error is of order 1).
    second_order_tolerance: float = 1e-12
    #: Gradient dtypes the framework has (MLX has no complex128).
    dtypes: Sequence[str] = (
        "float16",
        "bfloat16",
        "float32",
        "float64",
        "complex64",
        "complex128",
    )

    # -- arrays -----------------------------------------------------------------------
    def from_numpy(self, array: np.ndarray) -> Any:
        raise AdapterLacks("from_numpy")

    def to_numpy(self, tensor: Any) -> np.ndarray:
        raise AdapterLacks("to_numpy")

    def make_lambda(self, value: float, dtype: str) -> Any:
        """λ as a 0-d framework tensor of ``dtype``."""
        raise AdapterLacks("make_lambda")

    def non_contiguous(self, array: np.ndarray) -> Any:
        """A framework tensor holding ``array``'s values in a non-contiguous layout, if
        the framework has such layouts; else the plain tensor."""
        return self.from_numpy(array)

    # -- the op -----------------------------------------------------------------------
    def forward(self, x: Any, lambda_: Any) -> Any:
        raise AdapterLacks("forward")

    def shares_memory(self, x: Any, y: Any) -> bool | None:
        """Whether ``y`` aliases ``x``'s buffer (None: the framework cannot tell)."""
        return None

    def vjp(self, x: np.ndarray, lambda_: Any, g: np.ndarray) -> np.ndarray:
        """The backward of the GRL for upstream ``g``, eagerly."""
        raise AdapterLacks("vjp")

    def vjp_compiled(self, x: np.ndarray, lambda_: Any, g: np.ndarray) -> np.ndarray:
        """The same under the framework's compiler (torch.compile / XLA / jax.jit)."""
        raise AdapterLacks("vjp_compiled")

    def lambda_gradient_is_zero(self, x: np.ndarray, lambda_value: float) -> bool:
        """Differentiate w.r.t. a λ tensor: True when it receives no (or a zero) gradient."""
        raise AdapterLacks("lambda_gradient_is_zero")

    def second_derivative(self, x: np.ndarray, lambda_: float, method: str) -> np.ndarray:
        """diag of the Hessian of ``sum(sin(grl(x)))`` composed the ``method`` way."""
        raise AdapterLacks("second_derivative")

    def forward_mode(self, x: np.ndarray, lambda_: float, t: np.ndarray, method: str) -> Any:
        """The JVP of the GRL at ``x`` along ``t``."""
        raise AdapterLacks("forward_mode")

    def compile_count(self, x: np.ndarray, lambdas: Sequence[float]) -> tuple[int, list]:
        """Run one compiled training-like step per λ (λ passed as a tensor); return the
        number of compiles/traces and the gradients (NumPy) of each step."""
        raise AdapterLacks("compile_count")

    def backward_uses_forward_lambda(self, x: np.ndarray, before: float, after: float) -> Any:
        """Forward with a mutable λ = ``before``, set it to ``after``, then backward;
        return the gradient (of sum) as NumPy."""
        raise AdapterLacks("backward_uses_forward_lambda")

    # -- the layer --------------------------------------------------------------------
    def make_layer(self, lambda_: Any) -> Any:
        raise AdapterLacks("make_layer")

    def layer_lambda(self, layer: Any) -> tuple[float, str]:
        """The layer's current λ and its storage dtype name."""
        raise AdapterLacks("layer_lambda")

    def layer_state_has_lambda(self, layer: Any) -> bool:
        """True when λ is part of what the framework saves for the layer."""
        raise AdapterLacks("layer_state_has_lambda")

    def layer_vjp(self, layer: Any, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        raise AdapterLacks("layer_vjp")

    def set_layer_lambda(self, layer: Any, value: Any) -> None:
        layer.set_lambda(value)

    def layer_step(self, layer: Any) -> int:
        """The layer's step count (for the stepping check)."""
        raise AdapterLacks("layer_step")

    def advance_layer(self, layer: Any, steps: int) -> None:
        layer.advance(steps)

    # -- helpers ----------------------------------------------------------------------
    def run(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` in the framework's conformance context (e.g. JAX's x64 mode)."""
        return fn()
