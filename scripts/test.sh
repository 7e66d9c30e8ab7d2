#!/usr/bin/env bash
# Runs every test: formatting, lints of both sides as they ship, unit and integration tests on SQLite and on
# a real PostgreSQL server, a short run of every fuzz target, then the browser tests in Chromium against the
# release build.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
work=$(mktemp -d)
chmod 755 "$work" # the PostgreSQL cluster below it runs as the postgres user
cleanup() { scripts/postgres.sh stop "$work/pg" || true; rm -rf "$work"; }
trap cleanup EXIT

step "cargo fmt --check"
cargo fmt --all -- --check

step "clippy: server side"
cargo clippy --locked -p gatehouse-core -p gatehouse-migrations -p gatehouse-web -p server -p test-dns -p test-idp -p test-smtp -p gatehouse-load --all-targets -- -D warnings
step "clippy: browser side (wasm32)"
cargo clippy --locked -p frontend --target wasm32-unknown-unknown -- -D warnings

step "unit and integration tests (SQLite)"
# gatehouse-load adds no feature to any shared dependency, so its debug binary (the load smoke below) costs
# one crate here; a release build of it would rebuild the database and SAML stack (~6 minutes).
cargo test --locked -p gatehouse-core -p gatehouse-migrations -p gatehouse-web -p server -p app -p gatehouse-load
df -h / | tail -n 1

step "integration tests (PostgreSQL)"
GATEHOUSE_TEST_POSTGRES_URL=$(scripts/postgres.sh start "$work/pg")
export GATEHOUSE_TEST_POSTGRES_URL
# The same packages as above, so the test binaries are reused rather than rebuilt.
cargo test --locked -p gatehouse-core -p gatehouse-migrations -p gatehouse-web -p server -p app -p gatehouse-load --test '*'
scripts/postgres.sh stop "$work/pg"
unset GATEHOUSE_TEST_POSTGRES_URL

step "release build"
cargo leptos build --release
# The loopback DNS server the browser tests publish records on; a debug build reuses the tests' dependencies.
cargo build --locked -p test-dns
wasm="target/site/pkg/gatehouse.wasm"
gzip_size=$(gzip -9 -c "$wasm" | wc -c)
echo "release WASM: $(wc -c <"$wasm") bytes, $gzip_size bytes gzip (limit 256000)"
[ "$gzip_size" -lt 256000 ] || { echo "the release WASM exceeds 250 KB gzip" >&2; exit 1; }

step "load, fault and scale smoke tests against the release server (SQLite, PostgreSQL)"
# Seconds each; they fail on any error and assert no latency (docs/performance.md has the real measurements).
export GATEHOUSE_LOAD_BIN="$GATEHOUSE_TARGET_DIR/debug/gatehouse-load"
for database in "" --postgres; do
  scripts/load.sh --smoke $database
  scripts/load.sh --smoke --fault-rounds 2 $database
  scripts/load.sh --smoke --scale-accounts 1000 $database
done
unset GATEHOUSE_LOAD_BIN

step "fuzz smoke (cargo-afl, 15 s per target)"
# Every fuzz target for 15 seconds; fails on any crash or hang (docs/fuzzing.md has the longer runs).
scripts/fuzz.sh --seconds 15

step "browser tests (Playwright + Chromium)"
mkdir -p "$work/e2e"
GATEHOUSE_BIN="$GATEHOUSE_TARGET_DIR/release/gatehouse" \
  TEST_DNS_BIN="$GATEHOUSE_TARGET_DIR/debug/test-dns" \
  GATEHOUSE_E2E_DIR="$work/e2e" \
  LEPTOS_SITE_ROOT="$PWD/target/site" \
  GATEHOUSE_SCREENSHOTS="${GATEHOUSE_SCREENSHOTS:-$PWD/end2end/test-results/screenshots}" \
  bash -c 'cd end2end && npx playwright test'
