"""Learning paths (catalog/paths.yaml): every real path validates, each kind of mistake is
reported as `file:line: field: message` (all of them in one run, never a traceback), and
the generated pages show each step, its reason and its prerequisites, in both languages."""

from __future__ import annotations

import dataclasses
import json
import re
import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from atlas import cli, site
from atlas.catalog import Catalog, load_catalog
from atlas.paths import LearningPath, Step
from conftest import CATALOG, GOOD_BOOK, ROOT, taxonomy_without_picks, write_entry

LINE = re.compile(r"^\S*paths\.yaml:\d+: \S+: .+$")
STEP_HEADING = re.compile(r"^## (\d+)\. .* \{ #step-([a-z0-9-]+) \}$", re.M)

GOOD_PATHS = """\
# yaml-language-server: $schema=paths.schema.json
paths:
  - id: first-gan
    title: {en: Train a first GAN, zh: 训练第一个 GAN}
    goal:
      en: From nothing to a trained GAN, with a Learn page, a book and an example.
      zh: 从零开始，借助学习页面、教材和示例训练出第一个 GAN。
    steps:
      - id: read
        learn: gan
        why: {en: The ideas behind the example., zh: 示例背后的思想。}
      - id: book
        entry: deep-learning
        needs: [read]
        why: {en: The textbook chapter on the subject., zh: 教材中的相关章节。}
      - id: topic
        topic: gan
        needs: [read]
        why: {en: More to read on the topic., zh: 这个主题的更多资源。}
      - id: run
        example: gan
        needs: [read, book]
        why: {en: Train it on a laptop in minutes., zh: 在笔记本电脑上几分钟就能训练完。}
"""


@pytest.fixture
def project(make_catalog: Callable[..., Path]) -> Path:
    """A small project: a catalog with one book and the paths schema, a Learn page in both
    languages (and one in English only), the GAN example and an example no topic names."""
    catalog = make_catalog({"book/deep-learning": GOOD_BOOK})
    shutil.copy(CATALOG / "paths.schema.json", catalog / "paths.schema.json")
    root = catalog.parent
    for lang in ("en", "zh"):
        (root / "docs" / lang / "learn").mkdir(parents=True)
        (root / "docs" / lang / "learn" / "gan.md").write_text("# GAN\n", encoding="utf-8")
    (root / "docs/en/learn/vae.md").write_text("# VAE\n", encoding="utf-8")
    for name in ("gan", "unlisted"):
        (root / "examples" / name).mkdir(parents=True)
        (root / "examples" / name / f"{name}.py").write_text("print()\n", encoding="utf-8")
    (catalog / "paths.yaml").write_text(GOOD_PATHS, encoding="utf-8")
    return catalog


def path_problems(catalog: Path) -> list[str]:
    return [str(p) for p in load_catalog(catalog).problems if "paths" in p.path]


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    lines = text.splitlines()
    found = [number for number, line in enumerate(lines, 1) if needle in line]
    return found[occurrence - 1]


def test_the_small_project_is_valid(project: Path) -> None:
    catalog = load_catalog(project)
    assert catalog.problems == []
    (path,) = catalog.paths
    assert [(s.id, s.kind, s.target, s.needs) for s in path.steps] == [
        ("read", "learn", "gan", ()), ("book", "entry", "deep-learning", ("read",)),
        ("topic", "topic", "gan", ("read",)), ("run", "example", "gan", ("read", "book"))]


def test_no_paths_file_means_no_paths(make_catalog: Callable[..., Path]) -> None:
    catalog = load_catalog(make_catalog({"book/deep-learning": GOOD_BOOK}))
    assert catalog.problems == [] and catalog.paths == []


