#!/usr/bin/env bash
# Browser and client test: builds segmentiq, starts it on a free port against a fresh PostgreSQL
# database, drives Debian's Chromium through the main flows (tests/browser/flow.mjs) and real
# GraphQL client libraries through the API (tests/browser/clients.mjs), then stops the server
# and drops the database. Exits non-zero when a test fails.
#
# Environment:
#   DATABASE_ADMIN_URL  server to create the test database on (default postgres://postgres@127.0.0.1:5432)
#   PROFILE             cargo profile to build and run: debug (default; dependencies are optimised) or release
#   CARGO_TARGET_DIR    honoured, as cargo does
#   KEEP_DB=1           keep the database after the run (for debugging)
# Screenshots land in test-output/screenshots/, the server log in test-output/browser-server.log.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)
PROFILE=${PROFILE:-debug}
ADMIN_URL=${DATABASE_ADMIN_URL:-postgres://postgres@127.0.0.1:5432}
DB_NAME="segmentiq_browser_$$"
OUT="$ROOT/test-output"
mkdir -p "$OUT/screenshots"

say() { echo "browser-test: $*" >&2; }

# 1. What the test needs: Chromium, node with playwright-core.
if [ ! -x /usr/bin/chromium ]; then
  say "installing chromium"
  apt-get update && apt-get install -y chromium
fi
if ! command -v node >/dev/null; then
  say "node is missing: install Node.js 18 or later (apt-get install -y nodejs npm)"
  exit 2
fi
# Installed when any package of the lock file is missing (a new checkout, or a package added).
if ! (cd tests/browser && npm ls --depth=0 >/dev/null 2>&1); then
  say "installing the npm packages (playwright-core, GraphQL clients)"
  (cd tests/browser && (npm ci --no-audit --no-fund || npm install --no-audit --no-fund))
fi
# Python's gql client, in a virtual environment of its own.
VENV=tests/browser/.venv
if ! "$VENV/bin/python" -c "import gql, requests" >/dev/null 2>&1; then
  say "installing Python's gql client into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "gql[requests]==4.4.0"
fi

SERVER_PID=""
WORK=""
cleanup() {
  if [ -n "$SERVER_PID" ] && kill -0 "$SERVER_PID" 2>/dev/null; then
    kill -TERM "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$SERVER_PID" 2>/dev/null || true
  fi
  if [ "${KEEP_DB:-0}" != 1 ]; then
    psql "$ADMIN_URL/postgres" -q -c "DROP DATABASE IF EXISTS \"$DB_NAME\" WITH (FORCE)" >/dev/null 2>&1 ||
      say "could not drop database $DB_NAME"
  else
    say "kept database $DB_NAME"
  fi
  if [ -n "$WORK" ]; then rm -rf "$WORK"; fi
}
trap cleanup EXIT

# 2. The binary.
say "building ($PROFILE)"
if [ "$PROFILE" = release ]; then
  cargo build --release --bin segmentiq
else
  cargo build --bin segmentiq
fi
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
[ -x "$TARGET_DIR/$PROFILE/segmentiq" ] || { say "no binary at $TARGET_DIR/$PROFILE/segmentiq"; exit 2; }
# Run a private copy: a shared target directory may be rebuilt from another checkout meanwhile.
WORK=$(mktemp -d)
BIN="$WORK/segmentiq"
cp "$TARGET_DIR/$PROFILE/segmentiq" "$BIN"

# 3. A free port.
PORT=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
BASE_URL="http://127.0.0.1:$PORT"


# 4. The server; it creates and migrates its database itself. `start_server VAR=value...` starts
# it with extra configuration and waits until it is ready.
start_server() {
  say "starting $BIN on $BASE_URL with database $DB_NAME $*"
  env -u API_TOKEN -u API_READ_TOKEN \
    DATABASE_URL="$ADMIN_URL/$DB_NAME" \
    BIND_ADDR="127.0.0.1:$PORT" \
    MAX_UPLOAD_BYTES=$((8 * 1024 * 1024)) \
    RUST_LOG=${RUST_LOG:-segmentiq=info,tower_http=warn} \
    "$@" \
    "$BIN" serve >>"$OUT/browser-server.log" 2>&1 &
  SERVER_PID=$!
  for _ in $(seq 1 150); do
    if curl -fsS "$BASE_URL/readyz" >/dev/null 2>&1; then break; fi
    if ! kill -0 "$SERVER_PID" 2>/dev/null; then
      say "the server exited; its log:"
      tail -n 40 "$OUT/browser-server.log" >&2
      exit 1
    fi
    sleep 0.2
  done
  curl -fsS "$BASE_URL/readyz" >/dev/null || { say "the server did not become ready"; exit 1; }
}

stop_server() {
  kill -TERM "$SERVER_PID" 2>/dev/null || true
  for _ in $(seq 1 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.2; done
  SERVER_PID=""
}

: >"$OUT/browser-server.log"
status=0

# 5. The browser, first with no token (one analyst's machine): every flow.
start_server
BASE_URL="$BASE_URL" SCREENSHOT_DIR="$OUT/screenshots" node tests/browser/flow.mjs || status=$?
# The GraphQL client libraries dashboards and scripts use (tests/browser/clients.mjs).
BASE_URL="$BASE_URL" node tests/browser/clients.mjs || status=$?
BASE_URL="$BASE_URL" "$VENV/bin/python" tests/browser/python_gql.py || status=$?

# 6. Then with both tokens: signing in, the read-only view, signing out.
if [ "$status" -eq 0 ]; then
  stop_server
  FULL_TOKEN="browser-full-$$"
  READ_TOKEN="browser-read-$$"
  start_server API_TOKEN="$FULL_TOKEN" API_READ_TOKEN="$READ_TOKEN"
  BASE_URL="$BASE_URL" SCREENSHOT_DIR="$OUT/screenshots" FULL_TOKEN="$FULL_TOKEN" READ_TOKEN="$READ_TOKEN" \
    node tests/browser/flow.mjs || status=$?
  BASE_URL="$BASE_URL" FULL_TOKEN="$FULL_TOKEN" node tests/browser/clients.mjs || status=$?
  BASE_URL="$BASE_URL" FULL_TOKEN="$FULL_TOKEN" "$VENV/bin/python" tests/browser/python_gql.py || status=$?
fi
if [ "$status" -ne 0 ]; then
  say "failed; last lines of the server log:"
  tail -n 30 "$OUT/browser-server.log" >&2
fi
exit "$status"
