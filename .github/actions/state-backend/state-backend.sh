#!/usr/bin/env bash
# Exports TF_STATE_BUCKET / TF_STATE_REGION to $GITHUB_ENV and region=… to $GITHUB_OUTPUT.
# In: STATE_BUCKET (required), STATE_REGION (optional: default = the bucket's own region, from S3).
set -euo pipefail

bucket="${STATE_BUCKET:-}"
region="${STATE_REGION:-}"
if [ -z "$bucket" ]; then
  echo "::error title=TF_STATE_BUCKET is not set::set the repository variable TF_STATE_BUCKET to the state bucket the bootstrap created (docs/github-actions.md)"
  exit 1
fi
if ! [[ "$bucket" =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]]; then
  echo "::error title=TF_STATE_BUCKET is not a bucket name::TF_STATE_BUCKET must be an S3 bucket name (lowercase letters, digits, dots and hyphens)"
  exit 1
fi
if [ -z "$region" ]; then
  # The bootstrap's region is where its bucket is. GetBucketLocation answers from any region; it reports
  # us-east-1 as no location constraint ("None") and the oldest eu-west-1 buckets as "EU".
  if ! location=$(aws s3api get-bucket-location --bucket "$bucket" --query LocationConstraint --output text); then
    echo "::error title=State bucket region unknown::could not read the region of s3://$bucket: set the repository variable TF_STATE_REGION to the bootstrap's region (terraform -chdir=infra/terraform/bootstrap output -raw state_bucket_region)"
    exit 1
  fi
  case "$location" in
    "" | None | null) region=us-east-1 ;;
    EU) region=eu-west-1 ;;
    *) region="$location" ;;
  esac
fi
if ! [[ "$region" =~ ^[a-z]{2}(-[a-z]+)+-[0-9]+$ ]]; then
  echo "::error title=TF_STATE_REGION is not a region::\"${region//[$'\r\n']/ }\" is not an AWS region code such as us-east-1"
  exit 1
fi
{
  echo "TF_STATE_BUCKET=$bucket"
  echo "TF_STATE_REGION=$region"
} >>"$GITHUB_ENV"
echo "region=$region" >>"${GITHUB_OUTPUT:-/dev/null}"
echo "Terraform state: s3://$bucket ($region)"