# (what, the edit to GOOD_PATHS, the line's text (and which occurrence), field, message)
MISTAKES = [
    ("missing entry", ("entry: deep-learning", "entry: no-such-book"), ("entry: no-such", 1),
     "first-gan.steps[1].entry", "no valid entry 'no-such-book' in the catalog"),
    ("unknown topic", ("topic: gan", "topic: gans"), ("topic: gans", 1),
     "first-gan.steps[2].topic", "unknown topic 'gans'"),
    ("Learn page in one language only", ("learn: gan", "learn: vae"), ("learn: vae", 1),
     "first-gan.steps[0].learn", "no Learn page docs/zh/learn/vae.md"),
    ("missing Learn page", ("learn: gan", "learn: nothing-here"), ("learn: nothing", 1),
     "first-gan.steps[0].learn",
     "no Learn page docs/en/learn/nothing-here.md or docs/zh/learn/nothing-here.md"),
    ("missing example", ("example: gan", "example: nope"), ("example: nope", 1),
     "first-gan.steps[3].example", "no example examples/nope/ (with nope.py)"),
    ("example without a page", ("example: gan", "example: unlisted"),
     ("example: unlisted", 1),
     "first-gan.steps[3].example", "examples/unlisted/ is no topic's example"),
    ("needs a later step", ("needs: [read]\n        why: {en: The textbook",
                            "needs: [run]\n        why: {en: The textbook"), ("needs: [run]", 1),
     "first-gan.steps[1].needs[0]",
     "'run' is step 4, after this one (step 2): a step needs only earlier steps"),
    ("needs an unknown step", ("needs: [read, book]", "needs: [read, nowhere]"),
     ("needs: [read, nowhere]", 1), "first-gan.steps[3].needs[1]",
     "no step 'nowhere' in this path"),
    ("needs itself", ("needs: [read, book]", "needs: [run]"), ("needs: [run]", 1),
     "first-gan.steps[3].needs[0]", "a step cannot need itself"),
    ("duplicate step id", ("- id: topic", "- id: book"), ("- id: book", 2),
     "first-gan.steps[2].id", "duplicate step id 'book' (first on line 12)"),
    ("duplicate path id", (GOOD_PATHS, GOOD_PATHS + GOOD_PATHS.split("paths:\n", 1)[1]),
     ("- id: first-gan", 2), "first-gan.id", "duplicate path id (first on line 3)"),
    ("missing Chinese why", ("{en: The ideas behind the example., zh: 示例背后的思想。}",
                             "{en: The ideas behind the example.}"), ("The ideas behind", 1),
     "first-gan.steps[0].why.zh", "required field is missing"),
    ("missing Chinese title", ("title: {en: Train a first GAN, zh: 训练第一个 GAN}",
                               "title: {en: Train a first GAN}"), ("title:", 1),
     "first-gan.title.zh", "required field is missing"),
    ("empty Chinese goal", ("zh: 从零开始，借助学习页面、教材和示例训练出第一个 GAN。", "zh: ''"),
     ("zh: ''", 1), "first-gan.goal.zh", "too short (0 characters; at least 10)"),
    ("two targets", ("learn: gan\n", "learn: gan\n        entry: deep-learning\n"),
     ("- id: read", 1), "first-gan.steps[0]",
     "a step names exactly one of learn, topic, entry, example"),
    ("no target", ("        learn: gan\n", ""), ("- id: read", 1), "first-gan.steps[0]",
     "a step names exactly one of learn, topic, entry, example"),
    ("levels on an entry step", ("entry: deep-learning\n",
                                 "entry: deep-learning\n        levels: [beginner]\n"),
     ("- id: book", 1), "first-gan.steps[1]", "levels is only for a topic step"),
    ("unknown level", ("topic: gan\n", "topic: gan\n        levels: [expert]\n"),
     ("levels: [expert]", 1), "first-gan.steps[2].levels[0]",
     "'expert' is not one of: beginner, intermediate, advanced"),
    ("unknown field", ("needs: [read, book]", "needs: [read, book]\n        colour: red"),
     ("colour: red", 1), "first-gan.steps[3].colour", "unknown field"),
    ("not an id", ("- id: run", "- id: Run It"), ("- id: Run It", 1), "first-gan.steps[3].id",
     "'Run It' does not have the expected form"),
    ("HTML in text", ("The ideas behind the example.", "The <b>ideas</b> behind it."),
     ("<b>ideas</b>", 1), "first-gan.steps[0].why.en",
     "HTML is not allowed in text fields; write plain text"),
    ("Markdown link in text",
     ("More to read on the topic.", "\"More in [here](https://x.org).\""),
     ("[here]", 1), "first-gan.steps[2].why.en", "Markdown links are not allowed"),
    ("the same thing twice", ("example: gan", "entry: deep-learning"),
     ("entry: deep-learning", 2),
     "first-gan.steps[3].entry", "step 'book' already names the entry 'deep-learning'"),
    ("not a list of needs", ("needs: [read, book]", "needs: read"), ("needs: read", 1),
     "first-gan.steps[3].needs", "expected array, got str 'read'"),
]


