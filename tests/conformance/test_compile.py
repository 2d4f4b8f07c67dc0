"""λ as runtime state: one compile/trace across many λ values, same gradients as eager."""

import numpy as np
import pytest

from grl.core.reference import gradient_reversal_backward

X = np.linspace(-2.0, 2.0, 12, dtype=np.float32)
LAMBDAS = [0.0, 0.1, 0.5, 1.0, 2.0, 6.0, 0.25, 3.5]


@pytest.mark.capability("one compile/trace across λ changes")
def test_one_compile_across_lambda_values(backend):
    count, grads = backend.run(lambda: backend.compile_count(X, LAMBDAS))
    assert count == 1
    for value, grad in zip(LAMBDAS, grads, strict=True):
        expected = gradient_reversal_backward(np.cos(X), np.float32(value))
        np.testing.assert_allclose(grad, expected, rtol=2e-6, atol=1e-7)
