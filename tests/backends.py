"""Which frameworks the test run has, and whether a missing one is a failure.

The backends are those of :data:`grl._frameworks.BACKENDS`. ``GRL_REQUIRE_BACKENDS=all``
(set by CI) or a comma list (``torch,jax``) turns a missing framework from a visible skip
into a failure, so no backend is silently left untested.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType

import pytest

from grl._frameworks import BY_NAME, NAMES, install_hint

BACKENDS = NAMES


def required_backends() -> set[str]:
    value = os.environ.get("GRL_REQUIRE_BACKENDS", "").strip()
    if value == "all":
        return set(BACKENDS)
    return {name.strip() for name in value.split(",") if name.strip()}


def require(backend: str) -> ModuleType:
    """Import ``grl.<backend>``; skip (or fail, when required) if its framework is missing."""
    module = BY_NAME[backend].module
    try:
        importlib.import_module(module)
    except ImportError as error:
        if backend in required_backends():
            pytest.fail(
                f"backend {backend!r} is required by GRL_REQUIRE_BACKENDS but "
                f"{module} cannot be imported: {error}",
                pytrace=False,
            )
        pytest.skip(f"{module} is not installed ({install_hint(backend)})", allow_module_level=True)
    return importlib.import_module(f"grl.{backend}")
