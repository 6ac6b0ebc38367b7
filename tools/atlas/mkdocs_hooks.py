"""MkDocs hooks: the thin glue between MkDocs and ``atlas.site``.

Configured in mkdocs.yml (``hooks:``). The English build is the primary one: after it
finishes it builds the Chinese site (mkdocs.zh.yml) into ``<site_dir>/zh`` in the same
process, handing over the catalog it already loaded and validated, so ``mkdocs build``
and ``mkdocs serve`` always produce both languages and read the catalog once.

Under ``mkdocs serve --dirty`` (``make serve``) rebuilds are incremental: see
``atlas.incremental``; there the Chinese site is built beside the English one, by a second
process that lives as long as the server (``atlas.alternates``). A catalog with problems
does not stop the server: the site is built from the entries without problems and every
page says what is wrong and where.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
from collections import Counter
from collections.abc import Callable
from functools import partial
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from jinja2 import Environment
from mkdocs import utils
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.plugins import CombinedEvent, event_priority
from mkdocs.structure.files import File, Files, InclusionLevel
from mkdocs.structure.nav import Navigation
from mkdocs.structure.pages import Page
from mkdocs.utils import get_build_date
from watchdog.events import FileSystemEvent, FileSystemEventHandler

from atlas import publish, site
from atlas.alternates import AlternateBuild
from atlas.catalog import METADATA_NAME, Catalog, load_catalog
from atlas.incremental import (
    FEW_PAGES,
    SAVE_GRACE,
    STATE,
    PageRecord,
    SourceRecord,
    digest,
    faster_theme,
    page_source,
    pause_collector,
    resume_collector,
    swap_blocks,
    tree_key,
)
from atlas.refresh import activity, metadata

STATUS_NAME = "atlas-status.json"  # under serve: the catalog's problems, read by atlas.js

log = logging.getLogger("mkdocs.plugins.atlas")
logging.getLogger("jieba").setLevel(logging.WARNING)  # its start-up chatter is not news
# What one build (one language) has learnt, for its later events. The hooks module is shared
# by both languages' builds, and the Chinese build runs inside the English one's last event.
_builds: dict[str, dict[str, Any]] = {}


def _state_of(config: MkDocsConfig) -> dict[str, Any]:
    return _builds.setdefault(_settings(config).get("lang", "en"), {})


def _settings(config: MkDocsConfig) -> dict[str, Any]:
    settings: dict[str, Any] = config.extra.get("atlas", {})
    return settings


def _project_root(config: MkDocsConfig) -> Path:
    return Path(config.config_file_path).resolve().parent


def _public_url(config: MkDocsConfig) -> str | None:
    """The published address of this language's site, ending in '/', if configured."""
    url = _settings(config).get("public_url") or config.site_url
    return url.rstrip("/") + "/" if url else None


def on_startup(command: str, dirty: bool) -> None:
    """Called once per process (not per rebuild): remember whether rebuilds are incremental."""
    STATE.serving = command == "serve" and dirty


@event_priority(100)  # before Material's search plugin renders its translations
def _reuse_compiled_templates(config: MkDocsConfig) -> None:
    """Under serve, every Jinja environment of the theme reuses what earlier rebuilds
    compiled (``faster_theme``); the search plugin makes one in its own on_config."""
    if STATE.serving:
        faster_theme(config.theme)


