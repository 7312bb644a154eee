#!/usr/bin/env bash
# Send rate with brokerTraceEnable off and on: alternating runs of `ferromq bench producer`
# (16 sync workers, 1 KiB bodies) against a fresh `ferromq standalone` each, same binary.
#
#   scripts/bench-trace.sh BIN_DIR [ROUNDS] [OUT]      # BIN_DIR holds ferromq and mqadmin
#
# Prints one line per run ("round N trace=false|true tps=..."), also appended to OUT.
# Ports are loopback only; each run's store is removed afterwards.
set -euo pipefail
bin=${1:?usage: $0 BIN_DIR [ROUNDS] [OUT]}
rounds=${2:-3}
out=${3:-/dev/null}
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
for r in $(seq "$rounds"); do
  for trace in false true; do
    d=$(mktemp -d /tmp/bench-trace.XXXXXX)
    ns=$(port); bp=$(port)
    printf 'brokerTraceEnable=%s\ndashboardPort=0\ngrpcListenPort=0\nhaListenPort=0\nflushDiskType=ASYNC_FLUSH\nstorePathRootDir=%s/store\n' \
      "$trace" "$d" > "$d/broker.conf"
    "$bin/ferromq" standalone --data "$d" -c "$d/broker.conf" --namesrv-port "$ns" --broker-port "$bp" \
      --grpc-port 0 > "$d/standalone.log" 2>&1 &
    pid=$!
    registered=
    for _ in $(seq 300); do
      "$bin/mqadmin" clusterList -n "127.0.0.1:$ns" 2>/dev/null | grep -q "127.0.0.1:$bp" && { registered=1; break; }
      sleep 0.2
    done
    [ -n "$registered" ] || { echo "the broker never registered; log: $d/standalone.log" >&2; kill "$pid"; exit 1; }
    tps=$("$bin/ferromq" bench producer -n "127.0.0.1:$ns" -t BenchTrace -w 16 -s 1024 --duration 15 \
      --quiet 2>&1 | awk '/^TPS:/ {print $2}')
    [ -n "$tps" ] || { echo "the load tool printed no rate; log: $d/standalone.log" >&2; kill "$pid"; exit 1; }
    echo "round $r trace=$trace tps=$tps" | tee -a "$out"
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    rm -rf "$d"
  done
done
