"""Reading and executing the Learn pages, so that their code and numbers are proven by tests.

The conventions a Learn page follows (docs/en/learn/*.md and docs/zh/learn/*.md):

- Every ```python block runs. The blocks of one page run top to bottom in one namespace,
  like a notebook. A block that prints something is followed directly by a ```text block
  holding exactly what it prints; a block that prints nothing has no output block. Blocks may
  be indented (inside an exercise's collapsible answer, ``??? question``); they run like any
  other, in page order.
- A number in the prose is written as ``<span data-value="EXPR">TEXT</span>``: EXPR is a
  Python expression evaluated in the page's namespace after all its blocks ran, and TEXT must
  be its value written with as many decimals as TEXT shows (a trailing % means x100).
  A decimal number in the prose or in a formula outside such a span is an error: it would
  be a number that nothing checks. Formulas are found as arithmatex finds them: an inline
  ``$...$`` may wrap across lines of a paragraph.

`python tests/learn_pages.py --write` rewrites the output blocks from the code (for authors);
the tests never write.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
LANGS = ("en", "zh")

FENCE = re.compile(r"^(?P<indent> *)(?P<fence>`{3,})(?P<info>[^`]*)$")
SPAN = re.compile(r'<span data-value="(?P<expr>[^"]+)">(?P<text>[^<]*)</span>')
NUMBER_TEXT = re.compile(r"^(?P<sign>[-−])?(?P<digits>\d+)(?:\.(?P<decimals>\d+))?(?P<pct>%)?$")
# A number with a decimal point or a percent sign, not part of a longer token (a version such as
# 1.6.1, a name such as x2.5). A letter right after the number does not hide it: "0.3x".
LOOSE_DECIMAL = re.compile(r"(?<![\w.])\d+\.\d+(?![\d.])|(?<![\w.])\d+(?:\.\d+)?\s?%")
# In a formula every decimal counts, whatever surrounds it ("x_{0.5}", "0.5x", "\,0.1").
MATH_DECIMAL = re.compile(r"(?<![\d.])\d+\.\d+(?![\d.])|(?<![\d.])\d+(?:\.\d+)?\s?\\?%")
# Display maths, then inline maths as pymdownx.arithmatex reads it: "$" not followed by a space,
# anything up to a "$" not preceded by a space, line breaks included but not a blank line.
MATH = re.compile(r"\$\$.+?\$\$"
                  r"|(?<![\\$])\$(?![\s$])(?:\\.|[^\\$\n]|\n(?![ \t]*\n))+?(?<![\s\\])\$", re.S)
TEXT_IN_MATH = re.compile(r"\\text\{[^{}]*\}")
LINK_TARGET = re.compile(r"\]\([^)]*\)|<https?://[^>]+>|<!--.*?-->", re.S)
# Identifiers that look like decimals: an arXiv id shown as "arXiv:1706.03762", a DOI.
IDENTIFIER = re.compile(r"\barXiv:\d{4}\.\d{4,5}(?:v\d+)?|\bdoi:10\.\d{4,9}/\S+", re.I)


@dataclass
class Block:
    lang: str
    info: str
    code: str
    line: int  # 1-based line of the opening fence
    end: int  # 1-based line of the closing fence
    indent: str = ""  # the fence's indentation (a block inside an admonition)


@dataclass
class Page:
    path: Path
    text: str
    blocks: list[Block]
    prose: str  # the text with fenced blocks blanked out, line numbers kept

    @property
    def name(self) -> str:
        path = self.path.resolve()
        return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else str(path)

    def line_of(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1


@dataclass
class Run:
    """The outcome of running a page's code blocks."""

    namespace: dict[str, Any]
    outputs: list[tuple[Block, str, Block | None]] = field(default_factory=list)
    error: str | None = None


def learn_page(lang: str, name: str) -> Path:
    return DOCS / lang / "learn" / name


def page_names() -> list[str]:
    return sorted(p.name for p in (DOCS / "en" / "learn").glob("*.md"))


def parse(path: Path) -> Page:
    return parse_text(path, path.read_text(encoding="utf-8"))


