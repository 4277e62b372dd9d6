#!/usr/bin/env bash
# Compares builds of textclean on the same input, the only fair way on a
# shared machine: the builds take turns, round after round, and each
# build's median and best MB/s (end to end, `textclean bench`) are printed.
#
#   bash benches/ab.sh THREADS ROUNDS BINARY...
#
# e.g. keep a build of the old commit (`cp target/release/textclean
# /tmp/old`), rebuild, and run `bash benches/ab.sh 2 21 /tmp/old
# target/release/textclean`. INPUT (environment) defaults to the bench
# corpus; OUTPUT, when set, is written too (`bench -o`), so that
# rendering and writing are part of the figure.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 3 ] || { echo "usage: $0 THREADS ROUNDS BINARY..." >&2; exit 2; }
THREADS=$1 ROUNDS=$2
shift 2
INPUT=${INPUT:-../shared/bench/gutenberg_en.jsonl.gz}
OUT=$(mktemp); trap 'rm -f "$OUT" "$OUT.json"' EXIT
for _ in $(seq "$ROUNDS"); do
  for bin in "$@"; do
    # To a file, not a pipe: a reader starting alongside would take a core.
    "$bin" bench "$INPUT" --threads "$THREADS" --repeat 1 --json ${OUTPUT:+-o "$OUTPUT"} > "$OUT.json"
    python3 -c "import json,sys; print(sys.argv[2], json.load(open(sys.argv[1]))['mb_per_sec_median'])" "$OUT.json" "$bin" >> "$OUT"
  done
done
python3 - "$OUT" "$THREADS" "$ROUNDS" <<'PY'
import statistics, sys
rates = {}
for line in open(sys.argv[1]):
    name, r = line.rsplit(maxsplit=1)
    rates.setdefault(name, []).append(float(r))
print(f"{sys.argv[2]} thread(s), {sys.argv[3]} rounds, end-to-end MB/s")
base = None
for name, v in rates.items():
    m = statistics.median(v)
    base = base or m
    print(f"{m:8.1f} median {max(v):8.1f} best {m / base:6.3f}x  {name}")
PY
