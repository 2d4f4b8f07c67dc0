"""One short CUDA check of grl.torch (not collected by pytest, not needed by CI).

Run it on a machine with a GPU::

    python tests/torch/cuda_check.py            # exits 0 with a message when CUDA is absent
    python tests/torch/cuda_check.py --cpu      # dry run of the device-agnostic checks on CPU

Checks, on ``cuda``:

1. gradient bits for float16/bfloat16/float32/float64 equal the NumPy reference, with the λ
   buffer on the GPU;
2. autocast fp16 and bf16: the gradient keeps the autocast dtype and the reference's bits;
3. no host sync in forward, backward, ``step_all`` or the optimizer step
   (``torch.cuda.set_sync_debug_mode("error")``);
4. CUDA graphs: a captured forward+backward replays with the λ that ``step()`` wrote since
   (the buffer is read on the device, never baked in), bit-equal to eager;
5. ``torch.compile(mode="reduce-overhead")`` (CUDA graphs via inductor): one compile while
   the schedule changes λ every step, gradients equal eager.

Prints one line per check and exits 1 if any fails.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable

import numpy as np
import torch
from torch import nn

import grl.torch as grl_torch
from grl.core import schedules
from grl.core.reference import gradient_reversal_backward

try:
    import ml_dtypes
except ImportError:  # pragma: no cover - ml_dtypes is a grl dependency
    ml_dtypes = None

DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def to_numpy(tensor: torch.Tensor) -> np.ndarray:
    tensor = tensor.detach().cpu()
    if tensor.dtype == torch.bfloat16:
        return tensor.view(torch.uint16).numpy().view(ml_dtypes.bfloat16)
    return tensor.numpy()


def same_bits(actual: torch.Tensor, expected: np.ndarray) -> bool:
    actual_np = to_numpy(actual)
    if actual_np.dtype != expected.dtype or actual_np.shape != expected.shape:
        return False
    width = {2: np.uint16, 4: np.uint32, 8: np.uint64}[expected.dtype.itemsize]
    return bool((actual_np.view(width) == np.ascontiguousarray(expected).view(width)).all())


def scheduled_layer(device: str) -> grl_torch.GradientReversal:
    layer = grl_torch.GradientReversal(schedules.dann(total_steps=10)).to(device)
    for _ in range(3):
        layer.step()  # λ = tanh(1.5), which rounds differently in every dtype
    return layer


def check_dtype_bits(device: str) -> None:
    layer = scheduled_layer(device)
    for dtype in DTYPES:
        x = torch.randn(1000, device=device).to(dtype).requires_grad_(True)
        g = torch.randn(1000, device=device).to(dtype)
        y = layer(x)
        assert y.data_ptr() == x.data_ptr(), f"{dtype}: forward copied"
        y.backward(g)
        expected = gradient_reversal_backward(to_numpy(g), to_numpy(layer.lambda_))
        assert x.grad.dtype == dtype, f"{dtype}: gradient dtype {x.grad.dtype}"
        assert same_bits(x.grad, expected), f"{dtype}: gradient bits differ from the reference"


def check_autocast(device: str) -> None:
    for dtype in (torch.float16, torch.bfloat16):
        torch.manual_seed(0)
        features, head = nn.Linear(64, 128).to(device), nn.Linear(128, 8).to(device)
        layer = scheduled_layer(device)
        with torch.autocast(device, dtype=dtype):
            h = features(torch.randn(32, 64, device=device))
            h.retain_grad()
            reversed_h = layer(h)
            reversed_h.retain_grad()
            loss = head(reversed_h).float().pow(2).sum()
        loss.backward()
        assert h.grad.dtype == dtype, f"autocast {dtype}: gradient dtype {h.grad.dtype}"
        expected = gradient_reversal_backward(to_numpy(reversed_h.grad), to_numpy(layer.lambda_))
        assert same_bits(h.grad, expected), f"autocast {dtype}: bits differ from the reference"


class Net(nn.Module):
    def __init__(self, total_steps: int = 20) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Linear(16, 32), nn.Tanh())
        self.grl = grl_torch.GradientReversal(schedules.dann(total_steps=total_steps))
        self.head = nn.Linear(32, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.grl(self.features(x))).squeeze(-1)


def loss_of(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    return nn.functional.binary_cross_entropy_with_logits(model(x), y)


def check_no_host_sync(device: str) -> None:
    torch.manual_seed(0)
    model = Net().to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, foreach=True)
    x, y = torch.randn(64, 16, device=device), torch.rand(64, device=device)
    lam = torch.tensor(0.3, device=device)

    def one_step() -> None:
        optimizer.zero_grad()
        loss_of(model, x, y).backward()
        grl_torch.gradient_reversal(x.requires_grad_(True), lam).sum().backward()
        optimizer.step()
        grl_torch.step_all(model)

    one_step()  # warm-up: allocations, the step's host copy, optimizer state
    torch.cuda.synchronize()
    torch.cuda.set_sync_debug_mode("error")
    try:
        for _ in range(3):
            one_step()
    finally:
        torch.cuda.set_sync_debug_mode("default")
    assert int(model.grl.step_count) == 4


def eager_grads(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> list[torch.Tensor]:
    model.zero_grad()
    loss_of(model, x, y).backward()
    return [p.grad.clone() for p in model.parameters()]


def check_cuda_graphs(device: str) -> None:
    torch.manual_seed(0)
    model = Net().to(device)
    static_x, static_y = torch.randn(64, 16, device=device), torch.rand(64, device=device)
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        for _ in range(3):
            model.zero_grad(set_to_none=True)
            loss_of(model, static_x, static_y).backward()
    torch.cuda.current_stream().wait_stream(side)
    graph = torch.cuda.CUDAGraph()
    model.zero_grad(set_to_none=True)
    with torch.cuda.graph(graph):
        loss_of(model, static_x, static_y).backward()
    twin = Net().to(device)
    twin.load_state_dict(model.state_dict())
    for _ in range(4):
        model.grl.step()  # writes the λ buffer in place, outside the graph
        twin.load_state_dict(model.state_dict())
        graph.replay()
        expected = eager_grads(twin, static_x, static_y)
        for got, want in zip(model.parameters(), expected, strict=True):
            # λ moves by >5% per step here, so a stale λ would be far outside this tolerance.
            torch.testing.assert_close(got.grad, want, rtol=1e-5, atol=1e-6)


def check_compile_reduce_overhead(device: str) -> None:
    from torch._dynamo.utils import counters

    torch._dynamo.reset()
    counters.clear()
    torch.manual_seed(0)
    model = Net(total_steps=30).to(device)
    twin = Net(total_steps=30).to(device)
    compiled = torch.compile(model, mode="reduce-overhead")
    x, y = torch.randn(64, 16, device=device), torch.rand(64, device=device)
    lambdas = set()
    for _ in range(30):
        twin.load_state_dict(model.state_dict())
        model.zero_grad()
        loss_of(compiled, x, y).backward()
        expected = eager_grads(twin, x, y)
        for got, want in zip(model.parameters(), expected, strict=True):
            torch.testing.assert_close(got.grad, want, rtol=1e-5, atol=1e-6)
        lambdas.add(model.grl.lambda_.item())
        grl_torch.step_all(model)
    assert len(lambdas) == 30, "λ did not change every step"
    graphs = counters["stats"]["unique_graphs"]
    assert graphs == 1, f"{graphs} compiled graphs, expected 1"
    skips = counters["inductor"]["cudagraph_skips"]
    assert skips == 0, f"inductor skipped CUDA graphs {skips} times"


def run(checks: list[tuple[str, Callable[[str], None]]], device: str) -> int:
    failures = 0
    for name, check in checks:
        try:
            check(device)
            print(f"PASS {name}")
        except Exception:
            failures += 1
            print(f"FAIL {name}\n{traceback.format_exc()}")
    return failures


def main(argv: list[str]) -> int:
    agnostic = [("dtype bits", check_dtype_bits), ("autocast", check_autocast)]
    if "--cpu" in argv:
        return 1 if run(agnostic, "cpu") else 0
    if not torch.cuda.is_available():
        print("cuda_check: CUDA is not available here; nothing to check (exit 0).")
        return 0
    print(f"cuda_check on {torch.cuda.get_device_name()} with torch {torch.__version__}")
    cuda_only = [
        ("no host sync", check_no_host_sync),
        ("CUDA graphs", check_cuda_graphs),
        ("compile reduce-overhead", check_compile_reduce_overhead),
    ]
    failures = run(agnostic + cuda_only, "cuda")
    print("cuda_check:", "all passed" if not failures else f"{failures} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