def parse_text(path: Path, text: str) -> Page:
    lines = text.split("\n")
    blocks: list[Block] = []
    prose = list(lines)
    index = 0
    while index < len(lines):
        match = FENCE.match(lines[index])
        if not match:
            index += 1
            continue
        indent, fence = match.group("indent"), match.group("fence")
        info = match.group("info").strip()
        end = index + 1
        while end < len(lines) and lines[end].rstrip() != indent + fence:
            end += 1
        if end == len(lines):
            raise ValueError(f"{path}:{index + 1}: code block never closed")
        body = "\n".join(line[len(indent):] if line.startswith(indent) else line.lstrip()
                         for line in lines[index + 1:end])
        blocks.append(Block(info.split()[0] if info else "", info, body, index + 1, end + 1,
                            indent))
        for blank in range(index, end + 1):
            prose[blank] = ""
        index = end + 1
    return Page(path, text, blocks, "\n".join(prose))


def pair_outputs(page: Page) -> list[tuple[Block, Block | None]]:
    """Each python block with the text block right after it (only blank lines between)."""
    lines = page.text.split("\n")
    pairs = []
    for position, block in enumerate(page.blocks):
        if block.lang != "python":
            continue
        following = page.blocks[position + 1] if position + 1 < len(page.blocks) else None
        if following is not None and following.lang == "text" and all(
                not line.strip() for line in lines[block.end:following.line - 1]):
            pairs.append((block, following))
        else:
            pairs.append((block, None))
    return pairs


def run_page(page: Page) -> Run:
    """Run the page's blocks in order; print options and torch's global RNG are restored after,
    so that a page cannot change the behaviour of other tests."""
    with np.printoptions(), torch.random.fork_rng(devices=[]):
        return _run_blocks(page)


def _run_blocks(page: Page) -> Run:
    namespace: dict[str, Any] = {"__name__": f"learn_{page.path.stem}"}
    run = Run(namespace)
    for block, output_block in pair_outputs(page):
        stdout = io.StringIO()
        try:
            code = compile(block.code, f"{page.name}:{block.line + 1}", "exec")
            with contextlib.redirect_stdout(stdout):
                exec(code, namespace)  # noqa: S102 - running the page's own code is the point
        except Exception:  # noqa: BLE001 - reported with the page and line
            run.error = (f"{page.name}:{block.line}: the code block fails:\n"
                         f"{traceback.format_exc(limit=-3)}")
            return run
        run.outputs.append((block, stdout.getvalue(), output_block))
    return run


def _normalize(output: str) -> str:
    return "\n".join(line.rstrip() for line in output.strip("\n").split("\n"))


def output_problems(page: Page, run: Run) -> list[str]:
    problems = []
    outputs = {id(shown) for _, shown in pair_outputs(page) if shown is not None}
    for block in page.blocks:
        if block.lang not in ("python", "text"):
            problems.append(f"{page.name}:{block.line}: a ```{block.lang or '(no language)'} "
                            "block cannot be run by the tests; use ```python")
        elif block.lang == "text" and id(block) not in outputs:
            problems.append(f"{page.name}:{block.line}: a ```text block that is not the output "
                            "of the ```python block right before it")
    for block, printed, shown in run.outputs:
        if shown is None:
            if printed.strip():
                problems.append(f"{page.name}:{block.line}: the block prints output but the page "
                                f"shows no ```text block after it; it prints:\n{printed}")
            continue
        if _normalize(printed) != _normalize(shown.code):
            problems.append(f"{page.name}:{shown.line}: the output shown differs from what the "
                            f"code prints.\n--- page\n{shown.code}\n--- code\n{printed}")
    return problems


def format_like(value: float, text: str) -> str | None:
    """`value` written the way `text` writes a number, or None when text is no number."""
    match = NUMBER_TEXT.match(text.strip())
    if not match:
        return None
    decimals = len(match.group("decimals") or "")
    if match.group("pct"):
        value *= 100
    written = f"{value:.{decimals}f}"
    if written.startswith("-"):
        written = ("−" if match.group("sign") == "−" else "-") + written[1:]
        if float(written.lstrip("-−")) == 0:
            written = written[1:]
    return written + ("%" if match.group("pct") else "")


def span_problems(page: Page, run: Run) -> list[str]:
    problems = []
    for match in SPAN.finditer(page.prose):
        expr, text = match.group("expr"), match.group("text")
        where = f"{page.name}:{page.line_of(match.start())}"
        try:
            value = eval(expr, run.namespace)  # noqa: S307 - the page's own names
            number = float(value)
        except Exception as error:  # noqa: BLE001 - reported with the page and line
            problems.append(f"{where}: number {text!r}: cannot evaluate {expr!r}: {error}")
            continue
        expected = format_like(number, text)
        if expected is None:
            problems.append(f"{where}: {text!r} in a data-value span is not a plain number")
        elif expected != text.strip():
            problems.append(f"{where}: number {text} ({expr}) drifted: the code gives {expected}")
    return problems


