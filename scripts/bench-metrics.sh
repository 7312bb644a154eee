#!/usr/bin/env bash
# Send rate with and without metrics: alternating runs of `ferromq bench producer` against a
# fresh `ferromq standalone` each, one binary built before metrics (BASE) and one after (NEW,
# dashboard on and scraped every second during the run).
#
#   scripts/bench-metrics.sh BASE_BINARY NEW_BINARY [ROUNDS] [SECONDS] [WORKERS]
#
# Prints one line per run and the TPS of each; ports are loopback only.
set -euo pipefail
base=$1 new=$2 rounds=${3:-3} secs=${4:-10} workers=${5:-4}
work=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$work"' EXIT
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run() { # label binary scrape(0/1)
  local label=$1 bin=$2 scrape=$3 ns bp dp data
  ns=$(port); bp=$(port); dp=$(port); data="$work/$label-$RANDOM"
  mkdir -p "$data"
  if [ "$scrape" = 1 ]; then printf 'dashboardPort=%s\nbindAddress=127.0.0.1\n' "$dp" > "$data/broker.conf";
  else printf 'bindAddress=127.0.0.1\n' > "$data/broker.conf"; fi
  "$bin" standalone --data "$data" --namesrv-port "$ns" --broker-port "$bp" -c "$data/broker.conf" > "$data/server.log" 2>&1 &
  local pid=$!
  for _ in $(seq 100); do (echo > /dev/tcp/127.0.0.1/"$bp") 2>/dev/null && break; sleep 0.1; done
  sleep 1
  local scraper=""
  if [ "$scrape" = 1 ]; then
    ( for _ in $(seq $((secs + 5))); do curl -s "127.0.0.1:$dp/metrics" > /dev/null || true; sleep 1; done ) &
    scraper=$!
  fi
  local tps
  tps=$("$new" bench producer -n "127.0.0.1:$ns" -t BenchMetrics -w "$workers" --duration "$secs" --threads 1 --quiet 2>&1 | awk '/^TPS:/ {print $2}')
  [ -n "$scraper" ] && kill "$scraper" 2>/dev/null || true
  kill "$pid"; wait "$pid" 2>/dev/null || true
  echo "$label $tps"
}

for r in $(seq "$rounds"); do
  run "before#$r" "$base" 0
  run "after#$r" "$new" 1
done
