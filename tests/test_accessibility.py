"""Accessibility of the built site: axe-core on every page type, keyboard use of the explorer.

axe-core (bundled by axe-playwright-python) runs the WCAG 2.1 A and AA rules and its best
practices on each page type in both languages and both palettes. The bar: no violation of a
WCAG A/AA rule at any impact and no serious or critical one at all; the rest (moderate and
minor best practices) is printed. Fixes live in the overrides (overrides/assets/stylesheets/
a11y.css, overrides/partials/, overrides/assets/javascripts/atlas.js), never in disabled
rules; MATERIAL_OWNED lists what the theme does that no override can change.

Time on a 2-core machine: each page is loaded once per language; the rules that depend on
colour run again after Material's palette toggle (the others cannot change with it). axe's
colour-contrast costs milliseconds per text node, and a page of highlighted source has
thousands of identical ones, so inside code blocks and formulas it checks one node of each
(colour, background, size, weight, opacity), which are all that the contrast depends on;
every other node of the page is checked.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest
from atlas import publish
from axe_playwright_python.base import AXE_SCRIPT
from conftest import CHROMIUM, OFF_LOOPBACK
from test_explorer import reference_filter, shown_ids, synthetic_catalog, wait_shown

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WCAG = ("wcag2a", "wcag2aa", "wcag21a", "wcag21aa")
TAGS = [*WCAG, "best-practice"]
COLOUR_RULES = ["color-contrast", "link-in-text-block"]
BAR = ("serious", "critical")

# One page of each type (paths under the language's root).
PAGES = {
    "home": "",
    "learn": "learn/diffusion/",             # KaTeX, one display formula wider than the column
    "topic": "topics/diffusion/",
    "kind": "catalog/books/",
    "tags": "catalog/tags/",
    "entry": "entries/deep-learning-goodfellow/",
    "explorer": "catalog/explorer/",          # filtered, searched and sorted before the scan
    "example": "topics/diffusion/example/",   # highlighted source with line numbers, tabs
    "404": "404.html",
}

# (rule, CSS selector of the node): why the theme's node cannot be fixed from an override.
MATERIAL_OWNED: dict[tuple[str, str], str] = {
    # A best practice (moderate), printed, not asserted: base.html puts the progress bar of
    # instant navigation after <main>, outside any landmark, in no block an override can
    # move; it has an accessible name (overrides/partials/progress.html).
    ("region", ".md-progress"): "Material's progress bar sits outside the landmarks",
}

# Every token class Material's stylesheet colours, on a plain and a highlighted line (wrapped:
# axe skips what is scrolled out of view).
TOKENS = ("bp c c1 ch cm cp cpf cs gd ge gh gi go gp gr gs gt gu il k kc kd kn kp kr kt l m mb "  # noqa: SIM905
          "mf mh mi mo n na nb nc nd ne nf ni nl nn no nt nv o ow p s s1 s2 sb sc sd se sh si sr "
          "ss sx vc vg vi").split()
ALL_TOKENS_BLOCK = """(tokens) => {
    const line = () => tokens.map((t) => `<span class="${t}">${t}_x</span>`).join(" ");
    const block = document.createElement("div");
    block.className = "language-python highlight atlas-test-tokens";
    block.innerHTML = `<pre><span></span><code style="white-space: pre-wrap">${line()}\\n`
      + `<span class="hll">${line()}</span></code></pre>`;
    document.querySelector("article").append(block);
}"""

# Marks one text node per distinct (colour, background, size, weight, opacity) inside code
# blocks and formulas; the colour scan covers those and everything outside them.
MARK_SAMPLES = """() => {
    const backgrounds = new Map();
    const background = (node) => {
      if (!node) return "none";
      if (backgrounds.has(node)) return backgrounds.get(node);
      const own = getComputedStyle(node).backgroundColor;
      const value = own === "rgba(0, 0, 0, 0)" ? background(node.parentElement) : own;
      backgrounds.set(node, value);
      return value;
    };
    const seen = new Set();
    for (const root of document.querySelectorAll(".highlight, .katex")) {
      for (const node of [root, ...root.querySelectorAll("*")]) {
        node.removeAttribute("data-axe-sample");
        if (![...node.childNodes].some((c) => c.nodeType === 3 && c.textContent.trim())) continue;
        if (!node.checkVisibility({ visibilityProperty: true, opacityProperty: true })) continue;
        const style = getComputedStyle(node);
        const key = [style.color, background(node), style.fontSize, style.fontWeight,
                     style.opacity].join("|");
        if (seen.has(key)) continue;
        seen.add(key);
        node.setAttribute("data-axe-sample", "");
      }
    }
    return seen.size;
}"""
COLOUR_CONTEXT = {"include": [["html"], ["[data-axe-sample]"]],
                  "exclude": [[".highlight"], [".katex"]]}


def start_axe(page: Any, context: Any, options: dict[str, Any]) -> None:
    """Starts axe-core in the page without waiting for it (finish_axe waits)."""
    page.evaluate("([context, options]) => { window.atlasAxe = axe.run(context, options); }",
                  [context, {**options, "resultTypes": ["violations"]}])


def finish_axe(page: Any) -> list[dict[str, Any]]:
    return page.evaluate("() => window.atlasAxe.then((result) => result.violations)")


def axe(page: Any, context: Any, options: dict[str, Any]) -> list[dict[str, Any]]:
    start_axe(page, context, options)
    return finish_axe(page)


def scheme(page: Any) -> str:
    return "dark" if page.get_attribute("body", "data-md-color-scheme") == "slate" else "light"


def toggle_palette(page: Any) -> None:
    """Material's palette toggle in the header, as a reader switches it."""
    before = scheme(page)
    page.click("form[data-md-component=palette] label:not([hidden])")
    page.wait_for_function(f"document.body.dataset.mdColorScheme "
                           f"{'===' if before == 'light' else '!=='} 'slate'")
    page.wait_for_timeout(50)


