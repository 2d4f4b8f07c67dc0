"""Demo data sets, made with NumPy from data that ships in packages (no download).

Source → target problems (Ganin et al., JMLR 2016):

* ``moons``: two inter-twinning moons (labelled source) and the same distribution rotated by
  35° (unlabelled target), §5.1.
* ``mnist_m``: MNIST → MNIST-M, the MNIST digits blended with colour photo patches (§5.2).
* ``mnist_digits`` / ``digits_mnist``: MNIST ↔ UCI digits, two collections of handwriting
  (the analogue of the papers' MNIST ↔ USPS).

Every array is float32 (images NHWC) or int64 (labels), and everything is a pure function of
the seed, so that all backends train on the very same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grl.demo import mnist

EXPERIMENTS = ("moons", "mnist_m", "mnist_digits", "digits_mnist")
MOONS_ROTATION_DEG = 35.0
Split = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # train x, y, test x, y


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
    images = np.asarray(images, np.float32)
    n = images.shape[1]
    pos = np.linspace(0.0, n - 1.0, size)
    lo = np.minimum(np.floor(pos).astype(int), n - 2)
    w = pos - lo
    m = np.zeros((size, n))  # row i interpolates between pixels lo[i] and lo[i] + 1
    m[np.arange(size), lo] = 1.0 - w
    m[np.arange(size), lo + 1] = w
    rows = np.moveaxis(np.tensordot(m, images, axes=(1, 1)), 0, 1)  # (N, size, W[, C])
    return np.moveaxis(np.tensordot(m, rows, axes=(1, 2)), 0, 2).astype(np.float32)


def grey_to_rgb(digits: np.ndarray) -> np.ndarray:
    """Grey digits as three equal colour channels, as MNIST is fed to the MNIST-M network."""
    return np.repeat(digits[..., None], 3, axis=-1).astype(np.float32)


def standardize(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Per-domain normalisation: each domain's images use that domain's own training-set
    per-channel mean and standard deviation (no labels needed, so legal for the target)."""
    axes = tuple(range(train.ndim - 1))
    mean = train.mean(axis=axes, keepdims=True, dtype=np.float64)  # float32 sums drift
    std = train.std(axis=axes, keepdims=True, dtype=np.float64) + 1e-6
    return [((a - mean) / std).astype(np.float32) for a in (train, *others)]


def _domains(name: str, source: Split, target: Split, n_classes: int = 10) -> DomainData:
    """Standardise each domain on its own training images and pack the splits."""
    (sx, sy, sxt, syt), (tx, ty, txt, tyt) = source, target
    sx, sxt = standardize(sx, sxt)
    tx, txt = standardize(tx, txt)
    return DomainData(name, sx, sy, sxt, syt, tx, ty, txt, tyt, n_classes)


def mnist_m_split(n: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """Disjoint indices of the source (half), target-train (3/10) and target-test (1/5)
    digits: 2,500 / 1,500 / 1,000 of the packaged 5,000."""
    order = rng.permutation(n)
    return order[: n // 2], order[n // 2 : n * 4 // 5], order[n * 4 // 5 :]


def make_mnist_m_data(
    seed: int, mnist_dir: Path | None = None, bsds_dir: Path | None = None
) -> DomainData:
    """MNIST (source) → MNIST-M (target).

    From the packaged 5,000 digits: disjoint digit images for source train (2,500), target
    train (1,500, blended, labels hidden) and target test (1,000, blended); the source test
    set is the target-test digits unblended. With ``mnist_dir`` (full MNIST IDX files) the
    split is the paper's: MNIST train → MNIST-M train, MNIST test → MNIST-M test.
    ``bsds_dir`` replaces the packaged photographs with a folder (e.g. BSDS500).
    """
    rng = np.random.default_rng([seed, 5])
    photos = mnist.packaged_photos() if bsds_dir is None else mnist.folder_photos(bsds_dir)
    if mnist_dir is None:
        x, y = mnist.packaged_mnist()
        src, tgt, test = mnist_m_split(len(y), rng)
        train_digits, test_digits = (x[src], y[src]), (x[test], y[test])
        target_digits = (x[tgt], y[tgt])
    else:
        full = mnist.full_mnist(mnist_dir)
        train_digits = target_digits = full["train"]
        test_digits = full["test"]
    source = (
        grey_to_rgb(train_digits[0]),
        train_digits[1],
        grey_to_rgb(test_digits[0]),
        test_digits[1],
    )
    target = (
        mnist.make_mnist_m(target_digits[0], photos, rng),
        target_digits[1],
        mnist.make_mnist_m(test_digits[0], photos, rng),
        test_digits[1],
    )
    return _domains("mnist_m", source, target)


def _train_test(x: np.ndarray, y: np.ndarray, n_test: int, rng: np.random.Generator) -> Split:
    order = rng.permutation(len(y))
    tr, te = order[n_test:], order[:n_test]
    return x[tr, ..., None], y[tr], x[te, ..., None], y[te]


def make_mnist_digits_data(
    seed: int, reverse: bool = False, mnist_dir: Path | None = None
) -> DomainData:
    """MNIST → UCI digits (``reverse``: digits → MNIST), both on MNIST's 28×28 frame, grey.

    MNIST: the packaged 5,000 split 4,000 train / 1,000 test (or the full IDX train / test
    sets); digits: 1,297 train / 500 test. The target's training labels stay hidden.
    """
    rng = np.random.default_rng([seed, 6])
    if mnist_dir is None:
        mnist_split = _train_test(*mnist.packaged_mnist(), 1000, rng)
    else:
        full = mnist.full_mnist(mnist_dir)
        (x, y), (xt, yt) = full["train"], full["test"]
        mnist_split = (x[..., None], y, xt[..., None], yt)
    digits_split = _train_test(*mnist.digits_as_mnist(), 500, rng)
    if reverse:
        return _domains("digits_mnist", digits_split, mnist_split)
    return _domains("mnist_digits", mnist_split, digits_split)


def make_data(
    experiment: str, seed: int, mnist_dir: Path | None = None, bsds_dir: Path | None = None
) -> DomainData:
    """The data set of ``experiment`` (one of :data:`EXPERIMENTS`) for ``seed``.

    ``mnist_dir`` (full MNIST IDX files) and ``bsds_dir`` (a folder of photographs) replace
    the packaged 5,000 digits and photographs, for the paper's full scale.
    """
    if experiment == "moons":
        return make_moons_data(seed)
    if experiment == "mnist_m":
        return make_mnist_m_data(seed, mnist_dir, bsds_dir)
    if experiment in ("mnist_digits", "digits_mnist"):
        return make_mnist_digits_data(seed, experiment == "digits_mnist", mnist_dir)
    raise ValueError(f"unknown experiment {experiment!r}; expected one of {EXPERIMENTS}")
