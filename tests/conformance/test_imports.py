"""Import isolation: each entry point imports its own framework only."""

import subprocess
import sys

import pytest

from tests.backends import BACKENDS

FRAMEWORK_MODULES = {"torch": "torch", "tf": "tensorflow", "jax": "jax"}


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )


def test_importing_grl_imports_no_framework():
    code = (
        "import sys, grl, grl.core, grl.core.schedules, grl.core.golden\n"
        "print(sorted(m for m in ('torch', 'tensorflow', 'jax', 'keras', 'flax') "
        "if m in sys.modules))"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.capability("import isolation and a clear ImportError")
def test_entry_point_imports_only_its_framework(backend):
    """grl.<backend> adds no other framework to what importing its framework loads.

    (TensorFlow 2.21 itself imports JAX when JAX is installed; that is not grl's doing.)
    """
    framework = FRAMEWORK_MODULES[backend.name]
    others = [m for name, m in FRAMEWORK_MODULES.items() if name != backend.name]
    code = (
        f"import sys, {framework}\n"
        f"before = {{m for m in {others!r} if m in sys.modules}}\n"
        f"import grl.{backend.name}\n"
        f"print(sorted(m for m in {others!r} if m in sys.modules and m not in before))"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_torch_and_jax_entry_points_import_nothing_else():
    for name in ("torch", "jax"):
        others = [m for key, m in FRAMEWORK_MODULES.items() if key != name]
        result = _run(f"import sys, grl.{name}\nprint([m for m in {others!r} if m in sys.modules])")
        if result.returncode != 0 and "pip install" in result.stderr:
            continue  # that framework is absent; the per-backend test reports it
        assert result.stdout.strip() == "[]", (name, result.stdout, result.stderr)


@pytest.mark.capability("import isolation and a clear ImportError")
@pytest.mark.parametrize("name", BACKENDS)
def test_missing_framework_names_the_extra(name):
    module = FRAMEWORK_MODULES[name]
    # sys.modules[name] = None makes `import name` raise ImportError, as if uninstalled.
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        f"try:\n    import grl.{name}\nexcept ImportError as e:\n    print(e)\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert f"pip install 'grl[{name}]'" in result.stdout
    assert f"grl.{name} needs the '{module}' package" in result.stdout
