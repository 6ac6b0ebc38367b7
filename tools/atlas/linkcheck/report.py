"""Reports of `atlas linkcheck`: terminal text, JSON and Markdown, and the progress bar.

Each report groups results by verdict, worst first, and says where every URL was written
(file and line), because the person reading it has to go and edit that line. It reads the
result model only.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any, TextIO

from atlas.linkcheck.model import Result, Verdict

HEADINGS = {
    Verdict.BROKEN: "Broken",
    Verdict.BLOCKED: "Blocked (a bot wall answered; not known to be dead)",
    Verdict.RATE_LIMITED: "Rate limited (still 429 after waiting)",
    Verdict.MOVED: "Moved (a permanent redirect; `atlas linkcheck --fix` rewrites the entry)",
    Verdict.REDIRECTED: "Redirected (alive; temporary, or only https, a slash or www added)",
    Verdict.UNSUPPORTED: "Not checked (unsupported scheme)",
    Verdict.EXCLUDED: "Excluded",
    Verdict.OK: "OK",
}
# Verdicts the Markdown report lists link by link (it only counts the others).
LISTED_IN_MARKDOWN = (Verdict.BROKEN, Verdict.BLOCKED, Verdict.RATE_LIMITED, Verdict.MOVED,
                      Verdict.REDIRECTED)


def describe(result: Result, fail_after: int) -> str:
    """The one-line reason shown after the URL."""
    hops = ", ".join(str(hop.status) for hop in result.redirects)
    if result.verdict is Verdict.MOVED:
        text = f"-> {result.moved_to} ({hops})"
        if result.final_url and (result.moved_to or "").split("#")[0] != result.final_url:
            text += f"; then a temporary redirect to {result.final_url}"
    elif result.verdict is Verdict.REDIRECTED:
        text = f"-> {result.final_url} ({hops})"
    else:
        text = result.error or (str(result.status) if result.status else "")
    if result.verdict is Verdict.BROKEN and not result.failing:
        if result.failed_runs and result.failed_runs < fail_after:
            text += f" [failed {result.failed_runs} of {fail_after} runs; not reported yet]"
        elif result.timed_out:
            text += " [timeout accepted]"
    if result.cached:
        text += " [cached]"
    return text


def summary_line(results: list[Result], stats: dict[str, Any]) -> str:
    counts = Counter(result.verdict for result in results)
    parts = ", ".join(f"{counts[v]} {v}" for v in Verdict if counts[v])
    failing = sum(result.failing for result in results)
    verdict = f"{failing} failing" if failing else "nothing broken"
    return (f"atlas linkcheck: {len(results)} links: {parts or 'none'}; {verdict} "
            f"({stats['requests']} requests for {stats['unique_urls']} URLs, "
            f"{stats['elapsed']:.1f} s)")


def render_text(results: list[Result], stats: dict[str, Any], verbose: bool) -> str:
    lines: list[str] = []
    grouped = group(results)
    for verdict in Verdict:
        items = grouped.get(verdict, [])
        if not items or (verdict is Verdict.OK and not verbose):
            continue
        lines.append(f"{HEADINGS[verdict]}: {len(items)}")
        for result in items:
            lines.append(f"  {result.url}  {describe(result, stats['fail_after'])}".rstrip())
            lines += [f"      {source}" for source in result.sources[:10]]
            if len(result.sources) > 10:
                lines.append(f"      ... and {len(result.sources) - 10} more places")
        lines.append("")
    lines.append(summary_line(results, stats))
    return "\n".join(lines) + "\n"


def render_json(results: list[Result], stats: dict[str, Any]) -> str:
    counts = Counter(result.verdict for result in results)
    data = {
        "summary": {**{v.value: counts[v] for v in Verdict}, "total": len(results),
                    "failing": sum(r.failing for r in results), **stats},
        "results": [result.to_json() for result in sort(results)],
    }
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def _cell(text: object) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def render_markdown(results: list[Result], stats: dict[str, Any]) -> str:
    counts = Counter(result.verdict for result in results)
    failing = sum(result.failing for result in results)
    lines = ["# Link check report", "",
             f"{len(results)} links checked in {stats['elapsed']:.0f} s; "
             + (f"**{failing} failing**." if failing else "nothing broken."), "",
             "| Verdict | Links |", "| --- | ---: |"]
    lines += [f"| {v} | {counts[v]} |" for v in Verdict if counts[v]]
    grouped = group(results)
    for verdict in LISTED_IN_MARKDOWN:
        items = grouped.get(verdict, [])
        if not items:
            continue
        lines += ["", f"## {HEADINGS[verdict]}", "", "| URL | Problem | Where |",
                  "| --- | --- | --- |"]
        for result in items:
            where = "<br>".join(_cell(s) for s in result.sources[:5])
            lines.append(f"| {_cell(result.url)} | {_cell(describe(result, stats['fail_after']))}"
                         f" | {where} |")
    return "\n".join(lines) + "\n"


def group(results: list[Result]) -> dict[Verdict, list[Result]]:
    grouped: dict[Verdict, list[Result]] = {}
    for result in sort(results):
        grouped.setdefault(result.verdict, []).append(result)
    return grouped


def sort(results: list[Result]) -> list[Result]:
    """Worst verdict first, then failing before tolerated, then by where it was written."""
    def key(result: Result) -> tuple[Any, ...]:
        first = result.sources[0] if result.sources else None
        return (result.verdict.rank, not result.failing,
                first.file if first else "", first.line if first else 0, result.url)
    return sorted(results, key=key)


def render(kind: str, results: list[Result], stats: dict[str, Any], verbose: bool = False
           ) -> str:
    if kind == "json":
        return render_json(results, stats)
    if kind == "markdown":
        return render_markdown(results, stats)
    return render_text(results, stats, verbose)


class Progress:
    """A one-line progress bar on a terminal, redrawn at most ten times a second."""

    def __init__(self, stream: TextIO, width: int = 30, unit: str = "URLs") -> None:
        self.stream, self.width, self.unit = stream, width, unit
        self.drawn = 0.0
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.drawn < 0.1 and done < total:
            return
        self.drawn = now
        filled = int(self.width * done / max(total, 1))
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {done}/{total} {self.unit}  {now - self.started:5.1f} s")
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\r" + " " * (self.width + 40) + "\r")
        self.stream.flush()
