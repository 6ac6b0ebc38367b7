"""Check the catalog's URLs and the built site's links: `atlas linkcheck`.

A maintainer must be able to trust the verdict in both directions: every dead link is
found (missing fragments, redirects to a 404, a host that stopped resolving) and nothing
alive is reported as dead (a 403 bot wall is ``blocked``, a 429 is ``rate_limited``, a
flaky host can be required to fail on several runs before it counts).

Built on asyncio + aiohttp rather than requests and threads because a link checker needs
a *total* deadline per request: requests bounds each socket read, so a server trickling
one byte every few seconds never times out, whereas a coroutine is cancelled cleanly at
its deadline wherever it is. Concurrency limits are ours, not the connection pool's, so
the server never sees more than ``--host-concurrency`` requests at once, redirects
included (each hop takes a slot on its own host).

Internal links of a built site are checked on disk: no network.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import email.utils
import heapq
import json
import os
import re
import socket
import sys
import time
import unicodedata
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit

from atlas import __version__
from atlas.catalog import iter_urls, load_catalog, read_yaml_file
from atlas.rules import SCHEMA_NAME

VERDICTS = ("ok", "redirected", "broken", "blocked", "rate_limited", "excluded", "unsupported")
FINE = ("ok", "redirected")
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Answers that mean "a bot wall said no", not "the page is gone": 999 is LinkedIn's.
BLOCKED_STATUSES = frozenset({401, 403, 999})
HEAD_REFUSED_STATUSES = frozenset({405, 501})
DEFAULT_USER_AGENT = f"AIGC-Atlas-linkcheck/{__version__} (the AIGC Atlas catalog's link checker)"
DEFAULT_CACHE = Path(".cache/atlas-linkcheck.json")
CACHE_VERSION = 1
HISTORY_DAYS = 90  # a failure not seen again for this long is dropped from the history
KEEP_ALIVE_BODY = 64 * 1024  # read small bodies so the connection can be reused
PROGRESS_MIN_URLS = 20


# ---------------------------------------------------------------------------------------
# What is checked and what comes back


@dataclass(frozen=True)
class Source:
    """Where a link was written: the file and line a maintainer has to edit."""

    file: str
    line: int
    field: str = ""

    def __str__(self) -> str:
        return f"{self.file}:{self.line}" + (f" ({self.field})" if self.field else "")


@dataclass
class Link:
    """One unique web address to check, with every place it was written."""

    url: str  # as first written
    fetch_url: str  # normalized, without fragment: one request serves every fragment
    fragment: str | None
    sources: list[Source] = field(default_factory=list)

    @property
    def key(self) -> str:
        return self.fetch_url + ("#" + self.fragment if self.fragment is not None else "")


@dataclass
class Result:
    url: str
    verdict: str
    status: int | None = None
    final_url: str | None = None
    redirects: list[dict[str, Any]] = field(default_factory=list)  # [{url, status}] hop by hop
    error: str | None = None
    elapsed: float = 0.0
    sources: list[Source] = field(default_factory=list)
    cached: bool = False
    failed_runs: int = 0  # consecutive runs this link has been broken, this one included
    failing: bool = False  # counts against the exit status under the run's policies
    timed_out: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "url": self.url, "verdict": self.verdict, "status": self.status,
            "final_url": self.final_url, "redirects": self.redirects, "error": self.error,
            "elapsed": round(self.elapsed, 3),
            "sources": [{"file": s.file, "line": s.line, "field": s.field} for s in self.sources],
            "cached": self.cached, "failed_runs": self.failed_runs, "failing": self.failing,
        }


@dataclass
class Options:
    max_concurrency: int = 32
    host_concurrency: int = 4
    host_interval: float = 0.1
    timeout: float = 20.0
    deadline: float = 900.0
    retries: int = 2
    retry_wait: float = 1.0
    max_retry_after: float = 60.0
    max_redirects: int = 10
    max_bytes: int = 10 * 1024 * 1024
    user_agent: str = DEFAULT_USER_AGENT
    exclude: list[re.Pattern[str]] = field(default_factory=list)
    blocked_is_broken: bool = False
    accept_timeouts: bool = False
    fail_after: int = 1
    cache_path: Path | None = DEFAULT_CACHE
    max_cache_age: float = 86400.0


class UsageError(Exception):
    """Bad input from the command line: one line on stderr, exit status 2."""


# ---------------------------------------------------------------------------------------
# URLs


def _escape(text: str, safe: str) -> str:
    """Percent-encode what may not travel raw (non-ASCII, spaces), keep existing escapes,
    and write their hex digits in upper case: one spelling per resource."""
    text = quote(text, safe=safe + "%")
    return re.sub(r"%[0-9a-fA-F]{2}", lambda m: m.group(0).upper(), text)


def split_url(url: str) -> tuple[str, str | None]:
    """(fetch URL, fragment): lower-case scheme and host (IDNA-encoded), no default port,
    non-ASCII percent-encoded, no fragment.

    Only what cannot change the resource is normalized: ``www.``, a trailing slash or the
    query can, so they stay.
    """
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if not host.isascii():
        with contextlib.suppress(UnicodeError):
            host = host.encode("idna").decode("ascii")
    if ":" in host:
        host = f"[{host}]"
    try:
        port = parts.port
    except ValueError:
        port = None
    netloc = host
    if port is not None and port != {"http": 80, "https": 443}.get(scheme):
        netloc = f"{host}:{port}"
    if parts.username:
        netloc = parts.username + (":" + parts.password if parts.password else "") + "@" + netloc
    path = _escape(parts.path or "/", "/:@!$&'()*+,;=-._~")
    query = _escape(parts.query, "/?:@!$&'()*+,;=-._~")
    fetch = urlunsplit((scheme, netloc, path, query, ""))
    return fetch, (parts.fragment if "#" in url else None)


def host_of(url: str) -> str:
    return urlsplit(url).netloc.lower()


def fragment_found(fragment: str, anchors: set[str], page_url: str) -> bool:
    """Whether ``#fragment`` names something on the page whose ids are ``anchors``."""
    if fragment in ("", "top") or fragment.lower() == "top" or fragment.startswith(":~:"):
        return True  # the top of the page, or a browser text fragment
    candidates = {fragment, unquote(fragment)}
    candidates |= {unicodedata.normalize("NFC", c) for c in candidates}
    if any(c in anchors or f"user-content-{c}" in anchors for c in candidates):
        return True  # GitHub renders README headings as user-content-<id>
    return host_of(page_url) in ("github.com", "www.github.com") and bool(
        re.fullmatch(r"L\d+(C\d+)?(-L\d+(C\d+)?)?", fragment))  # line anchors, made by script


