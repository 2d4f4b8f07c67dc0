"""DistributedDataParallel on CPU (gloo, 2 processes): gradients, λ and checkpoint resume.

The ranks run ``tests/torch/ddp_worker.py``; this test compares what they record with a
single-process run on the same data. DDP divides each rank's gradient by the world size and
sums them; with two ranks ``gA/2 + gB/2`` equals ``(gA + gB)/2`` exactly (halving is exact),
so the single-process reference is bit-identical, not just close.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.backends import require

grl_torch = require("torch")

import torch  # noqa: E402

from tests.torch import ddp_worker  # noqa: E402
from tests.torch.helpers import assert_same_bits, float32_value, make_batches  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_ranks(outdir: Path) -> list[dict]:
    """Run the 2 ranks of ddp_worker.py and load what each recorded."""
    port = str(free_port())
    processes = []
    for rank in range(ddp_worker.WORLD):
        env = dict(os.environ, RANK=str(rank), MASTER_ADDR="127.0.0.1", MASTER_PORT=port)
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.torch.ddp_worker", str(outdir)],
                cwd=ROOT,
                env=env,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
        )
    try:
        for rank, process in enumerate(processes):
            output, _ = process.communicate(timeout=180)
            assert process.returncode == 0, f"rank {rank} failed:\n{output[-3000:]}"
    finally:
        for process in processes:  # a failed rank leaves the other waiting at a barrier
            if process.poll() is None:
                process.kill()
                process.wait()
    return [torch.load(outdir / f"rank{r}.pt", weights_only=True) for r in range(2)]


def single_process() -> dict:
    """The same training in one process: each half's gradient, then (gA + gB) / 2."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, optimizer = ddp_worker.fresh(seed=0)
        record = {"grads": [], "lambdas": [], "steps": []}
        for source, labels, target in make_batches(ddp_worker.STEPS, batch=8):
            halves = []
            for rank in range(ddp_worker.WORLD):
                model.zero_grad()
                ddp_worker.ddp_loss(
                    model,
                    ddp_worker.half(source, rank),
                    ddp_worker.half(labels, rank),
                    ddp_worker.half(target, rank),
                ).backward()
                halves.append({n: p.grad.clone() for n, p in model.named_parameters()})
            for name, parameter in model.named_parameters():
                parameter.grad = (halves[0][name] + halves[1][name]) / 2
            record["grads"].append({n: p.grad.clone() for n, p in model.named_parameters()})
            optimizer.step()
            grl_torch.step_all(model)
            record["lambdas"].append(model.grl.lambda_.clone())
            record["steps"].append(int(model.grl.step_count))
        record["final"] = model.state_dict()
        return record
    finally:
        torch.set_num_threads(threads)


def assert_same_state(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for name in expected:
        assert_same_bits(actual[name], expected[name])


def check_gradients_equal_single_process(ranks: list[dict], reference: dict) -> None:
    for rank in ranks:
        for got, want in zip(rank["straight"]["grads"], reference["grads"], strict=True):
            assert_same_state(got, want)


def check_lambda_and_step_in_sync(ranks: list[dict], reference: dict) -> None:
    expected = [float32_value(ddp_worker.SCHEDULE(k)) for k in range(1, ddp_worker.STEPS + 1)]
    for rank in ranks:
        record = rank["straight"]
        assert record["steps"] == list(range(1, ddp_worker.STEPS + 1))
        assert_same_bits(torch.stack(record["lambdas"]), expected)
        assert_same_bits(torch.stack(record["lambdas"]), torch.stack(reference["lambdas"]))
        assert_same_state(record["final"], reference["final"])


def check_resume_from_rank_0(ranks: list[dict], phase: str) -> None:
    k = ddp_worker.RESUME_AT
    for rank in ranks:
        start_lambda, start_step = rank[phase]["start"]
        assert start_step == k
        assert_same_bits(start_lambda, float32_value(ddp_worker.SCHEDULE(k)))
        assert rank[phase]["steps"] == rank["straight"]["steps"][k:]
        assert_same_bits(
            torch.stack(rank[phase]["lambdas"]), torch.stack(rank["straight"]["lambdas"][k:])
        )
        for got, want in zip(rank[phase]["grads"], rank["straight"]["grads"][k:], strict=True):
            assert_same_state(got, want)
        assert_same_state(rank[phase]["final"], rank["straight"]["final"])


def test_ddp_matches_single_process_and_resumes_from_a_rank_0_checkpoint(tmp_path):
    """One test (not several on a shared fixture): pytest-xdist workers would rerun DDP."""
    if not torch.distributed.is_available() or not torch.distributed.is_gloo_available():
        pytest.skip("this torch build has no gloo backend")
    ranks = run_ranks(tmp_path)
    reference = single_process()
    check_gradients_equal_single_process(ranks, reference)
    check_lambda_and_step_in_sync(ranks, reference)
    check_resume_from_rank_0(ranks, "resumed")  # every rank loads the checkpoint
    check_resume_from_rank_0(ranks, "rank0_loads")  # DDP's broadcast carries it to rank 1
    expected = float32_value(ddp_worker.SCHEDULE(ddp_worker.RESUME_AT + 1))
    for rank in ranks:  # dist.broadcast, then step(): every rank at the same step and λ
        assert rank["broadcast"][1] == ddp_worker.RESUME_AT + 1
        assert_same_bits(rank["broadcast"][0], expected)
