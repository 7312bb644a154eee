#!/usr/bin/env bash
# Side-by-side benchmark of FerroMQ against the Rust peer (rocketmq-rust 1.0.0), with the same
# load tool, and one table of the results. Not part of the test suite.
#
#   scripts/bench-peers.sh [--duration SECONDS] [--keep] [--json-out FILE]
#
# Builds FerroMQ (release) and installs the peer from the crates registry into
# $PEER_ROOT (default ~/.cache/ferromq-peers; the first install compiles for about 17 minutes on
# two cores, later runs reuse it). Both run on loopback only, in temporary directories.
set -euo pipefail
cd "$(dirname "$0")/.."

peer_root="${PEER_ROOT:-$HOME/.cache/ferromq-peers}"
if [ ! -x "$peer_root/bin/rocketmq-broker-rust" ] || [ ! -x "$peer_root/bin/rocketmq-namesrv-rust" ]; then
  echo "installing the peer into $peer_root (cargo install; this takes a while the first time)"
  cargo install --locked --root "$peer_root" rocketmq-namesrv@1.0.0 rocketmq-broker@1.0.0
fi

echo "building FerroMQ (release)"
cargo build --release --bin ferromq --bin mqnamesrv --bin mqbroker --bin mqadmin
target="${CARGO_TARGET_DIR:-target}"

exec python3 scripts/bench_peers.py --ferromq-bin "$target/release" --peer-bin "$peer_root/bin" "$@"
