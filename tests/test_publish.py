"""Machine-readable outputs: catalog.json, schema.org JSON-LD and the Atom feed."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from atlas import publish
from atlas.catalog import Catalog, Entry, load_catalog
from conftest import ROOT
from jsonschema import Draft202012Validator, FormatChecker
from test_explorer import synthetic_catalog
from test_site import hostile_entry

ATOM = "{http://www.w3.org/2005/Atom}"
RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")
JSONLD = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.S)

# schema.org properties each type expects (from schema.org's type pages, a subset: the ones
# an entry can fill). Thing < CreativeWork < Book, WebSite, SoftwareApplication, Article <
# ScholarlyArticle, Course.
THING = {"name", "url", "description", "alternateName", "sameAs", "identifier",
         "mainEntityOfPage"}
CREATIVE_WORK = THING | {"author", "datePublished", "inLanguage", "about", "keywords",
                         "isAccessibleForFree", "publisher", "license", "provider", "headline"}
EXPECTED = {
    "Book": CREATIVE_WORK | {"isbn", "bookEdition"},
    "WebSite": CREATIVE_WORK,
    "SoftwareApplication": CREATIVE_WORK | {"applicationCategory", "operatingSystem"},
    "ScholarlyArticle": CREATIVE_WORK,
    "Course": CREATIVE_WORK | {"courseCode"},
    "CreativeWork": CREATIVE_WORK | {"creator", "additionalType"},
    "Dataset": CREATIVE_WORK | {"creator", "distribution"},
}
REQUIRED = {"Book": {"author"}, "ScholarlyArticle": {"author", "headline", "datePublished"},
            "WebSite": set(), "SoftwareApplication": set(), "Course": set(),
            "CreativeWork": {"creator"}, "Dataset": {"creator", "license"}}


def check_jsonld(data: dict[str, Any]) -> None:
    """As far as is reasonable offline: types, expected properties and value shapes."""
    assert data["@context"] == "https://schema.org"
    kind = data["@type"]
    assert kind in EXPECTED
    properties = set(data) - {"@context", "@type"}
    assert properties <= EXPECTED[kind], properties - EXPECTED[kind]
    assert {"name", "url", "description"} | REQUIRED[kind] <= properties
    assert isinstance(data["name"], str) and data["name"]
    assert re.match(r"^https?://", data["url"])
    for person in data.get("author", []):
        assert person["@type"] in ("Person", "Organization") and person["name"]
    for organisation in (data.get("publisher"), data.get("provider")):
        assert organisation is None or (organisation["@type"] == "Organization"
                                        and organisation["name"])
    assert all(re.fullmatch(r"[a-z]{2}", code) for code in data["inLanguage"])
    assert all(thing["@type"] == "Thing" and thing["name"] for thing in data["about"])
    if "datePublished" in data:
        assert re.fullmatch(r"\d{4}(-\d{2}-\d{2})?", data["datePublished"])
    for identifier in data.get("identifier", []):
        assert identifier["@type"] == "PropertyValue" and identifier["propertyID"]
    if "headline" in data:
        assert len(data["headline"]) <= 110
    if "isAccessibleForFree" in data:
        assert isinstance(data["isAccessibleForFree"], bool)


def every_kind() -> Catalog:
    catalog = synthetic_catalog(14)
    extra: dict[str, dict[str, Any]] = {
        "paper": {"arxiv": "1706.03762"},
        "tool": {"access": "open-source", "license": "MIT",
                 "repository": "https://github.com/example/tool"},
        "course": {"provider": "Some University"},
        "book": {"isbn": "978-0-262-03561-3", "publisher": "MIT Press", "edition": "2nd"},
    }
    catalog.entries = [Entry.of(e.id, e.kind, e.path, {**e.data, **extra.get(e.kind, {})})
                       for e in catalog.entries]
    return catalog


def test_jsonld_for_every_kind() -> None:
    catalog = every_kind()
    types = set()
    for lang in ("en", "zh"):
        for entry in catalog.entries:
            data = publish.entry_jsonld(entry, catalog, lang, f"https://x.org/{entry.id}/")
            check_jsonld(data)
            types.add(data["@type"])
            assert data["name"] == entry.title
    assert types == set(EXPECTED)


def test_jsonld_script_cannot_be_closed_by_contributor_text() -> None:
    real = load_catalog(ROOT / "catalog")
    hostile = hostile_entry()
    entry = Entry.of(hostile.id, hostile.kind, hostile.path,
                     {**hostile.data, "title": "</script><script>alert(1)</script><!-- & \u2028"})
    catalog = Catalog(real.root, [entry], real.topics, [], real.rules)
    data = publish.entry_jsonld(entry, catalog, "en")
    script = publish.jsonld_script(data)
    inner = script.removeprefix('<script type="application/ld+json">').removesuffix("</script>")
    assert "<" not in inner and ">" not in inner and "&" not in inner and "\u2028" not in inner
    assert json.loads(inner) == data


@pytest.mark.slow
def test_compact_html_keeps_verbatim_elements_and_inline_spaces() -> None:
    html = ("<div>\n    <p>one\n\n      two</p>\n<pre>  x\n\n  y</pre>\n  <script>\n  a = 1;\n"
            "</script>\n  <TEXTAREA> t\n\n</TEXTAREA>\n  <style>\n  p {}\n</style>")
    assert publish.compact_html(html) == (
        "<div>\n<p>one\ntwo</p>\n<pre>  x\n\n  y</pre>\n<script>\n  a = 1;\n</script>\n"
        "<TEXTAREA> t\n\n</TEXTAREA>\n<style>\n  p {}\n</style>")


def test_entry_pages_carry_jsonld(built_site: Path) -> None:
    catalog = load_catalog(ROOT / "catalog")
    for prefix in ("", "zh/"):
        for entry in catalog.entries:
            html = (built_site / prefix / "entries" / entry.id / "index.html").read_text("utf-8")
            head = html.split("</head>")[0]
            scripts = JSONLD.findall(head)
            assert len(scripts) == 1, entry.id
            data = json.loads(scripts[0])
            check_jsonld(data)
            assert data["@type"] == publish.SCHEMA_TYPES[entry.kind]
            assert data["name"] == entry.title and data["url"] == entry.url
            assert data["mainEntityOfPage"].endswith(f"/{prefix}entries/{entry.id}/")
    for prefix in ("", "zh/"):
        home = (built_site / prefix / "index.html").read_text("utf-8").split("</head>")[0]
        link = re.search(r'<link rel="alternate" type="application/atom\+xml"[^>]*href="([^"]+)"',
                         home)
        assert link and link.group(1) == "feed.xml"


# ---------------------------------------------------------------------------------------
# Atom


def check_atom(text: str) -> list[ET.Element]:
    """RFC 4287's required elements; returns the entries."""
    root = ET.fromstring(text.encode("utf-8"))
    assert root.tag == f"{ATOM}feed"
    for tag in ("id", "title", "updated"):
        assert len(root.findall(f"{ATOM}{tag}")) == 1, tag
    assert RFC3339.match(root.findtext(f"{ATOM}updated"))
    feed_author = root.find(f"{ATOM}author")
    entries = root.findall(f"{ATOM}entry")
    ids = set()
    for item in entries:
        for tag in ("id", "title", "updated"):
            assert len(item.findall(f"{ATOM}{tag}")) == 1, tag
        assert RFC3339.match(item.findtext(f"{ATOM}updated"))
        assert feed_author is not None or item.find(f"{ATOM}author") is not None
        alternates = [link for link in item.findall(f"{ATOM}link")
                      if link.get("rel", "alternate") == "alternate"]
        assert len(alternates) == 1 and alternates[0].get("href")
        assert item.find(f"{ATOM}summary") is not None or item.find(f"{ATOM}content") \
            is not None or alternates
        ids.add(item.findtext(f"{ATOM}id"))
    assert len(ids) == len(entries), "entry ids are unique"
    updated = [item.findtext(f"{ATOM}updated") for item in entries]
    assert updated == sorted(updated, reverse=True), "newest first"
    return entries


