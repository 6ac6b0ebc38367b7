"""Pages as the checker reads them: files decoded leniently and named as a maintainer
types them, and HTML reduced to its anchors and its links (with line numbers)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from atlas.linkcheck.options import UsageError


def shown_path(path: Path) -> str:
    """``path`` relative to the working directory when inside it: what reports print."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def read_text(path: Path) -> str:
    """A file's text; undecodable bytes are replaced, since links are ASCII anyway."""
    try:
        return path.read_bytes().decode("utf-8-sig", errors="replace")
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None


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


def anchors(text: str) -> set[str]:
    """The ids and ``<a name>`` anchors a fragment may name on this page."""
    return parse_page(text, want_links=False).anchors
