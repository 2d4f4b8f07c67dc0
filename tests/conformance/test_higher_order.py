"""Every derivative through the GRL applies −λ·I, in every mode and composition."""

import numpy as np
import pytest

from grl.core.samples import sample
from tests.conformance.cases import assert_conforms

X = np.linspace(-3.0, 3.0, 7)


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
@pytest.mark.parametrize("lambda_", [0.5, 1.0, 6.0])
def test_second_derivative_of_sin(backend_name, method, lambda_):
    from tests.conformance.conftest import load_adapter

    backend = load_adapter(backend_name)
    x = X.astype(np.float64)
    actual = backend.run(lambda: backend.second_derivative(x, lambda_, method))
    np.testing.assert_allclose(actual, -(lambda_**2) * np.sin(x), rtol=1e-12, atol=1e-12)


@pytest.mark.capability("forward mode gives −λ·t")
@pytest.mark.parametrize(("backend_name", "method"), _methods("forward_mode_methods"))
@pytest.mark.parametrize("dtype", ["float32", "float64", "bfloat16"])
def test_forward_mode_is_minus_lambda_t(backend_name, method, dtype):
    from tests.conformance.conftest import load_adapter

    backend = load_adapter(backend_name)
    x, t = sample(dtype, (6,), seed=20), sample(dtype, (6,), seed=21)
    if method == "jacfwd":
        # J @ t sums zeros into each entry (−0 + 0 = +0), so probe J with ones instead.
        t = np.ones_like(t)
    actual = backend.run(lambda: backend.forward_mode(x, 0.1, t, method))
    assert_conforms(backend, actual, t, 0.1)


@pytest.mark.capability("forward mode under the compiler")
def test_forward_mode_under_compiler_is_conformant_or_a_clear_error(backend, request):
    x, t = sample("float32", (6,), seed=22), sample("float32", (6,), seed=23)
    errors = backend.forward_mode_errors
    if "compiled_jvp" in errors:
        request.node.user_properties.append(("kind", "clear error"))
        with pytest.raises(errors["compiled_jvp"], match=r"(?i)forward|jvp"):
            backend.run(lambda: backend.forward_mode(x, 0.1, t, "compiled_jvp"))
        return
    method = backend.compiled_forward_mode_method
    assert method, f"{backend.name} declares neither a compiled forward-mode method nor an error"
    actual = backend.run(lambda: backend.forward_mode(x, 0.1, t, method))
    assert_conforms(backend, actual, t, 0.1)
