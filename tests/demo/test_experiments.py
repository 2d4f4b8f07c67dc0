"""The paper's recipe (Ganin et al., JMLR 2016, §5.2) as the image experiments' preset."""

from __future__ import annotations

import numpy as np
import pytest

from grl.demo import experiments


def test_paper_network_shapes() -> None:
    params = experiments.init_params(experiments.paper_net(3), 0)
    shapes = {k: v.shape for k, v in params.items() if experiments.is_kernel(k)}
    assert shapes == {
        "c1.w": (5, 5, 3, 32),
        "c2.w": (5, 5, 32, 48),
        "y1.w": (768, 100),
        "y2.w": (100, 100),
        "y3.w": (100, 10),
        "d1.w": (768, 100),
        "d2.w": (100, 1),
    }
    assert experiments.init_params(experiments.paper_net(1), 0)["c1.w"].shape == (5, 5, 1, 32)
    assert experiments.conv_geometry(experiments.paper_net().features[0]) == (5, "valid")
    assert experiments.conv_geometry(("conv", "c", 1, 2)) == (3, "same")


@pytest.mark.parametrize("experiment", ["mnist_m", "mnist_digits", "digits_mnist"])
def test_image_experiments_follow_the_paper(experiment: str) -> None:
    config = experiments.config_for(experiment)
    assert (config.batch, config.momentum, config.lr, config.weight_decay) == (64, 0.9, 0.01, 0)
    steps = config.steps
    plan = experiments.make_plan(config, "dann", 100, 100, 0)
    p = np.arange(steps) / steps
    np.testing.assert_allclose(plan.lr, 0.01 / (1 + 10 * p) ** 0.75, rtol=1e-6)
    np.testing.assert_allclose(plan.lambda_, 2 / (1 + np.exp(-10 * p)) - 1, rtol=1e-5, atol=1e-7)
    assert plan.labelled_idx.shape == plan.target_idx.shape == (steps, 64)


def test_unknown_experiment_config() -> None:
    with pytest.raises(ValueError, match="unknown experiment 'usps'"):
        experiments.config_for("usps")
