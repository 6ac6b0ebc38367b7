"""Machine-readable outputs built with the site, and the catalog explorer page.

Pure functions from a ``Catalog`` to file contents, like ``atlas.site``: the MkDocs hooks
only decide where the results go.

* ``catalog_export``: ``catalog.json``, every entry with the export's format version and the
  URL of the entry schema (``catalog.schema.json`` describes the export itself);
* ``entry_jsonld`` / ``jsonld_script``: schema.org JSON-LD for an entry page, serialised so
  that no contributor text can close the ``<script>`` element it lives in;
* ``atom_feed``: an Atom feed of the newest entries by their ``added`` date;
* ``explorer_data`` / ``explorer_page``: the faceted catalog explorer, a static JSON file and
  a page whose HTML already lists every entry (the plain list readers without JavaScript
  get; ``overrides/assets/javascripts/explorer.js`` replaces it with the filterable table).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Mapping
from functools import partial
from typing import Any

from atlas.catalog import Catalog, Entry
from atlas.refresh.activity import Activity, Status
from atlas.rules import Rules
from atlas.site import (
    _CJK_GAP,
    LABELS,
    LANGUAGE_NAMES,
    SEARCH_EXCLUDE,
    Memo,
    entry_page_path,
    escape_attr,
    huggingface_url,
    license_name,
    makers,
    memoized,
    topic_name,
    unsearched_html,
)

EXPORT_VERSION = 1
EXPORT_SCHEMA_NAME = "catalog.schema.json"
FEED_LIMIT = 50
EXPLORER_URI = "catalog/explorer.md"
EXPLORER_DATA_URI = "catalog/explorer.json"

EXPLORER_LABELS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Catalog explorer",
        "intro": "Every entry of the catalog in one table: filter by kind, topic, level, access, "
                 "language, year and, for models and datasets, modality, weights and commercial "
                 "use; search the text, sort by any column. The address bar keeps your filters, "
                 "so you can share the link.",
        "noscript": "Without JavaScript this page is a plain list of all entries.",
        "filter": "Filter by text", "placeholder": "Title, author, description, tag…",
        "kind": "Kind", "topic": "Topic", "all_topics": "All topics", "level": "Level",
        "access": "Access", "language": "Language", "lang": "Language", "modality": "Modality",
        "weights": "Weights", "commercial": "Commercial use", "year": "Year", "from": "from",
        "to": "to",
        "reset": "Clear filters", "shown": "{shown} of {total} entries",
        "more": "Show {count} more", "title_col": "Title", "added": "Added", "none":
        "No entry matches these filters.", "feed": "Newest entries (Atom feed)",
        "export": "The whole catalog as JSON",
        "activity": "Activity", "active": "Active in the last year",
        "inactive": "No activity for a year", "archived": "Archived", "stars": "Stars",
        "last_activity": "Last activity",
        "fetched": "Stars and activity: GitHub, PyPI and Hugging Face data fetched {dates}.",
    },
    "zh": {
        "title": "资源筛选",
        "intro": "在一张表中浏览目录的全部资源：按类型、主题、难度、获取方式、语言和年份筛选，"
                 "模型和数据集还可按模态、权重和商用许可筛选；按文字搜索，点击列标题排序。"
                 "地址栏会保存当前筛选条件，可以直接分享链接。",
        "noscript": "未启用 JavaScript 时，本页是全部资源的简单列表。",
        "filter": "按文字筛选", "placeholder": "标题、作者、简介、标签……",
        "kind": "类型", "topic": "主题", "all_topics": "全部主题", "level": "难度",
        "access": "获取方式", "language": "语言", "lang": "语言", "modality": "模态",
        "weights": "权重", "commercial": "商用", "year": "年份", "from": "从", "to": "到",
        "reset": "清除筛选", "shown": "显示 {shown} / {total} 项", "more": "再显示 {count} 项",
        "title_col": "标题", "added": "收录日期", "none": "没有符合条件的资源。",
        "feed": "最新收录（Atom 订阅）", "export": "整个目录的 JSON 数据",
        "activity": "活跃度", "active": "最近一年内活跃", "inactive": "一年以上无活动",
        "archived": "已归档", "stars": "星标", "last_activity": "最近活动",
        "fetched": "星标与活跃度：来自 GitHub、PyPI 与 Hugging Face 的数据，获取于 {dates}。",
    },
}


# ---------------------------------------------------------------------------------------
# Shared helpers


def plain(text: str) -> str:
    """Folded YAML text as a reader sees it: one space between words, none between hanzi."""
    return _CJK_GAP.sub("", " ".join(str(text).split()))


def absolute(site_url: str | None, path: str) -> str | None:
    return f"{site_url.rstrip('/')}/{path}" if site_url else None


def _topic_ancestry(catalog: Catalog, topic_ids: Iterable[str]) -> list[str]:
    """The topics and all their ancestors, each once, in a stable order."""
    seen: list[str] = []
    for topic_id in topic_ids:
        current = catalog.topics.get(topic_id)
        while current is not None and current.id not in seen:
            seen.append(current.id)
            current = catalog.topics.get(current.parent) if current.parent else None
    return seen


# ---------------------------------------------------------------------------------------
# catalog.json


def rules_of(catalog: Catalog) -> Rules:
    assert catalog.rules is not None, "a catalog whose schema loaded"
    return catalog.rules


def entry_schema_url(catalog: Catalog) -> str:
    return str(rules_of(catalog).schema.get("$id", "schema.json"))


def catalog_export(catalog: Catalog, site_url: str | None = None,
                   directory_urls: bool = True) -> dict[str, Any]:
    """The whole catalog as one JSON document (entries sorted by id, so builds are stable)."""
    entries = [export_record(entry, site_url, directory_urls)
               for entry in sorted(catalog.entries, key=lambda e: e.id)]
    return {**_export_head(catalog, len(entries)), "entries": entries}


def export_record(entry: Entry, site_url: str | None = None, directory_urls: bool = True
                  ) -> dict[str, Any]:
    record: dict[str, Any] = {"id": entry.id, **entry.data}
    page = absolute(site_url, entry_page_path(entry.id, directory_urls))
    if page:
        record["page"] = page
    return record


def _export_head(catalog: Catalog, count: int) -> dict[str, Any]:
    schema_url = entry_schema_url(catalog)
    return {
        "$schema": schema_url.rsplit("/", 1)[0] + "/" + EXPORT_SCHEMA_NAME
        if "/" in schema_url else EXPORT_SCHEMA_NAME,
        "version": EXPORT_VERSION,
        "schema": schema_url,
        "count": count,
        "topics": [{"id": t.id, "name": t.name, "parent": t.parent,
                    **({"formerly": list(t.formerly)} if t.formerly else {})}
                   for t in catalog.topics.values()],
    }


def catalog_json(catalog: Catalog, site_url: str | None = None, directory_urls: bool = True,
                 memo: Memo | None = None) -> str:
    """catalog.json: ``catalog_export`` as JSON indented by one space. Each entry is
    written on its own (with a ``memo``, once while it is unchanged): Python's JSON encoder
    is slow at indenting, and the file holds the whole catalog."""
    def written(entry: Entry) -> str:
        text = json.dumps(export_record(entry, site_url, directory_urls), ensure_ascii=False,
                          indent=1)
        return "\n".join("  " + line for line in text.split("\n"))  # two levels down

    entries = sorted(catalog.entries, key=lambda e: e.id)
    head = json.dumps({**_export_head(catalog, len(entries)), "entries": []},
                      ensure_ascii=False, indent=1)
    if not entries:
        return head + "\n"
    items = [memoized(memo, ("export", id(entry), site_url, directory_urls), (entry,),
                      partial(written, entry)) for entry in entries]
    return head.removesuffix("[]\n}") + "[\n" + ",\n".join(items) + "\n ]\n}\n"


def export_schema(rules: Rules) -> dict[str, Any]:
    """The JSON Schema of catalog.json, made from the entry schema: every entry is an entry
    file's fields (checked against the entry schema, named by its $id) plus ``id`` and
    ``page``; the vocabularies come from the same place, so the two cannot disagree."""
    entry_id = rules.schema.get("$id", "schema.json")
    base = entry_id.rsplit("/", 1)[0] + "/" if "/" in entry_id else ""
    slug = {"type": "string", "pattern": "^[a-z0-9]+(-[a-z0-9]+)*$"}
    bilingual = {"type": "object", "required": ["en", "zh"],
                 "properties": {"en": {"type": "string"}, "zh": {"type": "string"}}}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": base + EXPORT_SCHEMA_NAME,
        "title": "AIGC Atlas catalog export (catalog.json)",
        "description": "The whole catalog as one document, built with the site. Each entry "
                       "is an entry file's fields (see the entry schema named by `schema`) "
                       "plus its `id` and, when the site's URL is known, its `page`.",
        "type": "object",
        "additionalProperties": False,
        "required": ["$schema", "version", "schema", "count", "topics", "entries"],
        "properties": {
            "$schema": {"type": "string", "format": "uri"},
            "version": {"description": "Format version of this export; a change that breaks "
                                       "readers increments it.", "const": EXPORT_VERSION},
            "schema": {"description": "URL of the JSON Schema every entry's fields (without "
                                      "id and page) conform to.",
                       "type": "string", "format": "uri", "pattern": "^https?://"},
            "count": {"description": "Number of entries.", "type": "integer", "minimum": 0},
            "topics": {"type": "array", "items": {
                "type": "object", "additionalProperties": False,
                "required": ["id", "name", "parent"],
                "properties": {"id": slug, "name": bilingual,
                               "parent": {"anyOf": [slug, {"type": "null"}]},
                               "formerly": {"type": "array", "items": slug}}}},
            "entries": {"type": "array", "items": {
                "type": "object",
                "required": ["id", *rules.schema["required"]],
                "properties": {
                    "id": slug,
                    "page": {"type": "string", "format": "uri", "pattern": "^https?://"},
                    "kind": {"enum": list(rules.kinds)},
                    "level": {"enum": list(rules.vocabulary("level"))},
                    "access": {"enum": list(rules.vocabulary("access"))},
                    "description": bilingual,
                    "topics": {"type": "array", "minItems": 1, "items": slug},
                }}},
        },
    }


# ---------------------------------------------------------------------------------------
# JSON-LD

# schema.org has no type for a trained model: a CreativeWork, as Hugging Face's model cards
# and Papers with Code describe them.
SCHEMA_TYPES = {"book": "Book", "website": "WebSite", "tool": "SoftwareApplication",
                "paper": "ScholarlyArticle", "course": "Course", "model": "CreativeWork",
                "dataset": "Dataset"}


def entry_jsonld(entry: Entry, catalog: Catalog, lang: str,
                 page_url: str | None = None) -> dict[str, Any]:
    """The schema.org description of one entry, from its fields and nothing else."""
    data = entry.data
    thing: dict[str, Any] = {
        "@context": "https://schema.org",
        "@type": SCHEMA_TYPES[entry.kind],
        "name": entry.title,
        "url": data["url"],
        "description": plain(entry.text("description", lang)),
        "inLanguage": list(entry.languages),
        "about": [{"@type": "Thing", "name": topic_name(catalog.topics[t], lang)}
                  for t in entry.topics if t in catalog.topics],
    }
    translated = entry.translated(lang)
    if translated:
        thing["alternateName"] = translated
    if page_url:
        thing["mainEntityOfPage"] = page_url
    if data.get("tags"):
        thing["keywords"] = ", ".join(data["tags"])
    if entry.access in ("free", "open-source"):
        thing["isAccessibleForFree"] = True
    elif entry.access == "paid":
        thing["isAccessibleForFree"] = False
    if entry.authors:  # the schema has no way to tell people from organisations
        thing["author"] = [{"@type": "Person", "name": name} for name in entry.authors]
    for organisation in (entry.developer, entry.creator):
        if organisation:
            thing["creator"] = {"@type": "Organization", "name": organisation}
    if entry.year is not None:
        thing["datePublished"] = str(entry.year)
    if entry.kind == "book":
        if "isbn" in data:
            thing["isbn"] = data["isbn"]
        if "publisher" in data:
            thing["publisher"] = {"@type": "Organization", "name": data["publisher"]}
        if "edition" in data:
            thing["bookEdition"] = data["edition"]
    if entry.kind == "paper":
        thing["headline"] = entry.title[:110]
        identifiers, same_as = [], []
        if "arxiv" in data:
            identifiers.append({"@type": "PropertyValue", "propertyID": "arXiv",
                                "value": data["arxiv"]})
            same_as.append(f"https://arxiv.org/abs/{data['arxiv']}")
        if "doi" in data:
            identifiers.append({"@type": "PropertyValue", "propertyID": "DOI",
                                "value": data["doi"]})
            same_as.append(f"https://doi.org/{data['doi']}")
        thing["identifier"] = identifiers
        thing["sameAs"] = same_as
    if entry.license:
        thing["license"] = license_url(entry.license) or license_name(entry.license)
    if entry.kind == "model":
        thing["additionalType"] = "https://schema.org/SoftwareSourceCode" \
            if entry.weights == "open" else "https://schema.org/Service"
    if entry.kind in ("model", "dataset"):
        same_as = [url for url in (entry.repository, entry.huggingface and huggingface_url(entry),
                                   entry.arxiv and f"https://arxiv.org/abs/{entry.arxiv}")
                   if url]
        if same_as:
            thing["sameAs"] = same_as

    if entry.kind == "course" and "provider" in data:
        thing["provider"] = {"@type": "Organization", "name": data["provider"]}
    return thing


def license_url(license_id: str) -> str | None:
    """The SPDX page of a licence id (none for a LicenseRef-, which SPDX does not list)."""
    return None if license_id.startswith("LicenseRef-") else \
        f"https://spdx.org/licenses/{license_id}.html"


def jsonld_script(data: dict[str, Any]) -> str:
    """A ``<script type="application/ld+json">`` element that no string value can break.

    ``<``, ``>`` and ``&`` become ``\\u003c`` etc. (still the same JSON), so neither
    ``</script>`` nor ``<!--`` can appear inside; U+2028/9 are escaped for old parsers.
    """
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"),
                          ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return f'<script type="application/ld+json">{text}</script>'


def insert_into_head(html: str, snippet: str) -> str:
    """Put ``snippet`` just before ``</head>`` (the page is left alone if it has none)."""
    index = html.find("</head>")
    return html if index < 0 else html[:index] + snippet + "\n" + html[index:]


VERBATIM = re.compile(r"(<(pre|textarea|script|style)\b.*?</\2\s*>)", re.S | re.I)
INDENTATION = re.compile(r"\n[ \t]*(?:\n[ \t]*)*")


def compact_html(html: str) -> str:
    """Drop indentation and blank lines outside ``pre``, ``textarea``, ``script`` and
    ``style``: Material's templates indent deeply, and entry pages (one per catalog entry)
    lose about 12% of their bytes. A newline stays wherever there was whitespace, so inline
    text renders the same."""
    parts = VERBATIM.split(html)
    # split() with two groups yields: text, whole element, tag name, text, ...
    return "".join(INDENTATION.sub("\n", part) if index % 3 == 0 else
                   (part if index % 3 == 1 else "")
                   for index, part in enumerate(parts))


# ---------------------------------------------------------------------------------------
# Atom feed

ATOM = "http://www.w3.org/2005/Atom"


def atom_feed(catalog: Catalog, lang: str, site_url: str | None, site_name: str,
              directory_urls: bool = True, limit: int = FEED_LIMIT) -> str:
    """An Atom 1.0 feed of the ``limit`` most recently added entries (RFC 4287)."""
    ET.register_namespace("", ATOM)
    newest = sorted(catalog.entries, key=lambda e: (e.data["added"], e.id), reverse=True)[:limit]

    def sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
        element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
        if text is not None:
            element.text = text
        return element

    def stamp(day: str) -> str:
        return f"{day}T00:00:00Z"

    base = site_url.rstrip("/") + "/" if site_url else None
    feed = ET.Element(f"{{{ATOM}}}feed", {"xml:lang": "zh-Hans" if lang == "zh" else "en"})
    sub(feed, "id", base or "urn:aigc-atlas:feed:" + lang)
    sub(feed, "title", site_name)
    sub(feed, "subtitle", EXPLORER_LABELS[lang]["feed"])
    sub(feed, "updated", stamp(newest[0].data["added"]) if newest else "1970-01-01T00:00:00Z")
    if base:
        sub(feed, "link", rel="self", type="application/atom+xml", href=base + "feed.xml")
        sub(feed, "link", rel="alternate", type="text/html", href=base)
    author = sub(feed, "author")
    sub(author, "name", "AIGC Atlas")
    sub(feed, "generator", "atlas")
    for entry in newest:
        item = sub(feed, "entry")
        page = base + entry_page_path(entry.id, directory_urls) if base else None
        sub(item, "id", page or f"urn:aigc-atlas:entry:{entry.id}")
        title = entry.title
        translated = entry.translated(lang)
        sub(item, "title", f"{title} ({translated})" if translated else title)
        sub(item, "updated", stamp(entry.data["added"]))
        sub(item, "published", stamp(entry.data["added"]))
        sub(item, "link", rel="alternate", type="text/html", href=page or entry.data["url"])
        sub(item, "link", rel="related", href=entry.data["url"])
        sub(item, "summary", plain(entry.text("description", lang)))
        sub(item, "category", term=entry.kind, label=LABELS[lang][entry.kind])
        for topic_id in entry.topics:
            if topic_id in catalog.topics:
                sub(item, "category", term=topic_id,
                    label=topic_name(catalog.topics[topic_id], lang))
    ET.indent(feed)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode") \
        + "\n"


# ---------------------------------------------------------------------------------------
# The catalog explorer


# The explorer's facets: (facet id, the record key it filters on, where its values come
# from). A facet over a list (languages, modalities) matches an entry having any chosen value.
EXPLORER_FACETS = (("kind", "k", "kind"), ("level", "l", "level"), ("access", "x", "access"),
                   ("lang", "g", None), ("modality", "md", "modality"),
                   ("weights", "w", "weights"), ("commercial", "c", "commercial_use"))


# The table's columns: (column id, record key, how a cell shows, sorted descending first).
# The last two exist only when catalog/metadata.json covers some entry.
EXPLORER_COLUMNS = (("title", "t", "title", False), ("kind", "k", "label", False),
                    ("year", "y", "text", True), ("level", "l", "label", False),
                    ("access", "x", "label", False), ("added", "d", "text", True))
ACTIVITY_COLUMNS = (("stars", "st", "number", True), ("last_activity", "la", "text", True))
ACTIVITY_FACET = ("activity", "ac")


def explorer_record(entry: Entry, catalog: Catalog, lang: str,
                    activity: Activity | None = None) -> dict[str, Any]:
    """One entry as the explorer needs it (short keys: the file has one per entry; keys of
    facets an entry has no value for are left out)."""
    record = {
        "id": entry.id,
        "k": entry.kind,
        "t": entry.title,
        "tt": entry.translated(lang) or "",
        "a": ", ".join(makers(entry)),
        "y": entry.year,
        "d": entry.added,
        "l": entry.level,
        "x": entry.access,
        "g": list(entry.languages),
        "m": list(entry.topics),
        "p": _topic_ancestry(catalog, entry.topics),
        "s": plain(entry.text("description", lang)),
        "tg": list(entry.tags),
    }
    optional: dict[str, Any] = {"md": entry.modalities_all, "w": entry.weights,
                                "c": entry.commercial_use}
    if activity:
        optional.update(st=activity.stars, la=activity.last_activity,
                        ac=activity.status.value if activity.status else None)
    record.update({key: value for key, value in optional.items()
                   if value or (key == "st" and value == 0)})
    return record


def explorer_facets(catalog: Catalog, lang: str, with_activity: bool = False
                    ) -> list[dict[str, Any]]:
    """Each facet with its label and its values in the schema's order (the order sorting by
    that column follows, e.g. beginner < intermediate < advanced); with the metadata, the
    activity facet ("active in the last year", inactive, archived)."""
    rules, t, e = rules_of(catalog), LABELS[lang], EXPLORER_LABELS[lang]
    facets = []
    for facet, key, vocabulary in EXPLORER_FACETS:
        if vocabulary is None:
            values = sorted({code for entry in catalog.entries for code in entry.languages})
            names = {code: LANGUAGE_NAMES.get(code, code) for code in values}
        else:
            values = list(rules.kinds if vocabulary == "kind" else rules.vocabulary(vocabulary))
            names = {value: t[value] for value in values}
        facets.append({"id": facet, "key": key, "label": e[facet],
                       "many": key in ("g", "md"),
                       "values": [{"value": v, "label": names[v]} for v in values]})
    if with_activity:
        facet, key = ACTIVITY_FACET
        facets.append({"id": facet, "key": key, "label": e[facet], "many": False,
                       "values": [{"value": s.value, "label": e[s.value]} for s in Status]})
    return facets


def explorer_columns(lang: str, with_activity: bool = False) -> list[dict[str, Any]]:
    e = EXPLORER_LABELS[lang]
    labels = {"title": e["title_col"], "added": e["added"]}
    return [{"id": column, "key": key, "type": shown, "descending": descending,
             "label": labels.get(column) or e[column]}
            for column, key, shown, descending in
            EXPLORER_COLUMNS + (ACTIVITY_COLUMNS if with_activity else ())]


def fetched_dates(activity: Iterable[Activity]) -> str | None:
    """When the metadata shown was fetched: a day, or the first and last."""
    dates = sorted({a.fetched for a in activity})
    if not dates:
        return None
    return dates[0] if len(dates) == 1 else f"{dates[0]} – {dates[-1]}"


def explorer_data(catalog: Catalog, lang: str, directory_urls: bool = True,
                  activity: Mapping[str, Activity] | None = None, memo: Memo | None = None
                  ) -> dict[str, Any]:
    """The explorer's static JSON: its labels, its columns, its facets and their
    vocabularies (read from the schema, so the script keeps no copy), the topic tree and
    every entry; with the metadata, stars, last activity and when they were fetched."""
    listed = {entry.id for entry in catalog.entries}
    activity = {key: value for key, value in (activity or {}).items() if key in listed}
    topics = []

    def walk(parent: str | None, depth: int) -> None:
        for topic in catalog.children(parent):
            topics.append({"id": topic.id, "name": topic_name(topic, lang), "depth": depth})
            walk(topic.id, depth + 1)

    walk(None, 0)
    data = {
        "version": EXPORT_VERSION,
        "lang": lang,
        "entryPath": "entries/{id}/" if directory_urls else "entries/{id}.html",
        "labels": EXPLORER_LABELS[lang],
        "columns": explorer_columns(lang, bool(activity)),
        "facets": explorer_facets(catalog, lang, bool(activity)),
        "topics": topics,
        "entries": [memoized(memo, ("record", lang, id(e), id(catalog.topics),
                                    activity.get(e.id)), (e, catalog.topics),
                             partial(explorer_record, e, catalog, lang, activity.get(e.id)))
                    for e in catalog.by_title()],
    }
    if activity:
        data["fetched"] = fetched_dates(activity.values())
    return data


def explorer_json(catalog: Catalog, lang: str, directory_urls: bool = True,
                  activity: Mapping[str, Activity] | None = None, memo: Memo | None = None
                  ) -> str:
    """``explorer_data`` as compact JSON. Each entry's record is encoded on its own (with a
    ``memo``, once while it is unchanged, as the records are): the file holds the whole
    catalog, and encoding it whole was most of what a rebuild under serve spent on it."""
    data = explorer_data(catalog, lang, directory_urls, activity, memo)
    parts = []
    for key, value in data.items():
        if key == "entries":
            text = "[" + ",".join(memoized(memo, ("record json", id(record)), (record,),
                                           partial(_compact_json, record))
                                  for record in value) + "]"
        else:
            text = _compact_json(value)
        parts.append(f"{_compact_json(key)}:{text}")
    return "{" + ",".join(parts) + "}"


def _compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def explorer_page(catalog: Catalog, lang: str, directory_urls: bool = True,
                  suggest_url: str | None = None, fragments: dict[str, str] | None = None,
                  memo: Memo | None = None) -> str:
    """The explorer page: a plain HTML list of every entry, which the script replaces.

    The list (every catalog string HTML-escaped) is one raw HTML block, which grows with
    the catalog: with ``fragments`` the build puts it in after Markdown (``unsearched_html``).
    """
    t, e = LABELS[lang], EXPLORER_LABELS[lang]
    root = "../../" if directory_urls else "../"
    lines = ["---", "search:", "  exclude: true", "hide:", "  - toc", "---", "",
             f"# {e['title']}", "", e["intro"], ""]
    links = [f"[{e['feed']}](../feed.xml)"]
    if lang == "en":
        links.append(f"[{e['export']}](../catalog.json)")
    else:  # catalog.json sits at the root of the English site, outside this build's docs
        links.append(f'<a href="{root}../catalog.json">{escape_attr(e["export"])}</a>')
    if suggest_url:
        links.append(f"[{t['suggest']}]({escape_attr(suggest_url)})")
    lines += [" · ".join(links), ""]
    data_src = root + EXPLORER_DATA_URI
    lines.append(f'<div class="atlas-explorer" data-src="{escape_attr(data_src)}" '
                 f'data-root="{root}">')
    lines.append(f'<p class="atlas-explorer__noscript">{escape_attr(e["noscript"])}</p>')
    lines.append(unsearched_html(explorer_fallback(catalog, lang, directory_urls, memo),
                                 fragments))
    lines += ["</div>", ""]
    return "\n".join(lines)


def explorer_fallback(catalog: Catalog, lang: str, directory_urls: bool = True,
                      memo: Memo | None = None) -> str:
    """Every entry as an HTML list item, for readers without JavaScript (with a ``memo``,
    the list is made again only when an entry changed, and then only that entry's item)."""
    ordered = catalog.by_title()

    def made() -> str:
        items = [memoized(memo, ("fallback", lang, id(entry), directory_urls), (entry,),
                          partial(_fallback_item, entry, lang, directory_urls))
                 for entry in ordered]
        return "\n".join([f'<ol class="atlas-explorer__fallback" {SEARCH_EXCLUDE}>', *items,
                          "</ol>"])

    return memoized(memo, ("fallback list", lang, tuple(map(id, ordered)), directory_urls),
                    tuple(ordered), made)


def _fallback_item(entry: Entry, lang: str, directory_urls: bool) -> str:
    t = LABELS[lang]
    href = ("../../" if directory_urls else "../") + entry_page_path(entry.id, directory_urls)
    translated = entry.translated(lang)
    facts = [t[entry.kind], t[entry.level], t[entry.access]]
    if entry.year is not None:
        facts.append(str(entry.year))
    return (f'<li data-id="{escape_attr(entry.id)}"><a href="{escape_attr(href)}">'
            f"{escape_attr(entry.title)}</a>"
            + (f" ({escape_attr(translated)})" if translated else "")
            + f" · {escape_attr(' · '.join(facts))}"
            + f"<br>{escape_attr(entry.text('description', lang))}</li>")


def site_outputs(catalog: Catalog, lang: str, site_url: str | None, site_name: str,
                 directory_urls: bool = True, primary: bool = True,
                 suggest_url: str | None = None,
                 activity: Mapping[str, Activity] | None = None,
                 fragments: dict[str, str] | None = None, memo: Memo | None = None
                 ) -> dict[str, str]:
    """Every file this module adds to one language's build, as {path: text}. ``fragments``
    as for ``site.generate_pages``; with a ``memo`` (``make serve``), what is made of each
    entry is kept from one build to the next."""
    outputs = {
        EXPLORER_URI: explorer_page(catalog, lang, directory_urls, suggest_url, fragments,
                                    memo),
        EXPLORER_DATA_URI: memoized(
            memo, ("explorer json", lang, tuple(map(id, catalog.entries)), id(catalog.topics),
                   id(catalog.rules), tuple((activity or {}).get(e.id) for e in catalog.entries),
                   directory_urls), (*catalog.entries, catalog.topics, catalog.rules),
            partial(explorer_json, catalog, lang, directory_urls, activity, memo)),
        "feed.xml": atom_feed(catalog, lang, site_url, site_name, directory_urls),
    }
    if primary:  # language-independent: only at the root of the site
        outputs["catalog.json"] = memoized(
            memo, ("catalog json", tuple(map(id, catalog.entries)), id(catalog.topics),
                   id(catalog.rules), site_url, directory_urls),
            (*catalog.entries, catalog.topics, catalog.rules),
            partial(catalog_json, catalog, site_url, directory_urls, memo))
        outputs["schema.json"] = json.dumps(rules_of(catalog).schema, ensure_ascii=False,
                                            indent=2) + "\n"
        outputs[EXPORT_SCHEMA_NAME] = json.dumps(export_schema(rules_of(catalog)),
                                                 ensure_ascii=False, indent=2) + "\n"
    return outputs
