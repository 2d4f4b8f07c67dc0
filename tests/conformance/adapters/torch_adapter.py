"""Conformance adapter for grl.torch."""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any, ClassVar

import ml_dtypes
import numpy as np
import torch
import torch._dynamo.testing

import grl.torch as grl_torch
from grl.core import schedules
from tests.conformance.adapters.base import Adapter

_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "complex64": torch.complex64,
    "complex128": torch.complex128,
}


def _sum_sin(x: torch.Tensor, lambda_: Any) -> torch.Tensor:
    return torch.sin(grl_torch.gradient_reversal(x, lambda_)).sum()


class TorchAdapter(Adapter):
    name = "torch"
    second_order_methods = ("double_backward", "func_hessian", "jacrev_jacrev", "grad_grad")
    forward_mode_methods = ("forward_ad", "func_jvp", "jacfwd")
    forward_mode_errors: ClassVar[dict[str, type[BaseException]]] = {"compiled_jvp": RuntimeError}

    def from_numpy(self, array: np.ndarray) -> torch.Tensor:
        if array.dtype == ml_dtypes.bfloat16:
            return torch.from_numpy(array.view(np.uint16).copy()).view(torch.bfloat16)
        return torch.from_numpy(np.array(array))

    def to_numpy(self, tensor: torch.Tensor) -> np.ndarray:
        tensor = tensor.detach().cpu()
        if tensor.dtype == torch.bfloat16:
            return tensor.view(torch.uint16).numpy().view(ml_dtypes.bfloat16)
        return tensor.resolve_conj().numpy()

    def make_lambda(self, value: float, dtype: str) -> torch.Tensor:
        return torch.tensor(value, dtype=_DTYPES[dtype])

    def non_contiguous(self, array: np.ndarray) -> torch.Tensor:
        doubled = np.repeat(array[..., None], 2, axis=-1)
        return self.from_numpy(doubled)[..., 0]

    def forward(self, x: Any, lambda_: Any) -> torch.Tensor:
        return grl_torch.gradient_reversal(x, lambda_)

    def shares_memory(self, x: torch.Tensor, y: torch.Tensor) -> bool:
        return x.untyped_storage().data_ptr() == y.untyped_storage().data_ptr() and (
            x.data_ptr() == y.data_ptr()
        )

    def _native_lambda(self, lambda_: Any) -> Any:
        return self.make_lambda(*lambda_) if isinstance(lambda_, tuple) else lambda_

    def vjp(self, x: np.ndarray, lambda_: Any, g: np.ndarray) -> np.ndarray:
        xt = self.from_numpy(x).requires_grad_(True)
        y = grl_torch.gradient_reversal(xt, self._native_lambda(lambda_))
        (grad,) = torch.autograd.grad(y, xt, self.from_numpy(g))
        return self.to_numpy(grad)

    def vjp_compiled(self, x: np.ndarray, lambda_: Any, g: np.ndarray) -> np.ndarray:
        lam = self._native_lambda(lambda_)
        if not isinstance(lam, torch.Tensor):
            lam = torch.tensor(float(lam), dtype=torch.float64)

        # Dynamo does not trace torch.autograd.grad; AOTAutograd compiles the backward of
        # the compiled forward, which is what a training step runs.
        @torch.compile(fullgraph=True, backend="aot_eager")
        def forward(x: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
            return grl_torch.gradient_reversal(x, lam) + 0

        xt = self.from_numpy(x).requires_grad_(True)
        (grad,) = torch.autograd.grad(forward(xt, lam), xt, self.from_numpy(g))
        return self.to_numpy(grad)

    def lambda_gradient_is_zero(self, x: np.ndarray, lambda_value: float) -> bool:
        # A λ that requires grad is refused outright (a clear ValueError), so λ can never
        # receive a gradient; the Function's backward returns None for it as well.
        lam = torch.tensor(lambda_value, requires_grad=True)
        try:
            grl_torch.gradient_reversal(self.from_numpy(x), lam)
        except ValueError as error:
            return "lambda_" in str(error) and "grad" in str(error)
        return False

    def second_derivative(self, x: np.ndarray, lambda_: float, method: str) -> np.ndarray:
        xt = self.from_numpy(x)
        if method == "double_backward":
            xt.requires_grad_(True)
            (g,) = torch.autograd.grad(_sum_sin(xt, lambda_), xt, create_graph=True)
            (h,) = torch.autograd.grad(g.sum(), xt)
            return self.to_numpy(h)
        f = lambda v: _sum_sin(v, lambda_)  # noqa: E731
        if method == "func_hessian":
            return self.to_numpy(torch.diagonal(torch.func.hessian(f)(xt)))
        if method == "jacrev_jacrev":
            return self.to_numpy(torch.diagonal(torch.func.jacrev(torch.func.jacrev(f))(xt)))
        if method == "grad_grad":
            return self.to_numpy(torch.func.grad(lambda v: torch.func.grad(f)(v).sum())(xt))
        raise ValueError(method)

    def forward_mode(self, x: np.ndarray, lambda_: float, t: np.ndarray, method: str) -> Any:
        xt, tt = self.from_numpy(x), self.from_numpy(t)
        grl = lambda v: grl_torch.gradient_reversal(v, lambda_)  # noqa: E731
        if method == "forward_ad":
            import torch.autograd.forward_ad as fwAD

            with fwAD.dual_level():
                out = grl(fwAD.make_dual(xt, tt))
                return self.to_numpy(fwAD.unpack_dual(out).tangent)
        if method == "func_jvp":
            return self.to_numpy(torch.func.jvp(grl, (xt,), (tt,))[1])
        if method == "jacfwd":
            jac = torch.func.jacfwd(grl)(xt)
            return self.to_numpy(jac.reshape(xt.numel(), xt.numel()) @ tt.reshape(-1))
        if method == "compiled_jvp":
            import torch.autograd.forward_ad as fwAD

            compiled = torch.compile(grl, fullgraph=True, backend="aot_eager")
            with fwAD.dual_level():
                out = compiled(fwAD.make_dual(xt, tt))
                return self.to_numpy(fwAD.unpack_dual(out).tangent)
        raise ValueError(method)

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
