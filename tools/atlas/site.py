"""Turn the catalog into the site's Markdown pages, in English or Chinese.

Everything here is plain functions from a ``Catalog`` (and the example folders) to
``{path: markdown}``; nothing depends on MkDocs, so the site generator can be swapped.
The MkDocs glue is in ``mkdocs_hooks.py``.

Contributor text never reaches a page as markup: every catalog string goes through
``escape_md``, which HTML-escapes it and backslash-escapes every Markdown punctuation
character (``pymdownx.escapeall`` makes any escaped character literal).
"""

from __future__ import annotations

import hashlib
import heapq
import html
import json
import posixpath
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, TypeVar, cast

from atlas.catalog import Catalog, Entry, Topic
from atlas.paths import LearningPath, Step, start_here_for
from atlas.refresh.activity import Activity
from atlas.rules import Rules

T = TypeVar("T")
LANGS = ("en", "zh")
RELATED_LIMIT = 5
NEWEST_LIMIT = 10  # entries on the home page's "newest" list
RELATED_POOL = 100  # candidates scored per entry: keeps related entries linear in the catalog

LABELS: dict[str, dict[str, str]] = {
    "en": {
        "book": "Book", "website": "Website", "tool": "Tool", "paper": "Paper", "course": "Course",
        "model": "Model", "dataset": "Dataset",
        "books": "Books", "websites": "Websites", "tools": "Tools", "papers": "Papers",
        "courses": "Courses", "models": "Models", "datasets": "Datasets",
        "catalog": "Catalog", "topics": "Topics", "tags": "Tags",
        "beginner": "Beginner", "intermediate": "Intermediate", "advanced": "Advanced",
        "free": "Free", "paid": "Paid", "freemium": "Freemium", "open-source": "Open source",
        "authors": "Authors", "year": "Year", "publisher": "Publisher", "edition": "Edition",
        "isbn": "ISBN", "url": "Link", "repository": "Source", "license": "Licence",
        "arxiv": "arXiv", "doi": "DOI", "provider": "Provider", "languages": "Languages",
        "translators": "Translators", "venue": "Venue", "developer": "Developer",
        "creator": "Creator", "inputs": "Input", "outputs": "Output",
        "modalities": "Modalities", "parameters": "Parameters", "size": "Size",
        "weights": "Weights", "huggingface": "Hugging Face", "pypi": "PyPI",
        "commercial_use": "Commercial use", "commercial_note": "Conditions",
        "open": "Open weights", "api": "API only", "closed": "Not released",
        "allowed": "Allowed", "non-commercial": "Non-commercial only",
        "conditional": "With conditions", "text": "Text", "code": "Code", "image": "Image",
        "video": "Video", "audio": "Audio", "speech": "Speech", "music": "Music", "3d": "3-D",
        "embedding": "Embeddings", "et_al": "et al.", "active": "{count} active",
        "start_here": "Start here", "newest": "Newest entries", "moved": "Moved",
        "redirect": "This topic has moved to {name}.",
        "level": "Level", "access": "Access", "added": "Added", "field": "Field", "value": "Value",
        "related": "Related entries", "edit": "Edit this entry", "entries": "Entries",
        "subtopics": "Subtopics", "parent": "Part of", "learn": "Learn the concept",
        "example": "Runnable example", "example_title": "Example", "no_entries":
        "No entries yet: suggest one.", "source": "Source code", "reference_run": "Reference run",
        "metric": "Metric", "figures": "Figures", "run": "Run it", "overview": "Overview",
        "all_topics": "All topics", "kind_intro": "{count} {kind}, grouped by main topic.",
        "topic_count": "{count} entries", "translated": "Title in English",
        "tags_intro": "Every tag used in the catalog, with its entries.",
        "topics_intro": "The atlas's map of generative AI. Each topic lists its catalog entries;"
                        " algorithm topics link to a runnable example.",
        "other": "Other", "home_counts": "Entries in the catalog", "total": "Total",
        "explorer": "Explorer", "suggest": "Suggest an entry",
        "contribute": "How to contribute",
        "suggest_intro": "Know a resource that belongs here?",
        # Learning paths (catalog/paths.yaml)
        "paths": "Learning paths", "all_paths": "All learning paths",
        "paths_intro": "Each path leads from zero to a goal in ordered steps: a Learn page, a "
                       "topic and its \"start here\" picks, a catalog entry or a runnable "
                       "example, each with why it comes there and the earlier steps it needs.",
        "step_count": "{count} steps", "step": "Step {number}", "needs": "Needs",
        "needs_nothing": "Nothing before it: start here.", "step_learn": "Learn page",
        "step_topic": "Topic", "step_entry": "Catalog entry", "step_example": "Runnable example",
        "read_page": "Read the page", "open_topic": "Open the topic",
        "picks_of_levels": "Start with its picks for the level {levels}:",
        "picks_all": "Start with its picks, in reading order:",
        "open_example": "Train it yourself", "or": " or ",
        # From catalog/metadata.json (`atlas refresh`), shown only for entries it covers.
        "archived": "Archived", "inactive": "Inactive", "stars": "Stars", "forks": "Forks",
        "last_activity": "Last activity", "latest_release": "Latest release",
        "latest_version": "Latest version", "downloads": "Downloads (30 days)",
        "likes": "Likes", "fetched": "Fetched", "fetched_from": "{date}, from {sources}",
        "status_note": "Archived: the repository is read-only. Inactive: no push, release or "
                       "upload in the year before the build. From GitHub, PyPI and Hugging Face "
                       "data fetched {dates}.",
    },
    "zh": {
        "book": "书籍", "website": "网站", "tool": "工具", "paper": "论文", "course": "课程",
        "model": "模型", "dataset": "数据集",
        "books": "书籍", "websites": "网站", "tools": "工具", "papers": "论文",
        "courses": "课程", "models": "模型", "datasets": "数据集",
        "catalog": "资源目录", "topics": "主题", "tags": "标签",
        "beginner": "入门", "intermediate": "进阶", "advanced": "高级",
        "free": "免费", "paid": "付费", "freemium": "部分免费", "open-source": "开源",
        "authors": "作者", "year": "年份", "publisher": "出版社", "edition": "版次",
        "isbn": "ISBN", "url": "链接", "repository": "源代码", "license": "许可证",
        "arxiv": "arXiv", "doi": "DOI", "provider": "提供方", "languages": "语言",
        "translators": "译者", "venue": "发表于", "developer": "开发者", "creator": "创建者",
        "inputs": "输入", "outputs": "输出", "modalities": "模态", "parameters": "参数量",
        "size": "规模", "weights": "权重", "huggingface": "Hugging Face", "pypi": "PyPI",
        "commercial_use": "商用", "commercial_note": "商用条件",
        "open": "开放权重", "api": "仅 API", "closed": "未发布",
        "allowed": "允许", "non-commercial": "仅限非商用", "conditional": "有条件允许",
        "text": "文本", "code": "代码", "image": "图像", "video": "视频", "audio": "音频",
        "speech": "语音", "music": "音乐", "3d": "三维", "embedding": "向量表示",
        "et_al": "等", "active": "激活 {count}", "start_here": "从这里开始",
        "newest": "最新收录", "moved": "已迁移", "redirect": "本主题已迁移至{name}。",
        "level": "难度", "access": "获取方式", "added": "收录日期", "field": "字段",
        "value": "内容", "related": "相关资源", "edit": "编辑此条目", "entries": "资源",
        "subtopics": "子主题", "parent": "上级主题", "learn": "概念讲解",
        "example": "可运行示例", "example_title": "示例", "no_entries": "暂无资源，欢迎推荐。",
        "source": "源代码", "reference_run": "参考运行结果", "metric": "指标", "figures": "图表",
        "run": "运行", "overview": "概览", "all_topics": "全部主题",
        "kind_intro": "共 {count} 项{kind}，按主要主题分组。", "topic_count": "{count} 项资源",
        "translated": "中文书名", "tags_intro": "目录中用到的全部标签及其资源。",
        "topics_intro": "AIGC Atlas 的生成式 AI 知识地图。每个主题列出相关资源；"
                        "算法主题附有可运行的示例。",
        "other": "其他", "home_counts": "目录收录情况", "total": "合计",
        "explorer": "筛选浏览", "suggest": "推荐资源", "contribute": "贡献指南",
        "suggest_intro": "知道值得收录的资源？",
        "paths": "学习路线", "all_paths": "全部学习路线",
        "paths_intro": "每条路线按顺序把你从零基础带到一个目标。每一步是一个学习页面、"
                       "一个主题及其“从这里开始”推荐、一项目录资源或一个可运行示例，"
                       "并说明它为什么排在这里、需要先完成哪些步骤。",
        "step_count": "{count} 步", "step": "第 {number} 步", "needs": "前置步骤",
        "needs_nothing": "无需前置步骤：从这里开始。", "step_learn": "学习页面",
        "step_topic": "主题",
        "step_entry": "目录资源", "step_example": "可运行示例", "read_page": "阅读本页",
        "open_topic": "打开主题页", "picks_of_levels": "先看它为{levels}读者推荐的资源：",
        "picks_all": "按推荐的阅读顺序，先看这些资源：", "open_example": "亲手训练",
        "or": "或",
        "archived": "已归档", "inactive": "不活跃", "stars": "星标", "forks": "复刻",
        "last_activity": "最近活动", "latest_release": "最新发布", "latest_version": "最新版本",
        "downloads": "下载量（30 天）", "likes": "点赞", "fetched": "数据获取于",
        "fetched_from": "{date}，来自 {sources}",
        "status_note": "已归档：代码仓库已设为只读。不活跃：构建前一年内没有提交、发布或上传。"
                       "数据来自 GitHub、PyPI 与 Hugging Face，获取于 {dates}。",
    },
}
LANGUAGE_NAMES = {"en": "English", "zh": "中文", "ja": "日本語", "fr": "Français",
                  "de": "Deutsch", "es": "Español", "ko": "한국어"}

