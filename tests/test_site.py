"""Site generation: pages for every entry and topic, escaping, and the real strict build."""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import markdown
import pytest
import yaml
from atlas import site
from atlas.catalog import Catalog, Entry, load_catalog
from conftest import GOOD_BOOK, KINDS, ROOT
from mkdocs.config import load_config

ENTRY_LINK = re.compile(r"\]\((?:\.\./)*entries/([a-z0-9-]+)\.md\)")
# Long lists of entries are HTML (site.entry_list_html).
ENTRY_HREF = re.compile(r'href="(?:\.\./)*entries/([a-z0-9-]+)/"')


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(ROOT / "catalog")


@pytest.fixture(scope="module")
def pages(catalog: Catalog) -> dict[str, dict[str, str]]:
    examples = site.load_examples(catalog, ROOT / "examples")
    return {lang: site.generate_pages(catalog, lang, examples, ROOT, set(), "https://x.org/edit")
            for lang in site.LANGS}


def render(text: str) -> str:
    """Markdown to HTML with the site's own extensions, as MkDocs would."""
    text = re.sub(r"\A---\n.*?\n---\n", "", text, flags=re.S)  # MkDocs reads front matter
    config = load_config(str(ROOT / "mkdocs.yml"))
    extensions = [ext for ext in config.markdown_extensions if ext != "pymdownx.snippets"]
    return markdown.Markdown(extensions=extensions, extension_configs=config.mdx_configs
                             ).convert(text)


def test_every_entry_has_a_page(catalog: Catalog, pages: dict[str, dict[str, str]]) -> None:
    for lang in site.LANGS:
        for entry in catalog.entries:
            page = pages[lang][f"entries/{entry.id}.md"]
            assert site.escape_md(entry.text("description", lang)) in page
            assert "https://x.org/edit/catalog/" in page


def test_topic_pages_list_exactly_their_entries(catalog: Catalog,
                                                pages: dict[str, dict[str, str]]) -> None:
    for lang in site.LANGS:
        for topic in catalog.topics.values():
            page = pages[lang][f"topics/{topic.id}/index.md"]
            # The "start here" picks come first; the entries section lists every entry once.
            listed = ENTRY_HREF.findall(page.split(f"## {site.LABELS[lang]['entries']}", 1)[1])
            expected = sorted(e.id for e in catalog.entries if topic.id in e.topics)
            assert sorted(listed) == expected, topic.id
            assert len(listed) == len(set(listed))


def test_topic_pages_open_with_their_start_here_picks(catalog: Catalog,
                                                       pages: dict[str, dict[str, str]]) -> None:
    for lang in site.LANGS:
        for topic in catalog.topics.values():
            page = pages[lang][f"topics/{topic.id}/index.md"]
            if not topic.start_here:
                assert "{ #start-here }" not in page
                continue
            heading = f"## {site.LABELS[lang]['start_here']} {{ #start-here }}"
            assert page.index(heading) < page.index(f"## {site.LABELS[lang]['entries']}")
            section = page.split(heading, 1)[1].split("\n## ", 1)[0]
            picked = ENTRY_LINK.findall(section)
            assert picked == [pick.entry for pick in topic.start_here], topic.id  # in order
            for number, pick in enumerate(topic.start_here, 1):
                assert f"{number}. [" in section
                assert site.escape_md(pick.why[lang]) in section


def test_former_topic_ids_redirect(catalog: Catalog, pages: dict[str, dict[str, str]]) -> None:
    for lang in site.LANGS:
        page = pages[lang]["topics/text-to-image/index.html"]
        assert '<meta http-equiv="refresh" content="0; url=../image-generation/">' in page
        assert '<a href="../image-generation/">' in page  # for readers whose browser waits
        assert "topics/text-to-image/index.md" not in pages[lang]


