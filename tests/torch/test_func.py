"""torch.func on the module: grad, vmap, jacrev, functional_call, and forward mode (−λ·t)."""

from __future__ import annotations

import numpy as np

from tests.backends import require

grl_torch = require("torch")

import torch  # noqa: E402
import torch.autograd.forward_ad as forward_ad  # noqa: E402
from torch.func import functional_call, grad, jacfwd, jacrev, jvp, vmap  # noqa: E402

from grl.core import schedules  # noqa: E402
from tests.torch.helpers import (  # noqa: E402
    DANNNet,
    assert_same_bits,
    dann_loss,
    make_batches,
    reference_grad,
)

LAMBDA = 0.3  # not a power of two: the product really rounds


def layer() -> grl_torch.GradientReversal:
    return grl_torch.GradientReversal(LAMBDA)


def test_grad_is_one_multiply_by_minus_lambda():
    grl, w, x = layer(), torch.randn(7), torch.randn(7)
    result = grad(lambda v: (grl(v) * w).sum())(x)
    assert_same_bits(result, reference_grad(w, grl.lambda_))


def test_vmap_of_grad_gives_per_sample_reversed_gradients():
    grl, w, x = layer(), torch.randn(5, 3), torch.randn(5, 3)
    per_sample = vmap(grad(lambda v, u: (grl(v) * u).sum()))(x, w)
    assert_same_bits(per_sample, reference_grad(w, grl.lambda_))


def test_vmap_forward_is_the_identity():
    x = torch.randn(4, 3)
    assert_same_bits(vmap(layer())(x), x)


def test_jacrev_and_jacfwd_are_minus_lambda_identity():
    grl, x = layer(), torch.randn(4)
    expected = np.diag(np.full(4, -np.float32(LAMBDA), dtype=np.float32))
    expected[expected == 0] = -0.0  # off-diagonal entries are 0 · (−λ) = −0
    for jacobian in (jacrev(grl)(x), jacfwd(grl)(x)):
        np.testing.assert_array_equal(jacobian.numpy(), expected)


def test_jvp_gives_minus_lambda_t():
    grl, x, t = layer(), torch.randn(6), torch.randn(6)
    primal, tangent = jvp(grl, (x,), (t,))
    assert_same_bits(primal, x)
    assert_same_bits(tangent, reference_grad(t, grl.lambda_))


def test_forward_ad_dual_tensors_give_minus_lambda_t():
    grl, x, t = layer(), torch.randn(6), torch.randn(6)
    with forward_ad.dual_level():
        out = grl(forward_ad.make_dual(x, t))
        primal, tangent = forward_ad.unpack_dual(out)
    assert_same_bits(primal, x)
    assert_same_bits(tangent, reference_grad(t, grl.lambda_))


def test_functional_call_reads_lambda_from_the_given_buffers():
    model = DANNNet(schedules.dann(total_steps=10))
    x = torch.randn(3, 4)
    swapped = {"grl.lambda_": torch.tensor(0.25)}

    def domain_sum(inputs):
        return functional_call(model, swapped, (inputs,))[1].sum()

    h = model.features(x)
    w = model.domain_head.weight.detach()[0]
    h_grad = grad(lambda hh: model.domain_head(model.grl(hh)).sum())  # with the module's λ=0
    assert_same_bits(h_grad(h), reference_grad(w.expand_as(h).contiguous(), model.grl.lambda_))
    feature_grad = grad(domain_sum)(x)
    eager_x = x.clone().requires_grad_(True)
    h = model.features(eager_x)
    torch.autograd.backward(
        model.domain_head(grl_torch.gradient_reversal(h, torch.tensor(0.25))).sum()
    )
    assert_same_bits(feature_grad, eager_x.grad)
    assert model.grl.lambda_.item() == 0.0  # the module's own buffer is untouched


def test_functional_call_parameter_gradients_equal_autograd():
    torch.manual_seed(0)
    model = DANNNet(schedules.dann(total_steps=10))
    for _ in range(4):
        model.grl.step()
    source, labels, target = make_batches(1)[0]
    params = {name: p.detach() for name, p in model.named_parameters()}
    buffers = dict(model.named_buffers())

    def loss(p):
        return dann_loss(
            lambda v: functional_call(model, (p, buffers), (v,)), source, labels, target
        )

    functional = grad(loss)(params)
    dann_loss(model, source, labels, target).backward()
    for name, parameter in model.named_parameters():
        # functorch sums the two GRL calls' contributions in another order: rounding only.
        torch.testing.assert_close(functional[name], parameter.grad, rtol=1e-5, atol=1e-7)
