#!/usr/bin/env bash
# Installs everything Gatehouse needs to build, run and test on Debian, skipping what is already there.
# Safe to run again and again.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

say() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: Chromium for browser tests, PostgreSQL for the PostgreSQL test run, the SAML IdP the browser
# tests sign in at (python3-pysaml2, which signs with xmlsec1), build tools.
apt_packages=(ca-certificates openssl curl git make gcc pkg-config libxmlsec1-dev libclang-dev libssl-dev opensaml-schemas xmltooling-schemas libxml2-utils xmlsec1 python3 python3-pip python3-pysaml2 chromium postgresql nodejs npm)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
# Node may come from elsewhere than Debian's package; a working node and npm are enough.
if command -v node >/dev/null && command -v npm >/dev/null; then
  filtered=()
  for p in "${missing[@]}"; do [[ "$p" == nodejs || "$p" == npm ]] || filtered+=("$p"); done
  missing=("${filtered[@]+"${filtered[@]}"}")
fi
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "Rust is not installed: install rustup (https://rustup.rs) and run this again." >&2
  exit 1
fi

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  say "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# Build tools are compiled in debug mode: they only drive the build, and release builds of them take
# ~45 minutes on two cores. Their target directory is kept outside the checkout.
tools_target="${GATEHOUSE_CACHE}/tools-target"
install_tool() { # crate version binary [extra cargo args]
  local crate=$1 version=$2 binary=$3; shift 3
  if "$binary" --version 2>/dev/null | grep -q " $version"; then return; fi
  say "installing $crate $version"
  CARGO_TARGET_DIR="$tools_target" cargo install --debug "$crate" --version "$version" "$@"
}
install_tool cargo-leptos 0.3.10 cargo-leptos --locked
# No --locked: its lock file names a crate version the registry no longer serves.
install_tool wasm-bindgen-cli 0.2.130 wasm-bindgen
# The tools are installed; their build directory is only disk.
rm -rf "$tools_target"

# aiosmtpd: a real SMTP server that the tests deliver invitations and email address proofs to.
if ! python3 -c 'import aiosmtpd' 2>/dev/null; then
  say "installing aiosmtpd (Python) for the mail tests"
  python3 -m pip install --quiet --disable-pip-version-check aiosmtpd 2>/dev/null \
    || python3 -m pip install --quiet --disable-pip-version-check --break-system-packages aiosmtpd
fi

# npm packages for the browser tests; binaryen brings the wasm-opt that release builds run.
if [ ! -x end2end/node_modules/.bin/playwright ] || [ end2end/package-lock.json -nt end2end/node_modules/.package-lock.json ]; then
  say "installing npm packages for end2end"
  (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi

say "ready"
