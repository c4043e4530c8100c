#!/usr/bin/env bash
# One-time set-up of a fresh machine (idempotent): npm packages, the built CLI (dist/cli, which
# bin/hbsync.js runs), plus the Debian packages some tests need (chromium for the status-page tests).
# Run by .ci/run and by the README's first command; run it again after a pull.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# The CLI as JavaScript (esbuild, ~1 s): bin/hbsync.js runs it when it matches src/, else src/ through tsx.
npx tsx scripts/build.ts --cli-if-stale

need_apt=()
command -v chromium >/dev/null 2>&1 || need_apt+=(chromium)
command -v curl >/dev/null 2>&1 || need_apt+=(curl)
if [ ${#need_apt[@]} -gt 0 ]; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "setup: installing Debian packages: ${need_apt[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  else
    echo "setup: missing ${need_apt[*]}; install them with your package manager (tests that need them will fail)" >&2
  fi
fi

if ! command -v terraform >/dev/null 2>&1; then
  echo "setup: terraform is not on PATH; the Terraform tests need terraform >= 1.6 (https://developer.hashicorp.com/terraform/install)" >&2
fi