def _configure(config: MkDocsConfig) -> MkDocsConfig:
    settings = _settings(config)
    root = _project_root(config)
    lang = settings.get("lang", "en")
    primary = "loaded_catalog" not in settings
    if primary and STATE.serving and STATE.renders:  # a rebuild: see _mark_unchanged_pages
        pause_collector()
    if primary and STATE.serving:
        _start_alternates(config)
    catalog_dir = root / settings.get("catalog_dir", "catalog")
    catalog: Catalog = settings.get("loaded_catalog") or load_catalog(
        catalog_dir, cache=STATE.catalog if STATE.serving else None)
    if primary:
        STATE.problems = list(catalog.problems)
    if STATE.serving and primary:  # both languages share it
        STATE.related.update(catalog)
    if catalog.problems:
        listing = "\n".join(map(str, catalog.problems))
        if not STATE.serving:
            raise PluginError(f"the catalog has {len(catalog.problems)} problem(s); "
                              f"run `atlas validate`:\n{listing}")
        if primary and not STATE.alternate_process:  # keep serving the entries without
            # problems; the pages say what is wrong
            log.error("the catalog has %d problem(s); the site shows the entries without "
                      "problems until they are fixed:\n%s", len(catalog.problems), listing)
    examples = site.load_examples(catalog, root / settings.get("examples_dir", "examples"))
    docs_dir = Path(config.docs_dir)
    learn_pages = {p.relative_to(docs_dir).as_posix() for p in (docs_dir / "learn").glob("*.md")}
    learn_titles = {uri: title for uri in learn_pages
                    if (title := _heading(docs_dir / uri)) is not None}
    # catalog/metadata.json (`atlas refresh`) is optional: without it the site is as before.
    try:
        facts = metadata.load(catalog_dir / METADATA_NAME)
    except metadata.MetadataError as error:
        raise PluginError(str(error)) from None
    _builds[lang] = {}
    _state_of(config).update(catalog=catalog, examples=examples, lang=lang, root=root,
                             learn_pages=learn_pages, learn_titles=learn_titles,
                             by_id=catalog.by_id(),
                             activity=activity.activities(facts, activity.build_day()))
    sections = site.generated_nav(catalog, lang, examples)
    if config.nav:
        config.nav = _expand_nav(config.nav, sections)
    if STATE.serving:
        _record_search_entries(config)
    return config


on_config = CombinedEvent(_reuse_compiled_templates, _configure)


def _heading(page: Path) -> str | None:
    """A hand-written page's first-level heading (the title learning paths show for it)."""
    try:
        text = page.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    found = re.search(r"^# (.+?)\s*(?:\{[^}]*\})?\s*$", text, re.M)
    return found.group(1).strip() if found else None


def _expand_nav(items: list[Any], sections: dict[str, list[Any]]) -> list[Any]:
    """Replace marker strings such as ``atlas:topics`` in the nav with generated sections."""
    expanded: list[Any] = []
    for item in items:
        if isinstance(item, dict):
            expanded.append({title: _expand_nav(value, sections) if isinstance(value, list)
                             else sections.get(value, value) for title, value in item.items()})
        elif isinstance(item, str) and item in sections:
            expanded.extend(sections[item])
        else:
            expanded.append(item)
    return expanded


class UnreadPage(File):
    """A generated page whose Markdown is made when MkDocs first reads it. A full build
    renders the entry pages one by one, and each one's Markdown then lives only while it
    is rendered, instead of the whole catalog's pages being held from the start."""

    make: Callable[[], str] | None = None

    @classmethod
    def made_by(cls, config: MkDocsConfig, uri: str, make: Callable[[], str]) -> UnreadPage:
        page = cls.generated(config, uri, content="")
        assert isinstance(page, cls)
        page.make = make
        return page

    @property
    def content_string(self) -> str:
        """Made afresh on each read (MkDocs reads a page once): kept, it would live as long
        as the build, beside the page's own copy."""
        return self.make() if self.make is not None else super().content_string

    @content_string.setter
    def content_string(self, value: str) -> None:
        self.make = None
        self._content = value


class SettledFiles(Files):
    """The site's files, whose Markdown pages are listed once: MkDocs lists them six times
    a build, each a walk of every file (20,000 at 10,000 entries). The listing is kept from
    ``settle`` on (once MkDocs has set every file's inclusion, before the navigation) until
    a file is added or removed."""

    def __init__(self, files: Files) -> None:
        super().__init__(files)
        self._listed: dict[Callable[[InclusionLevel], bool], list[File]] | None = None

    def settle(self) -> None:
        self._listed = {}

    def append(self, file: File) -> None:
        self._listed = None
        super().append(file)

    def remove(self, file: File) -> None:
        self._listed = None
        super().remove(file)

    def documentation_pages(self, *, inclusion: Callable[[InclusionLevel], bool]
                            = InclusionLevel.is_included) -> list[File]:
        if self._listed is None:
            return list(super().documentation_pages(inclusion=inclusion))
        if inclusion not in self._listed:
            self._listed[inclusion] = list(super().documentation_pages(inclusion=inclusion))
        return list(self._listed[inclusion])


