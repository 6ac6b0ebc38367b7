"""The repository's automation: GitHub workflows, pre-commit, contributor templates.

Nothing here needs the network: the files are parsed, and every command they run is
checked to exist (a `make` target in the Makefile, an `atlas` subcommand whose options
the real CLI parser accepts, a script in the repository).
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import tomllib
import yaml
from atlas.cli import build_parser
from conftest import KINDS, ROOT, RULES

WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
# Subcommands being built on other branches: checked once merged, skipped until then.
PENDING = {"linkcheck"}


def makefile_targets() -> set[str]:
    text = (ROOT / "Makefile").read_text(encoding="utf-8")
    return {name for line in text.splitlines()
            if (match := re.match(r"^([A-Za-z0-9_.-]+)\s*:(?!=)", line))
            for name in [match.group(1)]}


def atlas_subcommands() -> set[str]:
    parser = build_parser()
    action = next(a for a in parser._actions if a.dest == "command")
    return set(action.choices)


def shell_commands(script: str) -> list[list[str]]:
    """The simple commands of a `run:` script (continuations joined, comments dropped)."""
    joined = re.sub(r"\\\n\s*", " ", script)
    commands = []
    for line in joined.splitlines():
        line = line.split(" #")[0].strip()
        if not line or line.startswith("#"):
            continue
        for part in re.split(r"&&|\|\||;|\|", line):
            words = shlex.split(part, comments=True)
            if words:
                commands.append(words)
    return commands


def load(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), path
    if True in data:  # YAML 1.1 reads the key `on` as true
        data["on"] = data.pop(True)
    return data


def steps(workflow: dict[str, Any]) -> list[dict[str, Any]]:
    return [step for job in workflow["jobs"].values() for step in job["steps"]]


def test_workflows_exist() -> None:
    assert {p.name for p in WORKFLOWS} >= {"tests.yml", "linkcheck.yml", "deploy.yml",
                                           "refresh.yml"}


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_workflow_structure_and_permissions(path: Path) -> None:
    workflow = load(path)
    assert workflow["name"] and workflow["on"] and workflow["jobs"]
    text = path.read_text(encoding="utf-8")
    triggers = workflow["on"] if isinstance(workflow["on"], dict) else {workflow["on"]: None}
    assert "pull_request_target" not in triggers, "forks' code must never run with our token"
    assert "workflow_run" not in triggers
    assert workflow["permissions"] == {"contents": "read"}, "least privilege by default"
    for name, job in workflow["jobs"].items():
        assert job["runs-on"].startswith("ubuntu-"), name
        assert job.get("timeout-minutes"), f"{name}: a hung job must not burn hours"
        for key, level in job.get("permissions", {}).items():
            if level == "write":
                assert (path.name, key) in {("linkcheck.yml", "issues"),
                                            ("deploy.yml", "pages"), ("deploy.yml", "id-token"),
                                            ("refresh.yml", "contents"),
                                            ("refresh.yml", "pull-requests"),
                                            ("refresh.yml", "issues")}
        for step in job["steps"]:
            if "uses" in step:
                assert re.fullmatch(r"[\w.-]+/[\w./-]+@v\d+", step["uses"]), step["uses"]
                if step["uses"].startswith("actions/checkout@"):
                    assert step["with"]["persist-credentials"] is False
    if path.name == "tests.yml":
        assert set(workflow["on"]) >= {"push", "pull_request"}
        assert "secrets." not in text


def test_workflow_commands_exist() -> None:
    targets, subcommands = makefile_targets(), atlas_subcommands()
    parser = build_parser()
    used_make, used_atlas, pending = set(), set(), set()
    for path in WORKFLOWS:
        for step in steps(load(path)):
            for words in shell_commands(step.get("run", "")):
                words = words[1:] if words[0] == "sudo" else words
                if words[0] == "make":
                    for target in (w for w in words[1:] if not w.startswith("-") and "=" not in w):
                        assert target in targets, f"{path.name}: make {target}: no such target"
                        used_make.add(target)
                elif Path(words[0]).name == "atlas":
                    command = words[1]
                    if command not in subcommands and command in PENDING:
                        pending.add(command)
                        continue
                    assert command in subcommands, f"{path.name}: atlas {command}: unknown"
                    parser.parse_args(words[1:])  # exits (SystemExit) on an unknown option
                    used_atlas.add(command)
                elif words[0].startswith(".github/"):
                    script = ROOT / words[0]
                    assert script.is_file() and script.stat().st_mode & 0o111, words[0]
    assert {"validate", "build", "test", "browser"} <= used_make
    if pending - used_atlas:
        pytest.skip(f"not merged yet: atlas {', '.join(sorted(pending))}; the rest checked")


def test_linkcheck_workflow_keeps_its_history_and_one_issue() -> None:
    workflow = load(ROOT / ".github/workflows/linkcheck.yml")
    assert workflow["on"]["schedule"][0]["cron"].split()[-1] == "1"  # weekly, Mondays
    run = "\n".join(step.get("run", "") for step in steps(workflow))
    assert "atlas linkcheck --format markdown --output" in run and "--cache" in run
    cached = [step for step in steps(workflow) if "actions/cache" in step.get("uses", "")]
    assert {step["with"]["path"] for step in cached} == {".cache/atlas-linkcheck.json"}
    script = (ROOT / ".github/scripts/linkcheck-issue.sh").read_text(encoding="utf-8")
    assert "gh issue list --label" in script and "gh issue edit" in script
    assert "gh issue create" in script and "gh issue close" in script


def test_refresh_workflow_proposes_one_pull_request_and_keeps_one_issue() -> None:
    """Weekly; `atlas refresh` with its ETag cache kept between runs; the metadata goes to
    one pull request from a branch of its own (never main), the findings and the link
    checker's moves to one issue; write access only where those need it."""
    workflow = load(ROOT / ".github/workflows/refresh.yml")
    cron = workflow["on"]["schedule"][0]["cron"].split()
    assert cron[2:4] == ["*", "*"] and cron[4].isdigit(), "weekly"
    job = workflow["jobs"]["refresh"]
    assert job["permissions"] == {"contents": "write", "pull-requests": "write",
                                  "issues": "write"}
    run = "\n".join(step.get("run", "") for step in steps(workflow))
    assert "atlas refresh --format markdown --output refresh-report.md" in run
    assert "atlas linkcheck catalog --format json --output linkcheck.json" in run
    assert "make build" in run, "the proposed metadata builds before it is proposed"
    cached = [step for step in steps(workflow) if "actions/cache" in step.get("uses", "")]
    assert {step["with"]["path"] for step in cached} == {".cache/atlas-refresh.json"}
    token = next(step for step in steps(workflow) if step.get("id") == "refresh")["env"]
    assert token["GITHUB_TOKEN"].startswith("${{ secrets.ATLAS_REFRESH_TOKEN ||")
    text = (ROOT / ".github/workflows/refresh.yml").read_text(encoding="utf-8")
    assert "git push" not in text, "pushing is the script's, to its own branch"
    script = (ROOT / ".github/scripts/refresh-pr.sh").read_text(encoding="utf-8")
    assert "branch=${REFRESH_BRANCH:-atlas/metadata}" in script
    assert "gh pr list --head" in script and "gh pr edit" in script and "gh pr create" in script
    assert 'HEAD:refs/heads/$branch"' in script and "refusing to push to $base" in script
    issue = (ROOT / ".github/scripts/refresh-issue.sh").read_text(encoding="utf-8")
    assert "gh issue list --label" in issue and "gh issue edit" in issue
    assert "gh issue create" in issue and '"moved"' in issue


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_scripts_are_valid_shell() -> None:
    for script in (ROOT / ".github/scripts").glob("*.sh"):
        result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, result.stderr


