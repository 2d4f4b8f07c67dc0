"""Every PyTorch measurement, in the order the worker runs them."""

from __future__ import annotations

import logging
import warnings

import torch

from benchmarks import records, torch_compiles, torch_dann, torch_memory, torch_micro
from benchmarks.peers import torch_peers
from benchmarks.settings import Settings


def configure(threads: int) -> None:
    torch.set_num_threads(threads)
    # Peers trigger Dynamo's recompile-limit and custom-op warnings by design; the counts
    # are in the results, so the log lines would only bury the table.
    logging.getLogger("torch._dynamo").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", module="torch")


def run(settings: Settings, sections: tuple[str, ...]) -> list[records.Record]:
    backend = settings.torch_backend
    results: list[records.Record] = [
        {"section": "peers", "framework": "torch", **a.to_dict()}
        for a in torch_peers.availability()
    ]
    if "compiles" in sections:
        results += torch_compiles.run(settings.schedule_steps)
    if "memory" in sections:
        results += torch_memory.run(settings, torch_micro.layers())
    if "micro" in sections:
        results += torch_micro.run(settings, backend)
    if "macro" in sections:
        results += torch_dann.run(settings, backend)
    return results