# A line break inside Chinese text folds to a space in YAML; Chinese puts none there.
_CJK_GAP = re.compile(r"(?<=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])\s+"
                      r"(?=[\u3000-\u303f\u3400-\u9fff\uff00-\uffef])")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~$^:<>&\"'=])")
# Characters that also open maths for arithmatex (\( \[) or are HTML become entities;
# the rest are backslash-escaped, which pymdownx.escapeall makes literal.
_AS_ENTITY = set("\\()[]<>&\"'")


def escape_md(text: Any) -> str:
    """Contributor text as literal inline Markdown: no HTML, links, emphasis or maths."""
    collapsed = _CJK_GAP.sub("", " ".join(str(text).split()))
    return _MD_SPECIAL.sub(lambda m: f"&#{ord(m.group(1))};" if m.group(1) in _AS_ENTITY
                           else "\\" + m.group(1), collapsed)


def escape_attr(text: Any) -> str:
    return html.escape(" ".join(str(text).split()), quote=True)


def escape_text(text: Any) -> str:
    """Contributor text as literal HTML text, spaced as ``escape_md`` spaces it."""
    return html.escape(_CJK_GAP.sub("", " ".join(str(text).split())), quote=True)


# ---------------------------------------------------------------------------------------
# Examples


@dataclass
class Example:
    """A folder under examples/ as the site shows it."""

    name: str
    topic: str
    folder: Path
    readme: dict[str, str]
    source: Path
    figures: list[Path] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    # Reference runs with other data, from reference/metrics-<variant>.json.
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)


def load_examples(catalog: Catalog, examples_dir: Path) -> dict[str, Example]:
    """Examples named by topics (``example:`` in topics.yaml) that exist on disk, by topic id."""
    found: dict[str, Example] = {}
    for topic in catalog.topics.values():
        folder = examples_dir / (topic.example or "")
        source = folder / f"{topic.example}.py"
        if not topic.example or not source.is_file():
            continue
        readme = {}
        for lang, name in (("en", "README.md"), ("zh", "README.zh.md")):
            path = folder / name
            readme[lang] = path.read_text(encoding="utf-8") if path.is_file() else ""
        reference = folder / "reference"
        metrics_path = reference / "metrics.json"
        metrics = json.loads(metrics_path.read_text(encoding="utf-8")) if metrics_path.is_file() \
            else {}
        figures = sorted(reference.glob("*.png")) if reference.is_dir() else []
        variants = {path.stem.removeprefix("metrics-"):
                    json.loads(path.read_text(encoding="utf-8"))
                    for path in sorted(reference.glob("metrics-*.json"))}
        found[topic.id] = Example(topic.example, topic.id, folder, readme, source, figures,
                                  metrics, variants)
    return found


def example_figure_name(example: Example, figure: Path) -> str:
    return f"{example.name}-{figure.name}"


def _flatten(metrics: dict[str, Any], prefix: str = "") -> Iterable[tuple[str, Any]]:
    for key, value in metrics.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        elif not isinstance(value, list):
            yield f"{prefix}{key}", value


def _format_metric(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


README_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]+)\]\((?P<target>[^)\s]+)\)")


def _readme_links(readme: str, example: Example, project_root: Path,
                  repo_url: str | None) -> str:
    """Point a README's links to files of the repository (``gan.py``, ``../README.md``) at
    the repository, since those files are not pages of the site; plain text without one."""

    def replace(match: re.Match[str]) -> str:
        target = match.group("target")
        if re.match(r"[a-z][a-z0-9+.-]*:|#", target, re.I):
            return match.group(0)
        path = (example.folder / target.split("#")[0]).resolve()
        try:
            relative_path = path.relative_to(project_root.resolve()).as_posix()
        except ValueError:
            return match.group("text")
        if not repo_url:
            return match.group("text")
        return f"[{match.group('text')}]({repo_url.rstrip('/')}/blob/main/{relative_path})"

    return README_LINK.sub(replace, readme)


def example_page(example: Example, lang: str, project_root: Path,
                 repo_url: str | None = None, topic_title: str | None = None) -> str:
    t = LABELS[lang]
    # The navigation calls every example page "Example"; the browser tab and shared links
    # name the topic (Material uses the front matter's title for <title>).
    separator = "：" if lang == "zh" else ": "
    title = f"{topic_title}{separator}{t['example']}" if topic_title else None
    front = ["---", f"title: {json.dumps(title, ensure_ascii=False)}", "---", ""] if title else []
    readme = example.readme.get(lang) or example.readme.get("en") or f"# {example.name}\n"
    # The README's figures live in reference/; on the site they sit next to this page.
    readme = re.sub(r"\]\((?:\./)?reference/([^)\s]+\.png)\)",
                    lambda m: f"]({example.name}-{m.group(1)})", readme)
    readme = _readme_links(readme, example, project_root, repo_url)
    source = example.source.relative_to(project_root).as_posix()
    parts = [*front, readme.rstrip(), ""]
    # Figures the README does not show already.
    unshown = [figure for figure in example.figures
               if f"({example_figure_name(example, figure)})" not in readme]
    if unshown:
        parts += [f"## {t['figures']}", ""]
        for figure in unshown:
            parts += [f"![{escape_md(figure.stem)}]({example_figure_name(example, figure)})", ""]
    runs = ([(t["reference_run"], example.metrics)] if example.metrics else []) + [
        (f"{t['reference_run']} (`--data {escape_md(variant)}`)", metrics)
        for variant, metrics in example.variants.items()]
    for heading, metrics in runs:
        parts += [f"## {heading}", "", f"| {t['metric']} | {t['value']} |", "| --- | --- |"]
        parts += [f"| `{key}` | {escape_md(_format_metric(value))} |"
                  for key, value in _flatten(metrics)]
        parts.append("")
    parts += [f"## {t['source']}", "", f'``` python title="{source}" linenums="1"',
              f'--8<-- "{source}"', "```", ""]
    return "\n".join(parts)


