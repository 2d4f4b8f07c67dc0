"""Bad input to the functional op and the module: clear errors, raised before any work."""

from __future__ import annotations

import numpy as np
import pytest

from tests.backends import require

grl_torch = require("torch")

import torch  # noqa: E402

from grl.core import schedules  # noqa: E402


@pytest.mark.parametrize("x", [[1.0, 2.0], np.ones(3, dtype=np.float32), 1.5, None])
def test_non_tensor_x_is_a_type_error_that_says_how_to_convert(x):
    with pytest.raises(TypeError, match=r"x must be a torch\.Tensor; got .*torch\.as_tensor"):
        grl_torch.gradient_reversal(x, 0.5)
    with pytest.raises(TypeError, match=r"x must be a torch\.Tensor"):
        grl_torch.GradientReversal(0.5)(x)


def test_lambda_tensor_on_another_device_names_both_devices():
    x = torch.randn(3, requires_grad=True)
    with pytest.raises(ValueError, match=r"lambda_ is on device meta but x is on cpu"):
        grl_torch.gradient_reversal(x, torch.tensor(0.5, device="meta"))


def test_lambda_tensor_on_the_same_device_is_used_as_is():
    x = torch.empty(3, device="meta")
    assert grl_torch.gradient_reversal(x, torch.tensor(0.5, device="meta")).device.type == "meta"


def test_lambda_tensor_that_requires_grad_is_refused():
    lam = torch.tensor(0.5, requires_grad=True)
    with pytest.raises(ValueError, match=r"lambda_ must not require grad.*lambda_\.detach\(\)"):
        grl_torch.gradient_reversal(torch.randn(3), lam)


def test_a_schedule_passed_to_the_functional_op_points_to_the_module():
    with pytest.raises(TypeError, match=r"GradientReversal\(lambda_=schedule\)"):
        grl_torch.gradient_reversal(torch.randn(3), schedules.dann(total_steps=10))


@pytest.mark.parametrize(
    ("lam", "error", "message"),
    [
        (-0.1, ValueError, "lambda_ must be >= 0"),
        (float("nan"), ValueError, "lambda_ must be finite"),
        ("1", TypeError, "lambda_ must be a real number"),
        (torch.tensor([0.5]), ValueError, "0-d"),
        (torch.tensor(1), TypeError, "not a real floating dtype"),
        (torch.tensor(-1.0), ValueError, "lambda_ must be >= 0"),
    ],
)
def test_bad_lambda_is_refused_before_any_graph_is_built(lam, error, message):
    x = torch.randn(3, requires_grad=True)
    with pytest.raises(error, match=message):
        grl_torch.gradient_reversal(x, lam)


def test_numpy_scalar_lambda_is_accepted():
    x = torch.randn(3, requires_grad=True)
    grl_torch.gradient_reversal(x, np.float32(0.5)).sum().backward()
    assert x.grad.tolist() == [-0.5, -0.5, -0.5]


def test_integer_tensors_pass_through_unchanged():
    x = torch.arange(4)
    assert grl_torch.gradient_reversal(x, 0.5) is x
    assert grl_torch.GradientReversal(0.5)(x) is x
