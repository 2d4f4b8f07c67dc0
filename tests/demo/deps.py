"""The demo's own dependencies (the ``demo`` extra): skip without them, unless the run
requires backends (``GRL_REQUIRE_BACKENDS``, set by CI), where a missing one must fail."""

from __future__ import annotations

import importlib

import pytest

from tests.backends import required_backends

DEMO_MODULES = ("sklearn", "matplotlib", "tqdm", "mlxtend", "skimage")


def require_demo_dependencies() -> None:
    for name in DEMO_MODULES:
        try:
            importlib.import_module(name)
        except ImportError as error:
            if required_backends():
                pytest.fail(
                    f"the demo needs {name} (pip install 'grl[demo]'): {error}", pytrace=False
                )
            pytest.skip(
                f"{name} is not installed (pip install 'grl[demo]')", allow_module_level=True
            )
