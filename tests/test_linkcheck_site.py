"""`atlas linkcheck` inputs and reports: the built site checked on disk (no network), the
catalog with file and line, Markdown/YAML/HTML/text files, and the text, JSON and Markdown
reports."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from atlas.cli import main
from atlas.linkcheck import http
from atlas.linkcheck.inputs import markdown_links
from atlas.linkcheck.report import Progress
from atlas.linkcheck.site_check import mkdocs_site_url
from conftest import GOOD_BOOK, run_atlas
from loopback_http import LoopbackServer, StaticResolver

pytestmark = pytest.mark.timeout(60)

SITE_URL = "https://atlas.example.org/atlas/"


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    table: dict[str, str] = {}
    monkeypatch.setattr(http, "make_resolver", lambda: StaticResolver(table))
    return table


@pytest.fixture
def server(names: dict[str, str]) -> Iterator[LoopbackServer]:
    instance = LoopbackServer("127.0.0.2")
    yield instance
    instance.stop()


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def planted_site(tmp_path: Path) -> Path:
    """A small built site under a sub-path, with broken links and anchors planted."""
    site = tmp_path / "site"
    write(site, "index.html", """<!doctype html><html><head>
<link rel="stylesheet" href="assets/style.css">
<link rel="canonical" href="https://atlas.example.org/atlas/">
</head><body>
<h1 id="local">Atlas</h1>
<a href="topics/gan/">GAN</a>
<a href="topics/gan/#loss">GAN loss</a>
<a href="topics/gan/#no-such-anchor">planted: missing anchor</a>
<a href="/atlas/entries/deep-learning/">absolute path under the sub-path</a>
<a href="https://atlas.example.org/atlas/topics/gan/index.html#loss">full site URL</a>
<a href="https://atlas.example.org/atlas/topics/vae/">planted: full site URL, no page</a>
<a href="/elsewhere/page/">planted: outside the base path</a>
<a href="missing.html">planted: missing page</a>
<a href="entries/deep-learning/#%E4%B8%AD%E6%96%87">percent-encoded Unicode anchor</a>
<a href="entries/deep-learning/#中文">Unicode anchor</a>
<a href="#top">top</a> <a href="#">hash</a> <a href="#local">local</a>
<pre><code><a href="ghost-in-code.html">a link in a code block</a></code></pre>
<p>Inline <code><a href="ghost-inline.html">code</a></code></p>
<img src="img/planted-missing.png" alt="">
<a href="mailto:editors@atlas.example.org">mail</a>
<a href="https://external.example.com/page">external: not checked without --external</a>
</body></html>""")
    write(site, "topics/gan/index.html", """<html><body><h2 id="loss">Loss</h2>
<a href="../../">home</a>
<a href="../vae/#anything">planted: missing page with anchor</a>
<a href="../../entries/deep-learning/index.html#intro">other page's anchor</a>
</body></html>""")
    write(site, "entries/deep-learning/index.html", """<html><body>
