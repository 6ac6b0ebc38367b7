"""The three APIs: where to ask, what to keep of each answer, and the facts it gives.

* GitHub: ``GET /repos/{owner}/{name}`` (stars, forks, last push, archived, licence, and
  the current full name: a renamed repository answers with a 301 to its new address) and
  ``GET /repos/{owner}/{name}/releases?per_page=5`` (the newest release that is neither a
  draft nor a pre-release). The list, not ``/releases/latest``: for a repository without
  releases it is an empty 200 with an ETag, which a 304 answers next time, where the
  latter is a 404 that costs rate limit on every run.
* PyPI: ``GET /pypi/{name}/json``: the latest version and when its first file was uploaded.
* Hugging Face Hub: ``GET /api/models/{id}`` or ``/api/datasets/{id}``: downloads (last 30
  days), likes, last modified. The Hub answers 401 for a repository that does not exist.

What is kept of an answer (``extract_*``) is small and JSON: it is what the cache stores
for a later 304.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from atlas.refresh.client import Client
from atlas.refresh.metadata import GitHubFacts, HubFacts, PyPIFacts, Release, normal_stamp
from atlas.refresh.targets import Service, Targets

DEFAULT_BASES = {Service.GITHUB: "https://api.github.com", Service.PYPI: "https://pypi.org",
                 Service.HUGGINGFACE: "https://huggingface.co"}
# The environment can point a service elsewhere (the tests' loopback fakes).
BASE_ENVIRONMENT = {Service.GITHUB: "ATLAS_GITHUB_API", Service.PYPI: "ATLAS_PYPI_API",
                    Service.HUGGINGFACE: "ATLAS_HUGGINGFACE_API"}
RELEASES_PAGE = 5
HUB_GONE = frozenset({401, 404, 410})


def default_base(service: Service) -> str:
    return os.environ.get(BASE_ENVIRONMENT[service]) or DEFAULT_BASES[service]


def _path(text: str) -> str:
    return quote(text, safe="/")


# --- what is kept of each answer ----------------------------------------------------------

def extract_repository(body: Any) -> dict[str, Any]:
    licence = body.get("license") or {}
    return {"full_name": body["full_name"], "stars": body.get("stargazers_count"),
            "forks": body.get("forks_count"), "pushed": normal_stamp(body.get("pushed_at")),
            "archived": bool(body.get("archived")), "license": licence.get("spdx_id")}


def extract_releases(body: Any) -> dict[str, Any]:
    for release in body:
        if not release.get("draft") and not release.get("prerelease"):
            return {"tag": release["tag_name"],
                    "date": normal_stamp(release.get("published_at")
                                         or release.get("created_at"))}
    return {}


def extract_package(body: Any) -> dict[str, Any]:
    version = body["info"]["version"]
    files = body.get("urls") or (body.get("releases") or {}).get(version) or []
    times = sorted(filter(None, (normal_stamp(item.get("upload_time_iso_8601")
                                              or item.get("upload_time")) for item in files)))
    return {"version": version, "released": times[0] if times else None}


def extract_hub(body: Any) -> dict[str, Any]:
    return {"id": body.get("id") or body.get("modelId"), "downloads": body.get("downloads"),
            "likes": body.get("likes"), "modified": normal_stamp(body.get("lastModified"))}


# --- asking ---------------------------------------------------------------------------------

@dataclass
class Bases:
    github: str
    pypi: str
    huggingface: str

    def of(self, service: Service) -> str:
        base: str = getattr(self, service.value)
        return base.rstrip("/")


async def github(client: Client, bases: Bases, repository: str) -> GitHubFacts:
    base = bases.of(Service.GITHUB)
    # Both at once: an entry's two requests queue next to each other, so the entry is
    # complete before the next one starts, which matters when a limit stops the run.
    repo, releases = await asyncio.gather(
        client.get(Service.GITHUB, f"{base}/repos/{_path(repository)}", extract_repository),
        client.get(Service.GITHUB,
                   f"{base}/repos/{_path(repository)}/releases?per_page={RELEASES_PAGE}",
                   extract_releases))
    if repo.gone:
        return GitHubFacts(repository, missing=True)
    data, latest = repo.data, releases.data or {}
    return GitHubFacts(
        repository=data["full_name"], stars=data["stars"], forks=data["forks"],
        pushed=data["pushed"], archived=data["archived"], license=data["license"],
        release=Release(latest["tag"], latest.get("date")) if latest.get("tag") else None)


async def pypi(client: Client, bases: Bases, package: str) -> PyPIFacts:
    answer = await client.get(Service.PYPI, f"{bases.of(Service.PYPI)}/pypi/{_path(package)}/json",
                              extract_package)
    if answer.gone:
        return PyPIFacts(package, missing=True)
    return PyPIFacts(package, answer.data["version"], answer.data["released"])


async def huggingface(client: Client, bases: Bases, targets: Targets) -> HubFacts:
    assert targets.huggingface
    answer = await client.get(
        Service.HUGGINGFACE,
        f"{bases.of(Service.HUGGINGFACE)}/api/{targets.hub_section}/{_path(targets.huggingface)}",
        extract_hub)
    if answer.gone:
        return HubFacts(targets.huggingface, missing=True)
    data = answer.data
    return HubFacts(data["id"] or targets.huggingface, data["downloads"], data["likes"],
                    data["modified"])
