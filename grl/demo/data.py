"""Demo data sets, generated with NumPy from data that ships with scikit-learn (no download).

Two source → target problems:

* ``moons``: two inter-twinning moons (labelled source) and the same distribution rotated by
  35° (unlabelled target), as in Ganin et al., JMLR 2016, §5.1.
* ``digits``: scikit-learn's 8×8 digits (source) and "digits-M" (target): the same kind of
  digits blended with colour patches cut from scikit-learn's sample photographs, in the
  MNIST-M manner (``|patch − digit|`` per colour channel).

Every array is float32 (images NHWC) or int64 (labels), and everything is a pure function of
the seed, so that all backends train on the very same numbers.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

MOONS_ROTATION_DEG = 35.0
DIGITS_SIZE = 16  # 8×8 digits are upsampled: at 8×8 a blended digit is barely legible


@dataclass(frozen=True)
class DomainData:
    """A labelled source domain and a target domain whose training labels are hidden.

    ``target_train_y`` exists only for the train-on-target ceiling; DANN and source-only never
    see it. ``target_test`` is disjoint from ``target_train``.
    """

    name: str
    source_train_x: np.ndarray
    source_train_y: np.ndarray
    source_test_x: np.ndarray
    source_test_y: np.ndarray
    target_train_x: np.ndarray
    target_train_y: np.ndarray
    target_test_x: np.ndarray
    target_test_y: np.ndarray
    n_classes: int


def rotate(points: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate 2-D points anticlockwise about the origin."""
    t = np.deg2rad(degrees)
    rot = np.array([[np.cos(t), -np.sin(t)], [np.sin(t), np.cos(t)]])
    return points @ rot.T


