"""One rank of the DDP test: test_ddp.py runs it as ``python -m tests.torch.ddp_worker``.

Trains a small DANN with ``DistributedDataParallel`` (gloo, CPU) on this rank's half of each
batch, three times:

* ``straight``: STEPS steps; rank 0 saves a checkpoint after RESUME_AT steps;
* ``resumed``: a fresh model, every rank loads that checkpoint, then trains to STEPS;
* ``rank0_loads``: only rank 0 loads the model state, while rank 1's GRL sits at another
  step; DDP's broadcast at construction must bring rank 1's λ and step count (and the
  module's host copy of the step) to rank 0's;
* ``broadcast``: as ``rank0_loads``, with the buffers sent by ``dist.broadcast``, then one
  ``step()``.

Records gradients after all-reduce, λ, step counts and final parameters in ``rank<r>.pt``.
"""

from __future__ import annotations

import datetime
import os
import sys
from pathlib import Path

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

import grl.torch as grl_torch
from grl.core import schedules
from tests.torch.helpers import DANNNet, make_batches

STEPS, RESUME_AT, WORLD = 6, 3, 2
SCHEDULE = schedules.dann(total_steps=STEPS)


def half(tensor: torch.Tensor, rank: int) -> torch.Tensor:
    size = tensor.shape[0] // WORLD
    return tensor[rank * size : (rank + 1) * size]


def ddp_loss(model, source, labels, target) -> torch.Tensor:
    """DANN loss with one forward per step (source and target batch stacked), as DDP prefers."""
    logits, domain = model(torch.cat([source, target]))
    n = source.shape[0]
    domains = torch.cat([torch.zeros(n), torch.ones(target.shape[0])])
    return torch.nn.functional.cross_entropy(
        logits[:n], labels
    ) + torch.nn.functional.binary_cross_entropy_with_logits(domain, domains)


def train(ddp, optimizer, batches, rank, record) -> None:
    layer = ddp.module.grl
    for source, labels, target in batches:
        optimizer.zero_grad()
        ddp_loss(ddp, half(source, rank), half(labels, rank), half(target, rank)).backward()
        record["grads"].append({n: p.grad.clone() for n, p in ddp.module.named_parameters()})
        optimizer.step()
        grl_torch.step_all(ddp)
        record["lambdas"].append(layer.lambda_.clone())
        record["steps"].append(int(layer.step_count))


def fresh(seed: int):
    torch.manual_seed(seed)
    model = DANNNet(SCHEDULE)
    return model, torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)


def main(rank: int, outdir: Path) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=WORLD, timeout=datetime.timedelta(60))
    batches = make_batches(STEPS, batch=8)
    checkpoint = outdir / "checkpoint.pt"
    results = {}

    model, optimizer = fresh(seed=0)
    ddp = DistributedDataParallel(model)
    record = results["straight"] = {"grads": [], "lambdas": [], "steps": []}
    train(ddp, optimizer, batches[:RESUME_AT], rank, record)
    if rank == 0:
        torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict()}, checkpoint)
    dist.barrier()
    train(ddp, optimizer, batches[RESUME_AT:], rank, record)
    record["final"] = {k: v.clone() for k, v in model.state_dict().items()}

    for name in ("resumed", "rank0_loads"):
        model, optimizer = fresh(seed=1 + rank)
        saved = torch.load(checkpoint, map_location="cpu", weights_only=True)
        if name == "resumed" or rank == 0:
            model.load_state_dict(saved["model"])
        else:
            for _ in range(STEPS - 1):  # a stale position that the broadcast must replace
                model.grl.step()
        optimizer.load_state_dict(saved["optimizer"])
        ddp = DistributedDataParallel(model)  # broadcasts rank 0's parameters and buffers
        record = results[name] = {"grads": [], "lambdas": [], "steps": []}
        record["start"] = (model.grl.lambda_.clone(), int(model.grl.step_count))
        train(ddp, optimizer, batches[RESUME_AT:], rank, record)
        record["final"] = {k: v.clone() for k, v in model.state_dict().items()}

    # dist.broadcast writes buffers without bumping their version counters: a step cache
    # keyed on them went stale, and rank 1 then stepped from its own old position.
    model, _ = fresh(seed=1 + rank)
    if rank == 0:
        model.load_state_dict(
            torch.load(checkpoint, map_location="cpu", weights_only=True)["model"]
        )
    else:
        for _ in range(3):
            model.grl.step()
    for buffer in model.buffers():
        dist.broadcast(buffer, src=0)
    model.grl.step()
    results["broadcast"] = (model.grl.lambda_.clone(), int(model.grl.step_count))

    torch.save(results, outdir / f"rank{rank}.pt")
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    os.environ.setdefault("MASTER_ADDR", "127.0.0.1")
    main(int(os.environ["RANK"]), Path(sys.argv[1]))