def settle(page: Any, name: str) -> None:
    """Wait for what the page's scripts draw: formulas, the explorer, fonts, Material."""
    if name == "learn":
        page.wait_for_selector(".arithmatex[data-atlas-rendered]", state="attached")
    if name == "explorer":
        page.wait_for_selector(".atlas-explorer[data-state=ready]")
        apply_explorer_filters(page)
    page.evaluate("() => document.fonts.ready.then(() => new Promise((done) => "
                  "requestAnimationFrame(() => setTimeout(done, 100))))")


def apply_explorer_filters(page: Any) -> None:
    """A facet checked, a text filter and a sort: the scan sees a filtered table."""
    page.check(".atlas-explorer__facet[data-facet=kind] input[value=book]")
    page.fill(".atlas-explorer__q", "learning")
    page.click("button[data-sort=year]")
    page.wait_for_function("location.search.includes('sort=-year') && "
                           "location.search.includes('text=learning')")
    assert page.locator(".atlas-explorer__table tbody tr[data-id]").count() > 0


def findings(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each violation's nodes, less the Material-owned ones listed above."""
    kept = []
    for violation in violations:
        nodes = [node for node in violation["nodes"]
                 if (violation["id"], node["target"][-1]) not in MATERIAL_OWNED]
        if nodes:
            kept.append({**violation, "nodes": nodes})
    return kept


def describe(violation: dict[str, Any]) -> str:
    def node(n: dict[str, Any]) -> str:
        data = next((c.get("data") for c in n["any"] + n["all"] if isinstance(c.get("data"), dict)
                     and "fgColor" in c["data"]), None)
        colours = (f" {data['fgColor']} on {data['bgColor']} = {data['contrastRatio']}"
                   if data else "")
        return f"{' > '.join(map(str, n['target']))}{colours}"
    shown = "; ".join(node(n) for n in violation["nodes"][:4])
    more = f" (+{len(violation['nodes']) - 4})" if len(violation["nodes"]) > 4 else ""
    return f"{violation['id']} ({violation['impact']}, {len(violation['nodes'])}): {shown}{more}"


def failing(violation: dict[str, Any]) -> bool:
    return violation["impact"] in BAR or any(tag in WCAG for tag in violation["tags"])


@pytest.fixture(scope="module")
def scans(browser: Any, site_url: str) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Every page type x language x palette, scanned once for the module."""
    return scan_site(browser, site_url)


def scan_site(browser: Any, site_url: str) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """The two languages in two browser contexts (two renderer processes) side by side: each
    scan is started in both and then awaited in both, so two cores share the work."""
    results: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    contexts, pages = [], {}
    for lang in ("en", "zh"):
        context = browser.new_context(viewport={"width": 1280, "height": 900},
                                      reduced_motion="reduce")
        context.route(OFF_LOOPBACK, lambda route: route.abort())
        context.add_init_script(script=AXE_SCRIPT)
        contexts.append(context)
        pages[lang] = context.new_page()
        pages[lang].set_default_timeout(30_000)
    started = time.perf_counter()
    try:
        for name, path in PAGES.items():
            for lang, page in pages.items():
                page.goto(site_url + ("zh/" if lang == "zh" else "") + path)
                settle(page, name)
                if name == "example":
                    page.evaluate(ALL_TOKENS_BLOCK, TOKENS)
                start_axe(page, "html", {
                    "runOnly": {"type": "tag", "values": TAGS},
                    "rules": {rule: {"enabled": False} for rule in COLOUR_RULES}})
            structure = {lang: finish_axe(page) for lang, page in pages.items()}
            for _ in range(2):  # this palette, then the other one
                for page in pages.values():
                    page.evaluate(MARK_SAMPLES)
                    start_axe(page, COLOUR_CONTEXT,
                              {"runOnly": {"type": "rule", "values": COLOUR_RULES}})
                for lang, page in pages.items():
                    colour = finish_axe(page)
                    results[(name, lang, scheme(page))] = findings(structure[lang] + colour)
                    toggle_palette(page)
    finally:
        for context in contexts:
            context.close()
    print(f"\naxe-core on {len(results)} page x language x palette: "
          f"{time.perf_counter() - started:.0f} s")
    return results


@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_accessibility_violations(scans: dict[tuple[str, str, str], Any],
                                             name: str) -> None:
    problems, notes = [], []
    for (page_name, lang, palette), violations in sorted(scans.items()):
        if page_name != name:
            continue
        for violation in violations:
            line = f"{lang}/{palette}: {describe(violation)}"
            (problems if failing(violation) else notes).append(line)
    if notes:
        print(f"\n{name}, best practices (moderate/minor, not asserted):\n  " + "\n  ".join(notes))
    assert not problems, f"{name}:\n  " + "\n  ".join(problems)


def test_scans_cover_every_page_language_and_palette(scans: dict[Any, Any]) -> None:
    assert set(scans) == {(name, lang, palette) for name in PAGES for lang in ("en", "zh")
                          for palette in ("light", "dark")}


def test_colour_scan_catches_a_failing_code_colour(page: Any, site_url: str) -> None:
    """The sampled colour scan is not blind inside code blocks: a token made to fail is found."""
    page.context.add_init_script(script=AXE_SCRIPT)
    page.goto(site_url + "topics/diffusion/example/")
    settle(page, "example")
    page.add_style_tag(content=".highlight .nb { color: #c0c0c0 !important }")
    page.evaluate(MARK_SAMPLES)
    violations = axe(page, COLOUR_CONTEXT, {"runOnly": {"type": "rule",
                                                        "values": ["color-contrast"]}})
    targets = [n["html"] for v in violations for n in v["nodes"]]
    assert targets and all('class="nb"' in html for html in targets), targets


# ---------------------------------------------------------------------------------------
# Keyboard


def contrast(colour_a: str, colour_b: str) -> float:
    def luminance(colour: str) -> float:
        channels = [int(c) / 255 for c in re.findall(r"\d+(?:\.\d+)?", colour)[:3]]
        r, g, b = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(colour_a), luminance(colour_b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def assert_visible_focus(page: Any) -> None:
    """The focused element draws an outline that stands 3:1 against the page."""
    style = page.evaluate("""() => {
        const s = getComputedStyle(document.activeElement);
        return { style: s.outlineStyle, width: parseFloat(s.outlineWidth), color: s.outlineColor,
                 page: getComputedStyle(document.body).backgroundColor,
                 what: document.activeElement.outerHTML.slice(0, 80) };
    }""")
    assert style["style"] not in ("none", "hidden") and style["width"] >= 1, style
    assert contrast(style["color"], style["page"]) >= 3, style


def tab_to(page: Any, selector: str, limit: int = 150) -> None:
    for _ in range(limit):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    raise AssertionError(f"{limit} presses of Tab never reached {selector}")


def aria_sort(page: Any, key: str) -> str:
    return page.get_attribute(f"th:has(button[data-sort={key}])", "aria-sort")


@pytest.mark.parametrize("palette", ["light", "dark"])
def test_explorer_by_keyboard(browser: Any, site_url: str, palette: str) -> None:
    """Facets, sort headers and "show more" work from the keyboard, with a visible focus."""
    data = publish.explorer_data(synthetic_catalog(250), "en")
    context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=palette)
    context.route(OFF_LOOPBACK, lambda route: route.abort())
    body = json.dumps(data)
    context.route("**/catalog/explorer.json", lambda route: route.fulfill(
        status=200, content_type="application/json", body=body))
    page = context.new_page()
    try:
        page.goto(site_url + "catalog/explorer/")
        page.wait_for_selector(".atlas-explorer[data-state=ready]")
        assert scheme(page) == palette
        page.focus(".atlas-explorer__q")
        assert_visible_focus(page)

        # A facet: Tab reaches the first option, Space checks and unchecks it.
        tab_to(page, ".atlas-explorer__facet input[type=checkbox]")
        assert_visible_focus(page)
        facet, value = page.evaluate("[document.activeElement.name, document.activeElement.value]")
        assert facet == "kind"
        page.keyboard.press("Space")
        wait_shown(page, len(reference_filter(data, kind={value})))
        assert page.evaluate("document.activeElement.checked")
        page.keyboard.press("Space")
        wait_shown(page, 250)

        # A sort header: Enter sorts by year, newest first; Space turns the order round.
        tab_to(page, "button[data-sort=year]")
        assert_visible_focus(page)
        page.keyboard.press("Enter")
        page.wait_for_function("location.search.includes('sort=-year')")
        assert aria_sort(page, "year") == "descending" and aria_sort(page, "title") == "none"
        years = {r["id"]: r["y"] for r in data["entries"]}
        shown = [years[i] for i in shown_ids(page) if years[i] is not None]
        assert shown == sorted(shown, reverse=True)
        page.keyboard.press("Space")
        page.wait_for_function("location.search.includes('sort=year')")
        assert aria_sort(page, "year") == "ascending"

        # "Show more": Enter adds rows and keeps the focus; the last one hands it to the first
        # new row.
        # Past the hundred row links: the reader clicks the last row's year, then tabs on.
        page.click(".atlas-explorer__table tbody tr:last-child td:nth-child(3)")
        tab_to(page, ".atlas-explorer__more", limit=5)
        assert_visible_focus(page)
        page.keyboard.press("Enter")
        assert len(shown_ids(page)) == 200
        assert page.evaluate("document.activeElement.matches('.atlas-explorer__more')")
        page.keyboard.press("Enter")
        assert len(shown_ids(page)) == 250
        assert page.locator(".atlas-explorer__more").is_hidden()
        assert page.evaluate("document.activeElement.closest('tr').dataset.id") == \
            shown_ids(page)[200]
        assert_visible_focus(page)
    finally:
        context.close()


def test_scrolling_regions_are_reachable_by_keyboard(browser: Any, site_url: str) -> None:
    """A formula or table wider than its column can be focused (and named) and scrolled with
    the arrow keys; at a phone's width axe finds no scrolling region out of the keyboard's
    reach on the pages with formulas, code and tables."""
    assert CHROMIUM.exists()
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.route(OFF_LOOPBACK, lambda route: route.abort())
    context.add_init_script(script=AXE_SCRIPT)
    page = context.new_page()
    try:
        page.goto(site_url + "learn/diffusion/")
        settle(page, "learn")
        wide = page.locator(".katex-display[data-atlas-scrolls]")
        assert wide.count() >= 1, "the diffusion page has a formula wider than the column"
        assert wide.first.get_attribute("tabindex") == "0"
        assert wide.first.get_attribute("role") == "group"
        assert wide.first.get_attribute("aria-label") == "Formula (scrolls sideways)"
        page.click("article h1")  # past the header and the navigation, then tab on
        tab_to(page, ".katex-display[data-atlas-scrolls]", limit=100)
        assert_visible_focus(page)
        for _ in range(5):
            page.keyboard.press("ArrowRight")
        page.wait_for_function("document.activeElement.scrollLeft > 0")  # scrolls smoothly
        # Formulas that fit take no tab stop.
        assert page.locator(":is(.katex-display, div.arithmatex):not([data-atlas-scrolls])"
                            "[tabindex]").count() == 0

        page.set_viewport_size({"width": 390, "height": 800})
        for name in ("explorer", "learn", "example"):
            page.goto(site_url + "zh/" + PAGES[name])
            settle(page, name)
            violations = axe(page, "html", {"runOnly": {"type": "rule",
                                                        "values": ["scrollable-region-focusable"]}})
            assert not violations, (name, [describe(v) for v in violations])
        # The example's tables of reference figures are wider than a phone; on a desktop fewer
        # of them scroll, and after the resize each table is marked exactly when it scrolls.
        table = page.locator("article .md-typeset__scrollwrap[data-atlas-scrolls]").first
        assert table.get_attribute("aria-label") == "表格（可横向滚动）"
        assert table.get_attribute("tabindex") == "0"
        on_phone = page.locator("article .md-typeset__scrollwrap[data-atlas-scrolls]").count()
        page.set_viewport_size({"width": 1280, "height": 900})
        page.wait_for_function("""() => {
            const wraps = [...document.querySelectorAll('article .md-typeset__scrollwrap')];
            return wraps.every(w => (w.scrollWidth > w.clientWidth + 1)
                                    === (w.dataset.atlasScrolls === '1'
                                         && w.tabIndex === 0));
        }""")
        on_desktop = page.locator("article .md-typeset__scrollwrap[data-atlas-scrolls]").count()
        assert on_desktop < on_phone, (on_phone, on_desktop)
    finally:
        context.close()