def test_feed_lists_the_newest_entries() -> None:
    catalog = synthetic_catalog(80)
    text = publish.atom_feed(catalog, "en", "https://x.org/atlas/", "AIGC Atlas")
    entries = check_atom(text)
    assert len(entries) == publish.FEED_LIMIT
    newest = sorted(catalog.entries, key=lambda e: (e.added, e.id), reverse=True)
    assert [item.findtext(f"{ATOM}id") for item in entries] == [
        f"https://x.org/atlas/entries/{e.id}/" for e in newest[:publish.FEED_LIMIT]]
    # Without a site URL the ids are still valid, permanent IRIs.
    assert check_atom(publish.atom_feed(catalog, "zh", None, "x"))[0].findtext(
        f"{ATOM}id").startswith("urn:aigc-atlas:entry:")


def test_feed_keeps_hostile_text_as_text() -> None:
    real = load_catalog(ROOT / "catalog")
    entry = hostile_entry()
    text = publish.atom_feed(Catalog(real.root, [entry], real.topics, [], real.rules), "en", None,
                             "x")
    item = check_atom(text)[0]
    assert item.findtext(f"{ATOM}title") == entry.title
    assert "<script>" not in text


@pytest.mark.slow
def test_built_feeds_are_valid_atom(built_site: Path) -> None:
    catalog = load_catalog(ROOT / "catalog")
    for prefix in ("", "zh/"):
        entries = check_atom((built_site / prefix / "feed.xml").read_text("utf-8"))
        assert len(entries) == min(publish.FEED_LIMIT, len(catalog.entries))


