"""PNG figures of the demo (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from grl.demo.data import DomainData
from grl.demo.experiments import Plan
from grl.demo.report import TITLES
from grl.demo.train import Record

Predict = Callable[[np.ndarray], np.ndarray]
Features = Callable[[np.ndarray], np.ndarray]
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
    fig.savefig(path, dpi=72)
    plt.close(fig)
    return path


def _show(img: np.ndarray) -> np.ndarray:
    """Standardised images back to [0, 1] for display, each image stretched on its own."""
    lo, hi = img.min(), img.max()
    return (img - lo) / (hi - lo + 1e-8)


def samples(data: DomainData, title: str, path: Path, n: int = 10) -> Path:
    """The first ``n`` test images of each domain, one row per domain."""
    plt = _pyplot()
    fig, axes = plt.subplots(2, n, figsize=(n * 0.8, 2.0))
    for r, (name, x, y) in enumerate(
        [
            ("source", data.source_test_x, data.source_test_y),
            ("target", data.target_test_x, data.target_test_y),
        ]
    ):
        for c in range(n):
            img = _show(x[c])
            axes[r][c].imshow(img[..., 0] if img.shape[-1] == 1 else img, cmap="gray")
            axes[r][c].set_xticks([])
            axes[r][c].set_yticks([])
            axes[r][c].set_title(str(y[c]), fontsize=8)
        axes[r][0].set_ylabel(name, fontsize=8)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)
    return path


def tsne(
    data: DomainData, models: dict[str, Features], title: str, path: Path, n: int = 500
) -> Path:
    """t-SNE of the shared features of ``n`` source and ``n`` target test images per model
    (JMLR 2016, Fig. 5): adaptation shows as the two domains' points mixing."""
    from sklearn.manifold import TSNE

    plt = _pyplot()
    fig, axes = plt.subplots(1, len(models), figsize=(3.6 * len(models), 3.6), squeeze=False)
    colours = plt.get_cmap("tab10")
    for ax, (method, features) in zip(axes[0], models.items(), strict=True):
        f = np.concatenate([features(data.source_test_x[:n]), features(data.target_test_x[:n])])
        xy = TSNE(init="pca", random_state=0, perplexity=30.0).fit_transform(f)
        labels = np.concatenate([data.source_test_y[:n], data.target_test_y[:n]])
        for domain, (marker, lo, hi) in enumerate([("o", 0, n), ("x", n, 2 * n)]):
            ax.scatter(
                *xy[lo:hi].T,
                s=6,
                marker=marker,
                c=colours(labels[lo:hi] % 10),
                alpha=0.6,
                linewidths=0.7,
                label=("source (o)", "target (x)")[domain],
            )
        ax.set_title(_LABELS[method], fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0][0].legend(fontsize=7, loc="lower left", markerscale=2)
    fig.suptitle(title + " — colour: digit class", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)
    return path