def test_pre_commit_config() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text(encoding="utf-8"))
    hooks = {hook["id"]: (repo, hook) for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff-check", "atlas-validate", "check-metaschema"} <= set(hooks)
    for repo, hook in hooks.values():
        if repo["repo"] != "local":
            assert re.fullmatch(r"v?\d+\.\d+\.\d+", repo["rev"]), repo
        for key in ("files", "exclude"):
            if key in hook:
                re.compile(hook[key])
        if repo["repo"] == "local":
            words = shlex.split(hook["entry"])
            # The hook names the project's own command; whichever virtualenv runs these
            # tests has it next to its interpreter.
            assert Path(words[0]).name == "atlas", hook["entry"]
            assert (Path(sys.executable).parent / "atlas").exists(), "atlas is not installed"
            build_parser().parse_args([*words[1:], "catalog/book/x.yaml"])
    files = re.compile(hooks["atlas-validate"][1]["files"])
    for kind in KINDS:
        assert files.search(f"catalog/{kind}/some-entry.yaml"), kind
    assert files.search("catalog/topics.yaml")
    assert files.search("catalog/paths.yaml") and files.search("catalog/paths.schema.json")
    assert not files.search("docs/en/index.md") and not files.search("catalog/notes.txt")
    # One ruff: the version pre-commit runs is the one `make lint` and CI install.
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"][
        "optional-dependencies"]["test"]
    pinned = next(spec for spec in extras if spec.startswith("ruff=="))
    assert hooks["ruff-check"][0]["rev"] == "v" + pinned.removeprefix("ruff==")
    metaschema = re.compile(hooks["check-metaschema"][1]["files"])
    assert metaschema.search("catalog/schema.json")
    assert metaschema.search("catalog/paths.schema.json")


