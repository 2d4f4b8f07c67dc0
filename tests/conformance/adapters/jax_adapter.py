"""Conformance adapter for grl.jax (run in x64 mode so float64 is covered)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import enable_x64  # the public, thread-local x64 switch

import grl.jax as grl_jax
from tests.conformance.adapters.base import Adapter


def _sum_sin(x: jax.Array, lambda_: Any) -> jax.Array:
    return jnp.sum(jnp.sin(grl_jax.gradient_reversal(x, lambda_)))


class JaxAdapter(Adapter):
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

    def run(self, fn: Callable[[], Any]) -> Any:
        with enable_x64(True):
            return fn()

    def from_numpy(self, array: np.ndarray) -> jax.Array:
        with enable_x64(True):
            return jnp.asarray(array)

    def to_numpy(self, tensor: Any) -> np.ndarray:
        return np.asarray(tensor)

    def make_lambda(self, value: float, dtype: str) -> jax.Array:
        with enable_x64(True):
            return jnp.asarray(value, dtype=dtype)

    def forward(self, x: Any, lambda_: Any) -> jax.Array:
        with enable_x64(True):
            return grl_jax.gradient_reversal(x, lambda_)

    def shares_memory(self, x: jax.Array, y: jax.Array) -> bool:
        return x.unsafe_buffer_pointer() == y.unsafe_buffer_pointer()

    def _native_lambda(self, lambda_: Any) -> Any:
        return self.make_lambda(*lambda_) if isinstance(lambda_, tuple) else lambda_

    def vjp(self, x: np.ndarray, lambda_: Any, g: np.ndarray) -> np.ndarray:
        with enable_x64(True):
            lam = self._native_lambda(lambda_)
            _, pullback = jax.vjp(lambda v: grl_jax.gradient_reversal(v, lam), jnp.asarray(x))
            return np.asarray(pullback(jnp.asarray(g))[0])

    def vjp_compiled(self, x: np.ndarray, lambda_: Any, g: np.ndarray) -> np.ndarray:
        with enable_x64(True):
            lam = self._native_lambda(lambda_)
            if not isinstance(lam, jax.Array):
                lam = jnp.asarray(float(lam), dtype=jnp.float64)

            @jax.jit
            def step(x: jax.Array, g: jax.Array, lam: jax.Array) -> jax.Array:
                _, pullback = jax.vjp(lambda v: grl_jax.gradient_reversal(v, lam), x)
                return pullback(g)[0]

            return np.asarray(step(jnp.asarray(x), jnp.asarray(g), lam))

    def lambda_gradient_is_zero(self, x: np.ndarray, lambda_value: float) -> bool:
        with enable_x64(True):
            grad = jax.grad(lambda lam: _sum_sin(jnp.asarray(x), lam))(jnp.asarray(lambda_value))
            return bool(grad == 0)

    def second_derivative(self, x: np.ndarray, lambda_: float, method: str) -> np.ndarray:
        with enable_x64(True):
            xt = jnp.asarray(x)
            f = lambda v: _sum_sin(v, lambda_)  # noqa: E731
            if method == "grad_grad":
                return np.asarray(jax.grad(lambda v: jnp.sum(jax.grad(f)(v)))(xt))
            if method == "grad_grad_jit":
                return np.asarray(jax.jit(jax.grad(lambda v: jnp.sum(jax.grad(f)(v))))(xt))
            if method == "jacrev_jacrev":
                return np.asarray(jnp.diagonal(jax.jacrev(jax.jacrev(f))(xt)))
            if method == "jacfwd_jacrev":
                return np.asarray(jnp.diagonal(jax.jacfwd(jax.jacrev(f))(xt)))
            if method == "hessian":
                return np.asarray(jnp.diagonal(jax.hessian(f)(xt)))
            if method == "hessian_vmap":
                scalar = lambda s: jnp.sin(grl_jax.gradient_reversal(s, lambda_))  # noqa: E731
                return np.asarray(jax.vmap(jax.hessian(scalar))(xt))
            raise ValueError(method)

    def forward_mode(self, x: np.ndarray, lambda_: float, t: np.ndarray, method: str) -> Any:
        with enable_x64(True):
            xt, tt = jnp.asarray(x), jnp.asarray(t)
            grl = lambda v: grl_jax.gradient_reversal(v, lambda_)  # noqa: E731
            if method == "jvp":
                return np.asarray(jax.jvp(grl, (xt,), (tt,))[1])
            if method == "jvp_jit":
                return np.asarray(jax.jit(lambda a, b: jax.jvp(grl, (a,), (b,))[1])(xt, tt))
            if method == "jacfwd":
                jac = jax.jacfwd(grl)(xt).reshape(xt.size, xt.size)
                return np.asarray((jac @ tt.reshape(-1)).reshape(xt.shape))
            if method == "linearize":
                _, linear = jax.linearize(grl, xt)
                return np.asarray(linear(tt))
            raise ValueError(method)

    def compile_count(self, x: np.ndarray, lambdas: Sequence[float]) -> tuple[int, list]:
        traces = []

        @jax.jit
        def step(x: jax.Array, lam: jax.Array) -> jax.Array:
            traces.append(1)  # Python side effect: runs once per trace.
            return jax.grad(lambda v: _sum_sin(v, lam))(x)

        with enable_x64(True):
            grads = [
                np.asarray(step(jnp.asarray(x), jnp.asarray(v, dtype=jnp.float32))) for v in lambdas
            ]
        return len(traces), grads

    def backward_uses_forward_lambda(self, x: np.ndarray, before: float, after: float) -> Any:
        # JAX arrays are immutable: the pullback closes over the λ of its forward.
        with enable_x64(True):
            lam = jnp.asarray(before, dtype=jnp.float32)
            _, pullback = jax.vjp(lambda v: grl_jax.gradient_reversal(v, lam), jnp.asarray(x))
            lam = jnp.asarray(after, dtype=jnp.float32)  # rebinding cannot reach the pullback
            return np.asarray(pullback(jnp.ones_like(jnp.asarray(x)))[0])

    # The layer is the Flax NNX module (Flax is an optional extra of grl.jax).
    def make_layer(self, lambda_: float) -> Any:
        return self.run(lambda: _nnx().GradientReversal(lambda_))

    def layer_lambda(self, layer: Any) -> tuple[float, str]:
        value = layer.lambda_[...]
        return float(value), str(value.dtype)

    def layer_state_has_lambda(self, layer: Any) -> bool:
        from flax import nnx

        state = nnx.state(layer)
        return "lambda_" in state and state["lambda_"][...].ndim == 0

    def layer_vjp(self, layer: Any, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        with enable_x64(True):
            _, pullback = jax.vjp(layer, jnp.asarray(x))
            return np.asarray(pullback(jnp.asarray(g))[0])

    def set_layer_lambda(self, layer: Any, value: Any) -> None:
        self.run(lambda: layer.set_lambda(value))


def _nnx() -> Any:
    """grl.jax.nnx; a missing Flax skips, or fails when GRL_REQUIRE_BACKENDS names jax."""
    import pytest

    from tests.backends import required_backends

    try:
        import flax  # noqa: F401
    except ImportError as error:
        if "jax" in required_backends():
            pytest.fail(f"the JAX layer needs flax (pip install 'grl[flax]'): {error}")
        pytest.skip("flax is not installed (pip install 'grl[flax]')")
    return grl_jax.nnx
