"""The Learn pages in a real headless Chromium: formulas render (also after instant
navigation), the language switcher leads to the Chinese page, Chinese search finds it."""

from __future__ import annotations

import pytest
from conftest import search

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RENDERED = "article .arithmatex .katex"


def rendered_formulas(page) -> int:
    page.wait_for_selector(RENDERED, state="attached")
    assert page.locator("article .katex-error").count() == 0, "KaTeX reported a formula error"
    unrendered = page.eval_on_selector_all(
        "article .arithmatex", "nodes => nodes.filter(n => !n.querySelector('.katex')).length")
    assert unrendered == 0, f"{unrendered} formulas on {page.url} were left as TeX source"
    return page.locator(RENDERED).count()


def test_formulas_render_on_an_algorithm_page(page, site_url: str) -> None:
    page.goto(site_url + "learn/attention/")
    assert rendered_formulas(page) >= 10
    assert page.locator("article .katex-display").count() >= 4  # the $$ blocks


def test_formulas_render_after_instant_navigation(page, site_url: str) -> None:
    page.goto(site_url + "learn/")
    page.evaluate("window.__sameDocument = true")  # survives instant navigation only
    page.click("article a[href$='vae/']")
    page.wait_for_url("**/learn/vae/")
    page.wait_for_selector("article h1:has-text('Variational autoencoders')")
    assert page.evaluate("window.__sameDocument === true"), "the page was fully reloaded"
    assert rendered_formulas(page) >= 10


def test_language_switcher_leads_to_the_chinese_learn_page(page, site_url: str) -> None:
    page.goto(site_url + "learn/gan/")
    page.hover(".md-header__option .md-select")
    page.click("a[hreflang=zh]")
    page.wait_for_url("**/zh/learn/gan/")
    assert page.locator("html").get_attribute("lang") == "zh"
    assert "生成对抗网络" in page.locator("article h1").inner_text()
    assert rendered_formulas(page) >= 5


@pytest.mark.parametrize(("query", "target"), [("判别器", "zh/learn/gan/"),
                                               ("重参数化", "zh/learn/vae/"),
                                               ("扩散模型", "zh/learn/diffusion/"),
                                               ("勘误", "zh/learn/")])
def test_chinese_query_finds_the_chinese_learn_page(page, site_url: str, query: str,
                                                     target: str) -> None:
    page.goto(site_url + "zh/learn/attention/")
    results = [result.split()[0].split("?")[0].split("#")[0] for result in search(page, query)]
    assert results[0] == site_url + target, (query, results)
