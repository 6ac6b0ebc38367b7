"""The findings as a report: for a terminal, as JSON, or as Markdown a CI job posts."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from atlas.refresh.findings import Finding, Kind
from atlas.refresh.run import Outcome, RunResult

FORMATS = ("text", "json", "markdown")


@dataclass
class Summary:
    """What the run did, for the report's last line and the JSON's ``summary``."""

    day: str
    entries: int
    metadata: str
    written: bool = False
    run: RunResult | None = None  # None with --no-fetch
    notes: list[str] = field(default_factory=list)

    def to_json(self, findings: list[Finding]) -> dict[str, Any]:
        counts = Counter(f.kind.value for f in findings)
        data: dict[str, Any] = {"day": self.day, "entries": self.entries,
                                "metadata": self.metadata, "written": self.written,
                                "findings": len(findings),
                                "by_kind": {kind.value: counts[kind.value] for kind in Kind}}
        if self.run:
            stats = self.run.stats
            data.update({outcome.value: self.run.count(outcome) for outcome in Outcome})
            data.update(requests=stats.requests, not_modified=stats.not_modified,
                        rate_limited_requests=stats.counted, retries=stats.retries,
                        stopped=[stop.describe() for stop in self.run.stopped],
                        waited_s={s.value: round(w, 1) for s, w in self.run.waited.items()},
                        elapsed_s=round(self.run.elapsed, 2))
        return data

    def line(self, findings: list[Finding]) -> str:
        parts = [f"{self.entries} entries"]
        if self.run:
            run, stats = self.run, self.run.stats
            outcomes = ", ".join(f"{run.count(o)} {o.value.replace('-', ' ')}" for o in Outcome
                                 if run.count(o))
            parts[0] += f" ({outcomes})" if outcomes else ""
            parts.append(f"{stats.requests} requests ({stats.not_modified} not modified, "
                         f"{stats.counted} counted against a rate limit)")
        parts.append(f"{len(findings)} finding(s)" if findings else "nothing needs attention")
        parts.append(f"{self.metadata} {'written' if self.written else 'unchanged'}")
        return "atlas refresh: " + "; ".join(parts)


def _grouped(findings: list[Finding]) -> dict[Kind, list[Finding]]:
    groups: dict[Kind, list[Finding]] = {}
    for finding in findings:
        groups.setdefault(finding.kind, []).append(finding)
    return groups


def render_text(findings: list[Finding], summary: Summary) -> str:
    lines: list[str] = []
    for kind, items in _grouped(findings).items():
        lines.append(f"{kind.heading}: {len(items)}")
        for finding in items:
            lines.append(f"  {finding.file}:{finding.line}: {finding.entry_id}: "
                         f"{finding.message}")
        lines.append("")
    if summary.run:
        lines += [f"stopped: {stop.describe()}; run again then" for stop in summary.run.stopped]
    lines.append(summary.line(findings))
    return "\n".join(lines) + "\n"


def render_json(findings: list[Finding], summary: Summary) -> str:
    data = {"summary": summary.to_json(findings),
            "findings": [finding.to_json() for finding in findings]}
    if summary.run:
        data["entries"] = [{"id": r.entry_id, "outcome": r.outcome.value,
                            **({"problems": r.problems} if r.problems else {})}
                           for r in summary.run.results]
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(findings: list[Finding], summary: Summary) -> str:
    lines = ["# Catalog health", "",
             f"`atlas refresh` on {summary.day}: {summary.entries} entries; "
             + (f"**{len(findings)} finding(s)**." if findings else "nothing needs attention."),
             ""]
    if summary.run:
        stats = summary.run.stats
        lines += [f"{stats.requests} requests, {stats.not_modified} answered *not modified*, "
                  f"{stats.counted} counted against a rate limit.", ""]
        lines += [f"- Stopped early: {_cell(stop.describe())}" for stop in summary.run.stopped]
        if summary.run.stopped:
            lines.append("")
    groups = _grouped(findings)
    if groups:
        lines += ["| Finding | Entries |", "| --- | ---: |"]
        lines += [f"| {kind.heading} | {len(items)} |" for kind, items in groups.items()]
    for kind, items in groups.items():
        lines += ["", f"## {kind.heading}", "", "| Entry | Finding | File |",
                  "| --- | --- | --- |"]
        lines += [f"| `{f.entry_id}` | {_cell(f.message)} | `{f.file}:{f.line}` |"
                  for f in items]
    return "\n".join(lines) + "\n"


def render(kind: str, findings: list[Finding], summary: Summary) -> str:
    if kind == "json":
        return render_json(findings, summary)
    if kind == "markdown":
        return render_markdown(findings, summary)
    return render_text(findings, summary)