# ---------------------------------------------------------------------------------------
# Catalog pages


def contributing_url(repo_url: str | None) -> str | None:
    """The contributor guide, where "edit" and "suggest" links lead newcomers."""
    return f"{repo_url.rstrip('/')}/blob/main/CONTRIBUTING.md" if repo_url else None


def suggest_url(repo_url: str | None) -> str | None:
    """The issue form that proposes an entry (.github/ISSUE_TEMPLATE/propose-entry.yml)."""
    return f"{repo_url.rstrip('/')}/issues/new?template=propose-entry.yml" if repo_url else None


def suggest_line(lang: str, repo_url: str | None) -> list[str]:
    if not repo_url:
        return []
    t = LABELS[lang]
    return [f"{t['suggest_intro']} [{t['suggest']}]({escape_attr(suggest_url(repo_url))}) · "
            f"[{t['contribute']}]({escape_attr(contributing_url(repo_url))})", ""]


def entry_uri(entry: Entry) -> str:
    return f"entries/{entry.id}.md"


def entry_page_path(entry_id: str, directory_urls: bool = True) -> str:
    """The entry page's path relative to the site root, as MkDocs writes it."""
    return f"entries/{entry_id}/" if directory_urls else f"entries/{entry_id}.html"


def topic_uri(topic_id: str) -> str:
    return f"topics/{topic_id}/index.md"


def kind_plural(kind: str) -> str:
    """The label key and page name of a kind's list (book -> books)."""
    return f"{kind}s"


def kind_uri(kind: str) -> str:
    return f"catalog/{kind_plural(kind)}.md"


def page_href(from_uri: str, to_uri: str, directory_urls: bool = True) -> str:
    """The link MkDocs writes from one source page to another (what ``relative`` becomes)."""
    def url(uri: str) -> str:
        stem = uri.removesuffix(".md")
        if not directory_urls:
            return stem + ".html"
        if stem == "index" or stem.endswith("/index"):
            return stem.removesuffix("index")
        return stem + "/"

    base = url(from_uri).rsplit("/", 1)[0]
    target = url(to_uri)
    href = posixpath.relpath(target, base or ".")
    return href + "/" if target.endswith("/") and not href.endswith("/") else href


def relative(from_uri: str, to_uri: str) -> str:
    """A Markdown link from one source file to another (MkDocs resolves .md links)."""
    depth = from_uri.count("/")
    return "../" * depth + to_uri


FRAGMENT = "<!-- atlas:fragment {digest} -->"
UNSEARCHED_FRAGMENT = "<!-- atlas:fragment {digest} unsearched -->"
FRAGMENT_PATTERN = re.compile(r"<!-- atlas:fragment ([0-9a-f]{32})(?: unsearched)? -->")
UNSEARCHED_PATTERN = re.compile(r"<!-- atlas:fragment ([0-9a-f]{32}) unsearched -->")
# Material's search skips an element with this attribute, and keeps it in the page (it
# strips the attribute only when it has a value).
SEARCH_EXCLUDE = "data-search-exclude"


def raw_html(block: str, fragments: dict[str, str] | None, marker: str = FRAGMENT) -> str:
    """A block of HTML in a generated page. Markdown passes HTML through, but parses it
    tag by tag on the way; with ``fragments`` (the build's) the page holds only a marker
    naming the block's digest, and ``insert_fragments`` puts the block in after Markdown has
    run. The marker changes with the block, so a page's Markdown still says what it shows."""
    if fragments is None:
        return block
    key = hashlib.blake2b(block.encode(), digest_size=16).hexdigest()
    fragments[key] = block
    return marker.format(digest=key)


def unsearched_html(block: str, fragments: dict[str, str] | None) -> str:
    """``raw_html`` for a block that search does not index (its first element carries
    ``data-search-exclude``). A page whose only change is such a block has the same search
    entries and the same HTML around it, so ``make serve`` swaps the block in the page it
    wrote instead of rendering the page again (``atlas.incremental``)."""
    if SEARCH_EXCLUDE not in block[:block.find(">")]:
        raise ValueError(f"an unsearched block must start with an element carrying "
                         f"{SEARCH_EXCLUDE}: {block[:80]!r}")
    return raw_html(block, fragments, UNSEARCHED_FRAGMENT)


def insert_fragments(html_text: str, fragments: Mapping[str, str]) -> str:
    """The HTML Markdown made of a page, its ``raw_html`` markers replaced by their blocks."""
    if "<!-- atlas:fragment " not in html_text:
        return html_text
    return FRAGMENT_PATTERN.sub(lambda match: fragments[match.group(1)], html_text)


def tag_anchor(tag: str) -> str:
    return f"tag-{tag}"


def badges(entry: Entry, lang: str, activity: Activity | None = None) -> str:
    """Kind, level, access, weights and language badges, and Archived or Inactive when the
    metadata says so; styled by their data attribute, and each says what it means in words."""
    t = LABELS[lang]
    items = [("kind", entry.kind, t[entry.kind]), ("level", entry.level, t[entry.level]),
             ("access", entry.access, t[entry.access])]
    if entry.weights:
        items.append(("weights", entry.weights, t[entry.weights]))
    items += [("lang", code, LANGUAGE_NAMES.get(code, code)) for code in entry.languages]
    if activity and activity.flagged and activity.status:
        items.append(("status", activity.status.value, t[activity.status.value]))
    return " ".join(f'<span class="atlas-badge" data-{name}="{escape_attr(value)}">'
                    f"{escape_attr(label)}</span>" for name, value, label in items)


def makers(entry: Entry) -> list[str]:
    """Who made it: a book's or paper's authors, a model's developer, a dataset's creator."""
    return entry.authors or [name for name in (entry.developer, entry.creator) if name]


def byline_text(entry: Entry) -> str:
    """Who made it (three names at most) and when, as plain text."""
    people = makers(entry)
    shown = ", ".join(people[:3]) + (" et al." if len(people) > 3 or entry.et_al else "")
    bits = [shown] if shown else []
    if entry.year is not None:
        bits.append(str(entry.year))
    return ", ".join(bits)


def entry_byline(entry: Entry) -> str:
    return escape_md(byline_text(entry))


class Memo:
    """Generated Markdown kept from one generation to the next (``make serve``).

    Keys name the objects a piece was made from by identity, which is sound because the
    catalog loader hands back the very same Entry and Topic objects for unchanged files; the
    memo keeps those objects alive, so an identity cannot be reused by a new object. Values
    (an entry's activity) are part of keys as themselves. Only what the latest generation
    used is kept, and with a piece the pieces it was made of (a list page reused whole
    keeps its items, which the next change to it needs).
    """

    def __init__(self) -> None:
        self.previous: dict[tuple[Any, ...], Made] = {}
        self.current: dict[tuple[Any, ...], Made] = {}
        self._making: list[list[tuple[Any, ...]]] = []  # the keys each make() in progress used

    def get(self, key: tuple[Any, ...], keep: tuple[Any, ...], make: Callable[[], T]) -> T:
        """What ``make`` returns, made only if ``key`` is new (the value is shared: it must
        not be changed)."""
        found = self.current.get(key) or self.previous.get(key)
        if found is None:
            self._making.append([])
            try:
                value = make()
            finally:
                parts = tuple(self._making.pop())
            found = Made(value, keep, parts)
        else:
            self._carry(found)
        self.current[key] = found
        if self._making:
            self._making[-1].append(key)
        return cast(T, found.value)

    def _carry(self, made: Made) -> None:
        for part in made.parts:
            if part not in self.current and (earlier := self.previous.get(part)) is not None:
                self.current[part] = earlier
                self._carry(earlier)

    def next_generation(self) -> None:
        self.previous, self.current = self.current, {}


