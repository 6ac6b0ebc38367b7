"""The weekly refresh's scripts (.github/scripts/refresh-*.sh) run for real against a local
git remote and a stand-in for the `gh` command that records what it is asked: one pull
request from atlas/metadata, opened, updated or closed; main never pushed; one issue with
the findings and the moved URLs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import ROOT

pytestmark = pytest.mark.skipif(not (shutil.which("bash") and shutil.which("git")),
                                reason="needs bash and git")

GH_STUB = """#!/usr/bin/env bash
# Records each call (a --body-file's text too); `gh pr list` and `gh issue list` answer
# $GH_NUMBER: the number of the open one, or nothing.
{ printf 'gh'; printf ' %s' "$@"; echo; } >> "$GH_LOG"
case "$*" in *" list "*) printf '%s' "${GH_NUMBER:-}";; esac
while [ $# -gt 0 ]; do
  if [ "$1" = --body-file ]; then cat "$2" >> "$GH_LOG"; fi
  shift
done
"""


def sh(*args: str, cwd: Path, env: dict[str, str] | None = None) -> str:
    result = subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=60,
                            env=env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> dict[str, Path]:
    remote, work, stubs = tmp_path / "remote.git", tmp_path / "work", tmp_path / "bin"
    sh("git", "init", "-q", "--bare", "-b", "main", str(remote), cwd=tmp_path)
    sh("git", "init", "-q", "-b", "main", str(work), cwd=tmp_path)
    (work / "catalog").mkdir()
    (work / "catalog" / "topics.yaml").write_text("topics: []\n", encoding="utf-8")
    for command in (["add", "."], ["-c", "user.name=t", "-c", "user.email=t@example.org",
                                   "commit", "-q", "-m", "start"],
                    ["push", "-q", str(remote), "main"]):
        sh("git", *command, cwd=work)
    stubs.mkdir()
    gh = stubs / "gh"
    gh.write_text(GH_STUB, encoding="utf-8")
    gh.chmod(0o755)
    return {"remote": remote, "work": work, "bin": stubs, "log": tmp_path / "gh.log"}


def run_script(repo: dict[str, Path], name: str, *args: str, number: str = ""
               ) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{repo['bin']}:{os.environ['PATH']}",
           "GH_LOG": str(repo["log"]), "GH_NUMBER": number, "GH_REPO": "owner/atlas",
           "GH_TOKEN": "", "REFRESH_REMOTE": str(repo["remote"]),
           "GIT_CONFIG_GLOBAL": os.devnull}
    repo["log"].write_text("", encoding="utf-8")
    return subprocess.run([str(ROOT / ".github/scripts" / name), *args], cwd=repo["work"],
                          capture_output=True, text=True, timeout=60, env=env)


def test_one_pull_request_from_its_own_branch(repo: dict[str, Path]) -> None:
    work, remote = repo["work"], repo["remote"]
    main_before = sh("git", "rev-parse", "main", cwd=remote)
    (work / "report.md").write_text("# Catalog health\n\nnothing\n", encoding="utf-8")
    metadata = work / "catalog" / "metadata.json"
    metadata.write_text('{"version": 1}\n', encoding="utf-8")
    result = run_script(repo, "refresh-pr.sh", "catalog/metadata.json", "report.md")
    assert result.returncode == 0, result.stderr
    log = repo["log"].read_text(encoding="utf-8")
    assert "gh pr create --base main --head atlas/metadata" in log and "# Catalog health" in log
    assert sh("git", "rev-parse", "main", cwd=remote) == main_before, "main is never pushed"
    assert sh("git", "show", "atlas/metadata:catalog/metadata.json", cwd=remote) == \
        '{"version": 1}'
    assert sh("git", "rev-list", "--count", "main..atlas/metadata", cwd=remote) == "1"

    # Next week, from main again: the same branch is rewritten, the open PR updated.
    sh("git", "checkout", "-q", "main", cwd=work)
    metadata.write_text('{"version": 1, "x": 2}\n', encoding="utf-8")
    result = run_script(repo, "refresh-pr.sh", "catalog/metadata.json", "report.md",
                        number="7")
    assert result.returncode == 0, result.stderr
    log = repo["log"].read_text(encoding="utf-8")
    assert "gh pr edit 7 --body-file" in log and "pr create" not in log
    assert sh("git", "rev-list", "--count", "main..atlas/metadata", cwd=remote) == "1"
    assert '"x": 2' in sh("git", "show", "atlas/metadata:catalog/metadata.json", cwd=remote)

    # main already has this file: the pull request is closed, nothing is pushed.
    sh("git", "checkout", "-q", "main", cwd=work)
    metadata.unlink(missing_ok=True)  # as on main, which has no such file
    result = run_script(repo, "refresh-pr.sh", "catalog/metadata.json", "report.md",
                        number="7")
    assert result.returncode == 0, result.stderr
    assert "gh pr close 7 --delete-branch" in repo["log"].read_text(encoding="utf-8")


def test_one_tracking_issue_with_findings_and_moves(repo: dict[str, Path]) -> None:
    work = repo["work"]
    (work / "report.md").write_text("# Catalog health\n\n| `x` | archived |\n", "utf-8")
    moved = {"results": [
        {"url": "https://lmarena.ai/", "verdict": "moved", "final_url": "https://new.example/x",
         "moved_to": "https://new.example/",
         "sources": [{"file": "catalog/website/lmarena.yaml", "line": 4, "field": "url"}]},
        {"url": "https://fine.example/", "verdict": "ok", "sources": []}]}
    (work / "linkcheck.json").write_text(json.dumps(moved), encoding="utf-8")
    result = run_script(repo, "refresh-issue.sh", "report.md", "linkcheck.json", "1")
    assert result.returncode == 0, result.stderr
    log = repo["log"].read_text(encoding="utf-8")
    assert "gh issue create --title" in log and "--label catalog-health" in log
    assert "| `x` | archived |" in log and "## Moved URLs: 1" in log
    assert "| https://lmarena.ai/ | https://new.example/ | `catalog/website/lmarena.yaml:4` |" \
        in log and "fine.example" not in log
    # An open issue is edited in place; with nothing to say it is closed.
    result = run_script(repo, "refresh-issue.sh", "report.md", "missing.json", "1", number="5")
    assert result.returncode == 0 and "gh issue edit 5" in repo["log"].read_text("utf-8")
    result = run_script(repo, "refresh-issue.sh", "report.md", "missing.json", "0", number="5")
    assert result.returncode == 0 and "gh issue close 5" in repo["log"].read_text("utf-8")
    result = run_script(repo, "refresh-issue.sh", "report.md", "missing.json", "2")
    assert result.returncode == 1 and "did not run to completion" in result.stderr
