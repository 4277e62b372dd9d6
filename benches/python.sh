#!/usr/bin/env bash
# The Python package's benchmark (benches/python.py) in its own venv,
# target/bench-venv, with ftfy and pysbd beside the package:
#
#   bash benches/python.sh [--rounds N] [INPUT]
#
# Builds the release CLI and the wheel first; prints MB/s and the ratios.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=target/bench-venv
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q maturin ftfy pysbd
"$VENV/bin/pip" install -q --force-reinstall --no-deps ./python
cargo build --release --quiet
"$VENV/bin/python" benches/python.py --cli target/release/textclean "$@"
