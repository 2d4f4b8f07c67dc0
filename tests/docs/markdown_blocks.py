"""Find the Python code blocks of Markdown pages and the frameworks each one needs.

A fenced block whose info string starts with ``python`` (or ``py``) is executable; other
languages (``bash``, ``text``, ``bibtex``, ...) are not. An HTML comment
``<!-- docs-test: skip -->`` on the line before a fence exempts that block. Fences may be
indented (Material's content tabs indent them by four spaces).

The blocks of one page run in order in one namespace, so a block may use names defined by
an earlier one. A block needs the frameworks it imports, plus those of every earlier block
that defines a name it uses without defining it itself: when a framework is missing, every
block that could not run without it is skipped, not failed with a NameError.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})[ \t]*(?P<info>[^`]*?)[ \t]*$")
SKIP_MARKER = "<!-- docs-test: skip -->"
PYTHON_INFO = ("python", "py", "python3")

#: Module name (any dotted segment) -> the backend of tests/backends.py it needs.
FRAMEWORK_OF_MODULE = {
    "torch": "torch",
    "tensorflow": "tf",
    "tf": "tf",
    "keras": "tf",
    "jax": "jax",
    "flax": "jax",
    "optax": "jax",
}
#: Third-party modules whose absence the backend rule covers, beyond the framework itself.
EXTRA_MODULES = ("flax", "optax")
#: Backend -> the module that must be importable for it (as in tests/backends.py).
BACKEND_MODULE = {"torch": "torch", "tf": "tensorflow", "jax": "jax"}
#: Importable modules whose ImportError means "a framework (or its extra) is missing".
INSTALLABLE = ("torch", "tensorflow", "keras", "jax", "flax", "optax")


@dataclass
class Block:
    """One executable code block."""

    path: Path
    line: int  # 1-based line of the opening fence
    code: str
    imports: set[str] = field(default_factory=set)  # top-level module names imported
    backends: set[str] = field(default_factory=set)  # frameworks it needs (closure)

    @property
    def label(self) -> str:
        return f"{self.path.name}:{self.line}"


def extract_blocks(path: Path, text: str | None = None) -> list[Block]:
    """The executable Python blocks of the Markdown file at ``path``, in order."""
    lines = (path.read_text(encoding="utf-8") if text is None else text).splitlines()
    blocks: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if not opening:
            index += 1
            continue
        indent, fence = opening["indent"], opening["fence"]
        body, end = [], index + 1
        while end < len(lines):
            closing = FENCE.match(lines[end])
            if (
                closing
                and not closing["info"]
                and closing["fence"][0] == fence[0]
                and len(closing["fence"]) >= len(fence)
            ):
                break
            body.append(lines[end][len(indent) :] if lines[end].startswith(indent) else lines[end])
            end += 1
        language = opening["info"].split()[0].lstrip("{.").rstrip("}") if opening["info"] else ""
        if language in PYTHON_INFO and _previous_line(lines, index) != SKIP_MARKER:
            blocks.append(Block(path=path, line=index + 1, code="\n".join(body) + "\n"))
        index = end + 1
    _resolve_backends(blocks)
    return blocks


def _previous_line(lines: list[str], index: int) -> str:
    for previous in reversed(lines[:index]):
        if previous.strip():
            return previous.strip()
    return ""


def _imported_modules(tree: ast.AST) -> set[str]:
    modules = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules.add(node.module)
            modules.update(f"{node.module}.{alias.name}" for alias in node.names)
    return modules


def frameworks_of(modules: set[str]) -> set[str]:
    """Backends needed by a set of dotted module names (``grl.torch`` needs ``torch``)."""
    return {
        FRAMEWORK_OF_MODULE[segment]
        for module in modules
        for segment in module.split(".")
        if segment in FRAMEWORK_OF_MODULE
    }


def _bound_names(tree: ast.AST) -> set[str]:
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


def _loaded_names(tree: ast.AST) -> set[str]:
    return {
        node.id
        for node in ast.walk(tree)
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load)
    }


def _resolve_backends(blocks: list[Block]) -> None:
    """Fill each block's ``imports`` and ``backends`` (its own plus those it depends on)."""
    definer: dict[str, Block] = {}  # name -> latest earlier block that bound it
    for block in blocks:
        try:
            tree = ast.parse(block.code)
        except SyntaxError:
            continue  # executing it reports the syntax error with its location
        block.imports = _imported_modules(tree)
        block.backends = frameworks_of(block.imports)
        bound = _bound_names(tree)
        for name in _loaded_names(tree) - bound:
            if name in definer:
                block.backends |= definer[name].backends
        for name in bound:
            definer[name] = block
