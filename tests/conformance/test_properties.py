"""Property-based checks (hypothesis) over shapes, dtypes and λ, per backend."""

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from grl.core.reference import numpy_dtype
from grl.core.samples import sample
from tests.conformance.cases import GRAD_DTYPES, assert_conforms, assert_same_bits

shapes = hnp.array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=5)
lambdas = st.floats(min_value=0.0, max_value=1e4, allow_nan=False, allow_infinity=False)
SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@pytest.mark.capability("property-based: forward identity and reference backward")
@SETTINGS
@given(shape=shapes, dtype=st.sampled_from(GRAD_DTYPES), lambda_=lambdas, seed=st.integers(0, 999))
def test_random_cases_follow_the_rule(backend, shape, dtype, lambda_, seed):
    assume(dtype in backend.dtypes)  # MLX has no complex128
    x, g = sample(dtype, shape, seed), sample(dtype, shape, seed + 1)
    y = backend.run(lambda: backend.to_numpy(backend.forward(backend.from_numpy(x), lambda_)))
    assert_same_bits(y, x)
    actual = backend.run(lambda: backend.vjp(x, lambda_, g))
    assert_conforms(backend, actual, g, lambda_)


@pytest.mark.capability("property-based: forward identity and reference backward")
@SETTINGS
@given(
    values=hnp.arrays(
        np.float32,
        hnp.array_shapes(max_dims=2, max_side=6),
        elements=st.floats(width=32, allow_nan=False),
    ),
    lambda_dtype=st.sampled_from(["float16", "bfloat16", "float32", "float64"]),
    lambda_=lambdas,
)
def test_arbitrary_float32_gradients(backend, values, lambda_dtype, lambda_):
    lam = np.asarray(lambda_).astype(numpy_dtype(lambda_dtype))
    actual = backend.run(lambda: backend.vjp(values, (float(lam), lambda_dtype), values))
    assert_conforms(backend, actual, values, lam)
