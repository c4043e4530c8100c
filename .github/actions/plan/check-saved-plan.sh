#!/usr/bin/env bash
# Before a saved plan is applied: it is the plan of this commit (plan/commit = $GITHUB_SHA) and has the
# SHA-256 the plan job reported as its output ($PLAN_SHA256), which the artifact cannot change. Restores
# the provider lock file the plan was made with, so init selects the same providers.
# Usage: check-saved-plan.sh ENV   (in: plan/ from actions/download-artifact, PLAN_SHA256, GITHUB_SHA)
set -euo pipefail

env=$1
file="plan/$env.tfplan"
if [ ! -f "$file" ]; then
  echo "::error title=Reviewed plan missing::$file is not in the tfplan-$env artifact"
  exit 1
fi
if ! [[ "${PLAN_SHA256:-}" =~ ^[0-9a-f]{64}$ ]]; then
  echo "::error title=Plan checksum missing::the plan job reported no SHA-256 for $file"
  exit 1
fi
planned=$(cat plan/commit 2>/dev/null || true)
if [ "$planned" != "$GITHUB_SHA" ]; then
  echo "::error title=Plan of another commit::$file was made for ${planned:-an unknown commit}, this run deploys $GITHUB_SHA"
  exit 1
fi
actual=$(sha256sum "$file" | cut -d ' ' -f 1)
if [ "$actual" != "$PLAN_SHA256" ]; then
  echo "::error title=Plan changed since it was reviewed::$file has SHA-256 $actual, the plan job made $PLAN_SHA256"
  exit 1
fi
if [ -f plan/terraform.lock.hcl ]; then
  cp plan/terraform.lock.hcl "infra/terraform/environments/$env/.terraform.lock.hcl"
fi
echo "$file: the plan of $GITHUB_SHA reviewed before the approval (sha256 $actual)"
