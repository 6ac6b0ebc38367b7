#!/usr/bin/env bash
# Keep the one open issue labelled "catalog-health" in step with this run: the findings of
# `atlas refresh` and the URLs `atlas linkcheck` found moved (its `moved` verdict, where the
# link checker gives one).
#   usage: refresh-issue.sh REPORT.md LINKCHECK.json STATUS
# STATUS is `atlas refresh`'s exit status: 0 nothing needs attention, 1 findings; anything
# else: the refresh itself failed. The issue is opened when there is something to say, its
# text replaced on each run, and closed when there is nothing. Needs GH_TOKEN (issues:
# write) and GH_REPO; run by .github/workflows/refresh.yml.
set -euo pipefail
report=$1
linkcheck=$2
status=$3
label=catalog-health
run_url="${GITHUB_SERVER_URL:-https://github.com}/${GH_REPO}/actions/runs/${GITHUB_RUN_ID:-0}"

case "$status" in
  0 | 1) ;;
  *)
    echo "atlas refresh did not run to completion (exit status '$status'); see the log" >&2
    exit 1
    ;;
esac

# The moved URLs, as a Markdown section (empty when there are none or no report).
moves=$(python3 - "$linkcheck" <<'PY'
import json, sys
try:
    with open(sys.argv[1], encoding="utf-8") as handle:
        results = json.load(handle).get("results", [])
except (OSError, ValueError, AttributeError):
    results = []
moved = [r for r in results if isinstance(r, dict) and r.get("verdict") == "moved"]
if moved:
    cell = lambda text: str(text).replace("|", "\\|").replace("\n", " ")
    print(f"## Moved URLs: {len(moved)}\n")
    print("`atlas linkcheck --fix --write` rewrites them in the entry files.\n")
    print("| URL | Now | Where |")
    print("| --- | --- | --- |")
    for r in moved:
        where = "<br>".join(f"`{cell(s.get('file'))}:{s.get('line')}`"
                            for s in r.get("sources", [])[:5])
        now = r.get("moved_to") or r.get("final_url")
        print(f"| {cell(r.get('url'))} | {cell(now)} | {where} |")
PY
)

gh label create "$label" --color FBCA04 \
  --description "Archived, inactive, renamed or moved entries found by the weekly refresh" \
  >/dev/null 2>&1 || true
number=$(gh issue list --label "$label" --state open --json number --jq '.[0].number // empty')

if [ "$status" = 0 ] && [ -z "$moves" ]; then
  if [ -n "$number" ]; then
    gh issue comment "$number" --body "Nothing needs attention as of [this run]($run_url)."
    gh issue close "$number"
  fi
  exit 0
fi

body=$(mktemp)
{
  echo "The [weekly refresh]($run_url) found entries that need attention. Edit their files"
  echo "in \`catalog/\`; this issue is updated by every run and closed when all is well."
  echo
  # An issue body holds at most 65,536 characters.
  if [ "$status" = 1 ]; then head -c 45000 "$report"; fi
  echo
  printf '%s\n' "$moves" | head -c 15000
} >"$body"
if [ -n "$number" ]; then
  gh issue edit "$number" --body-file "$body"
else
  gh issue create --title "Catalog health: entries that need attention" --label "$label" \
    --body-file "$body"
fi
