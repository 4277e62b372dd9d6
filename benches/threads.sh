#!/usr/bin/env bash
# Thread scaling of the whole `clean` run, measured the only fair way on a
# shared machine: thread counts take turns, round after round, and each
# count's median is compared with the one-thread median of the same rounds.
#
#   bash benches/threads.sh [ROUNDS] [INPUT...]
#
# Counts are 1, 2, 4, 8, 16 up to the machine's cores. INPUT defaults to
# ../shared/bench/gutenberg_en.jsonl.gz; name it several times to amortise
# the fixed start-up cost (pipeline build) over more data.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
shift || true
INPUTS=("$@")
[ ${#INPUTS[@]} -gt 0 ] || INPUTS=(../shared/bench/gutenberg_en.jsonl.gz)
cargo build --release --quiet
TC=target/release/textclean
CORES=$(nproc)
COUNTS=()
for n in 1 2 4 8 16; do [ "$n" -le "$CORES" ] && COUNTS+=("$n"); done
OUT=$(mktemp); trap 'rm -f "$OUT" "$OUT.json"' EXIT
for _ in $(seq "$ROUNDS"); do
  for n in "${COUNTS[@]}"; do
    # To a file, not a pipe: a reader starting alongside would take a core.
    "$TC" bench "${INPUTS[@]}" --threads "$n" --repeat 1 --json > "$OUT.json"
    python3 -c "import json,sys; r=json.load(open(sys.argv[1])); print($n, r['mb_per_sec_median'])" "$OUT.json" >> "$OUT"
  done
done
python3 - "$OUT" "$CORES" "${INPUTS[*]}" <<'PY'
import statistics, sys
rates = {}
for line in open(sys.argv[1]):
    n, r = line.split()
    rates.setdefault(int(n), []).append(float(r))
print(f"machine: {sys.argv[2]} cores; input: {sys.argv[3]}; {len(rates[1])} rounds")
base = statistics.median(rates[1])
print(f"{'threads':>7} {'MB/s median':>12} {'best':>8} {'speed-up':>9}")
for n in sorted(rates):
    m = statistics.median(rates[n])
    print(f"{n:>7} {m:>12.1f} {max(rates[n]):>8.1f} {m / base:>8.2f}x")
PY
