"""Reentrant activation recomputation: the backward uses the λ of its forward (issue #13).

``torch.utils.checkpoint(..., use_reentrant=True)`` re-runs the forward inside the backward;
the GRL's backward read the λ of that re-run, so a λ change between ``forward`` and
``backward()`` silently reached the gradient (−1.0 instead of −0.5).
"""

from __future__ import annotations

import gc
import warnings
from collections.abc import Callable
from typing import Any

import pytest

from tests.backends import require

grl_torch = require("torch")

import torch  # noqa: E402
from torch import nn  # noqa: E402
from torch.utils.checkpoint import checkpoint, checkpoint_sequential  # noqa: E402

from grl.backends.torch import internals, recomputation  # noqa: E402

SCHEDULE = grl_torch.schedules.linear(2, 0.5, 1.5)  # λ: 0.5, 1.0, 1.5, 1.5, ...


def reentrant(function: Callable[..., Any], *args: Any) -> Any:
    return checkpoint(function, *args, use_reentrant=True)


def load_step_2(layer: Any) -> None:
    later = grl_torch.GradientReversal(SCHEDULE)
    later.advance(2)
    layer.load_state_dict(later.state_dict())


CHANGES: dict[str, tuple[Any, Callable[[Any], None], float]] = {
    # name: (constructor argument, the change, λ after it)
    "step": (SCHEDULE, lambda layer: layer.step(), 1.0),
    "advance": (SCHEDULE, lambda layer: layer.advance(3), 1.5),
    "set_lambda": (0.5, lambda layer: layer.set_lambda(1.0), 1.0),
    "load_state_dict": (SCHEDULE, load_step_2, 1.5),
    "buffer_fill": (0.5, lambda layer: layer.lambda_.fill_(1.0), 1.0),
}


def inputs() -> torch.Tensor:
    return torch.tensor([1.0, -2.0, 3.0], requires_grad=True)


def body(layer: Any) -> Callable[[torch.Tensor], torch.Tensor]:
    return lambda t: (layer(t * 3.0) * t).sum()


def plain_grad(lambda_: float) -> torch.Tensor:
    """The gradient of :func:`body` without checkpointing, at ``lambda_``."""
    x = inputs()
    body(grl_torch.GradientReversal(lambda_))(x).backward()
    return x.grad


@pytest.fixture(autouse=True)
def no_records_left():
    # Another test in this process may still hold a checkpointed graph (and so its record):
    # only this test's records are checked.
    gc.collect()
    BASELINE.clear()
    BASELINE.update(recomputation.FIRST_PASSES)
    yield
    gc.collect()
    assert not new_records()  # every record goes with its node


BASELINE: set[int] = set()


def new_records() -> set[int]:
    """The records this test added (keys of ``recomputation.FIRST_PASSES``)."""
    return set(recomputation.FIRST_PASSES) - BASELINE


@pytest.mark.parametrize("change", list(CHANGES))
def test_a_lambda_change_before_backward_does_not_reach_the_recomputation(change):
    argument, apply_change, new_lambda = CHANGES[change]
    layer = grl_torch.GradientReversal(argument)
    x = inputs()
    loss = reentrant(body(layer), x)
    apply_change(layer)
    loss.backward()
    assert float(layer.lambda_) == new_lambda
    assert torch.equal(x.grad, plain_grad(0.5))  # the forward's λ, bit for bit
    x.grad = None
    reentrant(body(layer), x).backward()  # the next forward uses the new λ
    assert torch.equal(x.grad, plain_grad(new_lambda))


def test_an_unchanged_lambda_is_silent_and_correct():
    layer = grl_torch.GradientReversal(0.5)
    x = inputs()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            x.grad = None
            reentrant(body(layer), x).backward()
            assert torch.equal(x.grad, plain_grad(0.5))


def test_gradient_accumulation_over_a_lambda_change_gives_each_forward_its_lambda():
    layer = grl_torch.GradientReversal(0.5)
    x = inputs()
    first = reentrant(body(layer), x)
    layer.set_lambda(2.0)
    second = reentrant(body(layer), x)
    layer.set_lambda(4.0)
    (first + second).backward()
    assert torch.equal(x.grad, plain_grad(0.5) + plain_grad(2.0))


def test_retain_graph_recomputes_with_the_forwards_lambda_each_time():
    layer = grl_torch.GradientReversal(0.5)
    x = inputs()
    loss = reentrant(body(layer), x)
    layer.set_lambda(1.0)
    loss.backward(retain_graph=True)
    layer.set_lambda(3.0)
    loss.backward()
    assert torch.equal(x.grad, 2 * plain_grad(0.5))


def test_nested_reentrant_checkpoints_keep_the_outer_forwards_lambda():
    layer = grl_torch.GradientReversal(SCHEDULE)
    x = inputs()
    loss = reentrant(lambda t: reentrant(body(layer), t) * 1.0, x)
    layer.step()
    loss.backward()
    assert torch.equal(x.grad, plain_grad(0.5))


