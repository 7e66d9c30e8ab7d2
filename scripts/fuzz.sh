#!/usr/bin/env bash
# Coverage-guided fuzzing of gatehouse-core's parsers of untrusted input, with cargo-afl (AFL++) on stable Rust
# (docs/fuzzing.md). Installs what is missing, builds the targets in fuzz/, writes their seeds and runs each
# target for the given time, one after the other; fails on any crash (a panic, an abort, an allocation past the
# memory limit) or hang (an input that runs past the time limit twice).
#
#   scripts/fuzz.sh [--seconds N] [--timeout MS] [--memory MB] [target…]
#
# Targets: metadata certificate response logout redirect domain (all when none is named). Build output, seeds
# and findings stay outside the repository, under $GATEHOUSE_CACHE (~/.cache/gatehouse): fuzz-target/ and fuzz/.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

all_targets=(metadata certificate response logout redirect domain)
seconds=60
# An input that runs longer than this is cut short; one that does so again with twice the time is a hang.
timeout_ms=250
# The address space a target may use (AFL's -m): far above what any target needs for one input.
memory_mb=2048
afl_version=0.18.2
targets=()
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) seconds=$2; shift 2 ;;
    --timeout) timeout_ms=$2; shift 2 ;;
    --memory) memory_mb=$2; shift 2 ;;
    -h | --help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "unknown option $1" >&2; exit 2 ;;
    *)
      [[ " ${all_targets[*]} " == *" $1 "* ]] || { echo "unknown target $1 (${all_targets[*]})" >&2; exit 2; }
      targets+=("$1"); shift ;;
  esac
done
[ ${#targets[@]} -gt 0 ] || targets=("${all_targets[@]}")

say() { printf '\033[1m[fuzz]\033[0m %s\n' "$*"; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Debian packages: a C compiler and make for AFL++ itself, and what gatehouse-core builds against.
apt_packages=(gcc make pkg-config libssl-dev libxmlsec1-dev libclang-dev)
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing Debian packages: ${missing[*]}"
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# cargo-afl drives the instrumented build and runs afl-fuzz; a debug build of it is enough, and its install
# builds AFL++ for the current Rust toolchain.
if ! cargo afl --version 2>/dev/null | grep -q "^cargo-afl $afl_version "; then
  say "installing cargo-afl $afl_version"
  tools_target="$GATEHOUSE_CACHE/fuzz-tools-target"
  CARGO_TARGET_DIR="$tools_target" cargo install --debug --locked cargo-afl --version "$afl_version"
  rm -rf "$tools_target"
fi
# AFL++ is built once per Rust toolchain; after a toolchain update this builds it again.
if ! config=$(cargo afl config --build 2>&1) && ! grep -q "already built" <<<"$config"; then
  echo "$config" >&2
  exit 1
fi

target_dir="${GATEHOUSE_FUZZ_TARGET_DIR:-$GATEHOUSE_CACHE/fuzz-target}"
work="${GATEHOUSE_FUZZ_DIR:-$GATEHOUSE_CACHE/fuzz}"
say "building the fuzz targets (instrumented release build in $target_dir)"
# The main workspace's lock file, so the targets build the very versions the tests run; cargo adds afl to the
# copy (fuzz/Cargo.lock is not kept in git).
cp Cargo.lock fuzz/Cargo.lock
(cd fuzz && CARGO_TARGET_DIR="$target_dir" cargo afl build --release)
bin="$target_dir/release"

say "writing seeds"
"$bin/seeds" "$work/seeds" testkit/fixtures/idp-metadata

declare -A dictionary=(
  [metadata]=saml [response]=saml [logout]=saml [redirect]=query [certificate]=certificate [domain]=domain
)
# No screen, no CPU binding (the machine's cores are shared with builds), no core-dump handler check.
export AFL_NO_UI=1 AFL_NO_AFFINITY=1 AFL_SKIP_CPUFREQ=1 AFL_I_DONT_CARE_ABOUT_MISSING_CRASHES=1
export AFL_HANG_TMOUT=$((timeout_ms * 2))
failed=()
for target in "${targets[@]}"; do
  out="$work/out/$target"
  rm -rf "$out"
  mkdir -p "$out"
  # The keys the seeds were signed with, kept with the findings so that they reproduce.
  cp -r "$work/seeds/keys" "$out/keys"
  say "$target: ${seconds} s (-t $timeout_ms ms, hang at $AFL_HANG_TMOUT ms, -m $memory_mb MB)"
  status=0
  GATEHOUSE_FUZZ_KEYS="$out/keys" cargo afl fuzz -i "$work/seeds/$target" -o "$out" -V "$seconds" \
    -t "$timeout_ms" -m "$memory_mb" -x "fuzz/dict/${dictionary[$target]}.dict" -- "$bin/$target" \
    >"$out/afl.log" 2>&1 || status=$?
  stats="$out/default/fuzzer_stats"
  if [ "$status" -ne 0 ] || [ ! -f "$stats" ]; then
    tail -n 30 "$out/afl.log" >&2
    say "$target: afl-fuzz failed (exit $status); log in $out/afl.log"
    failed+=("$target")
    continue
  fi
  stat_of() { sed -n "s/^$1 *: //p" "$stats"; }
  crashes=$(find "$out/default/crashes" -name 'id:*' | wc -l)
  hangs=$(find "$out/default/hangs" -name 'id:*' | wc -l)
  say "$target: $(stat_of execs_done) runs, $(stat_of execs_per_sec)/s, corpus $(stat_of corpus_count), edges $(stat_of edges_found), slowest $(stat_of slowest_exec_ms) ms, timeouts $(stat_of total_tmout); crashes $crashes, hangs $hangs"
  if [ "$crashes" -gt 0 ] || [ "$hangs" -gt 0 ]; then
    say "$target: findings in $out/default/crashes and $out/default/hangs; reproduce one with"
    say "  GATEHOUSE_FUZZ_KEYS=$out/keys $bin/$target < FILE"
    # Where only the log survives (CI), each finding is shown with what the target said about it.
    for finding in $(find "$out/default/crashes" "$out/default/hangs" -name 'id:*' | head -n 5); do
      say "$target: finding $(basename "$finding"), as hex:"
      head -c 2048 "$finding" | od -An -tx1 | head -n 40 >&2
      GATEHOUSE_FUZZ_KEYS="$out/keys" timeout 10 "$bin/$target" <"$finding" 2>&1 | grep -v '^$' | tail -n 15 >&2 || true
    done
    failed+=("$target")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  say "FAILED: ${failed[*]}"
  exit 1
fi
say "no crash or hang in: ${targets[*]}"
