"""What `make serve` reuses from one rebuild to the next, so that saving one file costs what
that file touches, not the whole site.

MkDocs re-imports the hooks file on every rebuild, so the state lives here, in a module
imported once per process:

* ``FileCache``: the catalog's files, parsed and checked, keyed by their bytes; an
  unchanged file keeps its ``Entry`` object;
* ``site.Memo`` per language: generated Markdown keyed by the objects it was made from;
* ``Render`` per language: what the last build rendered — each page's fingerprint, title,
  meta and anchors, its search-index entries, and every file the build wrote.

A rebuild under ``mkdocs serve --dirty`` then renders only the pages whose fingerprint
changed (MkDocs skips a page whose ``File.is_modified()`` is false), gives the skipped
pages their cached title, meta and anchors (other pages' navigation shows them), writes the
search index from fresh and cached entries in page order, and deletes what a full build
would no longer write. A page whose Markdown changed only in blocks that search leaves out
(an entry's related entries, which a new entry can change on many pages; the lists of list
pages) is not rendered: the blocks are swapped in the HTML it was written with.
``tests/test_incremental.py`` checks that the result equals a clean full build file for
file.
"""

from __future__ import annotations

import gc
import hashlib
import os
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
from mkdocs.structure.files import File
from mkdocs.structure.pages import Page
from mkdocs.theme import Theme

from atlas.alternates import AlternateProcess
from atlas.catalog import Catalog, Entry, FileCache, Problem
from atlas.site import UNSEARCHED_FRAGMENT, UNSEARCHED_PATTERN, Memo, related_entries

# A relative link to another source page, and a pymdownx.snippets include.
MD_LINK = re.compile(r"\]\(([^)\s#?]+\.md)(?:#[^)\s]*)?\)")
SNIPPET = re.compile(r'^-{1,3}8<-{1,3}\s*"([^"]+)"', re.M)


@dataclass
class PageRecord:
    """One page as the last build rendered it."""

    fingerprint: str
    title: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    anchors: set[str] | None = None
    search: list[dict[str, Any]] = field(default_factory=list)
    unsearched: tuple[str, ...] = ()  # digests of its unsearched blocks, as written


@dataclass
class Render:
    """One language's last build."""

    global_key: str = ""
    pages: dict[str, PageRecord] = field(default_factory=dict)  # by source URI
    outputs: set[str] = field(default_factory=set)  # written files, relative to site_dir
    sitemap_key: str = ""  # what the sitemap written was made of
    blocks: dict[str, str] = field(default_factory=dict)  # the unsearched blocks written, by
    # digest (``site.unsearched_html``)
    objects: dict[str, Page] = field(default_factory=dict)  # its pages outside the navigation
    files: dict[str, File] = field(default_factory=dict)  # the files it generated
    known: frozenset[str] = frozenset()  # its pages' source paths


class TemplateCache(jinja2.BytecodeCache):
    """Compiled theme templates, kept in memory between rebuilds: MkDocs makes a new Jinja
    environment for every build, which would compile every template again. Jinja checks
    each template's source checksum, so an edited template is compiled afresh."""

    def __init__(self) -> None:
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        code = self.store.get(bucket.key)
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self.store[bucket.key] = bucket.bytecode_to_string()


@dataclass
class RelatedRanking:
    """Related entries as the last build ranked them, re-ranked only where an edit can
    change them (``site.related_entries``).

    An entry's ranking depends on the entries sharing a topic with it (its candidates are
    the first of each of its topics' entries, in catalog order) and on their topics and
    tags. So when entries are added, removed, or change their topics or tags, the entries
    sharing none of the topics those entries have or had keep their ranking: their
    candidates and the candidates' topics and tags are the same as before.
    """

    signature: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = field(default_factory=dict)
    ranking: dict[str, list[str]] = field(default_factory=dict)  # entry id -> related ids
    ranked: int = 0  # how many entries the last call ranked afresh

    def update(self, catalog: Catalog) -> dict[str, list[Entry]]:
        """The related entries of every entry of ``catalog``, as ``site.related_entries``
        ranks them, which the catalog then keeps."""
        signature = {entry.id: (tuple(entry.topics), tuple(entry.tags))
                     for entry in catalog.entries}
        changed = {entry_id for entry_id in self.signature.keys() | signature.keys()
                   if self.signature.get(entry_id) != signature.get(entry_id)}
        if not self.signature:
            again: set[str] | None = None
        else:
            touched = {topic for entry_id in changed
                       for known in (self.signature.get(entry_id), signature.get(entry_id))
                       if known is not None for topic in known[0]}
            again = {entry.id for entry in catalog.entries
                     if entry.id in changed or not touched.isdisjoint(entry.topics)}
        fresh = related_entries(catalog, again) if again is None or again else {}
        by_id = catalog.by_id()
        related = {entry.id: fresh[entry.id] if entry.id in fresh
                   else [by_id[other] for other in self.ranking[entry.id]]
                   for entry in catalog.entries}
        self.ranking.update({entry_id: [other.id for other in others]
                             for entry_id, others in fresh.items()})
        for gone in self.signature.keys() - signature.keys():
            self.ranking.pop(gone, None)
        self.signature, self.ranked = signature, len(fresh)
        catalog.related = related
        return related


