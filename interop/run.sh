#!/usr/bin/env bash
# Run the C++-client interop suite against FerroMQ binaries.
#   interop/run.sh [pytest args...]
# Binaries: $FERROMQ_BIN_DIR, else $CARGO_TARGET_DIR/debug, else <repo>/target/debug
# (tests skip when mqnamesrv/mqbroker are missing). The venv lives in <repo>/.venv-interop.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(dirname "$here")"
venv="${INTEROP_VENV:-$repo/.venv-interop}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"

cd "$here"
exec "$venv/bin/python" -m pytest -v "$@"
