"""Serve a folder over HTTP on a free loopback port until a given process ends.

The test run's shared site server (see ``shared_site`` in conftest.py): it prints its port on
its first line of output, then serves DIRECTORY until process WATCH has exited, so that it
outlives whichever pytest-xdist worker started it but not the run.

    python tests/serve_site.py DIRECTORY WATCH
"""

from __future__ import annotations

import functools
import os
import sys
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer


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


def main(directory: str, watch: int) -> None:
    handler = functools.partial(QuietHandler, directory=directory)
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    print(server.server_address[1], flush=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    while alive(watch):
        time.sleep(0.5)
    server.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
