"""`make serve` rebuilds incrementally, and the result is exactly the site a full build makes.

A small copy of the project is built the way `mkdocs serve --dirty` builds it; after each
edit (an entry changed, added, renamed, deleted, broken and fixed; the taxonomy, a Learn
page, a template and the stylesheet edited) the incremental rebuild is compared, file for
file, with a clean full build of the same sources. Only the sitemap's dates may differ.
The learning paths (catalog/paths.yaml) are a global input like the taxonomy: an edit to a
step re-renders its path's page, a renamed path every page (the navigation names it).
"""

from __future__ import annotations

import filecmp
import gc
import gzip
import json
import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = pytest.mark.slow

SERVE_URL = "http://127.0.0.1:8000/"
ENTRIES = ["book/deep-learning-goodfellow", "book/understanding-deep-learning",
           "paper/attention-is-all-you-need", "paper/denoising-diffusion-probabilistic-models",
           "paper/generative-adversarial-networks", "tool/diffusers", "tool/pytorch",
           "website/lil-log", "course/stanford-cs236", "model/deepseek-r1",
           "dataset/fineweb", "paper/auto-encoding-variational-bayes"]
PATHS = """\
paths:
  - id: diffusion-models
    title: {en: Understand diffusion models, zh: 读懂扩散模型}
    goal:
      en: From no background to training a small diffusion model and reading its paper.
      zh: 从零基础到亲手训练一个小型扩散模型，并读懂它的论文。
    steps:
      - id: vae
        learn: vae
        why: {en: The variational bound comes first., zh: 先理解变分下界。}
      - id: diffusion
        learn: diffusion
        needs: [vae]
        why: {en: Noising and denoising derived., zh: 推导加噪与去噪过程。}
      - id: topic
        topic: diffusion
        needs: [diffusion]
        why: {en: What to read on the topic., zh: 这个主题的推荐资源。}
      - id: paper
        entry: denoising-diffusion-probabilistic-models
        needs: [diffusion]
        why: {en: The paper that made it work., zh: 让扩散模型真正奏效的论文。}
      - id: run
        example: diffusion
        needs: [paper]
        why: {en: Train one on digits., zh: 在手写数字上训练一个。}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A copy of the project with a dozen entries: docs, theme and catalog are copies (the
    test edits them), the code and the examples are links."""
    import yaml

    project = tmp_path / "project"
    project.mkdir()
    for name in ("mkdocs.yml", "mkdocs.zh.yml"):
        shutil.copy(ROOT / name, project / name)
    for name in ("docs", "overrides"):
        shutil.copytree(ROOT / name, project / name)
    for name in ("tools", "examples"):
        (project / name).symlink_to(ROOT / name)
    catalog = project / "catalog"
    catalog.mkdir()
    shutil.copy(ROOT / "catalog/schema.json", catalog)
    shutil.copy(ROOT / "catalog/paths.schema.json", catalog)
    (catalog / "paths.yaml").write_text(PATHS, encoding="utf-8")
    taxonomy = yaml.safe_load((ROOT / "catalog/topics.yaml").read_text(encoding="utf-8"))
    for topic in taxonomy["topics"]:
        topic.pop("start_here", None)
    (catalog / "topics.yaml").write_text(yaml.safe_dump(taxonomy, allow_unicode=True,
                                                        sort_keys=False), encoding="utf-8")
    for name in ENTRIES:
        (catalog / name).parent.mkdir(exist_ok=True)
        shutil.copy(ROOT / "catalog" / f"{name}.yaml", catalog / f"{name}.yaml")
    monkeypatch.chdir(project)  # pymdownx.snippets includes example sources from "."
    yield project
    from atlas import incremental

    incremental.reset()  # and the process that built the Chinese site ends


def build_site(project: Path, site: Path, *, incremental: bool) -> None:
    """One build as `mkdocs serve --dirty` makes it (incremental), or the first build of a
    fresh server, every cache forgotten, into an empty folder: a clean full build of the
    same sources. The other language is built by the server's second process."""
    from atlas import incremental as state
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    kept = dict(vars(state.STATE))
    if not incremental:  # from nothing, as a fresh server would; the served caches stay
        vars(state.STATE).update(vars(state.ServeState()))
        shutil.rmtree(site, ignore_errors=True)
    config = load_config(str(project / "mkdocs.yml"), site_dir=str(site))
    config.site_url = SERVE_URL
    config.plugins.on_startup(command="serve", dirty=True)
    build(config, serve_url=SERVE_URL, dirty=True)
    if incremental:
        return
    if kept["renders"]:  # a build to compare with: the server's caches and process return
        state.STATE.alternates.stop()
        vars(state.STATE).update(kept)
    else:
        kept["alternates"].stop()


