"""The site with catalog/metadata.json (`atlas refresh`) and without it: stars, activity and
releases on entry pages, Archived and Inactive badges on topic and kind pages, the
explorer's stars and last-activity columns and its activity filter, in both languages; and
entries the metadata does not cover look exactly as they do without it."""

from __future__ import annotations

import datetime as dt
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from atlas import publish, site
from atlas.catalog import Catalog, load_catalog
from atlas.refresh.activity import Status, activities
from atlas.refresh.metadata import GitHubFacts, HubFacts, Metadata, PyPIFacts, Record, Release
from conftest import (
    CATALOG,
    GOOD_BOOK,
    GOOD_MODEL,
    ROOT,
    taxonomy_without_picks,
    write_entry,
)
from serve_site import QuietHandler
from test_refresh import tool

TODAY = dt.date(2026, 12, 1)
EPOCH = str(int(dt.datetime(2026, 12, 1, 12, tzinfo=dt.timezone.utc).timestamp()))
ENTRIES = {"book/dl": GOOD_BOOK, "model/m": GOOD_MODEL,
           "tool/busy": tool(1, "o/busy", "busy-pkg"), "tool/quiet": tool(2, "o/quiet"),
           "tool/plain": tool(3, "o/plain")}


def sample_metadata() -> Metadata:
    """Metadata for three of the five entries (dl and plain have none)."""
    return Metadata({
        "busy": Record("2026-11-30T08:00:00Z",
                       GitHubFacts("o/busy", stars=12345, forks=678, pushed="2026-11-28T10:00:00Z",
                                   license="MIT", release=Release("v<b>2</b>",
                                                                  "2026-11-02T00:00:00Z")),
                       PyPIFacts("busy-pkg", "2.0.1", "2026-11-03T00:00:00Z")),
        "quiet": Record("2026-11-29T08:00:00Z",
                        GitHubFacts("o/quiet", stars=900, forks=3, pushed="2024-06-01T00:00:00Z")),
        "m": Record("2026-11-30T08:00:00Z",
                    GitHubFacts("example-lab/diffusion", stars=50, pushed="2025-01-01T00:00:00Z",
                                archived=True),
                    huggingface=HubFacts("example-lab/diffusion-2b", downloads=4321, likes=99,
                                         modified="2025-02-01T00:00:00Z")),
    })


def write_catalog(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "topics.yaml").write_text(taxonomy_without_picks(), encoding="utf-8")
    shutil.copy(CATALOG / "schema.json", folder / "schema.json")
    for name, text in ENTRIES.items():
        kind, entry_id = name.split("/")
        write_entry(folder, kind, entry_id, text)
    return folder


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    loaded = load_catalog(write_catalog(tmp_path_factory.mktemp("c") / "catalog"))
    assert not loaded.problems, loaded.problems
    return loaded


def generate(catalog: Catalog, lang: str, activity: Any = None) -> dict[str, str]:
    return site.generate_pages(catalog, lang, {}, ROOT, set(), "https://x.org/edit", None,
                               activity)


def test_statuses_follow_one_rule() -> None:
    shown = activities(sample_metadata(), TODAY)
    assert shown["busy"].status is Status.ACTIVE and shown["busy"].last_activity == "2026-11-28"
    assert shown["quiet"].status is Status.INACTIVE
    assert shown["m"].status is Status.ARCHIVED and shown["m"].last_activity == "2025-02-01"
    hub_only = Metadata({"x": Record("2026-11-30T00:00:00Z", huggingface=HubFacts(
        "a/b", downloads=1, modified="2020-01-01T00:00:00Z"))})
    assert activities(hub_only, TODAY)["x"].status is None  # a checkpoint is not abandoned


def test_entries_without_metadata_look_exactly_as_without_the_file(catalog: Catalog) -> None:
    shown = activities(sample_metadata(), TODAY)
    for lang in site.LANGS:
        before, after = generate(catalog, lang), generate(catalog, lang, shown)
        assert generate(catalog, lang, {}) == before
        for entry_id in ("dl", "plain"):
            assert after[f"entries/{entry_id}.md"] == before[f"entries/{entry_id}.md"]
        # A list that shows no Archived or Inactive badge is unchanged too.
        assert after["catalog/books.md"] == before["catalog/books.md"]
        assert after["entries/busy.md"] != before["entries/busy.md"]
        explorer = publish.explorer_data(catalog, lang, activity=shown)
        plain = next(r for r in explorer["entries"] if r["id"] == "plain")
        assert plain == next(r for r in publish.explorer_data(catalog, lang)["entries"]
                             if r["id"] == "plain")


