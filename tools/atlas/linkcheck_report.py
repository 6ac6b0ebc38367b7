"""Reports of `atlas linkcheck`: terminal text, JSON and Markdown, and the progress bar.

Each report groups results by verdict, worst first, and says where every URL was written
(file and line), because the person reading it has to go and edit that line.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from typing import Any, TextIO

from atlas.linkcheck import VERDICTS, Result

# Worst first; ok last and, in text, only counted.
ORDER = ("broken", "blocked", "rate_limited", "redirected", "unsupported", "excluded", "ok")
HEADINGS = {
    "broken": "Broken",
    "blocked": "Blocked (a bot wall answered; not known to be dead)",
    "rate_limited": "Rate limited (still 429 after waiting)",
    "redirected": "Redirected (alive; update the entry to the final URL)",
    "unsupported": "Not checked (unsupported scheme)",
    "excluded": "Excluded",
    "ok": "OK",
}


def describe(result: Result, fail_after: int) -> str:
    """The one-line reason shown after the URL."""
    if result.verdict == "redirected":
        hops = ", ".join(str(hop["status"]) for hop in result.redirects)
        return f"-> {result.final_url} ({hops})"
    text = result.error or (str(result.status) if result.status else "")
    if result.verdict == "broken" and not result.failing:
        if result.failed_runs and result.failed_runs < fail_after:
            text += f" [failed {result.failed_runs} of {fail_after} runs; not reported yet]"
        elif result.timed_out:
            text += " [timeout accepted]"
    if result.cached:
        text += " [cached]"
    return text


def summary_line(results: list[Result], stats: dict[str, Any]) -> str:
    counts = Counter(result.verdict for result in results)
    parts = ", ".join(f"{counts[v]} {v}" for v in ORDER if counts[v])
    failing = sum(result.failing for result in results)
    verdict = f"{failing} failing" if failing else "nothing broken"
    return (f"atlas linkcheck: {len(results)} links: {parts or 'none'}; {verdict} "
            f"({stats['requests']} requests for {stats['unique_urls']} URLs, "
            f"{stats['elapsed']:.1f} s)")


def render_text(results: list[Result], stats: dict[str, Any], verbose: bool) -> str:
    lines: list[str] = []
    grouped = group(results)
    for verdict in ORDER:
        items = grouped.get(verdict, [])
        if not items or (verdict == "ok" and not verbose):
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
        "summary": {**{v: counts[v] for v in VERDICTS}, "total": len(results),
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
    lines += [f"| {v} | {counts[v]} |" for v in ORDER if counts[v]]
    grouped = group(results)
    for verdict in ORDER[:-1]:
        items = grouped.get(verdict, [])
        if not items or verdict in ("excluded", "unsupported"):
            continue
        lines += ["", f"## {HEADINGS[verdict]}", "", "| URL | Problem | Where |",
                  "| --- | --- | --- |"]
        for result in items:
            where = "<br>".join(_cell(s) for s in result.sources[:5])
            lines.append(f"| {_cell(result.url)} | {_cell(describe(result, stats['fail_after']))}"
                         f" | {where} |")
    return "\n".join(lines) + "\n"


def group(results: list[Result]) -> dict[str, list[Result]]:
    grouped: dict[str, list[Result]] = {}
    for result in sort(results):
        grouped.setdefault(result.verdict, []).append(result)
    return grouped


def sort(results: list[Result]) -> list[Result]:
    """Worst verdict first, then failing before tolerated, then by where it was written."""
    def key(result: Result) -> tuple[Any, ...]:
        first = result.sources[0] if result.sources else None
        return (ORDER.index(result.verdict), not result.failing,
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

    def __init__(self, stream: TextIO, width: int = 30) -> None:
        self.stream, self.width = stream, width
        self.drawn = 0.0
        self.started = time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        now = time.monotonic()
        if now - self.drawn < 0.1 and done < total:
            return
        self.drawn = now
        filled = int(self.width * done / max(total, 1))
        bar = "#" * filled + "-" * (self.width - filled)
        self.stream.write(f"\r[{bar}] {done}/{total} URLs  {now - self.started:5.1f} s")
        self.stream.flush()

    def finish(self) -> None:
        self.stream.write("\r" + " " * (self.width + 40) + "\r")
        self.stream.flush()
