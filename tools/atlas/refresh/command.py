"""``atlas refresh``: the command line. Exit status: 0 nothing needs attention, 1 findings
(or entries not refreshed), 2 usage error (bad option, unknown id, unreadable file)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from atlas.linkcheck.command import duration
from atlas.linkcheck.report import Progress
from atlas.refresh.targets import Service

PROGRESS_MIN_ENTRIES = 20


class UsageError(Exception):
    """Bad input: one line on stderr, exit status 2."""


def _concurrency(text: str) -> tuple[Service, int]:
    name, _, number = text.partition("=")
    try:
        service, count = Service(name.strip()), int(number)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected SERVICE=N with SERVICE one of "
            f"{', '.join(s.value for s in Service)} and N a whole number") from None
    if count < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: N must be at least 1")
    return service, count


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} must not be negative")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be greater than 0")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    from atlas.refresh.activity import INACTIVE_DAYS, STALE_RELEASE_DAYS
    from atlas.refresh.cache import DEFAULT_CACHE
    from atlas.refresh.run import DEFAULT_CONCURRENCY
    from atlas.refresh.services import BASE_ENVIRONMENT, DEFAULT_BASES

    parser = subparsers.add_parser(
        "refresh",
        help="fetch stars, activity and releases into catalog/metadata.json; report findings",
        description="Ask GitHub (entries with a github.com `repository`), PyPI (`pypi`) and "
                    "the Hugging Face Hub (`huggingface`) about the catalog's entries and write "
                    "what they say to catalog/metadata.json (generated: never edit it; entry "
                    "files are never touched). Then report what needs attention: archived "
                    f"repositories, no activity for {INACTIVE_DAYS} days, a licence differing "
                    "from the entry's, renamed repositories, a latest PyPI release over "
                    f"{STALE_RELEASE_DAYS // 365} years old, anything not found. GITHUB_TOKEN "
                    "is used when set. Exit status: 0 nothing needs attention, 1 findings or "
                    "entries not refreshed, 2 usage error.",
    )
    parser.add_argument("--catalog", type=Path, default=Path("catalog"), metavar="DIR",
                        help="the catalog folder (default: catalog)")
    parser.add_argument("--metadata", type=Path, metavar="FILE",
                        help="the file to write (default: DIR/metadata.json)")
    parser.add_argument("--only", nargs="+", metavar="ID", default=None,
                        help="refresh and report these entries only")
    parser.add_argument("--max-age", type=duration, default=0.0, metavar="AGE",
                        help="skip entries checked less than AGE ago (90s, 15m, 12h, 7d; "
                             "default 0: every entry)")
    parser.add_argument("--no-fetch", action="store_true",
                        help="ask no service: report the findings of metadata.json as it is")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                        help="report format (default: text; markdown for a CI job's issue)")
    parser.add_argument("--output", type=Path, metavar="FILE",
                        help="write the report to FILE and print its summary line")
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, metavar="FILE",
                        help=f"ETags of earlier answers (default: {DEFAULT_CACHE})")
    parser.add_argument("--no-cache", action="store_true",
                        help="neither read nor write the cache (every request is a full one)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.add_argument("--concurrency", type=_concurrency, action="append", default=[],
                        metavar="SERVICE=N",
                        help="requests in flight per service (default: " + ", ".join(
                            f"{s.value}={n}" for s, n in DEFAULT_CONCURRENCY.items()) + ")")
    parser.add_argument("--timeout", type=_seconds, default=30.0, metavar="SECONDS",
                        help="bound on one whole request, connection to last byte (30)")
    parser.add_argument("--retries", type=_count, default=3, metavar="N",
                        help="retries of a 5xx, timeout or lost connection (3)")
    parser.add_argument("--retry-wait", type=_seconds, default=1.0, metavar="SECONDS",
                        help="first wait before a retry, doubled each time (1)")
    parser.add_argument("--max-wait", type=duration, default=900.0, metavar="DURATION",
                        help="longest wait for a rate limit to lift (default 15m); a longer "
                             "one stops asking that service, keeping what was fetched")
    for service in Service:
        parser.add_argument(f"--{service.value}-api", metavar="URL", default=None,
                            help=f"{service.label}'s API (default: "
                                 f"${BASE_ENVIRONMENT[service]} or {DEFAULT_BASES[service]})")
    parser.set_defaults(handler=run_refresh)


def run_refresh(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except UsageError as error:
        print(f"atlas refresh: {error}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    import asyncio
    import datetime as dt

    from atlas.catalog import load_catalog
    from atlas.refresh import report
    from atlas.refresh.cache import Cache
    from atlas.refresh.findings import find
    from atlas.refresh.metadata import MetadataError, default_path, load, write_if_changed
    from atlas.refresh.run import DEFAULT_CONCURRENCY, Settings, refresh
    from atlas.refresh.services import Bases, default_base
    from atlas.refresh.targets import Targets

    if not args.catalog.is_dir():
        raise UsageError(f"{args.catalog}: no such catalog folder")
    catalog = load_catalog(args.catalog)
    if catalog.rules is None:
        raise UsageError(f"{args.catalog}: {catalog.problems[0]}" if catalog.problems
                         else f"{args.catalog}: not a catalog")
    if catalog.problems:
        print(f"atlas refresh: {len(catalog.problems)} catalog problem(s); entries with "
              "problems are skipped (run `atlas validate`)", file=sys.stderr)
    path = args.metadata or default_path(args.catalog)
    try:
        metadata = load(path)
    except MetadataError as error:
        raise UsageError(str(error)) from None
    by_id = catalog.by_id()
    if args.only:
        unknown = [entry_id for entry_id in args.only if entry_id not in by_id]
        if unknown:
            raise UsageError(f"no valid entry {', '.join(map(repr, unknown))} in {args.catalog}")
        entries = [by_id[entry_id] for entry_id in dict.fromkeys(args.only)]
    else:
        entries = sorted(catalog.entries, key=lambda e: e.id)
    targets = [t for t in map(Targets.of, entries) if t.services]
    now = dt.datetime.now(dt.timezone.utc)
    summary = report.Summary(now.date().isoformat(), len(targets), str(path))
    results = []
    if not args.no_fetch:
        bases = Bases(*(getattr(args, f"{s.value}_api") or default_base(s) for s in Service))
        for service in Service:
            base = bases.of(service)
            if not base.startswith(("http://", "https://")):
                raise UsageError(f"--{service.value}-api {base!r}: not an http(s) URL")
        concurrency = {**DEFAULT_CONCURRENCY, **dict(args.concurrency)}
        settings = Settings(bases, os.environ.get("GITHUB_TOKEN") or None, concurrency,
                            args.timeout, args.retries, args.retry_wait, args.max_wait,
                            args.max_age)
        cache = Cache.load(None if args.no_cache else args.cache)
        for note in cache.notes:
            print(f"atlas refresh: {note}", file=sys.stderr)
        before = path.read_bytes() if path.is_file() else None
        if not args.only:  # entries gone from the catalog (or naming no service) leave it
            wanted = {t.entry_id for t in targets}
            for stale in [key for key in metadata.records if key not in wanted]:
                del metadata.records[stale]
        shown = (not args.no_progress and sys.stderr.isatty()
                 and len(targets) >= PROGRESS_MIN_ENTRIES)
        progress = Progress(sys.stderr, unit="entries") if shown else None

        def notify(message: str) -> None:
            if progress:
                progress.finish()
            print(f"atlas refresh: {message}", file=sys.stderr)

        try:
            run = asyncio.run(refresh(targets, metadata, path, cache, settings, progress, notify))
        except OSError as error:
            raise UsageError(f"cannot write {error.filename}: {error.strerror}") from None
        finally:
            if progress:
                progress.finish()
        write_if_changed(path, metadata.to_text())  # the pruned records, if nothing else
        summary.run = run
        summary.written = before != (path.read_bytes() if path.is_file() else None)
        results = run.results
    findings = find([by_id[t.entry_id] for t in targets], metadata, results, now.date())
    text = report.render(args.format, findings, summary)
    if args.output:
        try:
            args.output.parent.mkdir(parents=True, exist_ok=True)
            args.output.write_text(text, encoding="utf-8")
        except OSError as error:
            raise UsageError(f"cannot write {args.output}: {error.strerror}") from None
        print(summary.line(findings))
    else:
        sys.stdout.write(text)
    return 1 if findings else 0
