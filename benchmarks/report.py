"""Ratio tables (Markdown) and the goal checks, from the records of one run."""

from __future__ import annotations

from benchmarks import records as rec
from benchmarks.peers.names import COPY_NEG_MUL, REVGRAD
from benchmarks.records import BACKWARD, BOTH, FLOOR, FORWARD, GRL, GRL_FIXED, IDENTITY, Record
from grl._frameworks import BACKENDS, BY_NAME

NAMES = {f.name: f.title for f in BACKENDS}
MODE_NAMES = {f.name: {"eager": f.eager, "compiled": f.compiled} for f in BACKENDS}
#: Goal: ``import grl.<name>`` costs at most this much more than importing its framework.
IMPORT_GOAL = 1.10


def duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds * 1e9:.3g} ns"


def ratio(a: float | None, b: float | None) -> str:
    return "–" if a is None or b is None or b == 0 else f"{a / b:.2f}×"


def _seconds(records: list[Record], **keys: object) -> float | None:
    found = rec.one(records, **keys)
    return None if found is None else found["seconds"]


def _methods(records: list[Record], **keys: object) -> list[str]:
    seen: list[str] = []
    for r in rec.find(records, section="micro", **keys):
        if r["method"] not in seen and r["method"] != FLOOR:
            seen.append(r["method"])
    return seen


