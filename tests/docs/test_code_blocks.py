"""Every Python block of README.md and docs/**/*.md runs, so the documentation cannot rot.

One test per block; the blocks of a page share one namespace and one working directory and
run in page order (a block whose predecessors ran in another xdist worker replays them
first). A block that needs a missing framework follows ``tests/backends.py``: skipped,
or failed when ``GRL_REQUIRE_BACKENDS`` requires that framework. A missing optional library
(flax, optax, lightning, onnx, ...) skips, and fails only when every backend is required
(CI's complete environment must have everything the docs use).
"""

from __future__ import annotations

import ast
import importlib.util
from pathlib import Path
from typing import Any

import pytest

from tests.backends import require, required_backends
from tests.docs.markdown_blocks import (
    BACKEND_MODULE,
    EXTRA_MODULES,
    FRAMEWORK_OF_MODULE,
    INSTALLABLE,
    Block,
    extract_blocks,
)

ROOT = Path(__file__).resolve().parents[2]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]

_BLOCKS: dict[Path, list[Block]] = {page: extract_blocks(page) for page in PAGES if page.exists()}
#: page -> (namespace, number of blocks already run in it, working directory)
_STATE: dict[Path, tuple[dict[str, Any], int, Path]] = {}


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _needed_extras(block: Block) -> set[str]:
    return {m for m in EXTRA_MODULES for name in block.imports if m in name.split(".")}


def _runnable(block: Block) -> bool:
    frameworks = all(_installed(BACKEND_MODULE[b]) for b in block.backends)
    return frameworks and all(_installed(m) for m in _needed_extras(block))


def _require_extra(module: str) -> None:
    """An optional library (flax, optax, lightning, onnx, ...): skipped when missing, except
    in a run that requires every backend (CI's complete environment), where it fails."""
    if _installed(module):
        return
    if required_backends() >= set(BACKEND_MODULE):
        pytest.fail(
            f"{module} is needed by a docs example and GRL_REQUIRE_BACKENDS requires every "
            f"backend: pip install {module}",
            pytrace=False,
        )
    pytest.skip(f"{module} is not installed (pip install {module})")


def _missing_module(error: ImportError) -> str | None:
    """The third-party module an ImportError says is missing (None: a real failure).

    grl's own entry points name their framework in the message (``needs the 'flax'
    package``); a plain ``import lightning`` sets ``error.name``.
    """
    candidates = [m for m in INSTALLABLE if f"'{m}'" in str(error)]
    candidates.append((error.name or "").split(".")[0])
    for module in candidates:
        if module and module != "grl" and not _installed(module):
            return module
    return None


def _execute(block: Block, namespace: dict[str, Any]) -> None:
    tree = ast.parse(block.code, filename=str(block.path))
    ast.increment_lineno(tree, block.line)  # tracebacks point at the Markdown lines
    exec(compile(tree, str(block.path), "exec"), namespace)


def _case_ids() -> list[Any]:
    return [
        pytest.param(page, index, id=f"{page.relative_to(ROOT)}:{block.line}")
        for page, blocks in _BLOCKS.items()
        for index, block in enumerate(blocks)
    ]


@pytest.mark.parametrize(("page", "index"), _case_ids())
def test_code_block_runs(page, index, tmp_path_factory, monkeypatch):
    blocks = _BLOCKS[page]
    block = blocks[index]
    for backend in sorted(block.backends):
        require(backend)
    for module in sorted(_needed_extras(block)):
        _require_extra(module)

    namespace, done, workdir = _STATE.get(page, ({}, 0, None))
    if workdir is None or done > index:  # first block here, or run out of order (-k, -p)
        namespace = {"__name__": "__docs__"}
        done, workdir = 0, tmp_path_factory.mktemp(page.stem)
    monkeypatch.chdir(workdir)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    for earlier in blocks[done:index]:
        if not _runnable(earlier):
            continue  # its own test reports the skip
        try:
            _execute(earlier, namespace)
        except ImportError as error:
            if _missing_module(error) is None:
                pytest.fail(f"earlier block {earlier.label} failed: {error!r}", pytrace=False)
            # a library missing for that block: its own test skipped (or failed) for it
        except Exception as error:
            pytest.fail(f"earlier block {earlier.label} failed: {error!r}", pytrace=False)
    _STATE[page] = (namespace, index, workdir)
    try:
        _execute(block, namespace)
    except ImportError as error:
        module = _missing_module(error)
        if module is None:
            raise
        if module in BACKEND_MODULE.values() or module == "keras":
            require(FRAMEWORK_OF_MODULE[module])
        _require_extra(module)  # any other library: skip, or fail when all are required
        raise
    _STATE[page] = (namespace, index + 1, workdir)
