"""Serve a folder over HTTP on a free loopback port, build a site into it, and keep serving
until a given process ends.

The test run's shared site (see ``start_site_build`` in conftest.py): it prints its port on
its first line of output, runs COMMAND with ATLAS_SITE_URL set to its own address (the build
writes into DIRECTORY; its output goes to LOG), writes COMMAND's exit status to EXIT
atomically, and serves DIRECTORY until process WATCH has exited, so that it outlives
whichever pytest-xdist worker started it but not the run.

    python tests/serve_site.py DIRECTORY WATCH LOG EXIT COMMAND...
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def main(directory: str, watch: int, log: str, exit_file: str, command: list[str]) -> None:
    handler = functools.partial(QuietHandler, directory=directory)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    port = server.server_address[1]
    print(port, flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    with open(log, "w") as out:
        status = subprocess.call(command, stdout=out, stderr=subprocess.STDOUT,
                                 env={**os.environ, "ATLAS_SITE_URL": f"http://127.0.0.1:{port}/"})
    partial = Path(exit_file + ".tmp")  # written whole, then renamed: readers see all or nothing
    partial.write_text(str(status), encoding="utf-8")
    partial.replace(exit_file)
    while alive(watch):
        time.sleep(0.5)
    server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5:])