def micro_table(records: list[Record], framework: str, mode: str, dtype: str, size: int) -> str:
    """One table: every method's three times and its ratios to the floor and to identity."""
    keys = {"framework": framework, "mode": mode, "dtype": dtype, "size": size}
    floor = _seconds(records, section="micro", method=FLOOR, kind=BACKWARD, **keys)
    identity_fwd = _seconds(records, section="micro", method=IDENTITY, kind=FORWARD, **keys)
    lines = [
        f"**{NAMES[framework]}, {MODE_NAMES[framework][mode]}, {dtype}, {size:,} elements** "
        f"(floor `g * c`: {duration(floor)})",
        "",
        "| method | forward | fwd − identity | backward | bwd / floor | fwd+bwd "
        "| fwd+bwd / floor |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for method in _methods(records, **keys):
        times = {
            kind: _seconds(records, section="micro", method=method, kind=kind, **keys)
            for kind in (FORWARD, BACKWARD, BOTH)
        }
        extra = (
            "–"
            if times[FORWARD] is None or identity_fwd is None
            else f"{(times[FORWARD] - identity_fwd) * 1e6:+.0f} µs"
        )
        name = f"**{method}**" if method == GRL else method
        lines.append(
            f"| {name} | {duration(times[FORWARD])} | {extra} | {duration(times[BACKWARD])} | "
            f"{ratio(times[BACKWARD], floor)} | {duration(times[BOTH])} | "
            f"{ratio(times[BOTH], floor)} |"
        )
    return "\n".join(lines)


def speedup_table(records: list[Record], framework: str, size: int) -> str:
    """How much faster grl is than each peer (peer time / grl time), eager and compiled."""
    lines = [
        f"**{NAMES[framework]}: peer time / grl time, {size:,} elements** (> 1: grl is faster)",
        "",
        "| peer | mode | dtype | backward | fwd+bwd |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rec.find(records, section="micro", framework=framework, size=size, kind=BACKWARD):
        method = r["method"]
        if method in (GRL, IDENTITY, FLOOR):
            continue
        keys = {
            "framework": framework,
            "size": size,
            "mode": r["mode"],
            "dtype": r["dtype"],
            "section": "micro",
        }
        cells = [
            ratio(
                _seconds(records, method=method, kind=kind, **keys),
                _seconds(records, method=GRL, kind=kind, **keys),
            )
            for kind in (BACKWARD, BOTH)
        ]
        lines.append(f"| {method} | {r['mode']} | {r['dtype']} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def _paired(r: Record | None) -> str:
    if r is None or r.get("ratio") is None:
        return "–"
    return f"{r['ratio']:.3f}× ({r['ratio_q1']:.2f}–{r['ratio_q3']:.2f})"


def macro_table(records: list[Record]) -> str:
    """Per model and mode: step times and each variant's paired ratio to identity.

    The ratio is the median over rounds of (variant time / identity time) within a round,
    with its interquartile range: the spread says how much this machine's noise allows
    one to resolve.
    """
    lines = [
        "| framework | model | mode | identity | grl | grl / identity | grl, fixed λ "
        "| fixed / identity | other |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    seen = set()
    for r in rec.find(records, section="macro"):
        key = (r["framework"], r["model"], r["mode"])
        if key in seen:
            continue
        seen.add(key)
        keys = dict(zip(("framework", "model", "mode"), key, strict=True))
        grl = rec.one(records, section="macro", method=GRL, **keys)
        fixed = rec.one(records, section="macro", method=GRL_FIXED, **keys)
        identity = _seconds(records, section="macro", method=IDENTITY, **keys)
        others = [
            f"{o['method']}: {duration(o['seconds'])}, {_paired(o)}"
            for o in rec.find(records, section="macro", **keys)
            if o["method"] not in (GRL, GRL_FIXED, IDENTITY)
        ]
        lines.append(
            f"| {NAMES[key[0]]} | {key[1]} | {MODE_NAMES[key[0]][key[2]]} | "
            f"{duration(identity)} | {duration(grl and grl['seconds'])} | {_paired(grl)} | "
            f"{duration(fixed and fixed['seconds'])} | {_paired(fixed)} | "
            f"{'; '.join(others) or '–'} |"
        )
    return "\n".join(lines)


def compiles_table(records: list[Record]) -> str:
    lines = [
        "| framework | method | how λ changes | steps | compiles / traces | graph breaks | notes |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rec.find(records, section="compiles"):
        notes = []
        if r.get("limit_hit"):
            notes.append("hit Dynamo's recompile limit: the rest ran eagerly, silently")
        if r.get("stale"):
            notes.append("stale λ: compiled gradient ≠ eager gradient")
        breaks = "–" if r.get("graph_breaks") is None else str(r["graph_breaks"])
        lines.append(
            f"| {NAMES[r['framework']]} | {r['method']} | {r['usage']} | {r['steps']} | "
            f"{r['compiles']} | {breaks} | {'; '.join(notes) or '–'} |"
        )
    return "\n".join(lines)


def memory_table(records: list[Record]) -> str:
    lines = [
        "| framework | what | method | bytes | zero-copy |",
        "| --- | --- | --- | --- | --- |",
    ]
    for r in rec.find(records, section="memory"):
        copy = {True: "yes", False: "no", None: "–"}[r.get("zero_copy")]
        size = "n/a" if r["bytes"] is None else f"{r['bytes']:,}"
        lines.append(f"| {NAMES[r['framework']]} | {r['what']} | {r['method']} | {size} | {copy} |")
    return "\n".join(lines)


def imports_table(records: list[Record]) -> str:
    """Median import time of each framework and of its grl entry point, and their ratio."""
    lines = [
        "| framework | import the framework | import grl.<name> | grl / framework | processes |",
        "| --- | --- | --- | --- | --- |",
    ]
    for fw in NAMES:
        base = rec.one(
            records, section="imports", framework=fw, method=f"import {BY_NAME[fw].module}"
        )
        grl = rec.one(records, section="imports", framework=fw, method=f"import grl.{fw}")
        if base is None or grl is None:
            continue
        lines.append(
            f"| {NAMES[fw]} | {duration(base['seconds'])} | {duration(grl['seconds'])} | "
            f"{_paired(grl)} | {grl['samples']} + {base['samples']} |"
        )
    return "\n".join(lines)


def peers_table(records: list[Record]) -> str:
    lines = ["| framework | package | version | status |", "| --- | --- | --- | --- |"]
    for r in rec.find(records, section="peers"):
        status = "installed, benchmarked" if r["error"] is None else f"missing: {r['error']}"
        if r["error"] is not None and r["version"] is not None:  # it imports; its call fails
            status = f"installed, not benchmarked: {r['error']}"
        lines.append(
            f"| {NAMES[r['framework']]} | {r['name']} | {r['version'] or '–'} | {status} |"
        )
    return "\n".join(lines)


def goals(records: list[Record], sizes: tuple[int, ...]) -> list[tuple[str, str, bool | None]]:
    """(goal, measured, met) for each goal of the issue; ``met`` None when not measured."""
    largest = max(sizes)
    results: list[tuple[str, str, bool | None]] = []
    for fw in NAMES:
        keys = {"section": "micro", "framework": fw, "mode": "eager", "dtype": "float32"}
        bwd = _seconds(records, method=GRL, kind=BACKWARD, size=largest, **keys)
        floor = _seconds(records, method=FLOOR, kind=BACKWARD, size=largest, **keys)
        if bwd is not None and floor is not None:
            results.append(
                (
                    f"{NAMES[fw]}: eager float32 backward ≤ 1.1× floor at {largest:,}",
                    f"{bwd / floor:.2f}×",
                    bwd / floor <= 1.1,
                )
            )
        for r in rec.find(records, section="memory", framework=fw, method=GRL):
            if not r["what"].startswith("forward") or r["bytes"] is None:
                continue
            base = rec.one(records, section="memory", framework=fw, what=r["what"], method=IDENTITY)
            allowed = 0 if base is None else base["bytes"]
            results.append(
                (
                    f"{NAMES[fw]}: {r['what']}: allocates no more than identity ({allowed} B)",
                    f"{r['bytes']:,} B, zero-copy: {r.get('zero_copy')}",
                    r["bytes"] <= allowed,
                )
            )
        for r in rec.find(records, section="compiles", framework=fw, method=GRL):
            results.append(
                (
                    f"{NAMES[fw]}: one compile/trace over {r['steps']} schedule steps",
                    str(r["compiles"]),
                    r["compiles"] == 1,
                )
            )
        for r in rec.find(records, section="imports", framework=fw):
            if r.get("ratio") is not None:
                results.append(
                    (
                        f"{NAMES[fw]}: {r['method']} ≤ {IMPORT_GOAL:.2f}× "
                        f"import {BY_NAME[fw].module} (fresh processes)",
                        _paired(r),
                        r["ratio"] <= IMPORT_GOAL,
                    )
                )
        for variant in (GRL, GRL_FIXED):
            for r in rec.find(
                records, section="macro", framework=fw, mode="compiled", method=variant
            ):
                results.append(
                    (
                        f"{NAMES[fw]}: compiled DANN step ({r['model']}, {variant}) "
                        "≤ 1.02× identity",
                        _paired(r),
                        r["ratio"] <= 1.02,
                    )
                )
    keys = {"section": "micro", "framework": "torch", "mode": "eager", "dtype": "float32"}
    grl_bwd = _seconds(records, method=GRL, kind=BACKWARD, size=largest, **keys)
    grl_both = _seconds(records, method=GRL, kind=BOTH, size=largest, **keys)
    for peer, kind, target, mine in (
        (REVGRAD, BACKWARD, 1.8, grl_bwd),
        (COPY_NEG_MUL, BOTH, 3.0, grl_both),
    ):
        theirs = _seconds(records, method=peer, kind=kind, size=largest, **keys)
        if theirs is not None and mine is not None:
            results.append(
                (
                    f"PyTorch: {kind} ≥ {target}× faster than {peer} (eager float32)",
                    f"{theirs / mine:.2f}×",
                    theirs / mine >= target,
                )
            )
    return results


def goals_table(records: list[Record], sizes: tuple[int, ...]) -> str:
    lines = ["| goal | measured | met |", "| --- | --- | --- |"]
    for goal, measured, met in goals(records, sizes):
        mark = {True: "yes", False: "**no**", None: "–"}[met]
        lines.append(f"| {goal} | {measured} | {mark} |")
    return "\n".join(lines)


def markdown(records: list[Record], sizes: tuple[int, ...], frameworks: list[str]) -> str:
    """Every table of one run, in the order ``docs/performance.md`` shows them."""
    largest, smallest = max(sizes), min(sizes)
    parts = ["### Goals", goals_table(records, sizes), "### Micro: time per call"]
    modes = sorted({r["mode"] for r in rec.find(records, section="micro")}, reverse=True)
    dtypes = sorted({r["dtype"] for r in rec.find(records, section="micro")}, reverse=True)
    for fw in frameworks:
        for mode in modes:
            for dtype in dtypes:
                for size in (largest, smallest):
                    if rec.find(records, section="micro", framework=fw, mode=mode, size=size):
                        parts.append(micro_table(records, fw, mode, dtype, size))
        parts.append(speedup_table(records, fw, largest))
    parts += [
        "### Macro: one DANN training step",
        macro_table(records),
        "### Memory",
        memory_table(records),
        "### Import cost (fresh processes)",
        imports_table(records),
        "### Recompiles over a λ schedule",
        compiles_table(records),
        "### Installed peers",
        peers_table(records),
    ]
    return "\n\n".join(parts) + "\n"
