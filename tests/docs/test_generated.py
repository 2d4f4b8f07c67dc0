"""Generated documentation: the capability matrix and the schedule figure.

The matrix is regenerated from a full conformance run in CI (``.ci/run`` checks it with
``docs/gen_capability_matrix.py --check``); here, cheaply, the generator's folding rules are
checked on hand-made records, and the committed matrix on its coverage.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"docs_{name}", ROOT / "docs" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while it loads
    spec.loader.exec_module(module)
    return module


matrix = _load("gen_capability_matrix")
figures = _load("gen_figures")

ADAPTERS = ("torch", "tf", "jax")
METHODS = {"torch": {"double_backward"}, "tf": {"nested_tape"}, "jax": {"hessian"}}


def record(capability, backend, outcome="passed", kind="conformant", test="t.py::test_x"):
    return {
        "capability": capability,
        "kind": kind,
        "backend": backend,
        "test": test,
        "outcome": outcome,
    }


def table(records, declared=("a", "b")):
    text = matrix.build_matrix(records, declared, ADAPTERS, METHODS)
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("|").split("|")]
        if line.startswith("| ") and cells[0] not in rows:
            rows[cells[0]] = dict(zip(["capability", "torch", "tf", "jax"], cells, strict=True))
    return text, rows


def test_cells_fold_outcomes_and_kinds():
    records = [
        record("a", "torch"),
        record("a", "torch"),
        record("a", "tf", kind="not observable"),
        record("a", "jax", kind="clear error"),
        record("b", "torch", outcome="failed"),
        record("b", "torch"),
        record("b", "tf", outcome="skipped"),
        record("b", "jax"),
        record("b", "jax", outcome="skipped"),
    ]
    _, rows = table(records)
    assert rows["a"]["torch"] == "✅ 2"
    assert rows["a"]["tf"] == "➖ not observable (1)"
    assert rows["a"]["jax"] == "⚠️ clear error (1)"
    assert rows["b"]["torch"] == "❌ 1/2 failed"
    assert rows["b"]["tf"] == "⏭️ not run"
    assert rows["b"]["jax"] == "✅ 1 (1 skipped)"


def test_rows_follow_the_declared_order_and_report_missing_capabilities():
    _, rows = table([record("b", "torch"), record("extra", "jax")], declared=("a", "b"))
    assert list(rows)[1:] == ["a", "b", "extra"]  # after the header row
    assert rows["a"]["torch"] == rows["a"]["jax"] == "⏭️ not run"  # declared, never ran
    assert rows["b"]["tf"] == "—"  # ran, but not for this backend


def test_backend_all_is_resolved_from_the_test_id_or_fills_every_column():
    records = [
        record("a", "all", test="t.py::test_h[0.5-tf-nested_tape]"),
        record("b", "all", test="t.py::test_joint[float32]"),
    ]
    text, rows = table(records)
    assert rows["a"]["tf"] == "✅ 1" and rows["a"]["torch"] == "—"
    assert rows["b"]["torch"] == rows["b"]["tf"] == rows["b"]["jax"] == "✅ 1"
    # The adapter declares nested_tape, so the transformation table lists it.
    assert "| a | — | ✅&nbsp;`nested_tape` | — |" in text


def test_a_fourth_backend_gets_its_own_column():
    text = matrix.build_matrix([record("a", "mxnet")], ["a"], [*ADAPTERS, "mxnet"], METHODS)
    assert text.splitlines()[0] == "| capability | PyTorch | TensorFlow | JAX | mxnet |"


def test_check_mode_detects_a_stale_page(tmp_path, monkeypatch):
    page = tmp_path / "page.md"
    page.write_text(f"# t\n{matrix.BEGIN}\nold\n{matrix.END}\n", encoding="utf-8")
    report = tmp_path / "report.jsonl"
    report.write_text(json.dumps(record("x", "torch")) + "\n", encoding="utf-8")
    arguments = [str(report), "--doc", str(page)]
    assert matrix.main([*arguments, "--check"]) == 1
    assert matrix.main(arguments) == 0
    assert "| x | ✅ 1 |" in page.read_text(encoding="utf-8")
    assert matrix.main([*arguments, "--check"]) == 0


def test_malformed_report_line_is_named():
    with pytest.raises(ValueError, match="line 2 is not JSON"):
        matrix.read_records(['{"a": 1}', "not json"])


def committed_block() -> str:
    text = (ROOT / "docs" / "conformance.md").read_text(encoding="utf-8")
    return text[text.index(matrix.BEGIN) : text.index(matrix.END)]


def test_committed_matrix_has_every_capability_and_backend():
    block = committed_block()
    header = block.splitlines()[1]
    for backend in matrix.adapters():
        assert matrix.BACKEND_TITLES.get(backend, backend) in header
    rows = re.findall(r"^\| (.+?) \|", block, flags=re.MULTILINE)
    declared = matrix.declared_capabilities()
    assert len(declared) >= 15
    assert set(declared) <= set(rows)


def test_committed_matrix_comes_from_a_passing_complete_run():
    block = committed_block()
    assert matrix.FAILED not in block and matrix.NOT_RUN not in block
    assert re.search(r"\d+ test results, 0 failed", block)


def test_schedule_figure_is_current():
    committed = (ROOT / "docs" / "images" / "schedules.svg").read_text(encoding="utf-8")
    assert committed == figures.render(), "run: python docs/gen_figures.py"
