"""The one-spec promise: torch, TF and JAX give the same bits for the same inputs."""

import pytest

from grl.core.samples import normal_sample
from tests.conformance.cases import GRAD_DTYPES, assert_same_bits


@pytest.mark.capability("all backends agree bit for bit")
@pytest.mark.parametrize("dtype", GRAD_DTYPES)
@pytest.mark.parametrize("lambda_", [0.1, 6.0, (0.3, "float32"), (0.7, "bfloat16")], ids=str)
def test_backends_agree_bit_for_bit(all_backends, dtype, lambda_):
    # Normal-range values: outside the subnormal range all backends must agree exactly.
    x, g = normal_sample(dtype, (257,), seed=40), normal_sample(dtype, (257,), seed=41)
    having = [b for b in all_backends if dtype in b.dtypes]  # MLX has no complex128
    assert len(having) >= 3
    results = {b.name: b.run(lambda b=b: b.vjp(x, lambda_, g)) for b in having}
    first = results.pop("torch")
    for result in results.values():
        assert_same_bits(result, first)