def on_files(files: Files, config: MkDocsConfig) -> Files:
    state = _state_of(config)
    settings = _settings(config)
    edit_base = settings.get("edit_base") or (
        f"{config.repo_url.rstrip('/')}/edit/main" if config.repo_url else None)
    memo = STATE.memo(state["lang"]) if STATE.serving else None
    fragments = state.setdefault("fragments", {})
    entry_pages = site.entry_pages(state["catalog"], state["lang"], edit_base, config.repo_url,
                                   state["activity"], memo, config.use_directory_urls,
                                   fragments)
    pages = site.generate_pages(state["catalog"], state["lang"], state["examples"],
                                state["root"], state["learn_pages"], edit_base,
                                config.repo_url, state["activity"], memo,
                                state["learn_titles"], config.use_directory_urls, fragments,
                                with_entries=False)
    if STATE.serving:  # every page's Markdown is needed now, for its fingerprint
        pages = {**{uri: make() for uri, make in entry_pages.items()}, **pages}
        entry_pages = {}
    pages.update(publish.site_outputs(
        state["catalog"], state["lang"], _public_url(config), config.site_name,
        config.use_directory_urls, primary=state["lang"] == "en",
        suggest_url=site.suggest_url(config.repo_url), activity=state["activity"],
        fragments=state["fragments"], memo=memo))
    if memo is not None:
        memo.next_generation()
    written = set(files.src_uris)
    earlier = _earlier_files(config)
    generated = []
    for uri in [*entry_pages, *pages]:  # the order of generate_pages
        if uri in written:
            raise PluginError(f"docs/{uri} would be overwritten by a generated page; "
                              "generated pages are never committed")
        if uri in entry_pages:
            files.append(UnreadPage.made_by(config, uri, entry_pages[uri]))
            continue
        file = earlier.get(uri)
        if file is None:
            file = File.generated(config, uri, content=pages[uri])
        else:  # the last build's: its address and inclusion as MkDocs worked them out
            file.content_string, file.page = pages[uri], None
        files.append(file)
        generated.append(file)
    state["generated"] = generated
    if not STATE.serving:
        state["holders"] = Counter(key for text in pages.values()
                                   for key in site.FRAGMENT_PATTERN.findall(text))
        state["made_before"] = set(pages)
    for topic_id, example in state["examples"].items():
        for figure in example.figures:
            uri = f"topics/{topic_id}/{site.example_figure_name(example, figure)}"
            files.append(File.generated(config, uri, abs_src_path=str(figure)))
    if STATE.problems and STATE.serving:
        files.append(File.generated(config, STATUS_NAME, content=json.dumps(
            {"problems": [str(p) for p in STATE.problems]}, ensure_ascii=False)))
    files = SettledFiles(files)
    state["files"] = files
    if STATE.serving:
        _mark_unchanged_pages(files, config)
    return files


def on_nav(nav: Navigation, config: MkDocsConfig, files: Files) -> Navigation:
    if isinstance(files, SettledFiles):  # every file's inclusion is set by now
        files.settle()
    return nav


# ---------------------------------------------------------------------------------------
# Incremental rebuilds (mkdocs serve --dirty)


def _global_key(config: MkDocsConfig) -> str:
    """What every page's HTML depends on: the configuration (with the expanded nav), the
    theme and our templates, and the code that generates and renders."""
    root = _project_root(config)
    code = [str(path.stat().st_mtime_ns) for path in sorted(Path(__file__).parent.glob("*.py"))]
    versions = [package_version(name) for name in ("mkdocs", "mkdocs-material",
                                                    "pymdown-extensions")]
    settings = {key: value for key, value in _settings(config).items()
                if key != "loaded_catalog"}
    configs = {Path(config.config_file_path).resolve(), root / "mkdocs.yml"}
    return digest(*(path.read_text(encoding="utf-8") for path in sorted(configs)),
                  json.dumps(config.nav, ensure_ascii=False, default=str),
                  json.dumps(settings, ensure_ascii=False, default=str, sort_keys=True),
                  str(config.site_url), str(config.use_directory_urls), str(config.site_dir),
                  *code, *versions,
                  tree_key(Path(d) for d in config.theme.dirs
                           if Path(d).resolve().is_relative_to(root)))