@dataclass(frozen=True)
class Made:
    """A memo's piece: its value, the objects its key names (kept alive), its parts' keys."""

    value: Any
    keep: tuple[Any, ...]
    parts: tuple[tuple[Any, ...], ...]


def memoized(memo: Memo | None, key: tuple[Any, ...], keep: tuple[Any, ...],
             make: Callable[[], T]) -> T:
    """``memo.get``, or simply what ``make`` returns when there is no memo."""
    return make() if memo is None else memo.get(key, keep, make)


def memoized_page(memo: Memo | None, key: tuple[Any, ...], keep: tuple[Any, ...],
                  fragments: dict[str, str] | None,
                  make: Callable[[dict[str, str] | None], str]) -> str:
    """A whole generated page from the memo, as ``memoized``, with the HTML blocks that
    making it put in ``fragments`` (``raw_html``) put there again when it is reused."""
    if memo is None:
        return make(fragments)

    def made() -> tuple[str, dict[str, str] | None]:
        own: dict[str, str] | None = {} if fragments is not None else None
        return make(own), own

    text, own = memo.get(key, keep, made)
    if fragments is not None and own:
        fragments.update(own)
    return text


def list_item(entry: Entry, lang: str, from_uri: str, activity: Activity | None,
              memo: Memo | None, directory_urls: bool = True) -> str:
    """An entry as an item of a topic's or a kind's list (HTML: see ``entry_list_html``)."""
    return memoized(memo, ("item", lang, id(entry), from_uri, activity, directory_urls),
                    (entry,), lambda: entry_list_html(entry, lang, from_uri, activity,
                                                      directory_urls))


def entry_list_html(entry: Entry, lang: str, from_uri: str, activity: Activity | None = None,
                    directory_urls: bool = True) -> str:
    """``entry_list_item`` as the HTML Markdown makes of it, for the long lists of topic
    and kind pages, which go in as ``raw_html`` (Markdown's inline pass over thousands of
    links was most of the time those pages took to render)."""
    head = (f'<a href="{escape_attr(page_href(from_uri, entry_uri(entry), directory_urls))}">'
            f"{escape_text(entry.title)}</a>")
    translated = entry.translated(lang)
    if translated:
        head += f" ({escape_text(translated)})"
    byline = byline_text(entry)
    if byline:
        head += f" · {escape_text(byline)}"
    return (f"<li>{head} {badges(entry, lang, activity)}<br />\n  "
            f"{escape_text(entry.text('description', lang))}</li>")


def count_line(text: str, fragments: dict[str, str] | None) -> str:
    """A list page's count of what it lists ("12 books"), as HTML that search leaves out:
    a new entry changes the count and the list, and ``make serve`` swaps both."""
    return unsearched_html(f"<p {SEARCH_EXCLUDE}>{escape_text(text)}</p>", fragments)


def html_list(items: Iterable[str], fragments: dict[str, str] | None) -> str:
    """A list of entries on a list page. Search leaves it out (the entries have pages of
    their own), so an edited entry has it swapped in the pages that list it."""
    return unsearched_html("\n".join([f"<ul {SEARCH_EXCLUDE}>", *items, "</ul>"]), fragments)


def entry_list_item(entry: Entry, lang: str, from_uri: str,
                    activity: Activity | None = None) -> str:
    title = escape_md(entry.title)
    translated = entry.translated(lang)
    head = f"[{title}]({relative(from_uri, entry_uri(entry))})"
    if translated:
        head += f" ({escape_md(translated)})"
    byline = entry_byline(entry)
    if byline:
        head += f" · {byline}"
    return f"- {head} {badges(entry, lang, activity)}  \n  " \
           f"{escape_md(entry.text('description', lang))}"


def topic_name(topic: Topic, lang: str) -> str:
    return topic.name.get(lang) or topic.name.get("en") or topic.id


def related_entries(catalog: Catalog, among: Collection[str] | None = None
                    ) -> dict[str, list[Entry]]:
    """Up to RELATED_LIMIT entries per entry, ranked by shared topics (x2) and tags.

    Candidates come from the entries sharing a topic, at most RELATED_POOL of them in a
    fixed order, so the cost stays linear in the catalog's size. Topics and tags are bit
    masks, so scoring a candidate is two ANDs and two popcounts. The result does not depend
    on the language: it is computed once per catalog. With ``among`` (entry ids), only those
    entries are ranked, and the catalog keeps nothing (``make serve`` re-ranks what an edit
    can change: ``atlas.incremental.RelatedRanking``).
    """
    if catalog.related is not None and among is None:
        return catalog.related
    bits: dict[str, int] = {}

    def mask(words: Iterable[str]) -> int:
        value = 0
        for word in words:
            value |= 1 << bits.setdefault(word, len(bits))
        return value

    entries = catalog.entries
    topic_masks = [mask(f"t:{t}" for t in entry.topics) for entry in entries]
    tag_masks = [mask(f"g:{g}" for g in entry.tags) for entry in entries]
    by_topic: dict[str, list[int]] = defaultdict(list)
    for index, entry in enumerate(entries):
        for topic_id in entry.topics:
            if len(by_topic[topic_id]) < RELATED_POOL:
                by_topic[topic_id].append(index)
    related: dict[str, list[Entry]] = {}
    for index, entry in enumerate(entries):
        if among is not None and entry.id not in among:
            continue
        pool: dict[int, None] = {}
        for topic_id in entry.topics:
            for other in by_topic[topic_id]:
                if other != index and len(pool) < RELATED_POOL:
                    pool[other] = None
        topics, tags = topic_masks[index], tag_masks[index]
        ranked = heapq.nsmallest(RELATED_LIMIT, (
            (-(2 * (topics & topic_masks[other]).bit_count()
               + (tags & tag_masks[other]).bit_count()), entries[other].id, other)
            for other in pool))
        related[entry.id] = [entries[other] for _, _, other in ranked]
    if among is None:
        catalog.related = related
    return related


def license_name(license_id: str) -> str:
    """An SPDX id as is; LicenseRef-Llama-3.1-Community-License as its words."""
    if license_id.startswith("LicenseRef-"):
        return license_id.removeprefix("LicenseRef-").replace("-", " ")
    return license_id


def parameter_count(size: str, lang: str) -> str:
    """235B-A22B (a mixture of experts) reads as 235B (22B active)."""
    total, _, active = size.partition("-A")
    return f"{total} ({LABELS[lang]['active'].format(count=active)})" if active else total


def huggingface_url(entry: Entry) -> str:
    section = "datasets/" if entry.kind == "dataset" else ""
    return f"https://huggingface.co/{section}{entry.huggingface}"


def _number(value: int) -> str:
    return f"{value:,}"


def activity_rows(activity: Activity, lang: str) -> list[str]:
    """The entry page's rows of what the services said (API text is escaped like any)."""
    t = LABELS[lang]
    cells = []
    if activity.stars is not None:
        cells.append((t["stars"], _number(activity.stars)))
    if activity.forks is not None:
        cells.append((t["forks"], _number(activity.forks)))
    if activity.last_activity:
        cells.append((t["last_activity"], activity.last_activity))
    if activity.release:
        cells.append((t["latest_release"], activity.release + (
            f" ({activity.release_date})" if activity.release_date else "")))
    if activity.version:
        cells.append((t["latest_version"], activity.version + (
            f" ({activity.version_date})" if activity.version_date else "")))
    if activity.downloads is not None:
        cells.append((t["downloads"], _number(activity.downloads)))
    if activity.likes is not None:
        cells.append((t["likes"], _number(activity.likes)))
    cells.append((t["fetched"], t["fetched_from"].format(
        date=activity.fetched, sources=", ".join(activity.sources))))
    return [f"| {label} | {escape_md(value)} |" for label, value in cells]