def _moons(n: int, noise: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import make_moons

    x, y = make_moons(n_samples=n, noise=noise, random_state=int(rng.integers(2**31)))
    # Centre the pair of moons on the origin so that the rotation turns them about their middle,
    # as the authors' code does (it centres, scales by 2, then rotates).
    x = (x - np.array([0.5, 0.25])) * 2.0
    return x.astype(np.float32), y.astype(np.int64)


def make_moons_data(
    seed: int, n_train: int = 300, n_test: int = 1000, noise: float = 0.1
) -> DomainData:
    """Source moons and target moons rotated by 35°; test sets are fresh draws."""
    rng = np.random.default_rng([seed, 1])
    xs, ys = _moons(n_train, noise, rng)
    xs_test, ys_test = _moons(n_test, noise, rng)
    xt, yt = _moons(n_train, noise, rng)
    xt_test, yt_test = _moons(n_test, noise, rng)
    r = MOONS_ROTATION_DEG
    return DomainData(
        "moons",
        xs,
        ys,
        xs_test,
        ys_test,
        rotate(xt, r).astype(np.float32),
        yt,
        rotate(xt_test, r).astype(np.float32),
        yt_test,
        2,
    )


def resize_bilinear(images: np.ndarray, size: int) -> np.ndarray:
    """Resize square images (N, H, W[, C]) to (N, size, size[, C]), corners aligned."""
    n = images.shape[1]
    pos = np.linspace(0.0, n - 1.0, size)
    lo = np.minimum(np.floor(pos).astype(int), n - 2)
    w = pos - lo
    m = np.zeros((size, n))  # row i interpolates between pixels lo[i] and lo[i] + 1
    m[np.arange(size), lo] = 1.0 - w
    m[np.arange(size), lo + 1] = w
    rows = np.moveaxis(np.tensordot(m, images, axes=(1, 1)), 0, 1)  # (N, size, W[, C])
    return np.moveaxis(np.tensordot(m, rows, axes=(1, 2)), 0, 2).astype(np.float32)


@functools.cache
def _photographs() -> list[np.ndarray]:
    from sklearn.datasets import load_sample_images

    return [im.astype(np.float32) / 255.0 for im in load_sample_images().images]


def random_patches(
    n: int, size: int, crop: int, rng: np.random.Generator, photos: list[np.ndarray] | None = None
) -> np.ndarray:
    """``n`` colour patches of ``crop``×``crop`` photo pixels, resized to ``size``×``size``.

    ``crop`` sets the patch scale: a small crop is an almost flat colour, a large one carries
    the photograph's texture (edges, leaves, roof tiles) into the target images.
    """
    photos = _photographs() if photos is None else photos
    out = np.empty((n, crop, crop, 3), np.float32)
    which = rng.integers(len(photos), size=n)
    for i, k in enumerate(which):
        h, w, _ = photos[k].shape
        r, c = rng.integers(h - crop + 1), rng.integers(w - crop + 1)
        out[i] = photos[k][r : r + crop, c : c + crop]
    return resize_bilinear(out, size) if crop != size else out


def blend(digits: np.ndarray, patches: np.ndarray) -> np.ndarray:
    """MNIST-M blending: ``|patch − digit|`` per colour channel (digits in [0, 1], NHW)."""
    return np.abs(patches - digits[..., None]).astype(np.float32)


def grey_to_rgb(digits: np.ndarray) -> np.ndarray:
    """Source digits as three equal colour channels, as MNIST is fed to the MNIST-M network."""
    return np.repeat(digits[..., None], 3, axis=-1).astype(np.float32)


def standardize(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Per-domain normalisation: each domain's images use that domain's own training-set
    per-channel mean and standard deviation (no labels needed, so legal for the target)."""
    axes = tuple(range(train.ndim - 1))
    mean = train.mean(axis=axes, keepdims=True)
    std = train.std(axis=axes, keepdims=True) + 1e-6
    return [((a - mean) / std).astype(np.float32) for a in (train, *others)]


def make_digits_data(
    seed: int, size: int = DIGITS_SIZE, crop: int = 64, patch_intensity: float = 0.5
) -> DomainData:
    """Digits (source) → digits-M (target) with disjoint splits of the 1,797 images.

    The digit images are shuffled and cut into four disjoint parts: source train (700),
    source test (300), target test (300) and target train (497, labels hidden except for
    the train-on-target ceiling). Target images are blended with fresh photo patches of
    ``crop``×``crop`` photo pixels (textured at the default 64), scaled by
    ``patch_intensity``. At 1.0 (exact MNIST-M) a third of the patches are brighter than
    mid-grey and turn the digit into a dark stroke on a bright ground, which no method
    here learns from unlabelled data (docs/results.md); 0.5 keeps every stroke brighter
    than its ground, as in the source, and leaves colour, texture and contrast as the shift.
    """
    from sklearn.datasets import load_digits

    rng = np.random.default_rng([seed, 2])
    d = load_digits()
    images = resize_bilinear(d.images.astype(np.float32) / 16.0, size)
    labels = d.target.astype(np.int64)
    order = rng.permutation(len(labels))
    s_tr, s_te, t_te = order[:700], order[700:1000], order[1000:1300]
    t_tr = order[1300:]
    patches = patch_intensity * random_patches(len(t_tr) + len(t_te), size, crop, rng)
    target_train = blend(images[t_tr], patches[: len(t_tr)])
    target_test = blend(images[t_te], patches[len(t_tr) :])
    source_train, source_test = grey_to_rgb(images[s_tr]), grey_to_rgb(images[s_te])
    source_train, source_test = standardize(source_train, source_test)
    target_train, target_test = standardize(target_train, target_test)
    return DomainData(
        "digits",
        source_train,
        labels[s_tr],
        source_test,
        labels[s_te],
        target_train,
        labels[t_tr],
        target_test,
        labels[t_te],
        10,
    )


def make_data(experiment: str, seed: int) -> DomainData:
    """The data set of ``experiment`` ("moons" or "digits") for ``seed``."""
    if experiment == "moons":
        return make_moons_data(seed)
    if experiment == "digits":
        return make_digits_data(seed)
    raise ValueError(f"unknown experiment {experiment!r}")
