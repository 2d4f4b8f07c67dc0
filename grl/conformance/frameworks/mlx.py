"""The conformance adapter for an MLX ``f(x, lambda_)``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import ml_dtypes
import mlx.core as mx
import numpy as np

from grl.conformance.adapter import Adapter

_DTYPES = {
    "float16": mx.float16,
    "bfloat16": mx.bfloat16,
    "float32": mx.float32,
    "float64": mx.float64,
    "complex64": mx.complex64,
    "int32": mx.int32,
    "int64": mx.int64,
    "uint8": mx.uint8,
    "bool": mx.bool_,
}


class CallableAdapter(Adapter):
    """Drives ``fn(x, lambda_)``: ``mx.vjp``/``grad``/``jvp``, ``mx.compile``, ``mx.vmap``."""

    name = "mlx"
    second_order_methods = ("grad_grad", "grad_grad_compile", "jvp_grad", "vmap_grad_grad")
    forward_mode_methods = ("jvp", "vmap_jvp")
    compiled_forward_mode_method = "jvp_compile"
    #: MLX has no complex128 (float64 runs on the CPU only).
    dtypes = ("float16", "bfloat16", "float32", "float64", "complex64")
    #: MLX's float64 sin and cos are float32-accurate on the CPU (sin is off by up to
    #: 2.8e-8 on [−3, 3]), so −λ²·sin x is compared at that accuracy.
    second_order_tolerance = 1e-7

    def __init__(self, fn: Callable[..., Any] | None = None) -> None:
        self.fn = fn

    def apply(self, x: mx.array, lambda_: Any) -> mx.array:
        """The implementation under test; override it for another signature."""
        return self.fn(x, lambda_)

    def from_numpy(self, array: np.ndarray) -> mx.array:
        if array.dtype == ml_dtypes.bfloat16:
            return mx.array(array.view(np.uint16)).view(mx.bfloat16)
        # The dtype is explicit: MLX would turn float64 NumPy data into float32.
        return mx.array(array, dtype=_DTYPES[array.dtype.name])

    def to_numpy(self, tensor: mx.array) -> np.ndarray:
        if tensor.dtype == mx.bfloat16:
            return np.array(tensor.view(mx.uint16)).view(ml_dtypes.bfloat16)
        return np.array(tensor)

    def make_lambda(self, value: float, dtype: str) -> mx.array:
        return mx.array(value, dtype=_DTYPES[dtype])

    def _native(self, lambda_: Any) -> Any:
        return self.make_lambda(*lambda_) if isinstance(lambda_, tuple) else lambda_

    def non_contiguous(self, array: np.ndarray) -> mx.array:
        return self.from_numpy(np.repeat(array[..., None], 2, axis=-1))[..., 0]

    def forward(self, x: Any, lambda_: Any) -> mx.array:
        return self.apply(x, lambda_)

    def shares_memory(self, x: mx.array, y: mx.array) -> bool:
        def address(a: mx.array) -> int:
            raw = a.view(mx.uint16) if a.dtype == mx.bfloat16 else a
            return np.asarray(raw).__array_interface__["data"][0]

        return address(x) == address(y)

    def _vjp(self, x: mx.array, lam: Any, g: mx.array) -> mx.array:
        return mx.vjp(lambda v: self.apply(v, lam), [x], [g])[1][0]

    def vjp(self, x: np.ndarray, lambda_: Any, g: np.ndarray) -> np.ndarray:
        grad = self._vjp(self.from_numpy(x), self._native(lambda_), self.from_numpy(g))
        return self.to_numpy(grad)

    def vjp_compiled(self, x: np.ndarray, lambda_: Any, g: np.ndarray) -> np.ndarray:
        lam = self._native(lambda_)
        if not isinstance(lam, mx.array):
            lam = mx.array(float(lam), dtype=mx.float64 if x.dtype == np.float64 else mx.float32)
        grad = mx.compile(self._vjp)(self.from_numpy(x), lam, self.from_numpy(g))
        return self.to_numpy(grad)

    def _sum_sin(self, x: mx.array, lambda_: Any) -> mx.array:
        return mx.sum(mx.sin(self.apply(x, lambda_)))

    def lambda_gradient_is_zero(self, x: np.ndarray, lambda_value: float) -> bool:
        xt = self.from_numpy(x)
        grad = mx.grad(lambda lam: self._sum_sin(xt, lam))(mx.array(lambda_value))
        return not bool(mx.any(grad != 0).item())

    def second_derivative(self, x: np.ndarray, lambda_: float, method: str) -> np.ndarray:
        xt = self.from_numpy(x)
        f = lambda v: self._sum_sin(v, lambda_)  # noqa: E731
        grad_sum = mx.grad(lambda v: mx.sum(mx.grad(f)(v)))
        if method == "grad_grad":
            return self.to_numpy(grad_sum(xt))
        if method == "grad_grad_compile":
            return self.to_numpy(mx.compile(grad_sum)(xt))
        if method == "jvp_grad":  # forward over reverse: H·1 = diag(H) (H is diagonal)
            return self.to_numpy(mx.jvp(mx.grad(f), [xt], [mx.ones_like(xt)])[1][0])
        if method == "vmap_grad_grad":
            scalar = lambda s: mx.sin(self.apply(s, lambda_))  # noqa: E731
            return self.to_numpy(mx.vmap(mx.grad(mx.grad(scalar)))(xt))
        raise ValueError(method)

    def forward_mode(self, x: np.ndarray, lambda_: float, t: np.ndarray, method: str) -> Any:
        xt, tt = self.from_numpy(x), self.from_numpy(t)

        def jvp(a: mx.array, b: mx.array) -> mx.array:
            return mx.jvp(lambda v: self.apply(v, lambda_), [a], [b])[1][0]

        if method == "jvp":
            return self.to_numpy(jvp(xt, tt))
        if method == "jvp_compile":
            return self.to_numpy(mx.compile(jvp)(xt, tt))
        if method == "vmap_jvp":
            return self.to_numpy(mx.vmap(jvp)(xt, tt))
        raise ValueError(method)

    def compile_count(self, x: np.ndarray, lambdas: Sequence[float]) -> tuple[int, list]:
        # mlx 0.32 may trace a compiled function that takes a gradient twice over its first
        # calls even with identical inputs (depending on what was compiled before in the
        # process): two warm-up calls at the first λ, then the count is 1 + the traces that
        # the λ values add.
        traces = []

        @mx.compile
        def step(x: mx.array, lam: mx.array) -> mx.array:
            traces.append(1)  # Python side effect: runs once per trace.
            return mx.grad(lambda v: self._sum_sin(v, lam))(x)

        xt = self.from_numpy(x)
        for _ in range(2):
            mx.eval(step(xt, mx.array(lambdas[0])))
        warm = len(traces)
        grads = [self.to_numpy(step(xt, mx.array(v))) for v in lambdas]
        return 1 + len(traces) - warm, grads
