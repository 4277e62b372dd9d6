#!/usr/bin/env bash
# Peak memory of `clean` on one very long line, against the line's size.
# The promise (README, "Inputs"): peak RSS stays below 3x the longest
# document, and a line longer than --max-line-bytes is an error, not an
# out-of-memory kill. This is a measurement, not a timed test.
#
#   bash benches/long_line.sh [MB] [BINARY]
#
# MB defaults to 200. Each case runs under /usr/bin/time -v and prints the
# input size, the peak RSS and their ratio: `clean` of the line as one JSONL
# record (JSONL out, with sentences) and as a .txt file (txt out); `bench`
# (output discarded) of both, with the default config and with no stages
# (reading and decoding alone); and a JSONL record over the 64 MiB cap,
# which must be an error with a small peak.
set -euo pipefail
cd "$(dirname "$0")/.."
MB=${1:-200}
TC=${2:-target/release/textclean}
[ "$#" -ge 2 ] || cargo build --release --quiet
DIR=$(mktemp -d); trap 'rm -rf "$DIR"' EXIT
python3 - "$DIR" "$MB" <<'PY'
import sys, json
d, mb = sys.argv[1], int(sys.argv[2])
# Prose-like words and sentence ends, so every stage has work to do.
unit = "The lifeboat crew went out at 3 a.m. again, and nobody said a word. "
line = unit * (mb * 1_000_000 // len(unit))
open(f"{d}/line.txt", "w").write(line + "\n")
open(f"{d}/line.jsonl", "w").write(json.dumps({"id": "long", "text": line}) + "\n")
PY
measure() {
  local name=$1 input=$2 out=$3; shift 3
  local size; size=$(stat -c %s "$input")
  /usr/bin/time -v "$TC" clean --quiet "$@" -o "$DIR/$out" "$input" 2> "$DIR/time.txt" || true
  report "$name" "$size"
  grep -v '^\s' "$DIR/time.txt" | grep -i 'textclean:' | head -2 || true
  rm -rf "${DIR:?}/$out"
}
report() {
  local name=$1 size=$2
  local kb; kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$DIR/time.txt")
  python3 -c "import sys; s,k=int(sys.argv[2]),int(sys.argv[3])*1024; print(f'{sys.argv[1]:<34} input {s/2**20:8.1f} MiB  peak RSS {k/2**20:8.1f} MiB  {k/s:5.2f}x')" "$name" "$size" "$kb"
}
bench_case() {
  local name=$1 input=$2; shift 2
  /usr/bin/time -v "$TC" bench --repeat 1 "$@" "$input" > /dev/null 2> "$DIR/time.txt" || true
  report "$name" "$(stat -c %s "$input")"
}
printf 'stages = []\n' > "$DIR/none.toml"
CAP=(--max-line-bytes $((MB * 2000000)))
measure "clean jsonl -> jsonl" "$DIR/line.jsonl" out.jsonl "${CAP[@]}"
measure "clean txt -> txt" "$DIR/line.txt" out "${CAP[@]}" --format txt
bench_case "bench jsonl (output discarded)" "$DIR/line.jsonl" "${CAP[@]}"
bench_case "bench txt (output discarded)" "$DIR/line.txt" "${CAP[@]}"
bench_case "bench jsonl, no stages (reading)" "$DIR/line.jsonl" --config "$DIR/none.toml" "${CAP[@]}"
bench_case "bench txt, no stages (reading)" "$DIR/line.txt" --config "$DIR/none.toml" "${CAP[@]}"
measure "clean jsonl over the 64 MiB cap" "$DIR/line.jsonl" out.jsonl
