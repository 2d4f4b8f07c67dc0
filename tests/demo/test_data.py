"""Data generation: deterministic, disjoint splits, MNIST-M blending, per-domain statistics."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from grl.core import schedules
from grl.demo import data, spec
from tests.demo.deps import require_demo_dependencies

require_demo_dependencies()


def test_moons_target_is_source_rotated_by_35_degrees() -> None:
    d = data.make_moons_data(0)
    assert d.source_train_x.dtype == np.float32 and d.source_train_y.dtype == np.int64
    back = data.rotate(d.target_train_x, -35.0)
    # Same distribution once rotated back: the class means match the source's closely.
    for c in (0, 1):
        np.testing.assert_allclose(
            back[d.target_train_y == c].mean(0),
            d.source_train_x[d.source_train_y == c].mean(0),
            atol=0.15,
        )


def test_digits_splits_and_blending() -> None:
    d = data.make_digits_data(0)
    assert d.source_train_x.shape[1:] == (data.DIGITS_SIZE, data.DIGITS_SIZE, 3)
    assert (
        len(d.source_train_x) + len(d.source_test_x) + len(d.target_train_x) + len(d.target_test_x)
        == 1797
    )
    # Per-domain normalisation: each domain's training set is standardised per channel.
    for x in (d.source_train_x, d.target_train_x):
        np.testing.assert_allclose(x.mean(axis=(0, 1, 2)), 0, atol=1e-4)
        np.testing.assert_allclose(x.std(axis=(0, 1, 2)), 1, atol=1e-3)
    # Source channels are equal (grey digits); target channels differ (colour patches).
    assert np.array_equal(d.source_train_x[..., 0], d.source_train_x[..., 1])
    assert not np.allclose(d.target_train_x[..., 0], d.target_train_x[..., 1])


def test_blend_is_mnist_m_absolute_difference() -> None:
    digit = np.array([[[0.0, 1.0]]], np.float32)
    patch = np.array([[[[0.2, 0.5, 0.9], [0.2, 0.5, 0.9]]]], np.float32)
    expected = [[[[0.2, 0.5, 0.9], [0.8, 0.5, 0.1]]]]
    np.testing.assert_allclose(data.blend(digit, patch), expected, rtol=1e-6)


def test_resize_bilinear_keeps_corners_and_identity() -> None:
    x = np.random.default_rng(0).random((2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(data.resize_bilinear(x, 8), x, atol=1e-6)
    up = data.resize_bilinear(x, 16)
    np.testing.assert_allclose(
        up[:, [0, -1]][:, :, [0, -1]], x[:, [0, -1]][:, :, [0, -1]], atol=1e-6
    )


@pytest.mark.parametrize("experiment", ["moons", "digits"])
def test_everything_is_a_function_of_the_seed(experiment: str) -> None:
    a, b, c = (data.make_data(experiment, s) for s in (5, 5, 6))
    assert np.array_equal(a.target_test_x, b.target_test_x)
    assert not np.array_equal(a.target_test_x, c.target_test_x)
    config = spec.config_for(experiment, 10)
    pa, pb = spec.init_params(config.net, 5), spec.init_params(config.net, 5)
    assert all(np.array_equal(pa[k], pb[k]) for k in pa)
    plan = spec.make_plan(config, "dann", 100, 50, 5)
    assert plan.lambda_[0] == 0 and np.all(np.diff(plan.lambda_) > 0)
    assert plan.labelled_idx.max() < 100 and plan.target_idx.max() < 50
    assert not spec.make_plan(config, "source_only", 100, 50, 5).lambda_.any()


@pytest.mark.parametrize("experiment", ["moons", "digits"])
def test_the_plan_follows_the_configured_lambda_schedule(experiment: str) -> None:
    config = spec.config_for(experiment, 400)
    expected = schedules.dann(400, gamma=config.lambda_gamma, hi=config.lambda_hi)
    lam = spec.make_plan(config, "dann", 100, 50, 0).lambda_
    assert lam.dtype == np.float32
    assert np.array_equal(lam, np.array([expected(s) for s in range(400)], np.float32))
    other_ramp = spec.make_plan(replace(config, lambda_gamma=20.0), "dann", 100, 50, 0)
    assert not np.array_equal(lam, other_ramp.lambda_)


def test_unknown_experiment() -> None:
    with pytest.raises(ValueError, match="unknown experiment"):
        data.make_data("mnist", 0)
