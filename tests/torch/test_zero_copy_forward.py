"""The eager forward allocates nothing and skips Function.apply's per-call Python work.

Yet each backward uses the λ of its own forward.

The forward saves λ for backward without copying it: a host number maps to a cached tensor
that nothing writes, and ``GradientReversal`` writes λ in place only while no pending
backward shares its memory (otherwise λ moves to new memory). Allocations are counted with
``torch.profiler(profile_memory=True)``, as in ``benchmarks/torch_memory.py``: every
allocation and free is an event, so "nothing" means no event at all.
"""

from __future__ import annotations

import inspect
import io
import warnings
from collections.abc import Callable

import pytest

from tests.backends import require

grl_torch = require("torch")

import torch  # noqa: E402
from torch.profiler import ProfilerActivity, profile  # noqa: E402

from grl.backends.torch import ops  # noqa: E402
from grl.core import schedules  # noqa: E402
from tests.torch.helpers import assert_same_bits, reference_grad  # noqa: E402

GradientReversal = grl_torch.GradientReversal
DANN = schedules.dann(total_steps=20)


def allocations(fn: Callable[[], torch.Tensor]) -> tuple[list[int], torch.Tensor]:
    """Signed byte counts of the allocations (+) and frees (−) made by ``fn``, and its result."""
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        result = fn()
    events = [e for e in prof.profiler.kineto_results.events() if e.name() == "[memory]"]
    return [e.nbytes() for e in events], result


def forwards() -> dict[str, tuple[Callable[[torch.Tensor], torch.Tensor], torch.Tensor]]:
    """Each way to call the GRL, with the λ its backward should use."""
    layer, scheduled = GradientReversal(0.5), GradientReversal(DANN)
    scheduled.step()
    lam = torch.tensor(0.5)
    return {
        "module": (layer, layer.lambda_.clone()),
        "scheduled module": (scheduled, scheduled.lambda_.clone()),
        "functional, float λ": (lambda x: grl_torch.gradient_reversal(x, 0.5), lam),
        "functional, tensor λ": (lambda x: grl_torch.gradient_reversal(x, lam), lam),
    }


@pytest.mark.parametrize("name", list(forwards()))
def test_eager_forward_allocates_nothing_and_returns_a_view(name):
    forward, lam = forwards()[name]
    x, w = torch.randn(1000, requires_grad=True), torch.randn(1000)
    forward(x)  # first call: caches (the float λ's tensor, lazy initialisation)
    deltas, y = allocations(lambda: forward(x))
    assert deltas == []
    assert y.data_ptr() == x.data_ptr()
    y.backward(w)  # the forward that was measured has the reversed backward
    assert_same_bits(x.grad, reference_grad(w, lam))


def test_scheduled_forward_allocates_nothing_across_training_steps():
    layer = GradientReversal(DANN)
    x = torch.randn(1000, requires_grad=True)
    for _ in range(3):
        deltas, y = allocations(lambda: layer(x))
        assert deltas == []
        y.sum().backward()
        layer.step()