def status_note(listed: Iterable[Activity | None], lang: str) -> list[str]:
    """What the Archived and Inactive badges of a list mean, and when their data was
    fetched; nothing when the list shows none."""
    dates = sorted({a.fetched for a in listed if a and a.flagged})
    if not dates:
        return []
    shown = dates[0] if len(dates) == 1 else f"{dates[0]} – {dates[-1]}"
    return [f'<p class="atlas-status-note"><small>'
            f'{escape_attr(LABELS[lang]["status_note"].format(dates=shown))}</small></p>', ""]


# Fields an entry page shows elsewhere than in its table of facts.
NOT_IN_TABLE = frozenset({"kind", "title", "translated_title", "description", "tags", "et_al",
                          "commercial_note"})


def field_value(entry: Entry, name: str, lang: str, rules: Rules) -> str | None:
    """One field of an entry as the Markdown of its table cell (None: not shown)."""
    t = LABELS[lang]
    value = entry.data.get(name)
    if value is None:
        return None
    if name in rules.url_fields:
        return f"<{escape_attr(value)}>"
    if name == "authors":
        return escape_md(", ".join(value) + (f" {t['et_al']}" if entry.et_al else ""))
    if name == "arxiv":
        return f"[{escape_md(value)}](https://arxiv.org/abs/{escape_attr(value)})"
    if name == "doi":
        return f"[{escape_md(value)}](https://doi.org/{escape_attr(value)})"
    if name == "huggingface":
        return f"[{escape_md(value)}]({escape_attr(huggingface_url(entry))})"
    if name == "pypi":
        return f"[{escape_md(value)}](https://pypi.org/project/{escape_attr(value)}/)"
    if name == "license":
        return escape_md(license_name(value))
    if name == "parameters":
        return escape_md(", ".join(parameter_count(size, lang) for size in value))
    if name == "languages":
        return escape_md(", ".join(LANGUAGE_NAMES.get(code, code) for code in value))
    if name == "commercial_use":
        note = entry.commercial_note
        return escape_md(t[value] + (f": {note.get(lang) or note['en']}" if note else ""))
    words = rules.vocabulary_words
    if isinstance(value, list):
        return escape_md(", ".join(t[item] if item in words else item
                                   for item in map(str, value)))
    if isinstance(value, str) and value in words:
        return t[value]
    return escape_md(value)


def entry_page(entry: Entry, catalog: Catalog, lang: str, related: list[Entry],
               edit_url: str | None, repo_url: str | None = None,
               activity: Activity | None = None, directory_urls: bool = True,
               fragments: dict[str, str] | None = None) -> str:
    t = LABELS[lang]
    uri = entry_uri(entry)
    rules = catalog.rules
    assert rules is not None
    # Material prints page.meta values into <title> and attributes without escaping.
    meta = {"title": escape_attr(entry.title),
            "description": escape_attr(entry.text("description", lang)[:300]),
            "template": "entry.html"}
    lines = ["---", *(f"{key}: {json.dumps(value, ensure_ascii=False)}"
                      for key, value in meta.items()), "---", "",
             f"# {escape_md(entry.title)}", "",
             f'<p class="atlas-badges">{badges(entry, lang, activity)}</p>', ""]
    translated = entry.translated(lang)
    if translated:
        lines += [f"*{escape_md(translated)}*", ""]
    lines += [escape_md(entry.text("description", lang)), "",
              f"| {t['field']} | {t['value']} |", "| --- | --- |"]
    for name in rules.fields(entry.kind):
        if name == "topics":
            topic_links = [f"[{escape_md(topic_name(catalog.topics[topic_id], lang))}]"
                           f"({relative(uri, topic_uri(topic_id))})" for topic_id in entry.topics]
            lines.append(f"| {t['topics']} | {', '.join(topic_links)} |")
        elif name == "tags" and entry.tags:
            tag_links = [f"[{escape_md(tag)}]({relative(uri, 'catalog/tags.md')}"
                         f"#{tag_anchor(tag)})" for tag in entry.tags]
            lines.append(f"| {t['tags']} | {', '.join(tag_links)} |")
        elif name not in NOT_IN_TABLE and (cell := field_value(entry, name, lang, rules)):
            lines.append(f"| {t[name]} | {cell} |")
    if activity:
        lines += activity_rows(activity, lang)
    lines.append("")
    if edit_url:
        guide = contributing_url(repo_url)
        lines += [f'[{t["edit"]}]({escape_attr(edit_url)}){{ .atlas-edit }}'
                  + (f' · [{t["contribute"]}]({escape_attr(guide)}){{ .atlas-edit }}'
                     if guide else ""), ""]
    if related:  # kept short: entry pages are the bulk of the site
        lines += [f"## {t['related']}", "", related_list(entry, related, lang, directory_urls,
                                                         fragments), ""]
    return "\n".join(lines)


def related_list(entry: Entry, related: list[Entry], lang: str, directory_urls: bool,
                 fragments: dict[str, str] | None) -> str:
    """An entry page's related entries, as HTML that search leaves out: a query should find
    an entry by its own words, not by the titles of its neighbours. A new entry changes
    other entries' lists, and ``make serve`` then swaps only this block in their pages.
    What it shows of each (id, title, kind) is what ``entry_pages`` keys the memo by."""
    t = LABELS[lang]
    uri = entry_uri(entry)
    items = [f'<li><a href="{escape_attr(page_href(uri, entry_uri(other), directory_urls))}">'
             f"{escape_text(other.title)}</a> · {escape_text(t[other.kind])}</li>"
             for other in related]
    return unsearched_html("\n".join([f'<ul class="atlas-related" {SEARCH_EXCLUDE}>', *items,
                                      "</ul>"]), fragments)


def _entries_by_main_topic(entries: list[Entry], catalog: Catalog
                           ) -> list[tuple[Topic, list[Entry]]]:
    groups: dict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        groups[entry.topics[0]].append(entry)
    return [(topic, sorted(groups[topic.id], key=_sort_key)) for topic in catalog.topics.values()
            if groups.get(topic.id)]


def _sort_key(entry: Entry) -> tuple[str, str]:
    return (entry.title.casefold(), entry.id)


def kind_page(kind: str, catalog: Catalog, lang: str, repo_url: str | None = None,
              activity: Mapping[str, Activity] | None = None, memo: Memo | None = None,
              directory_urls: bool = True, fragments: dict[str, str] | None = None) -> str:
    t = LABELS[lang]
    uri = kind_uri(kind)
    entries = [e for e in catalog.entries if e.kind == kind]
    activity = activity or {}
    lines = ["---", "search:", "  exclude: true", "---", "", f"# {t[kind_plural(kind)]}", "",
             count_line(t["kind_intro"].format(count=len(entries),
                                               kind=t[kind_plural(kind)].lower()
                                               if lang == "en" else t[kind]), fragments), ""]
    lines += suggest_line(lang, repo_url)
    for topic, members in _entries_by_main_topic(entries, catalog):
        link = relative(uri, topic_uri(topic.id))
        lines += [f"## [{escape_md(topic_name(topic, lang))}]({link})", ""]
        lines.append(html_list((list_item(entry, lang, uri, activity.get(entry.id), memo,
                                          directory_urls) for entry in members), fragments))
        lines.append("")
    lines += status_note((activity.get(entry.id) for entry in entries), lang)
    return "\n".join(lines)


