#!/usr/bin/env bash
# Drift = what changed in AWS outside Terraform since the last apply. A refresh-only plan compares the
# real resources with the state only, so merged but not yet deployed changes of infra/ (a normal plan
# would list them too) are not reported as drift.
# In: DEPLOY_ENV, RUN_URL, TF_STATE_BUCKET, TF_STATE_REGION. Out: result=none|drift|failed.
set -uo pipefail

dir="infra/terraform/environments/$DEPLOY_ENV"
mkdir -p drift
log="drift/$DEPLOY_ENV.log"
plan="$PWD/drift/$DEPLOY_ENV.tfplan"

notify() {
  node bin/hbsync.js notify infrastructure-drift --env "$DEPLOY_ENV" --data "$1" ||
    echo "::warning title=Drift notification not sent::hbsync notify exited $?"
}

fail() {
  local error=$1
  echo "::error title=Drift check of $DEPLOY_ENV failed::$error"
  echo "result=failed" >>"$GITHUB_OUTPUT"
  {
    echo "### Drift check of \`$DEPLOY_ENV\`: FAILED"
    echo
    echo "$error"
    echo
  } >>"$GITHUB_STEP_SUMMARY"
  notify "$(jq -nc --arg error "$error" --arg runUrl "$RUN_URL" '{status: "failed", error: $error, runUrl: $runUrl}')"
  exit 1
}

# The last line terraform printed that says "Error" (or the last line), for a one-line message.
first_error() {
  grep -m 1 -E '^(│ )?Error' "$log" | sed -e 's/^│ //' || tail -n 1 "$log"
}

if ! terraform -chdir="$dir" init -input=false -no-color \
  -backend-config="bucket=$TF_STATE_BUCKET" -backend-config="region=$TF_STATE_REGION" >"$log" 2>&1; then
  fail "terraform init failed: $(first_error)"
fi
# The variables of what is deployed: its artifact_version from the state, the rest from config.yaml.
version=$(terraform -chdir="$dir" output -raw artifact_version 2>/dev/null) || version=unversioned
if ! node bin/hbsync.js config tfvars --env "$DEPLOY_ENV" --artifact-version "$version" \
  --out "$dir/terraform.tfvars" >>"$log" 2>&1; then
  fail "hbsync config tfvars failed: $(tail -n 1 "$log")"
fi

status=0
terraform -chdir="$dir" plan -refresh-only -detailed-exitcode -input=false -no-color -lock-timeout=10m \
  -out="$plan" >>"$log" 2>&1 || status=$?
case "$status" in
  0)
    echo "result=none" >>"$GITHUB_OUTPUT"
    echo "### Drift check of \`$DEPLOY_ENV\`: no drift" >>"$GITHUB_STEP_SUMMARY"
    echo "$DEPLOY_ENV: no drift"
    ;;
  2)
    resources=$(terraform -chdir="$dir" show -json "$plan" |
      jq -c '[(.resource_drift // [])[], ((.resource_changes // [])[] | select(.change.actions != ["no-op"]))
              | .address] | unique')
    count=$(jq 'length' <<<"$resources")
    echo "result=drift" >>"$GITHUB_OUTPUT"
    echo "::error title=Drift in $DEPLOY_ENV::$count resource(s) changed outside Terraform (see the job summary)"
    {
      echo "### Drift check of \`$DEPLOY_ENV\`: $count resource(s) changed outside Terraform"
      echo
      jq -r '.[] | "- `\(.)`"' <<<"$resources"
      echo
      echo "Apply the environment again (a deploy) to undo the change, or bring it into infra/terraform."
    } >>"$GITHUB_STEP_SUMMARY"
    notify "$(jq -nc --argjson resources "$resources" --arg runUrl "$RUN_URL" \
      '{status: "drifted", resources: $resources, runUrl: $runUrl}')"
    exit 1
    ;;
  *)
    fail "terraform plan exited $status: $(first_error)"
    ;;
esac
