"""Conformance adapter for grl.jax (run in x64 mode so float64 is covered)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import enable_x64  # the public, thread-local x64 switch

import grl.jax as grl_jax
from grl.conformance.frameworks.jax import CallableAdapter
from grl.core import schedules
from tests.conformance.adapters.base import Adapter


class JaxAdapter(CallableAdapter, Adapter):
    """The kit's callable adapter driving ``grl.jax.gradient_reversal``, plus the layers."""

    def __init__(self) -> None:
        super().__init__(grl_jax.gradient_reversal)

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

    # -- the layer contract: the Flax NNX module and the Linen module ---------------------
    layer_kinds = ("nnx", "linen")

    def contract_layer(self, kind: str, lambda_: Any) -> Any:
        if kind == "nnx":
            return _nnx().GradientReversal(lambda_)
        model = _linen().GradientReversal(lambda_)
        return _LinenLayer(model, model.init(jax.random.key(0), jnp.ones(2)))

    def contract_state(self, handle: Any) -> tuple[float, str, int]:
        if isinstance(handle, _LinenLayer):
            value = handle.model.apply(handle.variables, method="current_lambda")
            step = handle.variables["grl"]["step"]
        else:
            value, step = handle.lambda_[...], handle.step[...]
        assert value.shape == () and step.dtype == jnp.int32
        return float(value), str(value.dtype), int(step)

    def contract_set_lambda(self, handle: Any, value: Any) -> None:
        if isinstance(handle, _LinenLayer):
            handle.apply_mutable(value, method="set_lambda")
        else:
            assert handle.set_lambda(value) is None

    def contract_advance(self, handle: Any, steps: Any) -> None:
        if isinstance(handle, _LinenLayer):
            handle.variables = _linen().advance(handle.variables, steps)
        else:
            assert handle.advance(steps) is None

    def contract_train(self, handle: Any, batches: int) -> Any:
        import optax
        from flax import nnx

        if isinstance(handle, _LinenLayer):
            return self._train_linen(handle, batches)
        model = nnx.Sequential(
            nnx.Linear(3, 3, rngs=nnx.Rngs(0)), handle, nnx.Linear(3, 1, rngs=nnx.Rngs(1))
        )
        optimizer = nnx.Optimizer(model, optax.sgd(0.01), wrt=nnx.Param)

        @nnx.jit
        def step(model: Any, optimizer: Any, x: jax.Array) -> None:
            grads = nnx.grad(lambda m: jnp.sum(m(x)))(model)
            optimizer.update(model, grads)
            model.layers[1].advance()

        for _ in range(batches):
            step(model, optimizer, jnp.ones((4, 3)))
        return handle

    def _train_linen(self, handle: Any, batches: int) -> Any:
        import flax.linen as nn
        import optax

        layer = handle.model

        class Model(nn.Module):
            @nn.compact
            def __call__(self, x: jax.Array) -> jax.Array:
                return nn.Dense(1)(layer.copy(name="grl")(nn.Dense(3)(x)))

        model, x = Model(), jnp.ones((4, 3))
        variables = model.init(jax.random.key(0), x)
        tx = optax.sgd(0.01)
        opt_state = tx.init(variables["params"])

        @jax.jit
        def step(variables: Any, opt_state: Any) -> tuple[Any, Any]:
            loss = lambda p: jnp.sum(model.apply({**variables, "params": p}, x))  # noqa: E731
            updates, opt_state = tx.update(jax.grad(loss)(variables["params"]), opt_state)
            params = optax.apply_updates(variables["params"], updates)
            return _linen().advance({**variables, "params": params}), opt_state

        for _ in range(batches):
            variables, opt_state = step(variables, opt_state)
        handle.variables = {"grl": variables["grl"]["grl"]}
        return handle

    def contract_checkpoint(self, handle: Any, kind: str, lambda_: Any) -> Any:
        from flax import nnx

        restored = self.contract_layer(kind, lambda_)
        if isinstance(handle, _LinenLayer):
            # Linen's checkpoint is its variables: serialised to bytes and restored.
            from flax import serialization

            data = serialization.to_bytes(handle.variables)
            restored.variables = serialization.from_bytes(restored.variables, data)
            restored.model.apply(restored.variables, jnp.ones(2))  # loading checks them
        else:
            state = jax.tree.map(np.asarray, nnx.state(handle))  # to the host and back
            nnx.update(restored, jax.tree.map(jnp.asarray, state))
        return restored

    def contract_load_state(self, handle: Any, lambda_value: float, step: int) -> None:
        from flax import nnx

        lam, step = jnp.asarray(lambda_value, jnp.float32), jnp.asarray(step, jnp.int32)
        if isinstance(handle, _LinenLayer):
            variables = {"grl": {"step": step, "lambda_": lam}}
            handle.model.apply(variables, jnp.ones(2))  # the native path: apply them
            handle.variables = variables
        else:
            state = jax.tree.map(jnp.asarray, nnx.state(handle))  # a copy, as if loaded
            state["lambda_"][...], state["step"][...] = lam, step
            nnx.update(handle, state)

    def device_schedule(self, schedule: Any, steps: np.ndarray) -> np.ndarray:
        with enable_x64(True):
            compute = jax.jit(lambda s: schedules.evaluate(schedule, s, jnp))
            return np.asarray(compute(jnp.asarray(steps)))


class _LinenLayer:
    """A Linen module with its variables (Linen keeps them apart)."""

    def __init__(self, model: Any, variables: Any) -> None:
        self.model, self.variables = model, variables

    def apply_mutable(self, *args: Any, method: str) -> None:
        _, mutated = self.model.apply(self.variables, *args, method=method, mutable=["grl"])
        self.variables = {**self.variables, **mutated}


def _linen() -> Any:
    _nnx()  # the same skip or failure without flax
    return grl_jax.linen


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
