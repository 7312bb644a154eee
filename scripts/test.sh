#!/usr/bin/env bash
# The whole test suite, doing its own set-up: formatting and lint checks, the Rust tests
# (unit, scenario and end-to-end with real processes), then the interop suite driven by the
# official RocketMQ C++ client (PyPI rocketmq==0.4.4) in a local virtualenv.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
export CARGO_TERM_COLOR=never

echo "== cargo fmt --check"
cargo fmt --all -- --check

echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings

echo "== cargo build (binaries for the process tests)"
cargo build --workspace --bins --examples

echo "== cargo tests"
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run --workspace --no-fail-fast
else
  cargo test --workspace --no-fail-fast
fi

echo "== interop (official RocketMQ C++ client)"
FERROMQ_REQUIRE_BINS=1 FERROMQ_BIN_DIR="$CARGO_TARGET_DIR/debug" ./interop/run.sh

echo "== interop (official RocketMQ 5 Python client over gRPC)"
FERROMQ_REQUIRE_BINS=1 FERROMQ_BIN_DIR="$CARGO_TARGET_DIR/debug" ./interop/grpc/run.sh
