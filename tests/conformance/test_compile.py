"""λ as runtime state: one compile/trace across many λ values, same gradients as eager."""

import pytest

from grl.conformance import checks
from grl.conformance.pytest_plugin import run_check


@pytest.mark.capability("one compile/trace across λ changes")
def test_one_compile_across_lambda_values(backend):
    run_check(checks.one_compile, backend)
