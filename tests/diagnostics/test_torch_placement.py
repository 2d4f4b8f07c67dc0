"""check_placement in PyTorch: every verdict produced on purpose, a correct setup passes."""

from __future__ import annotations

import warnings

import pytest

from tests.backends import require

require("torch")

import torch  # noqa: E402

from grl.backends.torch.diagnostics import check_placement  # noqa: E402
from grl.core import schedules  # noqa: E402
from tests.diagnostics.torch_setups import DANN, batch, losses  # noqa: E402


def report_for(wiring: str = "correct", lambda_: float = 0.5, domain_weight: float = 1.0):
    model = DANN(lambda_, wiring)
    return check_placement(model, lambda m, b: losses(m, b, domain_weight), batch())


def test_correct_setup_passes_with_the_factor_minus_lambda():
    report = report_for()
    assert report.ok, str(report)
    assert report.domain_reaches_grl and not report.label_through_grl
    assert not report.domain_bypasses_grl
    assert report.feature_factor == pytest.approx(-0.5, rel=1e-6)
    assert report.honest_weight == pytest.approx(1.0, rel=1e-6)
    assert "OK" in str(report)


@pytest.mark.parametrize(
    ("wiring", "kind"),
    [
        ("detached", "domain_not_through_grl"),
        ("label_path", "label_through_grl"),
        ("bypass", "domain_bypasses_grl"),
        ("double_grl", "reversal_cancelled"),
    ],
)
def test_each_wrong_wiring_gets_its_verdict(wiring, kind):
    report = report_for(wiring)
    assert kind in [k for k, _ in report.problems], str(report)
    assert not report.ok
    with pytest.raises(AssertionError, match=kind):
        report.raise_if_failed()


def test_double_grl_factor_is_lambda_squared():
    assert report_for("double_grl").feature_factor == pytest.approx(0.25, rel=1e-6)


def test_lambda_applied_twice_in_loss_and_layer():
    report = report_for(lambda_=2.0, domain_weight=2.0)
    assert [k for k, _ in report.problems] == ["lambda_applied_twice"], str(report)
    assert report.honest_weight == pytest.approx(2.0, rel=1e-6)
    assert report.feature_factor == pytest.approx(-4.0, rel=1e-6)


def test_jmlr_minus_sign_with_a_grl_cancels_the_reversal():
    report = report_for(domain_weight=-1.0)
    assert "reversal_cancelled" in [k for k, _ in report.problems]
    assert report.feature_factor == pytest.approx(0.5, rel=1e-6)


def test_model_without_grl():
    model = torch.nn.Linear(4, 1)
    report = check_placement(
        model, lambda m, b: {"label": m(b).sum(), "domain": m(b).sum()}, torch.ones(2, 4)
    )
    assert [k for k, _ in report.problems] == ["no_grl"]


def test_missing_loss_key_is_a_clear_error():
    with pytest.raises(KeyError, match="'label' and 'domain'"):
        check_placement(DANN(), lambda m, b: {"label": m(b["x"])[0].sum()}, batch())


def test_probe_has_no_training_side_effects():
    model = DANN(schedules.dann(total_steps=100), norm=True).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    data = batch()
    out = losses(model, data)
    (out["label"] + out["domain"]).backward()
    optimizer.step()
    model.grl.step()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    grads = {k: p.grad.clone() for k, p in model.named_parameters()}
    momentum = {k: v["momentum_buffer"].clone() for k, v in optimizer.state.items()}
    rng = torch.get_rng_state()
    report = check_placement(model, losses, data)
    assert report.ok, str(report)
    after = model.state_dict()
    for key, value in before.items():
        assert torch.equal(after[key], value), key
    for key, param in model.named_parameters():
        assert torch.equal(param.grad, grads[key]), key
    for param, buffer in momentum.items():
        assert torch.equal(optimizer.state[param]["momentum_buffer"], buffer)
    assert torch.equal(torch.get_rng_state(), rng)
    assert int(model.grl.step_count) == 1
    assert model.training


def test_lambda_zero_is_probed_with_one_and_restored():
    model = DANN(schedules.dann(total_steps=100))
    lambda_ = model.grl.lambda_
    report = check_placement(model, losses, batch())
    assert report.ok, str(report)
    assert report.lambdas == (1.0,)
    assert model.grl.lambda_ is lambda_ and float(lambda_) == 0.0


def test_complex_features_get_the_factor_minus_lambda():
    # The probe's norms and dot use |z|² = ⟨z, z⟩: complex gradients are not cut to reals.
    from torch import nn

    from grl.torch import GradientReversal

    generator = torch.Generator().manual_seed(0)
    model = nn.ModuleDict(
        {
            "features": nn.Linear(4, 6, dtype=torch.complex64),
            "label": nn.Linear(6, 1, dtype=torch.complex64),
            "grl": GradientReversal(0.5),
            "domain": nn.Linear(6, 1, dtype=torch.complex64),
        }
    )
    x = torch.randn(8, 4, dtype=torch.complex64, generator=generator)

    def complex_losses(m, b):
        features = m["features"](b)
        return {
            "label": m["label"](features).abs().square().mean(),
            "domain": m["domain"](m["grl"](features)).abs().square().mean(),
        }

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "casting complex values to real" on the way
        report = check_placement(model, complex_losses, x)
    assert report.ok, str(report)
    assert report.feature_factor == pytest.approx(-0.5, rel=1e-6)