class PageParser(HTMLParser):
    """Ids, ``<a name>`` anchors and links of one HTML page, with line numbers.

    Links inside ``<pre>`` or ``<code>`` are examples, not links, and are skipped.
    """

    LINK_ATTRIBUTES = {"a": "href", "area": "href", "link": "href", "img": "src",
                       "script": "src", "iframe": "src", "source": "src", "video": "src",
                       "audio": "src"}

    def __init__(self, want_links: bool = True) -> None:
        super().__init__(convert_charrefs=True)
        self.anchors: set[str] = set()
        self.links: list[tuple[str, int, str]] = []  # (value, line, attribute)
        self.want_links = want_links
        self.code_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {key: value for key, value in attrs if value is not None}
        if values.get("id"):
            self.anchors.add(values["id"])
        if tag == "a" and values.get("name"):
            self.anchors.add(values["name"])
        if tag in ("pre", "code"):
            self.code_depth += 1
        attribute = self.LINK_ATTRIBUTES.get(tag)
        if (self.want_links and attribute and values.get(attribute) is not None
                and not self.code_depth):
            self.links.append((values[attribute].strip(), self.getpos()[0], attribute))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag in ("pre", "code"):
            self.code_depth -= 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("pre", "code") and self.code_depth:
            self.code_depth -= 1


def parse_page(text: str, want_links: bool = True) -> PageParser:
    parser = PageParser(want_links)
    try:
        parser.feed(text)
        parser.close()
    except (AssertionError, ValueError):  # malformed markup: keep what was read
        pass
    return parser


# ---------------------------------------------------------------------------------------
# Inputs: catalog folders, YAML, Markdown, HTML, text files, built sites, URLs


class LinkSet:
    """Unique external links in first-seen order, each with all its sources."""

    def __init__(self) -> None:
        self.links: dict[str, Link] = {}
        self.unsupported: dict[str, Result] = {}

    def add(self, url: str, source: Source) -> None:
        url = url.strip()
        scheme = urlsplit(url).scheme.lower() if re.match(r"^[A-Za-z][\w+.-]*:", url) else ""
        if scheme not in ("http", "https"):
            shown = url if len(url) <= 80 else url[:77] + "..."
            result = self.unsupported.setdefault(shown, Result(
                shown, "unsupported", error=f"{scheme or 'no'} scheme: not checked"))
            result.sources.append(source)
            return
        fetch_url, fragment = split_url(url)
        link = Link(url, fetch_url, fragment)
        self.links.setdefault(link.key, link).sources.append(source)


URL_IN_TEXT = re.compile(r"""https?://[^\s<>"'`\])]+(?:\([^\s<>"'`)]*\)[^\s<>"'`\])]*)*""")
MD_INLINE_LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(][^)]*)?\s*\)")
MD_REFERENCE = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)")
MD_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
MD_FENCE = re.compile(r"^\s{0,3}(`{3,}|~{3,})")


def markdown_links(text: str) -> Iterator[tuple[str, int]]:
    """(target, line) for each link in Markdown, skipping code blocks and code spans."""
    fence: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if match := MD_FENCE.match(line):
            marker = match.group(1)
            if fence is None:
                fence = marker
            elif marker[0] == fence[0] and len(marker) >= len(fence):
                fence = None
            continue
        if fence is not None or line.startswith(("    ", "\t")):
            continue
        line = MD_CODE_SPAN.sub("", line)
        found: list[str] = []
        for pattern in (MD_INLINE_LINK, MD_REFERENCE):
            found += [m.group(1) for m in pattern.finditer(line)]
        for match in URL_IN_TEXT.finditer(line):
            url = match.group(0).rstrip(".,;:!?*_~")
            if not any(f.startswith(url) or url.startswith(f) for f in found):
                found.append(url)
        for target in dict.fromkeys(found):
            yield target, number


