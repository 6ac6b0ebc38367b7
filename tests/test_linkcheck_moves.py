"""The `moved` verdict and `atlas linkcheck --fix`, against a redirect farm on 127.0.0.2-5
(names of atlas-fixture.org and .net resolve there and nowhere else; HTTPS with a test CA):
which redirects are moves, how every report shows them, and the entry files rewritten byte
for byte outside the moved values."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from atlas.catalog import load_catalog
from atlas.cli import main
from atlas.linkcheck import http
from atlas.linkcheck.model import Hop
from atlas.linkcheck.moves import is_sign_in, moved_to
from conftest import CATALOG
from loopback_http import Handler, LoopbackServer, StaticResolver, client_tls

pytestmark = pytest.mark.timeout(60)

FAST = ["--timeout", "1", "--retries", "0", "--host-interval", "0", "--no-progress",
        "--no-cache"]
OLD, NEW, SECURE, BARE, WWW = ("old.atlas-fixture.org", "new.atlas-fixture.org",
                               "secure.atlas-fixture.org", "atlas-fixture.net",
                               "www.atlas-fixture.net")


# ---------------------------------------------------------------------------------------
# Which chains are moves (no network)


def chain(*hops: tuple[str, int]) -> list[Hop]:
    return [Hop(url, status) for url, status in hops]


@pytest.mark.parametrize(("hops", "final", "expected"), [
    ([("https://a.org/x", 301)], "https://b.org/x", "https://b.org/x"),
    ([("https://a.org/x", 308)], "https://a.org/y", "https://a.org/y"),
    ([("https://a.org/x", 302), ("https://a.org/x2", 301)], "https://b.org/z",
     "https://b.org/z"),
    # What follows a temporary redirect is not the new address.
    ([("https://a.org/x", 301), ("https://b.org/x", 302)], "https://b.org/today",
     "https://b.org/x"),
    ([("http://a.org/x", 301)], "https://a.org/x", None),
    ([("https://a.org/x", 301)], "https://a.org/x/", None),
    ([("https://a.org/x/", 308)], "https://a.org/x", None),
    ([("https://a.org/x", 301)], "https://www.a.org/x", None),
    ([("https://www.a.org/x", 301)], "https://a.org/x", None),
    ([("http://a.org/x", 301), ("https://a.org/x", 301)], "https://www.a.org/x/", None),
    ([("http://a.org:8080/x", 301)], "https://a.org:8443/x", None),  # upgrade, own ports
    ([("https://a.org:8080/x", 301)], "https://a.org:8081/x", "https://a.org:8081/x"),
    ([("https://a.org/x", 302)], "https://b.org/x", None),
    ([("https://a.org/x", 303)], "https://b.org/x", None),
    ([("https://a.org/x", 307)], "https://b.org/x", None),
    # A temporary move to another host, then only an upgrade to https there.
    ([("https://a.org/x", 302), ("http://b.org/x", 301)], "https://b.org/x", None),
    ([("https://a.org/x", 301)], "https://a.org/login?next=/x", None),
    ([("https://a.org/x", 301), ("https://b.org/x", 302)], "https://b.org/sign-in", None),
])
def test_which_chains_are_moves(hops: list[tuple[str, int]], final: str,
                                expected: str | None) -> None:
    assert moved_to(chain(*hops), final) == expected


@pytest.mark.parametrize(("url", "sign_in"), [
    ("https://a.org/login?next=%2Fdocs", True),
    ("https://a.org/users/sign_in", True),
    ("https://a.org/Account/Login.aspx?ReturnUrl=%2Fdocs", True),
    ("https://accounts.google.com/ServiceLogin?continue=https://a.org/docs", True),
    ("https://consent.youtube.com/m?continue=https%3A%2F%2Fwww.youtube.com%2F", True),
    ("https://a.org/oauth/authorize?client_id=1", True),
    ("https://sso.a.org/start", True),
    ("https://id.a.org/begin?redirect_uri=https%3A%2F%2Fa.org%2Fdocs", True),  # back to it
    ("https://id.a.org/begin?return_to=/docs/", True),
    ("https://a.org/authors/someone", False),
    ("https://a.org/bloginfo", False),
    ("https://auth0.com/docs", False),  # the registrable domain itself is just a name
    ("https://a.org/docs/v2?next=/elsewhere", False),
])
def test_sign_in_pages(url: str, sign_in: bool) -> None:
    assert is_sign_in(url, ["https://a.org/docs"]) is sign_in


# ---------------------------------------------------------------------------------------
# The redirect farm


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    table: dict[str, str] = {}
    monkeypatch.setattr(http, "make_resolver", lambda: StaticResolver(table))
    monkeypatch.setattr(http, "make_ssl_context", client_tls)
    return table


@pytest.fixture
def farm(names: dict[str, str]) -> Iterator[dict[str, LoopbackServer]]:
    """old and new hosts, one name with HTTP and HTTPS, and a domain with and without www."""
    servers = {"old": LoopbackServer("127.0.0.2"), "new": LoopbackServer("127.0.0.3"),
               "plain": LoopbackServer("127.0.0.4"),
               "secure": LoopbackServer("127.0.0.4", tls=True),
               "bare": LoopbackServer("127.0.0.5")}
    names.update({OLD: "127.0.0.2", NEW: "127.0.0.3", SECURE: "127.0.0.4",
                  BARE: "127.0.0.5", WWW: "127.0.0.5"})
    yield servers
    for server in servers.values():
        server.stop()


def test_moves_and_redirects_as_the_farm_answers(farm, tmp_path: Path, capsys) -> None:
    old, new, plain, secure, bare = (farm[k] for k in ("old", "new", "plain", "secure", "bare"))
    for path in ("/a", "/b-renamed", "/final", "/p", "/p-today"):
        new.page(path)
    old.redirect("/a", new.url("/a", NEW), 301)
    old.redirect("/b", "/b-renamed", 308)
    old.page("/b-renamed")
    old.redirect("/chain", "/chain2", 302)
    old.redirect("/chain2", new.url("/final", NEW), 301)
    old.redirect("/then-temporary", new.url("/p", NEW), 301)
    new.redirect("/p", "/p-today", 302)
    plain.redirect("/x", secure.url("/x", SECURE), 301)
    secure.page("/x")
    old.redirect("/docs", "/docs/", 301)
    old.page("/docs/")

    def www_added(handler: Handler) -> None:  # one server, both names
        if handler.headers.get("Host", "").startswith("www."):
            handler.reply(200, "<p>here</p>")
        else:
            handler.reply(301, headers={"Location": bare.url("/page", WWW)})

    bare.routes["/page"] = www_added
    old.redirect("/private", "/login?next=/private", 301)
    old.page("/login")
    old.redirect("/for-now", new.url("/a", NEW), 302)
    old.redirect("/for-now-7", new.url("/a", NEW), 307)
    urls = {"another host": old.url("/a", OLD), "another path": old.url("/b", OLD),
            "chain ending in 301": old.url("/chain", OLD),
            "301 then 302": old.url("/then-temporary", OLD),
            "https upgrade": plain.url("/x", SECURE), "slash": old.url("/docs", OLD),
            "www": bare.url("/page", BARE), "login": old.url("/private", OLD),
            "302": old.url("/for-now", OLD), "307": old.url("/for-now-7", OLD)}
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(urls.values()) + "\n", encoding="utf-8")

    def run(*options: str) -> tuple[int, str]:
        status = main(["linkcheck", str(listing), *FAST, *options])
        return status, capsys.readouterr().out

    status, out = run("--format", "json")
    results = {result["url"]: result for result in json.loads(out)["results"]}
    verdicts = {what: results[url]["verdict"] for what, url in urls.items()}
    assert verdicts == {"another host": "moved", "another path": "moved",
                        "chain ending in 301": "moved", "301 then 302": "moved",
                        "https upgrade": "redirected", "slash": "redirected",
                        "www": "redirected", "login": "redirected", "302": "redirected",
                        "307": "redirected"}
    assert status == 0  # a move does not fail the run by default
    moved = {what: results[urls[what]]["moved_to"] for what, v in verdicts.items()
             if v == "moved"}
    assert moved == {"another host": new.url("/a", NEW),
                     "another path": old.url("/b-renamed", OLD),
                     "chain ending in 301": new.url("/final", NEW),
                     "301 then 302": new.url("/p", NEW)}
    assert results[urls["301 then 302"]]["final_url"] == new.url("/p-today", NEW)
    assert [hop["status"] for hop in results[urls["chain ending in 301"]]["redirects"]] == [
        302, 301]
    assert results[urls["https upgrade"]]["final_url"] == secure.url("/x", SECURE)

    status, text = run()
    assert "Moved (a permanent redirect" in text
    assert f"  {urls['another host']}  -> {new.url('/a', NEW)} (301)" in text
    assert text.index("Moved (") < text.index("Redirected (")
    assert "4 moved" in text.splitlines()[-1]
    status, markdown = run("--format", "markdown")
    assert "| moved | 4 |" in markdown
    assert (f"| {urls['chain ending in 301']} | -> {new.url('/final', NEW)} (302, 301) | "
            f"{listing}:3 |") in markdown
    status, _ = run("--moved-is-broken")
    assert status == 1


# ---------------------------------------------------------------------------------------
# --fix on a copy of the catalog


def point(path: Path, field: str, value: str, comment: str = "", crlf: bool = False) -> None:
    """Give ``field`` of an entry file the written ``value`` (quotes included)."""
    text = path.read_text(encoding="utf-8")
    text, count = re.subn(rf"(?m)^{field}: .*$", f"{field}: {value}{comment}", text)
    assert count == 1
    path.write_bytes((text.replace("\n", "\r\n") if crlf else text).encode("utf-8"))


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file()}


@pytest.fixture
def catalog_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    shutil.copytree(CATALOG, tmp_path / "catalog")
    for name in ("docs", "examples"):  # what the learning paths name (catalog/paths.yaml)
        (tmp_path / name).symlink_to(CATALOG.parent / name)
    monkeypatch.chdir(tmp_path)
    return tmp_path / "catalog"


def test_fix_rewrites_only_the_moved_values(farm, catalog_copy: Path, capsys) -> None:
    old, new = farm["old"], farm["new"]
    tools = sorted(p for p in (catalog_copy / "tool").glob("*.yaml")
                   if "\nrepository: " in p.read_text(encoding="utf-8"))
    crlf, quoted = tools[:2]
    commented = sorted((catalog_copy / "website").glob("*.yaml"))[0]
    refused = sorted((catalog_copy / "book").glob("*.yaml"))[0]
    old.redirect("/torch", new.url("/pytorch", NEW), 301)
    old.redirect("/whisper", new.url("/openai/whisper", NEW), 308)
    old.redirect("/arena", "/arena-2", 302)
    old.redirect("/arena-2", new.url("/arena", NEW), 301)
    old.redirect("/book", new.url("/book"), 301)  # to an IP address: the validator says no
    for path in ("/pytorch", "/openai/whisper", "/arena", "/book"):
        new.page(path)
    was = {name: old.url(f"/{name}", OLD) for name in ("torch", "whisper", "arena", "book")}
    point(crlf, "repository", was["torch"], crlf=True)
    point(quoted, "url", f'"{was["whisper"]}"')
    point(quoted, "repository", f"'{was['whisper']}'")
    point(commented, "url", was["arena"], comment="  # renamed in 2025, see the blog")
    point(refused, "url", was["book"])
    originals = snapshot(catalog_copy)
    now = {"torch": new.url("/pytorch", NEW), "whisper": new.url("/openai/whisper", NEW),
           "arena": new.url("/arena", NEW)}

    # The dry run prints the diff and changes nothing.
    status = main(["linkcheck", "--fix", *FAST])
    out, err = capsys.readouterr()
    assert "catalog problem" not in err  # the copy, farm URLs included, validates
    assert status == 1  # one move refused
    assert snapshot(catalog_copy) == originals
    name = f"catalog/tool/{crlf.name}"
    assert f"--- a/{name}\n+++ b/{name}\n" in out
    assert f"-repository: {was['torch']}\r\n+repository: {now['torch']}\r\n" in out
    assert f'+url: "{now["whisper"]}"\n' in out and f"+repository: '{now['whisper']}'\n" in out
    assert f"+url: {now['arena']}  # renamed in 2025, see the blog\n" in out
    line = refused.read_text(encoding="utf-8").splitlines().index(f"url: {was['book']}") + 1
    assert (f"catalog/book/{refused.name}:{line}: url: not rewritten to {new.url('/book')}: "
            "the validator would reject it: URL host must be a domain name") in err
    assert "dry run, nothing written" in err

    # --write: each file differs from the original only in the moved values.
    status = main(["linkcheck", "--fix", "--write", *FAST])
    out, err = capsys.readouterr()
    assert status == 1 and "4 moved URL(s) rewritten in 3 file(s)" in err
    expected = dict(originals)
    for file, pairs in ((crlf, [(f"repository: {was['torch']}\r\n",
                                 f"repository: {now['torch']}\r\n")]),
                        (quoted, [(f'url: "{was["whisper"]}"', f'url: "{now["whisper"]}"'),
                                  (f"repository: '{was['whisper']}'",
                                   f"repository: '{now['whisper']}'")]),
                        (commented, [(f"url: {was['arena']}  #", f"url: {now['arena']}  #")])):
        key = str(file.relative_to(catalog_copy))
        for before, after in pairs:
            assert expected[key].count(before.encode()) == 1
            expected[key] = expected[key].replace(before.encode(), after.encode())
    after = snapshot(catalog_copy)
    assert after == expected  # byte for byte, every file of the catalog
    crlf_text = after[str(crlf.relative_to(catalog_copy))]
    assert crlf_text.count(b"\r\n") == crlf_text.count(b"\n")  # still CRLF throughout
    assert load_catalog(catalog_copy).problems == []

    # Nothing is left to move but the refused URL, which stays as it was.
    status = main(["linkcheck", "--fix", *FAST, "--exclude", "/book$"])
    out, err = capsys.readouterr()
    assert status == 0 and out == "" and "0 moved URL(s)" in err


def test_fix_usage_errors(catalog_copy: Path, capsys) -> None:
    assert main(["linkcheck", "--write", "catalog"]) == 2
    assert "--write applies the changes of --fix" in capsys.readouterr().err
    (catalog_copy.parent / "urls.txt").write_text("https://a.atlas-fixture.org/\n")
    assert main(["linkcheck", "--fix", "urls.txt"]) == 2
    assert "urls.txt is not a catalog folder" in capsys.readouterr().err
