"""The importable API, user adapters for other signatures, and the pytest fixture."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from grl.conformance import Adapter, check
from tests.backends import require

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_kit_imports_no_framework():
    code = (
        "import sys, grl.conformance, grl.conformance.pytest_plugin, grl.conformance.cli\n"
        "print(sorted(m for m in ('torch', 'tensorflow', 'jax', 'mlx') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_an_adapter_for_lambda_named_alpha_at_construction():
    require("torch")
    from grl.conformance.frameworks.torch import CallableAdapter

    class Reverse:  # a layer that takes λ as ``alpha`` in its constructor
        def __init__(self, alpha: Any) -> None:
            self.alpha = alpha

        def __call__(self, x: Any) -> Any:
            from grl.torch import gradient_reversal

            return gradient_reversal(x, self.alpha)

    class AlphaAdapter(CallableAdapter):
        def apply(self, x: Any, lambda_: Any) -> Any:
            return Reverse(alpha=lambda_)(x)

    report = check("torch", AlphaAdapter, only=("backward_reference", "bad_lambda"))
    report.assert_ok()
    assert len(report.results) == 36 + 15


def test_an_adapter_for_a_grl_without_lambda():
    require("torch")
    from grl.conformance.frameworks.torch import CallableAdapter
    from grl.torch import gradient_reversal

    class Fixed(CallableAdapter):
        takes_lambda = False

        def apply(self, x: Any, lambda_: Any) -> Any:
            return gradient_reversal(x)  # always −I

    report = check("torch", Fixed(), only=("backward_reference", "one_compile", "bad_lambda"))
    report.assert_ok()
    by_check = {(r.check, r.status) for r in report.results}
    assert by_check == {
        ("backward_reference", "passed"),
        ("one_compile", "not applicable"),
        ("bad_lambda", "not applicable"),
    }
    assert {r.case for r in report.results if r.check == "backward_reference"} == {
        f"dtype={d!r},lambda_=1.0" for d in Adapter.dtypes
    }


def test_unknown_checks_and_frameworks_are_refused():
    with pytest.raises(ValueError, match="unknown checks: \\['no_such_check'\\]"):
        check("torch", lambda x, lam: x, only=("no_such_check",))
    with pytest.raises(ValueError, match="framework must be one of"):
        check("caffe", lambda x, lam: x)


def test_a_report_without_any_passing_check_is_not_ok():
    class Nothing(Adapter):
        pass

    report = check("torch", Nothing)
    assert {r.status for r in report.results} == {"not applicable"}
    with pytest.raises(AssertionError, match="no check ran"):
        report.assert_ok()


def test_the_pytest_fixture(tmp_path):
    require("torch")
    (tmp_path / "test_user.py").write_text(
        "from grl.torch import gradient_reversal\n"
        "from tests.kit.broken import torch_copying_forward\n\n"
        "ONLY = ('forward_zero_copy',)\n\n"
        "def test_mine(grl_conformance):\n"
        "    grl_conformance('torch', gradient_reversal, only=ONLY).assert_ok()\n\n"
        "def test_broken(grl_conformance):\n"
        "    grl_conformance('torch', torch_copying_forward, only=ONLY).assert_ok()\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    # Installed grl registers the plugin through its pytest11 entry point; a source tree
    # without that metadata names it (the entry point's name, so never twice).
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-p",
        "grl.conformance.pytest_plugin",
        "-p",
        "no:cacheprovider",
        "--rootdir",
        str(tmp_path),
        str(tmp_path),
    ]
    done = subprocess.run(command, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert "1 failed, 1 passed" in done.stdout, done.stdout + done.stderr
    assert "forward_zero_copy[dtype='float32']: the forward copies its input" in done.stdout


def test_json_lists_every_result(tmp_path):
    require("torch")
    from grl.torch import gradient_reversal

    report = check("torch", gradient_reversal, only=("integer_passthrough",))
    report.write_json(tmp_path / "r.json")
    document = json.loads((tmp_path / "r.json").read_text(encoding="utf-8"))
    assert document["capabilities"] == {"integer inputs pass through": "✅ 4"}
    assert [r["case"] for r in document["results"]] == [
        f"dtype={d!r}" for d in ("int32", "int64", "uint8", "bool")
    ]
