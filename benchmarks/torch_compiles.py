"""PyTorch recompiles: ``torch.compile`` graphs and graph breaks over a λ schedule.

Each method sits in a tiny model (``Linear → GRL → sum``) whose compiled forward and
backward run once per step for ``steps`` steps while λ follows the DANN schedule, changed
the way that method's users change it (``Peer.usage``). Dynamo decides recompiles and
graph breaks before any backend runs, so the counts use the cheap ``aot_eager`` backend;
``inductor`` would compile the same graphs, only slower.
"""

from __future__ import annotations

import copy
import logging
import warnings

import torch
import torch._dynamo
from torch import nn
from torch._dynamo.testing import CompileCounterWithBackend
from torch._dynamo.utils import counters

from benchmarks import records
from benchmarks.peers import torch_peers
from benchmarks.settings import Settings
from grl.core import schedules
from grl.torch import GradientReversal

GRL_USAGE = "GradientReversal(schedules.dann(...)); step_all(model) after each step (a buffer)"


class Probe(nn.Module):
    def __init__(self, layer: nn.Module):
        super().__init__()
        self.linear = nn.Linear(8, 8)
        self.layer = layer

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(self.linear(x)).sum()


def count(layer: nn.Module, advance, steps: int) -> dict:
    """Compiled graphs and graph breaks over ``steps`` training steps of a probe model.

    ``limit_hit``: Dynamo gave up recompiling and ran the rest eagerly, silently.
    ``stale``: the last step's compiled gradient differs from the same step run eagerly
    (λ frozen into the graph instead of read at run time).
    """
    torch._dynamo.reset()
    counters.clear()
    counter = CompileCounterWithBackend("aot_eager")
    model = Probe(layer)
    compiled = torch.compile(model, backend=counter)
    x = torch.randn(4, 8)
    schedule = schedules.dann(total_steps=steps)
    for step in range(steps - 1):
        compiled(x).backward()
        advance(layer, schedule(step + 1))
    reference = copy.deepcopy(model)  # same state, so an auto-stepping λ matches too
    model.zero_grad(set_to_none=True)
    compiled(x).backward()
    reference.zero_grad(set_to_none=True)
    reference(x).backward()
    return {
        "count": counter.frame_count,
        "graph_breaks": sum(counters["graph_break"].values()),
        "limit_hit": any("recompile limit" in key for key in counters["unimplemented"]),
        "stale": not torch.equal(model.linear.weight.grad, reference.linear.weight.grad),
    }


def run(settings: Settings) -> list[records.Record]:
    # Peers hit Dynamo's recompile limit and custom-op warnings by design; the counts are in
    # the results, so the log lines would only bury an error report.
    logging.getLogger("torch._dynamo").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="torch")
    steps = settings.schedule_steps
    methods = [
        (
            records.GRL,
            GradientReversal(schedules.dann(total_steps=steps)),
            lambda layer, value: layer.step(),
            GRL_USAGE,
        )
    ]
    methods += [
        (peer.name, torch_peers.scheduled(peer, steps), peer.advance, peer.usage)
        for peer in torch_peers.peers()
    ]
    results = [
        {"section": "peers", "framework": "torch", **a.to_dict()}
        for a in torch_peers.availability()
    ]
    for name, layer, advance, usage in methods:
        results.append(
            records.compiles("torch", name, steps, usage, **count(layer, advance, steps))
        )
    return results