def test_atlas_validate_checks_only_the_files_it_is_given(make_catalog, capsys) -> None:
    from atlas import cli
    from conftest import GOOD_BOOK

    bad = GOOD_BOOK.replace("year: 2016", "year: x").replace("deeplearningbook", "other")
    catalog = make_catalog({"book/good": GOOD_BOOK, "book/bad": bad})
    assert cli.main(["validate", str(catalog / "book" / "good.yaml")]) == 0
    assert cli.main(["validate", str(catalog / "book" / "bad.yaml")]) == 1
    assert "bad.yaml:5: year" in capsys.readouterr().out
    assert cli.main(["validate", str(catalog / "topics.yaml")]) == 1  # the whole catalog


def test_issue_form_and_pull_request_template() -> None:
    form = yaml.safe_load((ROOT / ".github/ISSUE_TEMPLATE/propose-entry.yml")
                          .read_text(encoding="utf-8"))
    assert form["name"] and form["description"]
    allowed = {"markdown", "input", "textarea", "dropdown", "checkboxes"}
    ids = [item["id"] for item in form["body"] if "id" in item]
    assert len(ids) == len(set(ids))
    required = set()
    for item in form["body"]:
        assert item["type"] in allowed
        if item["type"] != "markdown":
            assert item["attributes"]["label"] and re.fullmatch(r"[a-z_-]+", item["id"])
            if item.get("validations", {}).get("required"):
                required.add(item["id"])
        if item["type"] == "dropdown":
            assert item["attributes"]["options"]
    assert {"kind", "title", "url"} <= required
    def options(field: str) -> list[str]:
        item = next(i for i in form["body"] if i.get("id") == field)
        return [o for o in item["attributes"]["options"] if o != "not sure"]

    # The form's choices are the schema's vocabularies, in the schema's order.
    assert options("kind") == list(KINDS)
    assert options("level") == list(RULES.vocabulary("level"))
    assert options("access") == list(RULES.vocabulary("access"))
    template = (ROOT / ".github/PULL_REQUEST_TEMPLATE.md").read_text(encoding="utf-8")
    assert template.count("- [ ]") >= 4 and "make validate" in template


def test_contributing_guide() -> None:
    guide = (ROOT / "CONTRIBUTING.md").read_text(encoding="utf-8")
    for needle in ("atlas new", "make validate", "make test", "pre-commit",
                   "propose-entry", "What belongs"):
        assert needle in guide, needle
