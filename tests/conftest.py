"""Fixtures shared across the suite: temporary catalogs and the built site."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "catalog"

GOOD_BOOK = """\
# yaml-language-server: $schema=../schema.json
kind: book
title: Deep Learning
authors: [Ian Goodfellow, Yoshua Bengio, Aaron Courville]
year: 2016
publisher: MIT Press
isbn: 978-0-262-03561-3
url: https://www.deeplearningbook.org/
description:
  en: A thorough graduate textbook on neural networks and their mathematics.
  zh: 一本系统讲解神经网络及其数学基础的研究生教材。
topics: [deep-learning]
tags: [textbook]
languages: [en]
level: advanced
access: free
added: 2026-11-28
"""


def write_entry(catalog: Path, kind: str, entry_id: str, text: str) -> Path:
    path = catalog / kind / f"{entry_id}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@pytest.fixture
def make_catalog(tmp_path: Path) -> Callable[..., Path]:
    """A fresh catalog folder with the project's taxonomy and schema, plus given entries."""

    def make(entries: dict[str, str] | None = None) -> Path:
        catalog = tmp_path / "catalog"
        catalog.mkdir(exist_ok=True)
        shutil.copy(CATALOG / "topics.yaml", catalog / "topics.yaml")
        shutil.copy(CATALOG / "schema.json", catalog / "schema.json")
        for name, text in (entries or {}).items():
            kind, entry_id = name.split("/")
            write_entry(catalog, kind, entry_id, text)
        return catalog

    return make


def run_atlas(*args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "atlas", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


@pytest.fixture(scope="session")
def built_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The real catalog and docs built once per test session with `mkdocs build --strict`."""
    site_dir = tmp_path_factory.mktemp("site")
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-q",
                             "-d", str(site_dir)], cwd=ROOT, capture_output=True, text=True,
                            timeout=600)
    assert result.returncode == 0, result.stderr
    yield site_dir


@pytest.fixture(scope="session")
def site_url(built_site: Path) -> Iterator[str]:
    """The built site served over HTTP on loopback (service workers and fetch need HTTP)."""
    import functools
    import threading
    from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    handler = functools.partial(Quiet, directory=str(built_site))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


CHROMIUM = Path("/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's headless Chromium driven by Playwright (it cannot download its own here).
    One per module: Playwright's sync API keeps an asyncio loop running until it stops, and
    later tests that call asyncio.run() (atlas linkcheck) would fail inside it."""
    if not CHROMIUM.exists():
        pytest.fail("browser tests need /usr/bin/chromium: run `make browser` "
                    "(apt-get install chromium fonts-noto-cjk)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--no-first-run"])
        yield instance
        instance.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    yield tab
    context.close()


def search(page: object, query: str) -> list[str]:
    """Type a query into Material's search box; the result titles and links, in order."""
    box = page.locator("input.md-search__input")
    box.click()
    box.fill("")
    box.type(query, delay=20)
    page.wait_for_function(
        "() => document.querySelector('.md-search-result__meta') && "
        "!/Initializing|正在初始化|Type to start/.test("
        "document.querySelector('.md-search-result__meta').textContent)")
    page.wait_for_timeout(300)
    return page.eval_on_selector_all(
        ".md-search-result__item > a",
        "links => links.map(a => a.getAttribute('href') + ' ' + a.textContent.trim())")
