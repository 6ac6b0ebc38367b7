"""The settings of one run, with their defaults (the command line shows the same ones)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

from atlas import __version__

DEFAULT_USER_AGENT = f"AIGC-Atlas-linkcheck/{__version__} (the AIGC Atlas catalog's link checker)"
DEFAULT_CACHE = Path(".cache/atlas-linkcheck.json")


class UsageError(Exception):
    """Bad input from the command line: one line on stderr, exit status 2."""


@dataclass
class Options:
    max_concurrency: int = 32
    host_concurrency: int = 4
    host_interval: float = 0.1
    timeout: float = 20.0
    deadline: float = 900.0
    retries: int = 2
    retry_wait: float = 1.0
    max_retry_after: float = 60.0
    max_redirects: int = 10
    max_bytes: int = 10 * 1024 * 1024
    user_agent: str = DEFAULT_USER_AGENT
    exclude: list[re.Pattern[str]] = field(default_factory=list)
    blocked_is_broken: bool = False
    moved_is_broken: bool = False
    accept_timeouts: bool = False
    fail_after: int = 1
    cache_path: Path | None = DEFAULT_CACHE
    max_cache_age: float = 86400.0
