#!/usr/bin/env bash
# The README's main job, end to end on this machine (after `bash scripts/setup.sh`):
#   1. start a local Homebrew upstream (`hbsync emulator`: signed API + OCI registry + blob host),
#   2. sync it into ./mirror (`hbsync sync`), 3. re-hash it (`hbsync verify`),
#   4. serve it (`hbsync serve`), 5. fetch one bottle with curl at the URL brew computes and check
#      its sha256, then the status page (its URL printed), 6. print lines to paste: that check, the same
#      with a real brew 6 (which must trust the demo upstream's key, saved as <dest>.upstream-key.pem),
#      and the two `export HOMEBREW_…_DOMAIN=…` lines.
# Usage: bash scripts/demo.sh [--keep-serving] [--dest DIR] [--synthetic N]
set -euo pipefail
cd "$(dirname "$0")/.."

KEEP_SERVING=0
DEST=./mirror
SYNTHETIC=40
TAGS=arm64_sequoia,arm64_sonoma,x86_64_linux
while [ $# -gt 0 ]; do
  case "$1" in
    --keep-serving) KEEP_SERVING=1 ;;
    --dest) DEST="$2"; shift ;;
    --synthetic) SYNTHETIC="$2"; shift ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
    *) echo "demo: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

HBSYNC=(node bin/hbsync.js)
WORK=$(mktemp -d "${TMPDIR:-/tmp}/hbsync-demo.XXXXXX")
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Waits until FILE holds a complete JSON document (a server printed where it listens).
wait_for_json() {
  local file=$1 what=$2 pid=$3
  for _ in $(seq 1 300); do
    if node -e 'JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))' "$file" 2>/dev/null; then return 0; fi
    if ! kill -0 "$pid" 2>/dev/null; then echo "demo: $what exited early:" >&2; cat "$WORK"/*.err >&2; exit 1; fi
    sleep 0.2
  done
  echo "demo: $what did not start within 60 s" >&2
  exit 1
}
json_field() { node -e 'const v = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")); console.log(v[process.argv[2]])' "$1" "$2"; }

echo "==> 1. starting the local upstream: hbsync emulator --synthetic $SYNTHETIC"
"${HBSYNC[@]}" emulator --synthetic "$SYNTHETIC" --json >"$WORK/emulator.json" 2>"$WORK/emulator.err" &
PIDS+=($!)
wait_for_json "$WORK/emulator.json" "hbsync emulator" "${PIDS[-1]}"
API=$(json_field "$WORK/emulator.json" api)
REGISTRY=$(json_field "$WORK/emulator.json" registry)
KEY=$(json_field "$WORK/emulator.json" publicKeyPath)
# Kept after the demo: a real brew verifies the demo's API files only with this key in place of Homebrew's.
KEY_COPY="${DEST%/}.upstream-key.pem"
cp "$KEY" "$KEY_COPY"
echo "    api $API, registry $REGISTRY"

echo "==> 2. hbsync sync --dest $DEST --tags $TAGS"
"${HBSYNC[@]}" sync --dest "$DEST" --tags "$TAGS" \
  --upstream-api "$API" --upstream-registry "$REGISTRY" --trusted-key "$KEY"

echo "==> 3. hbsync verify --dest $DEST"
"${HBSYNC[@]}" verify --dest "$DEST"

echo "==> 4. hbsync serve --dest $DEST"
"${HBSYNC[@]}" serve --dest "$DEST" --quiet --json >"$WORK/serve.json" 2>"$WORK/serve.err" &
PIDS+=($!)
SERVE_PID=${PIDS[-1]}
wait_for_json "$WORK/serve.json" "hbsync serve" "$SERVE_PID"
BASE_URL=$(json_field "$WORK/serve.json" url)
BOTTLE_DOMAIN=$(json_field "$WORK/serve.json" bottleDomain)
API_DOMAIN=$(json_field "$WORK/serve.json" apiDomain)

echo "==> 5. fetching one bottle at the URL brew computes"
# Prefer a name brew must percent-encode (`@`, `+`) with a bottle for this machine's tag: the URL path is
# urlencode(filename), the key literal.
case "$(uname -m)" in x86_64) HOST_TAG=x86_64_linux ;; aarch64 | arm64) HOST_TAG=arm64_linux ;; *) HOST_TAG=none ;; esac
read -r KEY_PATH SHA256 FORMULA < <(node -e '
  const state = JSON.parse(require("fs").readFileSync(process.argv[1] + "/_sync/state.json", "utf8"));
  const keys = Object.keys(state.entries).sort();
  const host = keys.filter((k) => k.includes("." + process.argv[2] + ".") && state.entries[k].formula.startsWith("synth"));
  const key = host.find((k) => /[@+]/.test(k)) ?? keys.find((k) => /[@+]/.test(k)) ?? keys[0];
  console.log(key, state.entries[key].sha256, state.entries[key].formula);
' "$DEST" "$HOST_TAG")
FILENAME=${KEY_PATH#bottles/}
ENCODED=$(node -e 'console.log([...new TextEncoder().encode(process.argv[1])].map((b) => /[A-Za-z0-9_.~-]/.test(String.fromCharCode(b)) ? String.fromCharCode(b) : "%" + b.toString(16).toUpperCase().padStart(2, "0")).join(""))' "$FILENAME")
URL="$BOTTLE_DOMAIN/$ENCODED"
curl --silent --show-error --fail --output "$WORK/bottle.tar.gz" "$URL"
GOT=$(sha256sum "$WORK/bottle.tar.gz" | cut -d' ' -f1)
if [ "$GOT" != "$SHA256" ]; then
  echo "demo: sha256 mismatch for $URL (expected $SHA256, got $GOT)" >&2
  exit 1
fi
echo "    GET $URL"
echo "    sha256 $GOT (matches the signed index)"
curl --silent --show-error --fail --head "$API_DOMAIN/formula.jws.json" | grep -i '^last-modified' | sed 's/^/    api\/formula.jws.json /'
curl --silent --show-error --fail --output /dev/null "$BASE_URL/"
curl --silent --show-error --fail --output /dev/null "$BASE_URL/status.json"
echo "    status page $BASE_URL/ (and $BASE_URL/status.json for monitoring)"

echo "==> 6. check it yourself while the mirror is served (run the demo with --keep-serving), at the URL brew computes:"
echo "    curl -fsS '$URL' | sha256sum   # expect $SHA256"
echo "    with a real brew 6, once $KEY_COPY replaces \$(brew --repository)/Library/Homebrew/api/homebrew-1.pem"
echo "    (the demo upstream signs with its own key; put Homebrew's file back afterwards):"
echo "    HOMEBREW_API_DOMAIN=$API_DOMAIN HOMEBREW_BOTTLE_DOMAIN=$BOTTLE_DOMAIN HOMEBREW_NO_AUTO_UPDATE=1 brew install $FORMULA && $FORMULA"
echo "==> 7. point brew at the mirror (status page: $BASE_URL/):"
echo "export HOMEBREW_BOTTLE_DOMAIN=$BOTTLE_DOMAIN"
echo "export HOMEBREW_API_DOMAIN=$API_DOMAIN"

if [ "$KEEP_SERVING" = 1 ]; then
  echo "==> serving $DEST until Ctrl-C (the emulator keeps running too)"
  wait "$SERVE_PID"
else
  echo "==> done; stopping the servers (run with --keep-serving to keep them up)"
fi
