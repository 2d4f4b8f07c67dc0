"""The quick mode end to end: ``python -m benchmarks.run --quick``, one worker per framework.

Structure only, never speed: the forward is zero-copy and allocates nothing that grows with
``x``, grl compiles/traces exactly once over a λ schedule, the counters do see the peers'
recompiles (so a pass is not vacuous), and each peer package is benchmarked, or reported
missing or failing (its error in the ``peers`` records) without ending the run. The
sections that only time things run in-process in the per-framework tests.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import records
from benchmarks.peers import names
from benchmarks.settings import QUICK
from grl._frameworks import BY_NAME
from tests.backends import BACKENDS, required_backends

ROOT = Path(__file__).resolve().parents[2]


def available_frameworks() -> list[str]:
    found = []
    for backend in BACKENDS:
        module = BY_NAME[backend].module
        if importlib.util.find_spec(module.split(".")[0]) is not None:
            found.append(backend)
        elif backend in required_backends():
            pytest.fail(f"{module} is required by GRL_REQUIRE_BACKENDS", pytrace=False)
    if not found:
        pytest.skip("no framework installed")
    return found


def quick_run(out: Path) -> list[records.Record]:
    frameworks = available_frameworks()
    command = [
        sys.executable,
        "-m",
        "benchmarks.run",
        "--quick",
        "--frameworks",
        ",".join(frameworks),
        "--sections",
        "compiles,memory",
        "--json",
        str(out / "run.json"),
        "--markdown",
        str(out / "run.md"),
        "--no-plot",
    ]
    # torch refuses a custom op that returns an alias of its input (torch-gradient-reversal's)
    # when CI is set and warns otherwise: forced here, every run is the one CI makes.
    env = {**os.environ, "TORCHINDUCTOR_ERROR_ON_CUSTOM_OP_ALIASING": "1"}
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads((out / "run.json").read_text())
    assert result["meta"]["settings"]["quick"] is True
    assert (out / "run.md").read_text().startswith("### Goals")
    return result["records"]


class NotInstalled(Exception):
    """The framework of a check did not run (it is not installed and not required)."""


def _compiles(run_records: list[records.Record], framework: str) -> dict[str, records.Record]:
    found = records.find(run_records, section="compiles", framework=framework)
    if not found:
        raise NotInstalled(framework)
    return {r["method"]: r for r in found}


def check_torch_grl_compiles_once_and_peers_recompile(run_records: list) -> None:
    counts = _compiles(run_records, "torch")
    grl = counts[records.GRL]
    assert grl["steps"] == QUICK.schedule_steps
    assert (grl["compiles"], grl["graph_breaks"], grl["limit_hit"], grl["stale"]) == (
        1,
        0,
        False,
        False,
    )
    # A Python-int λ counter recompiles every step until Dynamo gives up: the counter works.
    copy = counts[names.COPY_NEG_MUL]
    assert copy["compiles"] > 1 and copy["limit_hit"] is True


def check_torch_peer_packages_are_benchmarked_or_reported_with_their_error(
    run_records: list,
) -> None:
    peers = records.find(run_records, section="peers", framework="torch")
    if not records.find(run_records, framework="torch"):
        raise NotInstalled("torch")
    assert {p["name"] for p in peers} == {names.REVGRAD, names.TGR}
    counted = set(_compiles(run_records, "torch"))
    for peer in peers:
        if peer["error"] is None:
            assert peer["version"] and peer["name"] in counted
            continue
        # Not importable (no version), or importable with a failing first call: reported
        # with the error's type, and not run.
        assert peer["name"] not in counted
        assert peer["error"].split(":")[0].endswith("Error")
    installed = {p["name"]: p for p in peers if p["version"] is not None}
    if names.TGR in installed:  # its op returns an alias, refused in this run (see quick_run)
        assert "alias" in installed[names.TGR]["error"], installed[names.TGR]


def check_torch_forward_is_zero_copy_and_allocates_nothing(run_records: list) -> None:
    memory = {
        r["method"]: r
        for r in records.find(run_records, section="memory", framework="torch")
        if r["what"].startswith("forward") and r["what"].endswith("eager")
    }
    if not memory:
        raise NotInstalled("torch")
    assert memory[records.IDENTITY]["bytes"] == 0
    assert memory[records.GRL]["zero_copy"] is True
    assert memory[records.GRL]["bytes"] == 0
    # The profiler does see a copying forward, so the two checks above can fail.
    copy = memory[names.COPY_NEG_MUL]
    assert copy["bytes"] >= 4 * QUICK.memory_size and copy["zero_copy"] is False
    compiled = {
        r["method"]: r
        for r in records.find(run_records, section="memory", framework="torch")
        if r["what"].endswith("compiled")
    }
    assert compiled[records.GRL]["zero_copy"] is True
    assert compiled[records.GRL]["bytes"] == 0


def check_tf_grl_traces_once_and_the_float_lambda_pattern_retraces(run_records: list) -> None:
    counts = _compiles(run_records, "tf")
    assert counts[records.GRL]["compiles"] == 1
    for peer in (names.CUSTOM_GRADIENT, names.LOSS_SUBTRACTION):
        assert counts[peer]["compiles"] == QUICK.schedule_steps


def check_tf_forward_is_zero_copy_and_allocates_nothing(run_records: list) -> None:
    eager = {
        r["method"]: r
        for r in records.find(run_records, section="memory", framework="tf")
        if r["what"].startswith("forward") and r["what"].endswith("eager")
    }
    if not eager:
        raise NotInstalled("tf")
    assert eager[records.GRL]["zero_copy"] is True
    assert eager[records.GRL]["bytes"] == 0  # None would mean the BFC allocator was off
    compiled = {
        r["method"]: r
        for r in records.find(run_records, section="memory", framework="tf")
        if r["what"].endswith("compiled")
    }
    assert compiled[records.GRL]["zero_copy"] is True
    assert compiled[records.GRL]["bytes"] <= compiled[records.IDENTITY]["bytes"]


def check_jax_grl_traces_once_and_the_static_lambda_pattern_retraces(run_records: list) -> None:
    counts = _compiles(run_records, "jax")
    assert counts[records.GRL]["compiles"] == 1
    assert counts[names.STOP_GRADIENT]["compiles"] == 1
    assert counts[names.CUSTOM_VJP]["compiles"] == QUICK.schedule_steps


def check_jax_forward_is_zero_copy_eagerly_and_no_bigger_than_identity_jitted(
    run_records: list,
) -> None:
    memory = {
        (r["method"], r["what"].split(", ")[2]): r
        for r in records.find(run_records, section="memory", framework="jax")
        if r["what"].startswith("forward")
    }
    if not memory:
        raise NotInstalled("jax")
    assert memory[(records.GRL, "eager")]["zero_copy"] is True
    assert memory[(records.GRL, "eager")]["bytes"] == 0
    assert memory[(names.STOP_GRADIENT, "eager")]["zero_copy"] is False
    compiled = "compiled (XLA plan: output + temp)"
    assert memory[(records.GRL, compiled)]["bytes"] == memory[(records.IDENTITY, compiled)]["bytes"]


CHECKS = [value for name, value in sorted(globals().items()) if name.startswith("check_")]


def test_quick_run_has_the_structure_of_a_real_run(tmp_path: Path) -> None:
    """One subprocess run, every check on it: one test, so xdist never runs it twice."""
    run_records = quick_run(tmp_path)
    failures, ran = [], 0
    for check in CHECKS:
        try:
            check(run_records)
            ran += 1
        except NotInstalled:
            continue
        except AssertionError as error:
            failures.append(f"{check.__name__}: {error}")
    assert not failures, "\n".join(failures)
    assert ran > 0