def test_model_and_dataset_pages_show_their_facts(catalog: Catalog,
                                                   pages: dict[str, dict[str, str]]) -> None:
    from conftest import GOOD_DATASET, GOOD_MODEL

    model = Entry.of("m", "model", Path("catalog/model/m.yaml"), yaml.safe_load(GOOD_MODEL))
    dataset = Entry.of("d", "dataset", Path("catalog/dataset/d.yaml"),
                       yaml.safe_load(GOOD_DATASET))
    small = Catalog(catalog.root, [model, dataset], catalog.topics, [], catalog.rules)
    page = site.generate_pages(small, "en", {}, ROOT, set())["entries/m.md"]
    assert "| Developer | Example Lab |" in page
    assert "| Parameters | 2B, 12B |" in page
    assert "| Weights | Open weights |" in page
    assert "| Licence | Example Community License |" in page
    assert "| Commercial use | " + site.escape_md("With conditions: Free below one million") \
        in page
    assert "[example\\-lab/diffusion\\-2b](https://huggingface.co/example-lab/diffusion-2b)" \
        in page
    zh = site.generate_pages(small, "zh", {}, ROOT, set())
    assert "| 权重 | 开放权重 |" in zh["entries/m.md"]
    assert "| 规模 | 5\\.85B image\\-text\\-pairs, 240 TB |" in zh["entries/d.md"]
    assert "(https://huggingface.co/datasets/example-lab/pairs)" in zh["entries/d.md"]
    assert site.parameter_count("235B-A22B", "en") == "235B (22B active)"


def test_home_page_lists_the_newest_entries(catalog: Catalog) -> None:
    text = site.expand_markers("<!-- atlas:newest -->", catalog, "en", "index.md")
    newest = sorted(catalog.entries, key=lambda e: (e.added, e.id), reverse=True)[
        :site.NEWEST_LIMIT]
    assert ENTRY_LINK.findall(text) == [entry.id for entry in newest]


def test_kind_pages_list_exactly_their_entries(catalog: Catalog,
                                               pages: dict[str, dict[str, str]]) -> None:
    for kind in KINDS:
        listed = ENTRY_HREF.findall(pages["en"][site.kind_uri(kind)])
        assert sorted(listed) == sorted(e.id for e in catalog.entries if e.kind == kind)


def test_pages_use_the_readers_language(catalog: Catalog,
                                        pages: dict[str, dict[str, str]]) -> None:
    entry = catalog.entries[0]
    english, chinese = entry.text("description", "en"), entry.text("description", "zh")
    assert site.escape_md(chinese) in pages["zh"][f"entries/{entry.id}.md"]
    assert site.escape_md(english) not in pages["zh"][f"entries/{entry.id}.md"]
    assert "书籍" in pages["zh"]["catalog/books.md"]


def hostile_entry() -> Entry:
    data = {
        "kind": "book", "title": "<script>alert('t')</script> *bold* [x](javascript:y) $x^2$",
        "url": "https://example.org/a\"onmouseover=\"alert(1)",
        "description": {"en": "<img src=x onerror=alert(1)> `code` --8<-- \"/etc/passwd\" &amp;",
                        "zh": "<script>alert(2)</script> 中文"},
        "topics": ["gan"], "tags": ["x"], "languages": ["en"], "level": "beginner",
        "access": "free", "added": "2026-11-28", "authors": ["<b>Eve</b>"], "year": 2020,
    }
    return Entry.of("hostile", "book", Path("catalog/book/hostile.yaml"), data)


def test_contributor_text_is_escaped() -> None:
    """Even text that slipped past validation shows as text, never as markup."""
    real = load_catalog(ROOT / "catalog")
    catalog = Catalog(real.root, [hostile_entry()], real.topics, [], real.rules)
    for lang in site.LANGS:
        pages = site.generate_pages(catalog, lang, {}, ROOT, set())
        for uri in ("entries/hostile.md", "topics/gan/index.md", "catalog/books.md"):
            html = render(pages[uri])
            assert "<script" not in html and "<img" not in html and "<b>" not in html, uri
            assert 'onmouseover="' not in html
            assert "javascript:" not in re.findall(r'href="([^"]*)"', html).__str__()
            assert "&#60;script&#62;" in html or "&lt;script&gt;" in html
            assert "<em>" not in html and "<strong>" not in html
            assert "arithmatex" not in html
        front_matter = pages["entries/hostile.md"].split("---")[1]
        assert "<script" not in front_matter and '\\"onmouseover' not in front_matter


