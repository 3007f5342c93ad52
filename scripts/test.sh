#!/usr/bin/env bash
# Runs every test: unit and integration tests (against the local PostgreSQL), then the browser
# test (installs Chromium and the npm packages when missing). Needs PostgreSQL on localhost:5432
# with trust auth for `postgres` (or TEST_DATABASE_URL=postgres://user@host:port).
set -euo pipefail
cd "$(dirname "$0")/.."

# Tests share two cores with PostgreSQL; two test threads keep the heavy queue tests honest.
cargo test -- --test-threads="${TEST_THREADS:-2}"

if [ "${SKIP_BROWSER_TESTS:-}" = "1" ]; then
  echo "browser test skipped (SKIP_BROWSER_TESTS=1)"
else
  scripts/browser-test.sh
fi
