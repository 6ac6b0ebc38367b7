"""How fast `make serve` shows an edit: synthetic catalogs of 1,000 and 10,000 entries.

For each size it starts `mkdocs serve --dirty` (what `make serve` runs) on a synthetic copy
of the project, waits for the first build, then times, from saving a file to the changed
page being served (polled over HTTP every 20 ms):

* an entry file edited (its English and its Chinese page),
* a Learn page edited,
* a new entry file added (its page appears),

each three times, a few seconds apart (the figure is the median), and, in the same run, a
clean full `mkdocs build` of the same catalog. It prints the figures and their ratio to the
full rebuild, and the server's resident memory at the end (Linux). Usage:
python bench/serve_bench.py [--sizes 1000 10000]
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

from site_bench import make_project  # noqa: E402

POLL = 0.02
# Seconds between one save being served and the next save, as a contributor looks at the
# page: what the server leaves for when it is idle (its garbage collection) is done by then.
LOOK = 3.0
TIMEOUT = 900.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def fetch(url: str) -> str | None:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return str(response.read().decode("utf-8"))
    except (urllib.error.URLError, OSError):
        return None


def wait_for(url: str, needle: str, started: float) -> float:
    """Seconds from ``started`` until ``url`` serves a page containing ``needle``."""
    while time.perf_counter() - started < TIMEOUT:
        text = fetch(url)
        if text is not None and needle in text:
            return time.perf_counter() - started
        time.sleep(POLL)
    raise TimeoutError(f"{url} never showed {needle!r}")


def tree_rss_mib(pid: int) -> float:
    """Resident memory of a process and its children (the server builds the Chinese site in
    a second process), from /proc; 0 where there is none."""
    total, pending = 0, [pid]
    while pending:
        current = pending.pop()
        try:
            status = Path(f"/proc/{current}/status").read_text()
        except OSError:
            continue
        total += next((int(line.split()[1]) for line in status.splitlines()
                       if line.startswith("VmRSS:")), 0)
        with contextlib.suppress(OSError):  # a kernel without the list: the process alone
            pending += map(int, Path(f"/proc/{current}/task/{current}/children").read_text()
                           .split())
    return total / 1024


def edit(path: Path, old: str, new: str) -> float:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    time.sleep(LOOK)
    started = time.perf_counter()
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return started


def measure(size: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="atlas-serve-bench-") as tmp:
        base = Path(tmp)
        project = make_project(base, size)
        (project / "docs").unlink()  # the benchmark edits a Learn page: a copy, not a link
        shutil.copytree(ROOT / "docs", project / "docs")
        figures: dict[str, float] = {}

        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-d",
                        str(base / "full")], cwd=project, check=True)
        figures["full rebuild"] = time.perf_counter() - started

        port = free_port()
        root = f"http://127.0.0.1:{port}/"
        server = subprocess.Popen([sys.executable, "-m", "mkdocs", "serve", "--dirty", "-a",
                                   f"127.0.0.1:{port}"], cwd=project,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            started = time.perf_counter()
            figures["first build"] = wait_for(root + "zh/", "AIGC", started)
            entry = next((project / "catalog/book").glob("*.yaml"))
            page = f"entries/{entry.stem}/"
            for round_number in range(3):  # each figure is the median of three saves
                word = f"edited{round_number}x"
                started = edit(entry, "  en: ", f"  en: {word} ")
                en = wait_for(root + page, word, started)
                figures.setdefault("entry edit (en page)", []).append(en)  # type: ignore
                started_zh = edit(entry, "  zh: ", f"  zh: {word}甲 ")
                zh = wait_for(root + "zh/" + page, f"{word}甲", started_zh)
                figures.setdefault("entry edit (zh page)", []).append(zh)  # type: ignore
            learn = project / "docs/en/learn/gan.md"
            for round_number in range(3):
                sentence = f"Sentence {round_number} added for the benchmark."
                started = edit(learn, "\n## ", f"\n{sentence}\n\n## ")
                figures.setdefault("Learn page edit", []).append(  # type: ignore
                    wait_for(root + "learn/gan/", sentence, started))
            text = entry.read_text(encoding="utf-8")
            for round_number in range(3):
                name = f"benchmark-new-entry-{round_number}"
                new = project / f"catalog/book/{name}.yaml"
                time.sleep(LOOK)
                started = time.perf_counter()
                new.write_text(text.replace("url: https://", f"url: https://new{round_number}."),
                               encoding="utf-8")
                figures.setdefault("new entry", []).append(  # type: ignore
                    wait_for(root + f"zh/entries/{name}/", "AIGC", started))
            figures["server memory"] = tree_rss_mib(server.pid)
        finally:
            server.terminate()
            server.wait(timeout=30)
        for key in ("entry edit (en page)", "entry edit (zh page)", "Learn page edit",
                    "new entry"):
            values = sorted(figures[key])  # type: ignore[arg-type]
            figures[key] = values[len(values) // 2]
        return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    targets = {1000: 2.0, 10000: 5.0}
    for size in args.sizes:
        figures = measure(size)
        full = figures["full rebuild"]
        print(f"\n{size:,} entries (x2 languages)")
        print(f"  full rebuild (mkdocs build, same catalog): {full:7.1f} s")
        print(f"  first build of the server:                 {figures['first build']:7.1f} s")
        if figures["server memory"]:
            print(f"  the server's resident memory at the end:   {figures['server memory']:7.0f} "
                  "MiB (with its second process)")
        for key in ("entry edit (en page)", "entry edit (zh page)", "Learn page edit",
                    "new entry"):
            target = targets.get(size)
            note = f" (target <= {target:g} s)" if target else ""
            print(f"  saved -> served, {key:22s} {figures[key]:6.2f} s  "
                  f"{figures[key] / full:6.1%} of a full rebuild{note}")


if __name__ == "__main__":
    main()