<h2 id="intro">Intro</h2><h2 id="中文">中文</h2><a href="../../topics/gan">dir, no slash</a>
</body></html>""")
    write(site, "assets/style.css", "body {}")
    return site


def run_json(capsys: pytest.CaptureFixture[str], *arguments: str) -> tuple[int, dict]:
    status = main(["linkcheck", "--format", "json", "--no-cache", "--no-progress", *arguments])
    return status, json.loads(capsys.readouterr().out)


def test_built_site_internal_links_and_anchors(planted_site: Path, names, capsys,
                                               monkeypatch) -> None:
    monkeypatch.chdir(planted_site.parent)
    status, report = run_json(capsys, "site", "--site-url", SITE_URL)
    assert status == 1
    broken = {r["url"]: r for r in report["results"] if r["verdict"] == "broken"}
    assert set(broken) == {
        "site/topics/gan/index.html#no-such-anchor",
        "site/topics/vae/index.html",
        "/elsewhere/page/",
        "site/missing.html",
        "site/img/planted-missing.png",
        "site/topics/vae/index.html#anything",
    }, broken
    assert broken["site/topics/gan/index.html#no-such-anchor"]["sources"] == [
        {"file": "site/index.html", "line": 8, "field": "href"}]
    assert "outside the site's base path" in broken["/elsewhere/page/"]["error"]
    ok = {r["url"] for r in report["results"] if r["verdict"] == "ok"}
    assert {"site/topics/gan/index.html", "site/topics/gan/index.html#loss",
            "site/entries/deep-learning/index.html#%E4%B8%AD%E6%96%87",
            "site/entries/deep-learning/index.html#中文", "site/index.html#local",
            "site/entries/deep-learning/index.html#intro", "site/assets/style.css",
            "site/index.html"} <= ok
    urls = json.dumps(report)
    assert "ghost-in-code" not in urls and "ghost-inline" not in urls
    assert "external.example.com" not in urls
    assert report["summary"]["requests"] == 0 and report["summary"]["unsupported"] == 0


def test_site_external_links_on_request(planted_site: Path, names, capsys) -> None:
    status, report = run_json(capsys, str(planted_site), "--site-url", SITE_URL, "--external",
                              "--retries", "0")
    external = [r for r in report["results"] if "external.example.com" in r["url"]]
    assert external and "DNS" in external[0]["error"]  # the test resolver knows no such name


def test_default_run_checks_catalog_and_site(make_catalog, planted_site: Path, server, names,
                                             capsys, monkeypatch) -> None:
    names["alive.atlas-fixture.net"] = "127.0.0.2"
    names["dead.atlas-fixture.net"] = "127.0.0.2"
    port = server.server_address[1]
    server.page("/book")
    alive = GOOD_BOOK.replace("https://www.deeplearningbook.org/",
                              f"http://alive.atlas-fixture.net:{port}/book")
    dead = GOOD_BOOK.replace("https://www.deeplearningbook.org/",
                             f"http://dead.atlas-fixture.net:{port}/gone")
    make_catalog({"book/alive-book": alive, "book/dead-book": dead})
    monkeypatch.chdir(planted_site.parent)
    (planted_site / "missing.html").write_text("<p>now present</p>")
    status = main(["linkcheck", "--no-cache", "--no-progress", "--retries", "0",
                   "--site-url", SITE_URL])
    out = capsys.readouterr().out
    assert status == 1
    broken_section = out.split("Broken:")[1].split("\n\n")[0]
    assert f"http://dead.atlas-fixture.net:{port}/gone  404 Not Found" in broken_section
    assert "catalog/book/dead-book.yaml:8 (url)" in broken_section
    assert "site/topics/gan/index.html#no-such-anchor" in broken_section
    assert "alive.atlas-fixture.net" not in broken_section
    assert out.strip().splitlines()[-1].startswith("atlas linkcheck: ")


def test_default_run_with_nothing_here_is_a_usage_error(tmp_path: Path, capsys,
                                                        monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["linkcheck", "--no-cache"]) == 2
    assert "nothing to check" in capsys.readouterr().err


def test_markdown_yaml_html_and_text_inputs(tmp_path: Path, server, names, capsys) -> None:
    server.page("/a")
    server.page("/b")
    base = server.base
    write(tmp_path, "notes.md", f"""# Notes
See [the page]({base}/a "title") and <{base}/b>, and {base}/a again.

```sh
curl {base}/in-fence
```

Inline `{base}/in-code-span` is code. [Local](other.md) and [gone](gone.md).

