"""The figures of docs/diagnostics.md: what the monitor shows, from short real runs.

Two-moons DANN in PyTorch (JMLR §5.1: the target is the source rotated by 35°), full-batch
SGD, one Monitor per run. Run: ``nice -n 19 python -m tests.diagnostics.figures``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import torch
from sklearn.datasets import make_moons
from torch import nn
from torch.nn import functional as F

from grl.backends.torch.diagnostics import GRLWarning, Monitor
from grl.core import schedules
from grl.core.diagnostics import LN2
from grl.torch import GradientReversal, step_all

IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"
STEPS = 600


def moons() -> dict[str, torch.Tensor]:
    x, y = make_moons(300, noise=0.1, random_state=0)
    x = (x - x.mean(0)) / x.std(0)
    angle = np.deg2rad(35)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    xt, _ = make_moons(300, noise=0.1, random_state=1)
    xt = ((xt - xt.mean(0)) / xt.std(0)) @ rotation.T
    return {
        "source": torch.tensor(x, dtype=torch.float32),
        "labels": torch.tensor(y),
        "target": torch.tensor(xt, dtype=torch.float32),
    }


class Net(nn.Module):
    def __init__(self, lambda_: object, frozen_head: bool = False) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.features = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU())
        self.label_head = nn.Linear(32, 2)
        self.grl = GradientReversal(lambda_)
        self.domain_head = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1))
        if frozen_head:
            for parameter in self.domain_head.parameters():
                parameter.requires_grad_(False)
            nn.init.zeros_(self.domain_head[2].weight)
            nn.init.zeros_(self.domain_head[2].bias)


def run(lambda_: object, *, advance: bool = True, frozen_head: bool = False) -> dict:
    data, net = moons(), Net(lambda_, frozen_head)
    trained = [p for p in net.parameters() if p.requires_grad]
    optimizer = torch.optim.SGD(trained, lr=0.05, momentum=0.9)
    monitor = Monitor(net.grl)
    domains = torch.cat([torch.zeros(300), torch.ones(300)])
    history: dict[str, list[float]] = {}
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", GRLWarning)
        for _ in range(STEPS):
            optimizer.zero_grad()
            features = net.features(torch.cat([data["source"], data["target"]]))
            logits = net.domain_head(net.grl(features)).squeeze(1)
            label = F.cross_entropy(net.label_head(features[:300]), data["labels"])
            (label + F.binary_cross_entropy_with_logits(logits, domains)).backward()
            optimizer.step()
            if advance:
                step_all(net)
            monitor.domain(logits, domains)
            for key, value in monitor.collect().items():
                history.setdefault(key.removeprefix("grl/"), []).append(value)
        monitor.end_run()
    history["warnings"] = [str(w.message).split("]")[0][6:] for w in caught]
    return history


def save(figure: plt.Figure, name: str) -> None:
    figure.tight_layout()
    figure.savefig(IMAGES / f"diagnostics_{name}.png", dpi=110)
    plt.close(figure)


def main() -> None:
    runs = {
        "DANN (dann schedule, advanced)": run(schedules.dann(total_steps=STEPS, hi=1.0)),
        "source only (λ = 0)": run(0.0),
        "step_all forgotten": run(schedules.dann(total_steps=STEPS), advance=False),
        "schedule 10× too long": run(schedules.dann(total_steps=10 * STEPS)),
        "domain head not trained": run(schedules.dann(total_steps=STEPS), frozen_head=True),
    }
    for name, history in runs.items():
        print(f"{name}: warnings {history['warnings']}")
    steps = np.arange(1, STEPS + 1)

    figure, axes = plt.subplots(1, 3, figsize=(13, 3.6))
    for name in ("DANN (dann schedule, advanced)", "step_all forgotten", "schedule 10× too long"):
        axes[0].plot(steps, runs[name]["lambda"], label=name)
        axes[1].plot(steps, runs[name]["grad_out_norm"], label=name)
        axes[2].plot(steps, runs[name]["domain_to_task"], label=name)
    axes[0].set_title("grl/lambda")
    axes[1].set_title("grl/grad_out_norm (to the features)")
    axes[2].set_title("grl/domain_to_task")
    axes[2].set_yscale("log")
    for axis in axes:
        axis.set_xlabel("training step")
    axes[0].legend(fontsize=8)
    save(figure, "schedule")

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for name in (
        "DANN (dann schedule, advanced)",
        "source only (λ = 0)",
        "domain head not trained",
    ):
        axes[0].plot(steps, runs[name]["domain_loss"], label=name)
        axes[1].plot(steps, runs[name]["domain_accuracy"], label=name)
    axes[0].axhline(LN2, color="gray", linestyle="--", label="ln 2 (chance)")
    axes[1].axhline(0.5, color="gray", linestyle="--", label="0.5 (chance)")
    axes[0].set_title("grl/domain_loss")
    axes[1].set_title("grl/domain_accuracy")
    for axis in axes:
        axis.set_xlabel("training step")
    axes[0].legend(fontsize=8)
    save(figure, "domain_loss")

    dann = runs["DANN (dann schedule, advanced)"]
    figure, axis = plt.subplots(figsize=(5.5, 3.6))
    axis.plot(steps, dann["grad_ratio"], label="grl/grad_ratio")
    axis.plot(steps, dann["lambda"], "--", label="grl/lambda")
    axis.plot(steps, dann["grad_cosine"], label="grl/grad_cosine")
    axis.set_xlabel("training step")
    axis.set_title("a working GRL: ratio = λ, cosine = −1")
    axis.legend(fontsize=8)
    save(figure, "reversal")


if __name__ == "__main__":
    main()
