"""Fixtures shared across the suite: temporary catalogs and the built site."""

from __future__ import annotations

import fcntl
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml
from atlas.rules import Rules

ROOT = Path(__file__).resolve().parents[1]
CATALOG = ROOT / "catalog"
RULES = Rules.of_catalog(CATALOG)
KINDS = RULES.kinds

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


GOOD_MODEL = """\
# yaml-language-server: $schema=../schema.json
kind: model
title: Example Diffusion Model
developer: Example Lab
year: 2025
inputs: [text]
outputs: [image]
parameters: [2B, 12B]
weights: open
url: https://models.example.org/diffusion
repository: https://github.com/example-lab/diffusion
huggingface: example-lab/diffusion-2b
license: LicenseRef-Example-Community-License
commercial_use: conditional
commercial_note:
  en: Free below one million monthly users; a licence is needed above.
  zh: 月活跃用户低于一百万时免费，超过需另行授权。
arxiv: "2403.03206"
description:
  en: A text-to-image diffusion model released with open weights in two sizes.
  zh: 以开放权重发布、有两种规模的文生图扩散模型。
topics: [image-generation, diffusion]
languages: [en]
level: intermediate
access: free
added: 2026-12-01
"""

GOOD_DATASET = """\
# yaml-language-server: $schema=../schema.json
kind: dataset
title: Example Image-Text Pairs
creator: Example Lab
year: 2022
size: [5.85B image-text-pairs, 240 TB]
modalities: [image, text]
url: https://data.example.org/pairs
huggingface: example-lab/pairs
license: CC-BY-4.0
arxiv: "2210.08402"
description:
  en: Billions of image and caption pairs collected from the web, for training image models.
  zh: 从网络收集的数十亿图像与描述文本对，用于训练图像模型。
topics: [datasets, image-generation]
languages: [en]
level: advanced
access: free
added: 2026-12-01
"""


def taxonomy_without_picks() -> str:
    """The project's topics.yaml without its "start here" picks, which name entries of the
    real catalog that a temporary one does not have."""
    taxonomy = yaml.safe_load((CATALOG / "topics.yaml").read_text(encoding="utf-8"))
    for topic in taxonomy["topics"]:
        topic.pop("start_here", None)
    return yaml.safe_dump(taxonomy, allow_unicode=True, sort_keys=False)


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
        (catalog / "topics.yaml").write_text(taxonomy_without_picks(), encoding="utf-8")
        shutil.copy(CATALOG / "schema.json", catalog / "schema.json")
        for name, text in (entries or {}).items():
            kind, entry_id = name.split("/")
            write_entry(catalog, kind, entry_id, text)
        return catalog

    return make


def run_atlas(*args: str, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "atlas", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout)


@dataclass(frozen=True)
class SharedSite:
    """The built site of this test run: its folder and the loopback URL it is served at."""

    directory: Path
    url: str


SITE_FIXTURES = {"shared_site", "built_site", "site_url"}
SITE_BUILD_SECONDS = 900  # the longest a test waits for the shared build


def shared_root(basetemp: Path) -> Path:
    """The folder every process of this test run shares: the run's basetemp (under
    pytest-xdist, each worker's basetemp is a folder in it)."""
    return basetemp.parent if os.environ.get("PYTEST_XDIST_WORKER") else basetemp


def start_site_build(root: Path) -> dict[str, str]:
    """Once per test run, whichever process asks first: start tests/serve_site.py, a loopback
    server for the site folder that runs `mkdocs build --strict` of the real catalog and docs
    into it in the background. Returns the record (folder, URL, log, exit-status file) every
    process reads.

    The server lives as long as the run's own process (xdist's controller, or this pytest
    without xdist), not the worker that started it. The site URL is the server's, as in
    deployment, so that instant navigation (which only takes over links listed in sitemap.xml)
    works in the browser tests."""
    record_file = root / "shared-site.json"
    with open(root / "shared-site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if record_file.exists():
            return json.loads(record_file.read_text(encoding="utf-8"))
        run = os.getppid() if os.environ.get("PYTEST_XDIST_WORKER") else os.getpid()
        site_dir = root / "site"
        site_dir.mkdir(parents=True, exist_ok=True)
        log, exit_file = root / "shared-site-build.log", root / "shared-site-build.exit"
        server = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "serve_site.py"), str(site_dir), str(run),
             str(log), str(exit_file),
             sys.executable, "-m", "mkdocs", "build", "--strict", "-q", "-d", str(site_dir)],
            cwd=ROOT, stdout=subprocess.PIPE, text=True, start_new_session=True)
        assert server.stdout is not None
        record = {"directory": str(site_dir),
                  "url": f"http://127.0.0.1:{int(server.stdout.readline())}/",
                  "log": str(log), "exit": str(exit_file)}
        record_file.write_text(json.dumps(record), encoding="utf-8")
        return record


# A module whose tests are grouped by their parameter (the example) rather than as one unit:
# each example's tests share that example's short run, and no other example's.
PER_EXAMPLE_MODULE = "tests/examples/test_examples_common.py"


def work_unit(nodeid: str) -> str:
    """The tests pytest-xdist sends to one worker together (``--dist loadscope``): a module
    (its module fixtures then run once), or, in PER_EXAMPLE_MODULE, one example's tests."""
    scope = nodeid.rsplit("::", 1)[0]
    if scope == PER_EXAMPLE_MODULE and nodeid.endswith("]"):
        return f"{scope}[{nodeid.rsplit('[', 1)[1]}"
    return scope


def needs_site(item: pytest.Item) -> bool:
    return bool(SITE_FIXTURES & set(getattr(item, "fixturenames", ())))


