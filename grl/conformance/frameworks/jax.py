"""The conformance adapter for a JAX ``f(x, lambda_)`` (run with 64-bit types enabled)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from grl.conformance.adapter import Adapter


class CallableAdapter(Adapter):
    """Drives ``fn(x, lambda_)``: ``vjp``, ``jit``, ``grad``/``jacrev``/``jacfwd``/
    ``hessian``/``vmap`` compositions, ``jvp`` and ``linearize``."""

    name = "jax"
    second_order_methods = (
        "grad_grad",
        "jacrev_jacrev",
        "jacfwd_jacrev",
        "hessian",
        "grad_grad_jit",
        "hessian_vmap",
    )
    forward_mode_methods = ("jvp", "jacfwd", "jvp_jit", "linearize")
    flush_to_zero = True
    compiled_forward_mode_method = "jvp_jit"
    complex_zero_sign_free = True

    def __init__(self, fn: Callable[..., Any] | None = None) -> None:
        self.fn = fn

    def apply(self, x: jax.Array, lambda_: Any) -> jax.Array:
        """The implementation under test; override it for another signature."""
        return self.fn(x, lambda_)

    def run(self, fn: Callable[[], Any]) -> Any:
        with jax.enable_x64(True):
            return fn()

    def from_numpy(self, array: np.ndarray) -> jax.Array:
        return self.run(lambda: jnp.asarray(array))

    def to_numpy(self, tensor: Any) -> np.ndarray:
        return np.asarray(tensor)

    def make_lambda(self, value: float, dtype: str) -> jax.Array:
        return self.run(lambda: jnp.asarray(value, dtype=dtype))

    def _native(self, lambda_: Any) -> Any:
        return self.make_lambda(*lambda_) if isinstance(lambda_, tuple) else lambda_

    def forward(self, x: Any, lambda_: Any) -> jax.Array:
        return self.run(lambda: self.apply(x, lambda_))

    def shares_memory(self, x: jax.Array, y: jax.Array) -> bool:
        return x.unsafe_buffer_pointer() == y.unsafe_buffer_pointer()

    def _vjp(self, x: jax.Array, lam: Any, g: jax.Array) -> jax.Array:
        _, pullback = jax.vjp(lambda v: self.apply(v, lam), x)
        return pullback(g)[0]

    def vjp(self, x: np.ndarray, lambda_: Any, g: np.ndarray) -> np.ndarray:
        return self.run(
            lambda: np.asarray(self._vjp(jnp.asarray(x), self._native(lambda_), jnp.asarray(g)))
        )

    def vjp_compiled(self, x: np.ndarray, lambda_: Any, g: np.ndarray) -> np.ndarray:
        def compiled() -> np.ndarray:
            lam = self._native(lambda_)
            if not isinstance(lam, jax.Array):
                lam = jnp.asarray(float(lam), dtype=jnp.float64)
            return np.asarray(jax.jit(self._vjp)(jnp.asarray(x), lam, jnp.asarray(g)))

        return self.run(compiled)

    def _sum_sin(self, x: jax.Array, lambda_: Any) -> jax.Array:
        return jnp.sum(jnp.sin(self.apply(x, lambda_)))

    def lambda_gradient_is_zero(self, x: np.ndarray, lambda_value: float) -> bool:
        def grad() -> Any:
            f = lambda lam: self._sum_sin(jnp.asarray(x), lam)  # noqa: E731
            return jax.grad(f)(jnp.asarray(lambda_value))

        return bool(self.run(grad) == 0)

    def second_derivative(self, x: np.ndarray, lambda_: float, method: str) -> np.ndarray:
        def compute() -> Any:
            xt = jnp.asarray(x)
            f = lambda v: self._sum_sin(v, lambda_)  # noqa: E731
            grad_sum = jax.grad(lambda v: jnp.sum(jax.grad(f)(v)))
            if method == "grad_grad":
                return grad_sum(xt)
            if method == "grad_grad_jit":
                return jax.jit(grad_sum)(xt)
            if method == "jacrev_jacrev":
                return jnp.diagonal(jax.jacrev(jax.jacrev(f))(xt))
            if method == "jacfwd_jacrev":
                return jnp.diagonal(jax.jacfwd(jax.jacrev(f))(xt))
            if method == "hessian":
                return jnp.diagonal(jax.hessian(f)(xt))
            if method == "hessian_vmap":
                scalar = lambda s: jnp.sin(self.apply(s, lambda_))  # noqa: E731
                return jax.vmap(jax.hessian(scalar))(xt)
            raise ValueError(method)

        return self.run(lambda: np.asarray(compute()))

    def forward_mode(self, x: np.ndarray, lambda_: float, t: np.ndarray, method: str) -> Any:
        def compute() -> Any:
            xt, tt = jnp.asarray(x), jnp.asarray(t)
            grl = lambda v: self.apply(v, lambda_)  # noqa: E731
            if method == "jvp":
                return jax.jvp(grl, (xt,), (tt,))[1]
            if method == "jvp_jit":
                return jax.jit(lambda a, b: jax.jvp(grl, (a,), (b,))[1])(xt, tt)
            if method == "jacfwd":
                jac = jax.jacfwd(grl)(xt).reshape(xt.size, xt.size)
                return (jac @ tt.reshape(-1)).reshape(xt.shape)
            if method == "linearize":
                return jax.linearize(grl, xt)[1](tt)
            raise ValueError(method)

        return self.run(lambda: np.asarray(compute()))

    def compile_count(self, x: np.ndarray, lambdas: Sequence[float]) -> tuple[int, list]:
        traces = []

        @jax.jit
        def step(x: jax.Array, lam: jax.Array) -> jax.Array:
            traces.append(1)  # Python side effect: runs once per trace.
            return jax.grad(lambda v: self._sum_sin(v, lam))(x)

        def steps() -> list:
            return [
                np.asarray(step(jnp.asarray(x), jnp.asarray(v, dtype=jnp.float32))) for v in lambdas
            ]

        grads = self.run(steps)
        return len(traces), grads
