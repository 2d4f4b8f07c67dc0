"""The one list of frameworks grl supports, and lazy imports that name the extra to install.

Everything that lists backends derives from :data:`BACKENDS`: the entry points' import
errors, the test suite (``tests/backends.py``, the conformance adapters, found by name as
``tests/conformance/adapters/<name>_adapter.py``), the capability matrix and the
benchmarks (``benchmarks/<name>_*.py``). Adding a backend means adding one entry here,
plus its own ``grl/<name>.py``, backend package, adapter and benchmark modules.

Importing this module imports no framework.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class Framework:
    """One framework: how users name it, import it and install it."""

    name: str  # public name: grl.<name>, the tests' and benchmarks' key
    module: str  # the module to import
    extra: str  # pip extra that installs it: pip install 'grl[<extra>]'
    title: str  # display name in docs and tables
    eager: str = "eager"  # what the benchmarks call its eager mode
    compiled: str = ""  # ... and its compiled mode

    @property
    def tests(self) -> str:
        """Folder of its integration tests."""
        return f"tests/{self.name}"


#: The backends: each has an entry point ``grl.<name>``, an adapter and benchmarks.
BACKENDS: tuple[Framework, ...] = (
    Framework("torch", "torch", "torch", "PyTorch", compiled="torch.compile"),
    Framework("tf", "tensorflow", "tf", "TensorFlow", compiled="tf.function(jit_compile=True)"),
    Framework("jax", "jax", "jax", "JAX", eager="eager (op by op)", compiled="jax.jit"),
    Framework("mlx", "mlx.core", "mlx", "MLX", compiled="mx.compile"),
)
#: Optional companions: libraries some entry points use on top of a backend.
COMPANIONS: tuple[Framework, ...] = (
    Framework("keras", "keras", "keras", "Keras"),
    Framework("flax", "flax", "flax", "Flax"),
)
BY_NAME: dict[str, Framework] = {f.name: f for f in BACKENDS + COMPANIONS}
#: Public backend names, in the order tests, tables and benchmarks use.
NAMES: tuple[str, ...] = tuple(f.name for f in BACKENDS)


def install_hint(name: str) -> str:
    """The command that installs framework ``name`` with grl."""
    return f"pip install 'grl[{BY_NAME[name].extra}]'"


def missing(user: str, name: str, error: BaseException | str) -> ImportError:
    """The ImportError raised when ``user`` (e.g. ``grl.jax.nnx``) lacks framework ``name``."""
    module = BY_NAME[name].module
    return ImportError(
        f"{user} needs the '{module}' package, which could not be imported ({error}). "
        f"Install it with: {install_hint(name)}"
    )


def require(name: str, user: str | None = None) -> ModuleType:
    """Import the framework ``name``, or raise :func:`missing`'s ImportError."""
    try:
        return importlib.import_module(BY_NAME[name].module)
    except ImportError as error:
        raise missing(user or f"grl.{name}", name, error) from error
