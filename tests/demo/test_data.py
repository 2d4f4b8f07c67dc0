"""Data generation: deterministic, disjoint splits, MNIST-M blending, per-domain statistics."""

from __future__ import annotations

import hashlib
from dataclasses import replace

import numpy as np
import pytest

from grl.core import schedules
from grl.demo import data, experiments, mnist
from tests.demo.deps import require_demo_dependencies

require_demo_dependencies()

MNIST_M_SHA256_PREFIX = "0517d421f889d9af"
MNIST_SHA256_PREFIX = "4bfcb11bc0773f99"


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


def test_mnist_m_uses_disjoint_digit_images() -> None:
    rng = np.random.default_rng(0)
    src, tgt, test = data.mnist_m_split(5000, rng)
    assert (len(src), len(tgt), len(test)) == (2500, 1500, 1000)
    assert len(np.unique(np.concatenate([src, tgt, test]))) == 5000
    d = data.make_mnist_m_data(0)
    x, y = mnist.packaged_mnist()
    src, tgt, test = data.mnist_m_split(5000, np.random.default_rng([0, 5]))
    assert np.array_equal(d.source_train_y, y[src]) and np.array_equal(d.target_train_y, y[tgt])
    assert np.array_equal(d.target_test_y, y[test]) and np.array_equal(d.source_test_y, y[test])
    # The source images are those digits, grey in three channels, standardised as a domain.
    raw = data.grey_to_rgb(x[src])
    np.testing.assert_allclose(data.standardize(raw)[0], d.source_train_x, atol=1e-5)
    assert d.target_train_x.shape == (1500, 28, 28, 3) and d.target_test_x.dtype == np.float32
    # Per-domain normalisation: each domain's training set is standardised per channel.
    for images in (d.source_train_x, d.target_train_x):
        np.testing.assert_allclose(images.mean(axis=(0, 1, 2), dtype=np.float64), 0, atol=1e-6)
        np.testing.assert_allclose(images.std(axis=(0, 1, 2), dtype=np.float64), 1, atol=1e-5)
    assert not np.allclose(d.target_train_x[..., 0], d.target_train_x[..., 1])


def test_mnist_m_construction_checksum() -> None:
    """MNIST-M is the same bytes on every machine: a fixed function of the seed. (The PNG
    photographs only: JPEG decoders may differ by a grey level between library versions.)"""
    x, _ = mnist.packaged_mnist()
    photos = mnist.packaged_photos()[:3]  # astronaut, chelsea, coffee: PNG files
    images = mnist.make_mnist_m(x[:200], photos, np.random.default_rng(0))
    assert images.shape == (200, 28, 28, 3) and images.dtype == np.float32
    assert hashlib.sha256(images.tobytes()).hexdigest()[:16] == MNIST_M_SHA256_PREFIX
    assert hashlib.sha256(x.tobytes()).hexdigest()[:16] == MNIST_SHA256_PREFIX


def test_mnist_m_pixel_is_patch_minus_digit() -> None:
    photo = np.arange(30 * 40 * 3, dtype=np.float32).reshape(30, 40, 3) / (30 * 40 * 3)
    digit = np.random.default_rng(1).random((1, 28, 28)).astype(np.float32)
    out = mnist.make_mnist_m(digit, (photo,), np.random.default_rng(2))
    rng = np.random.default_rng(2)
    rng.integers(1, size=1)  # the photo choice
    r, c = rng.integers(3), rng.integers(13)
    np.testing.assert_array_equal(
        out[0], np.abs(photo[r : r + 28, c : c + 28] - digit[0][..., None])
    )


def test_packaged_photos_are_colour_and_large_enough() -> None:
    photos = mnist.packaged_photos()
    assert len(photos) == 11
    for p in photos:
        assert p.dtype == np.float32 and p.shape[2] == 3 and min(p.shape[:2]) >= 28
        assert p.min() >= 0.0 and p.max() <= 1.0


def test_digits_on_the_mnist_frame() -> None:
    x, y = mnist.digits_as_mnist()
    assert x.shape == (1797, 28, 28) and y.shape == (1797,)
    # A 4-pixel empty border, as MNIST's 20×20 box in 28×28; the digit inside.
    assert not x[:, :4].any() and not x[:, 24:].any() and not x[:, :, :4].any()
    assert x[:, 4:24, 4:24].max() == 1.0 and x.min() == 0.0


@pytest.mark.parametrize("reverse", [False, True])
def test_mnist_digits_splits(reverse: bool) -> None:
    d = data.make_mnist_digits_data(0, reverse=reverse)
    mnist_sizes, digits_sizes = (4000, 1000), (1297, 500)
    source, target = (digits_sizes, mnist_sizes) if reverse else (mnist_sizes, digits_sizes)
    assert (len(d.source_train_y), len(d.source_test_y)) == source
    assert (len(d.target_train_y), len(d.target_test_y)) == target
    assert d.source_train_x.shape[1:] == (28, 28, 1) and d.name == (
        "digits_mnist" if reverse else "mnist_digits"
    )


def test_resize_bilinear_keeps_corners_and_identity() -> None:
    x = np.random.default_rng(0).random((2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(data.resize_bilinear(x, 8), x, atol=1e-6)
    up = data.resize_bilinear(x, 16)
    np.testing.assert_allclose(
        up[:, [0, -1]][:, :, [0, -1]], x[:, [0, -1]][:, :, [0, -1]], atol=1e-6
    )


@pytest.mark.parametrize("experiment", data.EXPERIMENTS)
def test_everything_is_a_function_of_the_seed(experiment: str) -> None:
    a, b, c = (data.make_data(experiment, s) for s in (5, 5, 6))
    assert np.array_equal(a.target_test_x, b.target_test_x)
    assert not np.array_equal(a.target_test_x, c.target_test_x)
    config = experiments.config_for(experiment, 10)
    pa, pb = experiments.init_params(config.net, 5), experiments.init_params(config.net, 5)
    assert all(np.array_equal(pa[k], pb[k]) for k in pa)
    plan = experiments.make_plan(config, "dann", 100, 50, 5)
    assert plan.lambda_[0] == 0 and np.all(np.diff(plan.lambda_) > 0)
    assert plan.labelled_idx.max() < 100 and plan.target_idx.max() < 50
    assert not experiments.make_plan(config, "source_only", 100, 50, 5).lambda_.any()


@pytest.mark.parametrize("experiment", data.EXPERIMENTS)
def test_the_plan_follows_the_configured_lambda_schedule(experiment: str) -> None:
    config = experiments.config_for(experiment, 400)
    expected = schedules.dann(400, gamma=config.lambda_gamma, hi=config.lambda_hi)
    lam = experiments.make_plan(config, "dann", 100, 50, 0).lambda_
    assert lam.dtype == np.float32
    assert np.array_equal(lam, np.array([expected(s) for s in range(400)], np.float32))
    other_ramp = experiments.make_plan(replace(config, lambda_gamma=20.0), "dann", 100, 50, 0)
    assert not np.array_equal(lam, other_ramp.lambda_)


def test_unknown_experiment() -> None:
    with pytest.raises(ValueError, match="unknown experiment"):
        data.make_data("usps", 0)
