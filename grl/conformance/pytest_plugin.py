"""pytest plugin: the ``grl_conformance`` fixture.

Registered through the ``pytest11`` entry point when grl is installed (or name it in a
conftest: ``pytest_plugins = ["grl.conformance.pytest_plugin"]``)::

    def test_my_grl_conforms(grl_conformance):
        grl_conformance("torch", my_package.grad_reverse).assert_ok()

Importing this module imports no framework.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from grl.conformance.adapter import AdapterLacks
from grl.conformance.checks import NotApplicable
from grl.conformance.report import Report
from grl.conformance.runner import check


@pytest.fixture
def grl_conformance() -> Callable[..., Report]:
    """:func:`grl.conformance.check`: ``(framework, f_or_adapter, only=()) -> Report``."""
    return check


def run_check(check_function: Callable[..., Any], adapter: Any, *args: Any, **case: Any) -> Any:
    """Run one check of :mod:`grl.conformance.checks` as a test: a check that does not apply
    (a dtype the framework lacks, a method the adapter does not implement) is skipped."""
    try:
        return check_function(adapter, *args, **case)
    except (NotApplicable, AdapterLacks) as error:
        pytest.skip(str(error) or "not applicable")
