"""In-place ops right after the GRL: a clear error that says to clone (the output is a view)."""

from __future__ import annotations

import pytest

from tests.backends import require

grl_torch = require("torch")

import torch  # noqa: E402
from torch import nn  # noqa: E402


def test_inplace_relu_right_after_the_grl_raises_and_says_to_clone():
    model = nn.Sequential(nn.Linear(3, 4), grl_torch.GradientReversal(0.5), nn.ReLU(inplace=True))
    with pytest.raises(RuntimeError, match="is a view and is being modified inplace") as error:
        model(torch.randn(2, 3))
    assert "cloning the output of the custom Function" in str(error.value)


def test_inplace_after_the_grl_also_raises_under_torch_compile():
    torch._dynamo.reset()
    model = nn.Sequential(nn.Linear(3, 4), grl_torch.GradientReversal(0.5), nn.ReLU(inplace=True))
    with pytest.raises(RuntimeError, match="is a view and is being modified inplace"):
        torch.compile(model, backend="aot_eager")(torch.randn(2, 3))


@pytest.mark.parametrize(
    "build",
    [
        lambda grl: nn.Sequential(grl, nn.ReLU()),  # out-of-place activation
        lambda grl: nn.Sequential(nn.ReLU(inplace=True), grl),  # in-place before the GRL
        lambda grl: lambda x: torch.relu_(grl(x).clone()),  # explicit clone
    ],
)
def test_documented_workarounds_give_the_reversed_gradient(build):
    grl = grl_torch.GradientReversal(0.5)
    model = build(grl)
    x = torch.randn(8, requires_grad=True)
    model(x * 1.0).sum().backward()  # not a leaf, so an in-place op before the GRL is legal
    expected = torch.where(x.detach() > 0, -0.5, 0.0)
    torch.testing.assert_close(x.grad, expected, rtol=0, atol=0)  # ±0 alike: ReLU may go last


def test_inplace_after_the_grl_without_autograd_modifies_the_input_it_aliases():
    grl = grl_torch.GradientReversal(0.5)
    x = torch.tensor([-1.0, 2.0])
    with torch.no_grad():
        torch.relu_(grl(x))
    assert x.tolist() == [0.0, 2.0]  # the forward is a zero-copy view of x
