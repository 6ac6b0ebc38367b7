"""From a URL to a verdict: HEAD or GET, retries with backoff, Retry-After, redirects
followed hop by hop (each under its own host's limits), moves told from redirects, and
every fragment of a page checked from one download."""

from __future__ import annotations

import asyncio
from urllib.parse import urljoin, urlsplit

from atlas.linkcheck.cache import Cache
from atlas.linkcheck.http import Attempt, Transport, parse_retry_after
from atlas.linkcheck.model import Hop, Link, Outcome, Result, Verdict
from atlas.linkcheck.moves import moved_to
from atlas.linkcheck.options import Options
from atlas.linkcheck.scheduler import Slots
from atlas.linkcheck.urls import fragment_found, host_of, split_url

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# Answers that mean "a bot wall said no", not "the page is gone": 999 is LinkedIn's.
BLOCKED_STATUSES = frozenset({401, 403, 999})
HEAD_REFUSED_STATUSES = frozenset({405, 501})


def classify(attempt: Attempt) -> Verdict:
    """The verdict on a final (not redirecting) answer."""
    status = attempt.status or 0
    if 200 <= status < 300:
        return Verdict.OK
    if status == 429:
        return Verdict.RATE_LIMITED
    if status in BLOCKED_STATUSES or attempt.challenge:
        return Verdict.BLOCKED
    return Verdict.BROKEN


class Fetcher:
    """Fetches links under the limits; one instance per run."""

    def __init__(self, options: Options, slots: Slots, transport: Transport,
                 run_end: float) -> None:
        self.options, self.slots, self.transport = options, slots, transport
        self.run_end = run_end
        self.loop = asyncio.get_running_loop()
        self.get_only: set[str] = set()  # hosts whose HEAD answers cannot be trusted
        self.requests = 0

    async def sleep(self, seconds: float) -> None:
        """Sleep, but never past the run's deadline (the run is cancelled there anyway)."""
        await asyncio.sleep(max(0.0, min(seconds, self.run_end - self.loop.time())))

    def retry_after(self, attempt: Attempt, limited: int) -> float:
        """Seconds a 429 asks us to wait; without a header, the doubling retry wait."""
        wait = parse_retry_after(attempt.retry_after)
        return self.options.retry_wait * 2 ** limited if wait is None else wait

    async def request(self, method: str, url: str, want_anchors: bool, limited: int = 0,
                      urgent: bool = False) -> Attempt:
        """One request under the host's and the global limit.

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
            attempt = await self.transport.exchange(method, url, want_anchors)
            attempt.started, attempt.method = started, method
            if attempt.status == 429:
                wait = min(self.retry_after(attempt, limited), self.options.max_retry_after)
                self.slots.pause_until(host, self.loop.time() + wait)
            return attempt
        finally:
            self.slots.release(host)

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
        redirects: list[Hop] = []
        seen = {url}
        current = url
        while True:
            attempt = await self.exchange(current, want_anchors, urgent=bool(redirects))
            start = attempt.started if start is None else start
            status = attempt.status
            outcome = Outcome(Verdict.BROKEN, status, current, redirects, attempt.error,
                              attempt.anchors, attempt.html, attempt.kind == "timeout")
            if status in REDIRECT_STATUSES and attempt.location:
                redirects.append(Hop(current, status))
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
                outcome.verdict = classify(attempt)
                if outcome.verdict is not Verdict.OK:
                    outcome.error = outcome.error or attempt.status_text()
                elif redirects:
                    outcome.moved_to = moved_to(redirects, current)
                    outcome.verdict = Verdict.MOVED if outcome.moved_to else Verdict.REDIRECTED
            outcome.elapsed = self.loop.time() - (start or attempt.started)
            return outcome

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
            if outcome.moved_to:  # the fragment follows the page, as in a browser
                result.moved_to = outcome.moved_to + (
                    f"#{link.fragment}" if link.fragment is not None else "")
            if (outcome.verdict.alive and link.fragment not in (None, "", "top")
                    and outcome.anchors is not None
                    and not fragment_found(link.fragment or "", outcome.anchors,
                                           outcome.final_url or fetch_url)):
                result.verdict, result.moved_to = Verdict.BROKEN, None
                result.error = f"no anchor #{link.fragment} on the page"
            results.append(result)
        return results
