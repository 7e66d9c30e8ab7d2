#!/usr/bin/env bash
# Builds the release build and serves the dashboard on http://127.0.0.1:3000 with an embedded SQLite database.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
source scripts/env.sh
cargo leptos build --release
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-$PWD/target/site}"
export DATABASE_URL="${DATABASE_URL:-sqlite://data/gatehouse.sqlite}"
echo "Gatehouse: open http://127.0.0.1:3000 (stop with Ctrl-C)"
exec "$GATEHOUSE_TARGET_DIR/release/gatehouse" "$@"