def differences(ours: Path, full: Path) -> list[str]:
    """Files that differ between two built sites (the sitemap compared without its dates)."""
    def listing(site: Path) -> set[str]:
        return {p.relative_to(site).as_posix() for p in site.rglob("*") if p.is_file()}

    found = sorted(listing(ours) ^ listing(full))
    for name in sorted(listing(ours) & listing(full)):
        a, b = ours / name, full / name
        if name.endswith("sitemap.xml.gz"):
            same = undated(gzip.decompress(a.read_bytes())) == undated(
                gzip.decompress(b.read_bytes()))
        elif name.endswith("sitemap.xml"):
            same = undated(a.read_bytes()) == undated(b.read_bytes())
        else:
            same = filecmp.cmp(a, b, shallow=False)
        if not same:
            found.append(name)
    return found


def undated(xml: bytes) -> bytes:
    return re.sub(rb"<lastmod>[^<]*</lastmod>", b"", xml)


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, (path, old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    # Editors save with a new modification time; the test is faster than a clock tick.
    stat = path.stat()
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))


def test_incremental_rebuilds_equal_full_builds(project: Path, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    from atlas import incremental

    monkeypatch.setattr(incremental, "RESUME_AFTER", 0.05)

    served, full = tmp_path / "served", tmp_path / "full"
    catalog = project / "catalog"
    build_site(project, served, incremental=False)  # the server's first build

    # (what, the edit, at most this many English pages it may re-render). The local edits
    # come first: a global one (the nav, a template) re-renders everything, which would hide
    # a page a local edit should have re-rendered; the sites are compared before each group.
    local: list[tuple[str, Callable[[], None], int]] = [
        ("an entry's description", lambda: replace_in(
            catalog / "tool/diffusers.yaml", "  en: >-\n", "  en: >-\n    Edited today.\n"), 8),
        ("a new entry", lambda: shutil.copy(ROOT / "catalog/paper/clip.yaml",
                                            catalog / "paper/clip.yaml"), 25),
        ("an entry like another added", lambda: (catalog / "tool/diffusers-twin.yaml").write_text(
            (catalog / "tool/diffusers.yaml").read_text(encoding="utf-8").replace(
                "url: https://", "url: https://twin."), encoding="utf-8"), 12),
        ("an entry renamed", lambda: (catalog / "website/lil-log.yaml").rename(
            catalog / "website/lilian-weng-blog.yaml"), 25),
        ("an entry deleted", lambda: (catalog / "tool/pytorch.yaml").unlink(), 25),
        ("a Learn page", lambda: replace_in(
            project / "docs/en/learn/gan.md", "\n## ", "\nAn added sentence.\n\n## "), 3),
        ("a step of a learning path", lambda: replace_in(
            catalog / "paths.yaml", "Train one on digits.", "Train one on 8x8 digits."), 1),
    ]
    everything = 1_000
    global_edits: list[tuple[str, Callable[[], None], int]] = [
        ("a topic renamed in the taxonomy", lambda: replace_in(
            catalog / "topics.yaml", "en: Diffusion models", "en: Diffusion models (DDPM)"),
         everything),
        ("a learning path renamed", lambda: replace_in(
            catalog / "paths.yaml", "en: Understand diffusion models",
            "en: Understand diffusion"), everything),
        ("a template", lambda: replace_in(
            project / "overrides/entry.html", "{% extends", "{# edited #}\n{% extends"),
         everything),
        ("the stylesheet", lambda: (project / "overrides/assets/stylesheets/atlas.css").open(
            "a", encoding="utf-8").write("\n.atlas-edited { color: inherit; }\n"), everything),
    ]
    swapped: dict[str, int] = {}
    for group in (local, global_edits):
        for what, edit, most in group:
            edit()
            build_site(project, served, incremental=True)
            rendered = incremental.STATE.rendered["en"]
            assert 0 < len(rendered) <= most, (what, len(rendered))
            swapped[what] = len(incremental.STATE.swapped["en"])
            resumption = incremental.collector_resumption()
            if resumption is not None:  # once the page is served
                resumption.join(timeout=incremental.RESUME_AFTER + 5)
            assert gc.isenabled(), "a rebuild resumes the garbage collector it paused"
        if group is local:  # the twin joins its original's neighbours' related entries:
            # their pages have the block swapped, not rendered again
            assert swapped["an entry like another added"] > 0, swapped
        build_site(project, served, incremental=True)  # a rebuild with nothing changed
        assert incremental.STATE.rendered["en"] == set()
        build_site(project, full, incremental=False)
        assert differences(served, full) == [], [what for what, *_ in group]


def test_a_broken_entry_is_shown_in_the_browser_and_recovers(project: Path,
                                                            tmp_path: Path) -> None:

    served = tmp_path / "served"
    build_site(project, served, incremental=False)
    page = served / "entries/diffusers/index.html"
    assert page.is_file() and not (served / "atlas-status.json").exists()
    assert '<meta name="atlas-serve" content="1">' in page.read_text(encoding="utf-8")

    entry = project / "catalog/tool/diffusers.yaml"
    good = entry.read_text(encoding="utf-8")
    replace_in(entry, "level: ", "level: expert\nlevel_was: ")
    build_site(project, served, incremental=True)  # no exception: the server keeps going
    for status_file in (served / "atlas-status.json", served / "zh/atlas-status.json"):
        status = json.loads(status_file.read_text(encoding="utf-8"))
        assert any("catalog/tool/diffusers.yaml" in p and "level" in p
                   for p in status["problems"])
    assert not page.exists()  # the entry with problems is left out until fixed
    assert not (served / "zh/entries/diffusers/index.html").exists()

    entry.write_text(good, encoding="utf-8")
    stat = entry.stat()
    os.utime(entry, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    build_site(project, served, incremental=True)
    assert page.is_file() and not (served / "atlas-status.json").exists()
    assert not (served / "zh/atlas-status.json").exists()


def test_the_chinese_site_is_built_beside_the_english_one(
        project: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str]) -> None:
    """Under serve a second process builds the Chinese site while the English one builds.
    A problem in a Chinese page fails the rebuild with its message, which names the
    Chinese configuration, and the server recovers once it is fixed; if the process ends,
    the next rebuild starts another, and the site is still what a full build makes."""
    from atlas import incremental
    from mkdocs.exceptions import Abort

    served, full = tmp_path / "served", tmp_path / "full"
    build_site(project, served, incremental=False)
    process = incremental.STATE.alternates.process
    assert process is not None and process.poll() is None
    assert (served / "zh/learn/gan/index.html").is_file()

    page = project / "docs/zh/learn/gan.md"
    good = page.read_text(encoding="utf-8")
    replace_in(page, "<!-- atlas:entries topic=gan -->", "<!-- atlas:entries topic=no-such -->")
    capfd.readouterr()
    with pytest.raises(Abort):
        build_site(project, served, incremental=True)
    assert "building mkdocs.zh.yml failed" in caplog.text
    assert "unknown topic 'no-such'" in capfd.readouterr().err  # the second process says why
    page.write_text(good, encoding="utf-8")
    build_site(project, served, incremental=True)
    assert incremental.STATE.alternates.process is process

    process.kill()
    process.wait()
    replace_in(page, "\n## ", "\n为基准测试添加的一句。\n\n## ")
    build_site(project, served, incremental=True)
    assert incremental.STATE.alternates.process not in (None, process)
    assert "为基准测试添加的一句" in (served / "zh/learn/gan/index.html").read_text(
        encoding="utf-8")
    build_site(project, full, incremental=False)
    assert differences(served, full) == []


def test_a_rebuild_leaves_its_garbage_until_the_page_is_served(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Resumed at the end of a rebuild, the collector's first collection walks every object
    the rebuild made before the page is served; it resumes a moment later instead, unless
    another rebuild has paused it again by then, and what survives its collection is kept
    out of the next ones' sight (frozen) until the collector resumes at once again."""
    import time

    from atlas import incremental

    monkeypatch.setattr(incremental, "RESUME_AFTER", 0.2)
    incremental.pause_collector()
    try:
        incremental.resume_collector(later=True)
        assert not gc.isenabled()
        incremental.pause_collector()  # the next rebuild begins first
        time.sleep(0.4)
        assert not gc.isenabled() and incremental.collector_resumption() is None
        incremental.resume_collector(later=True)
        resumption = incremental.collector_resumption()
        assert resumption is not None
        resumption.join(timeout=5)
        assert gc.isenabled() and gc.get_freeze_count() > 0
    finally:
        incremental.resume_collector()
    assert gc.isenabled() and gc.get_freeze_count() == 0


def test_serve_watches_by_events_not_polling(tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    """`make serve` hears of a saved file from the operating system at once: the watches
    MkDocs made move from its half-second polling to an event observer, and a save still
    asks for a rebuild. Reading a watched file, as every build does, does not: the server
    would otherwise rebuild after every rebuild, for as long as it runs. A save pauses the
    garbage collector until the rebuild it starts is done (a rebuild that does not come
    resumes it after a grace period)."""
    import time

    from atlas import incremental
    from atlas.mkdocs_hooks import _watch_by_events

    monkeypatch.setattr(incremental.STATE, "serving", True)  # mkdocs serve --dirty
    from mkdocs.livereload import LiveReloadServer
    from watchdog.observers import Observer
    from watchdog.observers.polling import PollingObserver

    watched = tmp_path / "catalog"
    (watched / "book").mkdir(parents=True)
    existing = watched / "book" / "old.yaml"
    existing.write_text("title: y\n", encoding="utf-8")
    server = LiveReloadServer(builder=lambda: None, host="127.0.0.1", port=0,
                              root=str(tmp_path))
    server.watch(str(watched))
    _watch_by_events(server)
    if Observer is PollingObserver:
        pytest.skip("watchdog has no event observer on this system")
    assert not isinstance(server.observer, PollingObserver)
    server.observer.start()
    try:
        time.sleep(0.2)
        for _ in range(3):
            assert existing.read_text(encoding="utf-8") == "title: y\n"
        time.sleep(0.5)
        assert not server._want_rebuild
        assert gc.isenabled(), "reading a file is not a save"
        (watched / "book" / "new.yaml").write_text("title: x\n", encoding="utf-8")
        deadline = time.monotonic() + 10
        while not server._want_rebuild and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server._want_rebuild
        assert not gc.isenabled() and incremental.collector_resumption() is not None
    finally:
        incremental.resume_collector()
        server.observer.stop()
        server.observer.join()
        server.server_close()


def test_related_entries_reranked_where_an_edit_reaches_equal_a_full_ranking() -> None:
    """`make serve` re-ranks only the entries sharing a topic with an entry added, removed
    or retagged; the result must be the ranking of the whole catalog, edit after edit."""
    import dataclasses
    import random

    from atlas import site
    from atlas.catalog import Catalog, load_catalog
    from atlas.incremental import RelatedRanking

    real = load_catalog(ROOT / "catalog")
    rng = random.Random(7)
    entries = list(real.entries)
    ranking = RelatedRanking()

    def check(entries: list, least: int, most: int) -> None:
        served = Catalog(real.root, list(entries), real.topics, [], real.rules)
        full = Catalog(real.root, list(entries), real.topics, [], real.rules)
        ours = ranking.update(served)
        assert {key: [e.id for e in value] for key, value in ours.items()} == {
            key: [e.id for e in value] for key, value in site.related_entries(full).items()}
        assert least <= ranking.ranked <= most, ranking.ranked

    check(entries, len(entries), len(entries))  # the first build ranks everything
    check(entries, 0, 0)  # nothing changed: nothing is ranked again
    for _ in range(12):
        index = rng.randrange(len(entries))
        edit = rng.choice(("retag", "retopic", "remove", "twin"))
        entry = entries[index]
        if edit == "remove":
            del entries[index]
        elif edit == "twin":
            twin = dataclasses.replace(entry, id=f"{entry.id}-twin")
            entries.insert(index + 1, twin)
        else:
            changed = {"tags": [*entry.tags[1:], "an-added-tag"]} if edit == "retag" else {
                "topics": [rng.choice(sorted(real.topics))]}
            entries[index] = dataclasses.replace(entry, **changed)
        check(entries, 1, len(entries) - 1)


def test_a_memo_keeps_the_parts_of_a_piece_it_hands_back_whole() -> None:
    """A list page reused whole keeps its items: when the page changes next, only the item
    that changed is made again."""
    from atlas.site import Memo

    memo, made = Memo(), []

    def item(name: str) -> str:
        return memo.get(("item", name), (), lambda: made.append(name) or name.upper())

    def page() -> list[str]:
        return memo.get(("page",), (), lambda: [item("a"), item("b")])

    assert page() == ["A", "B"]
    for _ in range(2):  # two rebuilds that reuse the page whole, never asking for its items
        memo.next_generation()
        assert page() == ["A", "B"]
    memo.next_generation()
    assert item("a") == "A" and item("c") == "C"  # the page changed: a new item joined it
    assert made == ["a", "b", "c"]
