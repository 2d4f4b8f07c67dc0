"""``grl._frameworks`` is the one list of backends: every other list derives from it.

Two checks: each consumer's list equals the registry, and no Python file of the project
spells a list of backend names (or of their modules) by hand.
"""

from __future__ import annotations

import ast
import subprocess
from pathlib import Path

import pytest

from grl._frameworks import BACKENDS, COMPANIONS, NAMES, install_hint, missing

ROOT = Path(__file__).resolve().parents[1]
BACKEND_WORDS = (set(NAMES), {f.module for f in BACKENDS})
#: Files allowed to spell the names, and why.
ALLOWED = {
    "grl/_frameworks.py": "the registry itself",
    "tests/test_framework_registry.py": "this test's own examples",
    "grl/backends/keras/dispatch.py": "Keras's backend names (its KERAS_BACKEND values)",
    "tests/conformance/test_layer_contract.py": "per-backend layer kinds, checked equal to it",
    "grl/demo/cli.py": "the frameworks the demo has trainers for (no MLX trainer)",
    "tests/docs/markdown_blocks.py": "which framework each docs code block imports",
    "tests/docs/test_generated.py": "synthetic reports that exercise the matrix generator",
}


def hand_lists(source: str) -> list[int]:
    """Line numbers of tuple, list, set or dict-key literals naming three or more backends.

    Three, not all: a list of the old backends is exactly what a new backend leaves stale.
    """
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
            items = node.elts
        elif isinstance(node, ast.Dict):
            items = [key for key in node.keys if key is not None]
        else:
            continue
        words = {i.value for i in items if isinstance(i, ast.Constant) and isinstance(i.value, str)}
        if any(len(names & words) >= 3 for names in BACKEND_WORDS):
            found.append(node.lineno)
    return found


def test_the_detector_finds_a_hand_list_and_passes_derived_ones() -> None:
    assert hand_lists('A = ("torch", "tf", "jax")\nB = {"jax": 1, "tf": 2, "torch": 3}') == [1, 2]
    assert hand_lists('C = ["tensorflow", "jax", "keras", "torch"]') == [1]
    assert hand_lists('D = tuple(f.name for f in BACKENDS)\nE = ("tf", "jax")') == []


def tracked_python_files() -> list[str]:
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "*.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if listed.returncode != 0:
        pytest.skip("not a git checkout")
    return [p for p in listed.stdout.split() if (ROOT / p).exists()]


def test_no_file_lists_the_backends_by_hand() -> None:
    offenders = []
    for path in tracked_python_files():
        if path in ALLOWED:
            continue
        lines = hand_lists((ROOT / path).read_text(encoding="utf-8"))
        offenders += [f"{path}:{line}" for line in lines]
    assert not offenders, (
        "these lists of backends should derive from grl._frameworks: " + ", ".join(offenders)
    )


def test_consumers_list_exactly_the_registry() -> None:
    from benchmarks import report, worker
    from tests.backends import BACKENDS as TESTED
    from tests.conformance.adapters import ADAPTERS

    assert TESTED == NAMES
    assert list(ADAPTERS) == list(NAMES)
    assert list(worker.FRAMEWORKS) == list(NAMES)
    assert set(report.NAMES) == set(NAMES)
    for name, module in ADAPTERS.items():
        assert (ROOT / (module.replace(".", "/") + ".py")).is_file(), name
        assert (ROOT / "grl" / f"{name}.py").is_file(), name


def test_install_hint_and_missing_error_name_the_extra() -> None:
    assert install_hint("tf") == "pip install 'grl[tf]'"
    assert install_hint("flax") == "pip install 'grl[flax]'"
    error = missing("grl.keras", "keras", "No module named 'keras'")
    assert isinstance(error, ImportError)
    assert str(error) == (
        "grl.keras needs the 'keras' package, which could not be imported "
        "(No module named 'keras'). Install it with: pip install 'grl[keras]'"
    )
    assert {f.name for f in COMPANIONS} == {"keras", "flax"}


def test_every_extra_named_by_the_registry_exists_in_pyproject() -> None:
    import tomllib

    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"][
        "optional-dependencies"
    ]
    for framework in BACKENDS + COMPANIONS:
        assert framework.extra in extras, framework
