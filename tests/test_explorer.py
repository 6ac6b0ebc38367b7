"""The catalog explorer: its static JSON, its no-JavaScript list, and the widget in Chromium.

The browser tests use the session's built site; for a large catalog they hand the page a
synthetic 10,000-entry explorer.json (Playwright answers the request) instead of building
a second site, and check the rows shown against a reference filter written here in Python.
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from atlas import publish
from atlas.catalog import Catalog, Entry, load_catalog
from conftest import KINDS, OFF_LOOPBACK, ROOT, RULES

VOCABULARY = ("neural network diffusion attention model language vision learning deep generative "
              "transformer image text audio data training inference prompt agent guide practical "
              "introduction handbook course toolkit library framework theory applied")
WORDS = VOCABULARY.split()


def synthetic_catalog(size: int, seed: int = 7) -> Catalog:
    """``size`` valid-looking entries over the real taxonomy, in memory (nothing on disk)."""
    real = load_catalog(ROOT / "catalog")
    topics = sorted(real.topics)
    rng = random.Random(seed)
    entries = []
    for index in range(size):
        kind = KINDS[index % len(KINDS)]
        data: dict[str, Any] = {
            "kind": kind,
            "title": " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 5))).title()
            + f" {index}",
            "url": f"https://site{index % 997}.example.org/{index}",
            "description": {"en": " ".join(rng.choice(WORDS) for _ in range(25)) + ".",
                            "zh": "生成模型与深度学习的资源。"},
            "topics": rng.sample(topics, rng.randint(1, 3)),
            "tags": [f"tag-{rng.randint(0, 99)}"],
            "languages": rng.choice([["en"], ["zh"], ["en", "zh"]]),
            "level": rng.choice(["beginner", "intermediate", "advanced"]),
            "access": rng.choice(["free", "paid", "freemium", "open-source"]),
            "added": f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}",
        }
        if kind in ("book", "paper"):
            data["authors"] = [f"Author {rng.randint(1, 3000)}"]
            data["year"] = rng.randint(1990, 2026)
        if kind == "model":
            data.update(developer=f"Lab {rng.randint(1, 50)}", year=rng.randint(2018, 2026),
                        inputs=["text"], outputs=[rng.choice(["image", "text", "video"])],
                        weights=rng.choice(["open", "api"]))
            if data["weights"] == "open":
                data.update(license="Apache-2.0", commercial_use="allowed")
        if kind == "dataset":
            data.update(creator=f"Lab {rng.randint(1, 50)}", year=rng.randint(2010, 2026),
                        size=["1M images"], modalities=["image", "text"], license="CC-BY-4.0")
        entries.append(Entry.of(f"e{index:05d}", kind, Path(f"catalog/{kind}/e{index:05d}.yaml"),
                             data))
    return Catalog(real.root, entries, real.topics, [], real.rules)


def reference_filter(data: dict[str, Any], *, q: str = "", kind: set[str] | None = None,
                     access: set[str] | None = None, level: set[str] | None = None,
                     lang: set[str] | None = None, topic: str = "", year_from: int | None = None,
                     year_to: int | None = None) -> list[str]:
    """The ids the explorer must show, in its default order (title, then id)."""
    terms = q.lower().split()
    shown = []
    for r in data["entries"]:
        text = "\n".join([r["id"], r["t"], r["tt"], r["a"], r["s"], " ".join(r["tg"])]).lower()
        if not all(term in text for term in terms):
            continue
        if kind and r["k"] not in kind or access and r["x"] not in access:
            continue
        if level and r["l"] not in level or lang and not set(r["g"]) & lang:
            continue
        if topic and topic not in r["p"]:
            continue
        if year_from is not None and (r["y"] is None or r["y"] < year_from):
            continue
        if year_to is not None and (r["y"] is None or r["y"] > year_to):
            continue
        shown.append(r)
    return [r["id"] for r in sorted(shown, key=lambda r: (r["t"].lower(), r["id"]))]


# ---------------------------------------------------------------------------------------
# Generation


def test_explorer_data_describes_every_entry() -> None:
    catalog = synthetic_catalog(50)
    data = publish.explorer_data(catalog, "en")
    assert {r["id"] for r in data["entries"]} == {e.id for e in catalog.entries}
    facets = {facet["id"]: facet for facet in data["facets"]}
    # The vocabularies are the schema's, in its order: the script keeps no copy of them.
    assert [v["value"] for v in facets["kind"]["values"]] == list(KINDS)
    assert [v["value"] for v in facets["level"]["values"]] == list(RULES.vocabulary("level"))
    assert [v["value"] for v in facets["modality"]["values"]] == list(
        RULES.vocabulary("modality"))
    assert {"kind", "level", "access", "lang", "modality", "weights", "commercial"} == set(facets)
    assert {t["id"] for t in data["topics"]} == set(catalog.topics)
    for record in data["entries"]:
        entry = catalog.by_id()[record["id"]]
        for topic_id in entry.topics:  # a topic facet matches its subtopics' entries too
            topic = catalog.topics[topic_id]
            while topic is not None:
                assert topic.id in record["p"]
                topic = catalog.topics.get(topic.parent) if topic.parent else None
    zh = {facet["id"]: facet for facet in publish.explorer_data(catalog, "zh")["facets"]}
    assert zh["kind"]["values"][0] == {"value": "book", "label": "书籍"}
    models = [r for r in data["entries"] if r["k"] == "model"]
    assert models and all(r["md"] and r["w"] in ("open", "api") for r in models)
    assert all("w" not in r for r in data["entries"] if r["k"] != "model")


def test_explorer_page_lists_everything_without_javascript() -> None:
    catalog = synthetic_catalog(30)
    page = publish.explorer_page(catalog, "en")
    listed = re.findall(r'<li data-id="([a-z0-9-]+)"><a href="\.\./\.\./entries/\1/">', page)
    assert sorted(listed) == sorted(e.id for e in catalog.entries)
    assert 'data-src="../../catalog/explorer.json"' in page


def test_explorer_page_escapes_contributor_text() -> None:
    from test_site import hostile_entry

    real = load_catalog(ROOT / "catalog")
    catalog = Catalog(real.root, [hostile_entry()], real.topics, [], real.rules)
    page = publish.explorer_page(catalog, "en")
    body = page.split('<ol class="atlas-explorer__fallback"')[1]
    assert "<script" not in body and "<img" not in body and "<b>" not in body
    assert "&lt;script&gt;" in body
    # In the JSON the text stays text; the script inserts it with textContent, never as HTML.
    assert json.loads(publish.explorer_json(catalog, "en"))["entries"][0]["t"].startswith("<script")


@pytest.mark.slow
def test_built_site_has_the_explorer(built_site: Path) -> None:
    catalog = load_catalog(ROOT / "catalog")
    for prefix in ("", "zh/"):
        html = (built_site / prefix / "catalog/explorer/index.html").read_text("utf-8")
        assert html.count("<li data-id=") == len(catalog.entries)
        data = json.loads((built_site / prefix / "catalog/explorer.json").read_text("utf-8"))
        assert len(data["entries"]) == len(catalog.entries)
        assert data["lang"] == (prefix.rstrip("/") or "en")


# ---------------------------------------------------------------------------------------
# In Chromium

BIG = 10_000


@pytest.fixture(scope="module")
def big_data() -> dict[str, Any]:
    return publish.explorer_data(synthetic_catalog(BIG), "en")


def open_explorer(page: Any, url: str, data: dict[str, Any] | None = None) -> None:
    if data is not None:
        body = json.dumps(data)
        page.route("**/catalog/explorer.json", lambda route: route.fulfill(
            status=200, content_type="application/json", body=body))
    page.goto(url)
    page.wait_for_selector(".atlas-explorer[data-state=ready]")


def shown_ids(page: Any) -> list[str]:
    return page.eval_on_selector_all(".atlas-explorer__table tbody tr[data-id]",
                                     "rows => rows.map(r => r.dataset.id)")


def wait_shown(page: Any, count: int) -> None:
    try:
        page.wait_for_function(f"document.querySelector('.atlas-explorer').dataset.shown == "
                               f"'{count}'", timeout=10_000)
    except Exception:
        raise AssertionError(f"{shown_count(page)} rows shown, {count} expected") from None


def shown_count(page: Any) -> int:
    return int(page.get_attribute(".atlas-explorer", "data-shown"))


@pytest.mark.browser
@pytest.mark.slow
def test_two_facets_and_text_filter_at_10k(page: Any, site_url: str,
                                          big_data: dict[str, Any]) -> None:
    open_explorer(page, site_url + "catalog/explorer/", big_data)
    assert shown_count(page) == BIG
    assert len(shown_ids(page)) == 100  # one page of rows; the rest on demand
    page.click(".atlas-explorer__more")
    assert shown_ids(page) == reference_filter(big_data)[:200]
    page.check(".atlas-explorer__facet[data-facet=kind] input[value=book]")
    page.check(".atlas-explorer__facet[data-facet=access] input[value=free]")
    page.fill(".atlas-explorer__q", "diffusion tag-42")
    expected = reference_filter(big_data, q="diffusion tag-42", kind={"book"},
                                access={"free"})
    assert 0 < len(expected) < 100, "the filter should leave a screenful"
    wait_shown(page, len(expected))
    assert shown_ids(page) == expected
    # Counts next to each option: kind counts ignore the kind facet, not the others.
    paper_option = page.inner_text(
        ".atlas-explorer__facet[data-facet=kind] label:has(input[value=paper])")
    papers = reference_filter(big_data, q="diffusion tag-42", kind={"paper"}, access={"free"})
    assert f"({len(papers)})" in paper_option

    # The address keeps the filters: opening it again shows the same rows.
    page.wait_for_function("location.search.includes('text=')")
    query = parse_qs(urlsplit(page.url).query)
    assert query == {"kind": ["book"], "access": ["free"], "text": ["diffusion tag-42"]}
    open_explorer(page, page.url)
    assert shown_ids(page) == expected
    assert page.is_checked(".atlas-explorer__facet[data-facet=kind] input[value=book]")

    # Topic (with its subtopics), year range and sorting by year, newest first.
    page.fill(".atlas-explorer__q", "")
    page.select_option(".atlas-explorer__topic", "nlp")
    page.fill(".atlas-explorer__year[data-bound=from]", "2000")
    page.fill(".atlas-explorer__year[data-bound=to]", "2010")
    expected = reference_filter(big_data, kind={"book"}, access={"free"}, topic="nlp",
                                year_from=2000, year_to=2010)
    wait_shown(page, len(expected))
    page.click("button[data-sort=year]")
    page.wait_for_function("location.search.includes('sort=-year')")
    years = [big_data_year(big_data, i) for i in shown_ids(page)]
    assert set(shown_ids(page)) <= set(expected)
    assert years == sorted(years, reverse=True) and 2000 <= min(years) <= max(years) <= 2010
    renders = page.get_attribute(".atlas-explorer", "data-render-ms")
    print(f"last render at {BIG} entries: {renders} ms")


def big_data_year(data: dict[str, Any], entry_id: str) -> int:
    return next(r["y"] for r in data["entries"] if r["id"] == entry_id)


@pytest.mark.browser
@pytest.mark.slow
def test_explorer_on_the_real_catalog_and_on_instant_navigation(page: Any, site_url: str) -> None:
    catalog = load_catalog(ROOT / "catalog")
    fetched: list[str] = []
    page.on("request", lambda request: fetched.append(request.url)
            if request.url.endswith("/explorer.json") else None)
    page.goto(site_url + "catalog/books/")
    page.click(".md-nav a[href$='explorer/']")
    page.wait_for_url("**/catalog/explorer/")
    page.wait_for_selector(".atlas-explorer[data-state=ready]")
    # The first rows, by title (the default order: JavaScript compares UTF-16 code units,
    # the same order as Python's for these titles), ties by id.
    expected = [e.id for e in sorted(catalog.entries, key=lambda e: (e.title.lower(), e.id))][:100]
    assert shown_ids(page) == expected
    # Material's instant navigation swaps the page content and emits on document$: the new
    # content is initialised too, from the data already loaded.
    page.evaluate("""() => {
        const old = document.querySelector('.atlas-explorer');
        const fresh = document.createElement('div');
        fresh.className = 'atlas-explorer';
        fresh.dataset.src = old.dataset.src;
        fresh.dataset.root = old.dataset.root;
        old.replaceWith(fresh);
        document$.next(document);
    }""")
    page.wait_for_selector(".atlas-explorer[data-state=ready]")
    assert shown_ids(page) == expected
    assert len(fetched) == 1, fetched
    first = catalog.entries[0]
    page.click(f"tr[data-id={first.id}] a")
    page.wait_for_url(f"**/entries/{first.id}/")


@pytest.mark.browser
@pytest.mark.slow
def test_explorer_without_javascript_is_a_plain_list(browser: Any, site_url: str) -> None:
    catalog = load_catalog(ROOT / "catalog")
    context = browser.new_context(java_script_enabled=False)
    context.route(OFF_LOOPBACK, lambda route: route.abort())
    try:
        tab = context.new_page()
        tab.goto(site_url + "zh/catalog/explorer/")
        ids = tab.eval_on_selector_all(".atlas-explorer__fallback li",
                                       "items => items.map(i => i.dataset.id)")
        assert sorted(ids) == sorted(e.id for e in catalog.entries)
        assert tab.locator(".atlas-explorer__table").count() == 0
    finally:
        context.close()


@pytest.mark.browser
@pytest.mark.slow
def test_explorer_keeps_the_plain_list_when_its_data_is_missing(page: Any, site_url: str) -> None:
    page.route("**/catalog/explorer.json", lambda route: route.fulfill(status=404, body=""))
    page.goto(site_url + "catalog/explorer/")
    page.wait_for_selector(".atlas-explorer[data-state=failed]")
    listed = page.eval_on_selector_all(".atlas-explorer__fallback li", "items => items.length")
    assert listed == len(load_catalog(ROOT / "catalog").entries)