def test_checkpoint_sequential_keeps_the_forwards_lambda():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(4, 4), grl_torch.GradientReversal(SCHEDULE), nn.Tanh(), nn.Linear(4, 2)
    )
    x = torch.randn(5, 4, requires_grad=True)
    model(x).square().sum().backward()  # no checkpointing: the reference, at λ = 0.5
    expected = [p.grad.clone() for p in model.parameters()] + [x.grad.clone()]
    model.zero_grad()
    x.grad = None
    out = checkpoint_sequential(model, 2, x, use_reentrant=True)
    grl_torch.step_all(model)
    out.square().sum().backward()
    assert float(model[1].lambda_) == 1.0
    got = [p.grad for p in model.parameters()] + [x.grad]
    assert all(torch.equal(a, b) for a, b in zip(got, expected, strict=True))


def test_a_first_pass_without_a_backward_leaves_no_record():
    layer = grl_torch.GradientReversal(0.5)
    with torch.no_grad():
        reentrant(body(layer), inputs())  # evaluation: the node dies at once
    gc.collect()
    assert not new_records()
    x = inputs()
    loss = reentrant(body(layer), x)
    assert len(new_records()) == 1
    del loss
    assert not new_records()


def test_the_functional_op_refuses_a_write_into_its_lambda_before_the_recomputation():
    """Without checkpointing autograd refuses that write ("modified by an inplace
    operation"); the reentrant recomputation read the new value silently."""
    lambda_ = torch.tensor(0.5)
    x = inputs()
    loss = reentrant(lambda t: (grl_torch.gradient_reversal(t * 3.0, lambda_) * t).sum(), x)
    lambda_.fill_(1.0)
    with pytest.raises(RuntimeError, match=r"lambda_ tensor was modified in place.*after backward"):
        loss.backward()


def test_the_functional_op_with_an_untouched_or_number_lambda_is_correct():
    lambda_ = torch.tensor(0.5)
    x = inputs()
    reentrant(lambda t: (grl_torch.gradient_reversal(t * 3.0, lambda_) * t).sum(), x).backward()
    reentrant(lambda t: (grl_torch.gradient_reversal(t * 3.0, 0.5) * t).sum(), x).backward()
    assert torch.equal(x.grad, 2 * plain_grad(0.5))


@pytest.mark.parametrize(
    "private", ["_current_autograd_node", "_fwd_grad_enabled", "_backward_context", "_get_frame"]
)
def test_without_the_private_apis_nothing_is_recorded(monkeypatch, private):
    """The documented fallback: no public API tells a recomputation from a forward, so the
    check is off (the λ change reaches the backward, as before); use_reentrant=False stays
    correct."""
    monkeypatch.setattr(internals, private, None)
    assert not internals.recomputation_supported()
    assert internals.enclosing_function_contexts() == []
    layer = grl_torch.GradientReversal(0.5)
    x = inputs()
    loss = reentrant(body(layer), x)
    assert not new_records()
    layer.set_lambda(1.0)
    loss.backward()
    assert torch.equal(x.grad, plain_grad(1.0))
    x.grad = None
    loss = checkpoint(body(layer), x, use_reentrant=False)
    layer.set_lambda(0.5)
    loss.backward()
    assert torch.equal(x.grad, plain_grad(1.0))


def test_non_reentrant_checkpointing_refuses_a_write_into_a_callers_lambda():
    """The recomputation replaces the saved λ, so autograd's in-place check did not run:
    the backward silently used the new value (0 instead of 1.5·x here)."""
    lambda_ = torch.tensor(0.5)
    x = inputs()
    loss = checkpoint(
        lambda t: (grl_torch.gradient_reversal(t * 3.0, lambda_) * t).sum(), x, use_reentrant=False
    )
    lambda_.fill_(1.0)
    with pytest.raises(RuntimeError, match=r"modified by an inplace operation.*after backward"):
        loss.backward()


def test_inference_mode_still_works_with_an_inference_lambda():
    with torch.inference_mode():
        lambda_ = torch.tensor(0.5)
        x = torch.ones(3)
        assert torch.equal(grl_torch.gradient_reversal(x, lambda_), x)
    x = inputs()
    grl_torch.gradient_reversal(x, lambda_).sum().backward()
    assert torch.equal(x.grad, torch.full((3,), -0.5))


@pytest.mark.parametrize("use_reentrant", [True, False])
def test_a_compiled_checkpoint_keeps_the_forwards_lambda(use_reentrant):
    """Dynamo turns both modes into its checkpoint operator; λ is an input of the graph."""
    torch.compiler.reset()
    layer = grl_torch.GradientReversal(0.5)
    compiled = torch.compile(
        lambda t: checkpoint(body(layer), t, use_reentrant=use_reentrant), backend="aot_eager"
    )
    x = inputs()
    loss = compiled(x)
    layer.set_lambda(1.0)
    loss.backward()
    assert torch.equal(x.grad, plain_grad(0.5))
    torch.compiler.reset()