def test_markers(catalog: Catalog) -> None:
    text = "Intro\n\n<!-- atlas:entries topic=deep-learning -->\n\n<!-- atlas:kind-counts -->\n"
    out = site.expand_markers(text, catalog, "en", "learn/x.md")
    assert "atlas:" not in out
    assert "../entries/" in out and "| [Books](../catalog/books.md) |" in out
    with pytest.raises(site.MarkerError, match="unknown topic"):
        site.expand_markers("<!-- atlas:entries topic=nope -->", catalog, "en", "x.md")
    with pytest.raises(site.MarkerError, match="unknown marker"):
        site.expand_markers("<!-- atlas:bogus -->", catalog, "en", "x.md")


def test_generated_pages_are_not_committed() -> None:
    for lang in site.LANGS:
        docs = ROOT / "docs" / lang
        for folder in ("entries", "catalog", "topics", "paths"):
            assert not (docs / folder).exists(), f"docs/{lang}/{folder} must be generated"


@pytest.mark.slow
def test_strict_build_of_the_real_catalog(built_site: Path, catalog: Catalog) -> None:
    for prefix in ("", "zh/"):
        chrome: dict[str, int] = {}
        for entry in catalog.entries:
            page = built_site / prefix / "entries" / entry.id / "index.html"
            html = page.read_text(encoding="utf-8")
            assert "md-sidebar--primary" not in html, "entry pages carry no navigation tree"
            # The largest: a paper with 50 authors and the longest descriptions, whose JSON-LD
            # repeats both.
            assert page.stat().st_size <= 24_000, f"{page} is {page.stat().st_size} bytes"
            # What is not the entry's own content (its article and JSON-LD) is the page's
            # chrome: it must not grow with the catalog (a navigation tree of every entry on
            # every page makes a site quadratic in its size).
            own = sum(len(part.encode()) for part in re.findall(
                r"<article.*?</article>|<script type=\"application/ld\+json\">.*?</script>",
                html, re.S))
            chrome[entry.id] = len(html.encode()) - own
        assert max(chrome.values()) < 18_000, max(chrome.items(), key=lambda kv: kv[1])
        assert max(chrome.values()) - min(chrome.values()) < 1_500, "chrome varies by entry"
        for topic_id in catalog.topics:
            assert (built_site / prefix / "topics" / topic_id / "index.html").is_file()
        index = json.loads((built_site / prefix / "search/search_index.json").read_text("utf-8"))
        assert index["config"]["separator"].find("\\u200b") >= 0
        locations = {doc["location"] for doc in index["docs"]}
        assert f"entries/{catalog.entries[0].id}/" in locations
    zh_home = (built_site / "zh/index.html").read_text(encoding="utf-8")
    assert 'lang="zh"' in zh_home and "资源目录" in zh_home
    assert (built_site / "assets/katex/katex.min.js").is_file()
    assert (built_site / "zh/assets/katex/katex.min.js").is_file()


@pytest.mark.slow
def test_broken_catalog_never_builds(tmp_path: Path) -> None:
    project = tmp_path / "project"
    project.mkdir()
    for name in ("mkdocs.yml", "mkdocs.zh.yml"):
        shutil.copy(ROOT / name, project / name)
    for name in ("docs", "overrides", "tools", "examples"):
        (project / name).symlink_to(ROOT / name)
    catalog = project / "catalog"
    shutil.copytree(ROOT / "catalog", catalog)
    (catalog / "book" / "broken.yaml").write_text(GOOD_BOOK.replace("year: 2016", "year: x"),
                                                  encoding="utf-8")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-d",
                             str(tmp_path / "out")], cwd=project, capture_output=True, text=True,
                            timeout=300, env={**os.environ, "NO_COLOR": "1"})
    assert result.returncode != 0
    assert "book/broken.yaml:5: year: expected integer" in result.stderr
    assert not (tmp_path / "out" / "index.html").exists()


