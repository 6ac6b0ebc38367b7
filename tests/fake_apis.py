"""A loopback fake of the three APIs `atlas refresh` asks: GitHub's REST API, PyPI's JSON API
and the Hugging Face Hub's, on one server (their paths do not overlap).

It behaves as the real services do where the refresh depends on it: an ETag on every
answer and 304 for a matching If-None-Match (free against the rate limit when the request
is authorised, as GitHub counts); GitHub's primary rate limit (X-RateLimit-Remaining and
X-RateLimit-Reset on every answer, 403 once spent, a fresh window at the reset); a renamed
repository answering 301 to /repositories/{id}; 404 for a deleted one, 401 from the Hub.
One-shot behaviours per path (``script``) give a secondary limit with Retry-After, a 500,
a reset connection or an answer that stalls halfway. Used by tests/test_refresh.py and
bench/refresh_bench.py.
"""

from __future__ import annotations

import hashlib
import json
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit


@dataclass
class Repo:
    id: int
    full_name: str
    stars: int = 10
    forks: int = 1
    pushed_at: str = "2026-11-01T12:00:00Z"
    archived: bool = False
    license: str | None = "MIT"
    releases: list[dict[str, Any]] = field(default_factory=list)

    def body(self) -> dict[str, Any]:
        return {"id": self.id, "full_name": self.full_name, "stargazers_count": self.stars,
                "forks_count": self.forks, "pushed_at": self.pushed_at,
                "archived": self.archived, "description": "x" * 200,
                "license": {"spdx_id": self.license} if self.license else None}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: FakeAPIs

    def log_message(self, *args: object) -> None:
        pass

    def setup(self) -> None:
        super().setup()
        # The head and the body go out as two writes: without this, Nagle's algorithm holds
        # the body back until the client acknowledges the head (40 ms of delayed ACK per
        # answer with a body), which is this server's cost, not the client's.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        fake = self.server
        with fake.lock:
            fake.requests += 1
            fake.hits[self.path] += 1
            fake.active += 1
            fake.max_active = max(fake.max_active, fake.active)
            if self.headers.get("Authorization"):
                fake.authorised += 1
            behaviour = fake.script.get(self.path, [])
            action = behaviour.pop(0) if behaviour else None
        try:
            if fake.latency:
                time.sleep(fake.latency)
            self.answer(action)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
        finally:
            with fake.lock:
                fake.active -= 1

    def send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None
             ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    def answer(self, action: str | None) -> None:
        fake = self.server
        path = urlsplit(self.path).path
        github = path.startswith(("/repos/", "/repositories/"))
        if action == "reset":
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                       struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        if action == "hang":  # the head and a few bytes, then nothing
            self.send_response(200)
            self.send_header("Content-Length", "100000")
            self.end_headers()
            self.wfile.write(b'{"full')
            self.wfile.flush()
            fake.stopping.wait(30)
            self.close_connection = True
            return
        if action == "500":
            self.send(500, b'{"message": "Server Error"}')
            return
        limit_headers: dict[str, str] = {}
        if github:
            with fake.lock:
                now = time.time()
                if now >= fake.reset_at:
                    fake.remaining, fake.reset_at = fake.limit, int(now) + fake.window
                limit_headers = {"X-RateLimit-Limit": str(fake.limit),
                                 "X-RateLimit-Remaining": str(fake.remaining),
                                 "X-RateLimit-Reset": str(int(fake.reset_at))}
                if fake.remaining <= 0:
                    fake.refused += 1
                    self.send(403, b'{"message": "API rate limit exceeded"}', limit_headers)
                    return
            if action and action.startswith("secondary"):
                wait = action.partition(":")[2] or "1"
                self.send(403, b'{"message": "You have exceeded a secondary rate limit."}',
                          {**limit_headers, "Retry-After": wait})
                return
        status, document, extra = self.route(path, urlsplit(self.path).query)
        body = json.dumps(document).encode()
        if status != 200:
            if github:
                self.spend(limit_headers)
            self.send(status, body, {**limit_headers, **extra})
            return
        etag = 'W/"' + hashlib.sha1(body).hexdigest()[:20] + '"'
        if self.headers.get("If-None-Match") == etag:
            free = github and bool(self.headers.get("Authorization"))
            with fake.lock:
                fake.not_modified += 1
            if github and not free:
                self.spend(limit_headers)
            self.send(304, b"", {**limit_headers, "ETag": etag})
            return
        if github:
            self.spend(limit_headers)
        self.send(200, body, {**limit_headers, "ETag": etag})

    def spend(self, headers: dict[str, str]) -> None:
        fake = self.server
        with fake.lock:
            fake.remaining -= 1
            fake.counted += 1
            headers["X-RateLimit-Remaining"] = str(fake.remaining)

    def route(self, path: str, query: str) -> tuple[int, Any, dict[str, str]]:
        fake = self.server
        parts = [unquote(part) for part in path.strip("/").split("/")]
        missing = {"message": "Not Found"}
        if parts[0] == "repos" and len(parts) >= 3:
            name = f"{parts[1]}/{parts[2]}".lower()
            rest = "/".join(parts[3:])
            if name in fake.renamed:
                where = f"/repositories/{fake.renamed[name]}" + (f"/{rest}" if rest else "") \
                    + (f"?{query}" if query else "")
                return 301, {"message": "Moved Permanently", "url": where}, {"Location": where}
            repo = fake.repos.get(name)
            return self.repo(repo, rest) if repo else (404, missing, {})
        if parts[0] == "repositories" and len(parts) >= 2 and parts[1].isdigit():
            repo = fake.by_id().get(int(parts[1]))
            return self.repo(repo, "/".join(parts[2:])) if repo else (404, missing, {})
        if parts[0] == "pypi" and len(parts) == 3 and parts[2] == "json":
            package = fake.packages.get(parts[1].lower())
            if package is None:
                return 404, {"message": "Not Found"}, {}
            files = [{"filename": f"{parts[1]}-{package['version']}.tar.gz",
                      "upload_time_iso_8601": package["released"]}]
            return 200, {"info": {"name": parts[1], "version": package["version"]},
                         "urls": files, "releases": {package["version"]: files}}, {}
        if parts[0] == "api" and len(parts) >= 4 and parts[1] in ("models", "datasets"):
            hub_id = f"{parts[2]}/{parts[3]}"
            item = fake.hub.get((parts[1], hub_id.lower()))
            if item is None:
                return 401, {"error": "Repository Not Found"}, {}
            return 200, {"id": hub_id, **item}, {}
        return 404, missing, {}

    def repo(self, repo: Repo, rest: str) -> tuple[int, Any, dict[str, str]]:
        if rest == "":
            return 200, repo.body(), {}
        if rest == "releases":
            return 200, repo.releases, {}
        return 404, {"message": "Not Found"}, {}


