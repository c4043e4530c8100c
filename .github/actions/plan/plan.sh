#!/usr/bin/env bash
# `hbsync env plan` with a saved plan file, and its summary for the reviewers (the job summary).
# In: DEPLOY_ENV, VERSION; TF_STATE_BUCKET / TF_STATE_REGION (state-backend). Out (in plan/):
#   <env>.tfplan, <env>.tfplan.sha256 (sha256sum format), <env>.json (hbsync's plan result), commit,
#   terraform.lock.hcl (the provider selections the apply must use); step outputs plan-file,
#   plan-sha256, changes.
set -euo pipefail

dir="infra/terraform/environments/$DEPLOY_ENV"
mkdir -p plan
file="plan/$DEPLOY_ENV.tfplan"
node bin/hbsync.js env plan "$DEPLOY_ENV" --version "$VERSION" --out "$file" --json --no-notify >"plan/$DEPLOY_ENV.json"
sha=$(sha256sum "$file" | cut -d ' ' -f 1)
recorded=$(jq -r '.planSha256' "plan/$DEPLOY_ENV.json")
if [ "$sha" != "$recorded" ]; then
  echo "::error title=Plan file changed::$file has SHA-256 $sha, hbsync env plan reported $recorded"
  exit 1
fi
echo "$sha  $DEPLOY_ENV.tfplan" >"plan/$DEPLOY_ENV.tfplan.sha256"
printf '%s\n' "$VERSION" >plan/commit
# Not a dot file: actions/upload-artifact leaves hidden files out.
if [ -f "$dir/.terraform.lock.hcl" ]; then cp "$dir/.terraform.lock.hcl" plan/terraform.lock.hcl; fi
terraform -chdir="$dir" show -no-color "$PWD/$file" >"plan/$DEPLOY_ENV.txt"

changes=$(jq -r '.summary | (.add + .change + .destroy)' "plan/$DEPLOY_ENV.json")
{
  echo "plan-file=$file"
  echo "plan-sha256=$sha"
  echo "changes=$changes"
} >>"$GITHUB_OUTPUT"

# The job summary: what the approvers review. Terraform's text is HTML-escaped inside <pre>, and cut at
# 60,000 characters (a job summary holds at most 1 MiB); the full text is in the plan artifact.
{
  echo "### Terraform plan for \`$DEPLOY_ENV\` at \`$VERSION\`"
  echo
  jq -r '.summary | "**\(.add) to add, \(.change) to change, \(.destroy) to destroy** (\(.replace) replaced)"' \
    "plan/$DEPLOY_ENV.json"
  echo
  if [ "$changes" -gt 0 ]; then
    echo "| Action | Resource |"
    echo "|---|---|"
    jq -r '.summary.resources[] | "| \(.action) | `\(.address | gsub("\\|"; "\\\\|"))` |"' "plan/$DEPLOY_ENV.json"
    echo
  fi
  echo "Plan file \`$file\`, SHA-256 \`$sha\`: the deploy applies exactly this file, or nothing."
  echo
  echo "<details><summary>terraform show</summary>"
  echo
  echo "<pre>"
  head -c 60000 "plan/$DEPLOY_ENV.txt" | sed -e 's/&/\&amp;/g' -e 's/</\&lt;/g' -e 's/>/\&gt;/g'
  if [ "$(wc -c <"plan/$DEPLOY_ENV.txt")" -gt 60000 ]; then echo "… (cut; the whole plan is in the artifact)"; fi
  echo "</pre>"
  echo "</details>"
  echo
} >>"$GITHUB_STEP_SUMMARY"
