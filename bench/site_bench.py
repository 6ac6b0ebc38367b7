"""How the site build scales: synthetic catalogs of 1,000 and 10,000 entries.

For each size it builds the site twice in the same run:

* ours: `mkdocs build` of the project (catalog loading and validation, page generation in
  hooks, both languages);
* floor: a bare `mkdocs build` of the very same pages written out as plain Markdown files
  (same theme, plugins and navigation, no hooks), both languages.

It prints build times, their ratio, HTML bytes per entry page, search-index bytes per entry
and the peak memory of each build. Usage: python bench/site_bench.py [--sizes 1000 10000]
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

from atlas import publish, site  # noqa: E402
from atlas.catalog import load_catalog  # noqa: E402
from atlas.rules import Rules  # noqa: E402

KINDS = Rules.of_catalog(ROOT / "catalog").kinds

WORDS = ["neural", "network", "diffusion", "attention", "model", "language", "vision", "learning",
         "deep", "generative", "transformer", "image", "text", "audio", "data", "training",
         "inference", "prompt", "agent", "guide", "practical", "introduction", "handbook",
         "course", "toolkit", "library", "framework", "theory", "applied", "modern"]
HANZI = ("生成模型深度学习注意力机制语言图像文本音频数据训练推理提示智能体"
         "指南实践入门手册课程工具框架理论应用现代")

# Runs a list of commands and reports wall time and the peak resident memory of all of
# them (their children included), measured by the kernel.
MEASURE = """
import json, resource, subprocess, sys, time
commands = json.loads(sys.argv[1])
start = time.perf_counter()
for command in commands:
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
elapsed = time.perf_counter() - start
peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
print(json.dumps({"seconds": elapsed, "peak_mib": peak_kib / 1024}))
"""


def synthetic_entry(rng: random.Random, index: int, topics: list[str]) -> tuple[str, dict]:
    kind = KINDS[index % len(KINDS)]
    title = " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))).title()
    entry = {
        "kind": kind,
        "title": f"{title} {index}",
        "url": f"https://site{index % 997}.example.org/{kind}/{index}",
        "description": {
            "en": " ".join(rng.choice(WORDS) for _ in range(rng.randint(20, 45))).capitalize()
            + ".",
            "zh": "".join(rng.choice(HANZI) for _ in range(rng.randint(30, 80))) + "。",
        },
        "topics": rng.sample(topics, rng.randint(1, 3)),
        "tags": sorted({f"tag-{rng.randint(0, 199)}" for _ in range(rng.randint(1, 4))}),
        "languages": rng.choice([["en"], ["zh"], ["en", "zh"]]),
        "level": rng.choice(["beginner", "intermediate", "advanced"]),
        "access": rng.choice(["free", "paid", "freemium"]),
        "added": f"2026-{rng.randint(1, 11):02d}-{rng.randint(1, 28):02d}",
    }
    if kind in ("book", "paper"):
        entry["authors"] = [f"Author {rng.randint(1, 5000)}" for _ in range(rng.randint(1, 4))]
        entry["year"] = rng.randint(1990, 2026)
    if kind == "paper":
        entry["arxiv"] = f"{rng.randint(1501, 2512)}.{rng.randint(10000, 99999)}"
    if kind == "model":
        entry.update(developer=f"Lab {rng.randint(1, 300)}", year=rng.randint(2018, 2026),
                     inputs=["text"], outputs=[rng.choice(["text", "image", "video"])],
                     parameters=[f"{rng.randint(1, 400)}B"], weights="open",
                     license="Apache-2.0", commercial_use="allowed")
    if kind == "dataset":
        entry.update(creator=f"Lab {rng.randint(1, 300)}", year=rng.randint(2010, 2026),
                     size=[f"{rng.randint(1, 900)}M images"], modalities=["image", "text"],
                     license="CC-BY-4.0")
    return f"{kind}/e{index:05d}", entry


def make_project(base: Path, size: int) -> Path:
    """A copy of the project whose catalog holds ``size`` synthetic entries."""
    project = base / "ours"
    project.mkdir()
    for name in ("mkdocs.yml", "mkdocs.zh.yml"):
        shutil.copy(ROOT / name, project / name)
    for name in ("docs", "overrides", "tools", "examples"):
        (project / name).symlink_to(ROOT / name)
    catalog = project / "catalog"
    catalog.mkdir()
    # The taxonomy without its "start here" picks, which name entries of the real catalog.
    taxonomy = yaml.safe_load((ROOT / "catalog/topics.yaml").read_text(encoding="utf-8"))
    for topic in taxonomy["topics"]:
        topic.pop("start_here", None)
    (catalog / "topics.yaml").write_text(yaml.safe_dump(taxonomy, allow_unicode=True),
                                         encoding="utf-8")
    shutil.copy(ROOT / "catalog/schema.json", catalog)
    topics = [t["id"] for t in yaml.safe_load((catalog / "topics.yaml").read_text())["topics"]]
    rng = random.Random(size)
    for kind in KINDS:
        (catalog / kind).mkdir()
    for index in range(size):
        name, entry = synthetic_entry(rng, index, topics)
        text = "# yaml-language-server: $schema=../schema.json\n" + yaml.safe_dump(
            entry, allow_unicode=True, sort_keys=False)
        (catalog / f"{name}.yaml").write_text(text, encoding="utf-8")
    return project


def make_floor(base: Path, project: Path) -> Path:
    """The same pages as plain Markdown files and plain configs: what MkDocs alone costs."""
    floor = base / "floor"
    floor.mkdir()
    (floor / "overrides").symlink_to(ROOT / "overrides")
    (floor / "examples").symlink_to(ROOT / "examples")  # example pages include their source
    catalog = load_catalog(project / "catalog")
    assert not catalog.problems, catalog.problems[:5]
    examples = site.load_examples(catalog, ROOT / "examples")
    for lang, config_name in (("en", "mkdocs.yml"), ("zh", "mkdocs.zh.yml")):
        docs = floor / "docs" / lang
        shutil.copytree(ROOT / "docs" / lang, docs, symlinks=False)
        learn = {p.relative_to(docs).as_posix() for p in (docs / "learn").glob("*.md")}
        pages = site.generate_pages(catalog, lang, examples, ROOT, learn,
                                    "https://github.com/aigc-atlas/atlas/edit/main",
                                    "https://github.com/aigc-atlas/atlas")
        pages.update(publish.site_outputs(catalog, lang, None, "AIGC Atlas",
                                          primary=lang == "en"))
        for uri, text in pages.items():
            (docs / uri).parent.mkdir(parents=True, exist_ok=True)
            (docs / uri).write_text(text, encoding="utf-8")
        for page in docs.rglob("*.md"):
            uri = page.relative_to(docs).as_posix()
            text = page.read_text(encoding="utf-8")
            page.write_text(site.expand_markers(text, catalog, lang, uri), encoding="utf-8")
        for topic_id, example in examples.items():
            for figure in example.figures:
                shutil.copy(figure, docs / "topics" / topic_id /
                            site.example_figure_name(example, figure))
        nav = yaml.safe_load(yaml.safe_dump(_nav_of(ROOT / config_name)))
        sections = site.generated_nav(catalog, lang, examples)
        config = {"INHERIT": str(ROOT / config_name), "docs_dir": f"docs/{lang}", "hooks": [],
                  "nav": expand_nav(nav, sections)}
        (floor / config_name).write_text(yaml.safe_dump(config, allow_unicode=True),
                                         encoding="utf-8")
    return floor


def expand_nav(items: list, sections: dict) -> list:
    from atlas.mkdocs_hooks import _expand_nav

    return _expand_nav(items, sections)


def _nav_of(config_path: Path) -> list:
    """The nav of a MkDocs config, read without running its !!python tags."""
    text = config_path.read_text(encoding="utf-8")
    return yaml.safe_load(text[text.index("\nnav:"):])["nav"]


def measure(commands: list[list[str]], cwd: Path) -> dict:
    result = subprocess.run([sys.executable, "-c", MEASURE, json.dumps(commands)], cwd=cwd,
                            capture_output=True, text=True, check=True)
    return json.loads(result.stdout)


def site_figures(site_dir: Path, size: int) -> dict:
    entry_pages = list(site_dir.glob("entries/*/index.html"))
    html = sum(p.stat().st_size for p in entry_pages) / max(len(entry_pages), 1)
    index = (site_dir / "search/search_index.json").stat().st_size
    return {"pages": len(entry_pages), "html_per_entry": html, "index_per_entry": index / size}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args()
    mkdocs = [sys.executable, "-m", "mkdocs", "build", "-q"]
    rows = []
    for size in args.sizes:
        with tempfile.TemporaryDirectory(prefix="atlas-bench-") as tmp:
            base = Path(tmp)
            project = make_project(base, size)
            floor = make_floor(base, project)
            ours = measure([mkdocs + ["-d", str(base / "site-ours")]], project)
            bare = measure([mkdocs + ["-d", str(base / "site-floor")],
                            mkdocs + ["-f", "mkdocs.zh.yml", "-d", str(base / "site-floor/zh")]],
                           floor)
            figures = site_figures(base / "site-ours", size)
            figures_zh = site_figures(base / "site-ours/zh", size)
            rows.append((size, ours, bare, figures, figures_zh))
            print(f"\n{size:,} entries (x2 languages)")
            print(f"  ours : {ours['seconds']:7.1f} s   peak {ours['peak_mib']:6.0f} MiB")
            print(f"  floor: {bare['seconds']:7.1f} s   peak {bare['peak_mib']:6.0f} MiB "
                  "(bare mkdocs build of the same pages as plain Markdown)")
            print(f"  ratio ours/floor: {ours['seconds'] / bare['seconds']:.2f}x (target <= 1.25x)")
            for lang, fig in (("en", figures), ("zh", figures_zh)):
                print(f"  {lang}: {fig['pages']:,} entry pages, "
                      f"{fig['html_per_entry'] / 1024:.1f} KB HTML per entry page (target <= 20), "
                      f"search index {fig['index_per_entry']:.0f} bytes per entry")
    if len(rows) > 1:
        (small, s_ours, *_), (large, l_ours, *_) = rows[0], rows[-1]
        per_small = s_ours["seconds"] / small * 1000
        per_large = l_ours["seconds"] / large * 1000
        print(f"\nscaling: {per_small:.1f} ms per entry at {small:,}, {per_large:.1f} ms per entry "
              f"at {large:,} ({per_large / per_small:.2f}x; 1.0 is linear)")


if __name__ == "__main__":
    main()
