"""Import isolation: each entry point imports its own framework only."""

import ast
import importlib.util
import subprocess
import sys

import pytest

from grl._frameworks import BACKENDS, BY_NAME, COMPANIONS, install_hint
from tests.backends import BACKENDS as BACKEND_NAMES
from tests.backends import require

ALL_MODULES = sorted({f.module for f in BACKENDS + COMPANIONS})


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=False
    )


def _loaded(modules: list[str]) -> str:
    return f"sorted(m for m in {modules!r} if m in sys.modules)"


def test_importing_grl_imports_no_framework():
    code = (
        "import sys, grl, grl.core, grl.core.schedules, grl.core.golden, grl._frameworks\n"
        f"print({_loaded(ALL_MODULES)})"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def _others(name: str) -> list[str]:
    return [f.module for f in BACKENDS if f.name != name]


@pytest.mark.capability("import isolation and a clear ImportError")
def test_entry_point_imports_only_its_framework(backend):
    """grl.<backend> adds no other framework to what importing its framework loads.

    (TensorFlow 2.21 itself imports JAX when JAX is installed; that is not grl's doing.)
    """
    framework, others = BY_NAME[backend.name].module, _others(backend.name)
    code = (
        f"import sys, {framework}\n"
        f"before = {{m for m in {others!r} if m in sys.modules}}\n"
        f"import grl.{backend.name}\n"
        f"print(sorted(m for m in {others!r} if m in sys.modules and m not in before))"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_entry_point_alone_loads_no_framework_its_own_does_not(name):
    """In a fresh process, ``import grl.<name>`` loads no other framework than
    ``import <framework>`` alone loads (nothing, except TensorFlow's own JAX import)."""
    own = _run(f"import sys, {BY_NAME[name].module}\nprint({_loaded(_others(name))})")
    if own.returncode != 0:
        pytest.skip(f"{BY_NAME[name].module} is absent; the per-backend test reports it")
    grl_run = _run(f"import sys, grl.{name}\nprint({_loaded(_others(name))})")
    assert grl_run.returncode == 0, grl_run.stderr
    assert set(ast.literal_eval(grl_run.stdout)) <= set(ast.literal_eval(own.stdout)), (
        own.stdout,
        grl_run.stdout,
    )


@pytest.mark.capability("import isolation and a clear ImportError")
@pytest.mark.parametrize("name", BACKEND_NAMES)
def test_missing_framework_names_the_extra(name):
    module = BY_NAME[name].module
    # sys.modules[name] = None makes `import name` raise ImportError, as if uninstalled.
    code = (
        f"import sys; sys.modules[{module!r}] = None\n"
        f"try:\n    import grl.{name}\nexcept ImportError as e:\n    print(e)\n"
    )
    result = _run(code)
    assert result.returncode == 0, result.stderr
    assert install_hint(name) in result.stdout
    assert f"pip install 'grl[{name}]'" in result.stdout
    assert f"grl.{name} needs the '{module}' package" in result.stdout


FLAX_ON_ACCESS = """
import sys
import grl.jax
assert "flax" not in sys.modules, "import grl.jax imported flax"
from grl.jax import GradientReversal
import grl.backends.jax.nnx
assert "flax" in sys.modules
assert GradientReversal is grl.backends.jax.nnx.GradientReversal
assert grl.jax.nnx is grl.backends.jax.nnx and grl.jax.linen.GradientReversal is not None
assert "GradientReversal" in grl.jax.__all__ and "GradientReversal" in dir(grl.jax)
print(type(GradientReversal(0.5)).__name__)
"""


def test_grl_jax_gradient_reversal_is_the_nnx_module_imported_on_access():
    require("jax")
    if importlib.util.find_spec("flax") is None:
        pytest.skip(f"flax is not installed ({install_hint('flax')})")
    result = _run(FLAX_ON_ACCESS)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "GradientReversal"


WITHOUT_FLAX = """
import sys
sys.modules["flax"] = None  # any `import flax` now raises ImportError
import grl.jax
for name in ("GradientReversal", "nnx", "linen"):
    try:
        getattr(grl.jax, name)
    except ImportError as error:
        print(error)
try:
    from grl.jax import GradientReversal
except ImportError as error:
    print(error)
"""


def test_grl_jax_gradient_reversal_without_flax_names_the_extra():
    require("jax")
    result = _run(WITHOUT_FLAX)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 4, result.stdout
    for line, name in zip(
        lines, ["GradientReversal", "nnx", "linen", "GradientReversal"], strict=True
    ):
        assert line.startswith(f"grl.jax.{name} needs the 'flax' package"), line
        assert line.endswith("Install it with: pip install 'grl[flax]'"), line
