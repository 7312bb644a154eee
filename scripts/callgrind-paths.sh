#!/usr/bin/env bash
# Instructions per message on the broker's hot paths, counted by callgrind, so that a change in
# the cost of the send or pull path shows up on a noisy machine where timings do not.
#
#   scripts/callgrind-paths.sh [-c KEY=VALUE]... [-f REGEX] [BIN_DIR] [COUNT]
#
# BIN_DIR holds mqnamesrv, mqbroker, mqadmin and ferromq (default: $CARGO_TARGET_DIR/release, else
# target/release; build them with `cargo build --release -p ferromq-cli --bins`). COUNT is the
# number of messages per scenario (default 5000). Needs valgrind (Debian: `apt install valgrind`).
#
#   -c KEY=VALUE  adds a line to the broker's config (repeatable), e.g. -c brokerTraceEnable=true
#   -f REGEX      adds two columns: the inclusive instructions of the functions whose names match
#                 REGEX (what the calls into them cost, callees included), per message and as a
#                 share of the scenario's. A function the compiler inlined into every caller has
#                 no calls to count: check the names with `nm -C mqbroker`.
#
# The broker runs under `valgrind --tool=callgrind`; the name server and the load tool
# (`ferromq bench`) run natively. For each scenario the broker's counters are zeroed with
# `callgrind_control -z`, the scenario's messages are sent or pulled, and the counters are dumped
# with `callgrind_control -d`: the instructions the whole broker process executed in that window
# (every thread: network, decoding, handling, storing, answering, and whatever ran in the
# background meanwhile), divided by the messages. Idle background work is measured the same way
# and printed, so it can be told apart. Per-function profiles are left in the work directory for
# `callgrind_annotate`.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${CARGO_TARGET_DIR:-$PWD/target}"
extra_conf=()
funcs=""
while getopts "c:f:" opt; do
  case $opt in
    c) [[ $OPTARG == *=* ]] || { echo "-c takes KEY=VALUE, not '$OPTARG'" >&2; exit 2; }
       extra_conf+=("$OPTARG") ;;
    f) funcs=$OPTARG ;;
    *) echo "usage: $0 [-c KEY=VALUE]... [-f REGEX] [BIN_DIR] [COUNT]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
bin="${1:-$target/release}"
count="${2:-5000}"
for b in mqnamesrv mqbroker mqadmin ferromq; do
  [ -x "$bin/$b" ] || { echo "missing $bin/$b (cargo build --release -p ferromq-cli --bins)" >&2; exit 2; }
done
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 2; }

work=$(mktemp -d /tmp/callgrind-paths.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 600); do (echo > "/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 never opened" >&2; exit 1; }

ns_port=$(port); broker_port=$(port)
printf 'listenPort=%s\nbindAddress=127.0.0.1\nkvConfigPath=%s/kv.json\n' "$ns_port" "$work" > "$work/namesrv.conf"
"$bin/mqnamesrv" -c "$work/namesrv.conf" > "$work/namesrv.log" 2>&1 &
pids+=($!)
wait_port "$ns_port"

cat > "$work/broker.conf" <<EOF
brokerClusterName=DefaultCluster
brokerName=broker-cg
brokerId=0
brokerIP1=127.0.0.1
bindAddress=127.0.0.1
listenPort=$broker_port
haListenPort=0
dashboardPort=0
grpcListenPort=0
namesrvAddr=127.0.0.1:$ns_port
storePathRootDir=$work/store
flushDiskType=ASYNC_FLUSH
EOF
for kv in "${extra_conf[@]}"; do echo "$kv" >> "$work/broker.conf"; done
valgrind --tool=callgrind --callgrind-out-file="$work/callgrind.out" \
  "$bin/mqbroker" -c "$work/broker.conf" > "$work/broker.log" 2>&1 &
