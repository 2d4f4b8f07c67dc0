"""JAX: reversal_metrics inside jit, the NNX variant, the Monitor's warnings, check_placement."""

from __future__ import annotations

import math
import warnings

import pytest

from tests.backends import require

require("jax")
pytest.importorskip("flax")

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from flax import nnx  # noqa: E402

from grl.backends.jax.diagnostics import (  # noqa: E402
    GRLWarning,
    Monitor,
    check_placement,
    nnx_metrics,
    reversal_metrics,
)
from grl.core import diagnostics as core  # noqa: E402
from grl.core import schedules  # noqa: E402
from tests.diagnostics.jax_setups import DANN, batch, bce, cross_entropy, losses  # noqa: E402

SHORT = core.Thresholds(advance_within=5, stretch=5)


@nnx.jit
def _metrics(model: DANN, data: dict, logits):
    features = jnp.tanh(model.features(data["x"]))
    half = data["x"].shape[0] // 2
    return nnx_metrics(
        model.grl,
        lambda r: bce(model.domain_head(r)[:, 0], data["domains"]),
        features,
        label_loss=lambda f: cross_entropy(model.label_head(f[:half]), data["labels"][:half]),
        domain_logits=model.domain_head(features)[:, 0] if logits is None else logits,
        domain_labels=data["domains"],
    )


def step_metrics(model: DANN, data: dict, logits=None):
    """One DANN training step's metrics, as a user computes them inside nnx.jit."""
    return _metrics(model, data, logits)


def run(model, steps=8, *, advance=True, thresholds=SHORT, schedule=None, **options):
    monitor = Monitor(model.grl.schedule if schedule is None else schedule, thresholds=thresholds)
    records = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in range(steps):
            records.append(monitor.update(step_metrics(model, batch(seed=k), **options)))
            if advance:
                model.grl.advance()
        monitor.end_epoch()
        monitor.end_run()
    assert all(issubclass(w.category, GRLWarning) for w in caught)
    return records, [str(w.message).split("]")[0].removeprefix("[grl: ") for w in caught]


def test_metrics_inside_jit_are_a_pytree_of_0d_float32():
    metrics = step_metrics(DANN(0.25), batch())
    assert set(metrics) == set(core.metric_names())
    assert all(value.shape == () and value.dtype == jnp.float32 for value in metrics.values())
    assert float(metrics["grl/grad_ratio"]) == 0.25
    assert float(metrics["grl/grad_cosine"]) == pytest.approx(-1.0, abs=1e-6)
    assert float(metrics["grl/lambda"]) == 0.25 and float(metrics["grl/step"]) == 0.0


def test_domain_to_task_matches_the_gradients():
    model, data = DANN(0.5), batch()
    features = jnp.tanh(model.features(data["x"]))
    half = 8
    label = lambda f: cross_entropy(model.label_head(f[:half]), data["labels"][:half])  # noqa: E731
    domain = lambda r: bce(model.domain_head(r)[:, 0], data["domains"])  # noqa: E731
    expected = (
        0.5
        * jnp.linalg.norm(jax.grad(domain)(features))
        / jnp.linalg.norm(jax.grad(label)(features))
    )
    metrics = reversal_metrics(domain, features, 0.5, 0, label_loss=label)
    assert float(metrics["grl/domain_to_task"]) == pytest.approx(float(expected), rel=1e-5)


def test_correct_run_is_silent():
    records, raised = run(DANN(schedules.dann(total_steps=8)), thresholds=core.Thresholds())
    assert raised == []
    assert [r["grl/step"] for r in records] == [float(k) for k in range(8)]


def test_forgotten_advance_warns_never_advanced():
    _, raised = run(DANN(schedules.dann(total_steps=8)), advance=False)
    assert raised == ["never_advanced"]


def test_no_gradient_reaches_the_grl():
    @jax.jit
    def metrics(features):
        return reversal_metrics(lambda r: jnp.float32(0.3), features, 0.5, 1)

    monitor = Monitor(None, thresholds=SHORT)
    with pytest.warns(GRLWarning, match="no_gradient"):
        monitor.update(metrics(jnp.ones((4, 3))))


def test_lambda_zero_epoch():
    assert run(DANN(0.0))[1] == ["lambda_zero_epoch"]


