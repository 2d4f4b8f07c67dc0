"""Conformance adapter for grl.torch."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
import torch._dynamo.testing

import grl.torch as grl_torch
from grl.conformance.frameworks.torch import CallableAdapter
from grl.core import schedules
from tests.conformance.adapters.base import Adapter


class TorchAdapter(CallableAdapter, Adapter):
    """The kit's callable adapter driving ``grl.torch.gradient_reversal``, plus the layer."""

    def __init__(self) -> None:
        super().__init__(grl_torch.gradient_reversal)

    def lambda_gradient_is_zero(self, x: np.ndarray, lambda_value: float) -> bool:
        # A λ that requires grad is refused outright (a clear ValueError), so λ can never
        # receive a gradient; the Function's backward returns None for it as well.
        lam = torch.tensor(lambda_value, requires_grad=True)
        try:
            grl_torch.gradient_reversal(self.from_numpy(x), lam)
        except ValueError as error:
            return "lambda_" in str(error) and "grad" in str(error)
        return False

    def compile_count(self, x: np.ndarray, lambdas: Sequence[float]) -> tuple[int, list]:
        counter = torch._dynamo.testing.CompileCounterWithBackend("inductor")
        torch.compiler.reset()
        layer = grl_torch.GradientReversal(lambdas[0])

        @torch.compile(fullgraph=True, backend=counter)
        def step(x: torch.Tensor) -> torch.Tensor:
            return torch.sin(layer(x)).sum()

        grads = []
        for value in lambdas:
            layer.set_lambda(value)
            xt = self.from_numpy(x).requires_grad_(True)
            step(xt).backward()
            grads.append(self.to_numpy(xt.grad))
        return counter.frame_count, grads

    def backward_uses_forward_lambda(self, x: np.ndarray, before: float, after: float) -> Any:
        layer = grl_torch.GradientReversal(before)
        xt = self.from_numpy(x).requires_grad_(True)
        y = layer(xt)
        layer.set_lambda(after)
        y.sum().backward()
        return self.to_numpy(xt.grad)

    def make_layer(self, lambda_: float) -> Any:
        return grl_torch.GradientReversal(lambda_)

    def layer_lambda(self, layer: Any) -> tuple[float, str]:
        return float(layer.lambda_), str(layer.lambda_.dtype).removeprefix("torch.")

    def layer_state_has_lambda(self, layer: Any) -> bool:
        state = layer.state_dict()
        return "lambda_" in state and state["lambda_"].ndim == 0

    def layer_vjp(self, layer: Any, x: np.ndarray, g: np.ndarray) -> np.ndarray:
        xt = self.from_numpy(x).requires_grad_(True)
        (grad,) = torch.autograd.grad(layer(xt), xt, self.from_numpy(g))
        return self.to_numpy(grad)

    # -- the layer contract -------------------------------------------------------------
    layer_kinds = ("module",)

    def contract_layer(self, kind: str, lambda_: Any) -> grl_torch.GradientReversal:
        assert kind == "module"
        return grl_torch.GradientReversal(lambda_)

    def contract_state(self, handle: Any) -> tuple[float, str, int]:
        value, dtype = self.layer_lambda(handle)
        return value, dtype, int(handle.step_count)

    def contract_set_lambda(self, handle: Any, value: Any) -> None:
        handle.set_lambda(value)

    def contract_advance(self, handle: Any, steps: Any) -> None:
        assert handle.advance(steps) is None

    def contract_train(self, handle: Any, batches: int) -> Any:
        model = torch.nn.Sequential(torch.nn.Linear(3, 3), handle, torch.nn.Linear(3, 1))
        optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
        for _ in range(batches):
            optimizer.zero_grad()
            model(torch.ones(4, 3)).sum().backward()
            optimizer.step()
            grl_torch.step_all(model)
        return handle

    def contract_checkpoint(self, handle: Any, kind: str, lambda_: Any) -> Any:
        buffer = io.BytesIO()
        torch.save(handle.state_dict(), buffer)
        buffer.seek(0)
        restored = self.contract_layer(kind, lambda_)
        restored.load_state_dict(torch.load(buffer))
        return restored

    def contract_load_state(self, handle: Any, lambda_value: float, step: int) -> None:
        state = {"lambda_": torch.tensor(lambda_value), "step_count": torch.tensor(step)}
        handle.load_state_dict(state)

    def device_schedule(self, schedule: Any, steps: np.ndarray) -> np.ndarray:
        # The float64 torch path of grl.core.schedules.evaluate (the module itself computes
        # λ on the host and writes it into its buffer).
        return schedules.evaluate(schedule, torch.from_numpy(steps), torch).numpy()
