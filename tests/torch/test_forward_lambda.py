"""The backward uses the λ of its forward, whatever runs between them (issue #13)."""

from __future__ import annotations

import pytest

from tests.backends import require

grl_torch = require("torch")

import torch  # noqa: E402


@pytest.mark.parametrize("backend", ["eager", "aot_eager", "inductor"])
@pytest.mark.parametrize("change", ["set_lambda", "step"])
def test_a_lambda_change_before_a_compiled_backward_is_not_seen_by_it(backend, change):
    """inductor and aot_eager raised "modified by an inplace operation"; backend="eager"
    silently used the new λ."""
    torch.compiler.reset()
    layer = grl_torch.GradientReversal(0.5)

    @torch.compile(backend=backend, fullgraph=True)
    def loss(x: torch.Tensor) -> torch.Tensor:
        return (layer(x) * x).sum()

    x = torch.ones(3, requires_grad=True)
    pending = loss(x)
    if change == "step":
        layer.set_lambda(1.0)
        layer.step()
    else:
        layer.set_lambda(1.0)
    pending.backward()
    assert torch.equal(x.grad, torch.full((3,), 0.5))  # x·(−0.5) + x, with the old λ
    x.grad = None
    loss(x).backward()  # the next forward uses the new λ
    assert torch.equal(x.grad, torch.zeros(3))


# backend="eager" is left out: its autograd_function_apply keeps the saved alias of λ in a
# reference cycle until the garbage collector runs, so λ moves (correctly) to new memory.
@pytest.mark.parametrize("backend", ["aot_eager", "inductor"])
def test_a_compiled_training_loop_keeps_lambda_in_place_when_nothing_holds_it(backend):
    torch.compiler.reset()
    layer = grl_torch.GradientReversal(0.5)
    compiled = torch.compile(lambda x: layer(x).sum(), backend=backend, fullgraph=True)
    x = torch.ones(3, requires_grad=True)
    compiled(x).backward()
    address = layer.lambda_.data_ptr()
    layer.set_lambda(2.0)
    assert layer.lambda_.data_ptr() == address  # CUDA graphs replay from this address


@pytest.mark.parametrize("change", ["set_lambda", "step"])
def test_a_lambda_change_before_a_checkpointed_backward_is_not_seen_by_it(change):
    """Non-reentrant activation checkpointing recomputes the forward in the backward; the
    backward read the recomputation's λ (−1.0 instead of −0.5)."""
    from torch.utils.checkpoint import checkpoint

    if change == "step":
        layer = grl_torch.GradientReversal(grl_torch.schedules.linear(2, 0.5, 1.5))
    else:
        layer = grl_torch.GradientReversal(0.5)
    x = torch.ones(3, requires_grad=True)
    y = checkpoint(lambda t: layer(t) * 1.0, x, use_reentrant=False)
    if change == "step":
        layer.step()
    else:
        layer.set_lambda(1.0)
    y.sum().backward()
    assert float(layer.lambda_) == 1.0
    assert torch.equal(x.grad, torch.full((3,), -0.5))


def test_a_write_into_a_callers_lambda_before_the_backward_is_still_refused():
    lambda_ = torch.tensor(0.5)
    x = torch.ones(3, requires_grad=True)
    y = grl_torch.gradient_reversal(x, lambda_)
    lambda_.fill_(1.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()
