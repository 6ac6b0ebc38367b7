"""Small HTTP servers on loopback addresses (127.0.0.2, 127.0.0.3, ...) for the link checker's
tests: each records what it was asked, when, and how many requests it had in flight at once.
A server can speak HTTPS, with a certificate for atlas-fixture.org and atlas-fixture.net
(and their subdomains) from a test CA that only ``client_tls()`` trusts.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiohttp.abc import AbstractResolver

# A test CA and a server certificate it signed, both valid until 2126; never trusted
# outside these tests.
TEST_CA = """\
-----BEGIN CERTIFICATE-----
MIIBqzCCAVGgAwIBAgIUMo+ZUc2B9/hALnUNZKuqo3GAdd0wCgYIKoZIzj0EAwIw
IjEgMB4GA1UEAwwXQUlHQyBBdGxhcyB0ZXN0IGZhcm0gQ0EwIBcNMjYxMjAxMTEw
ODE4WhgPMjEyNjExMDcxMTA4MThaMCIxIDAeBgNVBAMMF0FJR0MgQXRsYXMgdGVz
dCBmYXJtIENBMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAESh/t57KJ1+Eeiw/y
S+J7/zQz4UV8Zb8O0q/VRYuD3BwB0zbGJF6XTQUGsPrkvAgNZHaRBFN5+PtFv19j
CKiJtaNjMGEwHQYDVR0OBBYEFC6bRii0FaT0PS79n9mN7PwALJx7MB8GA1UdIwQY
MBaAFC6bRii0FaT0PS79n9mN7PwALJx7MA8GA1UdEwEB/wQFMAMBAf8wDgYDVR0P
AQH/BAQDAgIEMAoGCCqGSM49BAMCA0gAMEUCIFV29Bp6H4rao0wmedfJPTTms39G
PtRIxrJBVKB1fMXcAiEAlwRymrOlg9lgrFQAcFe/OJi+IoyFmdbJ4/Lp3wGSeeQ=
-----END CERTIFICATE-----
"""
SERVER_CERTIFICATE = """\
-----BEGIN CERTIFICATE-----
MIICFDCCAbqgAwIBAgIUZ5DYkoZNnNS+NN3YJi7oUzUSXXgwCgYIKoZIzj0EAwIw
IjEgMB4GA1UEAwwXQUlHQyBBdGxhcyB0ZXN0IGZhcm0gQ0EwIBcNMjYxMjAxMTEw
ODE5WhgPMjEyNjExMDcxMTA4MTlaMBwxGjAYBgNVBAMMEWF0bGFzLWZpeHR1cmUu
b3JnMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE6+Em8kx5tjqmLR1B0vB3gLnG
WlfM5t5x+8l4FSpeDfPV4bb9wE3IQF5TUM4Xici44z9yMKHXu0xVFIi13F9e76OB
0TCBzjBZBgNVHREEUjBQghFhdGxhcy1maXh0dXJlLm9yZ4ITKi5hdGxhcy1maXh0
dXJlLm9yZ4IRYXRsYXMtZml4dHVyZS5uZXSCEyouYXRsYXMtZml4dHVyZS5uZXQw
DAYDVR0TAQH/BAIwADAOBgNVHQ8BAf8EBAMCB4AwEwYDVR0lBAwwCgYIKwYBBQUH
AwEwHwYDVR0jBBgwFoAULptGKLQVpPQ9Lv2f2Y3s/AAsnHswHQYDVR0OBBYEFDJK
yLA9Vv9AYv4e/nGVXn97avOQMAoGCCqGSM49BAMCA0gAMEUCIQCZ+v2h2y3tHyUJ
iQ7bVvB+JOKnpg0YnM/Yf6zsXh3G2gIgKhLBEHxyL/AHjnqhuAQPet71sbCDYMpb
Y3Zv1q6Cr1Y=
-----END CERTIFICATE-----
-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgZOOkb6hGT5paSbq6
EdVrlnzJ1o91u/G4V6lPpJ+5azShRANCAATr4SbyTHm2OqYtHUHS8HeAucZaV8zm
3nH7yXgVKl4N89Xhtv3ATchAXlNQzheJyLjjP3Iwode7TFUUiLXcX17v
-----END PRIVATE KEY-----
"""


def client_tls() -> ssl.SSLContext:
    """A client context that trusts the test CA only."""
    return ssl.create_default_context(cadata=TEST_CA)


def server_tls() -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.NamedTemporaryFile("w", suffix=".pem") as file:
        file.write(SERVER_CERTIFICATE)
        file.flush()
        context.load_cert_chain(file.name)
    return context


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

    def __init__(self, address: str, tls: bool = False) -> None:
        super().__init__((address, 0), Handler)
        self.scheme = "https" if tls else "http"
        if tls:
            self.socket = server_tls().wrap_socket(self.socket, server_side=True)
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
        return f"{self.scheme}://{host}:{port}"

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str, host: str | None = None) -> str:
        """The URL of ``path`` here, under the name ``host`` if given (it must resolve to
        this server's address)."""
        if host is None:
            return self.base + path
        return f"{self.scheme}://{host}:{self.port}{path}"

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