def _earlier_files(config: MkDocsConfig) -> dict[str, File]:
    """Under serve, the generated files of the last build, by source path, while the
    configuration, the theme and the code are the same: MkDocs would make each again
    (20,000 at 10,000 entries) and work out the same address and inclusion."""
    if not STATE.serving:
        return {}
    state = _state_of(config)
    render = STATE.render(state["lang"])
    state["global_key"] = global_key = _global_key(config)
    if global_key != render.global_key:
        render.pages.clear()  # a template, the nav or the config changed: render everything
        render.objects.clear()
        render.files.clear()
    return render.files


def _mark_unchanged_pages(files: Files, config: MkDocsConfig) -> None:
    """Tell MkDocs which pages it may skip: those whose fingerprint is the last build's."""
    state = _state_of(config)
    render = STATE.render(state["lang"])
    global_key = state["global_key"]
    documentation = files.documentation_pages()
    known = frozenset(file.src_uri for file in documentation)
    if known == render.known:
        known = render.known  # the very object the last fingerprints were worked out with
    fingerprints: dict[str, str] = {}
    blocks_of: dict[str, tuple[str, ...]] = {}  # each page's unsearched blocks
    swapped: dict[str, str] = {}  # pages whose blocks alone changed: their HTML, swapped
    fragments = state["fragments"]
    build_date = get_build_date()
    rendering = 0
    catalog, lang = state["catalog"], state["lang"]
    # What a page's markers list is made from: the catalog's objects, which stay the same
    # while their files do.
    made_of = (*catalog.entries, catalog.topics, *catalog.paths)
    catalog_key = tuple(map(id, made_of))
    memo = STATE.memo(lang)
    for file in documentation:
        raw = markdown = file.content_string
        cached = STATE.sources.get((lang, file.src_uri))
        marked = (cached.marked if cached is not None and cached.raw is raw
                  else site.MARKER.search(raw) is not None)
        broken = False  # a marker it has is wrong: rendering it says so (on_page_markdown)
        if marked:  # its catalog lists are part of what it shows
            try:
                markdown = site.memoized_page(
                    memo, ("markers", file.src_uri, raw, catalog_key), made_of,
                    fragments, partial(_expand_markers, raw, config, file.src_uri))
            except site.MarkerError:
                broken = True
        if cached is not None and cached.markdown is markdown and cached.global_key == global_key:
            source = cached.source
            if cached.known is not known:
                cached.known, cached.fingerprint = known, source.fingerprint(known)
            cached.raw, cached.marked = raw, marked
        else:
            source = page_source(global_key, file.src_uri, markdown, state["root"])
            cached = STATE.sources[(lang, file.src_uri)] = SourceRecord(
                raw, marked, markdown, global_key, source, known, source.fingerprint(known))
        fingerprints[file.src_uri] = fingerprint = cached.fingerprint
        blocks = source.blocks
        if blocks:
            blocks_of[file.src_uri] = blocks
        record = render.pages.get(file.src_uri)
        kept = render.objects.get(file.src_uri)
        unchanged = (not broken and record is not None and record.fingerprint == fingerprint
                     and os.path.isfile((kept.file if kept else file).abs_dest_path))
        if unchanged and kept is not None:
            _reuse_page(kept, file, build_date)
        if unchanged and record is not None and record.unsearched != blocks:
            html = swap_blocks(Path(file.abs_dest_path).read_text(encoding="utf-8"),
                               record.unsearched, blocks, render.blocks, fragments)
            if html is None:
                unchanged = False
            else:
                swapped[file.src_uri] = html
        file.is_modified = (lambda: False) if unchanged else (lambda: True)  # type: ignore[method-assign]
        rendering += not unchanged
    state.update(fingerprints=fingerprints, blocks_of=blocks_of, swapped=swapped)
    render.known = known
    if rendering > FEW_PAGES:  # then garbage adds up: collect it as usual
        resume_collector()


