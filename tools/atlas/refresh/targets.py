"""Which services an entry names: a GitHub repository, a PyPI package, a Hugging Face id.

The fields are the schema's (``repository``, ``pypi``, ``huggingface``); a repository on
another host (Gitee, GitLab) has no API here and is left alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

from atlas.catalog import Entry


class Service(str, Enum):
    """An API the run asks; the value is its key in metadata.json and on the command line."""

    GITHUB = "github"
    PYPI = "pypi"
    HUGGINGFACE = "huggingface"

    @property
    def label(self) -> str:
        return {"github": "GitHub", "pypi": "PyPI", "huggingface": "Hugging Face"}[self.value]


# https://github.com/owner/name, with or without .git, a trailing slash or a deeper path.
GITHUB_URL = re.compile(r"^https?://(?:www\.)?github\.com/([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/"
                        r"([A-Za-z0-9._-]{1,100}?)(?:\.git)?(?:[/?#].*)?$", re.IGNORECASE)


def github_repository(url: str | None) -> str | None:
    """``owner/name`` of a GitHub repository URL, or None for any other address."""
    match = GITHUB_URL.match(url or "")
    if not match or match.group(2) in (".", ".."):
        return None
    return f"{match.group(1)}/{match.group(2)}"


@dataclass(frozen=True)
class Targets:
    """What one entry can be asked about, per service (None: the entry names none)."""

    entry_id: str
    github: str | None = None  # owner/name as the entry writes it
    pypi: str | None = None
    huggingface: str | None = None  # owner/name
    hub_section: str = "models"  # "models" or "datasets" (the Hub's API path)

    @property
    def services(self) -> tuple[Service, ...]:
        return tuple(service for service in Service if getattr(self, service.value))

    @classmethod
    def of(cls, entry: Entry) -> Targets:
        return cls(entry.id, github_repository(entry.repository), entry.pypi, entry.huggingface,
                   "datasets" if entry.kind == "dataset" else "models")