def topic_page(topic: Topic, catalog: Catalog, lang: str, example: Example | None,
               learn_pages: set[str], activity: Mapping[str, Activity] | None = None,
               memo: Memo | None = None, listed: list[Entry] | None = None,
               directory_urls: bool = True, fragments: dict[str, str] | None = None) -> str:
    """A topic's page; ``listed`` are its entries if the caller has them (grouping the
    catalog once for every topic keeps the site's generation linear in its size)."""
    t = LABELS[lang]
    activity = activity or {}
    uri = topic_uri(topic.id)
    if listed is None:
        listed = catalog.by_topic().get(topic.id, [])
    members = sorted(listed, key=_sort_key)
    lines = [f"# {escape_md(topic_name(topic, lang))}", "",
             escape_md(topic.description.get(lang) or topic.description.get("en", "")), ""]
    by_id = {entry.id: entry for entry in members}
    picks = [(by_id[pick.entry], pick) for pick in topic.start_here if pick.entry in by_id]
    if picks:  # curation first: what to read, in order, and why
        lines += [f'## {t["start_here"]} {{ #start-here }}', ""]
        lines += [f"{number}. [{escape_md(entry.title)}]({relative(uri, entry_uri(entry))})"
                  f" · {t[entry.kind]}  \n   {escape_md(pick.why.get(lang) or pick.why['en'])}"
                  for number, (entry, pick) in enumerate(picks, 1)]
        lines.append("")
    facts = []
    if topic.parent:
        parent = catalog.topics[topic.parent]
        facts.append(f"{t['parent']}: [{escape_md(topic_name(parent, lang))}]"
                     f"({relative(uri, topic_uri(parent.id))})")
    learn = f"learn/{topic.id}.md"
    if learn in learn_pages:
        facts.append(f":material-school: [{t['learn']}]({relative(uri, learn)})")
    if example:
        facts.append(f":material-play-circle: [{t['example']}: `examples/{example.name}/`]"
                     f"(example.md)")
    lines += [f"- {fact}" for fact in facts] + ([""] if facts else [])
    children = catalog.children(topic.id)
    if children:
        lines += [f"## {t['subtopics']}", ""]
        lines += [f"- [{escape_md(topic_name(child, lang))}]({relative(uri, topic_uri(child.id))})"
                  f" — {escape_md(child.description.get(lang, ''))}" for child in children]
        lines.append("")
    lines += [f"## {t['entries']} {{ data-search-exclude }}", "",
              count_line(t["topic_count"].format(count=len(members)), fragments), ""]
    for kind in catalog.kinds:
        of_kind = [e for e in members if e.kind == kind]
        if of_kind:
            lines += [f"### {t[kind_plural(kind)]} {{ data-search-exclude }}", ""]
            lines.append(html_list((list_item(entry, lang, uri, activity.get(entry.id), memo,
                                              directory_urls) for entry in of_kind), fragments))
            lines.append("")
    if not members:
        lines += [t["no_entries"], ""]
    lines += status_note((activity.get(entry.id) for entry in members), lang)
    return "\n".join(lines)


def topics_index_page(catalog: Catalog, lang: str, examples: dict[str, Example]) -> str:
    t = LABELS[lang]
    uri = "topics/index.md"
    counts = Counter(topic_id for entry in catalog.entries for topic_id in entry.topics)
    lines = [f"# {t['topics']}", "", t["topics_intro"], ""]

    def walk(parent: str | None, depth: int) -> None:
        for topic in catalog.children(parent):
            marker = " :material-play-circle:" if topic.id in examples else ""
            lines.append(f"{'    ' * depth}- [{escape_md(topic_name(topic, lang))}]"
                         f"({relative(uri, topic_uri(topic.id))}){marker} "
                         f"({counts.get(topic.id, 0)})")
            walk(topic.id, depth + 1)

    walk(None, 0)
    lines.append("")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------
# Learning paths (catalog/paths.yaml)

PATHS_INDEX_URI = "paths/index.md"
# How a path's summary counts its steps: (one, several) in English, a measure word in Chinese.
STEP_PARTS: dict[str, dict[str, tuple[str, str]]] = {
    "en": {"learn": ("Learn page", "Learn pages"), "topic": ("topic", "topics"),
           "entry": ("catalog entry", "catalog entries"),
           "example": ("runnable example", "runnable examples")},
    "zh": {"learn": ("个学习页面", "个学习页面"), "topic": ("个主题", "个主题"),
           "entry": ("项目录资源", "项目录资源"), "example": ("个可运行示例", "个可运行示例")},
}
STEP_ICONS = {"learn": ":material-school:", "topic": ":material-map-marker-path:",
              "entry": ":material-bookmark-outline:", "example": ":material-play-circle:"}


def path_uri(path_id: str) -> str:
    return f"paths/{path_id}.md"


def step_anchor(step: Step) -> str:
    return f"step-{step.id}"


def path_summary(path: LearningPath, lang: str) -> str:
    """"12 steps: 4 Learn pages, 2 topics, 5 catalog entries and 1 runnable example"
    ("12 步：4 个学习页面、2 个主题、5 项目录资源和 1 个可运行示例")."""
    t = LABELS[lang]
    counts = Counter(step.kind for step in path.steps)
    parts = [f"{counts[kind]} {STEP_PARTS['en'][kind][counts[kind] != 1]}" if lang == "en"
             else f"{counts[kind]} {STEP_PARTS['zh'][kind][0]}"
             for kind in ("learn", "topic", "entry", "example") if counts[kind]]
    joined = parts[0] if len(parts) == 1 else (
        ", ".join(parts[:-1]) + " and " + parts[-1] if lang == "en"
        else "、".join(parts[:-1]) + "和 " + parts[-1])
    return f"{t['step_count'].format(count=len(path.steps))}{colon(lang)}{joined}"


def learn_title(name: str, lang: str, learn_titles: Mapping[str, str] | None,
                catalog: Catalog) -> str:
    """A Learn page's title: its heading, else the topic of the same name, else its name."""
    uri = f"learn/{name}.md"
    if learn_titles and uri in learn_titles:
        return learn_titles[uri]
    if name in catalog.topics:
        return topic_name(catalog.topics[name], lang)
    return name


def example_topic(catalog: Catalog, name: str) -> Topic | None:
    """The topic whose example is examples/<name>/ (its page is that topic's example.md)."""
    return next((topic for topic in catalog.topics.values() if topic.example == name), None)


def step_title(step: Step, catalog: Catalog, lang: str,
               learn_titles: Mapping[str, str] | None) -> str:
    """What a step names, as plain text (escaped where it is used)."""
    if step.kind == "learn":
        return learn_title(step.target, lang, learn_titles, catalog)
    if step.kind == "topic":
        return topic_name(catalog.topics[step.target], lang)
    if step.kind == "entry":
        return catalog.by_id()[step.target].title
    owner = example_topic(catalog, step.target)
    return f"{topic_name(owner, lang) if owner else step.target}{colon(lang)}" \
           f"{LABELS[lang]['example']}"


def colon(lang: str) -> str:
    return "：" if lang == "zh" else ": "