@dataclass
class ServeState:
    serving: bool = False  # mkdocs serve --dirty: rebuilds are incremental
    alternate_process: bool = False  # this process builds the other languages for a server
    # (``atlas.alternates``), which reports the catalog's problems itself
    alternates: AlternateProcess = field(default_factory=AlternateProcess)  # the server's
    catalog: FileCache = field(default_factory=FileCache)
    memos: dict[str, Memo] = field(default_factory=dict)
    renders: dict[str, Render] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    rendered: dict[str, set[str]] = field(default_factory=dict)  # pages each language's last
    # build rendered (the rest it reused)
    swapped: dict[str, set[str]] = field(default_factory=dict)  # and those it swapped blocks in
    templates: TemplateCache = field(default_factory=TemplateCache)
    template_lists: dict[str, list[str]] = field(default_factory=dict)  # theme file listings
    sources: dict[tuple[str, str], SourceRecord] = field(default_factory=dict)  # by
    # (language, page)
    related: RelatedRanking = field(default_factory=RelatedRanking)

    def memo(self, lang: str) -> Memo:
        return self.memos.setdefault(lang, Memo())

    def render(self, lang: str) -> Render:
        return self.renders.setdefault(lang, Render())


STATE = ServeState()

# At most this many pages rendered with the cyclic garbage collector paused.
FEW_PAGES = 200


# Seconds after a rebuild before the collector runs again: the browser has been told to
# reload and has fetched the page by then.
RESUME_AFTER = 2.0
# Seconds after a save before the collector runs again if no rebuild has paused it by then.
SAVE_GRACE = 30.0
# Small rebuilds between two collections of everything the server keeps.
FULL_COLLECTION_EVERY = 50


@dataclass
class Collections:
    """The cyclic garbage collector under ``make serve``. What the server keeps from one
    rebuild to the next (the catalog, the memos, the page records: millions of objects at
    10,000 entries) is moved out of the collector's sight once collected (``gc.freeze``):
    a collection of everything took longer than the rest of a small rebuild.
    What a small rebuild makes is collected while the server idles, then frozen in turn;
    cycles among frozen objects that a rebuild drops (a re-rendered page's old ``Page`` and
    ``File``) wait for the next collection of everything, after a rebuild that rendered
    many pages or every FULL_COLLECTION_EVERY small ones."""

    pending: list[threading.Timer] = field(default_factory=list)  # the resumption, if any
    since_full: int = 0
    full_due: bool = True


COLLECTIONS = Collections()


def pause_collector(grace: float | None = None) -> None:
    """Pause the collector for an incremental rebuild, which makes little cyclic garbage.
    With ``grace``, it resumes that many seconds on unless a rebuild pauses it first."""
    while COLLECTIONS.pending:
        COLLECTIONS.pending.pop().cancel()
    gc.disable()
    if grace is not None:
        _resume_in(grace)


def resume_collector(later: bool = False) -> None:
    """Resume the collector: at once (a rebuild that renders many pages makes garbage as it
    goes), or ``later``, RESUME_AFTER seconds on unless a rebuild pauses it first, with a
    collection of what the rebuild left (``Collections``), which a rebuild that resumed it
    at once would spend before the page is served. At once, it sees every object again."""
    while COLLECTIONS.pending:
        COLLECTIONS.pending.pop().cancel()
    if not later:
        COLLECTIONS.full_due = True
        gc.unfreeze()
        gc.enable()
        return
    _resume_in(RESUME_AFTER)


def _collect() -> None:
    if COLLECTIONS.full_due or COLLECTIONS.since_full >= FULL_COLLECTION_EVERY:
        gc.unfreeze()
        COLLECTIONS.full_due, COLLECTIONS.since_full = False, 0
    else:
        COLLECTIONS.since_full += 1
    gc.collect()
    gc.freeze()
    gc.enable()


def _resume_in(seconds: float) -> None:
    timer = threading.Timer(seconds, _collect)
    timer.daemon = True
    COLLECTIONS.pending.append(timer)
    timer.start()


def collector_resumption() -> threading.Timer | None:
    """The pending resumption of the collector, if one is pending (for tests)."""
    return COLLECTIONS.pending[-1] if COLLECTIONS.pending else None


def reset() -> None:
    """Forget every cache (a new serving session; tests start from here), and end the
    process building the other languages, which keeps its own."""
    STATE.alternates.stop()
    fresh = ServeState()
    for name in vars(fresh):
        setattr(STATE, name, getattr(fresh, name))


def digest(*parts: str | bytes) -> str:
    hasher = hashlib.blake2b(digest_size=16)
    for part in parts:
        hasher.update(part.encode("utf-8", "surrogatepass") if isinstance(part, str) else part)
        hasher.update(b"\0")
    return hasher.hexdigest()


