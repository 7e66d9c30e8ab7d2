#!/usr/bin/env bash
# Load test of SSO sign-in and the dashboard against the release server on loopback (see docs/performance.md):
#   scripts/load.sh                    the full measurement on SQLite (a fresh file in a temporary directory)
#   scripts/load.sh --postgres         the same on a throw-away PostgreSQL cluster (scripts/postgres.sh)
#   scripts/load.sh --smoke            a few seconds that check it all works (fails on errors; no latency targets)
#   scripts/load.sh --fault-rounds 10  the fault test: bursts of sign-ins and changes ended by SIGKILL, restart, checks
#   scripts/load.sh --scale-accounts 100000 --scale-users 1000000
#                                      the scale test: sign-ins measured before and after the database is filled
#   scripts/load.sh --rebuild …        rebuild the release server first even if it exists
# Any other flag goes to the load generator (`gatehouse-load --help`), e.g. --rate 100,200 --open-seconds 60.
# Builds the release server if it is missing (cargo leptos build --release), and the load generator in release
# unless GATEHOUSE_LOAD_BIN names one already built (scripts/test.sh passes the debug build its tests made).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

postgres=false rebuild=false
args=()
for arg in "$@"; do
  case "$arg" in
    --postgres) postgres=true ;;
    --rebuild) rebuild=true ;;
    *) args+=("$arg") ;;
  esac
done

server="$GATEHOUSE_TARGET_DIR/release/gatehouse"
if $rebuild || [ ! -x "$server" ] || [ ! -f target/site/pkg/gatehouse.wasm ]; then
  cargo leptos build --release
fi
load="${GATEHOUSE_LOAD_BIN:-}"
if [ -z "$load" ]; then
  cargo build --locked --release -p gatehouse-load
  load="$GATEHOUSE_TARGET_DIR/release/gatehouse-load"
fi

work=$(mktemp -d)
chmod 755 "$work" # the PostgreSQL cluster below it runs as the postgres user
cleanup() { scripts/postgres.sh stop "$work/pg" >/dev/null 2>&1 || true; rm -rf "$work"; }
trap cleanup EXIT
if $postgres; then
  url=$(scripts/postgres.sh start "$work/pg")
  args+=(--postgres "$url" --postgres-pid "$(head -n 1 "$work/pg/data/postmaster.pid")")
fi
"$load" --server "$server" --site-root "$PWD/target/site" "${args[@]}"