broker=$!
pids+=("$broker")
wait_port "$broker_port"
for _ in $(seq 300); do
  "$bin/mqadmin" clusterList -n "127.0.0.1:$ns_port" 2>/dev/null | grep -q broker-cg && break
  sleep 0.2
done

bench() { "$bin/ferromq" bench "$@" -n "127.0.0.1:$ns_port" --threads 1 --quiet > "$work/bench.log" 2>&1 || { cat "$work/bench.log" >&2; exit 1; }; }

# Warm-up: topics created, connections open, first segments mapped.
bench producer -t CgSend --count 2000 -s 1024
bench producer -t CgBatch --count 2000 -s 1024 --batch 32
bench consumer -t CgSend -g CgWarm --from first --count 2000

dump_total() { # label -> instructions since the last zeroing (the dump's path in $work/last)
  callgrind_control -d "$1" "$broker" > /dev/null 2>&1
  local f
  f=$(ls -t "$work"/callgrind.out.* | head -1)
  echo "$f" > "$work/last"
  awk '/^(summary|totals):/ {print $2; exit}' "$f"
}

matched() { # dump -> inclusive instructions of the functions matching $funcs
  # The calls into them from functions that do not match, read from the dump's call records
  # (`cfn=`, `calls=`, then the call's inclusive cost); callgrind_annotate --inclusive=yes
  # splits a function into one row per source file of its inlined code, so its rows do not add.
  awk -v re="$funcs" '
    function name(s,  id, rest) {
      if (!match(s, /^\([0-9]+\)/)) return s
      id = substr(s, 2, RLENGTH - 2); rest = substr(s, RLENGTH + 2)
      if (rest != "") names[id] = rest
      return names[id]
    }
    /^fn=/ { cur = name(substr($0, 4)); next }
    /^cfn=/ { callee = name(substr($0, 5)); next }
    /^calls=/ { want = callee ~ re && cur !~ re; getline; if (want) sum += $2; next }
    END { printf "%d\n", sum }' "$1"
}

if [ -n "$funcs" ]; then
  printf '%-34s %10s %16s %14s %12s %8s\n' scenario messages instructions per-message matched/msg share
else
  printf '%-34s %10s %16s %14s\n' scenario messages instructions per-message
fi
row() { # label messages instructions
  if [ -n "$funcs" ] && [ "$2" != - ]; then
    awk -v l="$1" -v n="$2" -v i="$3" -v m="$(matched "$(cat "$work/last")")" \
      'BEGIN { printf "%-34s %10d %16d %14.0f %12.0f %7.2f%%\n", l, n, i, i / n, m / n, 100 * m / i }'
  else
    awk -v l="$1" -v n="$2" -v i="$3" 'BEGIN { printf "%-34s %10d %16d %14.0f\n", l, n, i, i / n }'
  fi
}

callgrind_control -z "$broker" > /dev/null 2>&1
sleep 2
idle=$(dump_total idle)
printf '%-34s %10s %16d %14s\n' "idle, 2 s (background work)" - "$idle" -

scenario() { # label messages bench-args...
  local label=$1 n=$2
  shift 2
  callgrind_control -z "$broker" > /dev/null 2>&1
  bench "$@"
  row "$label" "$n" "$(dump_total "${label// /_}")"
}

scenario "send sync, 1 KiB, json" "$count" producer -t CgSend --count "$count" -s 1024
scenario "send sync, 1 KiB, binary header" "$count" producer -t CgSend --count "$count" -s 1024 --header binary
scenario "send async x256, 1 KiB, json" "$count" producer -t CgSend --count "$count" -s 1024 --mode async --inflight 256
scenario "send batch 32, 1 KiB, json" "$count" producer -t CgBatch --count "$count" -s 1024 --batch 32
scenario "pull, 32 per request, 1 KiB" "$count" consumer -t CgSend -g CgPull --from first --count "$count"

echo "profiles: $work/callgrind.out.* (callgrind_annotate <file>)"
trap - EXIT
cleanup
