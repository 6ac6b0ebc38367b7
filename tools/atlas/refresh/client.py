"""One HTTP client for every service: conditional requests, limits, retries, a deadline.

* Conditional: the ETag (and Last-Modified) of a URL's last full answer go out as
  ``If-None-Match`` (``If-Modified-Since``); a 304 is answered from the cache.
* Limits: a request holds one of its service's slots (``--concurrency``) and reserves one
  unit of its remaining rate limit (``limits.py``); 403/429 with ``X-RateLimit-Remaining:
  0`` waits for the reset (or stops the service), with ``Retry-After`` pauses the service.
* Transient failures (5xx, a timeout, a reset or refused connection) are retried
  ``retries`` times, waiting ``retry_wait`` seconds and doubling; the wait holds no slot.
* ``timeout`` bounds the whole exchange, from connecting to the last byte of the body, so
  an answer that stalls halfway cannot hold the run.
* Redirects are followed by hand, only on the service's own origin (the token never goes
  elsewhere); a permanent one (a renamed repository) is remembered in the cache.
* 404 and 410 are an answer (the thing is gone), not an error.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import aiohttp
from multidict import CIMultiDict

from atlas import __version__
from atlas.refresh.cache import Cache, Cached
from atlas.refresh.limits import Limits, Stopped, retry_after
from atlas.refresh.targets import Service

USER_AGENT = f"AIGC-Atlas-refresh/{__version__} (the AIGC Atlas catalog's metadata refresh)"
TRANSIENT_STATUSES = frozenset({500, 502, 503, 504})
GONE_STATUSES = frozenset({404, 410})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECTS = frozenset({301, 308})
MAX_REDIRECTS = 5
MAX_SECONDARY_WAITS = 5  # per request: a service that keeps saying "slow down" has said no
SECONDARY_DEFAULT_WAIT = 60.0  # GitHub: "wait at least one minute" when it gives no time
MAX_BYTES = 32 * 1024 * 1024  # PyPI's answer for a project with thousands of files


class Failure(Exception):
    """A request that did not get an answer worth having (after its retries)."""


@dataclass
class Answer:
    status: int  # 200 (also for a 304 answered from the cache), or what said "gone"
    data: Any = None  # what ``extract`` took from the body
    not_modified: bool = False
    moved: bool = False  # reached through a permanent redirect
    gone: bool = False  # 404, 410 (and the Hub's 401): deleted, or never was


@dataclass
class Stats:
    requests: int = 0
    not_modified: int = 0
    counted: int = 0  # answers that cost rate limit: every answer but a 304, where a
    #                   service states a limit (GitHub)
    retries: int = 0


def origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


@dataclass
class Client:
    session: aiohttp.ClientSession
    cache: Cache
    limits: dict[Service, Limits]
    headers: dict[Service, dict[str, str]]  # per service, the token included where given
    origins: dict[Service, tuple[str, str]]  # where each service's requests may go
    timeout: float = 30.0
    retries: int = 3
    retry_wait: float = 1.0
    gone_statuses: dict[Service, frozenset[int]] | None = None
    stats: Stats | None = None

    def __post_init__(self) -> None:
        self.stats = self.stats or Stats()

    async def get(self, service: Service, url: str, extract: Callable[[Any], Any]) -> Answer:
        """The answer for ``url``; raises Failure, or Stopped when the service's limit
        will not lift in time."""
        assert self.stats is not None
        limits = self.limits[service]
        remembered = self.cache.get(url)
        target = remembered.redirect if remembered and remembered.redirect else url
        moved = target != url
        hops = transient = secondary = 0
        gone = self.gone_statuses.get(service, GONE_STATUSES) if self.gone_statuses \
            else GONE_STATUSES
        while True:
            cached = self.cache.get(target)
            headers = dict(self.headers.get(service, {}))
            if cached and cached.data is not None:
                if cached.etag:
                    headers["If-None-Match"] = cached.etag
                if cached.last_modified:
                    headers["If-Modified-Since"] = cached.last_modified
            error = None
            async with limits.slots:
                await limits.reserve()
                try:
                    status, answer_headers, body = await asyncio.wait_for(
                        self._exchange(target, headers), self.timeout)
                except asyncio.TimeoutError:
                    error = f"no complete answer within {self.timeout:g} s"
                except (aiohttp.ClientError, OSError) as problem:
                    error = f"{type(problem).__name__}: {problem}".rstrip(": ")
                finally:
                    limits.release()
            if error is None:
                self.stats.requests += 1
                stated = answer_headers.get("X-RateLimit-Remaining")
                if status == 304:
                    self.stats.not_modified += 1
                elif stated is not None:
                    self.stats.counted += 1
                limits.observe(stated, answer_headers.get("X-RateLimit-Reset"))
            else:
                status, answer_headers, body = 0, CIMultiDict(), b""
            if status == 304 and cached and cached.data is not None:
                return Answer(200, cached.data, not_modified=True, moved=moved)
            if status == 200:
                try:
                    data = extract(json.loads(body))
                except (ValueError, TypeError, KeyError, AttributeError) as problem:
                    raise Failure(f"{target}: an answer this tool cannot read "
                                  f"({type(problem).__name__})") from None
                self.cache.put(target, Cached(answer_headers.get("ETag"),
                                              answer_headers.get("Last-Modified"), data))
                if moved:
                    self.cache.put(url, Cached(redirect=target))
                return Answer(200, data, moved=moved)
            if status in REDIRECT_STATUSES and answer_headers.get("Location"):
                location = urljoin(target, answer_headers["Location"])
                hops += 1
                if origin(location) != self.origins[service]:
                    raise Failure(f"{target}: redirected off {service.label}'s API to "
                                  f"{location}")
                if hops > MAX_REDIRECTS:
                    raise Failure(f"{url}: more than {MAX_REDIRECTS} redirects")
                moved = moved or status in PERMANENT_REDIRECTS
                target = location
                continue
            if status in gone:
                self.cache.drop(target)
                if target != url and remembered and remembered.redirect:
                    # the remembered new address went away: ask the old one again
                    self.cache.drop(url)
                    remembered, target, moved = None, url, False
                    continue
                return Answer(status, gone=True)
            if status in (403, 429):
                if answer_headers.get("X-RateLimit-Remaining") == "0":
                    limits.spent(answer_headers.get("X-RateLimit-Reset"))
                    continue  # reserve() waits for the reset, or stops
                wait = retry_after(answer_headers.get("Retry-After"))
                if wait is not None or status == 429 or b"rate limit" in body.lower():
                    secondary += 1
                    if secondary > MAX_SECONDARY_WAITS:
                        raise Failure(f"{target}: still rate limited after {secondary - 1} "
                                      "waits")
                    await limits.pause(SECONDARY_DEFAULT_WAIT * 2 ** (secondary - 1)
                                       if wait is None else wait,
                                       "asked to slow down (secondary rate limit)")
                    continue
            if error is not None or status in TRANSIENT_STATUSES:
                transient += 1
                if transient > self.retries:
                    raise Failure(f"{target}: {error or f'HTTP {status}'} "
                                  f"(tried {transient} times)")
                self.stats.retries += 1
                await asyncio.sleep(self.retry_wait * 2 ** (transient - 1))
                continue
            raise Failure(f"{target}: HTTP {status}")

    async def _exchange(self, url: str, headers: dict[str, str]
                        ) -> tuple[int, Mapping[str, str], bytes]:
        async with self.session.get(url, headers=headers, allow_redirects=False) as response:
            chunks, size = [], 0
            async for chunk in response.content.iter_chunked(64 * 1024):
                size += len(chunk)
                if size > MAX_BYTES:
                    raise Failure(f"{url}: answer larger than {MAX_BYTES:,} bytes")
                chunks.append(chunk)
            return response.status, response.headers, b"".join(chunks)


__all__ = ["Answer", "Client", "Failure", "Stats", "Stopped"]
