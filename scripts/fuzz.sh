#!/usr/bin/env bash
# Runs every cargo-fuzz target for a fixed time, one after the other, and prints how many inputs
# each one executed. Needs a nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
#
#   scripts/fuzz.sh [seconds-per-target] [target ...]      # default 60 s, every target
#   FUZZ_MERGE=1 scripts/fuzz.sh 600 frame                 # also merge new coverage into the
#                                                          # committed corpus afterwards
#   FUZZ_RUNS=10000000 scripts/fuzz.sh 7200                # stop each target after 10 million
#                                                          # inputs (or the time, if sooner)
#   FUZZ_SANITIZER=none scripts/fuzz.sh 3600 properties    # build without AddressSanitizer
#
# Targets are built with AddressSanitizer by default. FUZZ_SANITIZER=none drops it: for a target
# whose code under test is safe Rust (properties, for one) it finds the same panics, runs about
# nine times faster (ASan's allocator dominates allocation-heavy targets) and records the
# sanitizer in runs.log.
#
# Each run reads the committed corpus (crates/<crate>/fuzz/corpus/<target>) and writes what it
# finds to a scratch corpus (crates/<crate>/fuzz/work/<target>, not committed), so runs resume
# where the last one stopped. Limits: 2 GB RSS, 10 s per input, a per-target input length.
# A crash stops the run and leaves the input in crates/<crate>/fuzz/artifacts/<target>/.
# Every run is appended to crates/<crate>/fuzz/work/runs.log (target, seconds, inputs).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

secs="${1:-60}"
shift || true

# crate:target:max_len[:dict]
all_targets=(
  proto:frame:8192
  proto:header_json:4096
  proto:header_rocketmq:4096
  proto:request_headers:2048
  proto:message:8192
  proto:batch:4096
  proto:properties:2048
  store:commit_log_recovery:16384
  filter:compile_and_match:4096:sql92.dict
)

selected=()
if [ $# -eq 0 ]; then
  selected=("${all_targets[@]}")
else
  for want in "$@"; do
    found=""
    for spec in "${all_targets[@]}"; do
      IFS=: read -r _ name _ _ <<<"$spec"
      [ "$name" = "$want" ] && found=$spec
    done
    [ -n "$found" ] || { echo "unknown target: $want" >&2; exit 2; }
    selected+=("$found")
  done
fi

# Say what is missing instead of "build failed" with the build's output thrown away.
cargo +nightly --version >/dev/null 2>&1 ||
  { echo "no nightly toolchain: rustup toolchain install nightly" >&2; exit 2; }
cargo +nightly fuzz --version >/dev/null 2>&1 ||
  { echo "cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2; exit 2; }

# The fuzz crates are their own workspaces with their own target directory.
unset CARGO_TARGET_DIR
export CARGO_TERM_COLOR=never

results=()
status=0
for spec in "${selected[@]}"; do
  IFS=: read -r crate name max_len dict <<<"$spec"
  dir="$root/crates/$crate/fuzz"
  mkdir -p "$dir/work/$name" "$dir/corpus/$name"
  log="$dir/work/$name.log"
  extra=()
  [ -n "$dict" ] && extra+=("-dict=$dict")
  echo "== $crate/$name: ${secs}s (log: ${log#"$root"/})"
  san=${FUZZ_SANITIZER:-address}
  (cd "$dir" && nice -n 15 cargo +nightly fuzz build -O -s "$san" "$name" >"$log" 2>&1) ||
    { echo "build of $name failed; see ${log#"$root"/}" >&2; exit 1; }
  rc=0
  (cd "$dir" && nice -n 15 cargo +nightly fuzz run -O -s "$san" "$name" "work/$name" "corpus/$name" -- \
    -max_total_time="$secs" -rss_limit_mb=2048 -malloc_limit_mb=2048 -max_len="$max_len" \
    -timeout=10 -print_final_stats=1 ${FUZZ_RUNS:+-runs="$FUZZ_RUNS"} "${extra[@]}") >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  execs=${execs:-0}
  outcome=ok
  if [ "$rc" -ne 0 ]; then
    outcome="FAILED (exit $rc; see the log and $crate/fuzz/artifacts/$name/)"
    status=1
  fi
  took=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" | tail -1)
  secs_run=${took:-$secs}
  printf '%s\t%s\t%s\t%s\tsanitizer=%s\n' "$(date -u +%FT%TZ)" "$name" "$secs_run" "$execs" "$san" >>"$dir/work/runs.log"
  if [ "${FUZZ_MERGE:-0}" = 1 ] && [ "$rc" -eq 0 ]; then
    (cd "$dir" && nice -n 15 cargo +nightly fuzz run -O -s "$san" "$name" "corpus/$name" "work/$name" -- \
      -merge=1 -rss_limit_mb=2048 -max_len="$max_len" -timeout=10 "${extra[@]}") \
      >"$dir/work/$name.merge.log" 2>&1 || echo "merge of $name failed" >&2
  fi
  results+=("$(printf '%-22s %8ss %14s  %s' "$name" "$secs_run" "$execs" "$outcome")")
done

echo
printf '%-22s %9s %14s  %s\n' target time inputs outcome
printf '%s\n' "${results[@]}"
exit "$status"
