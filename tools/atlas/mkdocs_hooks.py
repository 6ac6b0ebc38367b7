"""MkDocs hooks: the thin glue between MkDocs and ``atlas.site``.

Configured in mkdocs.yml (``hooks:``). The English build is the primary one: after it
finishes it builds the Chinese site (mkdocs.zh.yml) into ``<site_dir>/zh`` in the same
process, handing over the catalog it already loaded and validated, so ``mkdocs build``
and ``mkdocs serve`` always produce both languages and read the catalog once.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from mkdocs.commands.build import build
from mkdocs.config import load_config
from mkdocs.config.defaults import MkDocsConfig
from mkdocs.exceptions import PluginError
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

from atlas import publish, site
from atlas.catalog import Catalog, load_catalog

log = logging.getLogger("mkdocs.plugins.atlas")
logging.getLogger("jieba").setLevel(logging.WARNING)  # its start-up chatter is not news
_state: dict[str, Any] = {}


def _settings(config: MkDocsConfig) -> dict[str, Any]:
    settings: dict[str, Any] = config.extra.get("atlas", {})
    return settings


def _project_root(config: MkDocsConfig) -> Path:
    return Path(config.config_file_path).resolve().parent


def _public_url(config: MkDocsConfig) -> str | None:
    """The published address of this language's site, ending in '/', if configured."""
    url = _settings(config).get("public_url") or config.site_url
    return url.rstrip("/") + "/" if url else None


def on_config(config: MkDocsConfig) -> MkDocsConfig:
    settings = _settings(config)
    root = _project_root(config)
    lang = settings.get("lang", "en")
    catalog: Catalog = settings.get("loaded_catalog") or load_catalog(
        root / settings.get("catalog_dir", "catalog"))
    if catalog.problems:
        listing = "\n".join(map(str, catalog.problems))
        raise PluginError(f"the catalog has {len(catalog.problems)} problem(s); "
                          f"run `atlas validate`:\n{listing}")
    examples = site.load_examples(catalog, root / settings.get("examples_dir", "examples"))
    docs_dir = Path(config.docs_dir)
    learn_pages = {p.relative_to(docs_dir).as_posix() for p in (docs_dir / "learn").glob("*.md")}
    _state.update(catalog=catalog, examples=examples, lang=lang, root=root,
                  learn_pages=learn_pages, by_id=catalog.by_id())
    sections = site.generated_nav(catalog, lang, examples)
    if config.nav:
        config.nav = _expand_nav(config.nav, sections)
    return config


def _expand_nav(items: list[Any], sections: dict[str, list[Any]]) -> list[Any]:
    """Replace marker strings such as ``atlas:topics`` in the nav with generated sections."""
    expanded: list[Any] = []
    for item in items:
        if isinstance(item, dict):
            expanded.append({title: _expand_nav(value, sections) if isinstance(value, list)
                             else sections.get(value, value) for title, value in item.items()})
        elif isinstance(item, str) and item in sections:
            expanded.extend(sections[item])
        else:
            expanded.append(item)
    return expanded


def on_files(files: Files, config: MkDocsConfig) -> Files:
    settings = _settings(config)
    edit_base = settings.get("edit_base") or (
        f"{config.repo_url.rstrip('/')}/edit/main" if config.repo_url else None)
    pages = site.generate_pages(_state["catalog"], _state["lang"], _state["examples"],
                                _state["root"], _state["learn_pages"], edit_base,
                                config.repo_url)
    pages.update(publish.site_outputs(
        _state["catalog"], _state["lang"], _public_url(config), config.site_name,
        config.use_directory_urls, primary=_state["lang"] == "en",
        suggest_url=site.suggest_url(config.repo_url)))
    for uri, content in pages.items():
        if files.get_file_from_path(uri) is not None:
            raise PluginError(f"docs/{uri} would be overwritten by a generated page; "
                              "generated pages are never committed")
        files.append(File.generated(config, uri, content=content))
    for topic_id, example in _state["examples"].items():
        for figure in example.figures:
            uri = f"topics/{topic_id}/{site.example_figure_name(example, figure)}"
            files.append(File.generated(config, uri, abs_src_path=str(figure)))
    return files


def on_page_markdown(markdown: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    try:
        return site.expand_markers(markdown, _state["catalog"], _state["lang"],
                                   page.file.src_uri)
    except site.MarkerError as error:
        raise PluginError(str(error)) from None


EMPTY_HEADER_CELL = re.compile(r"<th((?:\s[^>]*)?)>\s*</th>")


def on_page_content(html: str, page: Page, config: MkDocsConfig, files: Files) -> str:
    """An empty corner of a table (``| | a | b |``, as in the examples' READMEs) is a data
    cell, not a header without a name (axe-core empty-table-header)."""
    return EMPTY_HEADER_CELL.sub(r"<td\1></td>", html)


def on_post_page(output: str, page: Page, config: MkDocsConfig) -> str:
    """Entry pages carry their schema.org JSON-LD; the home page announces the Atom feed.

    The feed link is on the home page only, and relative: Material reads every
    ``link[rel=alternate]`` as another language and fetches the sitemap next to it.
    """
    src = page.file.src_uri
    if src.startswith("entries/") and src.endswith(".md"):
        entry = _state["by_id"].get(src[len("entries/"):-len(".md")])
        if entry is None:
            return output
        public = _public_url(config)
        data = publish.entry_jsonld(entry, _state["catalog"], _state["lang"],
                                    public + page.url if public else page.canonical_url)
        return publish.compact_html(publish.insert_into_head(output,
                                                            publish.jsonld_script(data)))
    if page.is_homepage:
        return publish.insert_into_head(
            output, f'<link rel="alternate" type="application/atom+xml" '
                    f'title="{site.escape_attr(config.site_name)}" href="feed.xml">')
    return output


def on_serve(server: Any, config: MkDocsConfig, builder: Any) -> Any:
    root = _project_root(config)
    settings = _settings(config)
    for path in (settings.get("catalog_dir", "catalog"), settings.get("examples_dir", "examples"),
                 *settings.get("watch", [])):
        if (root / path).exists():
            server.watch(str(root / path))
    return server


def on_post_build(config: MkDocsConfig) -> None:
    """Build the other language(s) into a sub-folder of this site."""
    settings = _settings(config)
    for other in settings.get("alternate_builds", []):
        target = Path(config.site_dir) / other["dir"]
        log.info("Building %s into %s", other["config"], target)
        site_url = f"{config.site_url.rstrip('/')}/{other['dir']}/" if config.site_url else None
        alternate = load_config(str(_project_root(config) / other["config"]),
                                site_dir=str(target), strict=config.strict, site_url=site_url)
        alternate.extra["atlas"]["loaded_catalog"] = _state["catalog"]
        try:
            build(alternate)
        except Exception as error:
            raise PluginError(f"building {other['config']} failed: {error}") from error
