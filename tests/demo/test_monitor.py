"""The demo records grl's diagnostics monitor (grl.demo.monitoring) without changing a run:
the recorded numbers mean what docs/diagnostics.md says, in every backend."""

from __future__ import annotations

import math

import numpy as np
import pytest

from grl.core.diagnostics import LN2, METRICS
from grl.demo import data, experiments, monitoring, train
from grl.demo.cli import BACKENDS  # the demo's frameworks (grl may support more)
from tests.backends import require
from tests.demo.deps import require_demo_dependencies

require_demo_dependencies()

STEPS, EVERY = 12, 3


@pytest.fixture(scope="module")
def moons() -> tuple[data.DomainData, experiments.Config]:
    return data.make_data("moons", 0), experiments.config_for("moons", STEPS)


def _train(backend: str, config, domains, method: str, every: int | None):  # type: ignore[no-untyped-def]
    trainer = train.make_trainer(backend, config, domains, method, seed=0, monitor_every=every)
    for i in range(config.steps):
        trainer.step(i)
    return trainer


@pytest.mark.parametrize("method", ["source_only", "dann"])
@pytest.mark.parametrize("backend", BACKENDS)
def test_recording_leaves_the_run_unchanged(backend: str, method: str, moons) -> None:
    """Same batches, weights, λ and lr: the losses and predictions are bit-identical."""
    require(backend)
    domains, config = moons
    plain = _train(backend, config, domains, method, None)
    watched = _train(backend, config, domains, method, EVERY)
    assert plain.log is None and watched.log is not None
    np.testing.assert_array_equal(watched.loss_history(), plain.loss_history())
    x = domains.target_test_x[:64]
    np.testing.assert_array_equal(watched.predict(x), plain.predict(x))


@pytest.mark.parametrize("backend", BACKENDS)
def test_dann_records_the_reversal_of_its_training_step(backend: str, moons) -> None:
    require(backend)
    domains, config = moons
    trainer = _train(backend, config, domains, "dann", EVERY)
    log = trainer.log.arrays()
    steps = np.arange(0, STEPS, EVERY)
    np.testing.assert_array_equal(log["train_step"], steps)
    assert set(log) == {"train_step", *METRICS}
    lam = experiments.make_plan(config, "dann", 1, 1, 0).lambda_[steps]
    np.testing.assert_allclose(log["lambda"], lam, rtol=1e-6)
    # Step 0 has λ = 0: nothing leaves the GRL, so the ratio and cosine are undefined.
    assert lam[0] == 0 and log["grad_out_norm"][0] == 0 and math.isnan(log["grad_ratio"][0])
    on = lam > 0
    assert on.sum() == len(steps) - 1 and (log["grad_in_norm"] > 0).all()
    # Leaving / arriving = −λ: the norms' ratio is λ and the two point opposite ways.
    np.testing.assert_allclose(log["grad_ratio"][on], lam[on], rtol=1e-4)
    np.testing.assert_allclose(log["grad_cosine"][on], -1.0, atol=1e-4)
    np.testing.assert_allclose(log["grad_out_norm"], lam * log["grad_in_norm"], rtol=1e-4)
    assert (log["domain_to_task"][on] > 0).all() and log["domain_to_task"][0] == 0
    # The monitor's domain loss is the loss this very step trained on.
    np.testing.assert_allclose(log["domain_loss"], trainer.loss_history()[steps, 1], rtol=1e-5)
    assert ((log["domain_accuracy"] >= 0) & (log["domain_accuracy"] <= 1)).all()
    assert trainer.log.warned == []


@pytest.mark.parametrize("backend", BACKENDS)
def test_source_only_probe_sends_nothing_to_the_features(backend: str, moons) -> None:
    require(backend)
    domains, config = moons
    log = _train(backend, config, domains, "source_only", EVERY).log.arrays()
    assert (log["lambda"] == 0).all() and (log["grad_in_norm"] > 0).all()
    assert (log["grad_out_norm"] == 0).all() and (log["domain_to_task"] == 0).all()
    assert np.isnan(log["grad_ratio"]).all()
    assert np.isfinite(log["domain_loss"]).all() and (log["domain_loss"] > 0).all()


def test_backends_record_the_same_numbers(moons) -> None:
    for backend in BACKENDS:
        require(backend)
    domains, config = moons
    for method in ("source_only", "dann"):
        logs = {b: _train(b, config, domains, method, 1).log.arrays() for b in BACKENDS}
        for backend in ("tf", "jax"):
            for name, values in logs[backend].items():
                if name == "step":  # the torch layer is not advanced (λ is set per step)
                    continue
                np.testing.assert_allclose(
                    values,
                    logs["torch"][name],
                    rtol=1e-3,
                    atol=1e-6,
                    err_msg=f"{method}: {backend} vs torch {name}",
                )


def test_source_only_probe_separates_mnist_m_without_reversal() -> None:
    """Without reversal a domain head tells MNIST from MNIST-M: the loss leaves ln 2."""
    backend = next(b for b in BACKENDS if b != "jax")  # the fastest on the paper's network
    require(backend)
    config = experiments.config_for("mnist_m", 60)
    log = _train(backend, config, data.make_data("mnist_m", 0), "source_only", 5).log.arrays()
    late = log["domain_loss"][-4:]
    assert late.mean() < 0.5 * LN2 and log["domain_accuracy"][-4:].mean() > 0.8


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"monitor_every": 0}, "monitor_every must be an int >= 1"),
        ({"monitor_every": 2.5}, "got 2.5"),
        ({"monitor_every": 2, "method": "target_only"}, "got method='target_only'"),
    ],
)
def test_bad_monitor_options(options: dict, message: str, moons) -> None:
    require("torch")
    domains, config = moons
    method = options.pop("method", "dann")
    with pytest.raises(ValueError, match=message):
        train.make_trainer("torch", config, domains, method, seed=0, **options)


def test_torch_monitor_needs_the_eager_step(moons) -> None:
    require("torch")
    domains, config = moons
    with pytest.raises(ValueError, match="monitor_every needs the eager step"):
        train.make_trainer("torch", config, domains, "dann", 0, compiled=True, monitor_every=1)


def test_interval_and_thresholds() -> None:
    assert monitoring.interval(3000) == 10 and monitoring.interval(4) == 1
    # A domain-loss warning still means 200 training steps when recording every 10th.
    assert monitoring.thresholds(10).stretch == 20 and monitoring.thresholds(1000).stretch == 1