def _yaml_urls(value: Any, path: tuple[Any, ...]) -> Iterator[tuple[tuple[Any, ...], str]]:
    if isinstance(value, str) and re.match(r"^\s*https?://", value, re.IGNORECASE):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _yaml_urls(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _yaml_urls(item, (*path, index))


def shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_text(path: Path) -> str:
    try:
        return path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None


def is_catalog(path: Path) -> bool:
    """A catalog folder holds its schema and its taxonomy."""
    return (path / SCHEMA_NAME).is_file() or (path / "topics.yaml").is_file()


@dataclass
class SiteCheck:
    """Internal links of a built site (or of single HTML/Markdown files), checked on disk."""

    results: dict[str, Result] = field(default_factory=dict)
    anchors: dict[Path, set[str] | None] = field(default_factory=dict)

    def page_anchors(self, page: Path) -> set[str] | None:
        if page not in self.anchors:
            self.anchors[page] = (parse_page(read_text(page), want_links=False).anchors
                                  if page.suffix in (".html", ".htm") else None)
        return self.anchors[page]

    def check(self, root: Path, page: Path, target: str, source: Source,
              base_path: str = "/") -> None:
        """Record the verdict on ``target`` (a link as written in ``page``).

        The link is resolved as a browser would, against the page's URL on the published
        site (``base_path`` + its path under ``root``), then mapped back onto the disk.
        """
        page_url = "http://site" + base_path + page.relative_to(root).as_posix()
        parts = urlsplit(urljoin(page_url, target))
        fragment = parts.fragment if "#" in target else None
        path = unquote(parts.path)
        if not (path + "/").startswith(base_path):
            self._add(target, source, f"{path} is outside the site's base path {base_path}")
            return
        file = root / path[len(base_path):]
        if file.is_dir() or path.endswith("/"):
            file = file / "index.html"
        name = shown_path(file)
        if not file.is_file():
            self._add(name + (f"#{fragment}" if fragment else ""), source,
                      f"no such file: {name}")
            return
        key = name + (f"#{fragment}" if fragment is not None else "")
        anchors = self.page_anchors(file) if fragment not in (None, "", "top") else None
        if anchors is not None and not fragment_found(fragment or "", anchors, ""):
            self._add(key, source, f"no anchor #{fragment} in {name}")
        else:
            self._add(key, source, None)

    def _add(self, key: str, source: Source, error: str | None) -> None:
        result = self.results.setdefault(key, Result(key, "broken" if error else "ok",
                                                     error=error, failing=bool(error),
                                                     failed_runs=int(bool(error))))
        result.sources.append(source)


def site_base(site_url: str | None) -> tuple[str | None, str]:
    """(scheme-less prefix that marks an absolute URL as internal, base path)."""
    if not site_url:
        return None, "/"
    parts = urlsplit(site_url)
    base_path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return f"//{parts.netloc.lower()}{base_path}", base_path


def check_html_pages(root: Path, pages: Iterable[Path], site_url: str | None,
                     links: LinkSet | None, site: SiteCheck) -> None:
    """Internal links of ``pages`` into ``site``; external ones into ``links`` if given."""
    prefix, base_path = site_base(site_url)
    for page in pages:
        shown = shown_path(page)
        parsed = parse_page(read_text(page))
        site.anchors.setdefault(page, parsed.anchors)
        for value, line, attribute in parsed.links:
            if not value:
                continue
            source = Source(shown, line, attribute)
            absolute = value.startswith("//") or re.match(r"^[A-Za-z][\w+.-]*:", value)
            if absolute:
                scheme = urlsplit(value).scheme.lower()
                rest = value[len(scheme) + 1:] if scheme else value
                if prefix and scheme in ("http", "https", "") and (
                        rest.lower().startswith(prefix) or rest.lower() + "/" == prefix):
                    site.check(root, page, base_path + rest[len(prefix):], source, base_path)
                elif links is not None:
                    links.add(value if scheme else "https:" + value, source)
                continue
            site.check(root, page, value, source, base_path)


def check_markdown_local(path: Path, target: str, source: Source, site: SiteCheck) -> None:
    """A relative link in a Markdown file: the file must exist (headings are not parsed)."""
    relative = unquote(urlsplit(target).path)
    if not relative:
        return
    file = (path.parent / relative).resolve()
    name = shown_path(file)
    result = site.results.setdefault(name, Result(
        name, "ok" if file.exists() else "broken",
        error=None if file.exists() else f"no such file: {name}"))
    result.failed_runs = int(result.verdict == "broken")
    result.failing = result.verdict == "broken"
    result.sources.append(source)


def collect(inputs: list[str], site_url: str | None, external: bool
            ) -> tuple[LinkSet, SiteCheck, list[str]]:
    """Read every input; returns external links, internal results and notes for stderr."""
    links, site, notes = LinkSet(), SiteCheck(), []
    if not inputs:
        if Path("catalog").is_dir():
            inputs.append("catalog")
        if Path("site").is_dir():
            inputs.append("site")
        else:
            notes.append("no built site in site/ (run `make build`); checking the catalog only")
        if not inputs:
            raise UsageError("nothing to check: no catalog/ or site/ folder here; "
                             "name files, folders or URLs")
    for item in inputs:
        path = Path(item)
        if re.match(r"^[A-Za-z][\w+.-]*:", item) and not path.exists():
            links.add(item, Source("command line", 0))
        elif not path.exists():
            raise UsageError(f"{item}: no such file or folder")
        elif path.is_dir() and (is_catalog(path) or is_catalog(path.parent)):
            catalog_dir = path if is_catalog(path) else path.parent  # or one kind's folder
            catalog = load_catalog(catalog_dir)
            if catalog.problems:
                notes.append(f"{item}: {len(catalog.problems)} catalog problem(s); entries with "
                             "problems are skipped (run `atlas validate`)")
            inside = path.resolve()
            for url, file, line, key in iter_urls(catalog):
                if inside in Path(file).resolve().parents:
                    links.add(url, Source(file, line, key))
        elif path.is_dir():
            pages = sorted(p for p in path.rglob("*") if p.suffix in (".html", ".htm"))
            if not pages:
                raise UsageError(f"{item}: neither a catalog nor a built site (no HTML pages)")
            check_html_pages(path, pages, site_url, links if external else None, site)
        elif path.suffix in (".yaml", ".yml"):
            located, problems = read_yaml_file(path, shown_path(path))
            if located is None:
                raise UsageError(str(problems[0]))
            for key_path, url in _yaml_urls(located.data, ()):
                links.add(url, Source(shown_path(path), located.line(key_path),
                                      ".".join(map(str, key_path))))
        elif path.suffix in (".md", ".markdown"):
            for target, line_number in markdown_links(read_text(path)):
                source = Source(shown_path(path), line_number)
                if re.match(r"^[A-Za-z][\w+.-]*:", target):
                    links.add(target, source)
                elif not target.startswith("#"):
                    check_markdown_local(path, target, source, site)
        elif path.suffix in (".html", ".htm"):
            check_html_pages(path.parent, [path], site_url, links, site)
        else:
            for number, text in enumerate(read_text(path).splitlines(), 1):
                if text.strip() and not text.lstrip().startswith("#"):
                    links.add(text.strip(), Source(shown_path(path), number))
    return links, site, notes


# ---------------------------------------------------------------------------------------
# Politeness: per-host and global limits


class HostQueue:
    """One host's side of the limits: requests in flight, when the next may start (the
    interval, or a 429's pause) and the requests waiting, retries and redirect hops first."""

    def __init__(self) -> None:
        self.active = 0
        self.next_start = 0.0
        self.queues: tuple[deque[asyncio.Future[None]], ...] = (deque(), deque())  # urgent, rest
        self.waiting = [0, 0]  # live waiters in each queue (cancelled ones are skipped later)
        self.version = 0  # bumped on every change; older heap entries are stale
        self.timer: asyncio.TimerHandle | None = None


class Slots:
    """Both limits in one place: at most ``per_host`` requests in flight to one host,
    starting ``interval`` apart (a 429's Retry-After pauses the whole host), and at most
    ``total`` in all.

    A request is given both slots at once, so no host slot sits idle while its request waits
    for the global limit. When the global limit binds, the next free slot goes to a host
    with retries waiting, else to the host with the most requests waiting per request it
    has in flight, waiting / (in flight + 1): each host's share of the global limit follows
    what it has left, so the hosts drain together (the run ends when the last one does) and
    a host slowed by timeouts or 429s gets more, not less. Within a host, first come, first
    served (retries and redirect hops ahead of URLs not yet tried, so a URL that already
    waited is not starved); each release wakes one waiter, not all of them.
    """

    def __init__(self, total: int, per_host: int, interval: float) -> None:
        self.total, self.per_host, self.interval = total, per_host, interval
        self.active = 0
        self.hosts: dict[str, HostQueue] = {}
        # Hosts that may be given a slot, best first: (no retry waiting, -share, push order,
        # version, host); an entry whose version is not its host's current one is stale.
        self.ready: list[tuple[bool, float, int, int, HostQueue]] = []
        self.pushes = 0
        self.loop = asyncio.get_running_loop()

    def pause_until(self, host: str, moment: float) -> None:
        queue = self.hosts[host]
        queue.next_start = max(queue.next_start, moment)

    async def acquire(self, host: str, urgent: bool = False) -> None:
        queue = self.hosts.get(host) or self.hosts.setdefault(host, HostQueue())
        waiter = self.loop.create_future()
        queue.queues[not urgent].append(waiter)
        queue.waiting[not urgent] += 1
        self._offer(queue)
        self._dispatch()
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release(host)  # the slots were ours already: hand them on
            else:
                queue.waiting[not urgent] -= 1
                self._offer(queue)
            raise

    def release(self, host: str) -> None:
        queue = self.hosts[host]
        queue.active -= 1
        self.active -= 1
        self._offer(queue)
        self._dispatch()

    def _offer(self, queue: HostQueue) -> None:
        """(Re)enter a host with requests waiting into the choice, under its current rank."""
        queue.version += 1
        if sum(queue.waiting) and queue.active < self.per_host:
            self.pushes += 1
            share = sum(queue.waiting) / (queue.active + 1)
            heapq.heappush(self.ready, (not queue.waiting[0], -share, self.pushes,
                                        queue.version, queue))

    def _dispatch(self) -> None:
        now = self.loop.time()
        while self.active < self.total and self.ready:
            *_, version, queue = heapq.heappop(self.ready)
            if version != queue.version:
                continue  # stale: the host was offered again since, under another rank
            if now < queue.next_start:
                if queue.timer is None or queue.timer.when() != queue.next_start:
                    if queue.timer is not None:
                        queue.timer.cancel()
                    queue.timer = self.loop.call_at(queue.next_start, self._resume, queue)
                continue
            urgent = bool(queue.waiting[0])
            waiter = queue.queues[not urgent].popleft()
            if waiter.done():  # cancelled while queued (already uncounted)
                self._offer(queue)
                continue
            queue.waiting[not urgent] -= 1
            queue.active += 1
            self.active += 1
            queue.next_start = now + self.interval
            waiter.set_result(None)
            self._offer(queue)

    def _resume(self, queue: HostQueue) -> None:
        queue.timer = None
        self._offer(queue)
        self._dispatch()


# ---------------------------------------------------------------------------------------
# The HTTP side


@dataclass
class Attempt:
    """One HTTP exchange: a status, or an error of some kind."""

    status: int | None = None
    location: str | None = None
    retry_after: str | None = None
    challenge: bool = False  # a Cloudflare-style bot challenge
    html: bool = False
    anchors: set[str] | None = None
    error: str | None = None
    kind: str = ""  # timeout, dns, connection, tls, invalid
    started: float = 0.0  # when the request got its slots (queueing is not its time)
    method: str = "GET"


@dataclass
class Outcome:
    """What fetching one URL (all hops) found."""

    verdict: str
    status: int | None = None
    final_url: str | None = None
    redirects: list[dict[str, Any]] = field(default_factory=list)
    error: str | None = None
    anchors: set[str] | None = None
    html: bool = False
    timed_out: bool = False
    elapsed: float = 0.0


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment is None:
        return None
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


async def within(seconds: float, awaitable: Awaitable[Attempt]) -> Attempt:
    """``awaitable`` cancelled after ``seconds`` (asyncio.timeout, which spawns no task,
    where Python has it)."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await awaitable
    return await asyncio.wait_for(awaitable, seconds)


def make_resolver() -> Any:
    """The DNS resolver for the session; tests replace it to keep every name on loopback."""
    return None


class Checker:
    """Fetches links under the limits; one instance per run."""

    def __init__(self, options: Options, resolver: Any = None) -> None:
        self.options = options
        self.resolver = resolver
        self.get_only: set[str] = set()  # hosts whose HEAD answers cannot be trusted
        self.requests = 0
        self.run_end = 0.0

    async def open(self) -> None:
        self.loop = asyncio.get_running_loop()
        self.run_end = self.loop.time() + self.options.deadline
        self.slots = Slots(self.options.max_concurrency, self.options.host_concurrency,
                           self.options.host_interval)
        self.session: Any = None

    def http(self) -> Any:
        """The HTTP session, made on first use: a run served from the cache needs none."""
        if self.session is not None:
            return self.session
        import aiohttp

        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, ttl_dns_cache=300,
                                         resolver=self.resolver, enable_cleanup_closed=False)
        self.session = aiohttp.ClientSession(
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, sock_connect=self.options.timeout),
            headers={"User-Agent": self.options.user_agent,
                     "Accept": "text/html,application/xhtml+xml,*/*;q=0.8"},
            max_line_size=65536, max_field_size=65536,
            cookie_jar=aiohttp.CookieJar(),
        )
        return self.session

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()

    async def sleep(self, seconds: float) -> None:
        """Sleep, but never past the run's deadline (the run is cancelled there anyway)."""
        await asyncio.sleep(max(0.0, min(seconds, self.run_end - self.loop.time())))

    async def request(self, method: str, url: str, want_anchors: bool, limited: int = 0,
                      urgent: bool = False) -> Attempt:
        """One request under the host's and the global limit, with a total deadline.

        A 429 pauses the whole host before its slot is given back, so that no other
        request to it slips in before the Retry-After has passed. Retries are ``urgent``:
        they have waited once already and go ahead of URLs not yet tried.
        """
        host = host_of(url)
        await self.slots.acquire(host, urgent)
        if method == "HEAD" and host in self.get_only:  # learned while this one queued
            method = "GET"
        try:
            self.requests += 1
            started = self.loop.time()
            try:
                attempt = await within(self.options.timeout,
                                       self._send(method, url, want_anchors))
            except asyncio.TimeoutError:
                attempt = Attempt(error=f"timed out after {self.options.timeout:g} s",
                                  kind="timeout")
            except Exception as error:  # noqa: BLE001 - every failure is a verdict
                attempt = self._failure(error)
            attempt.started, attempt.method = started, method
            if attempt.status == 429:
                wait = min(self.retry_after(attempt, limited), self.options.max_retry_after)
                self.slots.pause_until(host, self.loop.time() + wait)
            return attempt
        finally:
            self.slots.release(host)

    def retry_after(self, attempt: Attempt, limited: int) -> float:
        """Seconds a 429 asks us to wait; without a header, the doubling retry wait."""
        wait = parse_retry_after(attempt.retry_after)
        return self.options.retry_wait * 2 ** limited if wait is None else wait

    def _failure(self, error: Exception) -> Attempt:
        import aiohttp

        text = str(error) or type(error).__name__
        if isinstance(error, aiohttp.ClientConnectorDNSError):
            # "try again" is a resolver having a bad moment: retried like a lost connection.
            transient = getattr(error.os_error, "errno", None) == socket.EAI_AGAIN
            return Attempt(error=f"DNS lookup failed: {error.os_error}",
                           kind="connection" if transient else "dns")
        if isinstance(error, (aiohttp.ClientConnectorCertificateError,
                              aiohttp.ClientConnectorSSLError, aiohttp.ClientSSLError)):
            return Attempt(error=f"TLS error: {text}", kind="tls")
        if isinstance(error, aiohttp.ClientConnectorError):
            reason = error.os_error.strerror or str(error.os_error)
            return Attempt(error=f"cannot connect: {reason}", kind="connection")
        if isinstance(error, (aiohttp.InvalidURL, ValueError)):
            return Attempt(error=f"invalid URL: {text}", kind="invalid")
        if isinstance(error, (aiohttp.ServerDisconnectedError, aiohttp.ClientOSError,
                              aiohttp.ClientPayloadError, ConnectionError)):
            return Attempt(error=f"connection lost: {text}", kind="connection")
        if isinstance(error, aiohttp.ClientResponseError):
            return Attempt(error=f"bad HTTP response: {error.message}", kind="connection")
        return Attempt(error=f"{type(error).__name__}: {text}", kind="connection")

    async def _send(self, method: str, url: str, want_anchors: bool) -> Attempt:
        import yarl

        async with self.http().request(method, yarl.URL(url, encoded=True),
                                         allow_redirects=False) as response:
            content_type = response.headers.get("Content-Type", "").lower()
            attempt = Attempt(
                status=response.status, location=response.headers.get("Location"),
                retry_after=response.headers.get("Retry-After"),
                challenge=response.headers.get("cf-mitigated", "").lower() == "challenge",
                html="html" in content_type,
            )
            if method != "GET" or response.status >= 300:
                return attempt
            if want_anchors and attempt.html:
                body = bytearray()
                async for chunk in response.content.iter_chunked(65536):
                    body += chunk
                    if len(body) >= self.options.max_bytes:
                        break  # the cap: a huge page is checked on its first bytes only
                try:
                    text = bytes(body).decode(response.charset or "utf-8", errors="replace")
                except LookupError:  # a charset Python does not know: ids are ASCII anyway
                    text = bytes(body).decode("utf-8", errors="replace")
                if len(text) > 1_000_000:
                    attempt.anchors = await asyncio.to_thread(_anchors, text)
                else:
                    attempt.anchors = _anchors(text)
            elif (response.content_length or KEEP_ALIVE_BODY + 1) <= KEEP_ALIVE_BODY:
                await response.read()
            return attempt  # any unread body is dropped with its connection, never read

    async def exchange(self, url: str, want_anchors: bool, urgent: bool = False) -> Attempt:
        """HEAD where it saves bytes, GET where HEAD is refused or errs; retries with backoff
        for timeouts, lost connections and 5xx; Retry-After honoured for 429, per host."""
        host = host_of(url)
        method = "GET" if want_anchors or host in self.get_only else "HEAD"
        failures = limited = 0
        head_failed = False
        first: float | None = None
        while True:
            attempt = await self.request(method, url, want_anchors, limited,
                                         urgent=urgent or failures + limited > 0 or head_failed)
            attempt.started = first = attempt.started if first is None else first
            method = attempt.method
            status = attempt.status
            if method == "HEAD" and status is not None and status >= 400 and status != 429:
                if status in HEAD_REFUSED_STATUSES:
                    self.get_only.add(host)
                method, head_failed = "GET", True
                continue
            if method == "HEAD" and attempt.kind == "connection":
                method = "GET"  # some servers drop HEAD on the floor
                continue
            if status == 429:
                wait = self.retry_after(attempt, limited)
                if limited >= self.options.retries or wait > self.options.max_retry_after:
                    return attempt
                limited += 1
                continue  # the host's pause holds this and every other request to it
            retryable = (attempt.kind in ("timeout", "connection")
                         or (status is not None and (status >= 500 or status == 408)
                             and not attempt.challenge))
            if retryable and failures < self.options.retries:
                await self.sleep(self.options.retry_wait * 2 ** failures)
                failures += 1
                continue
            if head_failed and status is not None and status < 400:
                self.get_only.add(host)  # HEAD lied here once: ask this host with GET only
            return attempt

    async def fetch(self, url: str, want_anchors: bool) -> Outcome:
        """Follow redirects by hand (each hop under its own host's limits) to a verdict."""
        start: float | None = None
        redirects: list[dict[str, Any]] = []
        seen = {url}
        current = url
        while True:
            attempt = await self.exchange(current, want_anchors, urgent=bool(redirects))
            start = attempt.started if start is None else start
            status = attempt.status
            outcome = Outcome("broken", status, current, redirects, attempt.error,
                              attempt.anchors, attempt.html, attempt.kind == "timeout")
            if status in REDIRECT_STATUSES and attempt.location:
                redirects.append({"url": current, "status": status})
                target = urljoin(current, attempt.location.strip())
                scheme = urlsplit(target).scheme.lower()
                if scheme not in ("http", "https"):
                    outcome.error = f"redirects to an unsupported {scheme or 'blank'} URL"
                elif split_url(target)[0] in seen:
                    outcome.error = f"redirect loop back to {target}"
                elif len(redirects) > self.options.max_redirects:
                    outcome.error = f"more than {self.options.max_redirects} redirects"
                else:
                    current = split_url(target)[0]
                    seen.add(current)
                    continue
            elif status is not None:
                outcome.verdict = self.classify(attempt)
                if outcome.verdict != "ok":
                    outcome.error = outcome.error or _status_text(attempt)
                elif redirects:
                    outcome.verdict = "redirected"
            outcome.elapsed = self.loop.time() - (start or attempt.started)
            return outcome

    def classify(self, attempt: Attempt) -> str:
        status = attempt.status or 0
        if 200 <= status < 300:
            return "ok"
        if status == 429:
            return "rate_limited"
        if status in BLOCKED_STATUSES or attempt.challenge:
            return "blocked"
        return "broken"

    async def check_group(self, links: list[Link], cache: Cache) -> list[Result]:
        """Every fragment of one page from a single fetch (or from the cache)."""
        fetch_url = links[0].fetch_url
        want_anchors = any(link.fragment not in (None, "", "top") for link in links)
        outcome = cache.lookup(fetch_url, want_anchors)
        cached = outcome is not None
        if outcome is None:
            outcome = await self.fetch(fetch_url, want_anchors)
            cache.store(fetch_url, outcome)
        results = []
        for link in links:
            result = Result(link.url, outcome.verdict, outcome.status,
                            outcome.final_url if outcome.redirects else None,
                            outcome.redirects, outcome.error, outcome.elapsed, link.sources,
                            cached, timed_out=outcome.timed_out)
            if (outcome.verdict in FINE and link.fragment not in (None, "", "top")
                    and outcome.anchors is not None
                    and not fragment_found(link.fragment or "", outcome.anchors,
                                           outcome.final_url or fetch_url)):
                result.verdict = "broken"
                result.error = f"no anchor #{link.fragment} on the page"
            results.append(result)
        return results


def _anchors(text: str) -> set[str]:
    return parse_page(text, want_links=False).anchors


def _status_text(attempt: Attempt) -> str:
    from http import HTTPStatus

    status = attempt.status or 0
    try:
        phrase = HTTPStatus(status).phrase
    except ValueError:
        phrase = "bot wall" if status == 999 else "non-standard status"
    if attempt.challenge:
        phrase += " (bot challenge)"
    return f"{status} {phrase}"


# ---------------------------------------------------------------------------------------
# Memory: the result cache and the failure history


class Cache:
    """Fine results younger than the maximum age (no request is made for them again) and,
    per link, how many consecutive runs it has been broken.

    Failures, blocks and 429s are never reused: they are always checked again.
    """

    def __init__(self, path: Path | None, max_age: float, notes: list[str]) -> None:
        self.path, self.max_age = path, max_age
        self.pages: dict[str, dict[str, Any]] = {}
        self.failures: dict[str, dict[str, Any]] = {}
        self.now = time.time()
        if path is None or not path.exists():
            return
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != CACHE_VERSION:
                raise ValueError("another version")
            self.pages = dict(data["pages"])
            self.failures = dict(data["failures"])
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as error:
            notes.append(f"ignoring the cache file {path} ({type(error).__name__}); "
                         "starting afresh")
            self.pages, self.failures = {}, {}

    def lookup(self, fetch_url: str, want_anchors: bool) -> Outcome | None:
        entry = self.pages.get(fetch_url)
        if not entry or self.now - entry.get("checked", 0) > self.max_age:
            return None
        if want_anchors and entry.get("anchors") is None and entry.get("html", True):
            return None  # checked without reading the page: its fragments are unknown
        anchors = entry.get("anchors")
        return Outcome(entry["verdict"], entry.get("status"), entry.get("final_url"),
                       entry.get("redirects", []), None,
                       set(anchors) if anchors is not None else None, entry.get("html", False))

    def store(self, fetch_url: str, outcome: Outcome) -> None:
        if outcome.verdict in FINE:
            self.pages[fetch_url] = {
                "checked": self.now, "verdict": outcome.verdict, "status": outcome.status,
                "final_url": outcome.final_url, "redirects": outcome.redirects,
                "html": outcome.html,
                "anchors": sorted(outcome.anchors) if outcome.anchors is not None else None,
            }
        else:
            self.pages.pop(fetch_url, None)

    def record(self, key: str, result: Result) -> int:
        """Update the failure history with this run's result; consecutive broken runs."""
        if result.verdict == "broken":
            entry = self.failures.setdefault(key, {"runs": 0, "first": self.now})
            entry["runs"] += 1
            entry["last"], entry["error"] = self.now, result.error
            entry["elapsed"] = round(result.elapsed, 3)
            return int(entry["runs"])
        if result.verdict in FINE:
            self.failures.pop(key, None)
        return 0

    def save(self) -> None:
        if self.path is None:
            return
        horizon = self.now - max(self.max_age, 0)
        pages = {url: e for url, e in self.pages.items() if e.get("checked", 0) >= horizon}
        forgotten = self.now - HISTORY_DAYS * 86400  # links no longer checked anywhere
        failures = {key: e for key, e in self.failures.items() if e.get("last", 0) >= forgotten}
        data = {"version": CACHE_VERSION, "pages": pages, "failures": failures}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temporary = self.path.with_name(self.path.name + f".{os.getpid()}.tmp")
        temporary.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        os.replace(temporary, self.path)


# ---------------------------------------------------------------------------------------
# A run


async def check_links(links: list[Link], options: Options, cache: Cache,
                      progress: Callable[[int, int], None] | None = None,
                      resolver: Any = None) -> tuple[list[Result], int]:
    """Check every link; returns the results and the number of HTTP requests made."""
    groups: dict[str, list[Link]] = {}
    results: list[Result] = []
    for link in links:
        if any(pattern.search(link.url) for pattern in options.exclude):
            results.append(Result(link.url, "excluded", sources=link.sources,
                                  error="matches an exclude pattern; not checked"))
        else:
            groups.setdefault(link.fetch_url, []).append(link)
    if not groups:
        return results, 0
    checker = Checker(options, resolver)
    await checker.open()
    order = _schedule(groups, cache)
    tasks: dict[asyncio.Future[list[Result]], list[Link]] = {}
    finished = 0

    def count(_: asyncio.Future[list[Result]]) -> None:
        nonlocal finished
        finished += 1
        if progress:
            progress(finished, len(order))

    try:
        for index, group in enumerate(order, 1):
            task = asyncio.ensure_future(checker.check_group(group, cache))
            task.add_done_callback(count)  # one wait for all: no re-waiting on thousands
            tasks[task] = group
            if index % (2 * options.max_concurrency) == 0:
                # Let the first requests go out while the rest queue up: a task's answer
                # waits behind every task started before it, thousands at the start.
                await asyncio.sleep(0)
        done, pending = await asyncio.wait(
            tasks, timeout=max(0.0, checker.run_end - checker.loop.time()))
        for future in tasks:  # in the order scheduled, so reports are stable
            if future in done:
                results += future.result()
        for future in pending:
            future.cancel()
            for link in tasks[future]:
                results.append(Result(link.url, "broken", sources=link.sources,
                                      timed_out=True, elapsed=options.deadline,
                                      error=f"not finished when the run's deadline "
                                            f"({options.deadline:g} s) was reached"))
        if pending:
            await asyncio.wait(pending, timeout=1)
    finally:
        await checker.close()
    return results, checker.requests


def _schedule(groups: dict[str, list[Link]], cache: Cache) -> list[list[Link]]:
    """The order requests are queued in: links that were broken last run first, slowest
    first (timeouts and retries are the run's long poles), then the rest round-robin over
    hosts."""
    def previous(group: list[Link]) -> float:
        return max(float(cache.failures.get(link.key, {}).get("elapsed", -1.0))
                   for link in group)

    failed = sorted((group for group in groups.values() if previous(group) >= 0),
                    key=previous, reverse=True)
    rest = {url: group for url, group in groups.items() if previous(group) < 0}
    return failed + _interleave_hosts(rest)


def _interleave_hosts(groups: dict[str, list[Link]]) -> list[list[Link]]:
    """Round-robin over hosts, so that one big host does not queue ahead of the rest."""
    by_host: dict[str, list[list[Link]]] = {}
    for fetch_url, group in groups.items():
        by_host.setdefault(host_of(fetch_url), []).append(group)
    queues = list(by_host.values())
    order: list[list[Link]] = []
    for index in range(max(map(len, queues), default=0)):
        order += [queue[index] for queue in queues if index < len(queue)]
    return order


def apply_policies(results: list[Result], options: Options, cache: Cache,
                   link_keys: dict[str, str]) -> None:
    """Failure history, then which results fail the run."""
    for result in results:
        key = link_keys.get(result.url)
        deadline_hit = (result.error or "").startswith("not finished")
        if key is not None and result.verdict in VERDICTS and not deadline_hit:
            result.failed_runs = cache.record(key, result)
        elif result.verdict == "broken":
            result.failed_runs = max(result.failed_runs, 1)
        result.failing = (
            (result.verdict == "broken" and result.failed_runs >= options.fail_after
             and not (result.timed_out and options.accept_timeouts))
            or (result.verdict == "broken" and deadline_hit and not options.accept_timeouts)
            or (result.verdict == "blocked" and options.blocked_is_broken)
        )


# ---------------------------------------------------------------------------------------
# atlas linkcheck


def duration(text: str) -> float:
    """Seconds from '90', '90s', '15m', '12h' or '7d'."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 15m, 12h or 1d")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def positive(kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
        return value
    return parse


def non_negative(kind: type) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
        return value
    return parse


def register(subparsers: argparse._SubParsersAction) -> None:
    defaults = Options()
    parser = subparsers.add_parser(
        "linkcheck",
        help="check the catalog's URLs and the built site's links",
        description="Check every URL in the catalog and every internal link and anchor in "
                    "the built site (site/), or the files, folders and URLs named. Exits 0 "
                    "when nothing is broken, 1 when something is, 2 on a usage error.",
    )
    parser.add_argument("inputs", nargs="*", metavar="INPUT",
                        help="catalog folder, YAML/Markdown/HTML/text file (one URL a line), "
                             "built-site folder or URL (default: catalog and site)")
    output = parser.add_argument_group("output")
    output.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                        help="report format (default: text)")
    output.add_argument("-o", "--output", type=Path, metavar="FILE",
                        help="write the report to FILE; a short summary still goes to stdout")
    output.add_argument("--no-progress", action="store_true", help="no progress bar")
    output.add_argument("-v", "--verbose", action="store_true",
                        help="text format: list ok links too")
    polite = parser.add_argument_group("limits")
    polite.add_argument("--max-concurrency", type=positive(int), metavar="N",
                        default=defaults.max_concurrency,
                        help=f"requests in flight in all (default: {defaults.max_concurrency})")
    polite.add_argument("--host-concurrency", type=positive(int), metavar="N",
                        default=defaults.host_concurrency,
                        help=f"requests in flight per host (default: {defaults.host_concurrency})")
    polite.add_argument("--host-interval", type=non_negative(float), metavar="SECONDS",
                        default=defaults.host_interval,
                        help="minimum time between starting two requests to one host "
                             f"(default: {defaults.host_interval:g})")
    polite.add_argument("--timeout", type=positive(float), metavar="SECONDS",
                        default=defaults.timeout,
                        help="total time for one request, from connecting to the last byte "
                             f"read (default: {defaults.timeout:g})")
    polite.add_argument("--deadline", type=duration, metavar="DURATION",
                        default=defaults.deadline,
                        help="time for the whole run; what is unfinished then is reported "
                             "as timed out (default: 15m)")
    polite.add_argument("--retries", type=non_negative(int), metavar="N",
                        default=defaults.retries,
                        help="retries after a timeout, lost connection, 5xx or 429 "
                             f"(default: {defaults.retries})")
    polite.add_argument("--retry-wait", type=non_negative(float), metavar="SECONDS",
                        default=defaults.retry_wait,
                        help="first wait before a retry; doubles each time "
                             f"(default: {defaults.retry_wait:g})")
    polite.add_argument("--max-retry-after", type=non_negative(float), metavar="SECONDS",
                        default=defaults.max_retry_after,
                        help="longest Retry-After honoured; a longer one gives rate_limited "
                             f"at once (default: {defaults.max_retry_after:g})")
    polite.add_argument("--max-redirects", type=non_negative(int), metavar="N",
                        default=defaults.max_redirects,
                        help=f"redirect hops allowed (default: {defaults.max_redirects})")
    polite.add_argument("--max-bytes", type=positive(int), metavar="N",
                        default=defaults.max_bytes,
                        help="most bytes of a page read to find its anchors (default: 10 MiB)")
    polite.add_argument("--user-agent", metavar="TEXT", default=defaults.user_agent,
                        help="User-Agent header (default: names this project)")
    polite.add_argument("--exclude", action="append", default=[], metavar="REGEX",
                        help="do not request URLs matching REGEX (repeatable)")
    policy = parser.add_argument_group("policies")
    policy.add_argument("--blocked-is-broken", action="store_true",
                        help="count blocked (403, 999, bot challenges) as broken")
    policy.add_argument("--accept-timeouts", action="store_true",
                        help="do not count timeouts as broken")
    policy.add_argument("--fail-after", type=positive(int), metavar="N",
                        default=defaults.fail_after,
                        help="report a link as dead only once it has failed on N separate "
                             "runs (needs the cache file; default: 1)")
    memory = parser.add_argument_group("cache and history")
    memory.add_argument("--cache", type=Path, metavar="FILE", default=DEFAULT_CACHE,
                        help=f"results and failure history (default: {DEFAULT_CACHE})")
    memory.add_argument("--no-cache", action="store_true",
                        help="neither read nor write the cache file")
    memory.add_argument("--max-cache-age", type=duration, metavar="DURATION",
                        default=defaults.max_cache_age,
                        help="reuse fine results younger than this (default: 1d)")
    site = parser.add_argument_group("built site")
    site.add_argument("--site-url", metavar="URL",
                      help="the site's public URL, so absolute links to it are checked on "
                           "disk (default: site_url in mkdocs.yml)")
    site.add_argument("--external", action="store_true",
                      help="also check external links found in built-site folders")
    parser.set_defaults(handler=run_linkcheck)


def options_from(args: argparse.Namespace) -> Options:
    try:
        exclude = [re.compile(pattern) for pattern in args.exclude]
    except re.error as error:
        raise UsageError(f"--exclude: invalid regular expression: {error}") from None
    if args.no_cache and args.fail_after > 1:
        raise UsageError("--fail-after needs the cache file's history; drop --no-cache")
    return Options(
        max_concurrency=args.max_concurrency, host_concurrency=args.host_concurrency,
        host_interval=args.host_interval, timeout=args.timeout, deadline=args.deadline,
        retries=args.retries, retry_wait=args.retry_wait, max_retry_after=args.max_retry_after,
        max_redirects=args.max_redirects, max_bytes=args.max_bytes, user_agent=args.user_agent,
        exclude=exclude, blocked_is_broken=args.blocked_is_broken,
        accept_timeouts=args.accept_timeouts, fail_after=args.fail_after,
        cache_path=None if args.no_cache else args.cache, max_cache_age=args.max_cache_age,
    )


def mkdocs_site_url(config: Path = Path("mkdocs.yml"),
                    environ: Mapping[str, str] | None = None) -> str | None:
    """site_url from mkdocs.yml, read without executing its !!python tags.

    MkDocs' ``!ENV`` tag is resolved as MkDocs does: ``!ENV NAME`` or ``!ENV [NAME, ...,
    default]``, the first variable set wins, else the last item (the site was built with the
    same environment, so its links are under the same base path)."""
    try:
        text = config.read_text(encoding="utf-8")
    except OSError:
        return None
    match = re.search(r"^site_url:[ \t]*(.*?)[ \t]*(?:#.*)?$", text, re.MULTILINE)
    if not match or not match.group(1):
        return None
    value = match.group(1)
    tagged = re.fullmatch(r"!ENV\s+(\[.*\]|\S+)", value)
    if not tagged:
        return value.strip("'\"") or None
    items = [item.strip().strip("'\"") for item in tagged.group(1).strip("[]").split(",")]
    environ = os.environ if environ is None else environ
    for name in items[:-1] if len(items) > 1 else items:
        if environ.get(name):
            return environ[name]
    return items[-1] if len(items) > 1 else None


def run_linkcheck(args: argparse.Namespace) -> int:
    from atlas.linkcheck_report import Progress, render, summary_line

    started = time.monotonic()
    try:
        options = options_from(args)
        links, site, notes = collect(list(args.inputs), args.site_url or mkdocs_site_url(),
                                     args.external)
    except UsageError as error:
        print(f"atlas linkcheck: {error}", file=sys.stderr)
        return 2
    cache = Cache(options.cache_path, options.max_cache_age, notes)
    for note in notes:
        print(f"atlas linkcheck: {note}", file=sys.stderr)
    external = list(links.links.values())
    progress = None
    fetches = len({link.fetch_url for link in external})
    if not args.no_progress and sys.stderr.isatty() and fetches >= PROGRESS_MIN_URLS:
        progress = Progress(sys.stderr)
    results, requests = asyncio.run(check_links(external, options, cache, progress,
                                                make_resolver()))
    if progress:
        progress.finish()
    keys = {link.url: link.key for link in external}
    apply_policies(results, options, cache, keys)
    try:
        cache.save()
    except OSError as error:
        print(f"atlas linkcheck: cannot write the cache {options.cache_path}: {error.strerror}",
              file=sys.stderr)
    results += list(site.results.values()) + list(links.unsupported.values())
    elapsed = time.monotonic() - started
    stats = {"elapsed": round(elapsed, 3), "requests": requests, "unique_urls": fetches,
             "fail_after": options.fail_after}
    report = render(args.format, results, stats, verbose=args.verbose)
    if args.output:
        try:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(report, encoding="utf-8")
        except OSError as error:
            print(f"atlas linkcheck: cannot write {args.output}: {error.strerror}",
                  file=sys.stderr)
            return 2
        print(summary_line(results, stats))
    else:
        sys.stdout.write(report)
    return 1 if any(result.failing for result in results) else 0