@pytest.mark.slow
def test_site_benchmark_runs_on_a_small_catalog() -> None:
    """make bench-site keeps working as the site grows (it rebuilds the pages without our
    hooks); a smoke run, not a timing."""
    result = subprocess.run([sys.executable, str(ROOT / "bench" / "site_bench.py"),
                             "--sizes", "30"], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "ratio ours/floor" in result.stdout and "30 entry pages" in result.stdout


def test_example_pages(catalog: Catalog) -> None:
    """Each algorithm topic has its example page: named after the topic, the README's links
    to repository files pointing at the repository, every reference figure shown once, a
    table per reference run, and the source included from the file."""
    examples = site.load_examples(catalog, ROOT / "examples")
    assert sorted(examples) == sorted(t.id for t in catalog.topics.values() if t.example)
    repo = "https://github.com/aigc-atlas/atlas"
    for lang in site.LANGS:
        pages = site.generate_pages(catalog, lang, examples, ROOT, set(), None, repo)
        for topic_id, example in examples.items():
            text = pages[f"topics/{topic_id}/example.md"]
            name = site.topic_name(catalog.topics[topic_id], lang)
            assert text.startswith(f"---\ntitle: \"{name}"), text[:80]
            for target in re.findall(r"(?<!!)\[[^\]]+\]\(([^)\s]+)\)", text):
                assert re.match(r"https?://|#|[\w-]+\.md", target) or \
                    target.startswith(f"{repo}/blob/main/"), (topic_id, target)
            for figure in example.figures:
                shown = f"({site.example_figure_name(example, figure)})"
                assert text.count(shown) == 1, (topic_id, figure.name)
            tables = text.count(f"| {site.LABELS[lang]['metric']} |")
            assert tables == 1 + len(example.variants), topic_id
            assert f'--8<-- "examples/{example.name}/{example.name}.py"' in text


def test_tags_page_lists_each_tags_entries_as_html(catalog: Catalog) -> None:
    """The tags page's lists are HTML: in the build they go in after Markdown (markers in
    the Markdown name them by digest), and the page is the same as with them inline."""
    fragments: dict[str, str] = {}
    page = site.tags_page(catalog, "en", True, fragments)
    tags = {tag for entry in catalog.entries for tag in entry.tags}
    assert "<li>" not in page and page.count("<!-- atlas:fragment ") == len(tags) + 1  # and
    # the line of tags with their counts
    shown = site.insert_fragments(render(page), fragments)
    assert shown == render(site.tags_page(catalog, "en"))
    for entry in catalog.entries[:50]:
        for tag in entry.tags:
            section = shown.split(f'id="{site.tag_anchor(tag)}"', 1)[1].split("<h2", 1)[0]
            assert f'<a href="../../entries/{entry.id}/">' in section
    flat = site.tags_page(catalog, "en", directory_urls=False)
    assert f'href="../entries/{catalog.entries[0].id}.html"' in flat


def test_entry_lists_in_html_are_what_markdown_makes_of_them(catalog: Catalog) -> None:
    """Topic and kind pages list entries in HTML (Markdown need not parse thousands of
    links): each item is what Markdown makes of the item in Markdown, links resolved."""
    config = load_config(str(ROOT / "mkdocs.yml"))
    md = markdown.Markdown(extensions=[e for e in config.markdown_extensions
                                       if e != "pymdownx.snippets"],
                           extension_configs=config.mdx_configs)
    for lang in site.LANGS:
        for entry in [*catalog.entries, hostile_entry()]:
            ours = site.entry_list_html(entry, lang, "catalog/books.md")
            theirs = md.reset().convert(site.entry_list_item(entry, lang, "catalog/books.md"))
            theirs = re.sub(r'href="\.\./entries/([^"]+)\.md"', r'href="../../entries/\1/"',
                            theirs)
            assert html.unescape(f"<ul>\n{ours}\n</ul>") == html.unescape(theirs), entry.id
    assert site.page_href("topics/gan/index.md", "entries/x.md") == "../../entries/x/"
    assert site.page_href("topics/gan/index.md", "entries/x.md", False) == "../../entries/x.html"
    assert site.page_href("catalog/books.md", "entries/x.md", False) == "../entries/x.html"
    assert site.page_href("index.md", "topics/gan/index.md") == "topics/gan/"
