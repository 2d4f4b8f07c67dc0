"""The PyTorch Monitor: its numbers, and every warning produced on purpose (once each)."""

from __future__ import annotations

import math
import warnings

import pytest

from tests.backends import require

grl_torch = require("torch")

import torch  # noqa: E402
from torch import nn  # noqa: E402

from grl.backends.torch.diagnostics import GRLWarning, Monitor  # noqa: E402
from grl.core import diagnostics as core  # noqa: E402
from grl.core import schedules  # noqa: E402
from tests.diagnostics.torch_setups import DANN, batch, losses  # noqa: E402

SHORT = core.Thresholds(advance_within=5, stretch=5)


def train(model, monitor, steps, *, step_all=True, optimize=True, domain_logits=None):
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    records = []
    for k in range(steps):
        data = batch(seed=k)
        optimizer.zero_grad()
        out = losses(model, data)
        (out["label"] + out["domain"]).backward()
        if optimize:
            optimizer.step()
        if step_all:
            grl_torch.step_all(model)
        logits = out["domain_logits"] if domain_logits is None else domain_logits(data)
        monitor.domain(logits, data["domains"])
        records.append(monitor.collect())
    return records


def kinds(caught):
    return [str(w.message).split("]")[0].removeprefix("[grl: ") for w in caught]


def run(model, steps=8, thresholds=SHORT, end=True, layer=None, **options):
    monitor = Monitor(model.grl if layer is None else layer, thresholds=thresholds)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        records = train(model, monitor, steps, **options)
        if end:
            monitor.end_epoch()
            monitor.end_run()
    monitor.remove()
    assert all(issubclass(w.category, GRLWarning) for w in caught)
    return records, kinds(caught)


def test_records_step_lambda_and_the_reversed_gradient():
    model = DANN(schedules.linear(total_steps=8, hi=1.0))
    records, raised = run(model, thresholds=core.Thresholds())
    assert raised == []
    assert set(records[0]) == set(core.metric_names())
    # step and λ the step trained with (copied at its forward; step_all ran before collect).
    assert [r["grl/step"] for r in records] == [float(k) for k in range(8)]
    assert [r["grl/lambda"] for r in records] == [k / 8 for k in range(8)]
    assert int(model.grl.step_count) == 8
    first = records[0]  # trained with λ = schedule(0) = 0: nothing passes on
    assert first["grl/grad_out_norm"] == 0.0 and first["grl/grad_in_norm"] > 0
    second = records[1]  # trained with λ = 1/8, exact in float32
    assert second["grl/grad_ratio"] == 1 / 8
    assert second["grl/grad_cosine"] == pytest.approx(-1.0, abs=1e-12)
    assert 0 < second["grl/domain_to_task"] < math.inf
    assert 0 <= second["grl/domain_accuracy"] <= 1
    assert second["grl/domain_loss"] > 0


def test_domain_to_task_is_the_norm_ratio_at_the_features():
    model, data = DANN(0.5), batch()
    half = data["x"].shape[0] // 2

    def terms(features):
        logits = model.label_head(features[:half])
        label = nn.functional.cross_entropy(logits, data["labels"][:half])
        domain_logits = model.domain_head(model.grl(features)).squeeze(1)
        return label, nn.functional.binary_cross_entropy_with_logits(domain_logits, data["domains"])

    features = model.features(data["x"]).detach().requires_grad_()
    label, domain = terms(features)
    (label_grad,) = torch.autograd.grad(label, features)
    (domain_grad,) = torch.autograd.grad(domain, features)
    monitor = Monitor(model.grl)
    sum(terms(features)).backward()
    record = monitor.collect()
    expected = float(domain_grad.double().norm() / label_grad.double().norm())
    assert record["grl/domain_to_task"] == pytest.approx(expected, rel=1e-6)


def test_forgotten_step_all_warns_once_naming_the_fix():
    model = DANN(schedules.dann(total_steps=100))
    monitor = Monitor(model.grl, thresholds=SHORT)
    with pytest.warns(GRLWarning, match=r"never_advanced.*step_all"):
        train(model, monitor, 5, step_all=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        train(model, monitor, 5, step_all=False)  # once only


def test_detached_grl_warns_no_gradient():
    _, raised = run(DANN(0.5, "detached"))
    assert raised == ["no_gradient"]


def test_lambda_zero_for_an_epoch():
    _, raised = run(DANN(0.0))
    assert raised == ["lambda_zero_epoch"]


def test_schedule_too_short_steps_past_total_steps():
    _, raised = run(DANN(schedules.dann(total_steps=4)))
    assert raised == ["past_total_steps"]


def test_schedule_ten_times_too_long_ends_early():
    _, raised = run(DANN(schedules.dann(total_steps=80)))
    assert raised == ["ended_early"]


def test_identity_in_the_grl_slot_warns_reversal_cancelled():
    model = DANN(0.5)
    model.grl = nn.Identity()
    _, raised = run(model, layer=model.grl, step_all=False)
    assert raised == ["reversal_cancelled"]


def test_domain_head_winning_warns_collapsed():
    def confident(data):  # the domain head separates the domains perfectly
        return (data["domains"] * 2 - 1) * 50.0

    _, raised = run(DANN(0.5), domain_logits=confident)
    assert raised == ["domain_collapsed"]


def test_domain_loss_stuck_at_ln2():
    _, raised = run(DANN(0.5), domain_logits=lambda data: torch.zeros(len(data["domains"])))
    assert raised == ["domain_stuck"]


def test_correct_run_with_default_thresholds_is_silent():
    _, raised = run(DANN(schedules.dann(total_steps=8)), thresholds=core.Thresholds())
    assert raised == []


def test_eval_forward_and_no_grad_do_not_count():
    model = DANN(0.5)
    monitor = Monitor(model.grl)
    model.eval()
    model(batch()["x"])
    model.train()
    with torch.no_grad():
        model(batch()["x"])
    model.grl.advance(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        record = monitor.collect()
    assert math.isnan(record["grl/grad_in_norm"])
    # No training forward copied step and λ: the layer's state when collected.
    assert (record["grl/step"], record["grl/lambda"]) == (2.0, 0.5)


def test_removed_monitor_records_nothing():
    model = DANN(0.5)
    monitor = Monitor(model.grl)
    monitor.remove()
    assert model.grl._forward_hooks == {}


def test_monitor_needs_a_module():
    with pytest.raises(TypeError, match="layer must be the GradientReversal module"):
        Monitor(0.5)


@pytest.mark.parametrize("dtype", [torch.complex64, torch.complex128])
def test_complex_gradients_are_measured_with_their_modulus(dtype):
    # |g|² of a complex gradient is Σ|g_i|², not Σ g_i² (whose real part can even be < 0).
    layer = grl_torch.GradientReversal(0.5)
    monitor = Monitor(layer)
    x = torch.randn(6, 5, dtype=dtype, generator=torch.Generator().manual_seed(0))
    x.requires_grad_()
    weights = torch.randn(6, 5, dtype=dtype, generator=torch.Generator().manual_seed(1))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "casting complex values to real" on the way
        (layer(x) * weights).abs().square().sum().backward()
        record = monitor.collect()
    arriving = 2 * weights.conj() * (x * weights)  # d/dx̄ of |w·x|², torch's convention
    expected = float(torch.linalg.vector_norm(arriving.detach().to(torch.complex128)))
    assert record["grl/grad_in_norm"] == pytest.approx(expected, rel=1e-5)
    assert record["grl/grad_ratio"] == pytest.approx(0.5, rel=1e-6)
    assert record["grl/grad_cosine"] == pytest.approx(-1.0, abs=1e-6)
