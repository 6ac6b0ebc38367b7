"""Small HTTP servers on loopback addresses (127.0.0.2, 127.0.0.3, ...) for the link checker's
tests: each records what it was asked, when, and how many requests it had in flight at once.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiohttp.abc import AbstractResolver


@dataclass
class Hit:
    method: str
    path: str
    started: float
    user_agent: str


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LoopbackServer

    def log_message(self, *args: object) -> None:
        pass

    def reply(self, status: int, body: bytes | str = b"", headers: dict[str, str] | None = None,
              content_type: str = "text/html; charset=utf-8") -> None:
        data = body.encode() if isinstance(body, str) else body
        self.stop_counting()  # before the client can see the answer and send the next one
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def handle_any(self) -> None:
        server = self.server
        path = self.path
        with server.lock:
            server.hits.append(Hit(self.command, path, time.monotonic(),
                                   self.headers.get("User-Agent", "")))
            server.active += 1
            server.max_active = max(server.max_active, server.active)
            if server.shared is not None:
                server.shared.enter()
        self.counted = True
        try:
            route = server.routes.get(path.split("?")[0])
            if route is None:
                self.reply(404, "not found")
            else:
                route(self)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            self.stop_counting()

    def stop_counting(self) -> None:
        """The request is no longer in flight once its answer starts to go out."""
        if getattr(self, "counted", False):
            self.counted = False
            with self.server.lock:
                self.server.active -= 1
                if self.server.shared is not None:
                    self.server.shared.leave()

    do_GET = do_HEAD = handle_any


class SharedCounter:
    """In-flight requests across several servers, for the global concurrency limit."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.active = self.max_active = 0

    def enter(self) -> None:
        with self.lock:
            self.active += 1
            self.max_active = max(self.max_active, self.active)

    def leave(self) -> None:
        with self.lock:
            self.active -= 1


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, address: str) -> None:
        super().__init__((address, 0), Handler)
        self.routes: dict[str, Callable[[Handler], None]] = {}
        self.hits: list[Hit] = []
        self.lock = threading.Lock()
        self.active = self.max_active = 0
        self.shared: SharedCounter | None = None
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def count(self, path: str | None = None, method: str | None = None) -> int:
        return sum(1 for hit in self.hits if (path is None or hit.path == path)
                   and (method is None or hit.method == method))

    def page(self, path: str, body: str = "<p>fine</p>", status: int = 200,
             headers: dict[str, str] | None = None, delay: float = 0.0) -> None:
        def route(handler: Handler) -> None:
            if delay:
                time.sleep(delay)
            handler.reply(status, body, headers)
        self.routes[path] = route

    def redirect(self, path: str, location: str, status: int = 301) -> None:
        self.page(path, "", status, {"Location": location})

    def stop(self) -> None:
        self.shutdown()
        self.server_close()


def closed_port(address: str) -> int:
    """A port on ``address`` that nothing listens on (connections are refused)."""
    with socket.socket() as sock:
        sock.bind((address, 0))
        return sock.getsockname()[1]


class ResettingServer:
    """Accepts connections and resets them at once (RST, not FIN)."""

    def __init__(self, address: str) -> None:
        self.sock = socket.socket()
        self.sock.bind((address, 0))
        self.sock.listen(16)
        self.sock.settimeout(0.2)
        self.running = True
        self.connections = 0
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        host, port = self.sock.getsockname()[:2]
        return f"http://{host}:{port}"

    def serve(self) -> None:
        while self.running:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.settimeout(1)
            with contextlib.suppress(OSError):
                conn.recv(65536)  # the request arrives; the answer is a reset
            conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            conn.close()

    def stop(self) -> None:
        self.running = False
        self.thread.join(1)
        self.sock.close()


class StaticResolver(AbstractResolver):
    """An aiohttp resolver that knows only the names it is given, all on loopback, and fails
    every other lookup as a DNS error would: no test ever asks a real DNS server."""

    def __init__(self, names: dict[str, str]) -> None:
        self.names = names

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list:
        address = self.names.get(host.lower())
        if address is None:
            raise OSError(socket.EAI_NONAME, "Name or service not known")
        return [{"hostname": host, "host": address, "port": port, "family": socket.AF_INET,
                 "proto": 0, "flags": socket.AI_NUMERICHOST}]

    async def close(self) -> None:
        pass