# ---------------------------------------------------------------------------------------
# catalog.json


def test_export_schema_is_a_valid_schema() -> None:
    Draft202012Validator.check_schema(publish.export_schema(load_catalog(ROOT / "catalog").rules))


@pytest.mark.slow
def test_catalog_json_matches_its_schemas(built_site: Path) -> None:
    catalog = load_catalog(ROOT / "catalog")
    export = json.loads((built_site / "catalog.json").read_text("utf-8"))
    export_schema = publish.export_schema(catalog.rules)
    Draft202012Validator(export_schema, format_checker=FormatChecker()).validate(export)
    entry_schema = json.loads((ROOT / "catalog/schema.json").read_text("utf-8"))
    assert export["version"] == publish.EXPORT_VERSION
    assert export["schema"] == entry_schema["$id"]
    assert export["count"] == len(export["entries"]) == len(catalog.entries)
    entry_validator = Draft202012Validator(entry_schema, format_checker=FormatChecker())
    for record in export["entries"]:
        fields = {k: v for k, v in record.items() if k not in ("id", "page")}
        assert list(entry_validator.iter_errors(fields)) == [], record["id"]
        assert fields == catalog.by_id()[record["id"]].data
        assert record["page"].endswith(f"/entries/{record['id']}/")
    # The schemas it names are published next to it.
    assert json.loads((built_site / "schema.json").read_text("utf-8")) == entry_schema
    assert json.loads((built_site / "catalog.schema.json").read_text("utf-8")) == export_schema
    assert not (built_site / "zh" / "catalog.json").exists()


def test_contributor_links_lead_to_the_contributor_flow() -> None:
    from atlas import site

    catalog = load_catalog(ROOT / "catalog")
    repo = "https://github.com/aigc-atlas/atlas"
    for lang in site.LANGS:
        pages = site.generate_pages(catalog, lang, {}, ROOT, set(), f"{repo}/edit/main", repo)
        entry = catalog.entries[0]
        text = pages[f"entries/{entry.id}.md"]
        assert f"{repo}/edit/main/{entry.path.as_posix()}" in text
        assert f"{repo}/blob/main/CONTRIBUTING.md" in text
        for kind_page in ("catalog/books.md", "catalog/papers.md"):
            assert f"{repo}/issues/new?template=propose-entry.yml" in pages[kind_page]
        explorer = publish.explorer_page(catalog, lang, suggest_url=site.suggest_url(repo))
        assert "propose-entry.yml" in explorer
    assert (ROOT / ".github/ISSUE_TEMPLATE/propose-entry.yml").is_file()
    for lang in site.LANGS:  # the home pages link both
        home = (ROOT / "docs" / lang / "index.md").read_text(encoding="utf-8")
        assert "propose-entry.yml" in home and "CONTRIBUTING.md" in home


def test_catalog_json_is_the_export_indented_by_one_space() -> None:
    """catalog.json is written entry by entry (and, under serve, from a memo): the text is
    what json.dumps makes of the whole export, with and without entries and a site URL."""
    from atlas.site import Memo

    catalog = load_catalog(ROOT / "catalog")
    empty = Catalog(catalog.root, [], catalog.topics, [], catalog.rules)
    memo = Memo()
    for subject, url in ((catalog, "https://example.org/atlas/"), (catalog, None), (empty, None)):
        whole = json.dumps(publish.catalog_export(subject, url), ensure_ascii=False,
                           indent=1) + "\n"
        assert publish.catalog_json(subject, url) == whole
        assert publish.catalog_json(subject, url, memo=memo) == whole
        assert publish.catalog_json(subject, url, memo=memo) == whole  # from the memo
