"""One HTTP exchange on the wire, with aiohttp: its status, or the kind of failure.

Built on asyncio rather than requests and threads because a link checker needs a *total*
deadline per request: requests bounds each socket read, so a server trickling one byte
every few seconds never times out, whereas a coroutine is cancelled cleanly at its
deadline wherever it is. Redirects are not followed here (the fetch follows them hop by
hop, each under its own host's limits) and the connection pool has no limits of its own.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import socket
import ssl
import sys
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from atlas.linkcheck.options import Options
from atlas.linkcheck.pages import anchors

KEEP_ALIVE_BODY = 64 * 1024  # read small bodies so the connection can be reused
LARGE_PAGE = 1_000_000  # characters: parsed in a thread, so the other requests go on


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

    def status_text(self) -> str:
        """``404 Not Found``: the status as a maintainer reads it."""
        status = self.status or 0
        try:
            phrase = HTTPStatus(status).phrase
        except ValueError:
            phrase = "bot wall" if status == 999 else "non-standard status"
        if self.challenge:
            phrase += " (bot challenge)"
        return f"{status} {phrase}"


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delay-seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    if moment.tzinfo is None:  # "-0000" parses naive: HTTP dates are always UTC
        moment = moment.replace(tzinfo=dt.timezone.utc)
    return max(0.0, moment.timestamp() - (time.time() if now is None else now))


async def within(seconds: float, awaitable: Awaitable[Attempt]) -> Attempt:
    """``awaitable`` cancelled after ``seconds`` (asyncio.timeout, which spawns no task,
    where Python has it)."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await awaitable
    return await asyncio.wait_for(awaitable, seconds)


def make_resolver() -> Any:
    """The DNS resolver for the session (None: aiohttp's own); the tests replace it to keep
    every name on loopback."""
    return None


def make_ssl_context() -> ssl.SSLContext | bool:
    """TLS for the session (True: aiohttp's verified default); the tests replace it with a
    context that trusts their own CA."""
    return True


class Transport:
    """The HTTP session of one run, made on first use: a run served from the cache
    needs none."""

    def __init__(self, options: Options, resolver: Any = None) -> None:
        self.options = options
        self.resolver = resolver
        self.session: Any = None

    def http(self) -> Any:
        if self.session is not None:
            return self.session
        import aiohttp

        connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, ttl_dns_cache=300,
                                         resolver=self.resolver, ssl=make_ssl_context(),
                                         enable_cleanup_closed=False)
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

    async def exchange(self, method: str, url: str, want_anchors: bool) -> Attempt:
        """One request within ``--timeout`` in all; every failure becomes an Attempt."""
        try:
            return await within(self.options.timeout, self._send(method, url, want_anchors))
        except asyncio.TimeoutError:
            return Attempt(error=f"timed out after {self.options.timeout:g} s", kind="timeout")
        except Exception as error:  # noqa: BLE001 - every failure is a verdict
            return failure(error)

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
                if len(text) > LARGE_PAGE:
                    attempt.anchors = await asyncio.to_thread(anchors, text)
                else:
                    attempt.anchors = anchors(text)
            elif (response.content_length or KEEP_ALIVE_BODY + 1) <= KEEP_ALIVE_BODY:
                await response.read()
            return attempt  # any unread body is dropped with its connection, never read


def failure(error: Exception) -> Attempt:
    """What went wrong, in words, and of which kind (the kind decides about retrying)."""
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