def training(domain_loss: np.ndarray, plan: Plan, title: str, path: Path) -> Path:
    """DANN's domain-classifier loss against ln 2 (a domain classifier that cannot tell the
    domains apart), and the λ and learning-rate schedules over training."""
    plt = _pyplot()
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(8, 2.8))
    window = max(1, len(domain_loss) // 60)
    smooth = np.convolve(domain_loss, np.ones(window) / window, mode="valid")
    ax.plot(np.arange(len(smooth)) + window // 2, smooth, lw=1, label="domain loss (DANN)")
    ax.axhline(np.log(2), color="k", ls="--", lw=1, label="ln 2 (chance)")
    ax.set_xlabel("step")
    ax.set_title("domain-classifier loss", fontsize=9)
    ax.legend(fontsize=7)
    steps = np.arange(len(plan.lr))
    ax2.plot(steps, plan.lambda_, color="C1", label="λ (GRL)")
    ax2.set_ylabel("λ")
    ax2.set_xlabel("step")
    lr_axis = ax2.twinx()
    lr_axis.plot(steps, plan.lr, color="C2", label="learning rate")
    lr_axis.set_ylabel("learning rate")
    ax2.legend(
        ax2.get_lines() + lr_axis.get_lines(),
        ["λ (GRL)", "learning rate"],
        fontsize=7,
        loc="center right",
    )
    ax2.set_title("schedules", fontsize=9)
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)
    return path


def _smooth(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A moving average over about 1/25 of the points: (index of each mean, mean)."""
    window = max(1, len(values) // 25)
    mean = np.convolve(values, np.ones(window) / window, mode="valid")
    return np.arange(len(mean)) + window // 2, mean


MONITOR_CAPTION = (
    "Recorded by grl's diagnostics monitor every {every} training steps (thin: each record; "
    "thick: moving average). DANN: the GRL of the training step. Source only has no "
    "adversary, so it gets a probe:\nits own copy of the domain head (DANN's start, SGD rule "
    "and batches) behind a GRL with λ = 0 on detached features: nothing reaches the features "
    "and training is unchanged. Without reversal the domain loss\ncollapses towards 0 and "
    "the domain accuracy to 1; with DANN the reversal pushes them back towards ln 2 and 0.5; the "
    "GRL passes on λ times the gradient it receives, reversed (ratio λ, cosine −1)."
)


def monitor(logs: dict[str, Any], title: str, path: Path) -> Path:
    """grl's monitor for source only and DANN side by side (``logs``: method → MonitorLog):
    the domain loss against ln 2, the domain accuracy against 0.5, the reversed domain
    gradient over the task gradient at the features, and λ with the GRL's gradient ratio."""
    from grl.core.diagnostics import LN2

    plt = _pyplot()
    fig, axes = plt.subplots(1, 4, figsize=(15, 3.7))
    colours = {"source_only": "C0", "dann": "C3"}
    every = next(iter(logs.values())).every
    for method, log in logs.items():
        v, colour = log.arrays(), colours.get(method, "C2")
        steps = v["train_step"]
        warned = ", ".join(log.warned) or "none"
        label = f"{_LABELS[method]} (warnings: {warned})"
        for ax, key in ((axes[0], "domain_loss"), (axes[1], "domain_accuracy")):
            ax.plot(steps, v[key], color=colour, lw=0.5, alpha=0.3)
            at, mean = _smooth(v[key])
            ax.plot(steps[at], mean, color=colour, lw=1.5, label=label)
        name = "source only (probe, λ = 0)" if method == "source_only" else _LABELS[method]
        axes[2].plot(steps, v["domain_to_task"], color=colour, lw=0.5, alpha=0.3)
        at, mean = _smooth(v["domain_to_task"])
        axes[2].plot(steps[at], mean, color=colour, lw=1.5, label=name)
        axes[3].plot(steps, v["lambda"], color=colour, lw=1.5, label=f"grl/lambda, {name}")
        if method == "dann":
            measured = np.isfinite(v["grad_ratio"])
            cosine = np.nanmean(v["grad_cosine"][measured]) if measured.any() else np.nan
            axes[3].plot(
                steps[measured][::4],
                v["grad_ratio"][measured][::4],
                "k.",
                ms=3,
                label=f"grl/grad_ratio |out|/|in|, DANN (mean cosine {cosine:+.3f})",
            )
    axes[0].axhline(LN2, color="k", ls="--", lw=1, label="ln 2 (chance)")
    axes[1].axhline(0.5, color="k", ls="--", lw=1, label="0.5 (chance)")
    axes[1].set_ylim(0.3, 1.02)
    titles = (
        "grl/domain_loss",
        "grl/domain_accuracy",
        "grl/domain_to_task: |reversed domain grad| / |task grad|\nat the shared features",
        "λ, and the GRL's gradient ratio",
    )
    for ax, text in zip(axes, titles, strict=True):
        ax.set_title(text, fontsize=9)
        ax.set_xlabel("training step")
        ax.legend(fontsize=6.5)
    fig.suptitle(title, fontsize=10)
    fig.text(0.01, 0.01, MONITOR_CAPTION.format(every=every), fontsize=7.5, va="bottom")
    fig.tight_layout(rect=(0, 0.12, 1, 1))
    fig.savefig(path, dpi=72)
    plt.close(fig)
    return path


def accuracy_bars(records: Sequence[Record], path: Path) -> Path:
    """Mean target accuracy (± std over seeds and backends) per experiment and method."""
    plt = _pyplot()
    experiments = list(dict.fromkeys(r.experiment for r in records))
    methods = [m for m in _LABELS if any(r.method == m for r in records)]
    width = 0.8 / len(methods)
    fig, ax = plt.subplots(figsize=(1.6 + 1.7 * len(experiments), 3.0))
    for k, method in enumerate(methods):
        accs = [
            [r.target_accuracy for r in records if r.experiment == e and r.method == method]
            for e in experiments
        ]
        ax.bar(
            np.arange(len(experiments)) + (k - (len(methods) - 1) / 2) * width,
            [np.mean(a) if a else 0.0 for a in accs],
            width,
            yerr=[np.std(a) if a else 0.0 for a in accs],
            capsize=3,
            label=_LABELS[method],
        )
    ax.set_xticks(np.arange(len(experiments)), [TITLES.get(e, e) for e in experiments], fontsize=8)
    ax.set_ylim(0, 1)
    ax.set_ylabel("target test accuracy")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=72)
    plt.close(fig)
    return path


def for_experiment(
    experiment: str,
    data: DomainData,
    trainers: dict[str, Any],
    plan: Plan,
    title: str,
    plot_dir: Path,
) -> list[Path]:
    """The figures of one experiment from its first backend's and seed's trainers."""
    if experiment == "moons":
        models = {m: t.predict for m, t in trainers.items()}
        return [moons_boundaries(data, models, f"moons, {title}", plot_dir / "moons.png")]
    name = TITLES.get(experiment, experiment)
    paths = [
        samples(
            data, f"{name}: source (top), target (bottom)", plot_dir / f"{experiment}_samples.png"
        )
    ]
    if experiment == "mnist_m":
        adapted = {m: trainers[m].features for m in ("source_only", "dann")}
        paths.append(
            tsne(
                data,
                adapted,
                f"{name}, shared features, {title}",
                plot_dir / f"{experiment}_tsne.png",
            )
        )
    logs = {
        m: trainers[m].log
        for m in ("source_only", "dann")
        if m in trainers and getattr(trainers[m], "log", None) is not None
    }
    if logs:
        paths.append(
            monitor(logs, f"{name}, grl's monitor, {title}", plot_dir / f"{experiment}_monitor.png")
        )
    if "dann" in trainers:
        losses = trainers["dann"].loss_history()[:, 1]
        paths.append(
            training(
                losses, plan, f"{name}, DANN, {title}", plot_dir / f"{experiment}_training.png"
            )
        )
    return paths
