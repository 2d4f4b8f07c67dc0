"""Autocast: the GRL's gradient keeps the input's (autocast) dtype and follows the spec."""

from __future__ import annotations

import pytest

from tests.backends import require

grl_torch = require("torch")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from grl.core import schedules  # noqa: E402
from tests.torch.helpers import assert_same_bits, reference_grad  # noqa: E402


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_cpu_autocast_gradient_dtype_and_bits(dtype):
    torch.manual_seed(0)
    features, head = nn.Linear(8, 16), nn.Linear(16, 3)
    grl = grl_torch.GradientReversal(schedules.dann(total_steps=10))
    for _ in range(3):
        grl.step()  # λ = tanh(1.5): rounds differently in every dtype
    x = torch.randn(4, 8)
    with torch.autocast("cpu", dtype=dtype):
        h = features(x)
        h.retain_grad()
        reversed_h = grl(h)
        reversed_h.retain_grad()
        loss = head(reversed_h).float().pow(2).sum()
    loss.backward()
    assert h.dtype == dtype and reversed_h.grad.dtype == dtype
    assert h.grad.dtype == dtype  # not promoted by the float32 λ buffer
    assert_same_bits(h.grad, reference_grad(reversed_h.grad, grl.lambda_))
    assert features.weight.grad.dtype == torch.float32  # autocast's own rule is untouched


def test_autocast_does_not_change_the_lambda_buffer():
    grl = grl_torch.GradientReversal(0.1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        grl(torch.randn(3, requires_grad=True)).sum().backward()
    assert grl.lambda_.dtype == torch.float32 and grl.lambda_.item() == torch.tensor(0.1).item()