def _reuse_page(page: Page, file: File, build_date: str) -> None:
    """An unchanged page outside the navigation keeps its ``Page`` from the last build,
    which MkDocs would otherwise make again (its address, its canonical and edit URLs): at
    10,000 entries that was a good part of what a rebuild that renders a few pages cost.
    It is left as MkDocs leaves a page it skips, with what the last build knew of it."""
    earlier = page.file
    if (earlier is file and page.update_date == build_date and page.markdown is None
            and page.content is None
            and page.links_to_anchors is None and not page.toc and not page.active):
        file.page = page  # a generated page's File, reused (``_earlier_files``), and the
        return  # page was skipped last time too: it is as this would leave it
    for name in ("dest_uri", "url", "abs_dest_path"):  # MkDocs' cached properties
        if name in vars(earlier):
            vars(file)[name] = vars(earlier)[name]
    page.file, file.page = file, page
    page.update_date = build_date
    page.active = False
    page.links_to_anchors = None
    page.markdown = page.content = None
    page.toc = []  # type: ignore[assignment]


def _record_search_entries(config: MkDocsConfig) -> None:
    """Remember which search-index entries each rendered page adds (the index is written
    from these and the cached entries of the pages a rebuild skips)."""
    state = _state_of(config)
    search = config.plugins.get("material/search")
    index = getattr(search, "search_index", None)
    if index is None:
        return
    fresh: dict[str, list[dict[str, Any]]] = {}
    add = index.add_entry_from_context

    def recording(page: Page) -> None:
        before = len(index.entries)
        add(page)
        fresh[page.file.src_uri] = index.entries[before:]

    index.add_entry_from_context = recording
    state.update(search=search, fresh_search=fresh)


def on_env(env: Environment, config: MkDocsConfig, files: Files) -> Environment:
    """Skipped pages get what the last build learnt of them, for the pages that show them
    (a navigation entry needs a page's title) and for anchor checks."""
    state = _state_of(config)
    if STATE.serving:
        render = STATE.render(state["lang"])
        state["documentation"] = files.documentation_pages()
        for file in state["documentation"]:
            page = file.page
            record = render.pages.get(file.src_uri)
            if page is not None and page.markdown is None and record is not None:
                page.title = record.title
                page.meta = record.meta
                page.present_anchor_ids = record.anchors
        _keep_unchanged_sitemap(config, files)
    return env


def _keep_unchanged_sitemap(config: MkDocsConfig, files: Files) -> None:
    """The sitemap names every page: while every page's address and date are the last
    build's, the sitemap that build wrote stands, and rendering it again can be skipped."""
    state = _state_of(config)
    key = digest(state["global_key"], *(
        f"{file.page.canonical_url} {file.page.abs_url} {file.page.update_date}"
        for file in state["documentation"] if file.page is not None))
    render = STATE.render(state["lang"])
    if key == render.sitemap_key and os.path.isfile(os.path.join(config.site_dir,
                                                                 "sitemap.xml")):
        config.theme.static_templates.discard("sitemap.xml")
    state["sitemap_key"] = key