[ref]: {base}/missing
""")
    write(tmp_path, "other.md", "# Other\n")
    write(tmp_path, "entry.yaml",
          f"title: x\nlinks:\n  - {base}/a\n  - name: y\n    url: {base}/b\n")
    write(tmp_path, "page.html", f'<a href="{base}/a">a</a> <a href="notes.md">local</a>')
    write(tmp_path, "urls.txt", f"# a comment\n\n{base}/b\n")
    status, report = run_json(capsys, *(str(tmp_path / name) for name in (
        "notes.md", "entry.yaml", "page.html", "urls.txt")))
    results = {r["url"]: r for r in report["results"]}
    assert status == 1
    assert f"{base}/in-fence" not in results and f"{base}/in-code-span" not in results
    assert results[f"{base}/missing"]["verdict"] == "broken"
    assert results[f"{base}/missing"]["sources"][0]["line"] == 10
    assert any(r["url"].endswith("gone.md") and r["verdict"] == "broken"
               for r in report["results"])
    sources_a = results[f"{base}/a"]["sources"]
    assert {(Path(s["file"]).name, s["line"]) for s in sources_a} == {
        ("notes.md", 2), ("entry.yaml", 3), ("page.html", 1)}
    assert results[f"{base}/b"]["sources"][1]["field"] == "links.1.url"
    assert server.count("/a") == 1 and server.count("/b") == 1


def test_json_to_file_and_markdown_report(tmp_path: Path, server, names, capsys) -> None:
    server.page("/ok")
    server.redirect("/old", "/ok")
    server.redirect("/for-now", "/ok", 302)
    server.page("/gone", status=404)
    listing = tmp_path / "urls.txt"
    listing.write_text("\n".join(server.url(p) for p in ("/ok", "/old", "/gone", "/for-now"))
                       + "\n")
    out_file = tmp_path / "report" / "links.json"
    status = main(["linkcheck", str(listing), "--no-cache", "--format", "json",
                   "--output", str(out_file), "--retries", "0"])
    assert status == 1
    assert capsys.readouterr().out.startswith("atlas linkcheck: 4 links")
    report = json.loads(out_file.read_text())
    assert set(report["results"][0]) >= {"url", "verdict", "status", "final_url", "redirects",
                                         "error", "elapsed", "sources"}
    assert report["summary"]["broken"] == 1 and report["summary"]["redirected"] == 1
    assert report["summary"]["moved"] == 1
    assert [r["verdict"] for r in report["results"]] == ["broken", "moved", "redirected", "ok"]
    status = main(["linkcheck", str(listing), "--no-cache", "--format", "markdown",
                   "--retries", "0"])
    markdown = capsys.readouterr().out
    assert markdown.startswith("# Link check report")
    assert "| URL | Problem | Where |" in markdown
    assert f"| {server.url('/gone')} | 404 Not Found | {listing}:3 |" in markdown
    assert f"| {server.url('/old')} | -> {server.url('/ok')} (301) | {listing}:2 |" in markdown
    assert f"| {server.url('/for-now')} | -> {server.url('/ok')} (302) | {listing}:4 |" in markdown
    assert markdown.index("## Moved") < markdown.index("## Redirected")


def test_progress_bar() -> None:
    stream = io.StringIO()
    progress = Progress(stream)
    progress(5, 10)
    progress(10, 10)
    progress.finish()
    assert "[###############---------------] 5/10" in stream.getvalue()
    assert "10/10" in stream.getvalue()


def test_markdown_links_skip_code() -> None:
    text = "a [x](https://a.example.org/1)\n```\nhttps://b.example.org/\n```\n`https://c.example.org`"
    assert [url for url, _ in markdown_links(text)] == ["https://a.example.org/1"]




def test_one_kind_folder_of_the_catalog(make_catalog, server, names, capsys,
                                        monkeypatch) -> None:
    names["alive.atlas-fixture.net"] = "127.0.0.2"
    port = server.server_address[1]
    server.page("/book")
    catalog = make_catalog({"book/alive-book": GOOD_BOOK.replace(
        "https://www.deeplearningbook.org/", f"http://alive.atlas-fixture.net:{port}/book")})
    monkeypatch.chdir(catalog.parent)
    status, report = run_json(capsys, "catalog/book")
    assert status == 0
    assert [r["sources"] for r in report["results"]] == [
        [{"file": "catalog/book/alive-book.yaml", "line": 8, "field": "url"}]]


@pytest.mark.parametrize(("line", "environ", "expected"), [
    ('site_url: https://a.org/x/', {}, "https://a.org/x/"),
    ("site_url: 'https://a.org/x/'  # comment", {}, "https://a.org/x/"),
    ('site_url: !ENV [ATLAS_SITE_URL, "http://127.0.0.1:8000/"]', {}, "http://127.0.0.1:8000/"),
    ('site_url: !ENV [ATLAS_SITE_URL, "http://127.0.0.1:8000/"]',
     {"ATLAS_SITE_URL": "https://b.org/atlas/"}, "https://b.org/atlas/"),
    ("site_url: !ENV [FIRST, SECOND, 'https://c.org/']", {"SECOND": "https://d.org/"},
     "https://d.org/"),
    ("site_url: !ENV ATLAS_SITE_URL", {}, None),
    ("site_url: !ENV ATLAS_SITE_URL", {"ATLAS_SITE_URL": "https://e.org/"}, "https://e.org/"),
    ("site_name: no site_url here", {}, None),
])
def test_site_url_from_mkdocs_yml(tmp_path: Path, line: str, environ: dict[str, str],
                                  expected: str | None) -> None:
    config = tmp_path / "mkdocs.yml"
    config.write_text(f"site_name: x\n{line}\nmarkdown_extensions:\n  - toc\n", encoding="utf-8")
    assert mkdocs_site_url(config, environ) == expected


@pytest.mark.slow
def test_real_built_site_has_no_broken_internal_link(built_site: Path, site_url: str) -> None:
    """Every internal link and anchor of the real site (both languages, Learn and example
    pages included), with the site_url the site was built with."""
    result = run_atlas("linkcheck", str(built_site), "--site-url", site_url, "--no-cache",
                       "--no-progress", timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "nothing broken" in result.stdout