def test_entry_pages_show_stars_activity_releases_and_when(catalog: Catalog) -> None:
    shown = activities(sample_metadata(), TODAY)
    english = generate(catalog, "en", shown)
    busy = english["entries/busy.md"]
    for row in ("| Stars | 12,345 |", "| Forks | 678 |", "| Last activity | 2026\\-11\\-28 |",
                "| Latest version | 2\\.0\\.1 &#40;2026\\-11\\-03&#41; |",
                "| Fetched | 2026\\-11\\-30, from GitHub, PyPI |"):
        assert row in busy, row
    assert "<b>" not in busy and "&#60;b&#62;2&#60;/b&#62;" in busy, "API text is escaped"
    assert 'data-status' not in busy  # active: no badge
    model = english["entries/m.md"]
    assert '<span class="atlas-badge" data-status="archived">Archived</span>' in model
    assert "| Downloads (30 days) | 4,321 |" in model and "| Likes | 99 |" in model
    chinese = generate(catalog, "zh", shown)
    assert "| 星标 | 12,345 |" in chinese["entries/busy.md"]
    assert "| 数据获取于 | 2026\\-11\\-30，来自 GitHub, PyPI |" in chinese["entries/busy.md"]
    assert 'data-status="archived">已归档</span>' in chinese["entries/m.md"]


def test_topic_and_kind_pages_mark_archived_and_inactive_entries(catalog: Catalog) -> None:
    shown = activities(sample_metadata(), TODAY)
    for lang, inactive, note in (("en", "Inactive", "data fetched 2026-11-29"),
                                 ("zh", "不活跃", "获取于 2026-11-29")):
        pages = generate(catalog, lang, shown)
        tools = pages["catalog/tools.md"]
        quiet = next(line for line in tools.splitlines() if "entries/quiet/" in line)
        assert f'data-status="inactive">{inactive}</span>' in quiet
        busy = next(line for line in tools.splitlines() if "entries/busy/" in line)
        assert "data-status" not in busy
        assert note in tools, "the date the marks come from is on the page"
        topic = pages["topics/deep-learning/index.md"]
        assert 'data-status="inactive"' in topic and note in topic
        models = pages["catalog/models.md"]
        assert 'data-status="archived"' in models and "2026-11-30" in models


def test_explorer_data_with_and_without_metadata(catalog: Catalog) -> None:
    plain = publish.explorer_data(catalog, "en")
    assert [c["id"] for c in plain["columns"]] == ["title", "kind", "year", "level", "access",
                                                   "added"]
    assert "activity" not in {f["id"] for f in plain["facets"]} and "fetched" not in plain
    assert not any("st" in r or "la" in r or "ac" in r for r in plain["entries"])
    data = publish.explorer_data(catalog, "en", activity=activities(sample_metadata(), TODAY))
    columns = {c["id"]: c for c in data["columns"]}
    assert columns["stars"] == {"id": "stars", "key": "st", "type": "number",
                                "descending": True, "label": "Stars"}
    assert columns["last_activity"]["key"] == "la"
    facet = next(f for f in data["facets"] if f["id"] == "activity")
    assert [v["value"] for v in facet["values"]] == [s.value for s in Status]
    assert facet["values"][0]["label"] == "Active in the last year"
    records = {r["id"]: r for r in data["entries"]}
    assert records["busy"]["st"] == 12345 and records["busy"]["ac"] == "active"
    assert records["quiet"]["ac"] == "inactive" and records["m"]["ac"] == "archived"
    assert data["fetched"] == "2026-11-29 – 2026-11-30"
    zh = publish.explorer_data(catalog, "zh", activity=activities(sample_metadata(), TODAY))
    assert next(f for f in zh["facets"] if f["id"] == "activity")["values"][0]["label"] == \
        "最近一年内活跃"


# ---------------------------------------------------------------------------------------
# Built with MkDocs, and in Chromium


