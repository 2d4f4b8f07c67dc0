"""PNG figures of the demo (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from grl.demo.data import DomainData
from grl.demo.train import Record

Predict = Callable[[np.ndarray], np.ndarray]
_LABELS = {"source_only": "source only", "dann": "DANN", "target_only": "train on target"}


def _pyplot():  # type: ignore[no-untyped-def]  # pyplot, imported late for Agg
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def moons_boundaries(data: DomainData, models: dict[str, Predict], title: str, path: Path) -> Path:
    """Decision boundaries of each model with the source and target points (JMLR Fig. 2 style)."""
    plt = _pyplot()
    pts = np.concatenate([data.source_train_x, data.target_train_x])
    lo, hi = pts.min(axis=0) - 0.5, pts.max(axis=0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 200), np.linspace(lo[1], hi[1], 200))
    grid = np.stack([gx.ravel(), gy.ravel()], axis=1).astype(np.float32)
    fig, axes = plt.subplots(1, len(models), figsize=(4.2 * len(models), 4), squeeze=False)
    for ax, (method, predict) in zip(axes[0], models.items(), strict=True):
        logits = predict(grid)
        prob1 = np.exp(logits[:, 1] - np.logaddexp(logits[:, 0], logits[:, 1])).reshape(gx.shape)
        ax.contourf(gx, gy, prob1, levels=[0, 0.5, 1], colors=["#f4c7c3", "#c6dbef"], alpha=0.8)
        ax.contour(gx, gy, prob1, levels=[0.5], colors="k", linewidths=1.5)
        xs, ys = data.source_train_x, data.source_train_y
        ax.scatter(*xs[ys == 0].T, s=10, c="#d62728", marker="o", label="source, class 0")
        ax.scatter(*xs[ys == 1].T, s=10, c="#1f77b4", marker="o", label="source, class 1")
        ax.scatter(
            *data.target_train_x.T, s=10, c="k", marker="x", alpha=0.5, label="target (unlabelled)"
        )
        acc = (predict(data.target_test_x).argmax(1) == data.target_test_y).mean()
        ax.set_title(f"{_LABELS[method]}: target accuracy {acc:.3f}")
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].legend(loc="lower left", fontsize=7)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def _show(img: np.ndarray) -> np.ndarray:
    """Standardised images back to [0, 1] for display, each image stretched on its own."""
    lo, hi = img.min(), img.max()
    return (img - lo) / (hi - lo + 1e-8)


def digits_samples(data: DomainData, path: Path, n: int = 10) -> Path:
    """The first ``n`` test images of each domain, one row per domain."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, n, figsize=(n * 0.9, 2.2))
    rows = [
        ("source: digits", data.source_test_x, data.source_test_y),
        ("target: digits-M", data.target_test_x, data.target_test_y),
    ]
    for r, (name, x, y) in enumerate(rows):
        for c in range(n):
            axes[r][c].imshow(_show(x[c]), interpolation="nearest")
            axes[r][c].set_xticks([])
            axes[r][c].set_yticks([])
            axes[r][c].set_title(str(y[c]), fontsize=8)
        axes[r][0].set_ylabel(name.split(":")[0], fontsize=8)
    fig.suptitle("digits (source) and digits-M (target)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path


def accuracy_bars(records: Sequence[Record], experiment: str, path: Path) -> Path:
    """Mean target accuracy (± std over seeds) per backend and method."""
    plt = _pyplot()
    recs = [r for r in records if r.experiment == experiment]
    backends = list(dict.fromkeys(r.backend for r in recs))
    methods = list(dict.fromkeys(r.method for r in recs))
    width = 0.8 / max(1, len(methods))
    fig, ax = plt.subplots(figsize=(1.8 + 1.6 * len(backends), 3.2))
    for k, method in enumerate(methods):
        accs = [
            [r.target_accuracy for r in recs if r.backend == b and r.method == method]
            for b in backends
        ]
        ax.bar(
            np.arange(len(backends)) + (k - (len(methods) - 1) / 2) * width,
            [np.mean(a) for a in accs],
            width,
            yerr=[np.std(a) for a in accs],
            capsize=3,
            label=_LABELS[method],
        )
    ax.set_xticks(np.arange(len(backends)), backends)
    ax.set_ylim(0, 1)
    ax.set_ylabel("target test accuracy")
    ax.set_title(f"{experiment}: target accuracy (mean ± std over seeds)", fontsize=9)
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
