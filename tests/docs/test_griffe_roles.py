"""The griffe extension turns Sphinx roles into optional cross-references for the site."""

import importlib.util
import sys
from pathlib import Path

import pytest

griffe = pytest.importorskip("griffe", reason="griffe comes with the docs extra")

ROOT = Path(__file__).resolve().parents[2]


def load_extension():
    spec = importlib.util.spec_from_file_location(
        "docs_griffe_sphinx_roles", ROOT / "docs" / "griffe_sphinx_roles.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_roles_become_optional_autorefs_resolved_in_scope(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text(
        '"""See :mod:`grl.core` and :class:`~pkg.Layer`."""\n'
        "class Layer:\n"
        '    """Call :meth:`step`, then :func:`helper`; not :data:`UNKNOWN`."""\n'
        "    def step(self):\n"
        "        pass\n"
        "def helper():\n"
        "    pass\n",
        encoding="utf-8",
    )
    extension = load_extension().SphinxRoles()
    pkg = griffe.load("pkg", search_paths=[tmp_path], extensions=griffe.load_extensions(extension))
    module_doc, class_doc = pkg.docstring.value, pkg["Layer"].docstring.value
    assert '<autoref identifier="grl.core" optional><code>grl.core</code></autoref>' in module_doc
    assert '<autoref identifier="pkg.Layer" optional><code>Layer</code></autoref>' in module_doc
    assert 'identifier="pkg.Layer.step" optional><code>step</code>' in class_doc
    assert 'identifier="pkg.helper" optional><code>helper</code>' in class_doc
    # Unresolvable names stay as written (the optional autoref renders them as plain code).
    assert 'identifier="UNKNOWN" optional><code>UNKNOWN</code>' in class_doc
    assert ":meth:" not in class_doc and ":mod:" not in module_doc