def unbound_numbers(page: Page) -> list[str]:
    """Decimal numbers in the prose or formulas that no data-value span ties to code."""
    problems = []
    prose = SPAN.sub(lambda m: " " * len(m.group(0)), page.prose)
    prose = LINK_TARGET.sub(lambda m: " " * len(m.group(0)), prose)
    prose = IDENTIFIER.sub(lambda m: " " * len(m.group(0)), prose)
    for math in MATH.finditer(prose):
        for number in MATH_DECIMAL.finditer(math.group(0)):
            problems.append(f"{page.name}:{page.line_of(math.start() + number.start())}: number "
                            f"{number.group(0)!r} in a formula is not tied to code; write it in "
                            f"the prose as <span data-value=\"EXPR\">…</span>")
    prose = MATH.sub(lambda m: " " * len(m.group(0)), prose)
    for number in LOOSE_DECIMAL.finditer(prose):
        problems.append(f"{page.name}:{page.line_of(number.start())}: number "
                        f"{number.group(0)!r} is not tied to code; write it as "
                        f"<span data-value=\"EXPR\">{number.group(0)}</span>")
    return problems


CONNECTIVES = {"if", "or", "and", "for", "otherwise", "where", "else"}


def _text_words(match: re.Match[str]) -> str:
    words = match.group(0)[len("\\text{"):-1]
    prose = (words.strip().lower() in CONNECTIVES or any(ord(c) > 127 for c in words))
    return "\\text{…}" if prose else match.group(0)


def normalize_formula(tex: str) -> str:
    """A formula with its spacing collapsed and the connecting words of \\text{...} ("if",
    "or", or any Chinese text) left out, so that the Chinese page may write \\text{若 } where
    the English one writes \\text{if }; \\text{data} in p_{\\text{data}} is still compared."""
    return " ".join(TEXT_IN_MATH.sub(_text_words, tex).split())


def display_formulas(page: Page) -> list[str]:
    return [normalize_formula(m.group(0)) for m in MATH.finditer(page.prose)
            if m.group(0).startswith("$$")]


def spans(page: Page) -> list[tuple[str, str]]:
    return [(m.group("expr"), m.group("text")) for m in SPAN.finditer(page.prose)]


def rewrite_outputs(path: Path) -> bool:
    """Rewrite the page's output blocks and data-value numbers from its code (authoring aid)."""
    page = parse(path)
    run = run_page(page)
    if run.error:
        print(run.error, file=sys.stderr)
        return False
    lines = page.text.split("\n")
    output_title = "Output" if "/en/" in path.as_posix() else "输出"
    for block, printed, shown in reversed(run.outputs):
        body = _normalize(printed).split("\n") if printed.strip() else []
        if shown is not None:
            lines[shown.line:shown.end - 1] = [shown.indent + line if line else line
                                               for line in body]
        elif body:
            pad = block.indent
            lines[block.end:block.end] = ["", f'{pad}```text title="{output_title}"',
                                          *(pad + line if line else line for line in body),
                                          f"{pad}```"]
    text = "\n".join(lines)
    run = run_page(parse_text(path, text))

    def fix(match: re.Match[str]) -> str:
        try:
            written = format_like(float(eval(match.group("expr"), run.namespace)),  # noqa: S307
                                  match.group("text"))
        except Exception:  # noqa: BLE001 - left for span_problems to report
            written = None
        return match.group(0) if written is None else \
            f'<span data-value="{match.group("expr")}">{written}</span>'

    path.write_text(SPAN.sub(fix, text), encoding="utf-8")
    page = parse(path)
    for problem in span_problems(page, run_page(page)) + unbound_numbers(page):
        print(problem, file=sys.stderr)
    return True


if __name__ == "__main__":
    if sys.argv[1:2] != ["--write"]:
        sys.exit("usage: python tests/learn_pages.py --write [PAGE.md ...]")
    targets = [Path(arg).resolve() for arg in sys.argv[2:]] or [
        learn_page(lang, name) for lang in LANGS for name in page_names()]
    sys.exit(0 if all(rewrite_outputs(path) for path in targets) else 1)
