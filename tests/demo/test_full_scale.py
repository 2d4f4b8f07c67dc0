"""The full-scale option (MNIST IDX files + a BSDS500 folder) on tiny files the test writes."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import numpy as np
import pytest

from grl.demo import data, mnist
from grl.demo.cli import main
from tests.backends import require
from tests.demo.deps import require_demo_dependencies

require_demo_dependencies()


def write_idx(path: Path, array: np.ndarray) -> None:
    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(n.to_bytes(4, "big") for n in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    if path.suffix == ".gz":
        raw = gzip.compress(raw)
    path.write_bytes(raw)


@pytest.fixture
def full_scale(tmp_path: Path) -> tuple[Path, Path, dict[str, np.ndarray]]:
    """MNIST-shaped IDX files (train gzipped, test plain, as users may keep them) and two
    photographs (PNG and JPEG) in nested folders, as BSDS500 is laid out."""
    rng = np.random.default_rng(0)
    arrays = {
        "train-images-idx3-ubyte.gz": rng.integers(0, 256, (24, 28, 28)),
        "train-labels-idx1-ubyte.gz": np.arange(24) % 10,
        "t10k-images-idx3-ubyte": rng.integers(0, 256, (12, 28, 28)),
        "t10k-labels-idx1-ubyte": np.arange(12) % 10,
    }
    mnist_dir = tmp_path / "mnist"
    mnist_dir.mkdir()
    for name, array in arrays.items():
        write_idx(mnist_dir / name, array)
    bsds = tmp_path / "BSDS500" / "images" / "train"
    bsds.mkdir(parents=True)
    from skimage.io import imsave

    imsave(bsds / "1.png", rng.integers(0, 256, (40, 50, 3)).astype(np.uint8))
    imsave(bsds / "2.jpg", rng.integers(0, 256, (60, 30, 3)).astype(np.uint8))
    return mnist_dir, tmp_path / "BSDS500", arrays


def test_read_idx_round_trip(full_scale) -> None:
    mnist_dir, _, arrays = full_scale
    for name, array in arrays.items():
        got = mnist.read_idx(mnist_dir / name)
        assert got.dtype == np.uint8 and np.array_equal(got, array)


def test_read_idx_rejects_other_files(tmp_path: Path) -> None:
    bad = tmp_path / "x"
    bad.write_bytes(b"\x89PNG....")
    with pytest.raises(ValueError, match="is not an IDX file of unsigned bytes"):
        mnist.read_idx(bad)
    short = tmp_path / "short"
    short.write_bytes(bytes([0, 0, 8, 1]) + (5).to_bytes(4, "big") + b"abc")
    with pytest.raises(ValueError, match=r"header says \[5\], but holds 3 values"):
        mnist.read_idx(short)


def test_missing_idx_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=r"no train-images-idx3-ubyte or .*gz"):
        mnist.full_mnist(tmp_path)


def test_photo_folder_must_hold_large_enough_photos(tmp_path: Path) -> None:
    from skimage.io import imsave

    with pytest.raises(ValueError, match="found 0 images"):
        mnist.folder_photos(tmp_path)
    imsave(tmp_path / "small.png", np.full((20, 40, 3), 200, np.uint8), check_contrast=False)
    with pytest.raises(ValueError, match=r"too small: .*small\.png"):
        mnist.folder_photos(tmp_path)


def test_full_scale_mnist_m_is_the_papers_split(full_scale) -> None:
    """MNIST train → MNIST-M train, MNIST test → MNIST-M test, patches from the folder."""
    mnist_dir, bsds, arrays = full_scale
    d = data.make_data("mnist_m", 0, mnist_dir, bsds)
    assert d.source_train_x.shape == (24, 28, 28, 3) and d.target_test_x.shape == (12, 28, 28, 3)
    assert np.array_equal(d.source_train_y, arrays["train-labels-idx1-ubyte.gz"])
    assert np.array_equal(d.target_train_y, arrays["train-labels-idx1-ubyte.gz"])
    assert np.array_equal(d.target_test_y, arrays["t10k-labels-idx1-ubyte"])
    photos = mnist.folder_photos(bsds)
    assert [p.shape for p in photos] == [(40, 50, 3), (60, 30, 3)]
    # The unstandardised target is |patch − digit| with patches cut from those two photos.
    rng = np.random.default_rng([0, 5])
    digits = arrays["train-images-idx3-ubyte.gz"] / np.float32(255.0)
    expected = mnist.make_mnist_m(digits.astype(np.float32), photos, rng)
    np.testing.assert_allclose(data.standardize(expected)[0], d.target_train_x, atol=1e-5)


def test_full_scale_digits_use_the_full_mnist(full_scale) -> None:
    mnist_dir, _, _ = full_scale
    d = data.make_data("digits_mnist", 0, mnist_dir)
    assert (len(d.target_train_y), len(d.target_test_y)) == (24, 12)


def test_cli_full_scale(full_scale, tmp_path: Path) -> None:
    require("jax")
    mnist_dir, bsds, _ = full_scale
    out = tmp_path / "r.json"
    argv = ["--backend", "jax", "--experiment", "mnist_m", "--steps", "2", "--seeds", "0"]
    argv += ["--mnist-dir", str(mnist_dir), "--bsds-dir", str(bsds), "--no-plots"]
    assert main([*argv, "--quiet", "--json", str(out)]) == 0
    assert len(json.loads(out.read_text())) == 3