@event_priority(100)  # before Material's search plugin writes its index
def _assemble_search_index(config: MkDocsConfig) -> None:
    state = _state_of(config)
    if not STATE.serving or "documentation" not in state:
        return
    render = STATE.render(state["lang"])
    fresh = state.get("fresh_search", {})
    pages: dict[str, PageRecord] = {}
    entries: list[dict[str, Any]] = []
    rendered = state.get("rendered", set())
    blocks_of, swapped = state["blocks_of"], state["swapped"]
    render.objects = {}
    render.files = {file.src_uri: file for file in state["generated"]}
    for file in state["documentation"]:
        page, src = file.page, file.src_uri
        if page is not None and file.inclusion.is_not_in_nav():
            render.objects[src] = page
        if page is not None and src in rendered:
            record = PageRecord(state["fingerprints"][src], page.title, dict(page.meta),
                                page.present_anchor_ids, fresh.get(src, []),
                                blocks_of.get(src, ()))
        else:
            record = render.pages[src]
            if src in swapped:  # search entries, title and anchors are as they were
                utils.write_file(swapped[src].encode("utf-8", errors="xmlcharrefreplace"),
                                 file.abs_dest_path)
                record = dataclasses.replace(record, unsearched=blocks_of.get(src, ()))
        pages[src] = record
        entries += record.search
    fragments = state["fragments"]
    render.blocks = {key: fragments[key] for blocks in blocks_of.values() for key in blocks
                     if key in fragments}
    search = state.get("search")
    if search is not None:
        search.search_index.entries = entries
        search.search_index_prev = None
    render.pages, render.global_key = pages, state["global_key"]
    render.sitemap_key = state.get("sitemap_key", "")
    STATE.rendered[state["lang"]] = set(rendered)
    STATE.swapped[state["lang"]] = set(swapped)


# lunr 2.3.9, which Material's search worker bundles, minimises its word automaton by a key
# that joins each edge's character and target id with nothing between them: with digits in
# the words (version numbers, figures) two different states can get the same key and be
# merged, and the automaton then accepts words the index lacks. A query that expands to one
# ("ai" did, for "ai*") throws inside the worker and the reader sees no results at all. A
# space, which the search separator never leaves inside a word, makes the key unambiguous.
LUNR_STATE_KEY = 'e=e+s+o.id}return e'
LUNR_STATE_KEY_FIXED = 'e=e+s+o.id+" "}return e'


def _fix_search_worker(config: MkDocsConfig) -> None:
    workers = sorted((Path(config.site_dir) / "assets/javascripts/workers").glob("search.*.js"))
    if not workers:
        return
    for worker in workers:
        code = worker.read_text(encoding="utf-8")
        if LUNR_STATE_KEY_FIXED in code:
            continue
        if code.count(LUNR_STATE_KEY) != 1:
            log.warning("%s: lunr's TokenSet key is not the one atlas mends; check whether "
                        "this version of the search worker still needs the fix (see "
                        "LUNR_STATE_KEY in tools/atlas/mkdocs_hooks.py)", worker.name)
            continue
        worker.write_text(code.replace(LUNR_STATE_KEY, LUNR_STATE_KEY_FIXED), encoding="utf-8")


@event_priority(-100)  # after the search index is written
def _finish_build(config: MkDocsConfig) -> None:
    state = _state_of(config)
    _fix_search_worker(config)
    if STATE.serving and "files" in state:
        _delete_stale_outputs(config)
    _release_build(config, state)
    _build_alternates(config)
    if "loaded_catalog" not in _settings(config):  # the primary build, the last to finish
        resume_collector(later=STATE.serving)  # once the page is served


def on_build_error(error: Exception) -> None:
    resume_collector()


def _release_build(config: MkDocsConfig, state: dict[str, Any]) -> None:
    """Everything this language's build has written can go before the next language is
    built in the same process: the generated files' text, the search index's entries
    (under serve, the entries live on in the page records) and, in a full build, what MkDocs
    keeps of each page beyond its title (its table of contents, meta and anchors)."""
    for file in state.get("files", ()):
        if file.abs_src_path is None and isinstance(file._content, str):
            file.content_string = ""
        if file.page is not None and not STATE.serving:
            file.page.title = file.page.title
            file.page.toc, file.page.meta = [], {}
            file.page.present_anchor_ids = file.page.links_to_anchors = None
    search = config.plugins.get("material/search")
    index = getattr(search, "search_index", None)
    if index is not None:
        index.entries = []
    state.pop("fragments", None)


def _delete_stale_outputs(config: MkDocsConfig) -> None:
    """A dirty build never cleans the site folder: remove what this build no longer writes
    (a deleted or renamed entry's page), as a clean build would not have it."""
    state = _state_of(config)
    render = STATE.render(state["lang"])
    site_dir = Path(config.site_dir)
    written = {file.dest_uri for file in state["files"] if not file.inclusion.is_excluded()}
    written |= {*config.theme.static_templates, "sitemap.xml", "sitemap.xml.gz",
                "search/search_index.json"}
    for stale in sorted(render.outputs - written):
        path = site_dir / stale
        path.unlink(missing_ok=True)
        folder = path.parent
        while folder != site_dir and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    render.outputs = written


