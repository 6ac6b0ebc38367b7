"""`atlas new`: flags, questions on stdin, duplicates, no overwrite, validation."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path

import pytest
from atlas import cli
from atlas.catalog import load_catalog
from atlas.scaffold import SCHEMA_LINE, propose_id, slugify
from conftest import GOOD_BOOK

D2L = ["--kind", "book", "--title", "Dive into Deep Learning", "--url", "https://d2l.ai/",
       "--authors", "Aston Zhang; Zachary C. Lipton; Mu Li; Alexander J. Smola",
       "--year", "2023", "--translated-title", "动手学深度学习",
       "--description-en", "An interactive deep learning book with code, maths and "
                           "discussions, used in hundreds of universities.",
       "--description-zh", "一本包含代码、数学和讨论的交互式深度学习教材。",
       "--topics", "deep-learning,machine-learning", "--tags", "textbook,hands-on",
       "--languages", "en,zh", "--level", "beginner", "--access", "free",
       "--added", "2026-11-28"]


@pytest.fixture
def catalog_dir(make_catalog) -> Path:
    return make_catalog({"book/deep-learning-goodfellow": GOOD_BOOK})


def atlas_new(catalog_dir: Path, *args: str, stdin: str | None = None,
              monkeypatch: pytest.MonkeyPatch | None = None) -> int:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return cli.main(["new", "--catalog", str(catalog_dir), *args])


def test_happy_path_with_flags(catalog_dir: Path, capsys: pytest.CaptureFixture) -> None:
    assert atlas_new(catalog_dir, "--no-input", *D2L) == 0
    path = catalog_dir / "book" / "dive-into-deep-learning.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.startswith(SCHEMA_LINE + "\n")
    assert "wrote" in capsys.readouterr().out
    catalog = load_catalog(catalog_dir)
    assert catalog.problems == []
    entry = catalog.by_id()["dive-into-deep-learning"]
    assert entry.authors[1] == "Zachary C. Lipton" and entry.year == 2023
    assert entry.data["translated_title"] == {"zh": "动手学深度学习"}
    assert entry.topics == ["deep-learning", "machine-learning"]
    assert entry.added == "2026-11-28"


def test_interactive_session_on_stdin(catalog_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                      capsys: pytest.CaptureFixture) -> None:
    answers = "\n".join([
        "course",                       # kind
        "Practical Deep Learning for Coders",  # title
        "ftp://course.fast.ai",         # url: refused, asked again
        "https://course.fast.ai/",      # url
        "",                             # translated title: skipped
        "",                             # makers: skipped
        "",                             # year: skipped
        "fast.ai",                      # provider
        "expensive",                    # access: not a choice, asked again
        "free",
        "A free course that teaches deep learning top down, starting from working code "
        "and models.",
        "一门从可运行代码出发、自顶向下讲授深度学习的免费课程。",
        "nope",                         # topics: unknown, asked again
        "deep-learning",
        "",                             # tags
        "",                             # languages: default en
        "beginner",
        "",                             # id: accept the proposal
    ]) + "\n"
    assert atlas_new(catalog_dir, stdin=answers, monkeypatch=monkeypatch) == 0
    err = capsys.readouterr().err
    assert "URL scheme must be http or https" in err and "unknown topic(s): nope" in err
    entry = load_catalog(catalog_dir).by_id()["practical-deep-learning-coders"]
    assert entry.kind == "course" and entry.provider == "fast.ai"
    assert entry.languages == ["en"] and entry.level == "beginner"


def test_duplicate_url_and_title_are_refused(catalog_dir: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    before = sorted(p.name for p in catalog_dir.rglob("*.yaml"))
    same_url = [*D2L]
    same_url[same_url.index("https://d2l.ai/")] = "http://deeplearningbook.org/?utm_source=x"
    assert atlas_new(catalog_dir, "--no-input", *same_url) == 1
    err = capsys.readouterr().err
    assert "already in the catalog" in err and "book/deep-learning-goodfellow.yaml" in err
    same_title = [*D2L]
    same_title[same_title.index("Dive into Deep Learning")] = "DEEP LEARNING"
    assert atlas_new(catalog_dir, "--no-input", *same_title) == 1
    err = capsys.readouterr().err
    assert "already has 'DEEP LEARNING'" in err and "deep-learning-goodfellow.yaml" in err
    assert sorted(p.name for p in catalog_dir.rglob("*.yaml")) == before


def test_never_overwrites(catalog_dir: Path, capsys: pytest.CaptureFixture) -> None:
    existing = catalog_dir / "website" / "mine.yaml"
    existing.parent.mkdir()
    existing.write_text("# my unfinished work\n", encoding="utf-8")
    # The id is taken in another kind's folder: refused, nothing touched.
    assert atlas_new(catalog_dir, "--no-input", *D2L, "--id", "mine") == 1
    assert "mine.yaml already exists" in capsys.readouterr().err
    assert existing.read_text(encoding="utf-8") == "# my unfinished work\n"
    assert not (catalog_dir / "book" / "mine.yaml").exists()
    # The proposed id skips taken names instead of reusing them.
    (catalog_dir / "book" / "dive-into-deep-learning.yaml").write_text("x: 1\n")
    assert propose_id("Dive into Deep Learning", "https://d2l.ai/",
                      taken=lambda c: (catalog_dir / "book" / f"{c}.yaml").exists(),
                      authors=["Aston Zhang"]) == "dive-into-deep-learning-zhang"


def test_non_interactive_mode_names_what_is_missing(catalog_dir: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    assert atlas_new(catalog_dir, "--no-input", "--kind", "book", "--title", "Some Book") == 1
    assert "url" in capsys.readouterr().err
    assert atlas_new(catalog_dir, "--no-input", *D2L[:6]) == 1
    assert "authors (separated by ';') is required" in capsys.readouterr().err
    assert list((catalog_dir / "book").glob("*.yaml")) == [
        catalog_dir / "book" / "deep-learning-goodfellow.yaml"]


def test_invalid_result_is_reported_and_kept(catalog_dir: Path,
                                             capsys: pytest.CaptureFixture) -> None:
    short = [*D2L]
    short[short.index("--description-en") + 1] = "Too short."
    assert atlas_new(catalog_dir, "--no-input", *short) == 1  # caught before writing
    assert "10 characters; write 30 to 600" in capsys.readouterr().err
    assert not (catalog_dir / "book" / "dive-into-deep-learning.yaml").exists()
    bad_tags = [*D2L]
    bad_tags[bad_tags.index("--tags") + 1] = "Hands On"  # only the validator knows tags
    assert atlas_new(catalog_dir, "--no-input", *bad_tags) == 1
    out, err = capsys.readouterr()
    assert "tags[0]: 'Hands On' does not have the expected form" in out
    assert "the file is kept" in err
    assert (catalog_dir / "book" / "dive-into-deep-learning.yaml").is_file()


def test_input_ending_early_is_one_line(catalog_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture) -> None:
    assert atlas_new(catalog_dir, stdin="book\n", monkeypatch=monkeypatch) == 1
    assert capsys.readouterr().err.strip().endswith("input ended before title (exactly as "
                                                    "published) was given")


def test_ids_for_titles_in_any_script() -> None:
    assert slugify("Attention Is All You Need") == "attention-is-all-you-need"
    assert slugify("Générative: l'IA, c'est ça!") == "generative-lia-cest-ca"
    assert propose_id("动手学深度学习", "https://zh.d2l.ai/") == "zh-d2l"
    assert propose_id("动手学深度学习", "https://zh.d2l.ai/",
                      {"en": "Dive into Deep Learning"}) == "dive-into-deep-learning"


def test_questions_through_a_real_pipe(catalog_dir: Path) -> None:
    """The installed command reading a piped stdin, as `printf ... | atlas new` would."""
    repository = "https://github.com/huggingface/diffusers"
    answers = "\n".join(["tool", "Hugging Face Diffusers", repository, "", "Hugging Face", "",
                         "diffusers",  # pypi
                         "open-source", repository, "Apache-2.0",
                         "A library of pretrained diffusion models for images, audio and video, "
                         "with training and inference pipelines.",
                         "一个提供图像、音频和视频预训练扩散模型及训练与推理流程的库。",
                         "diffusion", "library", "en", "intermediate", "diffusers"]) + "\n"
    result = subprocess.run([sys.executable, "-m", "atlas", "new", "--catalog",
                             str(catalog_dir)], input=answers, capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stderr
    entry = load_catalog(catalog_dir).by_id()["diffusers"]
    assert entry.license == "Apache-2.0" and entry.authors == ["Hugging Face"]
    assert entry.pypi == "diffusers"
