"""Every derivative through the GRL applies −λ·I, in every mode and composition.

The checks are the shipped kit's (grl.conformance.checks): CI holds grl to exactly them.
"""

import pytest

from grl.conformance import checks
from grl.conformance.pytest_plugin import run_check


def _methods(attribute):
    from tests.conformance.adapters import ADAPTERS
    from tests.conformance.conftest import load_adapter

    params = []
    for name in ADAPTERS:
        try:
            methods = getattr(load_adapter(name), attribute)
        except BaseException:  # framework missing: the backend fixture reports it
            methods = ("unavailable",)
        params += [pytest.param(name, m, id=f"{name}-{m}") for m in methods]
    return params


@pytest.mark.capability("second derivative is −λ²·sin x")
@pytest.mark.parametrize(("backend_name", "method"), _methods("second_order_methods"))
@pytest.mark.parametrize("lambda_", checks.SECOND_ORDER_LAMBDAS)
def test_second_derivative_of_sin(backend_name, method, lambda_):
    from tests.conformance.conftest import load_adapter

    run_check(checks.second_derivative, load_adapter(backend_name), method, lambda_)


@pytest.mark.capability("forward mode gives −λ·t")
@pytest.mark.parametrize(("backend_name", "method"), _methods("forward_mode_methods"))
@pytest.mark.parametrize("dtype", checks.FORWARD_MODE_DTYPES)
def test_forward_mode_is_minus_lambda_t(backend_name, method, dtype):
    from tests.conformance.conftest import load_adapter

    run_check(checks.forward_mode, load_adapter(backend_name), method, dtype)


@pytest.mark.capability("forward mode under the compiler")
def test_forward_mode_under_compiler_is_conformant_or_a_clear_error(backend, request):
    kind = run_check(checks.forward_mode_compiled, backend)
    if kind == "clear error":
        request.node.user_properties.append(("kind", "clear error"))
