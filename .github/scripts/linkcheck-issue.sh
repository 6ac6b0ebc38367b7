#!/usr/bin/env bash
# Keep the one open issue labelled "linkcheck" in step with this run's report.
#   usage: linkcheck-issue.sh REPORT.md STATUS
# STATUS is `atlas linkcheck`'s exit status: 0 nothing dead (close the issue), 1 something
# dead (open the issue, or replace its list), anything else: the check itself failed.
# Needs GH_TOKEN (issues: write) and GH_REPO; run by .github/workflows/linkcheck.yml.
set -euo pipefail
report=$1
status=$2
label=linkcheck
run_url="${GITHUB_SERVER_URL:-https://github.com}/${GH_REPO}/actions/runs/${GITHUB_RUN_ID:-0}"

gh label create "$label" --color B60205 --description "Dead links found by the weekly check" \
  >/dev/null 2>&1 || true
number=$(gh issue list --label "$label" --state open --json number --jq '.[0].number // empty')

case "$status" in
  0)
    if [ -n "$number" ]; then
      gh issue comment "$number" --body "Every link is fine again as of [this run]($run_url)."
      gh issue close "$number"
    fi
    ;;
  1)
    body=$(mktemp)
    {
      echo "The [weekly link check]($run_url) found dead links (each failed on two runs in"
      echo "a row). Fix or remove them in \`catalog/\`; this issue is updated by every run and"
      echo "closed when all links work."
      echo
      # An issue body holds at most 65,536 characters.
      head -c 60000 "$report"
    } >"$body"
    if [ -n "$number" ]; then
      gh issue edit "$number" --body-file "$body"
    else
      gh issue create --title "Dead links in the catalog" --label "$label" --body-file "$body"
    fi
    ;;
  *)
    echo "atlas linkcheck did not run to completion (exit status '$status'); see the log" >&2
    exit 1
    ;;
esac