@pytest.mark.parametrize("mistake", MISTAKES, ids=lambda m: m[0])
def test_each_mistake_is_reported_where_it_is(project: Path, mistake: tuple) -> None:
    _, (old, new), (needle, occurrence), field, message = mistake
    assert old in GOOD_PATHS
    text = GOOD_PATHS.replace(old, new, 1)
    (project / "paths.yaml").write_text(text, encoding="utf-8")
    problems = path_problems(project)
    line = line_of(text, needle, occurrence)
    expected = f"paths.yaml:{line}: {field}: {message}"
    assert any(expected in problem for problem in problems), (expected, problems)
    assert all(LINE.match(problem) for problem in problems), problems
    assert load_catalog(project).paths == [] or "duplicate path id" in message


def test_too_few_steps(project: Path) -> None:
    text = GOOD_PATHS.split("      - id: topic")[0]
    (project / "paths.yaml").write_text(text, encoding="utf-8")
    (problem,) = path_problems(project)
    assert problem.endswith(f"paths.yaml:{line_of(text, 'steps:')}: first-gan.steps: "
                            "needs at least 3 item(s)")


def test_a_topic_step_whose_levels_leave_no_pick(project: Path) -> None:
    taxonomy = yaml.safe_load(taxonomy_without_picks())
    for topic in taxonomy["topics"]:
        if topic["id"] == "gan":
            topic["start_here"] = [{"entry": f"gan-book-{n}", "why": {"en": "A pick.",
                                                                     "zh": "推荐。"}}
                                   for n in range(3)]
    (project / "topics.yaml").write_text(yaml.safe_dump(taxonomy, allow_unicode=True),
                                         encoding="utf-8")
    for n in range(3):
        write_entry(project, "book", f"gan-book-{n}", GOOD_BOOK.replace(
            "topics: [deep-learning]", "topics: [gan]").replace(
            "https://www.deeplearningbook.org/", f"https://gan{n}.example.org/"))
    text = GOOD_PATHS.replace("topic: gan\n", "topic: gan\n        levels: [beginner]\n")
    (project / "paths.yaml").write_text(text, encoding="utf-8")
    (problem,) = path_problems(project)
    assert problem.endswith(f"paths.yaml:{line_of(text, 'topic: gan')}: first-gan.steps[2]."
                            "topic: no start-here pick of topic 'gan' is at level beginner")
    (project / "paths.yaml").write_text(text.replace("[beginner]", "[beginner, advanced]"),
                                        encoding="utf-8")
    catalog = load_catalog(project)
    assert catalog.problems == []
    page = site.path_page(catalog.paths[0], catalog, "en")
    assert "Start with its picks for the level Beginner or Advanced:" in page
    assert page.count("../entries/gan-book-") == 3


def test_a_path_naming_an_entry_left_out_is_left_out_too(project: Path) -> None:
    """`make serve` shows a catalog with problems without the entries that have them; a path
    naming such an entry (here: a duplicate of another file's URL) goes with it."""
    write_entry(project, "book", "a-copy", GOOD_BOOK)  # sorts first: deep-learning is the copy
    catalog = load_catalog(project)
    assert any("deep-learning.yaml" in p.path and "duplicate URL" in p.message
               for p in catalog.problems)
    assert "deep-learning" not in catalog.by_id() and catalog.paths == []
    for lang in site.LANGS:
        pages = site.generate_pages(catalog, lang, {}, project.parent, set())
        assert "paths/first-gan.md" not in pages and "paths/index.md" in pages


