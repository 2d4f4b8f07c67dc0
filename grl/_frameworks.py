"""Lazy, explicit framework imports with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType

#: Public backend name -> (module to import, pip extra that installs it).
FRAMEWORKS: dict[str, tuple[str, str]] = {
    "torch": ("torch", "torch"),
    "tf": ("tensorflow", "tf"),
    "jax": ("jax", "jax"),
}


def require(backend: str) -> ModuleType:
    """Import the framework behind ``backend`` or raise an ImportError naming the extra."""
    module_name, extra = FRAMEWORKS[backend]
    try:
        return importlib.import_module(module_name)
    except ImportError as error:
        raise ImportError(
            f"grl.{backend} needs the '{module_name}' package, which could not be imported "
            f"({error}). Install it with: pip install 'grl[{extra}]'"
        ) from error
