"""Which redirect chains are moves: the entry should give the new address.

A move is a permanent redirect (301 or 308, anywhere in the chain, the last one included)
to another host or path. Redirects that leave the resource where it was are not moves: an
upgrade to https, a trailing slash added or removed, ``www.`` added or dropped; nor is a
redirect to a sign-in or consent page, which says "not without an account", not "moved".
The check errs towards "not a move": ``atlas linkcheck --fix`` rewrites what it calls one.
"""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, unquote, urlsplit

from atlas.linkcheck.model import Hop
from atlas.linkcheck.urls import DEFAULT_PORTS

PERMANENT = frozenset({301, 308})
# A host label or path segment that names a sign-in, authorisation or consent step.
SIGN_IN_WORD = re.compile(
    r"(service)?(log-?in|log-?on|sign-?in|sign_in|o?auth\d*|authori[sz]e|authenticate|sso|"
    r"consent|accounts?|session|cas)", re.IGNORECASE)
PAGE_SUFFIX = re.compile(r"\.(html?|php|aspx?|jsp|cgi)$", re.IGNORECASE)


def place(url: str) -> tuple[str, str, int | None, str]:
    """(scheme, host without ``www.``, port, path without trailing slash)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".").removeprefix("www.")
    try:
        port = parts.port
    except ValueError:
        port = None
    if port == DEFAULT_PORTS.get(scheme):
        port = None
    return scheme, host, port, (parts.path or "/").rstrip("/")


def same_place(a: str, b: str) -> bool:
    """Whether two URLs name the same host and path: a move changes one of them. A change
    of scheme is not a move, nor is the port that comes with it (80 to 443, or 8080 to
    8443 on a server of one's own)."""
    (scheme_a, host_a, port_a, path_a), (scheme_b, host_b, port_b, path_b) = place(a), place(b)
    return host_a == host_b and path_a == path_b and (port_a == port_b or scheme_a != scheme_b)


def _points_back(value: str, origins: list[str]) -> bool:
    """Whether a query value leads back to one of ``origins``: its URL, or its path (a
    sign-in page often fronts the site under another name)."""
    for text in dict.fromkeys((value, unquote(value))):
        if text.startswith(("http://", "https://")):
            if any(same_place(text, origin) for origin in origins):
                return True
        elif text.startswith("/"):
            path = urlsplit(text).path.rstrip("/")
            if any(place(origin)[3] == path for origin in origins):
                return True
    return False


def is_sign_in(url: str, origins: list[str]) -> bool:
    """Whether ``url`` is a sign-in or consent page: a host label (below the registrable
    domain) or path segment like ``login``, ``accounts`` or ``consent``, or a query
    parameter that leads back to one of ``origins`` (``?next=``, ``?return_to=``,
    ``redirect_uri=``)."""
    parts = urlsplit(url)
    labels = (parts.hostname or "").lower().split(".")[:-2]
    segments = [PAGE_SUFFIX.sub("", segment) for segment in unquote(parts.path).split("/")]
    if any(SIGN_IN_WORD.fullmatch(word) for word in labels + segments if word):
        return True
    return any(_points_back(value, origins)
               for _, value in parse_qsl(parts.query, keep_blank_values=True))


def moved_to(redirects: list[Hop], final_url: str) -> str | None:
    """Where a chain of redirects says the first URL now lives, or None if it is no move.

    The new address is the target of the chain's last permanent redirect (what follows a
    temporary redirect is not part of the address). At least one permanent hop must change
    the host or path, the new address must differ from the first URL by more than
    scheme, ``www.`` or a trailing slash, and no step of the chain may be a sign-in page.
    """
    if not redirects:
        return None
    targets = [hop.url for hop in redirects[1:]] + [final_url]
    last: int | None = None
    changes_place = False
    for index, (hop, target) in enumerate(zip(redirects, targets, strict=True)):
        if hop.status in PERMANENT:
            last = index
            changes_place = changes_place or not same_place(hop.url, target)
    if last is None or not changes_place:
        return None
    origin = redirects[0].url
    new = targets[last]
    if same_place(origin, new):
        return None
    asked = [hop.url for hop in redirects]
    if any(is_sign_in(target, asked) for target in targets):
        return None
    return new
