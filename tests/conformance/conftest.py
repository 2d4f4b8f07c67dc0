"""Fixtures of the conformance suite: every test runs once per backend.

Tests carry ``@pytest.mark.capability("...")``; when ``GRL_CAPABILITY_REPORT`` names a file,
each (capability, backend, outcome) is written there as JSON lines, from which the docs'
capability matrix is generated (``docs/gen_capability_matrix.py``).
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from tests.backends import BACKENDS, require
from tests.conformance.adapters import adapter_class
from tests.conformance.adapters.base import Adapter

_CACHE: dict[str, Adapter] = {}


def load_adapter(name: str) -> Adapter:
    if name not in _CACHE:
        require(name)
        _CACHE[name] = adapter_class(name)()
    return _CACHE[name]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> Adapter:
    return load_adapter(request.param)


@pytest.fixture
def all_backends() -> list[Adapter]:
    return [load_adapter(name) for name in BACKENDS]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "capability(name, kind='conformant'): a row of the capability matrix"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: Any) -> Any:
    outcome = yield
    report = outcome.get_result()
    path = os.environ.get("GRL_CAPABILITY_REPORT")
    marker = item.get_closest_marker("capability")
    if not path or marker is None or (report.when != "call" and not report.skipped):
        return
    params = item.callspec.params if hasattr(item, "callspec") else {}
    backend_name = params.get("backend") or params.get("backend_name") or params.get("name")
    record = {
        "capability": marker.args[0],
        "kind": dict(item.user_properties).get("kind", marker.kwargs.get("kind", "conformant")),
        "backend": backend_name or "all",
        "test": item.nodeid,
        "outcome": report.outcome,
    }
    with open(path, "a", encoding="utf-8") as stream:
        stream.write(json.dumps(record) + "\n")
