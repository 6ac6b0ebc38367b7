"""The command line: `atlas linkcheck` and its options, and the exit status."""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from atlas.linkcheck import http
from atlas.linkcheck.cache import Cache
from atlas.linkcheck.fix import fix_moves
from atlas.linkcheck.inputs import catalog_folder, collect
from atlas.linkcheck.options import DEFAULT_CACHE, Options, UsageError
from atlas.linkcheck.report import Progress, render, summary_line
from atlas.linkcheck.run import apply_policies, check_links
from atlas.linkcheck.site_check import mkdocs_site_url

PROGRESS_MIN_URLS = 20
DESCRIPTION = (
    "Check every URL in the catalog and every internal link and anchor in the built site "
    "(site/), or the files, folders and URLs named. Exits 0 when nothing is broken, 1 when "
    "something is, 2 on a usage error. With --fix: prints a diff that rewrites each moved "
    "URL of the catalog's entries (--write applies it); exits 0 when every move was "
    "rewritten and the catalog validates, 1 when a move was refused or the catalog has new "
    "problems, 2 on a usage error.")


def duration(text: str) -> float:
    """Seconds from '90', '90s', '15m', '12h' or '7d'."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is not a duration like 90s, 15m, 12h or 1d")
    return float(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def number(kind: type, least: float, strict: bool) -> Callable[[str], Any]:
    """An argparse type: a number of ``kind`` above ``least`` (or at least it)."""
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value < least or (strict and value == least):
            raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0" if strict
                                             else f"{text!r} must not be negative")
        return value
    return parse


def positive(kind: type) -> Callable[[str], Any]:
    return number(kind, 0, strict=True)


def non_negative(kind: type) -> Callable[[str], Any]:
    return number(kind, 0, strict=False)


def register(subparsers: argparse._SubParsersAction) -> None:
    d = Options()
    parser = subparsers.add_parser(
        "linkcheck", help="check the catalog's URLs and the built site's links",
        description=DESCRIPTION)
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
    limits = parser.add_argument_group("limits")
    add = limits.add_argument
    add("--max-concurrency", type=positive(int), metavar="N", default=d.max_concurrency,
        help=f"requests in flight in all (default: {d.max_concurrency})")
    add("--host-concurrency", type=positive(int), metavar="N", default=d.host_concurrency,
        help=f"requests in flight per host (default: {d.host_concurrency})")
    add("--host-interval", type=non_negative(float), metavar="SECONDS",
        default=d.host_interval, help="minimum time between starting two requests to one "
                                      f"host (default: {d.host_interval:g})")
    add("--timeout", type=positive(float), metavar="SECONDS", default=d.timeout,
        help="total time for one request, from connecting to the last byte read "
             f"(default: {d.timeout:g})")
    add("--deadline", type=duration, metavar="DURATION", default=d.deadline,
        help="time for the whole run; what is unfinished then is reported as timed out "
             "(default: 15m)")
    add("--retries", type=non_negative(int), metavar="N", default=d.retries,
        help=f"retries after a timeout, lost connection, 5xx or 429 (default: {d.retries})")
    add("--retry-wait", type=non_negative(float), metavar="SECONDS", default=d.retry_wait,
        help=f"first wait before a retry; doubles each time (default: {d.retry_wait:g})")
    add("--max-retry-after", type=non_negative(float), metavar="SECONDS",
        default=d.max_retry_after, help="longest Retry-After honoured; a longer one gives "
                                        f"rate_limited at once (default: {d.max_retry_after:g})")
    add("--max-redirects", type=non_negative(int), metavar="N", default=d.max_redirects,
        help=f"redirect hops allowed (default: {d.max_redirects})")
    add("--max-bytes", type=positive(int), metavar="N", default=d.max_bytes,
        help="most bytes of a page read to find its anchors (default: 10 MiB)")
    add("--user-agent", metavar="TEXT", default=d.user_agent,
        help="User-Agent header (default: names this project)")
    add("--exclude", action="append", default=[], metavar="REGEX",
        help="do not request URLs matching REGEX (repeatable)")
    policy = parser.add_argument_group("policies")
    policy.add_argument("--blocked-is-broken", action="store_true",
                        help="count blocked (403, 999, bot challenges) as broken")
    policy.add_argument("--moved-is-broken", action="store_true",
                        help="count moved (a permanent redirect elsewhere) as broken")
    policy.add_argument("--accept-timeouts", action="store_true",
                        help="do not count timeouts as broken")
    policy.add_argument("--fail-after", type=positive(int), metavar="N", default=d.fail_after,
                        help="report a link as dead only once it has failed on N separate "
                             "runs (needs the cache file; default: 1)")
    memory = parser.add_argument_group("cache and history")
    memory.add_argument("--cache", type=Path, metavar="FILE", default=DEFAULT_CACHE,
                        help=f"results and failure history (default: {DEFAULT_CACHE})")
    memory.add_argument("--no-cache", action="store_true",
                        help="neither read nor write the cache file")
    memory.add_argument("--max-cache-age", type=duration, metavar="DURATION",
                        default=d.max_cache_age,
                        help="reuse alive results younger than this (default: 1d)")
    site = parser.add_argument_group("built site")
    site.add_argument("--site-url", metavar="URL",
                      help="the site's public URL, so absolute links to it are checked on "
                           "disk (default: site_url in mkdocs.yml)")
    site.add_argument("--external", action="store_true",
                      help="also check external links found in built-site folders")
    fix = parser.add_argument_group("moved URLs")
    fix.add_argument("--fix", action="store_true",
                     help="check the catalog (or the catalog folders named) and print a "
                          "unified diff rewriting each moved url/repository to its new URL; "
                          "the report goes to --output only")
    fix.add_argument("--write", action="store_true",
                     help="with --fix: apply the diff to the entry files, then validate")
    parser.set_defaults(handler=run_linkcheck)


def options_from(args: argparse.Namespace) -> Options:
    try:
        exclude = [re.compile(pattern) for pattern in args.exclude]
    except re.error as error:
        raise UsageError(f"--exclude: invalid regular expression: {error}") from None
    if args.no_cache and args.fail_after > 1:
        raise UsageError("--fail-after needs the cache file's history; drop --no-cache")
    if args.write and not args.fix:
        raise UsageError("--write applies the changes of --fix; add --fix")
    return Options(
        max_concurrency=args.max_concurrency, host_concurrency=args.host_concurrency,
        host_interval=args.host_interval, timeout=args.timeout, deadline=args.deadline,
        retries=args.retries, retry_wait=args.retry_wait, max_retry_after=args.max_retry_after,
        max_redirects=args.max_redirects, max_bytes=args.max_bytes, user_agent=args.user_agent,
        exclude=exclude, blocked_is_broken=args.blocked_is_broken,
        moved_is_broken=args.moved_is_broken, accept_timeouts=args.accept_timeouts,
        fail_after=args.fail_after, cache_path=None if args.no_cache else args.cache,
        max_cache_age=args.max_cache_age,
    )


def fix_inputs(inputs: list[str]) -> list[Path]:
    """The catalog folders --fix works on: those named (or a kind folder), else catalog/."""
    folders = []
    for item in inputs or ["catalog"]:
        folder = catalog_folder(Path(item))
        if folder is None:
            raise UsageError(f"--fix rewrites catalog entries: {item} is not a catalog folder")
        folders.append(folder)
    return folders


def run_linkcheck(args: argparse.Namespace) -> int:
    started = time.monotonic()
    try:
        options = options_from(args)
        catalogs = fix_inputs(list(args.inputs)) if args.fix else []
        inputs = [str(folder) for folder in catalogs] if args.fix and not args.inputs \
            else list(args.inputs)
        found = collect(inputs, args.site_url or mkdocs_site_url(), args.external)
    except UsageError as error:
        print(f"atlas linkcheck: {error}", file=sys.stderr)
        return 2
    cache = Cache(options.cache_path, options.max_cache_age, found.notes)
    for note in found.notes:
        print(f"atlas linkcheck: {note}", file=sys.stderr)
    external = list(found.links.links.values())
    progress = None
    fetches = len({link.fetch_url for link in external})
    if not args.no_progress and sys.stderr.isatty() and fetches >= PROGRESS_MIN_URLS:
        progress = Progress(sys.stderr)
    results, requests = asyncio.run(check_links(external, options, cache, progress,
                                                http.make_resolver()))
    if progress:
        progress.finish()
    apply_policies(results, options, cache, {link.url: link.key for link in external})
    try:
        cache.save()
    except OSError as error:
        print(f"atlas linkcheck: cannot write the cache {options.cache_path}: {error.strerror}",
              file=sys.stderr)
    results += list(found.site.results.values()) + list(found.links.unsupported.values())
    stats = {"elapsed": round(time.monotonic() - started, 3), "requests": requests,
             "unique_urls": fetches, "fail_after": options.fail_after}
    report = render(args.format, results, stats, verbose=args.verbose)
    if args.output:
        try:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(report, encoding="utf-8")
        except OSError as error:
            print(f"atlas linkcheck: cannot write {args.output}: {error.strerror}",
                  file=sys.stderr)
            return 2
    if args.fix:
        print(summary_line(results, stats), file=sys.stderr)
        return fix_moves(results, {folder: found.catalogs[folder] for folder in catalogs},
                         args.write, sys.stdout, sys.stderr)
    if args.output:
        print(summary_line(results, stats))
    else:
        sys.stdout.write(report)
    return 1 if any(result.failing for result in results) else 0
