#!/usr/bin/env bash
# Run the RocketMQ 5 (gRPC) Python-client interop suite against `ferromq standalone`.
#   interop/grpc/run.sh [pytest args...]
# Binaries: $FERROMQ_BIN_DIR, else $CARGO_TARGET_DIR/debug, else <repo>/target/debug.
# The v5 client lives in <repo>/.venv-interop-grpc; the cross-protocol tests drive the C++
# remoting client from the C++ suite's venv (<repo>/.venv-interop, made here when missing).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
python="${PYTHON:-python3}"
venv="${GRPC_INTEROP_VENV:-$repo/.venv-interop-grpc}"
cpp_venv="${INTEROP_VENV:-$repo/.venv-interop}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
if [ ! -x "$cpp_venv/bin/python" ]; then
    "$python" -m venv "$cpp_venv"
fi
"$cpp_venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/../requirements.txt"
export CPP_CLIENT_PYTHON="$cpp_venv/bin/python"

cd "$here"
exec "$venv/bin/python" -m pytest -v "$@"