def test_compiled_forward_allocates_nothing():
    torch._dynamo.reset()
    layer, lam = GradientReversal(0.5), torch.tensor(0.5)

    def both(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return layer(x), grl_torch.gradient_reversal(x, lam)

    compiled = torch.compile(both, fullgraph=True, backend="inductor")
    x = torch.randn(1000, requires_grad=True)
    compiled(x)
    deltas, (y, z) = allocations(lambda: compiled(x))
    assert deltas == []
    assert y.data_ptr() == z.data_ptr() == x.data_ptr()


@pytest.mark.parametrize("name", list(forwards()))
def test_eager_forward_does_not_inspect_signatures(name, monkeypatch):
    # Function.apply binds its arguments with inspect.signature on every call (most of the
    # eager cost); outside functorch transforms the GRL goes through the C-level apply.
    forward, lam = forwards()[name]
    x, w = torch.randn(4, requires_grad=True), torch.randn(4)

    def no_signature(*args, **kwargs):
        raise AssertionError("inspect.signature called by the eager forward")

    with monkeypatch.context() as patch:
        patch.setattr(inspect, "signature", no_signature)
        y = forward(x)
    y.backward(w)
    assert_same_bits(x.grad, reference_grad(w, lam))


# --- a pending backward keeps the λ of its forward ------------------------------------------


def test_step_between_forward_and_backward_leaves_that_backward_alone():
    layer = GradientReversal(DANN)
    layer.step()
    before = layer.lambda_.clone()
    x, w = torch.randn(6, requires_grad=True), torch.randn(6)
    pending = (layer(x) * w).sum() + (layer(x) * w).sum()  # two saved aliases of λ
    layer.step()
    layer.step()
    pending.backward()
    assert_same_bits(x.grad, 2 * reference_grad(w, before))
    assert int(layer.step_count) == 3
    assert_same_bits(layer.lambda_, torch.tensor(DANN(3), dtype=torch.float32))


def test_lambda_keeps_its_memory_unless_a_backward_is_pending():
    # CUDA graphs and torch.jit.trace read λ at its address; only a pending backward moves it.
    layer = GradientReversal(DANN)
    address = layer.lambda_.data_ptr()
    x = torch.randn(4, requires_grad=True)
    for _ in range(3):
        layer(x).sum().backward()
        layer.step()
        assert layer.lambda_.data_ptr() == address
    pending = layer(x).sum()
    layer.step()
    moved = layer.lambda_.data_ptr()
    assert moved != address
    pending.backward()
    layer.step()
    assert layer.lambda_.data_ptr() == moved


@pytest.mark.parametrize("change", ["set_lambda", "load_state_dict", "load its own state_dict"])
def test_other_changes_between_forward_and_backward_leave_that_backward_alone(change):
    layer = GradientReversal(0.5)
    x, w = torch.randn(6, requires_grad=True), torch.randn(6)
    pending = (layer(x) * w).sum()
    if change == "set_lambda":
        layer.set_lambda(2.0)
    elif change == "load_state_dict":
        layer.load_state_dict(GradientReversal(2.0).state_dict())
    else:
        state = layer.state_dict()  # aliases the buffer: the load must not write into it
        layer.load_state_dict({"lambda_": torch.tensor(2.0)})
        assert state["lambda_"].item() == 0.5
    pending.backward()
    assert_same_bits(x.grad, reference_grad(w, torch.tensor(0.5)))
    assert layer.lambda_.item() == 2.0


def test_functional_call_with_the_module_buffer_keeps_its_lambda_across_a_step():
    layer = GradientReversal(DANN)
    x, w = torch.randn(6, requires_grad=True), torch.randn(6)
    before = layer.lambda_.clone()
    pending = (grl_torch.gradient_reversal(x, layer.lambda_) * w).sum()
    layer.step()
    pending.backward()
    assert_same_bits(x.grad, reference_grad(w, before))


def test_torch_func_vjp_keeps_its_lambda_across_a_step():
    layer = GradientReversal(DANN)
    x, w = torch.randn(6), torch.randn(6)
    before = layer.lambda_.clone()
    _, vjp = torch.func.vjp(layer, x)
    layer.step()
    (grad,) = vjp(w)
    assert_same_bits(grad, reference_grad(w, before))


def test_an_in_place_change_of_a_callers_lambda_before_backward_is_an_error():
    lam = torch.tensor(0.5)
    x = torch.randn(3, requires_grad=True)
    pending = grl_torch.gradient_reversal(x, lam).sum()
    lam.fill_(2.0)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        pending.backward()


def test_a_held_state_dict_keeps_a_consistent_lambda_and_step():
    layer = GradientReversal(DANN)
    layer.step()
    state = layer.state_dict()  # aliases the buffers
    layer.step()
    assert int(state["step_count"]) == 1
    assert_same_bits(state["lambda_"], torch.tensor(DANN(1), dtype=torch.float32))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # λ and step agree: no "differs from the schedule"
        layer.load_state_dict(state)
    assert int(layer.step_count) == 1


# --- inference mode, host numbers, checkpoints ----------------------------------------------


def test_lambda_made_under_inference_mode_still_trains():
    with torch.inference_mode():
        lam = torch.tensor(0.5)
    x = torch.randn(3, requires_grad=True)
    grl_torch.gradient_reversal(x, lam).sum().backward()
    assert_same_bits(x.grad, torch.full((3,), -0.5))


def test_step_under_inference_mode_with_a_pending_backward_gives_a_trainable_buffer():
    layer = GradientReversal(DANN)
    x = torch.randn(3, requires_grad=True)
    pending = layer(x).sum()
    with torch.inference_mode():
        layer.step()  # λ moves to new memory, made outside inference mode
    assert not layer.lambda_.is_inference()
    pending.backward()
    x.grad = None
    layer(x).sum().backward()
    assert_same_bits(x.grad, torch.full((3,), -DANN(1), dtype=torch.float32))


def test_host_zero_and_negative_zero_keep_their_own_gradient_signs():
    # 0.0 == -0.0 as dict keys, but g · (−0.0) and g · (+0.0) differ in the zero's sign.
    g = torch.ones(3)
    for value in (0.0, -0.0, 0.0):
        x = torch.randn(3, requires_grad=True)
        grl_torch.gradient_reversal(x, value).backward(g)
        assert_same_bits(x.grad, reference_grad(g, value))


def test_the_host_lambda_cache_stays_small():
    x = torch.randn(3, requires_grad=True)
    for k in range(200):
        grl_torch.gradient_reversal(x, k / 7).sum().backward()
    assert len(ops._HOST_LAMBDAS) <= ops._HOST_LAMBDAS_MAX


def test_a_checkpoint_saved_while_a_backward_is_pending_resumes():
    layer = GradientReversal(DANN)
    x = torch.randn(3, requires_grad=True)
    pending = layer(x).sum()
    layer.step()  # λ moved to new memory: the checkpoint holds the new buffer
    buffer = io.BytesIO()
    torch.save(layer.state_dict(), buffer)
    pending.backward()
    buffer.seek(0)
    restored = GradientReversal(DANN)
    restored.load_state_dict(torch.load(buffer, weights_only=True))
    assert int(restored.step_count) == 1
    assert_same_bits(restored.lambda_, layer.lambda_)
