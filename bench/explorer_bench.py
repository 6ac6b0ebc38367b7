"""How the catalog explorer responds at 1,000 and 10,000 entries, in headless Chromium.

It builds the site once (the real catalog), serves it on loopback and, for each size, hands
the explorer page a synthetic explorer.json of that many entries (Playwright answers the
request). In the page it measures, with performance.now():

* ready: from navigation start to the table shown (fetch, parse, index, first render);
* keystroke: typing a word letter by letter, from each input event to the next frame;
* facet: ticking a checkbox, to the next frame; sort: clicking a column header;
* and, in the same page, two baselines: the floor (one bare Array.filter with
  String.includes over the same entries: no facets, no counts, no DOM) and a naive table
  (every row of the unfiltered catalog put in the DOM at once, as a table without paging
  would do).

Usage: python bench/explorer_bench.py [--sizes 1000 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import functools
import gzip
import random
import statistics
import subprocess
import sys
import tempfile
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "bench"))

from atlas import publish  # noqa: E402
from atlas.catalog import Catalog, Entry, load_catalog  # noqa: E402
from site_bench import synthetic_entry  # noqa: E402

MEASURE = """async ({word, repeat}) => {
  const root = document.querySelector('.atlas-explorer');
  const frame = () => new Promise(r => requestAnimationFrame(() => setTimeout(r, 0)));
  const timed = async (act) => { const t0 = performance.now(); act(); await frame();
                                 return performance.now() - t0; };
  const box = root.querySelector('.atlas-explorer__q');
  const keystrokes = [], renders = [], facets = [], sorts = [], floor = [];
  for (let r = 0; r < repeat; r++) {
    box.value = ''; box.dispatchEvent(new Event('input')); await frame();
    for (let i = 1; i <= word.length; i++) {
      keystrokes.push(await timed(() => { box.value = word.slice(0, i);
                                          box.dispatchEvent(new Event('input')); }));
      renders.push(Number(root.dataset.renderMs));
    }
    box.value = ''; box.dispatchEvent(new Event('input')); await frame();
    const boxes = root.querySelectorAll('.atlas-explorer__facet input');
    for (const b of [boxes[0], boxes[5], boxes[0], boxes[5]]) {
      facets.push(await timed(() => b.click()));
    }
    for (const key of ['year', 'year', 'title']) {
      sorts.push(await timed(() => root.querySelector(`button[data-sort=${key}]`).click()));
    }
  }
  const data = await (await fetch(new URL(root.dataset.src, location.href))).json();
  for (const e of data.entries) {
    e._text = [e.id, e.t, e.tt, e.a, e.s, e.tg.join(' ')].join('\\n').toLowerCase();
  }
  let sink = 0;
  for (let r = 0; r < repeat; r++) {
    for (let i = 1; i <= word.length; i++) {
      const t0 = performance.now(); const term = word.slice(0, i);
      sink += data.entries.filter(e => e._text.includes(term)).length;
      floor.push(performance.now() - t0);
    }
  }
  const naive = await timed(() => {
    const body = document.createElement('tbody');
    for (const e of data.entries) { const tr = document.createElement('tr');
      for (const v of [e.t, e.k, e.y, e.l, e.x, e.d]) { const td = document.createElement('td');
        td.textContent = v ?? ''; tr.append(td); } body.append(tr); }
    root.querySelector('table').append(body);
  });
  return {ready: Number(root.dataset.readyAt), keystrokes, renders, facets, sorts, floor, naive,
          sink};
}"""


def synthetic(size: int) -> Catalog:
    real = load_catalog(ROOT / "catalog")
    topics = sorted(real.topics)
    rng = random.Random(size)
    entries = []
    for index in range(size):
        name, data = synthetic_entry(rng, index, topics)
        kind, entry_id = name.split("/")
        entries.append(Entry.of(entry_id, kind, Path(f"catalog/{name}.yaml"), data))
    return Catalog(real.root, entries, real.topics, [], real.rules)


def serve(directory: Path) -> tuple[ThreadingHTTPServer, str]:
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(Quiet, directory=str(directory)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/"


def answer(route: object, request: object, body: str) -> None:
    route.fulfill(status=200, content_type="application/json", body=body)


def median(values: list[float]) -> float:
    return statistics.median(values)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as temp:
        site_dir = Path(temp) / "site"
        subprocess.run([sys.executable, "-m", "mkdocs", "build", "-q", "-d", str(site_dir)],
                       cwd=ROOT, check=True)
        server, url = serve(site_dir)
        rows = []
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path="/usr/bin/chromium", headless=True,
                args=["--no-sandbox", "--disable-gpu"])
            for size in args.sizes:
                catalog = synthetic(size)
                body = publish.explorer_json(catalog, "en")
                fallback = publish.explorer_page(catalog, "en")
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.route("**/catalog/explorer.json", functools.partial(answer, body=body))
                page.goto(url + "catalog/explorer/")
                page.wait_for_selector(".atlas-explorer[data-state=ready]", timeout=120_000)
                result = page.evaluate(MEASURE, {"word": "diffusion", "repeat": args.repeat})
                page.close()
                rows.append((size, len(body), len(gzip.compress(body.encode())), len(fallback),
                             result))
            browser.close()
        server.shutdown()

    print(f"{'entries':>8} {'json KiB':>9} {'gzip KiB':>9} {'no-JS page KiB':>15} "
          f"{'ready ms':>9}")
    for size, raw, packed, fallback, r in rows:
        print(f"{size:>8,} {raw / 1024:>9.0f} {packed / 1024:>9.0f} {fallback / 1024:>15.0f} "
              f"{r['ready']:>9.0f}")
    print()
    print(f"{'entries':>8} {'keystroke ms':>18} {'of which JS':>12} {'facet ms':>9} "
          f"{'sort ms':>8} {'floor ms':>9} {'ratio':>6} {'naive table ms':>15}")
    for size, _, _, _, r in rows:
        keystroke = f"{median(r['keystrokes']):.1f} (p95 {p95(r['keystrokes']):.1f})"
        floor = median(r["floor"])
        print(f"{size:>8,} {keystroke:>18} {median(r['renders']):>12.1f} "
              f"{median(r['facets']):>9.1f} {median(r['sorts']):>8.1f} {floor:>9.2f} "
              f"{median(r['renders']) / max(floor, 1e-3):>6.1f} {r['naive']:>15.0f}")
    print("\nkeystroke/facet/sort: input event to next frame (median); 'of which JS': the "
          "explorer's filter, counts and render;\nfloor: a bare Array.filter over the same "
          "entries; ratio = JS / floor; naive table: every row in the DOM at once.")


if __name__ == "__main__":
    main()
