"""torch.compile: one inductor compile across a changing schedule, forward mode, stepping."""

from __future__ import annotations

import copy

import pytest

from tests.backends import require

grl_torch = require("torch")

import torch  # noqa: E402
import torch._dynamo.testing  # noqa: E402
from torch._dynamo.utils import counters  # noqa: E402

from grl.core import schedules  # noqa: E402
from tests.torch.helpers import DANNNet, dann_loss, make_batches  # noqa: E402

STEPS = 100


def test_one_inductor_compile_across_100_steps_that_change_lambda_gradients_equal_eager():
    """100 DANN steps through one fullgraph inductor compile, with an eager twin in lockstep.

    At every step the twin gets the compiled model's parameters, so both compute gradients
    at the same point. λ changes every step (dann schedule over exactly these steps). One
    test rather than several on a shared fixture: under pytest-xdist each worker would
    otherwise compile again.
    """
    torch._dynamo.reset()
    counters.clear()
    counter = torch._dynamo.testing.CompileCounterWithBackend("inductor")
    torch.manual_seed(0)
    model = DANNNet(schedules.dann(total_steps=STEPS))
    twin = copy.deepcopy(model)
    compiled_model = torch.compile(model, fullgraph=True, backend=counter)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    lambdas, max_difference = [], 0.0
    for source, labels, target in make_batches(STEPS, batch=4):
        twin.load_state_dict(model.state_dict())
        optimizer.zero_grad()
        dann_loss(compiled_model, source, labels, target).backward()  # two calls per step
        twin.zero_grad()
        dann_loss(twin, source, labels, target).backward()
        for compiled, eager in zip(model.parameters(), twin.parameters(), strict=True):
            max_difference = max(max_difference, (compiled.grad - eager.grad).abs().max().item())
        optimizer.step()
        lambdas.append(model.grl.lambda_.item())
        grl_torch.step_all(model)

    assert len(set(lambdas)) == STEPS  # λ really changed every step
    assert counter.frame_count == 1
    assert sum(counters["graph_break"].values()) == 0
    assert int(model.grl.step_count) == STEPS
    # Inductor fuses the linear layers' ops, so gradients agree to rounding, not bit for bit
    # (the conformance suite checks the GRL's own compiled gradient bit for bit).
    assert max_difference < 1e-6


# --- forward mode and torch.compile -------------------------------------------------------


def sin_of_grl(layer):
    return lambda x: torch.sin(layer(x))


def test_jvp_inside_a_compiled_function_is_correct_via_a_graph_break():
    torch._dynamo.reset()
    layer = grl_torch.GradientReversal(0.5)
    x, t = torch.randn(5), torch.randn(5)

    @torch.compile(backend="aot_eager")
    def tangent(x, t):
        return torch.func.jvp(sin_of_grl(layer), (x,), (t,))[1]

    torch.testing.assert_close(tangent(x, t), -0.5 * torch.cos(x) * t, rtol=0, atol=1e-7)


@pytest.mark.parametrize("transform", ["jvp", "jacfwd", "hessian", "forward_ad"])
def test_forward_mode_inside_fullgraph_compile_is_a_clear_error_never_plus_t(transform):
    torch._dynamo.reset()
    layer = grl_torch.GradientReversal(0.5)
    f = sin_of_grl(layer)

    def run(x):
        if transform == "jvp":
            return torch.func.jvp(f, (x,), (torch.ones_like(x),))[1]
        if transform == "jacfwd":
            return torch.func.jacfwd(f)(x)
        if transform == "hessian":
            return torch.func.hessian(lambda v: f(v).sum())(x)
        with torch.autograd.forward_ad.dual_level():
            dual = torch.autograd.forward_ad.make_dual(x, torch.ones_like(x))
            return torch.autograd.forward_ad.unpack_dual(f(dual)).tangent

    with pytest.raises(RuntimeError, match=r"forward-mode AD .* run eagerly"):
        torch.compile(run, fullgraph=True, backend="aot_eager")(torch.randn(4))


def test_forward_mode_through_a_compiled_model_gives_minus_lambda_t():
    torch._dynamo.reset()
    layer = grl_torch.GradientReversal(0.5)
    compiled = torch.compile(sin_of_grl(layer), backend="aot_eager")
    x, t = torch.randn(5), torch.randn(5)
    expected = -0.5 * torch.cos(x) * t
    tangent = torch.func.jvp(compiled, (x,), (t,))[1]
    torch.testing.assert_close(tangent, expected, rtol=0, atol=1e-7)
    with torch.autograd.forward_ad.dual_level():
        dual = torch.autograd.forward_ad.make_dual(x, t)
        tangent = torch.autograd.forward_ad.unpack_dual(compiled(dual)).tangent
    torch.testing.assert_close(tangent, expected, rtol=0, atol=1e-7)