def tree_key(folders: Iterable[Path]) -> str:
    """Names, sizes and times of every file under ``folders``: a template, a stylesheet or a
    script of the theme changes every page."""
    parts = []
    for folder in folders:
        for root, _, names in sorted(os.walk(folder)):
            for name in sorted(names):
                path = os.path.join(root, name)
                stat = os.stat(path)
                parts.append(f"{path}:{stat.st_size}:{stat.st_mtime_ns}")
    return digest(*parts)


def faster_theme(theme: Theme) -> None:
    """Make the theme's Jinja environments reuse compiled templates and the listing of the
    theme's files (Material's holds thousands of icons) from earlier rebuilds."""
    make_env = theme.get_env

    def get_env() -> jinja2.Environment:
        env = make_env()
        env.bytecode_cache = STATE.templates
        loader = env.loader
        assert isinstance(loader, jinja2.FileSystemLoader)
        key = digest(*map(str, theme.dirs), tree_key(Path(d) for d in theme.dirs
                                                     if "site-packages" not in str(d)))
        listing = STATE.template_lists

        def list_templates() -> list[str]:
            if key not in listing:
                listing[key] = jinja2.FileSystemLoader.list_templates(loader)
            return listing[key]

        loader.list_templates = list_templates  # type: ignore[method-assign]

        def static_files(extensions: Any = None, filter_func: Any = None) -> list[str]:
            """MkDocs lists the theme's static files through a filter of its own on every
            build (``Files.add_files_from_theme``), which only the theme's static templates
            vary: keep its answer too."""
            if extensions is not None or filter_func is None:
                return jinja2.Environment.list_templates(env, extensions, filter_func)
            name = digest(key, filter_func.__module__, filter_func.__qualname__,
                          *theme.static_templates)
            if name not in listing:
                listing[name] = jinja2.Environment.list_templates(env, None, filter_func)
            return listing[name]

        env.list_templates = static_files  # type: ignore[method-assign]
        return env

    theme.get_env = get_env  # type: ignore[method-assign]


@dataclass(frozen=True)
class PageSource:
    """What a page's HTML depends on beyond the site-wide key, but for which of the pages
    it links to exist: kept while its Markdown is the very same, so that adding or
    removing a page (which changes what exists) costs a short hash per page, not a hash
    of each page's Markdown again."""

    base: str  # its path, its Markdown (unsearched blocks made alike), its snippets' bytes
    links: tuple[str, ...]  # the pages it links to, resolved
    blocks: tuple[str, ...]  # its unsearched blocks (``unsearched_blocks``)

    def fingerprint(self, known: frozenset[str]) -> str:
        """A link to a missing page renders differently from a link to one that exists."""
        if not self.links:
            return self.base
        return digest(self.base, "".join("1" if link in known else "0" for link in self.links))


@dataclass(slots=True)
class SourceRecord:
    """What a page's fingerprint was worked out from in the last build, by identity: a
    generated page that the memo handed back unchanged is the very same string (held here,
    so that its identity cannot pass to another), and an unchanged set of pages is the very
    same ``Render.known``. At 10,000 entries, looking for markers in, hashing and
    fingerprinting 20,000 unchanged pages again was a good part of a rebuild."""

    raw: str  # its Markdown as read
    marked: bool  # whether that has markers (``site.MARKER``) to expand
    markdown: str  # with its markers expanded
    global_key: str
    source: PageSource
    known: frozenset[str]
    fingerprint: str


def page_source(global_key: str, src_uri: str, markdown: str, project_root: Path
                ) -> PageSource:
    shape, blocks = unsearched_blocks(markdown)
    folder = src_uri.rsplit("/", 1)[0] if "/" in src_uri else ""
    links = tuple(os.path.normpath(os.path.join(folder, target)).replace(os.sep, "/")
                  for target in MD_LINK.findall(shape))
    snippets = []
    for include in SNIPPET.findall(shape):
        try:
            snippets.append((project_root / include).read_bytes())
        except OSError:
            snippets.append(b"missing")
    return PageSource(digest(global_key, src_uri, shape, *snippets), links, blocks)


def unsearched_blocks(markdown: str) -> tuple[str, tuple[str, ...]]:
    """A page's Markdown with its unsearched blocks' markers made alike, and the blocks'
    digests: two pages alike in the first differ only in blocks that search leaves out."""
    if " unsearched -->" not in markdown:
        return markdown, ()
    found = tuple(UNSEARCHED_PATTERN.findall(markdown))
    return UNSEARCHED_PATTERN.sub(UNSEARCHED_FRAGMENT.format(digest="-"), markdown), found


def swap_blocks(written: str, old: tuple[str, ...], new: tuple[str, ...],
                old_blocks: dict[str, str], new_blocks: dict[str, str]) -> str | None:
    """A written page with its unsearched blocks ``old`` replaced by ``new``, or None where
    a block is not found exactly once in it (then the page is rendered as usual)."""
    if len(old) != len(new):
        return None
    for before, after in zip(old, new, strict=True):
        if before == after:
            continue
        block = old_blocks.get(before)
        if block is None or after not in new_blocks or written.count(block) != 1:
            return None
        written = written.replace(block, new_blocks[after])
    return written
