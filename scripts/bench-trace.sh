#!/usr/bin/env bash
# Send rate with brokerTraceEnable off (A) and on (B): alternating runs of `ferromq bench producer`
# (16 sync workers, 1 KiB bodies) against a fresh `ferromq standalone` each, same binary.
#
#   scripts/bench-trace.sh BIN_DIR [ROUNDS] [OUT]      # BIN_DIR holds ferromq and mqadmin
#
# Prints one line per run ("round N A|B tps=... user_us=... sys_us=..."), also appended to OUT,
# then the medians and B/A (see scripts/bench-ab.sh).
set -euo pipefail
bin=${1:?usage: $0 BIN_DIR [ROUNDS] [OUT]}
exec "$(dirname "$0")/bench-ab.sh" -r "${2:-3}" -o "${3:-/dev/null}" \
  -a brokerTraceEnable=false -b brokerTraceEnable=true "$bin" "$bin"
