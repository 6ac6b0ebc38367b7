"""`atlas refresh` against a loopback fake of GitHub, PyPI and the Hugging Face Hub
(tests/fake_apis.py): conditional requests, rate limits, retries, timeouts, 404 and 301,
metadata.json's stability, the findings and their reports, and bad input."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from atlas import cli
from atlas.catalog import load_catalog
from atlas.refresh.findings import licences_differ
from atlas.refresh.metadata import Metadata
from atlas.refresh.targets import github_repository
from conftest import GOOD_DATASET, GOOD_MODEL, ROOT
from fake_apis import FakeAPIs

TOOL = """\
kind: tool
title: Tool {n}
url: https://tool{n}.example.org/
{extra}license: {licence}
description:
  en: A tool that does one useful thing for generative models, number {n}.
  zh: 一个对生成模型有用的工具。
topics: [deep-learning]
languages: [en]
level: beginner
access: open-source
added: 2026-11-28
"""


def ago(days: float) -> str:
    moment = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=days)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def tool(n: int, repo: str | None = None, pypi: str | None = None, licence: str = "MIT") -> str:
    extra = f"repository: https://github.com/{repo}\n" if repo else \
        "repository: https://gitee.com/someone/tool\n"
    if pypi:
        extra += f"pypi: {pypi}\n"
    return TOOL.format(n=n, extra=extra, licence=licence)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeAPIs]:
    server = FakeAPIs()
    for name in ("ATLAS_GITHUB_API", "ATLAS_PYPI_API", "ATLAS_HUGGINGFACE_API"):
        monkeypatch.setenv(name, server.base)
    monkeypatch.setenv("GITHUB_TOKEN", "test-token")
    yield server
    server.stop()


@pytest.fixture
def refresh(tmp_path: Path, capsys: pytest.CaptureFixture[str]
            ) -> Callable[..., tuple[int, str, str]]:
    """Run `atlas refresh` in this process on tmp_path/catalog, with short timings."""

    def run(*args: str, catalog: Path | None = None) -> tuple[int, str, str]:
        capsys.readouterr()
        status = cli.main(["refresh", "--catalog", str(catalog or tmp_path / "catalog"),
                           "--cache", str(tmp_path / "cache.json"), "--retry-wait", "0.05",
                           "--timeout", "2", *args])
        out, err = capsys.readouterr()
        return status, out, err

    return run


def digest(folder: Path) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*.yaml"))}


def test_repository_urls() -> None:
    assert github_repository("https://github.com/huggingface/transformers") == \
        "huggingface/transformers"
    assert github_repository("https://github.com/a-b/c.d.git") == "a-b/c.d"
    assert github_repository("https://www.github.com/o/r/tree/main/sub") == "o/r"
    assert github_repository("https://gitee.com/mindspore/mindspore") is None
    assert github_repository("https://github.com/o") is None


def test_licences_compared_as_spdx_ids() -> None:
    assert licences_differ("MIT", "Apache-2.0")
    assert not licences_differ("MIT", "mit")
    assert not licences_differ("GPL-3.0-or-later", "GPL-3.0")  # GitHub cannot tell
    assert not licences_differ("LGPL-2.1-only", "LGPL-2.1")
    assert licences_differ("GPL-3.0-only", "GPL-3.0-or-later")
    assert not licences_differ("Apache-2.0", "NOASSERTION")  # not recognised: no claim
    assert not licences_differ("LicenseRef-Llama-3.1-Community-License", "Apache-2.0")


def test_first_run_fetches_everything_and_an_unchanged_second_costs_no_rate_limit(
        fake: FakeAPIs, make_catalog: Callable[..., Path], refresh: Callable[..., tuple]
        ) -> None:
    catalog = make_catalog({"tool/t0": tool(0, "o/r0", "pkg0"), "tool/t1": tool(1, "o/r1"),
                            "tool/t2": tool(2), "model/m": GOOD_MODEL, "dataset/d": GOOD_DATASET})
    fake.add_repo("o/r0", stars=1234, forks=56, pushed_at=ago(3), license="MIT",
                  releases=[{"tag_name": "v2.0-rc1", "prerelease": True, "published_at": ago(1)},
                            {"tag_name": "v1.9", "published_at": ago(20)}])
    fake.add_repo("o/r1", stars=0, pushed_at=ago(30))
    fake.add_repo("example-lab/diffusion", pushed_at=ago(10), license=None)
    fake.packages["pkg0"] = {"version": "1.9.0", "released": ago(20)}
    fake.hub[("models", "example-lab/diffusion-2b")] = {"downloads": 4321, "likes": 99,
                                                        "lastModified": ago(40)}
    fake.hub[("datasets", "example-lab/pairs")] = {"downloads": 7, "likes": 1,
                                                   "lastModified": ago(400)}
    before = digest(catalog)
    status, out, err = refresh()
    assert status == 0, out + err
    assert "4 updated" in out and "nothing needs attention" in out
    path = catalog / "metadata.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert sorted(data["entries"]) == ["d", "m", "t0", "t1"]  # t2's repository is on Gitee
    t0 = data["entries"]["t0"]
    assert t0["github"] == {"repository": "o/r0", "stars": 1234, "forks": 56,
                            "pushed": ago(3)[:10] + t0["github"]["pushed"][10:],
                            "license": "MIT", "release": {"tag": "v1.9", "date": ago(20)[:10]
                                                          + t0["github"]["release"]["date"][10:]}}
    assert t0["pypi"]["version"] == "1.9.0" and t0["fetched"].endswith("Z")
    assert data["entries"]["t1"]["github"]["stars"] == 0
    assert data["entries"]["m"]["huggingface"]["downloads"] == 4321
    assert data["entries"]["d"]["huggingface"]["id"] == "example-lab/pairs"
    text = path.read_text(encoding="utf-8")  # canonical: sorted keys, one value a line
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True,
                              ensure_ascii=False) + "\n"
    assert Metadata.from_text(text).to_text() == text
    assert fake.counted == 6  # 3 repositories x (repository + releases)
    assert fake.requests == 9 and fake.max_active <= 4 + 8 + 4
    assert fake.authorised == 6, "the token goes to GitHub and nowhere else"
    assert digest(catalog) == before, "entry files are never edited"
    assert not load_catalog(catalog).problems, "metadata.json is not an entry"

    written, stamp = path.read_bytes(), path.stat().st_mtime_ns
    fake.reset_counters()
    time.sleep(1.1)  # a rewrite would change `fetched`
    status, out, err = refresh()
    assert status == 0
    assert fake.requests == 9 and fake.not_modified == 9 and fake.counted == 0
    assert "4 unchanged" in out and "0 counted against a rate limit" in out
    assert path.read_bytes() == written and path.stat().st_mtime_ns == stamp, \
        "an unchanged run rewrites nothing"
    assert not list(catalog.glob(".*.tmp"))

    fake.repos["o/r0"].stars = 1240  # one value changes: one line of the file does
    refresh()
    changed = [line for line in path.read_text("utf-8").splitlines()
               if line not in written.decode().splitlines()]
    assert len(changed) == 2 and any('"stars": 1240' in line for line in changed), changed


def test_renamed_and_deleted_repositories_are_findings(
        fake: FakeAPIs, make_catalog: Callable[..., Path], refresh: Callable[..., tuple]
        ) -> None:
    make_catalog({"tool/old": tool(0, "o/old-name"), "tool/gone": tool(1, "o/deleted"),
                  "model/m": GOOD_MODEL})
    fake.add_repo("o/old-name", pushed_at=ago(2))
    fake.rename("o/old-name", "new-owner/new-name")
    fake.add_repo("example-lab/diffusion", pushed_at=ago(2))  # the Hub id is unknown: 401
    status, out, err = refresh("--format", "json")
    assert status == 1, err
    report = json.loads(out)
    kinds = {(f["entry"], f["kind"]) for f in report["findings"]}
    assert kinds == {("old", "renamed"), ("gone", "not-found"), ("m", "not-found")}
    renamed = next(f for f in report["findings"] if f["kind"] == "renamed")
    assert "https://github.com/new-owner/new-name" in renamed["message"]
    assert renamed["file"].endswith("tool/old.yaml") and renamed["line"] == 4
    metadata = json.loads((Path(report["summary"]["metadata"])).read_text("utf-8"))
    assert metadata["entries"]["old"]["github"]["repository"] == "new-owner/new-name"
    assert metadata["entries"]["gone"]["github"] == {"repository": "o/deleted", "missing": True}
    # The redirect is remembered: the next run asks the new address, at no cost.
    fake.reset_counters()
    refresh()
    assert fake.hits["/repos/o/old-name"] == 0 and fake.hits["/repositories/1000"] == 1
    assert fake.counted == 2  # the deleted repository's two 404s: a 404 has no ETag


def test_a_near_reset_is_waited_for_without_exceeding_the_limit(
        fake: FakeAPIs, make_catalog: Callable[..., Path], refresh: Callable[..., tuple]
        ) -> None:
    make_catalog({f"tool/t{n}": tool(n, f"o/r{n}") for n in range(3)})
    for n in range(3):
        fake.add_repo(f"o/r{n}", pushed_at=ago(1))
    fake.limit = fake.remaining = 4
    fake.reset_at = time.time() + 1
    started = time.monotonic()
    status, out, err = refresh()
    assert status == 0, out + err
    assert "3 updated" in out and "rate limit spent; waiting" in err
    assert fake.refused == 0, "no request went out once the limit was spent"
    assert time.monotonic() - started >= 1


def test_a_far_reset_stops_cleanly_keeping_what_was_fetched(
        fake: FakeAPIs, make_catalog: Callable[..., Path], refresh: Callable[..., tuple]
        ) -> None:
    catalog = make_catalog({**{f"tool/t{n}": tool(n, f"o/r{n}") for n in range(4)},
                            "tool/p": tool(9, pypi="only-pypi")})
    for n in range(4):
        fake.add_repo(f"o/r{n}", stars=n, pushed_at=ago(1))
    fake.packages["only-pypi"] = {"version": "3.0", "released": ago(5)}
    assert refresh("--only", "t3")[0] == 0  # t3 has values from an earlier run
    earlier = json.loads((catalog / "metadata.json").read_text("utf-8"))["entries"]["t3"]
    fake.repos["o/r3"].stars = 300
    fake.limit = fake.remaining = 3
    fake.reset_at = time.time() + 3600
    status, out, err = refresh("--max-wait", "1s", "--concurrency", "github=1", "--no-cache")
    assert status == 1
    assert "stopped: GitHub: rate limit spent until" in out
    data = json.loads((catalog / "metadata.json").read_text("utf-8"))["entries"]
    assert data["t0"]["github"]["stars"] == 0, "fetched before the stop: kept"
    assert data["t3"] == earlier, "not fetched: its old values stay"
    assert data["p"]["pypi"]["version"] == "3.0", "PyPI goes on when GitHub stops"
    assert "Not refreshed this run: 3" in out
    assert out.count("GitHub: rate limit spent until") == 4  # 3 entries and the summary
    assert fake.refused == 0


def test_secondary_limit_500_reset_and_hanging_answers_are_retried(
        fake: FakeAPIs, make_catalog: Callable[..., Path], refresh: Callable[..., tuple]
        ) -> None:
    make_catalog({f"tool/t{n}": tool(n, f"o/r{n}") for n in range(4)})
    for n in range(4):
        fake.add_repo(f"o/r{n}", pushed_at=ago(1))
    fake.script = {"/repos/o/r0": ["secondary:1"], "/repos/o/r1": ["500", "500"],
                   "/repos/o/r2": ["reset"], "/repos/o/r3": ["hang"]}
    started = time.monotonic()
    status, out, err = refresh("--timeout", "0.5")
    elapsed = time.monotonic() - started
    assert status == 0, out + err
    assert "4 updated" in out and "(secondary rate limit); waiting 1 s" in err
    assert fake.hits["/repos/o/r0"] == 2 and fake.hits["/repos/o/r1"] == 3
    assert fake.hits["/repos/o/r2"] == 2 and fake.hits["/repos/o/r3"] == 2
    assert 1 <= elapsed < 10


def test_an_answer_that_never_completes_is_bounded_and_reported(
        fake: FakeAPIs, make_catalog: Callable[..., Path], refresh: Callable[..., tuple]
        ) -> None:
    make_catalog({"tool/t0": tool(0, "o/r0"), "tool/t1": tool(1, "o/r1")})
    fake.add_repo("o/r0", pushed_at=ago(1))
    fake.add_repo("o/r1", pushed_at=ago(1))
    fake.script = {"/repos/o/r1": ["hang"] * 5}
    started = time.monotonic()
    status, out, err = refresh("--timeout", "0.3", "--retries", "1")
    assert time.monotonic() - started < 5
    assert status == 1 and "1 updated, 1 not refreshed" in out
    assert "no complete answer within 0.3 s (tried 2 times)" in out


def test_findings_archived_inactive_licence_stale(
        fake: FakeAPIs, make_catalog: Callable[..., Path], refresh: Callable[..., tuple]
        ) -> None:
    make_catalog({"tool/archived": tool(0, "o/archived"), "tool/quiet": tool(1, "o/quiet"),
                  "tool/licence": tool(2, "o/licence", licence="MIT"),
                  "tool/gpl": tool(3, "o/gpl", licence="GPL-3.0-or-later"),
                  "tool/stale": tool(4, "o/stale", pypi="old-pkg"),
                  "tool/fine": tool(5, "o/fine")})
    fake.add_repo("o/archived", archived=True, pushed_at=ago(900))
    fake.add_repo("o/quiet", pushed_at=ago(400))
    fake.add_repo("o/licence", pushed_at=ago(1), license="Apache-2.0")
    fake.add_repo("o/gpl", pushed_at=ago(1), license="GPL-3.0")
    fake.add_repo("o/stale", pushed_at=ago(1))
    fake.packages["old-pkg"] = {"version": "0.1", "released": ago(3 * 365)}
    fake.add_repo("o/fine", pushed_at=ago(1), releases=[{"tag_name": "v1",
                                                          "published_at": ago(2)}])
    status, out, err = refresh()
    assert status == 1
    assert "Archived repositories: 1" in out and "o/archived is archived" in out
    assert "No activity for 12 months: 1" in out and "quiet: no push, release or upload" in out
    assert "the entry says MIT, GitHub detects Apache-2.0" in out
    assert "Latest PyPI release over 2 years old: 1" in out and "old-pkg 0.1" in out
    assert "gpl:" not in out and "fine:" not in out
    # The same findings from the file alone, without asking anything.
    fake.reset_counters()
    status, markdown, _ = refresh("--no-fetch", "--format", "markdown")
    assert status == 1 and fake.requests == 0
    assert markdown.startswith("# Catalog health")
    assert "| Archived repositories | 1 |" in markdown and "| `quiet` |" in markdown
    status, text, _ = refresh("--no-fetch", "--only", "fine", "gpl")
    assert status == 0 and "nothing needs attention" in text


def test_only_max_age_output_and_progress(
        fake: FakeAPIs, make_catalog: Callable[..., Path], refresh: Callable[..., tuple],
        tmp_path: Path) -> None:
    make_catalog({"tool/a": tool(0, "o/a"), "tool/b": tool(1, "o/b")})
    fake.add_repo("o/a", pushed_at=ago(1))
    fake.add_repo("o/b", pushed_at=ago(1))
    assert refresh("--only", "a")[0] == 0
    assert fake.hits["/repos/o/a"] == 1 and fake.hits["/repos/o/b"] == 0
    fake.reset_counters()
    report = tmp_path / "out" / "report.json"
    status, out, err = refresh("--max-age", "1h", "--format", "json", "--output", str(report))
    assert status == 0 and fake.hits["/repos/o/a"] == 0 and fake.hits["/repos/o/b"] == 1
    assert out.startswith("atlas refresh: 2 entries (1 updated, 1 skipped)")
    summary = json.loads(report.read_text("utf-8"))["summary"]
    assert summary["skipped"] == 1 and summary["rate_limited_requests"] == 2
    assert "\r[" not in err, "no progress bar when stderr is not a terminal"


@pytest.mark.parametrize("args, message", [
    (["--only", "nope"], "no valid entry 'nope'"),
    (["--catalog", "/nonexistent"], "no such catalog folder"),
    (["--github-api", "ftp://example.org"], "not an http(s) URL"),
    (["--metadata", "{bad}"], "not valid JSON"),
])
def test_bad_input_is_one_line_and_status_2(
        fake: FakeAPIs, make_catalog: Callable[..., Path], refresh: Callable[..., tuple],
        tmp_path: Path, args: list[str], message: str) -> None:
    make_catalog({"tool/a": tool(0, "o/a")})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    args = [str(bad) if arg == "{bad}" else arg for arg in args]
    status, out, err = refresh(*args)
    assert status == 2 and message in err, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_bad_options_are_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["--concurrency", "gitlab=3"], ["--max-age", "soon"], ["--retries", "-1"]):
        with pytest.raises(SystemExit) as exit_info:
            cli.main(["refresh", *args])
        assert exit_info.value.code == 2
        assert "Traceback" not in capsys.readouterr().err


def test_an_interrupted_run_keeps_what_it_fetched(
        fake: FakeAPIs, make_catalog: Callable[..., Path], tmp_path: Path) -> None:
    catalog = make_catalog({f"tool/t{n:02d}": tool(n, f"o/r{n}") for n in range(40)})
    for n in range(40):
        fake.add_repo(f"o/r{n}", pushed_at=ago(1))
    fake.latency = 0.1
    process = subprocess.Popen(
        [sys.executable, "-m", "atlas", "refresh", "--catalog", str(catalog), "--cache",
         str(tmp_path / "cache.json"), "--concurrency", "github=1"], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy())
    deadline = time.monotonic() + 30
    while fake.requests < 10 and time.monotonic() < deadline:
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130 and "atlas: interrupted" in err
    assert "Traceback" not in err
    kept = json.loads((catalog / "metadata.json").read_text("utf-8"))["entries"]
    assert 4 <= len(kept) < 40, "what was fetched before Ctrl-C is in the file"
