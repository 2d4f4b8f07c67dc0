"""The interface between the conformance suite and one backend.

Arrays cross the boundary as NumPy arrays (``bfloat16`` as ``ml_dtypes.bfloat16``); λ
crosses as a Python float or a ``(value, dtype_name)`` pair for a 0-d framework tensor.
Every method is small and uses only the framework's public API.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import numpy as np

#: f(x) = sum(sin(GRL_λ(x))); its Hessian is diag(−λ²·sin x).
SECOND_ORDER_TARGET = "sum(sin(grl(x)))"


class Adapter:
    name: str = ""
    #: Ways this backend composes second derivatives (each checked against −λ²·sin x).
    second_order_methods: Sequence[str] = ()
    #: Ways this backend computes forward-mode derivatives (each must give −λ·t).
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

    # -- arrays -----------------------------------------------------------------------
    def from_numpy(self, array: np.ndarray) -> Any:
        raise NotImplementedError

    def to_numpy(self, tensor: Any) -> np.ndarray:
        raise NotImplementedError

    def make_lambda(self, value: float, dtype: str) -> Any:
        """λ as a 0-d framework tensor of ``dtype``."""
        raise NotImplementedError

    def non_contiguous(self, array: np.ndarray) -> Any:
        """A framework tensor holding ``array``'s values in a non-contiguous layout, if
        the framework has such layouts; else the plain tensor."""
        return self.from_numpy(array)

    # -- the op -----------------------------------------------------------------------
    def forward(self, x: Any, lambda_: Any) -> Any:
        raise NotImplementedError

    def shares_memory(self, x: Any, y: Any) -> bool | None:
        """Whether ``y`` aliases ``x``'s buffer (None: the framework cannot tell)."""
        return None

    def vjp(self, x: np.ndarray, lambda_: Any, g: np.ndarray) -> np.ndarray:
        """The backward of the GRL for upstream ``g``, eagerly."""
        raise NotImplementedError

    def vjp_compiled(self, x: np.ndarray, lambda_: Any, g: np.ndarray) -> np.ndarray:
        """The same under the framework's compiler (torch.compile / XLA / jax.jit)."""
        raise NotImplementedError

    def lambda_gradient_is_zero(self, x: np.ndarray, lambda_value: float) -> bool:
        """Differentiate w.r.t. a λ tensor: True when it receives no (or a zero) gradient."""
        raise NotImplementedError

    def second_derivative(self, x: np.ndarray, lambda_: float, method: str) -> np.ndarray:
        """diag of the Hessian of ``sum(sin(grl(x)))`` composed the ``method`` way."""
        raise NotImplementedError

    def forward_mode(self, x: np.ndarray, lambda_: float, t: np.ndarray, method: str) -> Any:
        """The JVP of the GRL at ``x`` along ``t``."""
        raise NotImplementedError

    def compile_count(self, x: np.ndarray, lambdas: Sequence[float]) -> tuple[int, list]:
        """Run one compiled training-like step per λ (λ passed as a tensor); return the
        number of compiles/traces and the gradients (NumPy) of each step."""
        raise NotImplementedError

    def backward_uses_forward_lambda(self, x: np.ndarray, before: float, after: float) -> Any:
        """Forward with a mutable λ = ``before``, set it to ``after``, then backward;
        return the gradient (of sum) as NumPy."""
        raise NotImplementedError

    # -- the layer --------------------------------------------------------------------
    def make_layer(self, lambda_: float) -> Any:
        raise NotImplementedError

    def layer_lambda(self, layer: Any) -> tuple[float, str]:
        """The layer's current λ and its storage dtype name."""
        raise NotImplementedError

    def layer_state_has_lambda(self, layer: Any) -> bool:
        """True when λ is part of what the framework saves for the layer."""
        raise NotImplementedError

    def layer_vjp(self, layer: Any, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def set_layer_lambda(self, layer: Any, value: Any) -> None:
        layer.set_lambda(value)

    # -- the layer contract (grl.core.layer; tests/conformance/test_layer_contract.py) --
    #: This backend's layers, by the name the layer-contract tests use.
    layer_kinds: Sequence[str] = ()

    def contract_layer(self, kind: str, lambda_: Any) -> Any:
        """A new layer of ``kind`` built with ``lambda_`` (a number, a 0-d tensor made by
        :meth:`make_lambda`, a schedule or a config dict, or a bad value to be refused):
        a handle that the other ``contract_*`` methods take."""
        raise NotImplementedError

    def contract_state(self, handle: Any) -> tuple[float, str, int]:
        """The layer's λ (as a Python float), λ's storage dtype name, and its step."""
        raise NotImplementedError

    def contract_set_lambda(self, handle: Any, value: Any) -> None:
        raise NotImplementedError

    def contract_advance(self, handle: Any, steps: Any) -> None:
        raise NotImplementedError

    def contract_train(self, handle: Any, batches: int) -> Any:
        """``batches`` training steps of a small model holding the layer, through the
        framework's own training and stepping path (torch: optimizer step then
        ``step_all``; Keras: ``fit`` with ``GradientReversalScheduler``; NNX: a jitted step
        calling ``advance``; Linen: ``advance(variables)``). Returns the layer's handle."""
        raise NotImplementedError

    def contract_checkpoint(self, handle: Any, kind: str, lambda_: Any) -> Any:
        """Save the layer with the framework's native checkpoint (torch ``state_dict``,
        Keras weights file, NNX state, Linen variables), build a fresh layer of ``kind``
        with ``lambda_`` and restore into it; returns the restored handle."""
        raise NotImplementedError

    def contract_load_state(self, handle: Any, lambda_value: float, step: int) -> None:
        """Load a saved state with this λ and step through the native loading path."""
        raise NotImplementedError

    def device_schedule(self, schedule: Any, steps: np.ndarray) -> np.ndarray:
        """``schedule`` at each of ``steps`` (float64), evaluated by this backend's compiled
        device path (``grl.core.schedules.evaluate`` with the framework's namespace)."""
        raise NotImplementedError

    # -- helpers ----------------------------------------------------------------------
    def run(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` in the backend's conformance context (e.g. JAX's x64 mode)."""
        return fn()