def path_page(path: LearningPath, catalog: Catalog, lang: str,
              learn_titles: Mapping[str, str] | None = None) -> str:
    """One path: its goal, then each step with what it names, why, and what it needs."""
    t = LABELS[lang]
    uri = path_uri(path.id)
    by_id = catalog.by_id()
    titles = {step.id: step_title(step, catalog, lang, learn_titles) for step in path.steps}
    lines = [f"# {escape_md(path.title[lang])}", "", escape_md(path.goal[lang]), "",
             f"*{escape_md(path_summary(path, lang))}*", "",
             f"[{t['all_paths']}](index.md)", ""]
    for number, step in enumerate(path.steps, 1):
        kind_label = t[f"step_{step.kind}"]
        lines += [f"## {number}. {escape_md(titles[step.id])} {{ #{step_anchor(step)} }}", ""]
        if step.needs:
            needed = ("、" if lang == "zh" else ", ").join(
                f"[{t['step'].format(number=path.number(need))} · "
                f"{escape_md(titles[need])}](#{step_anchor(path.step(need))})"
                for need in step.needs)
            needs = f"{t['needs']}{colon(lang)}{needed}"
        else:
            needs = t["needs_nothing"]
        lines += [f"{STEP_ICONS[step.kind]} {kind_label} · {needs}", "",
                  escape_md(step.why[lang]), ""]
        if step.kind == "learn":
            lines += [f"[{t['read_page']}{colon(lang)}{escape_md(titles[step.id])}]"
                      f"({relative(uri, f'learn/{step.target}.md')})", ""]
        elif step.kind == "topic":
            topic = catalog.topics[step.target]
            lines += [f"[{t['open_topic']}{colon(lang)}{escape_md(topic_name(topic, lang))}]"
                      f"({relative(uri, topic_uri(topic.id))}) — "
                      f"{escape_md(topic.description.get(lang) or topic.description['en'])}", ""]
            picks = start_here_for(step, topic, by_id)
            if picks:
                levels = t["or"].join(t[level] for level in step.levels)
                lines += [t["picks_of_levels"].format(levels=levels) if step.levels
                          else t["picks_all"], ""]
                lines += [f"{index}. [{escape_md(entry.title)}]"
                          f"({relative(uri, entry_uri(entry))}) · {t[entry.kind]} "
                          f'<span class="atlas-badge" data-level="{escape_attr(entry.level)}">'
                          f"{escape_attr(t[entry.level])}</span>  \n"
                          f"   {escape_md(pick.why.get(lang) or pick.why['en'])}"
                          for index, (entry, pick) in enumerate(picks, 1)]
                lines.append("")
        elif step.kind == "entry":
            lines += [entry_list_item(by_id[step.target], lang, uri), ""]
        else:
            owner = example_topic(catalog, step.target)
            target = f"topics/{owner.id}/example.md" if owner else PATHS_INDEX_URI
            lines += [f"{t['open_example']}{colon(lang)}[`examples/{escape_md(step.target)}/`]"
                      f"({relative(uri, target)})", ""]
    return "\n".join(lines)


def paths_list(catalog: Catalog, lang: str, from_uri: str) -> str:
    """Every path as a list item: its title (linked), its step count and its goal."""
    if not catalog.paths:
        return ""
    return "\n".join(f"- [{escape_md(path.title[lang])}]({relative(from_uri, path_uri(path.id))})"
                     f" · {escape_md(LABELS[lang]['step_count'].format(count=len(path.steps)))}"
                     f"  \n  {escape_md(path.goal[lang])}" for path in catalog.paths)


def paths_index_page(catalog: Catalog, lang: str) -> str:
    t = LABELS[lang]
    lines = [f"# {t['paths']}", "", t["paths_intro"], ""]
    for path in catalog.paths:
        lines += [f"## [{escape_md(path.title[lang])}]({path.id}.md)", "",
                  escape_md(path.goal[lang]), "", f"*{escape_md(path_summary(path, lang))}*", ""]
    return "\n".join(lines)


def tags_page(catalog: Catalog, lang: str, directory_urls: bool = True,
              fragments: dict[str, str] | None = None, memo: Memo | None = None) -> str:
    """Every tag with its entries. The lists are HTML (``raw_html``): as Markdown, thousands
    of links made this the slowest page of the site to render, and it is rendered again
    whenever an entry is added. With a ``memo``, only the lists of the tags whose entries
    changed are made again."""
    t = LABELS[lang]
    root = "../../" if directory_urls else "../"
    by_tag: dict[str, list[Entry]] = defaultdict(list)
    for entry in catalog.entries:
        for tag in entry.data.get("tags", []):
            by_tag[tag].append(entry)
    lines = ["---", "search:", "  exclude: true", "---", "", f"# {t['tags']}", "",
             t["tags_intro"], ""]
    lines.append(unsearched_html(f"<p {SEARCH_EXCLUDE}>" + " ".join(
        f'<a href="#{escape_attr(tag_anchor(tag))}">{escape_text(tag)} ({len(by_tag[tag])})</a>'
        for tag in sorted(by_tag)) + "</p>", fragments))
    lines.append("")

    def tag_list(tagged: list[Entry], own: dict[str, str] | None) -> str:
        return html_list(
            (f'<li><a href="{escape_attr(root + entry_page_path(e.id, directory_urls))}">'
             f"{escape_attr(e.title)}</a></li>" for e in sorted(tagged, key=_sort_key)), own)

    for tag in sorted(by_tag):
        tagged = by_tag[tag]
        listed = memoized_page(memo, ("tag list", tuple((e.id, e.title) for e in tagged),
                                      directory_urls), (), fragments,
                               partial(tag_list, tagged))
        lines += [f"## {escape_md(tag)} {{ #{tag_anchor(tag)} }}", "", listed, ""]
    return "\n".join(lines)


def kind_counts(catalog: Catalog, lang: str, from_uri: str) -> str:
    t = LABELS[lang]
    counts = Counter(entry.kind for entry in catalog.entries)
    lines = [f"| {t['catalog']} | {t['home_counts']} |", "| --- | ---: |"]
    lines += [f"| [{t[kind_plural(kind)]}]({relative(from_uri, kind_uri(kind))}) | {counts[kind]} |"
              for kind in catalog.kinds]
    lines.append(f"| **{t['total']}** | **{len(catalog.entries)}** |")
    return "\n".join(lines)


def newest_entries(catalog: Catalog, lang: str, from_uri: str, limit: int = NEWEST_LIMIT
                   ) -> str:
    """The most recently added entries, newest first (the home page's news)."""
    newest = sorted(catalog.entries, key=lambda e: (e.added, e.id), reverse=True)[:limit]
    t = LABELS[lang]
    return "\n".join(f"- {escape_md(entry.added)} · [{escape_md(entry.title)}]"
                     f"({relative(from_uri, entry_uri(entry))}) · {t[entry.kind]}"
                     for entry in newest)


def entries_for_topic(catalog: Catalog, topic_id: str, lang: str, from_uri: str,
                      fragments: dict[str, str] | None = None, memo: Memo | None = None,
                      directory_urls: bool = True) -> str:
    """A topic's entries on a hand-written page, as the topic page lists them (HTML that
    search leaves out: ``html_list``)."""
    members = sorted(catalog.by_topic().get(topic_id, ()), key=_sort_key)
    if not members:
        return LABELS[lang]["no_entries"]
    return html_list((list_item(entry, lang, from_uri, None, memo, directory_urls)
                      for entry in members), fragments)


MARKER = re.compile(r"<!--\s*atlas:(?P<name>[a-z-]+)(?P<args>(?:\s+[a-z]+=[\w-]+)*)\s*-->")


class MarkerError(ValueError):
    pass


def expand_markers(markdown: str, catalog: Catalog, lang: str, page_uri: str,
                   fragments: dict[str, str] | None = None, memo: Memo | None = None,
                   directory_urls: bool = True) -> str:
    """Replace ``<!-- atlas:... -->`` markers in a hand-written page with generated Markdown
    (``fragments`` and ``memo`` as for ``generate_pages``)."""

    def replace(match: re.Match[str]) -> str:
        args = dict(arg.split("=", 1) for arg in match.group("args").split())
        name = match.group("name")
        if name == "kind-counts":
            return kind_counts(catalog, lang, page_uri)
        if name == "newest":
            return newest_entries(catalog, lang, page_uri)
        if name == "paths":
            return paths_list(catalog, lang, page_uri)
        if name == "entries":
            topic_id = args.get("topic", "")
            if topic_id not in catalog.topics:
                raise MarkerError(f"{page_uri}: unknown topic {topic_id!r} in {match.group(0)}")
            return entries_for_topic(catalog, topic_id, lang, page_uri, fragments, memo,
                                     directory_urls)
        raise MarkerError(f"{page_uri}: unknown marker {match.group(0)}")

    return MARKER.sub(replace, markdown)


