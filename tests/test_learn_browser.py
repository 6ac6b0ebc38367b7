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


@pytest.mark.parametrize(("path", "answer_word"), [("learn/gan/", "Answer"),
                                                    ("zh/learn/gan/", "答案")])
def test_figure_and_revealed_answer_render(page, site_url: str, path: str,
                                           answer_word: str) -> None:
    """On an algorithm page, in both languages, a figure loads and is drawn at its size, with
    its alt text, and an exercise's answer is hidden until its summary is clicked; then its
    text, formulas and code show."""
    page.goto(site_url + path)
    figure = page.locator("article figure img[src$='gan-mode-collapse.svg']")
    figure.scroll_into_view_if_needed()
    page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=figure.element_handle())
    assert figure.bounding_box()["width"] > 300
    assert len(figure.get_attribute("alt")) > 40
    assert page.locator("article figure figcaption").count() >= 2
    assert page.locator("article figure figcaption .katex").count() >= 1  # maths in captions
    exercise = page.locator("article details.question").first
    assert exercise.get_attribute("open") is None
    body = exercise.locator("p", has_text=answer_word).first
    assert not body.is_visible()
    exercise.locator("summary").click()
    body.wait_for(state="visible")
    assert exercise.get_attribute("open") is not None
    assert exercise.locator(".katex").count() >= 1  # the answer's formulas rendered
    assert exercise.locator("pre code").first.is_visible()  # and its code


def test_figures_stay_readable_in_the_dark_palette(page, site_url: str) -> None:
    """Switching to the dark palette keeps each figure on its own white card: the SVG draws an
    opaque white background, so its dark text keeps its contrast."""
    page.goto(site_url + "learn/attention/")
    page.evaluate("document.body.setAttribute('data-md-color-scheme', 'slate')")
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(255, 255, 255)"
    image = page.locator("article figure img").first
    image.scroll_into_view_if_needed()
    page.wait_for_function("img => img.complete && img.naturalWidth > 0",
                           arg=image.element_handle())
    # Read the figure's own pixels (same origin: the canvas is not tainted), inside its corner.
    pixel = page.evaluate("""img => {
        const canvas = document.createElement('canvas');
        canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
        const context = canvas.getContext('2d');
        context.drawImage(img, 0, 0);
        return Array.from(context.getImageData(8, 8, 1, 1).data);
    }""", image.element_handle())
    assert pixel == [255, 255, 255, 255], f"the figure is not on an opaque white card: {pixel}"
