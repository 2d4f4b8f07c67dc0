"""PyTorch micro benchmark: forward, backward and forward+backward of one layer.

Per mode (eager, ``torch.compile``), dtype and size, every method runs on the same ``x``
(requires grad) and upstream gradient ``g``:

* forward: ``layer(x)`` (building the autograd graph, as in training);
* backward: ``torch.autograd.grad(y, x, g)`` on a retained graph;
* forward+backward: both;
* the floor: ``g * c`` with a 0-d ``c`` of ``g``'s dtype, the one multiply a GRL's backward
  cannot avoid (its forward costs nothing, so it is the floor of forward+backward too).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch._dynamo
from torch import nn
from torch._functorch import config as functorch_config

from benchmarks import records
from benchmarks.peers import torch_peers
from benchmarks.settings import Settings
from grl.torch import GradientReversal

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}
LAMBDA = 0.5


class Identity(nn.Module):
    """The layer replaced by nothing: a view, as ``nn.Identity`` would return ``x`` itself."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.view_as(x)


def layers() -> dict[str, nn.Module]:
    """Identity, grl and every available peer, each with λ = ``LAMBDA``."""
    found = {records.IDENTITY: Identity(), records.GRL: GradientReversal(LAMBDA)}
    for peer in torch_peers.peers():
        found[peer.name] = peer.build(LAMBDA)
    return found


def origins() -> dict[str, str]:
    found = {
        records.IDENTITY: "baseline: x.view_as(x)",
        records.FLOOR: "baseline: one g * c multiply",
        records.GRL: "grl.torch.GradientReversal",
    }
    found.update({peer.name: peer.origin for peer in torch_peers.peers()})
    return found


def compiler(mode: str, backend: str) -> Callable[[Callable], Callable]:
    if mode == "eager":
        return lambda fn: fn
    # dynamic=True: one compiled graph serves every size, as in a run with varying batches.
    return lambda fn: torch.compile(fn, backend=backend, dynamic=True)


def _floor(g: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    return g * c


def size_cases(
    compiled: dict[str, Callable], floor: Callable, size: int, dtype: torch.dtype
) -> dict[tuple[str, str], Callable[[], object]]:
    generator = torch.Generator().manual_seed(size)
    x = torch.randn(size, generator=generator).to(dtype).requires_grad_()
    g = torch.randn(size, generator=generator).to(dtype)
    c = torch.tensor(-LAMBDA, dtype=dtype)
    cases: dict[tuple[str, str], Callable[[], object]] = {
        (records.FLOOR, records.BACKWARD): lambda: floor(g, c)
    }
    for name, layer in compiled.items():
        y = layer(x)
        cases[(name, records.FORWARD)] = lambda layer=layer: layer(x)
        cases[(name, records.BACKWARD)] = lambda y=y: torch.autograd.grad(
            y, x, g, retain_graph=True
        )
        cases[(name, records.BOTH)] = lambda layer=layer: torch.autograd.grad(layer(x), x, g)
    return cases


def run(settings: Settings) -> list[records.Record]:
    # Timing a backward alone means running it again on a retained graph, which compiled
    # backwards with donated buffers refuse; donation saves memory, not time.
    functorch_config.donated_buffer = False

    def cases_for(mode: str, dtype: str) -> Callable:
        torch._dynamo.reset()
        wrap = compiler(mode, settings.torch_backend)
        compiled = {name: wrap(layer) for name, layer in layers().items()}
        floor = wrap(_floor)
        return lambda size: size_cases(compiled, floor, size, DTYPES[dtype])

    return records.micro_sweep("torch", settings, origins(), cases_for)