class FakeAPIs(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    request_queue_size = 128

    def __init__(self, address: str = "127.0.0.1", latency: float = 0.0, limit: int = 5000,
                 window: float = 3600.0) -> None:
        super().__init__((address, 0), Handler)
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.latency = latency
        self.limit, self.window = limit, window
        self.remaining, self.reset_at = limit, time.time() + window
        self.repos: dict[str, Repo] = {}
        self.renamed: dict[str, int] = {}
        self.packages: dict[str, dict[str, str]] = {}
        self.hub: dict[tuple[str, str], dict[str, Any]] = {}
        self.script: dict[str, list[str]] = {}
        self.reset_counters()
        self.thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": 0.05},
                                       daemon=True)
        self.thread.start()

    def reset_counters(self) -> None:
        self.requests = self.counted = self.not_modified = self.refused = self.authorised = 0
        self.active = self.max_active = 0
        self.hits: Counter[str] = Counter()

    @property
    def base(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def by_id(self) -> dict[int, Repo]:
        return {repo.id: repo for repo in self.repos.values()}

    def add_repo(self, full_name: str, **facts: Any) -> Repo:
        repo = Repo(len(self.repos) + 1000, full_name, **facts)
        self.repos[full_name.lower()] = repo
        return repo

    def rename(self, old: str, new: str) -> None:
        """``old`` now answers with a 301 to the repository ``new``."""
        repo = self.repos.pop(old.lower())
        repo.full_name = new
        self.repos[new.lower()] = repo
        self.renamed[old.lower()] = repo.id

    def stop(self) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()
