"""Every input kind and λ form works or gets a clear error naming it (issue #13)."""

from __future__ import annotations

import pytest

from tests.backends import require

grl_torch = require("torch")

import torch  # noqa: E402
import torch._dynamo.testing  # noqa: E402

GradientReversal = grl_torch.GradientReversal


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda: torch.eye(3).to_sparse(), "a tensor of layout torch.sparse_coo"),
        (lambda: torch.eye(3).to_sparse_csr(), "a tensor of layout torch.sparse_csr"),
        (lambda: torch.nested.nested_tensor([torch.ones(2), torch.ones(3)]), "a nested tensor"),
    ],
    ids=["sparse-coo", "sparse-csr", "nested"],
)
@pytest.mark.parametrize("apply", ["op", "module"])
def test_sparse_and_nested_inputs_get_a_clear_error(make, words, apply):
    """A sparse COO tensor crashed inside aten::view."""
    x = make().requires_grad_(True)
    with pytest.raises(TypeError, match=f"x must be a dense \\(strided\\) tensor; got {words}"):
        grl_torch.gradient_reversal(x, 0.5) if apply == "op" else GradientReversal(0.5)(x)


def test_a_masked_tensor_gets_the_reversed_gradient_on_its_unmasked_values():
    from torch.masked import masked_tensor

    mask = torch.tensor([True, False, True])
    x = masked_tensor(torch.ones(3), mask, requires_grad=True)
    grl_torch.gradient_reversal(x, 0.5).sum().backward()
    assert torch.equal(x.grad.get_data()[mask], torch.full((2,), -0.5))


def test_meta_and_complex_inputs():
    assert grl_torch.gradient_reversal(torch.empty(3, device="meta"), 0.5).is_meta
    x = torch.ones(2, dtype=torch.complex64, requires_grad=True)
    (grad,) = torch.autograd.grad(grl_torch.gradient_reversal(x, 0.5), x, torch.ones_like(x))
    assert torch.equal(grad, torch.full((2,), -0.5 + 0j, dtype=torch.complex64))


def test_vmap_with_a_per_example_lambda():
    """The CPU value check called .item() on the batched λ and crashed."""
    lambdas = torch.tensor([0.5, 1.0, 2.0])

    def gradient(x: torch.Tensor, lambda_: torch.Tensor) -> torch.Tensor:
        return torch.func.grad(lambda v: grl_torch.gradient_reversal(v, lambda_).sum())(x)

    grads = torch.func.vmap(gradient)(torch.ones(3, 2), lambdas)
    assert torch.equal(grads, -lambdas[:, None].expand(3, 2))


def test_a_changing_python_float_lambda_compiles_fullgraph_without_a_compile_per_value():
    """fullgraph=True failed on the second value ("torch.* op returned non-Tensor"), and
    without fullgraph every value recompiled until the limit."""
    torch.compiler.reset()
    counter = torch._dynamo.testing.CompileCounter()
    compiled = torch.compile(
        lambda x, lam: grl_torch.gradient_reversal(x, lam) * 1, backend=counter, fullgraph=True
    )
    values = [0.5, 0.25, 0.125, 1.0, 2.0, 3.0, 7.5, 0.0]
    for value in values:
        x = torch.ones(2, requires_grad=True)
        compiled(x, value).sum().backward()
        assert torch.equal(x.grad, torch.full((2,), -value))
    # The first value is specialised, the second makes the float an input of the graph.
    expected = len(values) if torch._dynamo.config.specialize_float else 2
    assert counter.frame_count == expected


def test_symbolic_trace_records_the_layer_as_one_node_that_follows_lambda():
    """fx.symbolic_trace failed with a misleading "x must be a torch.Tensor; got Proxy"."""
    model = torch.nn.Sequential(torch.nn.Linear(2, 2), GradientReversal(0.5))
    traced = torch.fx.symbolic_trace(model)
    assert "gradient_reversal" in traced.code and "lambda_" in traced.code
    model[1].set_lambda(2.0)
    x = torch.ones(1, 2, requires_grad=True)
    traced(x).sum().backward()
    x_eager = torch.ones(1, 2, requires_grad=True)
    model(x_eager).sum().backward()
    assert torch.equal(x.grad, x_eager.grad)
    function = torch.fx.symbolic_trace(lambda x: grl_torch.gradient_reversal(x, 0.5))
    x = torch.ones(3, requires_grad=True)
    function(x).sum().backward()
    assert torch.equal(x.grad, torch.full((3,), -0.5))