REVERSE_TRANSFORMS = ["grad", "jacrev", "vmap_grad"]


def reverse_transform(name, layer):
    f = sin_of_grl(layer)
    return {
        "grad": torch.func.grad(lambda v: f(v).sum()),
        "jacrev": lambda v: torch.func.jacrev(f)(v).sum(dim=(2, 3)),
        "vmap_grad": torch.func.vmap(torch.func.grad(lambda v: f(v).sum())),
    }[name]


def test_transforms_of_a_function_compiled_without_them_are_correct():
    # The first call compiles with no transform active; dynamo must not reuse that graph
    # under torch.func (it guards on the functorch stack), or the reversal would be lost.
    torch._dynamo.reset()
    layer = grl_torch.GradientReversal(0.5)
    compiled = torch.compile(sin_of_grl(layer), backend="aot_eager")
    x = torch.randn(4)
    compiled(x)
    expected = -0.5 * torch.cos(x)
    gradient = torch.func.grad(lambda v: compiled(v).sum())(x)
    torch.testing.assert_close(gradient, expected, rtol=0, atol=1e-7)
    tangent = torch.func.jvp(compiled, (x,), (torch.ones(4),))[1]
    torch.testing.assert_close(tangent, expected, rtol=0, atol=1e-7)


@pytest.mark.parametrize("transform", REVERSE_TRANSFORMS)
def test_torch_func_gradients_inside_compile_are_correct_via_a_graph_break(transform):
    # Dynamo (torch 2.13) would trace the Function as its plain forward under torch.func.grad
    # and silently return +cos(x); the GRL breaks the graph to run its eager rule instead.
    torch._dynamo.reset()
    layer = grl_torch.GradientReversal(0.5)
    x = torch.randn(3, 4)
    compiled = torch.compile(reverse_transform(transform, layer), backend="aot_eager")
    torch.testing.assert_close(compiled(x), -0.5 * torch.cos(x), rtol=0, atol=1e-7)


@pytest.mark.parametrize("transform", REVERSE_TRANSFORMS)
def test_torch_func_gradients_inside_fullgraph_compile_are_a_clear_error(transform):
    torch._dynamo.reset()
    run = reverse_transform(transform, grl_torch.GradientReversal(0.5))
    with pytest.raises(RuntimeError, match=r"grl: torch\.func transforms .* run eagerly"):
        torch.compile(run, fullgraph=True, backend="aot_eager")(torch.randn(3, 4))


def test_vmap_then_backward_through_a_compiled_function_is_correct():
    torch._dynamo.reset()
    layer = grl_torch.GradientReversal(0.5)
    x = torch.randn(3, 4, requires_grad=True)
    compiled = torch.compile(torch.func.vmap(sin_of_grl(layer)), backend="aot_eager")
    compiled(x).sum().backward()
    torch.testing.assert_close(x.grad, -0.5 * torch.cos(x.detach()), rtol=0, atol=1e-7)
    torch._dynamo.reset()  # compiled code is cached per code object, whatever fullgraph says
    with pytest.raises(RuntimeError, match=r"vmap with gradients on"):
        torch.compile(torch.func.vmap(sin_of_grl(layer)), fullgraph=True, backend="aot_eager")(x)


def test_vmap_without_gradients_compiles_fullgraph():
    torch._dynamo.reset()
    layer = grl_torch.GradientReversal(0.5)
    x = torch.randn(3, 4)

    @torch.compile(fullgraph=True, backend="aot_eager")
    def batched(x):
        with torch.no_grad():
            return torch.func.vmap(sin_of_grl(layer))(x)

    assert torch.equal(batched(x), torch.sin(x))


# --- stepping and compiled modules --------------------------------------------------------


def test_step_all_reaches_layers_inside_a_compiled_module():
    model = DANNNet(schedules.dann(total_steps=10))
    compiled = torch.compile(model, backend="eager")
    assert grl_torch.step_all(compiled) == 1
    assert int(model.grl.step_count) == 1


def test_step_inside_a_fullgraph_compiled_function_says_to_call_it_outside():
    torch._dynamo.reset()
    layer = grl_torch.GradientReversal(schedules.dann(total_steps=10))

    @torch.compile(fullgraph=True, backend="eager")
    def train_step(x):
        y = layer(x).sum()
        layer.step()
        return y

    with pytest.raises(RuntimeError, match=r"after optimizer\.step\(\), outside torch\.compile"):
        train_step(torch.randn(3))
    assert int(layer.step_count) == 0