def run_order(items: list[pytest.Item]) -> list[pytest.Item]:
    """Work units in the order the two workers should take them: the example programs'
    runs to their bars first (minutes each), their short runs next, then the other tests,
    then those that need the shared site, which is building meanwhile. Long units first
    keep both workers busy to the end, where the short tests fill the gaps; xdist's own
    order (units with the most tests first) left the long example runs for last and one
    worker idle."""
    def rank(unit: list[pytest.Item]) -> int:
        if any(map(needs_site, unit)):
            return 3
        if not unit[0].nodeid.startswith("tests/examples/"):
            return 2
        return 0 if any(item.get_closest_marker("slow") for item in unit) else 1

    units: dict[str, list[pytest.Item]] = {}
    for item in items:
        units.setdefault(work_unit(item.nodeid), []).append(item)
    ordered = sorted(units.values(), key=rank)  # stable: collection order within a rank
    return [item for unit in ordered for item in unit]


if importlib.util.find_spec("xdist") is not None:
    from xdist.scheduler import LoadScopeScheduling

    class WorkUnitScheduling(LoadScopeScheduling):
        """``--dist loadscope`` with units from work_unit(), sent in collection order
        (``--no-loadscope-reorder``), which run_order() has set."""

        def _split_scope(self, nodeid: str) -> str:
            return work_unit(nodeid)

    def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object | None:
        if config.getvalue("dist") == "loadscope":
            return WorkUnitScheduling(config, log)
        return None


@pytest.hookimpl(trylast=True)  # after -m and -k have deselected what will not run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Put the work units in run_order(), and start the site build as soon as the run is
    known to need it, so that it overlaps the tests that do not instead of stopping the
    first test that does."""
    items[:] = run_order(items)
    if config.option.collectonly:
        return
    # The basetemp the tmp_path_factory fixture will give (hooks get no fixtures); should a
    # pytest keep it elsewhere, the shared_site fixture starts the build when first needed.
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is not None and any(map(needs_site, items)):
        start_site_build(shared_root(factory.getbasetemp()))


@pytest.fixture(scope="session")
def shared_site(tmp_path_factory: pytest.TempPathFactory) -> SharedSite:
    """The site, built once per test run however many pytest-xdist workers need it: the
    first test to need it waits for the build the collection started (or starts it), the
    others find it done. A failed build fails every test that needs the site, with its log."""
    record = start_site_build(shared_root(tmp_path_factory.getbasetemp()))
    exit_file = Path(record["exit"])
    deadline = time.monotonic() + SITE_BUILD_SECONDS
    while not exit_file.exists():
        if time.monotonic() > deadline:
            pytest.fail(f"the site build did not finish in {SITE_BUILD_SECONDS} s; its log: "
                        f"{record['log']}", pytrace=False)
        time.sleep(0.5)
    if exit_file.read_text(encoding="utf-8").strip() != "0":
        log = Path(record["log"]).read_text(encoding="utf-8", errors="replace")
        pytest.fail(f"mkdocs build --strict failed:\n{log[-5000:]}", pytrace=False)
    return SharedSite(Path(record["directory"]), record["url"])


@pytest.fixture(scope="session")
def built_site(shared_site: SharedSite) -> Path:
    """The folder of the real catalog and docs built with `mkdocs build --strict`."""
    return shared_site.directory


@pytest.fixture(scope="session")
def site_url(shared_site: SharedSite) -> str:
    """The built site served over HTTP on loopback (search's worker and fetch need HTTP)."""
    return shared_site.url


CHROMIUM = Path("/usr/bin/chromium")
OFF_LOOPBACK = re.compile(r"^(?!https?://127\.\d+\.\d+\.\d+[:/])[a-z]+://")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's headless Chromium driven by Playwright (it cannot download its own here).

    Per module, not per session: Playwright's sync API keeps an asyncio event loop running
    in this thread while it is open, and `asyncio.run` (the link checker) refuses to start
    inside a running loop, so it must be closed before the next module's tests.
    """
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
    # Tests touch loopback only: the theme's web fonts, GitHub's API (repository facts) and
    # anything else off 127.0.0.0/8 are refused before they leave the machine.
    context.route(OFF_LOOPBACK, lambda route: route.abort())
    tab = context.new_page()
    tab.set_default_timeout(20_000)
    yield tab
    context.close()


def search(page: object, query: str) -> list[str]:
    """Enter a query into Material's search box; the result links (absolute) and titles, in
    order. The query goes in at once, as a paste or an input method does: typing CJK
    characters one by one sends no key events, and Material would not search."""
    box = page.locator("input.md-search__input")
    box.click()
    box.fill(query)
    box.press("End")
    page.wait_for_function(
        "() => document.querySelector('.md-search-result__meta') && "
        "!/Initializing|正在初始化|Type to start|键入以开始搜索/.test("
        "document.querySelector('.md-search-result__meta').textContent)")
    page.wait_for_timeout(300)
    return page.eval_on_selector_all(
        ".md-search-result__item > a",
        "links => links.map(a => a.href + ' ' + a.textContent.trim())")


def _missing(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is None
    except (ImportError, ValueError):  # a finder that refuses the name counts as missing
        return True


# The Learn pages' code needs PyTorch and NumPy (the `examples` extra); without them
# test_learn.py is left out of collection, so that the tooling tests (`make test-fast`) run
# on a machine without torch. The example tests skip themselves (tests/examples/
# example_runs.py); the session header says so.
TORCH_MISSING = _missing("torch") or _missing("numpy")
collect_ignore_glob = ["test_learn.py"] if TORCH_MISSING else []


def pytest_report_header(config: pytest.Config) -> str | None:
    if TORCH_MISSING:
        return ("torch is not installed: the example tests skip and the Learn pages' code "
                "is left out (`make test` installs it)")
    return None

