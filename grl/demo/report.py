"""What the demo prints: a legend, the table of accuracies and one verdict line per experiment."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from grl.demo.train import Record

TITLES = {
    "moons": "moons → rotated moons",
    "mnist_m": "MNIST → MNIST-M",
    "mnist_digits": "MNIST → UCI digits",
    "digits_mnist": "UCI digits → MNIST",
}
LEGEND = """\
source_only  trained on labelled source images only (no adaptation: the baseline)
dann         the same network and start, plus unlabelled target images through grl's gradient
             reversal layer into a domain classifier (domain-adversarial training)
target_only  trained on the labelled target images (the ceiling; not adaptation)
target acc   accuracy on held-out target images: what domain adaptation is for
"""


def _stat(values: list[float]) -> str:
    return f"{np.mean(values):.3f}" + (f" ± {np.std(values):.3f}" if len(values) > 1 else "")


def format_table(records: Sequence[Record]) -> str:
    """One row per experiment, backend and method: mean ± std over seeds, total seconds."""
    groups: dict[tuple[str, str, str], list[Record]] = {}
    for r in records:
        groups.setdefault((r.experiment, r.backend, r.method), []).append(r)
    header = ("experiment", "backend", "method", "seeds", "source acc", "target acc", "seconds")
    rows = [header]
    for (experiment, backend, method), rs in groups.items():
        rows.append(
            (
                experiment,
                backend,
                method,
                str(len(rs)),
                _stat([r.source_accuracy for r in rs]),
                _stat([r.target_accuracy for r in rs]),
                f"{sum(r.seconds for r in rs):.1f}",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
        for row in rows
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def verdicts(records: Sequence[Record]) -> list[str]:
    """Per experiment: DANN's mean gain over source only, paired by backend and seed."""
    lines = []
    for experiment in dict.fromkeys(r.experiment for r in records):
        acc = {
            (r.backend, r.seed, r.method): r.target_accuracy
            for r in records
            if r.experiment == experiment
        }
        pairs = sorted({(b, s) for b, s, m in acc if m == "dann" and (b, s, "source_only") in acc})
        if not pairs:
            continue
        gains = [acc[(*p, "dann")] - acc[(*p, "source_only")] for p in pairs]
        backends = sorted({b for b, _ in pairs})
        seeds = len({s for _, s in pairs})
        better = sum(g > 0 for g in gains)
        line = (
            f"{TITLES.get(experiment, experiment)}: DANN {np.mean(gains):+.3f} over source only "
            f"(target accuracy {np.mean([acc[(*p, 'source_only')] for p in pairs]):.3f} → "
            f"{np.mean([acc[(*p, 'dann')] for p in pairs]):.3f}"
        )
        ceiling = [acc[(*p, "target_only")] for p in pairs if (*p, "target_only") in acc]
        if ceiling:
            line += f"; train on target {np.mean(ceiling):.3f}"
        runs = f"{seeds} seed{'s' if seeds > 1 else ''} × {len(backends)} backend"
        runs += "s" if len(backends) > 1 else f" ({backends[0]})"
        lines.append(f"{line}), {runs}; better in {better} of {len(gains)} runs")
    return lines
