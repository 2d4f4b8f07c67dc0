"""``python -m grl.conformance FRAMEWORK MODULE:ATTR``: its table, its JSON, its exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grl.conformance.cli import main
from tests.backends import require

ROOT = Path(__file__).resolve().parents[2]


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "grl.conformance", *args]
    return subprocess.run(command, capture_output=True, text=True, env=env, cwd=ROOT)


def test_a_conformant_implementation_exits_0_with_its_table(tmp_path):
    require("torch")
    done = cli("torch", "grl.torch:gradient_reversal", "--json", str(tmp_path / "r.json"))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "| backward matches the reference bit for bit | ✅ 60 |" in done.stdout
    assert "| forward mode under the compiler | ⚠️ clear error (1) |" in done.stdout
    document = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert document["ok"] is True and document["framework"] == "torch"
    assert {r["status"] for r in document["results"]} == {"passed", "not applicable"}


def test_a_failing_implementation_exits_1_and_names_the_check(tmp_path):
    require("torch")
    done = cli(
        "torch", "tests.kit.broken:torch_copying_forward", "--json", str(tmp_path / "r.json")
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert "| forward is zero-copy | ❌ 2/2 failed |" in done.stdout
    assert "FAILED forward_zero_copy[dtype='float32']: the forward copies its input" in done.stdout
    document = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert document["ok"] is False
    assert document["capabilities"]["forward is zero-copy"] == "❌ 2/2 failed"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["caffe", "m:f"], "invalid choice: 'caffe'"),
        (["torch", "no_colon"], "MODULE:ATTR expected"),
        (["torch", "no_such_module_here:f"], "cannot import 'no_such_module_here'"),
        (["torch", "tests.kit.broken:nothing"], "has no attribute 'nothing'"),
        (["torch", "tests.kit.broken:__doc__"], "expected a callable f(x, lambda_)"),
        (["torch"], "the following arguments are required: MODULE:ATTR"),
    ],
)
def test_usage_errors_exit_2_with_a_message(args, words, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(args)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: python -m grl.conformance") and words in err
