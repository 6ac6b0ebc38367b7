"""Benchmark `atlas refresh`: 1,000 GitHub repositories against a loopback fake of the API.

The fake (tests/fake_apis.py) answers after ``--latency`` (100 ms) and keeps GitHub's primary
rate limit (``--limit`` requests per ``--window``: 5,000 an hour), with ETags and 304s that
cost nothing when authorised, as GitHub's do. Each repository costs two requests (the
repository and its releases). The script runs `atlas refresh` twice, as a maintainer
would, and prints:

* the first run's time against the lower bound for that limit and concurrency. With R
  requests, C in flight (GitHub's concurrency), latency L and ``remaining`` requests left
  until the window resets in T seconds:
      R <= remaining:  bound = ceil(R / C) * L
      otherwise:       bound = max(ceil(remaining / C) * L, T) + ceil((R - remaining) / C) * L
  (nothing can finish sooner: every answer takes L, at most C are in flight, and once the
  limit is spent nothing may be asked before the reset);
* the second run over unchanged repositories: its requests that cost rate limit (target:
  none; every request is answered 304 from the ETag cache) and its time, against the same
  latency bound (a 304 still takes a round trip).

Both runs are timed as the refresh reports its network phase (`elapsed_s` of its JSON
summary) and as wall time of the whole command (Python start-up and loading the catalog's
files included).

    .venv/bin/python bench/refresh_bench.py [--repos 1000] [--latency 0.1] [--limit 5000]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tests"))

from atlas.refresh.run import DEFAULT_CONCURRENCY  # noqa: E402
from atlas.refresh.targets import Service  # noqa: E402
from fake_apis import FakeAPIs  # noqa: E402

ENTRY = """\
kind: tool
title: Benchmark Tool {n}
url: https://tool{n}.example.org/
repository: https://github.com/bench/repo-{n:04d}
license: MIT
description:
  en: A synthetic tool entry of the refresh benchmark, number {n}, with an open repository.
  zh: 刷新基准测试的合成工具条目。
topics: [deep-learning]
languages: [en]
level: beginner
access: open-source
added: 2026-11-28
"""


def make_catalog(folder: Path, repos: int) -> Path:
    catalog = folder / "catalog"
    (catalog / "tool").mkdir(parents=True)
    for name in ("schema.json", "topics.yaml"):
        text = (ROOT / "catalog" / name).read_text(encoding="utf-8")
        if name == "topics.yaml":  # the real picks name entries this catalog does not have
            import yaml

            taxonomy = yaml.safe_load(text)
            for topic in taxonomy["topics"]:
                topic.pop("start_here", None)
            text = yaml.safe_dump(taxonomy, allow_unicode=True, sort_keys=False)
        (catalog / name).write_text(text, encoding="utf-8")
    for n in range(repos):
        (catalog / "tool" / f"tool-{n:04d}.yaml").write_text(ENTRY.format(n=n), "utf-8")
    return catalog


def bound(requests: int, concurrency: int, latency: float, remaining: int,
          reset_in: float) -> float:
    if requests <= remaining:
        return math.ceil(requests / concurrency) * latency
    return max(math.ceil(remaining / concurrency) * latency, reset_in) + \
        math.ceil((requests - remaining) / concurrency) * latency


def run(catalog: Path, cache: Path, fake: FakeAPIs, concurrency: int) -> tuple[float, dict]:
    env = {**os.environ, "GITHUB_TOKEN": "benchmark-token", "ATLAS_GITHUB_API": fake.base,
           "ATLAS_PYPI_API": fake.base, "ATLAS_HUGGINGFACE_API": fake.base}
    report = catalog.parent / "report.json"
    started = time.monotonic()
    result = subprocess.run([sys.executable, "-m", "atlas", "refresh", "--catalog",
                             str(catalog), "--cache", str(cache), "--no-progress",
                             "--concurrency", f"github={concurrency}", "--max-wait", "2h",
                             "--format", "json", "--output", str(report)],
                            cwd=ROOT, capture_output=True, text=True, env=env)
    wall = time.monotonic() - started
    if result.returncode not in (0, 1):
        sys.exit(f"atlas refresh failed ({result.returncode}): {result.stderr[-2000:]}")
    return wall, json.loads(report.read_text(encoding="utf-8"))["summary"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repos", type=int, default=1000)
    parser.add_argument("--latency", type=float, default=0.1, help="seconds per answer")
    parser.add_argument("--limit", type=int, default=5000, help="requests per window")
    parser.add_argument("--window", type=float, default=3600.0, help="seconds")
    parser.add_argument("--concurrency", type=int, default=DEFAULT_CONCURRENCY[Service.GITHUB],
                        help="GitHub requests in flight (default: atlas refresh's)")
    args = parser.parse_args()
    fake = FakeAPIs(latency=args.latency, limit=args.limit, window=args.window)
    for n in range(args.repos):
        releases = [{"tag_name": f"v{n}.0", "published_at": "2026-10-01T00:00:00Z"}] \
            if n % 2 else []
        fake.add_repo(f"bench/repo-{n:04d}", stars=n, pushed_at="2026-11-01T00:00:00Z",
                      releases=releases)
    requests = 2 * args.repos
    with tempfile.TemporaryDirectory(prefix="refresh-bench-") as folder:
        catalog = make_catalog(Path(folder), args.repos)
        cache = Path(folder) / "cache.json"
        print(f"atlas refresh benchmark: {args.repos:,} repositories ({requests:,} requests), "
              f"{args.latency * 1000:.0f} ms per answer, rate limit {args.limit:,} per "
              f"{args.window:.0f} s, GitHub concurrency {args.concurrency}")
        remaining, reset_in = fake.remaining, fake.reset_at - time.time()
        first_bound = bound(requests, args.concurrency, args.latency, remaining, reset_in)
        binds = "does not bind" if requests <= remaining else "binds"
        print(f"  lower bound: {first_bound:.1f} s (the rate limit {binds}: {requests:,} "
              f"requests, {remaining:,} remaining)")
        wall, summary = run(catalog, cache, fake, args.concurrency)
        print(f"  first run:  {summary['elapsed_s']:.1f} s = "
              f"{summary['elapsed_s'] / first_bound:.2f}x the bound ({wall:.1f} s wall); "
              f"{fake.requests:,} requests, {fake.counted:,} counted against the rate limit, "
              f"{fake.refused} refused for a spent limit; {summary['updated']:,} updated")
        fake.reset_counters()
        remaining, reset_in = fake.remaining, fake.reset_at - time.time()
        second_bound = bound(requests, args.concurrency, args.latency, 10**9, reset_in)
        wall, summary = run(catalog, cache, fake, args.concurrency)
        print(f"  second run: {summary['elapsed_s']:.1f} s = "
              f"{summary['elapsed_s'] / second_bound:.2f}x its bound ({second_bound:.1f} s; "
              f"{wall:.1f} s wall); {fake.requests:,} requests, {fake.not_modified:,} "
              f"answered 304, {fake.counted} counted against the rate limit (target: 0); "
              f"{summary['unchanged']:,} unchanged, metadata.json "
              f"{'rewritten' if summary['written'] else 'not rewritten'}")
    fake.stop()


if __name__ == "__main__":
    main()
