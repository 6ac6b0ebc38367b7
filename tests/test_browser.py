"""The built site in a real headless Chromium: search in English and Chinese."""

from __future__ import annotations

import re

import jieba
import pytest
from atlas.catalog import load_catalog
from conftest import ROOT, search

pytestmark = [pytest.mark.browser, pytest.mark.slow]
CJK = re.compile(r"[\u4e00-\u9fff]")


def test_english_query_finds_entry(page, site_url: str) -> None:
    entry = next(e for e in load_catalog(ROOT / "catalog").entries if e.kind == "book")
    page.goto(site_url)
    results = search(page, entry.title)
    assert any(f"entries/{entry.id}/" in result for result in results), results


def test_a_prefix_query_finds_entries(page, site_url: str) -> None:
    """"AI" is searched as "ai*"; lunr's word automaton, as Material bundles it, merged
    states whose keys ran digits together and accepted words the index lacks, and this very
    query threw inside the search worker (atlas.mkdocs_hooks: LUNR_STATE_KEY)."""
    page.goto(site_url)
    results = search(page, "AI")
    assert any("/entries/" in result for result in results), results


def middle_word(title: str) -> str:
    """A word jieba finds inside a Chinese title, neither its first nor its last."""
    words = [w for w in jieba.cut(title) if len(w) >= 2 and CJK.search(w)]
    assert len(words) >= 2, f"{title!r} has too few words for this test"
    return words[len(words) // 2] if len(words) > 2 else words[1]


def test_chinese_query_finds_chinese_title(page, site_url: str) -> None:
    """A word from the middle of a Chinese title is found on the Chinese site."""
    entries = [e for e in load_catalog(ROOT / "catalog").entries
               if len(CJK.findall(e.title)) >= 6]
    assert entries, "the catalog has entries with Chinese titles"
    entry = entries[0]
    word = middle_word(entry.title)
    page.goto(site_url + "zh/")
    results = search(page, word)
    assert any(f"entries/{entry.id}/" in result for result in results), (word, results)


def test_chinese_description_word_on_english_site(page, site_url: str) -> None:
    """English pages show Chinese titles too: the English index splits them as well."""
    entry = next(e for e in load_catalog(ROOT / "catalog").entries
                 if len(CJK.findall(e.title)) >= 6)
    page.goto(site_url)
    results = search(page, middle_word(entry.title))
    assert any(f"entries/{entry.id}/" in result for result in results), results


def test_language_switcher_keeps_the_page(page, site_url: str) -> None:
    """After an instant-navigation page change, switching language lands on the same page."""
    page.goto(site_url + "topics/")
    page.wait_for_load_state("networkidle")  # the sitemap instant navigation relies on
    page.evaluate("window.atlasMarker = 1")
    page.click("article >> text=Deep learning")
    page.wait_for_url("**/topics/deep-learning/")
    assert page.evaluate("window.atlasMarker") == 1, "an instant navigation, not a page load"
    page.hover(".md-header__option .md-select")
    page.click("a[hreflang=zh]")
    page.wait_for_url("**/zh/topics/deep-learning/")
    assert page.locator("html").get_attribute("lang") == "zh"
    assert "深度学习" in page.locator("article h1").inner_text()
    page.hover(".md-header__option .md-select")
    page.click("a[hreflang=en]")
    page.wait_for_url(site_url + "topics/deep-learning/")
    assert page.locator("article h1").inner_text().startswith("Deep learning")
