#!/usr/bin/env bash
# Send rate and broker CPU of two brokers (or one broker under two configs), run in turn: A, B,
# A, B, ... each against a fresh `ferromq standalone` in its own temp dir, the same load for both.
#
#   scripts/bench-ab.sh [-r ROUNDS] [-d SECONDS] [-a KEY=VALUE]... [-b KEY=VALUE]...
#                       [-l LOAD_DIR] [-o OUT] BIN_A BIN_B [-- BENCH_ARGS...]
#
# BIN_A and BIN_B hold `ferromq` (the broker side; they may be the same directory). The load tool
# and mqadmin come from LOAD_DIR (default BIN_A), so both sides meet the same client.
#   -r  rounds (default 3)                 -d  seconds of load per run (default 15)
#   -a  a broker.conf line for A only, -b for B only (repeatable)
#   -o  also append each line to OUT
# BENCH_ARGS are `ferromq bench producer` options (default: -w 16 -s 1024, 16 sync workers).
#
# Each run prints `round N A|B tps=... user_us=... sys_us=...`: messages per second, and the
# standalone process's user and system CPU (from /proc/PID/stat) per message the measured load
# sent (the load tool's `sent:` count), after a 1 s warm-up. The last line gives each side's medians and B/A.
# Loopback only; each run's store is removed afterwards.
set -euo pipefail
rounds=3 secs=15 load="" out=/dev/null
conf_a=() conf_b=()
while getopts "r:d:a:b:l:o:" opt; do
  case $opt in
    r) rounds=$OPTARG ;;
    d) secs=$OPTARG ;;
    a) conf_a+=("$OPTARG") ;;
    b) conf_b+=("$OPTARG") ;;
    l) load=$OPTARG ;;
    o) out=$OPTARG ;;
    *) echo "usage: $0 [-r N] [-d S] [-a K=V]... [-b K=V]... [-l DIR] [-o OUT] BIN_A BIN_B [-- ARGS]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
bin_a=${1:?usage: $0 [options] BIN_A BIN_B [-- BENCH_ARGS...]}
bin_b=${2:?usage: $0 [options] BIN_A BIN_B [-- BENCH_ARGS...]}
shift 2
[ "${1:-}" = -- ] && shift
bench_args=("$@")
[ ${#bench_args[@]} -gt 0 ] || bench_args=(-w 16 -s 1024)
load=${load:-$bin_a}
for b in "$bin_a/ferromq" "$bin_b/ferromq" "$load/ferromq" "$load/mqadmin"; do
  [ -x "$b" ] || { echo "missing $b" >&2; exit 2; }
done
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks=$(getconf CLK_TCK)
results=$(mktemp /tmp/bench-ab.results.XXXXXX)
trap 'rm -f "$results"' EXIT

run() { # side bin conf-lines...
  local side=$1 bin=$2
  shift 2
  local d ns bp pid
  d=$(mktemp -d /tmp/bench-ab.XXXXXX)
  ns=$(port); bp=$(port)
  printf 'dashboardPort=0\ngrpcListenPort=0\nhaListenPort=0\nflushDiskType=ASYNC_FLUSH\nstorePathRootDir=%s/store\n' "$d" > "$d/broker.conf"
  for kv in "$@"; do echo "$kv" >> "$d/broker.conf"; done
  "$bin/ferromq" standalone --data "$d" -c "$d/broker.conf" --namesrv-port "$ns" --broker-port "$bp" \
    --grpc-port 0 > "$d/standalone.log" 2>&1 &
  pid=$!
  local registered=
  for _ in $(seq 300); do
    "$load/mqadmin" clusterList -n "127.0.0.1:$ns" 2>/dev/null | grep -q "127.0.0.1:$bp" && { registered=1; break; }
    sleep 0.2
  done
  [ -n "$registered" ] || { echo "the broker never registered; log: $d/standalone.log" >&2; kill "$pid"; exit 1; }
  "$load/ferromq" bench producer -n "127.0.0.1:$ns" -t BenchAB "${bench_args[@]}" --duration 1 --quiet \
    > /dev/null 2>&1
  local before after summary tps sent
  before=$(awk '{print $14, $15}' "/proc/$pid/stat")
  summary=$("$load/ferromq" bench producer -n "127.0.0.1:$ns" -t BenchAB "${bench_args[@]}" \
    --duration "$secs" --quiet 2>&1)
  after=$(awk '{print $14, $15}' "/proc/$pid/stat")
  tps=$(awk '/^TPS:/ {print $2}' <<<"$summary")
  sent=$(awk '/^sent:/ {print $2}' <<<"$summary")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  [ -n "$tps" ] && [ "${sent:-0}" -gt 0 ] ||
    { echo "the load tool sent nothing; log: $d/standalone.log" >&2; exit 1; }
  rm -rf "$d"
  # CPU ticks over the messages the measured run sent.
  echo "$before $after $tps $sent" | awk -v r="$round" -v s="$side" -v t="$ticks" '{
    n = $6; u = ($3 - $1) / t * 1e6 / n; y = ($4 - $2) / t * 1e6 / n
    printf "round %d %s tps=%.0f user_us=%.2f sys_us=%.2f\n", r, s, $5, u, y }' | tee -a "$out" "$results"
}

for round in $(seq "$rounds"); do
  run A "$bin_a" ${conf_a[@]+"${conf_a[@]}"}
  run B "$bin_b" ${conf_b[@]+"${conf_b[@]}"}
done
awk '
  function median(list, n,   i, j, t, a) {
    split(list, a, " "); n = 0
    for (i in a) if (a[i] != "") n++
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  { split($4, x, "="); split($5, u, "="); split($6, y, "=")
    tps[$3] = tps[$3] " " x[2]; usr[$3] = usr[$3] " " u[2]; sys[$3] = sys[$3] " " y[2]
    tot[$3] = tot[$3] " " (u[2] + y[2]) }
  END {
    ta = median(tps["A"]); tb = median(tps["B"])
    ca = median(tot["A"]); cb = median(tot["B"])
    printf "medians: A tps=%.0f cpu_us=%.2f (user %.2f, sys %.2f); B tps=%.0f cpu_us=%.2f (user %.2f, sys %.2f); B/A tps %.3f, cpu %.3f\n",
      ta, ca, median(usr["A"]), median(sys["A"]), tb, cb, median(usr["B"]), median(sys["B"]), tb / ta, cb / ca
  }' "$results" | tee -a "$out"
