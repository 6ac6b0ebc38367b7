"""`atlas linkcheck` over HTTP, against servers on 127.0.0.2, 127.0.0.3, ... (never the
internet): verdicts, the hard cases, politeness as the server sees it, the cache and the
failure history. Timeouts and waits are set small through the command's options."""

from __future__ import annotations

import email.utils
import json
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from atlas.cli import main
from atlas.linkcheck import http, run
from atlas.linkcheck.cache import Cache
from atlas.linkcheck.model import Link
from atlas.linkcheck.urls import split_url
from loopback_http import (
    Handler,
    LoopbackServer,
    ResettingServer,
    SharedCounter,
    StaticResolver,
    closed_port,
)

pytestmark = pytest.mark.timeout(60)

FAST = ["--timeout", "1", "--retries", "1", "--retry-wait", "0.05", "--host-interval", "0",
        "--no-progress"]


@pytest.fixture
def names(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Host names the checker may resolve (each to a loopback address); any other name
    fails as an unknown name would."""
    table: dict[str, str] = {}
    monkeypatch.setattr(http, "make_resolver", lambda: StaticResolver(table))
    return table


@pytest.fixture
def serve(names: dict[str, str]) -> Iterator[Callable[[], LoopbackServer]]:
    """Start servers on 127.0.0.2, 127.0.0.3, ..."""
    started: list[LoopbackServer] = []

    def start() -> LoopbackServer:
        server = LoopbackServer(f"127.0.0.{len(started) + 2}")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def check(tmp_path: Path, capsys: pytest.CaptureFixture[str], names: dict[str, str]
          ) -> Callable[..., tuple[int, dict]]:
    """Run `atlas linkcheck --format json` in-process on URLs (via a text file) and options;
    host names resolve only through ``names`` (never a real DNS server)."""
    cache = tmp_path / "cache.json"

    def run(urls: list[str], *options: str) -> tuple[int, dict]:
        listing = tmp_path / "urls.txt"
        listing.write_text("\n".join(urls) + "\n", encoding="utf-8")
        status = main(["linkcheck", str(listing), "--format", "json", "--cache", str(cache),
                       *FAST, *options])
        out = capsys.readouterr().out
        return status, json.loads(out)

    return run


def by_url(report: dict) -> dict[str, dict]:
    return {result["url"]: result for result in report["results"]}


# ---------------------------------------------------------------------------------------
# Verdicts and exit status


def test_ok_moved_redirected_and_broken_verdicts(serve, check) -> None:
    server = serve()
    server.page("/ok")
    server.redirect("/moved", "/ok", 301)
    server.redirect("/hop1", "/hop2", 302)
    server.redirect("/hop2", "/ok", 307)
    server.page("/gone", status=410)
    urls = [server.url(p) for p in ("/ok", "/moved", "/hop1", "/missing", "/gone")]
    status, report = check(urls)
    results = by_url(report)
    assert status == 1
    assert results[urls[0]]["verdict"] == "ok" and results[urls[0]]["status"] == 200
    moved = results[urls[1]]
    assert moved["verdict"] == "moved" and moved["final_url"] == server.url("/ok")
    assert moved["moved_to"] == server.url("/ok")
    assert [hop["status"] for hop in moved["redirects"]] == [301]
    chain = results[urls[2]]
    assert chain["verdict"] == "redirected"
    assert [(hop["url"], hop["status"]) for hop in chain["redirects"]] == [
        (server.url("/hop1"), 302), (server.url("/hop2"), 307)]
    assert results[urls[3]]["verdict"] == "broken" and results[urls[3]]["status"] == 404
    assert results[urls[4]]["verdict"] == "broken" and results[urls[4]]["status"] == 410
    assert report["summary"]["failing"] == 2


def test_exit_zero_when_nothing_is_broken(serve, check) -> None:
    server = serve()
    server.page("/ok")
    status, report = check([server.url("/ok")])
    assert status == 0 and report["summary"]["ok"] == 1


@pytest.mark.parametrize("arguments", [
    ["no-such-file.txt"],
    ["--timeout", "0"],
    ["--exclude", "("],
    ["--max-cache-age", "soon"],
    ["--no-cache", "--fail-after", "3", "http://127.0.0.2:1/"],
])
def test_usage_errors_exit_2(arguments: list[str], capsys) -> None:
    try:
        status = main(["linkcheck", *arguments])
    except SystemExit as exited:  # argparse rejects bad option values by exiting
        status = exited.code
    assert status == 2
    err = capsys.readouterr().err
    assert err.strip() and "Traceback" not in err


def test_usage_errors_return_2(capsys) -> None:
    assert main(["linkcheck", "no-such-file.txt"]) == 2
    assert "no-such-file.txt: no such file or folder" in capsys.readouterr().err


def test_persistent_5xx_is_retried_then_broken_and_transient_5xx_passes(serve, check) -> None:
    server = serve()
    server.page("/down", status=500)
    answers = iter([503, 503, 200])
    server.routes["/flaky"] = lambda h: h.reply(next(answers, 200))
    status, report = check([server.url("/down"), server.url("/flaky")], "--retries", "2")
    results = by_url(report)
    assert results[server.url("/down")]["verdict"] == "broken"
    assert results[server.url("/down")]["status"] == 500
    assert server.count("/down", "GET") == 3  # HEAD erred, GET, then 2 retries
    assert results[server.url("/flaky")]["verdict"] == "ok"
    assert status == 1


def test_refused_reset_and_unknown_host_are_broken(serve, check, names) -> None:
    refused = f"http://127.0.0.2:{closed_port('127.0.0.2')}/"
    resetting = ResettingServer("127.0.0.3")
    reset = resetting.base + "/"
    try:
        unknown = "http://no-such-host.atlas-fixture.net/page"
        status, report = check([refused, reset, unknown])
    finally:
        resetting.stop()
    results = by_url(report)
    assert status == 1
    assert "cannot connect" in results[refused]["error"]
    assert results[reset]["verdict"] == "broken"
    assert "connect" in results[reset]["error"]
    assert resetting.connections >= 2  # a lost connection is retried
    assert results[unknown]["verdict"] == "broken"
    assert "DNS" in results[unknown]["error"]


def test_redirect_loop_and_too_many_hops_are_broken(serve, check) -> None:
    server = serve()
    server.redirect("/a", "/b")
    server.redirect("/b", "/a")
    for hop in range(5):
        server.redirect(f"/chain{hop}", f"/chain{hop + 1}", 302)
    server.page("/chain5")
    status, report = check([server.url("/a"), server.url("/chain0")], "--max-redirects", "3")
    results = by_url(report)
    assert "loop" in results[server.url("/a")]["error"]
    assert "more than 3 redirects" in results[server.url("/chain0")]["error"]
    assert status == 1


def test_blocked_is_not_broken_unless_asked(serve, check) -> None:
    server = serve()
    server.page("/wall", status=403)
    server.page("/linkedin", status=999)
    server.page("/challenge", status=503, headers={"cf-mitigated": "challenge"})
    urls = [server.url(p) for p in ("/wall", "/linkedin", "/challenge")]
    status, report = check(urls)
    assert status == 0
    assert {r["verdict"] for r in report["results"]} == {"blocked"}
    assert server.count("/challenge", "GET") == 1  # a challenge is not retried
    status, _ = check(urls, "--blocked-is-broken")
    assert status == 1


def test_excluded_and_unsupported_make_no_request(serve, check) -> None:
    server = serve()
    server.page("/private")
    status, report = check([server.url("/private"), "mailto:someone@atlas-fixture.net",
                            "data:text/plain,hi", "ftp://files.atlas-fixture.net/x"],
                           "--exclude", "/private$")
    verdicts = {r["url"]: r["verdict"] for r in report["results"]}
    assert verdicts[server.url("/private")] == "excluded"
    assert [verdicts[u] for u in ("mailto:someone@atlas-fixture.net", "data:text/plain,hi",
                                  "ftp://files.atlas-fixture.net/x")] == ["unsupported"] * 3
    assert server.count() == 0 and status == 0


# ---------------------------------------------------------------------------------------
# The hard cases


@pytest.mark.parametrize("refusal", [405, 501])
def test_get_when_head_is_refused_or_errs(serve, check, refusal: int) -> None:
    server = serve()

    def no_head(handler: Handler) -> None:
        handler.reply(refusal if handler.command == "HEAD" else 200, "<p>ok</p>")

    def lying_head(handler: Handler) -> None:
        handler.reply(404 if handler.command == "HEAD" else 200, "<p>ok</p>")

    server.routes["/no-head"] = no_head
    server.routes["/lying-head"] = lying_head
    status, report = check([server.url("/no-head"), server.url("/lying-head")])
    assert status == 0
    assert server.count("/no-head", "GET") == 1 and server.count("/lying-head", "GET") == 1
    other = serve()
    other.page("/plain")
    status, report = check([other.url("/plain")])
    assert other.count("/plain", "HEAD") == 1 and other.count("/plain", "GET") == 0


def test_huge_body_is_never_downloaded(serve, check) -> None:
    server = serve()
    sent = {"bytes": 0}

    def huge(handler: Handler) -> None:
        if handler.command == "HEAD":
            handler.reply(405)
            return
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.send_header("Content-Length", str(10**10))
        handler.end_headers()
        chunk = b"<p id='start'>" + b"x" * 65536
        for _ in range(20_000):  # 1.3 GB if the client kept reading
            handler.wfile.write(chunk)
            sent["bytes"] += len(chunk)

    server.routes["/huge"] = huge
    status, report = check([server.url("/huge"), server.url("/huge#start")],
                           "--max-bytes", "200000")
    assert status == 0, report
    time.sleep(0.3)
    assert sent["bytes"] < 64 * 2**20  # what socket buffers held, not the body


def test_total_deadline_per_request_against_trickling_and_hanging(serve, check) -> None:
    server = serve()

    def trickle(handler: Handler) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(40):  # one byte of header every 0.25 s, for 10 s
            handler.wfile.write(b"X")
            handler.wfile.flush()
            time.sleep(0.25)

    server.routes["/trickle"] = trickle
    server.page("/hang", delay=10)
    started = time.monotonic()
    status, report = check([server.url("/trickle"), server.url("/hang")], "--retries", "0")
    assert time.monotonic() - started < 5
    results = by_url(report)
    for url in (server.url("/trickle"), server.url("/hang")):
        assert results[url]["verdict"] == "broken"
        assert "timed out" in results[url]["error"]
    assert status == 1
    status, _ = check([server.url("/hang")], "--retries", "0", "--accept-timeouts")
    assert status == 0


def test_run_deadline_ends_the_run(serve, check) -> None:
    server = serve()
    server.page("/hang", delay=10)
    server.page("/ok")
    started = time.monotonic()
    status, report = check([server.url("/hang"), server.url("/ok")], "--timeout", "30",
                           "--deadline", "1.5")
    assert time.monotonic() - started < 5
    results = by_url(report)
    assert "deadline" in results[server.url("/hang")]["error"]
    assert results[server.url("/ok")]["verdict"] == "ok"
    assert status == 1


def test_fragments_from_a_single_fetch(serve, check) -> None:
    server = serve()
    server.page("/doc", """<html><body><h1 id="intro">Intro</h1><a name="legacy"></a>
        <h2 id="café">Café</h2><h2 id="中文标题">标题</h2></body></html>""")
    base = server.url("/doc")
    good = [base + f for f in ("#intro", "#legacy", "#caf%C3%A9", "#中文标题", "#", "#top",
                               "#%E4%B8%AD%E6%96%87%E6%A0%87%E9%A2%98")]
    bad = base + "#missing"
    status, report = check([*good, bad])
    verdicts = {r["url"]: r["verdict"] for r in report["results"]}
    assert all(verdicts[url] == "ok" for url in good), verdicts
    assert verdicts[bad] == "broken"
    assert "no anchor #missing" in by_url(report)[bad]["error"]
    assert server.count("/doc") == 1 and server.count("/doc", "GET") == 1
    assert status == 1


def test_fragment_after_redirect_is_checked_on_the_final_page(serve, check) -> None:
    server = serve()
    server.redirect("/old", "/new")
    server.page("/new", '<h2 id="here">x</h2>')
    status, report = check([server.url("/old#here"), server.url("/old#gone")])
    verdicts = {r["url"]: r["verdict"] for r in report["results"]}
    assert verdicts[server.url("/old#here")] == "moved"
    assert by_url(report)[server.url("/old#here")]["moved_to"] == server.url("/new#here")
    assert verdicts[server.url("/old#gone")] == "broken"


@pytest.mark.parametrize("code", [301, 302, 303, 307, 308])
def test_each_redirect_status_relative_location(serve, check, code: int) -> None:
    server = serve()
    server.redirect("/docs/old/page", "../new/page", code)
    server.page("/docs/new/page")
    status, report = check([server.url("/docs/old/page")])
    result = report["results"][0]
    assert result["verdict"] == ("moved" if code in (301, 308) else "redirected"), result
    assert result["final_url"] == server.url("/docs/new/page")
    assert result["redirects"] == [{"url": server.url("/docs/old/page"), "status": code}]
    assert status == 0


def test_redirect_across_hosts_takes_the_new_hosts_slot(serve, check) -> None:
    first, second = serve(), serve()
    second.page("/landing", delay=0.1)
    for index in range(6):
        first.redirect(f"/go{index}", second.url("/landing"), 302)
    urls = [first.url(f"/go{index}") for index in range(6)]
    status, report = check(urls, "--host-concurrency", "2")
    assert {r["verdict"] for r in report["results"]} == {"redirected"}
    assert second.count("/landing") == 6
    assert second.max_active <= 2


def test_duplicates_are_checked_once(serve, check, names) -> None:
    server = serve()
    names["docs.atlas-fixture.net"] = "127.0.0.2"
    port = server.server_address[1]
    server.page("/page", '<p id="a">a</p><p id="b">b</p>')
    urls = [f"http://docs.atlas-fixture.net:{port}/page",
            f"http://Docs.ATLAS-fixture.net:{port}/page#a",
            f"HTTP://docs.atlas-fixture.net:{port}/page#b",
            f"http://docs.atlas-fixture.net:{port}/page#a"]
    status, report = check(urls)
    assert status == 0
    assert server.count("/page") == 1
    assert report["summary"]["unique_urls"] == 1


def test_normalization_for_fetching() -> None:
    split = split_url
    assert split("HTTP://Example.ORG:80/a#x") == ("http://example.org/a", "x")
    assert split("https://example.org:443") == ("https://example.org/", None)
    assert split("https://example.org:8443/a?q=1#") == ("https://example.org:8443/a?q=1", "")
    assert split("https://www.example.org/a/")[0] != split("https://example.org/a")[0]
    assert split("https://zh.example.org/wiki/深度学习")[0] == (
        "https://zh.example.org/wiki/%E6%B7%B1%E5%BA%A6%E5%AD%A6%E4%B9%A0")
    assert split("https://example.org/a%2fb%20c?q=%e4")[0] == "https://example.org/a%2Fb%20c?q=%E4"
    assert split("https://bücher.example/x")[0] == "https://xn--bcher-kva.example/x"


def test_unicode_paths_are_sent_percent_encoded_and_deduplicated(serve, check) -> None:
    server = serve()
    server.page("/wiki/%E6%B7%B1%E5%BA%A6%E5%AD%A6%E4%B9%A0")
    status, report = check([server.url("/wiki/深度学习"),
                            server.url("/wiki/%e6%b7%b1%e5%ba%a6%e5%ad%a6%e4%b9%a0")])
    assert status == 0 and server.count() == 1


# ---------------------------------------------------------------------------------------
# 429 and Retry-After


def test_rate_limited_after_honouring_retry_after(serve, check) -> None:
    server = serve()
    server.page("/busy", status=429, headers={"Retry-After": "1"})
    status, report = check([server.url("/busy")], "--retries", "1")
    result = report["results"][0]
    assert result["verdict"] == "rate_limited" and status == 0
    hits = [hit for hit in server.hits if hit.path == "/busy"]
    assert len(hits) == 2 and hits[1].started - hits[0].started >= 0.9


def test_retry_after_as_http_date_then_ok(serve, check) -> None:
    server = serve()
    calls = {"n": 0}

    def once(handler: Handler) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            when = email.utils.formatdate(time.time() + 1.5, usegmt=True)
            handler.reply(429, headers={"Retry-After": when})
        else:
            handler.reply(200)

    server.routes["/once"] = once
    status, report = check([server.url("/once")])
    assert report["results"][0]["verdict"] == "ok" and status == 0
    hits = [hit for hit in server.hits if hit.path == "/once"]
    assert len(hits) == 2 and hits[1].started - hits[0].started >= 0.4


def test_retry_after_beyond_the_cap_is_not_waited_for(serve, check) -> None:
    server = serve()
    server.page("/later", status=429, headers={"Retry-After": "3600"})
    started = time.monotonic()
    status, report = check([server.url("/later")], "--max-retry-after", "5")
    assert time.monotonic() - started < 5
    assert report["results"][0]["verdict"] == "rate_limited"
    assert server.count("/later") == 1


def test_429_pauses_the_whole_host(serve, check) -> None:
    server = serve()
    calls = {"n": 0}

    def first(handler: Handler) -> None:
        calls["n"] += 1
        handler.reply(429 if calls["n"] == 1 else 200, headers={"Retry-After": "1"})

    server.routes["/first"] = first
    server.page("/second")
    status, report = check([server.url("/first"), server.url("/second")],
                           "--host-concurrency", "1")
    assert status == 0
    first_hit = next(hit for hit in server.hits if hit.path == "/first")
    second_hit = next(hit for hit in server.hits if hit.path == "/second")
    assert second_hit.started - first_hit.started >= 0.9


def test_parse_retry_after() -> None:
    assert http.parse_retry_after("7") == 7
    assert http.parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0
    when = email.utils.formatdate(1_000_030, usegmt=True)
    assert http.parse_retry_after(when, now=1_000_000) == pytest.approx(30)
    assert http.parse_retry_after("soon") is None


# ---------------------------------------------------------------------------------------
# Politeness as the server sees it


def test_host_concurrency_limit_seen_by_the_server(serve, check) -> None:
    server = serve()
    for index in range(24):
        server.page(f"/p{index}", delay=0.1)
    status, report = check([server.url(f"/p{index}") for index in range(24)],
                           "--host-concurrency", "3", "--max-concurrency", "50")
    assert status == 0
    assert server.max_active == 3


def test_global_concurrency_limit_across_hosts(serve, check) -> None:
    shared = SharedCounter()
    urls = []
    for _ in range(3):
        server = serve()
        server.shared = shared
        for index in range(10):
            server.page(f"/p{index}", delay=0.1)
            urls.append(server.url(f"/p{index}"))
    status, _ = check(urls, "--host-concurrency", "4", "--max-concurrency", "5")
    assert status == 0
    assert shared.max_active == 5


def test_minimum_interval_between_requests_to_a_host(serve, check) -> None:
    server = serve()
    for index in range(4):
        server.page(f"/p{index}")
    check([server.url(f"/p{index}") for index in range(4)], "--host-interval", "0.2")
    starts = sorted(hit.started for hit in server.hits)
    assert all(b - a >= 0.15 for a, b in zip(starts, starts[1:], strict=False))


def test_user_agent_names_the_project_and_can_be_overridden(serve, check) -> None:
    server = serve()
    server.page("/ok")
    check([server.url("/ok")])
    assert "AIGC-Atlas" in server.hits[0].user_agent
    check([server.url("/ok")], "--user-agent", "custom-agent/1", "--no-cache")
    assert server.hits[-1].user_agent == "custom-agent/1"


# ---------------------------------------------------------------------------------------
# Cache and failure history


def test_cache_skips_fine_urls_and_rechecks_failures(serve, check) -> None:
    server = serve()
    server.page("/ok", '<p id="a">a</p><p id="b">b</p>')
    server.redirect("/moved", "/ok")
    server.page("/busy", status=429, headers={"Retry-After": "0"})
    urls = [server.url("/ok#a"), server.url("/moved"), server.url("/missing"),
            server.url("/busy")]
    check(urls, "--retries", "0")
    before = {path: server.count(path) for path in ("/ok", "/moved", "/missing", "/busy")}
    status, report = check([*urls, server.url("/ok#b")], "--retries", "0")
    after = {path: server.count(path) for path in ("/ok", "/moved", "/missing", "/busy")}
    assert after["/ok"] == before["/ok"] and after["/moved"] == before["/moved"]
    assert after["/missing"] > before["/missing"] and after["/busy"] > before["/busy"]
    results = by_url(report)
    assert results[server.url("/ok#b")]["cached"]
    assert results[server.url("/ok#b")]["verdict"] == "ok"
    assert results[server.url("/moved")]["verdict"] == "moved"
    # Past the maximum age everything is asked again.
    check(urls, "--retries", "0", "--max-cache-age", "0")
    assert server.count("/ok") > after["/ok"]


def test_failure_history_reports_dead_only_after_n_runs(serve, check) -> None:
    server = serve()
    server.page("/sometimes", status=500)
    url = server.url("/sometimes")
    status, report = check([url], "--fail-after", "2", "--retries", "0")
    result = report["results"][0]
    assert status == 0 and result["verdict"] == "broken" and result["failed_runs"] == 1
    assert not result["failing"]
    status, report = check([url], "--fail-after", "2", "--retries", "0")
    assert status == 1 and report["results"][0]["failed_runs"] == 2
    server.page("/sometimes")  # it recovers: the history is cleared
    status, report = check([url], "--fail-after", "2", "--retries", "0")
    assert status == 0 and report["results"][0]["failed_runs"] == 0
    server.page("/sometimes", status=500)
    status, report = check([url], "--fail-after", "2", "--retries", "0", "--max-cache-age", "0")
    assert status == 0 and report["results"][0]["failed_runs"] == 1


def test_corrupt_cache_file_is_replaced(serve, check, tmp_path: Path, capsys) -> None:
    server = serve()
    server.page("/ok")
    (tmp_path / "cache.json").write_text("{not json", encoding="utf-8")
    status, report = check([server.url("/ok")])
    assert status == 0
    assert json.loads((tmp_path / "cache.json").read_text())["version"] == 2


def test_links_broken_last_run_go_first_slowest_first(tmp_path: Path) -> None:
    cache = Cache(None, 0, [])
    links = {}
    for url in ("http://a.example.org/1", "http://b.example.org/2", "http://a.example.org/3",
                "http://a.example.org/4"):
        link = Link(url, *split_url(url))
        links[link.fetch_url] = [link]
    cache.failures = {"http://a.example.org/3": {"runs": 1, "elapsed": 0.2},
                      "http://a.example.org/4": {"runs": 1, "elapsed": 5.0}}
    order = [group[0].url for group in run.queue_order(links, cache.previous_elapsed)]
    assert order == ["http://a.example.org/4", "http://a.example.org/3",
                     "http://a.example.org/1", "http://b.example.org/2"]


def test_transient_dns_failure_is_retried(serve, check, monkeypatch) -> None:
    server = serve()
    server.page("/ok")
    lookups = []

    class FlakyResolver(StaticResolver):
        async def resolve(self, host: str, port: int = 0, family: int = socket.AF_INET) -> list:
            lookups.append(host)
            if len(lookups) == 1:
                raise OSError(socket.EAI_AGAIN, "Temporary failure in name resolution")
            return await super().resolve(host, port, family)

    monkeypatch.setattr(http, "make_resolver",
                        lambda: FlakyResolver({"flaky-dns.atlas-fixture.net": "127.0.0.2"}))
    port = server.server_address[1]
    status, report = check([f"http://flaky-dns.atlas-fixture.net:{port}/ok"])
    assert status == 0 and len(lookups) == 2
