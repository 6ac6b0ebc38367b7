"""The other languages' builds under ``make serve``, in a second process that runs beside
the English build.

A rebuild that renders a few pages still costs MkDocs' passes over every page of both
languages, one after the other in one process, which uses one of the machine's cores.
Under ``mkdocs serve --dirty`` the English build therefore hands the other languages to a
process of their own as soon as its configuration is read, builds its own pages meanwhile,
and waits for that process before the server reloads the browser.

The process is started with the server's first build and lives as long as the server: it
keeps its own caches (``atlas.incremental``) from one rebuild to the next, loads the
catalog itself, and ends when its input closes. ``python -m atlas.alternates`` is that
process; it reads one request a line and answers one line, both JSON.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO, Any


@dataclass(frozen=True)
class AlternateBuild:
    """One alternate language's build, as the English build asks for it."""

    config_file: str
    site_dir: str
    site_url: str | None
    strict: bool
    cwd: str  # pymdownx.snippets includes files relative to it

    def run(self, dirty: bool, catalog: Any = None) -> None:
        """Build it, here, from ``catalog`` where the English build hands over the one it
        loaded (``atlas.catalog.Catalog``), else from the catalog's files."""
        from mkdocs.commands.build import build
        from mkdocs.config import load_config

        config = load_config(self.config_file, site_dir=self.site_dir, strict=self.strict,
                             site_url=self.site_url)
        if catalog is not None:
            config.extra["atlas"]["loaded_catalog"] = catalog
        build(config, dirty=dirty)


@dataclass(frozen=True)
class BuildOutcome:
    config_file: str
    error: str | None = None  # what went wrong, as the build said; None where it built


class AlternateProcess:
    """The process that builds the alternate languages, seen from the server's side."""

    def __init__(self) -> None:
        self.process: subprocess.Popen[str] | None = None
        self.asked: list[AlternateBuild] = []  # sent and not yet answered

    def start(self, builds: list[AlternateBuild]) -> None:
        """Ask for ``builds``, which the process starts on at once."""
        self.finish()  # a build that failed before waiting leaves answers unread
        if self.process is None or self.process.poll() is not None:
            self.process = self._spawn()
        assert self.process.stdin is not None
        try:
            for request in builds:
                self.process.stdin.write(json.dumps(asdict(request)) + "\n")
            self.process.stdin.flush()
        except OSError:  # it ended: finish() says so
            pass
        self.asked = list(builds)

    def finish(self) -> list[BuildOutcome]:
        """Wait for what was asked, and say how each build went."""
        outcomes = []
        for request in self.asked:
            line = ""
            if self.process is not None and self.process.stdout is not None:
                line = self.process.stdout.readline()
            if not line:
                self.stop()
                outcomes.append(BuildOutcome(request.config_file, "its build process ended "
                                             "(what it printed is above)"))
                continue
            outcomes.append(BuildOutcome(**json.loads(line)))
        self.asked = []
        return outcomes

    def stop(self) -> None:
        """End the process (it ends by itself when the server does: its input closes)."""
        process, self.process, self.asked = self.process, None, []
        if process is None:
            return
        for stream in (process.stdin, process.stdout):
            if stream is not None:
                stream.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    @staticmethod
    def _spawn() -> subprocess.Popen[str]:
        tools = str(Path(__file__).resolve().parents[1])
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": tools + (os.pathsep + path if path else "")}
        logger = logging.getLogger("mkdocs")
        colour = any(type(handler.formatter).__name__ == "ColorFormatter"
                     for handler in logger.handlers)
        return subprocess.Popen([sys.executable, "-m", "atlas.alternates",
                                 str(logger.getEffectiveLevel()), str(colour)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env,
                                text=True, encoding="utf-8", bufsize=1)


def build_requests(answers: IO[str], requests: IO[str]) -> None:
    """Build each request read from ``requests`` and answer it on ``answers``."""
    from atlas.incremental import STATE, pause_collector

    STATE.serving = STATE.alternate_process = True
    for line in requests:
        request = AlternateBuild(**json.loads(line))
        pause_collector()  # as the server's own process does on a save (incremental.py)
        error = None
        try:
            os.chdir(request.cwd)
            request.run(dirty=True)
        except Exception as failure:  # the server says what went wrong
            error = str(failure) or type(failure).__name__
        answers.write(json.dumps(asdict(BuildOutcome(request.config_file, error))) + "\n")
        answers.flush()


def main() -> None:
    """The process: MkDocs' log format (in colour or not) at the server's level, the answers
    on a stream of their own (whatever else prints goes where the server's messages go),
    and Ctrl-C left to the server, whose exit closes this process's input."""
    from mkdocs.__main__ import State

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    level, colour = (sys.argv[1:] + ["20", "True"])[:2]
    logging_state = State(level=int(level))
    if colour != "True":  # as MkDocs does where its output is not a terminal
        logging_state.stream.setFormatter(logging.Formatter("%(levelname)-8s-  %(message)s"))
    build_requests(answers, sys.stdin)
    del logging_state


if __name__ == "__main__":
    main()
