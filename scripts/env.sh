# Shared settings for Gatehouse's scripts (sourced, not run).
export GATEHOUSE_CACHE="${GATEHOUSE_CACHE:-$HOME/.cache/gatehouse}"
export PATH="$HOME/.cargo/bin:$PWD/end2end/node_modules/.bin:$PATH"
# CI runs in a fresh clone each time: keep compiled dependencies outside it so later runs reuse them.
if [ "${CI:-}" = "true" ]; then
  [ -n "${CARGO_TARGET_DIR:-}" ] || export CARGO_TARGET_DIR="$GATEHOUSE_CACHE/target"
  # Each CI run builds from a fresh clone: incremental state would only cost gigabytes of disk.
  export CARGO_INCREMENTAL=0
fi
export GATEHOUSE_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
