"""Results of a conformance run: one per (check, case), a capability table and JSON."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PASSED, FAILED, NOT_APPLICABLE = "passed", "failed", "not applicable"
SYMBOLS = {PASSED: "✅", FAILED: "❌", NOT_APPLICABLE: "➖"}


@dataclass(frozen=True)
class Result:
    check: str
    capability: str
    case: str
    status: str
    reason: str = ""
    #: "conformant", "clear error" or "not observable" (how a passing case passed).
    kind: str = "conformant"


@dataclass
class Report:
    framework: str
    implementation: str
    results: list[Result] = field(default_factory=list)

    @property
    def failures(self) -> list[Result]:
        return [r for r in self.results if r.status == FAILED]

    @property
    def ok(self) -> bool:
        """True when every applicable check passed (and at least one did)."""
        return not self.failures and any(r.status == PASSED for r in self.results)

    def assert_ok(self) -> None:
        """Raise AssertionError listing every failed check (one line each)."""
        if not self.ok:
            lines = [f"{r.check}[{r.case}]: {r.reason}" for r in self.failures] or ["no check ran"]
            raise AssertionError(
                f"{self.implementation} departs from the GRL specification in "
                f"{len(self.failures)} case(s):\n  " + "\n  ".join(lines)
            )

    def capabilities(self) -> dict[str, dict[str, Any]]:
        """Per capability row: counts by status and the first failure's reason."""
        rows: dict[str, dict[str, Any]] = {}
        for r in self.results:
            row = rows.setdefault(
                r.capability,
                {
                    PASSED: 0,
                    FAILED: 0,
                    NOT_APPLICABLE: 0,
                    "reason": "",
                    "not_applicable_reason": "",
                    "kinds": [],
                },
            )
            row[r.status] += 1
            if r.status == FAILED and not row["reason"]:
                row["reason"] = f"{r.check}[{r.case}]: {r.reason}"
            if r.status == NOT_APPLICABLE and not row["not_applicable_reason"]:
                row["not_applicable_reason"] = r.reason
            if r.status == PASSED and r.kind not in row["kinds"]:
                row["kinds"].append(r.kind)
        return rows

    def cell(self, capability: str) -> str:
        """The table cell of one capability: ❌ failed/ran, ✅ passed, ➖ not applicable."""
        row = self.capabilities()[capability]
        ran = row[PASSED] + row[FAILED]
        if row[FAILED]:
            return f"❌ {row[FAILED]}/{ran} failed"
        if not ran:
            return "➖ n/a"
        if "clear error" in row["kinds"]:
            return f"⚠️ clear error ({row[PASSED]})"
        return f"✅ {row[PASSED]}"

    def table(self) -> str:
        """A Markdown table: one row per capability, with the first failure's reason."""
        lines = [
            f"| capability | {self.implementation} | first failure / why not applicable |",
            "|---|---|---|",
        ]
        for capability, row in self.capabilities().items():
            if not row[PASSED] and not row[FAILED]:
                row["reason"] = row["not_applicable_reason"]
            reason = row["reason"].replace("|", "\\|").replace("\n", " ")[:160]
            lines.append(f"| {capability} | {self.cell(capability)} | {reason} |")
        passed = sum(r.status == PASSED for r in self.results)
        summary = (
            f"{len(self.results)} cases: {passed} passed, {len(self.failures)} failed, "
            f"{len(self.results) - passed - len(self.failures)} not applicable"
        )
        return "\n".join([*lines, "", summary])

    def to_json(self) -> dict[str, Any]:
        from grl import __version__

        return {
            "framework": self.framework,
            "implementation": self.implementation,
            "grl_version": __version__,
            "ok": self.ok,
            "capabilities": {k: self.cell(k) for k in self.capabilities()},
            "results": [asdict(r) for r in self.results],
        }

    def write_json(self, path: str | Path) -> None:
        text = json.dumps(self.to_json(), indent=1, ensure_ascii=False)
        Path(path).write_text(text + "\n", encoding="utf-8")