# ---------------------------------------------------------------------------------------
# The whole generated part of the site


def entry_pages(catalog: Catalog, lang: str, edit_base: str | None = None,
                repo_url: str | None = None, activity: Mapping[str, Activity] | None = None,
                memo: Memo | None = None, directory_urls: bool = True,
                fragments: dict[str, str] | None = None) -> dict[str, Callable[[], str]]:
    """Each entry page, as {source path: what makes its Markdown}. A full build makes each
    when MkDocs reads it, so that the catalog's pages are not all held at once."""
    pages: dict[str, Callable[[], str]] = {}
    activity = activity or {}
    related = related_entries(catalog)
    for entry in catalog.entries:
        edit_url = f"{edit_base.rstrip('/')}/{entry.path.as_posix()}" if edit_base else None
        others = related[entry.id]
        facts = activity.get(entry.id)
        # Of its related entries a page shows the title and kind (``related_list``): an
        # edited description leaves the pages that list the entry as they are.
        pages[entry_uri(entry)] = partial(
            memoized_page, memo, ("entry", lang, id(entry),
                                  tuple((other.id, other.title, other.kind) for other in others),
                                  id(catalog.topics), edit_url, repo_url, facts, directory_urls),
            (entry, *others, catalog.topics), fragments,
            partial(entry_page, entry, catalog, lang, others, edit_url, repo_url, facts,
                    directory_urls))
    return pages


def generate_pages(catalog: Catalog, lang: str, examples: dict[str, Example],
                   project_root: Path, learn_pages: set[str],
                   edit_base: str | None = None, repo_url: str | None = None,
                   activity: Mapping[str, Activity] | None = None, memo: Memo | None = None,
                   learn_titles: Mapping[str, str] | None = None,
                   directory_urls: bool = True, fragments: dict[str, str] | None = None,
                   with_entries: bool = True) -> dict[str, str]:
    """Every generated page, as {source path: Markdown}. ``learn_titles`` are the Learn
    pages' headings (``learn/<name>.md`` -> title), which path steps show. ``activity`` (from
    catalog/metadata.json) adds stars, activity and badges to the entries it covers; the
    others' pages are exactly as without it.

    With a ``memo`` (``make serve``), entry pages and list items whose inputs are the same
    as last time are taken from it instead of being written again. With ``fragments`` (the
    build's), big HTML blocks are left out of the Markdown: see ``raw_html``. Without
    ``with_entries`` the entry pages are left out (``entry_pages`` makes them).
    """
    activity = activity or {}
    pages: dict[str, str] = {}
    if with_entries:
        pages = {uri: make() for uri, make in entry_pages(
            catalog, lang, edit_base, repo_url, activity, memo, directory_urls,
            fragments).items()}
    # The list pages are remade only when what they list changed (an entry's object, its
    # activity, the taxonomy): an edit elsewhere reuses them whole.
    listed = tuple(catalog.entries)
    for kind in catalog.kinds:
        of_kind = tuple(entry for entry in listed if entry.kind == kind)
        pages[kind_uri(kind)] = memoized_page(
            memo, ("kind page", kind, lang, tuple(map(id, of_kind)), id(catalog.topics),
                   tuple(activity.get(entry.id) for entry in of_kind), repo_url,
                   directory_urls), (*of_kind, catalog.topics), fragments,
            partial(kind_page, kind, catalog, lang, repo_url, activity, memo, directory_urls))
    # The tags page shows each entry's title under its tags: an edited description leaves
    # it as it is.
    pages["catalog/tags.md"] = memoized_page(
        memo, ("tags page", lang, tuple((entry.id, entry.title, tuple(entry.data.get("tags", ())))
                                        for entry in listed), directory_urls), (), fragments,
        lambda own: tags_page(catalog, lang, directory_urls, own, memo))
    pages.update(redirect_pages(catalog, lang))
    pages["topics/index.md"] = topics_index_page(catalog, lang, examples)
    pages[PATHS_INDEX_URI] = paths_index_page(catalog, lang)
    for path in catalog.paths:
        pages[path_uri(path.id)] = path_page(path, catalog, lang, learn_titles)
    by_topic = catalog.by_topic()
    for topic in catalog.topics.values():
        example = examples.get(topic.id)
        members = tuple(by_topic.get(topic.id, ()))
        pages[topic_uri(topic.id)] = memoized_page(
            memo, ("topic page", lang, id(topic), id(catalog.topics), tuple(map(id, members)),
                   tuple(activity.get(entry.id) for entry in members),
                   example.name if example else None, f"learn/{topic.id}.md" in learn_pages,
                   directory_urls), (topic, catalog.topics, *members), fragments,
            partial(topic_page, topic, catalog, lang, example, learn_pages, activity, memo,
                    list(members), directory_urls))
        if example:
            pages[f"topics/{topic.id}/example.md"] = example_page(
                example, lang, project_root, repo_url, topic_name(topic, lang))
    return pages


def redirect_pages(catalog: Catalog, lang: str, directory_urls: bool = True) -> dict[str, str]:
    """An HTML page at each former topic id's address that sends readers to the topic now
    (topics.yaml ``formerly``), so that no link to an old topic breaks."""
    pages = {}
    for topic in catalog.topics.values():
        for old in topic.formerly:
            target = f"../{topic.id}/" if directory_urls else f"../{topic.id}/index.html"
            name = escape_attr(topic_name(topic, lang))
            pages[f"topics/{old}/index.html"] = (
                '<!doctype html>\n<html lang="{lang}"><head><meta charset="utf-8">'
                f'<title>{name}</title>'
                f'<meta http-equiv="refresh" content="0; url={target}">'
                f'<link rel="canonical" href="{target}">'
                '<meta name="robots" content="noindex"></head>'
                f'<body><p><a href="{target}">'
                f'{LABELS[lang]["redirect"].format(name=name)}</a></p></body></html>\n'
            ).replace("{lang}", "zh-Hans" if lang == "zh" else "en")
    return pages


def generated_nav(catalog: Catalog, lang: str, examples: dict[str, Example]
                  ) -> dict[str, list[Any]]:
    """Navigation sections for the generated pages, keyed by the nav marker they replace."""
    t = LABELS[lang]
    catalog_nav: list[Any] = [{t["explorer"]: "catalog/explorer.md"}]
    catalog_nav += [{t[kind_plural(kind)]: kind_uri(kind)} for kind in catalog.kinds]
    catalog_nav.append({t["tags"]: "catalog/tags.md"})

    def topic_nav(parent: str | None) -> list[Any]:
        items: list[Any] = []
        for topic in catalog.children(parent):
            children = topic_nav(topic.id)
            example = examples.get(topic.id)
            if children or example:
                section: list[Any] = [topic_uri(topic.id)]
                if example:
                    section.append({t["example_title"]: f"topics/{topic.id}/example.md"})
                items.append({topic_name(topic, lang): section + children})
            else:
                items.append({topic_name(topic, lang): topic_uri(topic.id)})
        return items

    paths_nav: list[Any] = [PATHS_INDEX_URI]
    paths_nav += [{path.title[lang]: path_uri(path.id)} for path in catalog.paths]
    return {"atlas:catalog": catalog_nav, "atlas:topics": ["topics/index.md", *topic_nav(None)],
            "atlas:paths": paths_nav}
