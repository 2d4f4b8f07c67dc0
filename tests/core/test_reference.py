"""The NumPy reference itself: the cast rule, complex scaling, flush-to-zero mode."""

import ml_dtypes
import numpy as np

from grl.core.reference import cast_lambda, flush_subnormals, gradient_reversal_backward


def test_cast_goes_through_float32_for_16_bit_targets():
    # 0.1 rounds differently when float64 -> bfloat16 directly vs via float32 for some
    # values; the rule fixes the path, so the result must equal the two-step cast.
    for value in (0.1, 1 / 3, 6.0, 1000.0, 1.00390625 + 2**-30):
        two_step = np.float32(-value).astype(ml_dtypes.bfloat16)
        assert cast_lambda(value, "bfloat16") == two_step
        assert cast_lambda(value, "float16") == np.float32(-value).astype(np.float16)


def test_float32_lambda_is_not_rerounded():
    assert cast_lambda(np.float32(0.1), "float64") == np.float64(np.float32(-0.1))


def test_complex_scales_both_parts_by_a_real():
    g = np.array([complex(0.0, -1.0), complex(np.inf, 0.0)], np.complex64)
    result = gradient_reversal_backward(g, 2.0)
    assert np.signbit(result[0].real)  # -(+0)·2 keeps its sign: no complex-multiply zeros
    assert result[1] == complex(-np.inf, -0.0)  # no NaN from inf·0


def test_flush_to_zero_mode():
    tiny = np.array([1e-40, -1e-40, 1.0], np.float32)
    assert np.signbit(flush_subnormals(tiny)[1]) and flush_subnormals(tiny)[0] == 0
    half = np.array([1e-7], np.float16)  # float16 subnormals are exempt
    assert flush_subnormals(half)[0] == half[0]
    ieee = gradient_reversal_backward(np.array([1.2e-38], np.float32), 0.1)
    flushed = gradient_reversal_backward(np.array([1.2e-38], np.float32), 0.1, flush_to_zero=True)
    assert ieee[0] != 0 and flushed[0] == 0