def test_every_mistake_in_one_run_and_no_traceback(project: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    text = GOOD_PATHS
    for _, (old, new), *_ in MISTAKES[:9]:
        if old in text and "needs: [read, book]" not in old:
            text = text.replace(old, new, 1)
    (project / "paths.yaml").write_text(text, encoding="utf-8")
    assert cli.main(["validate", str(project)]) == 1
    out = capsys.readouterr()
    lines = out.out.strip().splitlines()
    assert len(lines) >= 5, lines
    assert all(LINE.match(line) for line in lines), lines
    assert "Traceback" not in out.out + out.err
    # A path file given alone (as pre-commit passes it) reports the same problems.
    assert cli.main(["validate", str(project / "paths.yaml")]) == 1
    assert capsys.readouterr().out.strip().splitlines() == lines


@pytest.mark.parametrize(("content", "message"), [
    (b"", "file is empty"),
    (b"\x00\x01", "binary file"),
    (b"- a\n- b\n", "expected a mapping with the key 'paths'"),
    (b"paths: 3\n", "paths: expected array"),
    (b"paths:\n\t- id: x\n", "paths.yaml:2: -: invalid YAML"),
    (b"paths: [&a {id: x}, *a]\n", "anchors and aliases are not allowed"),
    (b"paths:\n  - id: x\n  - 7\n", "paths[1]: expected object"),
    (b"\xff\xfe", "not valid UTF-8"),
    (b"stuff: []\n", "paths.yaml:1: paths: required field is missing"),
])
def test_malformed_files_are_problems(project: Path, content: bytes, message: str) -> None:
    (project / "paths.yaml").write_bytes(content)
    problems = path_problems(project)
    assert problems and any(message in p for p in problems), problems
    assert all(LINE.match(p) for p in problems), problems


def test_a_broken_paths_schema_is_one_problem(project: Path) -> None:
    (project / "paths.schema.json").write_text("{", encoding="utf-8")
    (problem,) = path_problems(project)
    assert "paths.schema.json:1: -: cannot load the paths schema" in problem


# ---------------------------------------------------------------------------------------
# The real paths


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog(CATALOG)


def test_every_real_path_validates(catalog: Catalog) -> None:
    assert catalog.problems == []
    raw = yaml.safe_load((CATALOG / "paths.yaml").read_text(encoding="utf-8"))
    assert [path.id for path in catalog.paths] == [path["id"] for path in raw["paths"]]
    assert {"diffusion-models", "build-with-llms", "fine-tune-open-models",
            "generate-images-and-video"} <= {path.id for path in catalog.paths}
    by_id = catalog.by_id()
    for path in catalog.paths:
        assert len(path.steps) >= 8, path.id
        assert not path.steps[0].needs, f"{path.id} starts with a step that needs nothing"
        assert all(step.needs for step in path.steps[1:]), f"{path.id}: a step hangs loose"
        for step in path.steps:
            if step.kind == "entry":
                assert step.target in by_id
    kinds = {step.kind for path in catalog.paths for step in path.steps}
    assert kinds == {"learn", "topic", "entry", "example"}
    assert (CATALOG / "paths.yaml").read_text(encoding="utf-8").startswith(
        "# yaml-language-server: $schema=paths.schema.json\n")


def test_the_fine_tuning_and_llm_paths_cover_their_methods(catalog: Catalog) -> None:
    steps = {path.id: {step.target for step in path.steps} for path in catalog.paths}
    assert {"lora", "qlora", "direct-preference-optimization", "deepseekmath-grpo",
            "instructgpt"} <= steps["fine-tune-open-models"]
    assert {"rag", "react", "model-context-protocol"} <= steps["build-with-llms"]
    assert {"diffusion", "vae", "denoising-diffusion-probabilistic-models"} <= \
        steps["diffusion-models"]


def test_the_paths_schema_is_a_valid_json_schema() -> None:
    from jsonschema import Draft202012Validator

    schema = json.loads((CATALOG / "paths.schema.json").read_text(encoding="utf-8"))
    Draft202012Validator.check_schema(schema)
    raw = yaml.safe_load((CATALOG / "paths.yaml").read_text(encoding="utf-8"))
    assert not list(Draft202012Validator(schema).iter_errors(raw))


# ---------------------------------------------------------------------------------------
# Pages


@pytest.fixture(scope="module")
def pages(catalog: Catalog) -> dict[str, dict[str, str]]:
    examples = site.load_examples(catalog, ROOT / "examples")
    titles = {lang: {f"learn/{p.name}": p.read_text(encoding="utf-8").split("\n", 1)[0][2:]
                     for p in (ROOT / "docs" / lang / "learn").glob("*.md")}
              for lang in site.LANGS}
    return {lang: site.generate_pages(catalog, lang, examples, ROOT, set(),
                                      learn_titles=titles[lang]) for lang in site.LANGS}


def test_each_path_page_shows_its_steps_in_order(catalog: Catalog,
                                                 pages: dict[str, dict[str, str]]) -> None:
    by_id = catalog.by_id()
    for lang in site.LANGS:
        for path in catalog.paths:
            page = pages[lang][f"paths/{path.id}.md"]
            assert page.startswith(f"# {site.escape_md(path.title[lang])}\n")
            assert site.escape_md(path.goal[lang]) in page
            headings = STEP_HEADING.findall(page)
            assert headings == [(str(n), s.id) for n, s in enumerate(path.steps, 1)]
            sections = re.split(r"^## \d+\. ", page, flags=re.M)[1:]
            for step, section in zip(path.steps, sections, strict=True):
                assert site.escape_md(step.why[lang]) in section
                other = "zh" if lang == "en" else "en"
                assert site.escape_md(step.why[other]) not in section
                for need in step.needs:  # each prerequisite links to its step's anchor
                    assert f"](#step-{need})" in section
                if not step.needs:
                    assert site.LABELS[lang]["needs_nothing"] in section
                if step.kind == "learn":
                    assert f"](../learn/{step.target}.md)" in section
                    assert (ROOT / "docs" / lang / "learn" / f"{step.target}.md").is_file()
                elif step.kind == "topic":
                    assert f"](../topics/{step.target}/index.md)" in section
                    picks = [p.entry for p in catalog.topics[step.target].start_here
                             if not step.levels or by_id[p.entry].level in step.levels]
                    assert re.findall(r"\]\(\.\./entries/([a-z0-9-]+)\.md\)", section) == picks
                elif step.kind == "entry":
                    assert f"](../entries/{step.target}.md)" in section
                    entry = by_id[step.target]
                    assert site.escape_md(entry.text("description", lang)) in section
                    assert f'data-level="{entry.level}"' in section
                else:
                    topic = site.example_topic(catalog, step.target)
                    assert topic is not None
                    assert f"](../topics/{topic.id}/example.md)" in section
                    assert f"topics/{topic.id}/example.md" in pages[lang]


def test_learn_steps_are_titled_like_their_pages(catalog: Catalog,
                                                 pages: dict[str, dict[str, str]]) -> None:
    page = pages["zh"]["paths/diffusion-models.md"]
    assert "## 3. 变分自编码器（VAE） { #step-vae }" in page
    assert "## 1. Machine learning { #step-machine-learning }" in \
        pages["en"]["paths/diffusion-models.md"]
    assert "前置步骤：[第 1 步 · 机器学习](#step-machine-learning)" in page


def test_the_index_lists_every_path(catalog: Catalog, pages: dict[str, dict[str, str]]) -> None:
    for lang in site.LANGS:
        index = pages[lang]["paths/index.md"]
        assert index.startswith(f"# {site.LABELS[lang]['paths']}\n")
        links = re.findall(r"^## \[.*\]\(([a-z0-9-]+)\.md\)$", index, re.M)
        assert links == [path.id for path in catalog.paths]
        for path in catalog.paths:
            assert site.escape_md(site.path_summary(path, lang)) in index
    assert site.escape_md("12 steps: 4 Learn pages, 1 topic, 6 catalog entries and 1 runnable "
                          "example") in pages["en"]["paths/index.md"]
    assert site.escape_md("12 步：4 个学习页面、1 个主题、6 项目录资源和 1 个可运行示例") in \
        pages["zh"]["paths/index.md"]


def test_paths_are_in_the_navigation_and_linked_from_learn_and_home(catalog: Catalog) -> None:
    for lang, config in (("en", "mkdocs.yml"), ("zh", "mkdocs.zh.yml")):
        assert "      - atlas:paths\n" in (ROOT / config).read_text(encoding="utf-8")
        nav = site.generated_nav(catalog, lang, {})["atlas:paths"]
        assert nav == ["paths/index.md", *({path.title[lang]: f"paths/{path.id}.md"}
                                           for path in catalog.paths)]
        learn = (ROOT / "docs" / lang / "learn" / "index.md").read_text(encoding="utf-8")
        assert "](../paths/index.md)" in learn and "<!-- atlas:paths -->" in learn
        listed = site.expand_markers(learn, catalog, lang, "learn/index.md")
        for path in catalog.paths:
            assert f"](../paths/{path.id}.md)" in listed
        home = (ROOT / "docs" / lang / "index.md").read_text(encoding="utf-8")
        assert "](paths/index.md)" in home


def test_contributor_text_on_path_pages_is_escaped(catalog: Catalog) -> None:
    """Even text that slipped past validation shows as text, never as markup."""
    from test_site import render

    hostile = "<script>alert(1)</script> *bold* [link](javascript:x) $x$ <b>b</b>"
    step = Step("first", "learn", "gan", {"en": hostile, "zh": hostile})
    later = Step("second", "entry", catalog.entries[0].id, {"en": hostile, "zh": hostile},
                 needs=("first",))
    path = LearningPath("hostile", {"en": hostile, "zh": hostile},
                        {"en": hostile, "zh": hostile}, (step, later, step))
    with_path = dataclasses.replace(catalog, paths=[path])
    for lang in site.LANGS:
        pages = site.generate_pages(with_path, lang, {}, ROOT, set())
        for uri in ("paths/hostile.md", "paths/index.md"):
            html = render(pages[uri])
            assert "<script" not in html and "<b>" not in html, uri
            assert "<em>bold</em>" not in html and "<strong>" not in html
            assert "javascript:" not in str(re.findall(r'href="([^"]*)"', html))
            assert "arithmatex" not in html
            assert "&#60;script&#62;" in html
        listed = site.expand_markers("<!-- atlas:paths -->", with_path, lang, "learn/index.md")
        assert "<script" not in render(listed)


def test_generated_path_pages_are_not_committed() -> None:
    for lang in site.LANGS:
        assert not (ROOT / "docs" / lang / "paths").exists()


@pytest.mark.slow
def test_path_pages_in_the_strict_build(built_site: Path, catalog: Catalog) -> None:
    """The strict build (which fails on a link to a missing page or anchor) has every path
    page in both languages, in the navigation of every page."""
    for prefix in ("", "zh/"):
        index = (built_site / prefix / "paths/index.html").read_text(encoding="utf-8")
        for path in catalog.paths:
            html = (built_site / prefix / "paths" / path.id / "index.html").read_text(
                encoding="utf-8")
            for step in path.steps:
                assert f'id="step-{step.id}"' in html
            assert f'href="{path.id}/"' in index or f'href="../{path.id}/"' in index
        learn = (built_site / prefix / "learn/index.html").read_text(encoding="utf-8")
        assert "paths/diffusion-models/" in learn
        home = (built_site / prefix / "index.html").read_text(encoding="utf-8")
        assert 'href="paths/"' in home


def test_the_example_in_the_contributor_guide_validates(tmp_path: Path) -> None:
    """The path that CONTRIBUTING.md shows is a valid paths.yaml for the real catalog."""
    text = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    block = text.split("```yaml\n# catalog/paths.yaml\n", 1)[1].split("```", 1)[0]
    shutil.copytree(CATALOG, tmp_path / "catalog")
    for name in ("docs", "examples"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "catalog/paths.yaml").write_text(textwrap.dedent(block), encoding="utf-8")
    catalog = load_catalog(tmp_path / "catalog")
    assert catalog.problems == [] and len(catalog.paths) == 1
