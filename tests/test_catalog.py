"""The catalog loader and `atlas validate`: good input, and every kind of bad input."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from atlas.catalog import (
    isbn_is_valid,
    load_catalog,
    normalize_url,
    url_problem,
)
from conftest import (
    CATALOG,
    GOOD_BOOK,
    GOOD_DATASET,
    GOOD_MODEL,
    KINDS,
    ROOT,
    RULES,
    run_atlas,
    write_entry,
)

LINE = re.compile(r"^(?P<path>[^:]+):(?P<line>\d+): (?P<field>\S+): (?P<message>.+)$")


def problems_of(catalog_dir: Path) -> list[str]:
    return [str(p) for p in load_catalog(catalog_dir).problems]


def one_problem(catalog_dir: Path) -> tuple[int, str, str]:
    problems = load_catalog(catalog_dir).problems
    assert len(problems) == 1, problems
    return problems[0].line, problems[0].field, problems[0].message


def test_real_catalog_is_valid() -> None:
    catalog = load_catalog(CATALOG)
    assert catalog.problems == []
    assert catalog.entries, "the catalog has entries"
    # Every topic id the site ever had still resolves: kept, or renamed with a redirect.
    assert {*catalog.topics, *catalog.renamed()} >= {
        "nlp", "word-embeddings", "language-models", "seq2seq", "attention", "pretrained-models",
        "computer-vision", "cnn", "gan", "vae", "segmentation", "detection", "machine-learning",
        "deep-learning", "reinforcement-learning", "transfer-learning", "meta-learning",
        "transformer", "diffusion", "llm", "text-to-image", "multimodal", "prompting",
        "evaluation", "deployment"}


# The topics the 2026 taxonomy added (issue 11): each needs more entries than a topic of old.
NEW_TOPICS = ("image-generation", "video-generation", "speech-synthesis", "music-generation",
              "speech-recognition", "3d-generation", "vision-language-models", "flow-matching",
              "code-generation", "agents", "rag", "fine-tuning", "reasoning-models",
              "efficient-inference", "datasets", "llm-benchmarks", "generation-metrics",
              "content-provenance", "ai-policy")
LEARNING = ("book", "website", "course")  # kinds a reader learns from


def test_real_catalog_coverage() -> None:
    """What the catalog promises its readers, so that coverage cannot silently decay."""
    from collections import Counter

    catalog = load_catalog(CATALOG)
    entries = catalog.entries
    kinds = Counter(entry.kind for entry in entries)
    assert len(entries) >= 400
    assert kinds["paper"] >= 60 and kinds["model"] >= 40 and kinds["dataset"] >= 10
    assert sum(entry.kind == "paper" and entry.year >= 2023 for entry in entries) >= 25
    chinese = [entry for entry in entries if "zh" in entry.languages or "china" in entry.tags]
    assert len(chinese) / len(entries) >= 0.35, f"{len(chinese)} of {len(entries)} in Chinese"
    for topic in catalog.topics.values():
        members = [entry for entry in entries if topic.id in entry.topics]
        least = 8 if topic.id in NEW_TOPICS else 5
        assert len(members) >= least, (topic.id, len(members))
        assert 3 <= len(topic.start_here) <= 5, (topic.id, "start here")
        if topic.id in NEW_TOPICS:  # a paper, a tool or model or dataset, something to learn from
            present = {entry.kind for entry in members}
            assert present & {"paper"} or topic.id == "ai-policy", topic.id
            assert present & {"tool", "model", "dataset"} or topic.id == "ai-policy", topic.id
            assert present & set(LEARNING), topic.id
    assert set(NEW_TOPICS) <= set(catalog.topics)


def test_real_catalog_content_size() -> None:
    """Issue 2: at least 20 books, 20 websites and 20 tools, in English and Chinese."""
    entries = load_catalog(CATALOG).entries
    for kind in ("book", "website", "tool"):
        assert sum(e.kind == kind for e in entries) >= 20, kind
    languages = {code for e in entries for code in e.languages}
    assert {"en", "zh"} <= languages


def test_every_entry_starts_with_schema_line() -> None:
    for path in CATALOG.glob("*/*.yaml"):
        first = path.read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../schema.json", path


def test_good_entry_loads(make_catalog) -> None:
    catalog = load_catalog(make_catalog({"book/deep-learning": GOOD_BOOK}))
    assert catalog.problems == []
    (entry,) = catalog.entries
    assert entry.id == "deep-learning" and entry.kind == "book"
    assert entry.data["added"] == "2026-11-28"  # dates stay as written
    assert entry.line("url") == 8


def test_cli_ok(make_catalog) -> None:
    result = run_atlas("validate", str(make_catalog({"book/deep-learning": GOOD_BOOK})))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 entries OK" in result.stdout


@pytest.mark.parametrize(("change", "line", "field", "message"), [
    (("title: Deep Learning", "title: ''"), 3, "title", "too short"),
    (("level: advanced", "level: expert"), 15, "level", "is not one of"),
    (("year: 2016", "year: '2016'"), 5, "year", "expected integer"),
    (("year: 2016", "year: 1492"), 5, "year", "not a plausible year"),
    (("isbn: 978-0-262-03561-3", "isbn: 978-0-262-03561-4"), 7, "isbn", "not a valid ISBN"),
    (("added: 2026-11-28", "added: 2026-02-30"), 17, "added", "not a real date"),
    (("topics: [deep-learning]", "topics: [deep-learning, telepathy]"), 12, "topics[1]",
     "unknown topic"),
    (("tags: [textbook]", "tags: [Text Book]"), 13, "tags[0]", "expected form"),
    (("languages: [en]", "languages: [english]"), 14, "languages[0]", "expected form"),
    (("kind: book", "kind: tool"), 2, "kind", "does not match its folder"),
    (("access: free", "access: free\nstars: 5"), 17, "stars", "unknown field"),
    (("url: https://www.deeplearningbook.org/", "url: javascript:alert(1)"), 8, "url",
     "http or https"),
    (("url: https://www.deeplearningbook.org/", "url: ftp://example.org/book"), 8, "url",
     "http or https"),
    (("url: https://www.deeplearningbook.org/", "url: http://localhost:8000/"), 8, "url",
     "not a public host"),
    (("url: https://www.deeplearningbook.org/", "url: http://10.0.0.1/"), 8, "url",
     "not an IP address"),
    (("url: https://www.deeplearningbook.org/", "url: https://user:pw@example.org/"), 8, "url",
     "user name or password"),
    (("url: https://www.deeplearningbook.org/", "url: https://intranet/"), 8, "url",
     "not a valid domain"),
    (("url: https://www.deeplearningbook.org/", "url: 'https:///path'"), 8, "url", "no host"),
    (("  en: A thorough", "  en: <script>alert(1)</script> A thorough"), 10, "description.en",
     "HTML is not allowed"),
    (("  en: A thorough", "  en: See [here](https://evil.example) a thorough"), 10,
     "description.en", "Markdown links"),
    (("  en: A thorough graduate textbook on neural networks and their mathematics.", "  en: x"),
     10, "description.en", "too short"),
    (("  en: A thorough", "  en: " + "long " * 130 + "thorough"), 10, "description.en",
     "too long"),
    (("title: Deep Learning", "title: Deep &amp; Learning"), 3, "title", "HTML"),
])
def test_bad_field(make_catalog, change: tuple[str, str], line: int, field: str,
                   message: str) -> None:
    text = GOOD_BOOK.replace(*change)
    assert text != GOOD_BOOK
    got_line, got_field, got_message = one_problem(make_catalog({"book/deep-learning": text}))
    assert (got_line, got_field) == (line, field), got_message
    assert message in got_message


@pytest.mark.parametrize(("removed", "field"), [
    ("url", "url"), ("description", "description"), ("authors", "authors"), ("added", "added"),
])
def test_missing_field(make_catalog, removed: str, field: str) -> None:
    lines = GOOD_BOOK.splitlines(keepends=True)
    start = next(i for i, text in enumerate(lines) if text.startswith(f"{removed}:"))
    end = start + 1
    while end < len(lines) and lines[end].startswith("  "):
        end += 1
    text = "".join(lines[:start] + lines[end:])
    _, got_field, message = one_problem(make_catalog({"book/deep-learning": text}))
    assert got_field == field
    assert "required field is missing" in message


def test_per_kind_requirements(make_catalog) -> None:
    tool = GOOD_BOOK.replace("kind: book", "kind: tool").replace("access: free",
                                                                  "access: open-source")
    catalog = make_catalog({"tool/deep-learning": tool})
    problems = problems_of(catalog)
    text = "\n".join(problems)
    assert "repository: required field is missing" in text
    assert "license: required field is missing" in text
    assert "isbn: not a field of a tool entry" in text
    assert "publisher: not a field of a tool entry" in text
    paper = GOOD_BOOK.replace("kind: book", "kind: paper").replace(
        "publisher: MIT Press\nisbn: 978-0-262-03561-3\n", "")
    (catalog / "tool" / "deep-learning.yaml").unlink()
    (problem,) = problems_of(make_catalog({"paper/deep-learning": paper}))
    assert problem.endswith("arxiv or doi: a paper entry needs arxiv or doi")


@pytest.mark.parametrize(("content", "message"), [
    (b"", "file is empty"),
    (b"# only a comment\n", "file is empty"),
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00", "binary file"),
    ("title: caf\u00e9".encode("latin-1"), "not valid UTF-8"),
    (b"- a\n- list\n", "must be a mapping of fields, not a list"),
    (b"just a string\n", "not a str"),
    (b"kind: book\n\ttitle: tabs\n", "tabs are not allowed"),
    (b"kind: [unclosed\n", "invalid YAML"),
    (b"kind: book\nkind: tool\n", "duplicate key"),
    (b"a: &a [1, 2]\nb: *a\n", "anchors and aliases are not allowed"),
    (b"kind: book\n---\nkind: tool\n", "one YAML document per file"),
    (b"x: !!python/object/apply:os.system [echo hacked]\n", "unsupported YAML tag"),
    (b"x: !!binary aGVsbG8=\n", "unsupported YAML tag"),
])
def test_unreadable_files(make_catalog, content: bytes, message: str) -> None:
    catalog = make_catalog()
    path = catalog / "book" / "broken.yaml"
    path.parent.mkdir()
    path.write_bytes(content)
    problems = problems_of(catalog)
    assert len(problems) == 1 and message in problems[0], problems
    assert LINE.match(problems[0])


def test_alias_bomb_is_refused_quickly(make_catalog) -> None:
    bomb = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    bomb += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    catalog = make_catalog()
    write_entry(catalog, "book", "bomb", "\n".join(bomb) + "\n")
    (problem,) = problems_of(catalog)
    assert "anchors and aliases are not allowed" in problem


def test_huge_file_is_refused_without_reading(make_catalog) -> None:
    catalog = make_catalog()
    path = catalog / "book" / "huge.yaml"
    path.parent.mkdir()
    with path.open("wb") as handle:
        handle.truncate(50 * 1024 * 1024)
    (problem,) = problems_of(catalog)
    assert "52,428,800 bytes" in problem and "limit" in problem


def test_files_in_wrong_places(make_catalog) -> None:
    catalog = make_catalog()
    write_entry(catalog, "books", "x", GOOD_BOOK)  # not a kind
    write_entry(catalog, "book", "Bad_Name", GOOD_BOOK)
    (catalog / "book" / "notes.txt").write_text("hello", encoding="utf-8")
    text = "\n".join(problems_of(catalog))
    assert "entries live in catalog/<kind>/<id>.yaml" in text
    assert "must be a lower-case hyphenated id" in text
    assert "must end in .yaml" in text


def test_the_catalog_is_walked_in_sorted_path_order(tmp_path: Path) -> None:
    """Catalog order decides related-entry pools and every output, so the loader's own walk
    must give exactly what ``sorted(rglob("*"))`` gives: a folder right before what it
    holds, a name before its longer namesakes, capitals first, links to folders not
    entered, hidden files and unlistable names included."""
    import os

    from atlas.catalog import _walk

    root = tmp_path / "catalog"
    for folder in ("book", "book-2", "book/inner", "Zeta", "tool"):
        (root / folder).mkdir(parents=True)
    for name in ("book.yaml", "book/b.yaml", "book/a.yaml", "book/a.yaml.bak", "book-2/x.yaml",
                 "book/inner/deep.yaml", "Zeta/z.yaml", ".hidden", "tool/.DS_Store", "a b.yaml"):
        (root / name).write_text("x", encoding="utf-8")
    (root / "linked").symlink_to(root / "book", target_is_directory=True)
    (root / "book" / "dangling.yaml").symlink_to(root / "missing.yaml")
    walked = [(Path(place), parts, stat is None) for place, parts, stat in _walk(str(root))]
    expected = sorted(root.rglob("*"))
    assert [place for place, _, _ in walked] == expected
    assert all(place.relative_to(root).parts == parts for place, parts, _ in walked)
    assert [place for place, _, failed in walked if failed] == [root / "book/dangling.yaml"]
    os.chmod(root / "tool", 0)
    try:
        if not os.access(root / "tool", os.R_OK):  # not as root, who may read anything
            assert [Path(p) for p, _, _ in _walk(str(root))] == sorted(root.rglob("*"))
    finally:
        os.chmod(root / "tool", 0o755)


def test_duplicates_across_files(make_catalog) -> None:
    other = (GOOD_BOOK.replace("kind: book", "kind: website")
             .replace("url: https://www.deeplearningbook.org/",
                      "url: HTTP://DeepLearningBook.org?utm_source=x#top")
             .replace("publisher: MIT Press\nisbn: 978-0-262-03561-3\n", ""))
    catalog = make_catalog({"book/deep-learning": GOOD_BOOK, "website/deep-learning": other})
    problems = problems_of(catalog)
    assert any("id: duplicate id" in p for p in problems), problems
    assert any("url: duplicate URL" in p and "book/deep-learning.yaml:8" in p for p in problems)


def test_every_problem_reported_in_one_run(make_catalog) -> None:
    catalog = make_catalog({
        "book/a": GOOD_BOOK.replace("level: advanced", "level: expert"),
        "book/b": GOOD_BOOK.replace("https://www.deeplearningbook.org/", "https://b.example.org/")
        .replace("year: 2016", "year: 3000"),
        "book/c": "kind: [",
    })
    result = run_atlas("validate", str(catalog))
    assert result.returncode == 1
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 3, lines
    assert all(LINE.match(line) for line in lines)
    assert "Traceback" not in result.stdout + result.stderr
    assert "3 problem(s) in 3 file(s)" in result.stderr


def test_cli_missing_folder_and_topics(tmp_path: Path) -> None:
    result = run_atlas("validate", str(tmp_path / "nowhere"))
    assert result.returncode == 1 and "catalog folder not found" in result.stdout
    (tmp_path / "cat").mkdir()
    result = run_atlas("validate", str(tmp_path / "cat"))
    assert result.returncode == 1 and "topic taxonomy is missing" in result.stdout


def test_topic_taxonomy_problems(make_catalog) -> None:
    catalog = make_catalog()
    (catalog / "topics.yaml").write_text(
        "topics:\n"
        "  - {id: a, name: {en: A, zh: 甲}, description: {en: a, zh: 甲}, parent: b}\n"
        "  - {id: b, name: {en: B, zh: 乙}, description: {en: b, zh: 乙}, parent: a}\n"
        "  - {id: a, name: {en: A, zh: 甲}, description: {en: a, zh: 甲}}\n"
        "  - {id: c, name: {en: C}, description: {en: c, zh: 丙}, parent: nowhere, colour: red}\n",
        encoding="utf-8")
    text = "\n".join(problems_of(catalog))
    assert "topics.yaml:4: a.id: duplicate topic id" in text
    assert "c.name: needs non-empty 'en' and 'zh' text" in text
    assert "unknown parent topic 'nowhere'" in text
    assert "colour: unknown field" in text
    assert "parent cycle" in text


def test_url_normalization() -> None:
    same = ["https://www.example.org/book/", "http://EXAMPLE.org/book",
            "https://example.org:443/book?utm_source=news&utm_medium=x#chapter-2",
            "https://example.org/book/?fbclid=abc"]
    assert len({normalize_url(url) for url in same}) == 1
    assert normalize_url("https://example.org/book?id=1") != normalize_url(
        "https://example.org/book?id=2")
    assert normalize_url("https://example.org:8080/") != normalize_url("https://example.org/")


def test_url_problem_accepts_real_urls() -> None:
    for url in ["https://zh.d2l.ai/", "https://huggingface.co/docs/transformers/index",
                "http://www.deeplearningbook.org/", "https://arxiv.org/abs/1706.03762",
                "https://xn--fiqs8s.xn--fiqs8s/", "https://en.wikipedia.org/wiki/C%2B%2B",
                "https://example.org/search?q=a+b&lang=zh#part-2",
                "https://example.org/~user/paper(2024).pdf"]:
        assert url_problem(url) is None, url


@pytest.mark.parametrize(("url", "message", "written"), [
    ('https://example.org/a"onmouseover="x"b', "'\"'", "https://example.org/a%22onmouseover=%22x%22b"),
    ("https://example.org/<script>", "'<' '>'", "https://example.org/%3Cscript%3E"),
    ("https://example.org/a\\b", "'\\\\'", "https://example.org/a/b"),
    ("https://example.org/{id}", "'{' '}'", "https://example.org/%7Bid%7D"),
    ("https://example.org/a|b^c`d", "'|' '^' '`'", None),
    ("https://bücher.example.org/straße", "'ü' 'ß'", "https://xn--bcher-kva.example.org/stra%C3%9Fe"),
    ("https://例子.中国/", None, "https://xn--fsqu00a.xn--fiqs8s/"),
])
def test_url_problem_rejects_what_rfc_3986_does_not_allow(url: str, message: str | None,
                                                          written: str | None) -> None:
    problem = url_problem(url)
    assert problem is not None and "not allowed unencoded (RFC 3986)" in problem
    if message:
        assert message in problem, problem
    if written:  # the message says what to write instead, and that is a valid URL
        assert problem.endswith(f"write {written}"), problem
        assert url_problem(written) is None


def test_url_problem_other_malformed_urls() -> None:
    assert "percent-escape" in url_problem("https://example.org/100%")
    assert "'[' or ']'" in url_problem("https://example.org/a[1]")
    assert "user name" in url_problem("https://user@example.org/")
    assert "IP address" in url_problem("https://192.168.0.1/")


def test_url_in_entry_is_rejected_with_file_and_line(make_catalog) -> None:
    text = GOOD_BOOK.replace("https://www.deeplearningbook.org/",
                             'https://example.org/a"onmouseover="x"b')
    line, field, message = one_problem(make_catalog({"book/deep-learning": text}))
    assert (line, field) == (8, "url") and "RFC 3986" in message


# ---------------------------------------------------------------------------------------
# The model and dataset kinds


def test_good_model_and_dataset_load(make_catalog) -> None:
    catalog = load_catalog(make_catalog({"model/example-diffusion": GOOD_MODEL,
                                         "dataset/example-pairs": GOOD_DATASET}))
    assert catalog.problems == []
    model, dataset = catalog.by_id()["example-diffusion"], catalog.by_id()["example-pairs"]
    assert model.kind == "model" and model.parameters == ["2B", "12B"]
    assert model.commercial_use == "conditional" and model.weights == "open"
    assert model.modalities_all == ["text", "image"]
    assert dataset.size == ["5.85B image-text-pairs", "240 TB"]
    assert dataset.modalities_all == ["image", "text"]


@pytest.mark.parametrize(("text", "expected"), [
    (GOOD_MODEL.replace("developer: Example Lab\n", ""),
     ": developer: required field is missing (for a model entry)"),
    (re.sub(r"commercial_note:\n(  .*\n)+", "", GOOD_MODEL),
     "commercial_note: required field is missing (for a model entry whose commercial_use is "
     "conditional)"),
    (GOOD_MODEL.replace("license: LicenseRef-Example-Community-License\n", ""),
     "license: required field is missing (for a model entry whose weights is open)"),
    (GOOD_MODEL.replace("outputs: [image]", "outputs: [image, smell]"),
     "7: outputs[1]: 'smell' is not one of: text, code, image"),
    (GOOD_MODEL.replace("parameters: [2B, 12B]", "parameters: [2 billion]"),
     "8: parameters[0]: '2 billion' does not have the expected form: Parameter counts"),
    (GOOD_MODEL.replace("weights: open", "weights: yes"),
     "9: weights: True is not one of: open, api, closed"),
    (GOOD_MODEL.replace("huggingface: example-lab/diffusion-2b", "huggingface: not an id"),
     "12: huggingface: 'not an id' does not have the expected form"),
    (GOOD_MODEL.replace("license: LicenseRef-Example-Community-License", "license: Llama 3"),
     "13: license: 'Llama 3' does not have the expected form: An SPDX licence identifier"),
    (GOOD_MODEL.replace("commercial_use: conditional", "commercial_use: maybe"),
     "14: commercial_use: 'maybe' is not one of: allowed, non-commercial, conditional"),
    (GOOD_MODEL.replace("year: 2025", "year: 2025\nisbn: 978-0-262-03561-3"),
     "isbn: not a field of a model entry (only book entries have it)"),
    (GOOD_MODEL.replace("  en: Free below one million", "  en: <b>Free</b> below one million"),
     "commercial_note.en: HTML is not allowed"),
    (GOOD_DATASET.replace("size: [5.85B image-text-pairs, 240 TB]", "size: [lots]"),
     "6: size[0]: 'lots' does not have the expected form: How big the dataset is"),
    (GOOD_DATASET.replace("license: CC-BY-4.0\n", ""),
     ": license: required field is missing (for a dataset entry)"),
    (GOOD_DATASET.replace("modalities: [image, text]", "modalities: []"),
     "7: modalities: needs at least 1 item(s)"),
    (GOOD_DATASET.replace("creator: Example Lab", "developer: Example Lab"),
     "developer: not a field of a dataset entry (only model entries have it)"),
])
def test_bad_model_and_dataset_fields(make_catalog, text: str, expected: str) -> None:
    kind = text.split("kind: ", 1)[1].split("\n", 1)[0]
    problems = problems_of(make_catalog({f"{kind}/example": text}))
    assert any(expected in problem for problem in problems), problems
    assert all(re.match(LINE, problem) for problem in problems)


def test_a_long_author_list_fits_or_is_marked_truncated(make_catalog) -> None:
    paper = GOOD_BOOK.replace("kind: book", "kind: paper").replace(
        "publisher: MIT Press\nisbn: 978-0-262-03561-3\n", 'arxiv: "2005.14165"\n')
    authors = ", ".join(f"Author {n}" for n in range(31))  # GPT-3 has 31
    full = paper.replace("authors: [Ian Goodfellow, Yoshua Bengio, Aaron Courville]",
                         f"authors: [{authors}]")
    assert problems_of(make_catalog({"paper/gpt-3": full})) == []
    too_many = full.replace(authors, ", ".join(f"Author {n}" for n in range(51)))
    (problem,) = problems_of(make_catalog({"paper/gpt-3": too_many}))
    assert "authors: at most 50 items" in problem
    truncated = paper.replace("year: 2016", "et_al: true\nyear: 2016")
    assert problems_of(make_catalog({"paper/gpt-3": truncated})) == []
    assert load_catalog(make_catalog({"paper/gpt-3": truncated})).entries[0].et_al


# ---------------------------------------------------------------------------------------
# Topics: renamed ids, "start here" picks


def taxonomy(catalog: Path, topic_lines: str) -> None:
    (catalog / "topics.yaml").write_text("topics:\n" + topic_lines, encoding="utf-8")


def test_renamed_topic_ids_are_named_in_the_message(make_catalog) -> None:
    old = GOOD_BOOK.replace("topics: [deep-learning]", "topics: [text-to-image]")
    (problem,) = problems_of(make_catalog({"book/deep-learning": old}))
    assert problem.endswith("unknown topic 'text-to-image'; it was renamed to 'image-generation'")


def test_former_ids_cannot_collide(make_catalog) -> None:
    catalog = make_catalog()
    taxonomy(catalog,
             "  - {id: a, name: {en: A, zh: 甲}, description: {en: a, zh: 甲}, formerly: [b]}\n"
             "  - {id: b, name: {en: B, zh: 乙}, description: {en: b, zh: 乙}}\n"
             "  - {id: c, name: {en: C, zh: 丙}, description: {en: c, zh: 丙}, formerly: [x]}\n"
             "  - {id: d, name: {en: D, zh: 丁}, description: {en: d, zh: 丁}, formerly: [x]}\n"
             "  - {id: e, name: {en: E, zh: 戊}, description: {en: e, zh: 戊}, formerly: E}\n")
    text = "\n".join(problems_of(catalog))
    assert "a.formerly: 'b' is already the id or former id of 'b'" in text
    assert "d.formerly: 'x' is already the id or former id of 'c'" in text
    assert "e.formerly: must be a list of former topic ids" in text


def test_start_here_picks_are_validated(make_catalog) -> None:
    catalog = make_catalog({"book/deep-learning": GOOD_BOOK})
    why = "{en: Read this first., zh: 先读这本。}"
    taxonomy(catalog,
             "  - id: deep-learning\n"
             "    name: {en: DL, zh: 深度学习}\n    description: {en: d, zh: 深}\n"
             "    start_here:\n"
             f"      - {{entry: deep-learning, why: {why}}}\n"
             f"      - {{entry: no-such-entry, why: {why}}}\n"
             f"      - {{entry: deep-learning, why: {why}}}\n"
             "  - id: gan\n"
             "    name: {en: GAN, zh: 生成对抗网络}\n    description: {en: g, zh: 生}\n"
             "    start_here:\n"
             f"      - {{entry: deep-learning, why: {why}}}\n"
             "      - {entry: a, why: {en: <b>x</b>, zh: 甲}}\n"
             "      - {entry: b}\n"
             "  - id: vae\n"
             "    name: {en: VAE, zh: 变分自编码器}\n    description: {en: v, zh: 变}\n"
             f"    start_here: [{{entry: deep-learning, why: {why}}}]\n")
    text = "\n".join(problems_of(catalog))
    assert "deep-learning.start_here[1].entry: no valid entry 'no-such-entry'" in text
    assert "deep-learning.start_here[2].entry: 'deep-learning' is picked twice" in text
    assert "gan.start_here[0].entry: 'deep-learning' does not list the topic 'gan'" in text
    assert "gan.start_here[1].why: HTML is not allowed" in text
    assert "gan.start_here[2]: each pick has exactly 'entry' (an entry id) and 'why'" in text
    assert "vae.start_here: a list of 3 to 5 picks" in text


def test_bad_topic_names_are_problems_not_crashes(make_catalog) -> None:
    catalog = make_catalog()
    taxonomy(catalog,
             '  - {id: a, name: {en: "A, B", zh: 甲, fr: x}, description: {en: a, zh: 甲}}\n'
             "  - {id: b, name: {en: , zh: 乙}, description: [b], parent: [a]}\n")
    text = "\n".join(problems_of(catalog))
    assert "a.name: unknown language key(s): fr" in text
    assert "b.name: needs non-empty 'en' and 'zh' text" in text
    assert "b.description: needs non-empty 'en' and 'zh' text" in text
    assert "b.parent: must be a topic id" in text


# ---------------------------------------------------------------------------------------
# One statement of the rules: the schema; everything else derives from it


def test_rules_read_from_the_schema() -> None:
    assert RULES.kinds == ("book", "website", "tool", "paper", "course", "model", "dataset")
    assert RULES.required("model")[:3] == ("kind", "title", "developer")
    assert "isbn" in RULES.fields("book") and "isbn" not in RULES.fields("model")
    assert RULES.kinds_with("arxiv") == ("paper", "model", "dataset")
    assert RULES.url_fields == ("url", "repository")
    assert {"title", "description", "authors", "commercial_note", "developer"} <= set(
        RULES.text_fields)
    assert RULES.vocabulary("level") == ("beginner", "intermediate", "advanced")


def test_the_per_kind_validators_agree_with_the_whole_schema(make_catalog) -> None:
    """The validator uses one flat schema per kind (derived, and faster); editors and the
    export use catalog/schema.json itself: both must accept and refuse the same entries."""
    import yaml

    cases = [GOOD_BOOK, GOOD_MODEL, GOOD_DATASET,
             GOOD_BOOK.replace("isbn: 978-0-262-03561-3", "weights: open"),
             GOOD_MODEL.replace("developer: Example Lab\n", ""),
             GOOD_MODEL.replace("license: LicenseRef-Example-Community-License\n", ""),
             GOOD_MODEL.replace("commercial_use: conditional", "commercial_use: allowed"),
             GOOD_DATASET.replace("size: [5.85B image-text-pairs, 240 TB]", "size: [x]"),
             GOOD_BOOK.replace("kind: book", "kind: paper"),
             GOOD_BOOK.replace("kind: book", "kind: tool").replace("access: free",
                                                                   "access: open-source")]
    whole = RULES.validator()
    for text in cases:
        data = yaml.safe_load(text)
        data["added"] = str(data["added"])
        flat = RULES.kind_validator(data["kind"])
        assert whole.is_valid(data) == flat.is_valid(data), text[:200]
    assert sum(RULES.kind_validator(yaml.safe_load(t)["kind"]).is_valid(
        {**yaml.safe_load(t), "added": "2026-12-01"}) for t in cases) == 4


def test_the_typed_entry_has_exactly_the_schemas_fields() -> None:
    from dataclasses import fields

    from atlas.catalog import Entry

    own = {"id", "path", "data", "lines"}
    assert {f.name for f in fields(Entry)} - own == set(RULES.all_fields)


def test_every_kind_and_word_has_labels_in_both_languages() -> None:
    from atlas.site import LABELS

    for lang in ("en", "zh"):
        for kind in KINDS:
            assert LABELS[lang][kind] and LABELS[lang][f"{kind}s"], (lang, kind)
        for name in RULES.all_fields:
            shown_otherwise = ("kind", "title", "translated_title", "description")
            assert name in LABELS[lang] or name in shown_otherwise, name
        for word in RULES.vocabulary_words:
            assert LABELS[lang][word], (lang, word)


def test_no_copy_of_the_vocabularies_outside_the_schema() -> None:
    """The tools and the explorer read the kinds and vocabularies from the schema (through
    atlas.rules or explorer.json): a list of them typed anywhere else would drift."""
    words = {*KINDS, *RULES.vocabulary("level"), *RULES.vocabulary("access"),
             *RULES.vocabulary("weights"), *RULES.vocabulary("commercial_use")}
    script = (ROOT / "overrides/assets/javascripts/explorer.js").read_text(encoding="utf-8")
    quoted = set(re.findall(r'["\']([a-z-]+)["\']', script))
    # Column and DOM names that happen to be words too ("dataset" is element.dataset).
    allowed = {"title", "kind", "year", "level", "access", "dataset"}
    assert not quoted & (words - allowed), quoted & words
    for module in ("catalog", "scaffold", "site", "publish"):
        source = (ROOT / "tools/atlas" / f"{module}.py").read_text(encoding="utf-8")
        listed = re.findall(r"\(\s*\"(beginner|book|open-source)\",\s*\"", source)
        assert not listed, (module, listed)


def test_the_package_works_installed_non_editable(tmp_path: Path) -> None:
    """`pip install .` (no editable link back to the checkout) then `atlas validate catalog`."""
    import subprocess
    import sys

    target = tmp_path / "site-packages"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps",
                    "--no-build-isolation", "--target", str(target), str(ROOT)],
                   check=True, capture_output=True, timeout=300)
    assert not list(target.glob("__editable__*"))
    work = tmp_path / "elsewhere"
    work.mkdir()
    import shutil

    shutil.copytree(CATALOG, work / "catalog")
    for name in ("docs", "examples"):  # what the learning paths name (catalog/paths.yaml)
        (work / name).symlink_to(ROOT / name)
    result = subprocess.run([sys.executable, "-m", "atlas", "validate", "catalog"], cwd=work,
                            env={"PYTHONPATH": str(target), "PATH": "/usr/bin:/bin"},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "entries OK" in result.stdout


def test_isbn_checksums() -> None:
    assert isbn_is_valid("978-0-262-03561-3")
    assert isbn_is_valid("0262035618")
    assert isbn_is_valid("0-306-40615-2")
    assert not isbn_is_valid("0-306-40615-3")
    assert not isbn_is_valid("978-0-262-03561-0")
    assert not isbn_is_valid("12345")


def test_kinds_match_schema() -> None:
    import json

    schema = json.loads((CATALOG / "schema.json").read_text(encoding="utf-8"))
    assert tuple(schema["properties"]["kind"]["enum"]) == KINDS
    RULES.check()  # the schema has the structure the rules are read from