def _release_page(page: Page) -> None:
    """A written page keeps only what other pages read of it (its title, for navigation):
    its Markdown and HTML would otherwise stay in memory until the end of the build, both
    languages over."""
    page.title = page.title
    page.markdown = None
    page.content = None
    if page.file.abs_src_path is None:  # a generated page: its Markdown is held by its File
        page.file.content_string = ""


# The site's own teaching pages rank above catalog entries that share their words
# (a query for "扩散模型" should find the Learn page before a course named after it).
LEARN_SEARCH_BOOST = 2


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    if page.file.src_uri.startswith("learn/"):
        page.meta.setdefault("search", {}).setdefault("boost", LEARN_SEARCH_BOOST)
    try:
        return _expand_markers(markdown, config, page.file.src_uri,
                               _state_of(config).get("fragments"))
    except site.MarkerError as error:
        raise PluginError(str(error)) from None


def _expand_markers(markdown: str, config: MkDocsConfig, src_uri: str,
                    fragments: dict[str, str] | None) -> str:
    state = _state_of(config)
    return site.expand_markers(markdown, state["catalog"], state["lang"], src_uri, fragments,
                               STATE.memo(state["lang"]) if STATE.serving else None,
                               config.use_directory_urls)


EMPTY_HEADER_CELL = re.compile(r"<th((?:\s[^>]*)?)>\s*</th>")


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """An empty corner of a table (``| | a | b |``, as in the examples' READMEs) is a data
    cell, not a header without a name (axe-core empty-table-header). Generated HTML blocks
    go in after Markdown, which need not parse them (``site.raw_html``)."""
    html = EMPTY_HEADER_CELL.sub(r"<td\1></td>", html)
    state = _state_of(config)
    fragments = state.get("fragments", {})
    inserted = site.insert_fragments(html, fragments)
    if not STATE.serving and inserted is not html:
        _release_fragments(page.file.src_uri in state["made_before"],
                           site.FRAGMENT_PATTERN.findall(html), fragments, state["holders"])
    return inserted


def _release_fragments(made_before: bool, used: list[str], fragments: dict[str, str],
                       holders: Counter[str]) -> None:
    """In a full build, a block goes once the last page that shows it is rendered (the list
    pages' lists and the explorer's hold every entry). ``holders`` counts, for each block,
    the pages made before the build that show it; a page made as it is read (an entry page,
    a hand-written page's lists) puts its blocks in just before, so they can go with it
    unless a page made before still shows them."""
    for key in used:
        if made_before:
            holders[key] -= 1
        if holders[key] <= 0:
            fragments.pop(key, None)


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    state = _state_of(config)
    output = _post_page(output, page, config)
    if STATE.serving:
        output = publish.insert_into_head(output, '<meta name="atlas-serve" content="1">')
        state.setdefault("rendered", set()).add(page.file.src_uri)
    _release_page(page)
    return output


def _post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    """Entry pages carry their schema.org JSON-LD; the home page announces the Atom feed.

    The feed link is on the home page only, and relative: Material reads every
    ``link[rel=alternate]`` as another language and fetches the sitemap next to it.
    """
    state = _state_of(config)
    src = page.file.src_uri
    if src.startswith("entries/") and src.endswith(".md"):
        entry = state["by_id"].get(src[len("entries/"):-len(".md")])
        if entry is None:
            return output
        public = _public_url(config)
        data = publish.entry_jsonld(entry, state["catalog"], state["lang"],
                                    public + page.url if public else page.canonical_url)
        return publish.compact_html(publish.insert_into_head(output,
                                                            publish.jsonld_script(data)))
    if page.is_homepage:
        return publish.insert_into_head(
            output, f'<link rel="alternate" type="application/atom+xml" '
                    f'title="{site.escape_attr(config.site_name)}" href="feed.xml">')
    return output


