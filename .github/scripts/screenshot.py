"""Take the README's screenshot of the built site (``make build`` first).

    .venv/bin/python .github/scripts/screenshot.py [--page catalog/explorer/] [--out FILE]

Serves ``site/`` on a loopback port, opens the page in Debian's headless Chromium (a CJK
font, e.g. fonts-noto-cjk, makes the Chinese titles legible) and writes a PNG.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import threading
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parents[2]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--page", default="", help="path under the site root, e.g. zh/")
    parser.add_argument("--out", type=Path, default=ROOT / ".github" / "screenshot.png")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    args = parser.parse_args()
    site = ROOT / "site"
    if not (site / "index.html").is_file():
        raise SystemExit("no built site in site/: run `make build` first")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/{args.page}"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                                 args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(url, wait_until="networkidle")
            page.screenshot(path=str(args.out))
            browser.close()
    finally:
        server.shutdown()
    print(f"{url} -> {args.out}")


if __name__ == "__main__":
    main()