def test_schedule_too_short():
    assert run(DANN(schedules.dann(total_steps=4)))[1] == ["past_total_steps"]


def test_schedule_ten_times_too_long():
    assert run(DANN(schedules.dann(total_steps=80)))[1] == ["ended_early"]


def test_reversal_that_does_not_reverse():
    monitor = Monitor(None, thresholds=SHORT)
    identity = jax.jit(
        lambda f: reversal_metrics(lambda r: jnp.sum(r**2), f, 0.5, 1, reversal=lambda x, _: x)
    )
    with pytest.warns(GRLWarning, match="reversal_cancelled"):
        monitor.update(identity(jnp.ones((4, 3))))


def test_domain_collapsed_and_stuck():
    confident = (jnp.asarray(batch()["domains"]) * 2 - 1) * 50.0
    assert run(DANN(0.5), logits=confident)[1] == ["domain_collapsed"]
    assert run(DANN(0.5), logits=jnp.zeros(16))[1] == ["domain_stuck"]


# -- check_placement ---------------------------------------------------------------------


def kinds(report):
    return [kind for kind, _ in report.problems]


def test_correct_setup_passes():
    report = check_placement(DANN(0.5), losses, batch())
    assert report.ok, str(report)
    assert report.feature_factor == pytest.approx(-0.5, rel=1e-6)
    assert report.honest_weight == pytest.approx(1.0, rel=1e-6)


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
    assert kind in kinds(check_placement(DANN(0.5, wiring), losses, batch()))


def test_lambda_applied_twice():
    assert kinds(check_placement(DANN(2.0), lambda m, b: losses(m, b, 2.0), batch())) == [
        "lambda_applied_twice"
    ]


def test_jmlr_minus_sign_cancels_the_reversal():
    assert kinds(check_placement(DANN(0.5), lambda m, b: losses(m, b, -1.0), batch())) == [
        "reversal_cancelled"
    ]


def test_probe_has_no_side_effects():
    model = DANN(schedules.dann(total_steps=100), norm=True)
    model.grl.advance(3)
    keys = jax.tree.map(jax.random.key_data, nnx.state(model, nnx.RngKey))
    before = jax.tree.map(np.array, nnx.state(model, nnx.Not(nnx.RngKey)))
    report = check_placement(model, losses, batch())
    assert report.ok, str(report)
    after = nnx.state(model, nnx.Not(nnx.RngKey))
    assert jax.tree.all(jax.tree.map(lambda a, b: np.array_equal(a, b), before, after))
    after_keys = jax.tree.map(jax.random.key_data, nnx.state(model, nnx.RngKey))
    assert jax.tree.all(jax.tree.map(lambda a, b: np.array_equal(a, b), keys, after_keys))
    assert type(model.grl).__name__ == "GradientReversal"


def test_lambda_zero_is_probed_with_one():
    model = DANN(schedules.dann(total_steps=100))
    report = check_placement(model, losses, batch())
    assert report.ok and report.lambdas == (1.0,)
    assert float(model.grl.lambda_[...]) == 0.0
    assert not math.isnan(report.feature_factor)


def test_complex_gradients_are_measured_with_their_modulus():
    # |g|² of a complex gradient is Σ|g_i|²: not Σ g_i², nor the real parts' squares alone.
    rng = np.random.default_rng(0)
    features = jnp.asarray(rng.standard_normal((6, 5)) + 1j * rng.standard_normal((6, 5)))
    features = features.astype(jnp.complex64)
    weights = jnp.asarray(rng.standard_normal((6, 5)) + 1j * rng.standard_normal((6, 5)))
    weights = weights.astype(jnp.complex64)
    domain = lambda r: jnp.sum(jnp.abs(r * weights) ** 2)  # noqa: E731
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "casting complex values to real" on the way
        metrics = jax.jit(lambda f: reversal_metrics(domain, f, 0.5, 0, label_loss=domain))(
            features
        )
    arriving = np.asarray(jax.grad(domain)(features), np.complex128)
    assert float(metrics["grl/grad_in_norm"]) == pytest.approx(np.linalg.norm(arriving), rel=1e-5)
    assert float(metrics["grl/grad_ratio"]) == pytest.approx(0.5, rel=1e-6)
    assert float(metrics["grl/grad_cosine"]) == pytest.approx(-1.0, abs=1e-6)
