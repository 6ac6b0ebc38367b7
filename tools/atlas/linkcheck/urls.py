"""Web addresses as the checker compares them: one spelling per resource, and fragments
matched against a page's anchors the way browsers and GitHub match them."""

from __future__ import annotations

import contextlib
import re
import unicodedata
from urllib.parse import quote, unquote, urlsplit, urlunsplit

DEFAULT_PORTS = {"http": 80, "https": 443}


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
    if port is not None and port != DEFAULT_PORTS.get(scheme):
        netloc = f"{host}:{port}"
    if parts.username:
        netloc = parts.username + (":" + parts.password if parts.password else "") + "@" + netloc
    path = _escape(parts.path or "/", "/:@!$&'()*+,;=-._~")
    query = _escape(parts.query, "/?:@!$&'()*+,;=-._~")
    fetch = urlunsplit((scheme, netloc, path, query, ""))
    return fetch, (parts.fragment if "#" in url else None)


def host_of(url: str) -> str:
    """The host and port a request to ``url`` goes to: the unit of the per-host limits."""
    return urlsplit(url).netloc.lower()


def has_scheme(text: str) -> bool:
    """Whether ``text`` starts with a URL scheme (``https:``, ``mailto:``)."""
    return re.match(r"^[A-Za-z][\w+.-]*:", text) is not None


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
