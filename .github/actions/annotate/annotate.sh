#!/usr/bin/env bash
# Usage: annotate.sh config|scan REPORT.json
# Prints GitHub workflow commands (::error/::warning/::notice) for each diagnostic or finding in an
# hbsync JSON report, and appends a Markdown table to $GITHUB_STEP_SUMMARY when it is set.
# Data is escaped as the runner expects (% CR LF; plus : and , inside properties), so a message can
# never smuggle in another workflow command. Exits 0 unless the arguments are wrong.
set -euo pipefail

kind="${1:-}"
report="${2:-}"
if [ -z "$kind" ] || [ -z "$report" ]; then
  echo "usage: annotate.sh config|scan REPORT.json" >&2
  exit 2
fi
if [ ! -s "$report" ]; then
  echo "::warning title=hbsync report missing::$report was not written (the command failed before reporting)"
  exit 0
fi

common='
  def data: tostring | gsub("%"; "%25") | gsub("\r"; "%0D") | gsub("\n"; "%0A");
  def prop: data | gsub(":"; "%3A") | gsub(","; "%2C");
  def cell: tostring | gsub("\\|"; "\\|") | gsub("\n"; " ");
'

case "$kind" in
  config)
    items='[(.errors // [])[], (.warnings // [])[]]'
    level='if .severity == "error" then "error" else "warning" end'
    title='.path // "config"'
    ;;
  scan)
    items='[(.findings // [])[]]'
    level='if .severity == "critical" or .severity == "high" then "error" elif .severity == "medium" then "warning" else "notice" end'
    title='.ruleId'
    ;;
  *)
    echo "annotate.sh: unknown kind \"$kind\" (config or scan)" >&2
    exit 2
    ;;
esac

jq -r "$common $items | .[] |
  \"::\" + ($level) +
  \" file=\" + (.file | prop) + \",line=\" + (.line | prop) + \",col=\" + (.col | prop) +
  \",title=\" + (($title) | prop) +
  \"::\" + ((.message + \" — fix: \" + .fix) | data)" "$report"

if [ -n "${GITHUB_STEP_SUMMARY:-}" ]; then
  {
    count=$(jq "$items | length" "$report")
    if [ "$kind" = config ]; then
      echo "### Configuration: $(jq -r '.file' "$report") — $(jq -r 'if .valid then "valid" else "INVALID" end' "$report")"
    else
      echo "### Security scan: $(jq -r 'if .passed then "passed" else "FAILED" end' "$report") (threshold $(jq -r '.threshold' "$report"))"
    fi
    echo
    if [ "$count" -eq 0 ]; then
      echo "No problems found."
    else
      echo "| Severity | Where | What | Fix |"
      echo "|---|---|---|---|"
      jq -r "$common $items | .[] |
        \"| \" + (.severity | cell) + \" | \" + (.file | cell) + \":\" + (.line | tostring) +
        \" | \" + (($title) | cell) + \": \" + (.message | cell) + \" | \" + (.fix | cell) + \" |\"" "$report"
    fi
    echo
  } >>"$GITHUB_STEP_SUMMARY"
fi
