"""The conformance adapter for a PyTorch ``f(x, lambda_)``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import ml_dtypes
import numpy as np
import torch

from grl.conformance.adapter import Adapter

_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "complex64": torch.complex64,
    "complex128": torch.complex128,
}


class CallableAdapter(Adapter):
    """Drives ``fn(x, lambda_)``: eager and compiled autograd, ``torch.func``, forward AD."""

    name = "torch"
    second_order_methods = ("double_backward", "func_hessian", "jacrev_jacrev", "grad_grad")
    forward_mode_methods = ("forward_ad", "func_jvp", "jacfwd")
    #: Dynamo cannot trace a custom ``jvp`` of an autograd.Function: a clear error passes.
    forward_mode_errors: ClassVar[dict[str, type[BaseException]]] = {"compiled_jvp": RuntimeError}

    def __init__(self, fn: Callable[..., Any] | None = None) -> None:
        self.fn = fn

    def apply(self, x: torch.Tensor, lambda_: Any) -> torch.Tensor:
        """The implementation under test; override it for another signature."""
        return self.fn(x, lambda_)

    # -- arrays ---------------------------------------------------------------------------
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

    def _native(self, lambda_: Any) -> Any:
        return self.make_lambda(*lambda_) if isinstance(lambda_, tuple) else lambda_

    # -- the op ---------------------------------------------------------------------------
    def forward(self, x: Any, lambda_: Any) -> torch.Tensor:
        return self.apply(x, lambda_)

    def shares_memory(self, x: torch.Tensor, y: torch.Tensor) -> bool:
        return x.untyped_storage().data_ptr() == y.untyped_storage().data_ptr() and (
            x.data_ptr() == y.data_ptr()
        )

    def vjp(self, x: np.ndarray, lambda_: Any, g: np.ndarray) -> np.ndarray:
        xt = self.from_numpy(x).requires_grad_(True)
        y = self.apply(xt, self._native(lambda_))
        (grad,) = torch.autograd.grad(y, xt, self.from_numpy(g))
        return self.to_numpy(grad)

    def vjp_compiled(self, x: np.ndarray, lambda_: Any, g: np.ndarray) -> np.ndarray:
        lam = self._native(lambda_)
        if not isinstance(lam, torch.Tensor):
            lam = torch.tensor(float(lam), dtype=torch.float64)

        # AOTAutograd compiles the backward of the compiled forward, as a training step does.
        @torch.compile(fullgraph=True, backend="aot_eager")
        def forward(x: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
            return self.apply(x, lam) + 0

        xt = self.from_numpy(x).requires_grad_(True)
        (grad,) = torch.autograd.grad(forward(xt, lam), xt, self.from_numpy(g))
        return self.to_numpy(grad)

    def lambda_gradient_is_zero(self, x: np.ndarray, lambda_value: float) -> bool:
        lam = torch.tensor(lambda_value, requires_grad=True)
        xt = self.from_numpy(x).requires_grad_(True)
        try:
            out = torch.sin(self.apply(xt, lam)).sum()
        except ValueError as error:  # refusing a λ that requires grad is conformant
            return self.lambda_name in str(error)
        if not out.requires_grad:
            return True
        grad = torch.autograd.grad(out, lam, allow_unused=True)[0]
        return grad is None or not bool(grad.any())

    def _sum_sin(self, x: torch.Tensor, lambda_: Any) -> torch.Tensor:
        return torch.sin(self.apply(x, lambda_)).sum()

    def second_derivative(self, x: np.ndarray, lambda_: float, method: str) -> np.ndarray:
        xt = self.from_numpy(x)
        f = lambda v: self._sum_sin(v, lambda_)  # noqa: E731
        if method == "double_backward":
            xt.requires_grad_(True)
            (g,) = torch.autograd.grad(f(xt), xt, create_graph=True)
            (h,) = torch.autograd.grad(g.sum(), xt)
            return self.to_numpy(h)
        if method == "func_hessian":
            return self.to_numpy(torch.diagonal(torch.func.hessian(f)(xt)))
        if method == "jacrev_jacrev":
            return self.to_numpy(torch.diagonal(torch.func.jacrev(torch.func.jacrev(f))(xt)))
        if method == "grad_grad":
            return self.to_numpy(torch.func.grad(lambda v: torch.func.grad(f)(v).sum())(xt))
        raise ValueError(method)

    def forward_mode(self, x: np.ndarray, lambda_: float, t: np.ndarray, method: str) -> Any:
        xt, tt = self.from_numpy(x), self.from_numpy(t)
        grl = lambda v: self.apply(v, lambda_)  # noqa: E731
        if method in ("forward_ad", "compiled_jvp"):
            import torch.autograd.forward_ad as fwAD

            if method == "compiled_jvp":
                grl = torch.compile(grl, fullgraph=True, backend="aot_eager")
            with fwAD.dual_level():
                out = grl(fwAD.make_dual(xt, tt))
                return self.to_numpy(fwAD.unpack_dual(out).tangent)
        if method == "func_jvp":
            return self.to_numpy(torch.func.jvp(grl, (xt,), (tt,))[1])
        if method == "jacfwd":
            jac = torch.func.jacfwd(grl)(xt)
            return self.to_numpy(jac.reshape(xt.numel(), xt.numel()) @ tt.reshape(-1))
        raise ValueError(method)

    def compile_count(self, x: np.ndarray, lambdas: Sequence[float]) -> tuple[int, list]:
        torch.compiler.reset()
        graphs = []

        def counting_backend(gm: torch.fx.GraphModule, example_inputs: Any) -> Any:
            graphs.append(gm)  # one call per compiled graph: recompiles and graph breaks
            return gm.forward

        @torch.compile(backend=counting_backend)
        def step(x: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
            return self._sum_sin(x, lam)

        grads = []
        for value in lambdas:
            xt = self.from_numpy(x).requires_grad_(True)
            step(xt, torch.tensor(value, dtype=torch.float32)).backward()
            grads.append(self.to_numpy(xt.grad))
        return len(graphs), grads