def small_project(folder: Path, with_metadata: bool) -> Path:
    """The site's configuration and theme over the five-entry catalog, with a one-page
    docs folder per language (the real Learn pages need the real catalog)."""
    folder.mkdir()
    for name, home in (("mkdocs.yml", "Home"), ("mkdocs.zh.yml", "首页")):
        text = (ROOT / name).read_text(encoding="utf-8")
        text = text[:text.index("\nnav:")] + (f"\nnav:\n  - {home}: index.md\n  - Topics:\n"
                                              "      - atlas:topics\n  - Catalog:\n"
                                              "      - atlas:catalog\n")
        (folder / name).write_text(text, encoding="utf-8")
    for lang in site.LANGS:
        (folder / "docs" / lang).mkdir(parents=True)
        (folder / "docs" / lang / "index.md").write_text("# Home\n", encoding="utf-8")
    for name in ("overrides", "tools"):
        (folder / name).symlink_to(ROOT / name)
    (folder / "examples").mkdir()
    catalog = write_catalog(folder / "catalog")
    if with_metadata:
        (catalog / "metadata.json").write_text(sample_metadata().to_text(), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The small project built without and with metadata.json (strict, both languages)."""
    root = tmp_path_factory.mktemp("builds")
    running = {}
    for name, with_metadata in (("without", False), ("with", True)):  # both at once
        project = small_project(root / f"project-{name}", with_metadata)
        running[name] = subprocess.Popen(
            [sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(root / name)],
            cwd=project, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "SOURCE_DATE_EPOCH": EPOCH})
    out = {}
    for name, process in running.items():
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr[-3000:]
        out[name] = root / name
    return out


@pytest.mark.slow
def test_the_site_builds_with_and_without_metadata(builds: dict[str, Path]) -> None:
    without, with_ = builds["without"], builds["with"]
    for prefix in ("", "zh/"):
        for entry_id in ("dl", "plain"):  # not covered: the same page, byte for byte
            page = f"{prefix}entries/{entry_id}/index.html"
            assert (with_ / page).read_bytes() == (without / page).read_bytes(), page
        busy = (with_ / prefix / "entries/busy/index.html").read_text("utf-8")
        assert "12,345" in busy and "<b>2</b>" not in busy
    tools = (with_ / "catalog/tools/index.html").read_text("utf-8")
    assert re.search(r'data-status="inactive">Inactive</span>', tools)
    assert "12,345" not in (without / "entries/busy/index.html").read_text("utf-8")
    data = json.loads((with_ / "zh/catalog/explorer.json").read_text("utf-8"))
    assert data["fetched"] and any(f["id"] == "activity" for f in data["facets"])


@pytest.fixture(scope="module")
def served(builds: dict[str, Path]) -> Iterator[str]:
    handler = functools.partial(QuietHandler, directory=str(builds["with"]))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def rows(page: Any) -> list[str]:
    return page.eval_on_selector_all(".atlas-explorer__table tbody tr[data-id]",
                                     "rows => rows.map(r => r.dataset.id)")


@pytest.mark.browser
@pytest.mark.slow
def test_explorer_sorts_by_stars_and_filters_by_activity(page: Any, served: str) -> None:
    page.goto(served + "catalog/explorer/")
    page.wait_for_selector(".atlas-explorer[data-state=ready]")
    assert "fetched 2026-11-29 – 2026-11-30" in page.inner_text(".atlas-explorer__fetched")
    # The sort buttons work from the keyboard: focus, then Enter.
    page.focus("button[data-sort=stars]")
    page.keyboard.press("Enter")
    page.wait_for_function("location.search.includes('sort=-stars')")
    assert rows(page) == ["busy", "quiet", "m", "dl", "plain"]  # most stars first; none last
    assert page.get_attribute("th:has(button[data-sort=stars])", "aria-sort") == "descending"
    cells = page.eval_on_selector_all("tbody tr[data-id] td.atlas-explorer__number",
                                      "cells => cells.map(c => c.textContent)")
    assert cells[:3] == ["12,345", "900", "50"]
    page.click("button[data-sort=last_activity]")
    page.wait_for_function("location.search.includes('sort=-last_activity')")
    assert rows(page)[:3] == ["busy", "m", "quiet"]
    page.check(".atlas-explorer__facet[data-facet=activity] input[value=active]")
    page.wait_for_function("document.querySelector('.atlas-explorer').dataset.shown == '1'")
    assert rows(page) == ["busy"]
    assert "activity=active" in page.url
    label = page.inner_text(".atlas-explorer__facet[data-facet=activity] "
                            "label:has(input[value=inactive])")
    assert label.strip() == "No activity for a year (1)"
    page.goto(served + "zh/catalog/explorer/?activity=inactive,archived&sort=-stars")
    page.wait_for_selector(".atlas-explorer[data-state=ready]")
    assert rows(page) == ["quiet", "m"]
    assert page.inner_text("button[data-sort=stars]") == "星标"
