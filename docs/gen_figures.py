"""Draw docs/images/schedules.svg: the λ schedules of grl.core.schedules, one panel each.

Plain SVG written from the schedules' own values (no plotting library, byte-for-byte
reproducible), so the figure cannot drift from the code: ``tests/docs`` regenerates it and
compares. Run ``python docs/gen_figures.py`` after changing a schedule, and
``python docs/gen_figures.py --demo grl-demo-figures`` after a default demo run.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grl.core import schedules  # noqa: E402

OUTPUT = ROOT / "docs" / "images" / "schedules.svg"
TOTAL_STEPS = 200
PANEL_W, PANEL_H = 300, 170
MARGIN_L, MARGIN_T, GAP_X, GAP_Y = 48, 44, 70, 84
COLUMNS = 2
INK, GRID, ACCENT, MUTED = "#263238", "#cfd8dc", "#3949ab", "#90a4ae"


@dataclass(frozen=True)
class Curve:
    schedule: Callable[[int], float]
    label: str
    bold: bool = True
    dashed: bool = False


@dataclass(frozen=True)
class Panel:
    title: str
    formula: str
    curves: Sequence[Curve]


PANELS = (
    Panel("constant(value=1.0)", "λ = value", [Curve(schedules.constant(1.0), "")]),
    Panel(
        "linear(total_steps, lo=0, hi=1)",
        "λ = lo + (hi − lo)·p",
        [Curve(schedules.linear(TOTAL_STEPS, 0.0, 1.0), "")],
    ),
    Panel(
        "dann(total_steps, gamma=γ)",
        "λ = lo + (hi − lo)·tanh(γp/2)",
        [
            Curve(schedules.dann(TOTAL_STEPS, gamma=20.0), "γ = 20", bold=False),
            Curve(schedules.dann(TOTAL_STEPS, gamma=10.0), "γ = 10 (papers)"),
            Curve(schedules.dann(TOTAL_STEPS, gamma=5.0), "γ = 5", bold=False),
        ],
    ),
    Panel(
        "dann(total_steps, gamma=3, normalize=…)",
        "λ = lo + (hi − lo)·tanh(γp/2) / tanh(γ/2)",
        [
            Curve(schedules.dann(TOTAL_STEPS, gamma=3.0, normalize=True), "normalize=True"),
            Curve(
                schedules.dann(TOTAL_STEPS, gamma=3.0), "normalize=False", bold=False, dashed=True
            ),
        ],
    ),
)


def _fmt(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _text(x: float, y: float, content: str, size: int = 12, **attributes: str) -> str:
    extra = "".join(f' {key.replace("_", "-")}="{value}"' for key, value in attributes.items())
    return f'<text x="{_fmt(x)}" y="{_fmt(y)}" font-size="{size}"{extra}>{content}</text>'


def draw_panel(panel: Panel, left: float, top: float) -> list[str]:
    """One panel: axes, grid at 0, ½, 1 in both directions, the curves and their labels."""

    def px(p: float) -> float:
        return left + p * PANEL_W

    def py(value: float) -> float:
        return top + PANEL_H - value * PANEL_H / 1.1

    parts = [
        _text(left, top - 24, panel.title, 13, font_weight="bold", font_family="monospace"),
        _text(left, top - 8, panel.formula, 12, fill=INK),
    ]
    for tick in (0.0, 0.5, 1.0):
        parts.append(
            f'<line x1="{_fmt(px(0))}" y1="{_fmt(py(tick))}" x2="{_fmt(px(1))}" '
            f'y2="{_fmt(py(tick))}" stroke="{GRID}" stroke-width="1"/>'
        )
        parts.append(_text(px(0) - 8, py(tick) + 4, _fmt(tick), 11, text_anchor="end"))
        parts.append(_text(px(tick), py(0) + 16, _fmt(tick), 11, text_anchor="middle", fill=INK))
    parts.append(
        f'<path d="M{_fmt(px(0))},{_fmt(py(1.1))} V{_fmt(py(0))} H{_fmt(px(1))}" '
        f'fill="none" stroke="{INK}" stroke-width="1.2"/>'
    )
    parts.append(
        _text(
            px(0.5),
            py(0) + 32,
            "progress p = step / total_steps",
            11,
            text_anchor="middle",
            fill=INK,
        )
    )
    labelled = [curve for curve in panel.curves if curve.label]
    for curve in panel.curves:
        points = " ".join(
            f"{_fmt(px(step / TOTAL_STEPS))},{_fmt(py(curve.schedule(step)))}"
            for step in range(TOTAL_STEPS + 1)
        )
        colour, width = (ACCENT, "2.4") if curve.bold else (MUTED, "1.6")
        dash = ' stroke-dasharray="6 4"' if curve.dashed else ""
        parts.append(
            f'<polyline points="{points}" fill="none" stroke="{colour}" '
            f'stroke-width="{width}"{dash}/>'
        )
        if curve.label:
            row = labelled.index(curve)
            parts.append(
                _text(
                    px(0.98),
                    py(0.12 + 0.14 * (len(labelled) - 1 - row)),
                    curve.label,
                    11,
                    text_anchor="end",
                    fill=colour,
                )
            )
    return parts


def render() -> str:
    """The whole figure as SVG text."""
    rows = -(-len(PANELS) // COLUMNS)
    width = MARGIN_L + COLUMNS * PANEL_W + (COLUMNS - 1) * GAP_X + 24
    height = MARGIN_T + rows * PANEL_H + (rows - 1) * GAP_Y + 48
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif" '
        f'fill="{INK}">',
        "<title>λ schedules of grl.core.schedules</title>",
        f'<rect width="{width}" height="{height}" fill="#ffffff"/>',
    ]
    for number, panel in enumerate(PANELS):
        row, column = divmod(number, COLUMNS)
        left = MARGIN_L + column * (PANEL_W + GAP_X)
        top = MARGIN_T + row * (PANEL_H + GAP_Y)
        parts += draw_panel(panel, left, top)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


# The demo's figures come from the demo itself (``python -m grl.demo`` writes them to
# ./grl-demo-figures): ``python docs/gen_figures.py --demo grl-demo-figures`` copies the
# ones the docs show, renamed with a ``demo_`` prefix.
DEMO_FIGURES = ("moons.png", "mnist_m_samples.png", "mnist_m_tsne.png", "mnist_m_training.png")


def copy_demo_figures(folder: Path) -> None:
    for name in DEMO_FIGURES:
        target = OUTPUT.parent / f"demo_{name}"
        target.write_bytes((folder / name).read_bytes())
        print(f"wrote {target}")


def main() -> None:
    if sys.argv[1:2] == ["--demo"]:
        copy_demo_figures(Path(sys.argv[2]))
        return
    OUTPUT.write_text(render(), encoding="utf-8")
    print(f"wrote {OUTPUT}")


if __name__ == "__main__":
    main()
