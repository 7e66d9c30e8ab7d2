# Shared settings for Gatehouse's scripts (sourced, not run).
export GATEHOUSE_CACHE="${GATEHOUSE_CACHE:-$HOME/.cache/gatehouse}"
export PATH="$HOME/.cargo/bin:$PWD/end2end/node_modules/.bin:$PATH"
# CI runs in a fresh clone each time: keep compiled dependencies outside it so later runs reuse them.
if [ "${CI:-}" = "true" ] && [ -z "${CARGO_TARGET_DIR:-}" ]; then
  export CARGO_TARGET_DIR="$GATEHOUSE_CACHE/target"
fi
export GATEHOUSE_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export CHROMIUM_PATH="${CHROMIUM_PATH:-/usr/bin/chromium}"
