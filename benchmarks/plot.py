"""The figure of ``docs/performance.md``: forward+backward time over the floor, per size.

One panel per framework and mode (float32): each line is a method's forward+backward
time divided by the single-multiply floor at the same size; 1.0 is the physical limit.
Identity is left out: its backward hands ``g`` through and costs nothing eagerly.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks import records as rec
from benchmarks.records import BACKWARD, BOTH, FLOOR, GRL, IDENTITY, Record
from benchmarks.report import MODE_NAMES, NAMES


def plot(records: list[Record], path: Path, dtype: str = "float32") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    frameworks = [fw for fw in NAMES if rec.find(records, section="micro", framework=fw)]
    modes = ("eager", "compiled")
    if not frameworks:
        return
    everything = sorted(
        {r["method"] for r in rec.find(records, section="micro")} - {IDENTITY, FLOOR, GRL}
    )
    colours = dict(zip(everything, plt.get_cmap("tab10").colors, strict=False))
    colours[GRL] = "black"
    fig, axes = plt.subplots(
        len(modes), len(frameworks), figsize=(3.4 * len(frameworks), 5.8), squeeze=False
    )
    for col, fw in enumerate(frameworks):
        for row, mode in enumerate(modes):
            ax = axes[row][col]
            keys = {"section": "micro", "framework": fw, "mode": mode, "dtype": dtype}
            floors = {
                r["size"]: r["seconds"]
                for r in rec.find(records, method=FLOOR, kind=BACKWARD, **keys)
            }
            methods = sorted(
                {r["method"] for r in rec.find(records, kind=BOTH, **keys)} - {IDENTITY},
                key=lambda m: (m != GRL, m),
            )
            for method in methods:
                points = sorted(
                    (r["size"], r["seconds"] / floors[r["size"]])
                    for r in rec.find(records, method=method, kind=BOTH, **keys)
                    if r["size"] in floors
                )
                if not points:
                    continue
                xs, ys = zip(*points, strict=True)
                ax.plot(
                    xs,
                    ys,
                    marker="o",
                    markersize=3,
                    color=colours[method],
                    linewidth=2.5 if method == GRL else 1,
                    label=method.split(" (")[0],
                )
            ax.axhline(1.0, color="grey", linestyle="--", linewidth=0.8)
            ax.set_xscale("log")
            ax.set_yscale("log")
            ax.set_ylim(bottom=0.5)
            ax.set_title(f"{NAMES[fw]}, {MODE_NAMES[fw][mode]}", fontsize=8)
            ax.tick_params(labelsize=7)
            if row == len(modes) - 1:
                ax.set_xlabel("elements", fontsize=7)
            if col == 0:
                ax.set_ylabel("fwd+bwd / floor", fontsize=7)
    legend: dict[str, object] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    fig.legend(list(legend.values()), list(legend), loc="lower center", ncol=4, fontsize=7)
    fig.suptitle(
        f"Forward+backward time ÷ one-multiply floor ({dtype}; lower is better, 1 = floor)",
        fontsize=9,
    )
    fig.tight_layout(rect=(0, 0.08, 1, 1))
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
