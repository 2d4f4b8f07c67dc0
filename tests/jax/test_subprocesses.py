"""Checks that need a fresh process: 4 host CPU devices, and grl.jax without Flax."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.backends import require

require("jax")

ROOT = Path(__file__).resolve().parents[2]
SHARDING_SCRIPT = Path(__file__).with_name("scripts") / "sharding_check.py"


def _run(args: list[str], **env: str) -> subprocess.CompletedProcess:
    environment = {**os.environ, "JAX_PLATFORMS": "cpu", "PYTHONPATH": str(ROOT), **env}
    return subprocess.run(
        [sys.executable, *args], env=environment, capture_output=True, text=True, timeout=300
    )


def test_sharded_gradients_equal_one_device_and_keep_the_input_sharding():
    result = _run([str(SHARDING_SCRIPT)], XLA_FLAGS="--xla_force_host_platform_device_count=4")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("OK")


WITHOUT_FLAX = """
import sys
sys.modules["flax"] = None  # any `import flax` now raises ImportError
import jax.numpy as jnp
import grl.jax as grl_jax
assert "flax" not in [name.split(".")[0] for name in sys.modules if sys.modules[name]]
assert float(grl_jax.gradient_reversal(jnp.ones(()), 0.5)) == 1.0
assert float(grl_jax.schedules.dann(10)(10)) > 0.99
try:
    grl_jax.nnx
except ImportError as error:
    assert "pip install 'grl[flax]'" in str(error), error
else:
    raise AssertionError("grl.jax.nnx imported without flax")
print("OK")
"""


def test_grl_jax_imports_without_flax_and_names_the_extra():
    result = _run(["-c", WITHOUT_FLAX])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("OK")


IMPORT_COST = """
import sys
import jax
before = set(sys.modules)
import grl.jax
added = sorted(name for name in set(sys.modules) - before if name.startswith("jax"))
# jax.extend (about 60 ms) is imported by the first traced call, not by grl.jax.
assert added == [], added
import jax.numpy as jnp
jax.grad(lambda v: grl.jax.gradient_reversal(v, 0.5))(1.0)
assert "jax.extend.core" in sys.modules
print("OK")
"""


def test_import_grl_jax_imports_no_jax_module_beyond_jax_itself():
    result = _run(["-c", IMPORT_COST])
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("OK")


PUBLIC_ONLY = """
import jax, jax.numpy as jnp
import grl.jax
jaxpr = str(jax.make_jaxpr(lambda v: grl.jax.gradient_reversal(v, 0.5))(jnp.ones(2)))
assert "custom_jvp" in jaxpr, jaxpr
assert "gradient_reversal[" not in jaxpr, jaxpr
assert float(jax.grad(lambda v: grl.jax.gradient_reversal(v, 0.5))(1.0)) == -0.5
print("OK")
"""


def test_the_environment_variable_forces_the_public_fallbacks():
    result = _run(["-c", PUBLIC_ONLY], GRL_JAX_PUBLIC_ONLY="1")
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("OK")