def on_serve(server: Any, config: MkDocsConfig, builder: Any) -> Any:
    root = _project_root(config)
    settings = _settings(config)
    for path in (settings.get("catalog_dir", "catalog"), settings.get("examples_dir", "examples"),
                 *settings.get("watch", [])):
        if (root / path).exists():
            server.watch(str(root / path))
    _watch_by_events(server)
    return server


# What a save, a new file, a deletion or a rename reports. An event observer also reports
# files being opened and closed unwritten, which every build does to the files it reads: let
# through, those would start a rebuild after every rebuild, for as long as the server runs.
CHANGE_EVENTS = frozenset({"created", "deleted", "modified", "moved", "closed"})


class ChangesOnly(FileSystemEventHandler):
    """Hands MkDocs' handler only the events that change a file."""

    def __init__(self, handler: FileSystemEventHandler) -> None:
        super().__init__()
        self.handler = handler

    def dispatch(self, event: FileSystemEvent) -> None:
        if event.event_type in CHANGE_EVENTS:
            if STATE.serving:  # an incremental rebuild follows: a collection starting
                # now, as MkDocs reads the configuration again, would walk every object
                # the server keeps
                pause_collector(grace=SAVE_GRACE)
            self.handler.dispatch(event)


def _watch_by_events(server: Any) -> None:
    """Have the operating system report saved files (inotify, FSEvents, ...) instead of
    MkDocs' polling, which stats every watched file every half second: a save waited a
    quarter of a second on average before the rebuild began, and each poll of a large
    catalog held the interpreter while a rebuild ran. The watches MkDocs made so far move
    to the new observer, which passes on only the events that change a file; where
    watchdog has no such observer, polling stays."""
    try:
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        polling, refs = server.observer, server._watch_refs
        if Observer is PollingObserver or not isinstance(polling, PollingObserver):
            return
        events = Observer()
        moved = {path: (polling._handlers[watch], watch.is_recursive)
                 for path, watch in refs.items()}
    except (ImportError, AttributeError, KeyError):  # another MkDocs or watchdog: keep polling
        return
    for path, (handlers, recursive) in moved.items():
        for handler in handlers:
            refs[path] = events.schedule(ChangesOnly(handler), path, recursive=recursive)
    server.observer = events


def _alternate_builds(config: MkDocsConfig) -> list[AlternateBuild]:
    """The other language(s), each built into a sub-folder of this site."""
    builds = []
    for other in _settings(config).get("alternate_builds", []):
        site_url = f"{config.site_url.rstrip('/')}/{other['dir']}/" if config.site_url else None
        builds.append(AlternateBuild(str(_project_root(config) / other["config"]),
                                     str(Path(config.site_dir) / other["dir"]), site_url,
                                     bool(config.strict), os.getcwd()))
    return builds


def _start_alternates(config: MkDocsConfig) -> None:
    """Under serve, the other languages are built beside this one (``atlas.alternates``).
    A serving build never cleans the site folder (``mkdocs serve --dirty``), so they can
    start writing into it before this build has begun to."""
    builds = _alternate_builds(config)
    if builds:
        STATE.alternates.start(builds)
        for other in builds:
            log.info("Building %s into %s, in a second process", Path(other.config_file).name,
                     other.site_dir)


def _build_alternates(config: MkDocsConfig) -> None:
    """Build the other languages, or under serve wait for the process building them."""
    if STATE.serving and not STATE.alternate_process:
        for outcome in STATE.alternates.finish():
            if outcome.error:
                raise _alternate_failed(outcome.config_file, outcome.error)
        return
    for other in _alternate_builds(config):
        log.info("Building %s into %s", Path(other.config_file).name, other.site_dir)
        try:
            other.run(dirty=STATE.serving, catalog=_state_of(config)["catalog"])
        except Exception as error:
            raise _alternate_failed(other.config_file, error) from error


def _alternate_failed(config_file: str, error: object) -> PluginError:
    return PluginError(f"building {Path(config_file).name} failed: {error}")


def on_shutdown() -> None:
    STATE.alternates.stop()


on_post_build = CombinedEvent(_assemble_search_index, _finish_build)
