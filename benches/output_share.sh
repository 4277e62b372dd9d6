#!/usr/bin/env bash
# The share of a whole `clean` run's CPU spent rendering and writing the
# output, by perf's call stacks: everything below `render_batch` (on the
# workers) and below the dataset sink's `write` and `finish` (the writer:
# buffered writes, flush, the one fsync), against every sample of the
# process, pass 1 and reading included. `textclean bench` reports shares of
# pass 2 alone, which is a larger figure for the same time.
#
#   bash benches/output_share.sh [ROUNDS] [OUTPUT]
#
# OUTPUT defaults to a .jsonl file in a temp folder; INPUT, THREADS and BIN
# (environment) default to the bench corpus, 1 and the release build.
# Needs `perf` (linux-perf) and a build with debug info (the release
# profile has it).
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${1:-5}
DIR=$(mktemp -d); trap 'rm -rf "$DIR"' EXIT
OUTPUT=${2:-$DIR/out.jsonl}
INPUT=${INPUT:-../shared/bench/gutenberg_en.jsonl.gz}
THREADS=${THREADS:-1}
BIN=${BIN:-target/release/textclean}
command -v perf >/dev/null || { echo "$0: needs perf" >&2; exit 2; }
for r in $(seq "$ROUNDS"); do
  rm -rf "$OUTPUT"
  perf record -q --call-graph dwarf,16384 -F 1999 -o "$DIR/perf.data" \
    "$BIN" clean --threads "$THREADS" "$INPUT" -o "$OUTPUT" --quiet 2>/dev/null
  perf report -i "$DIR/perf.data" --children --sort symbol --stdio -g none 2>/dev/null \
    | python3 -c '
import re, sys
want = {
    "render": "textclean::run::render_batch",
    "write": "<textclean::output::DatasetSink as textclean::run::Sink>::write",
    "finish": "<textclean::output::DatasetSink as textclean::run::Sink>::finish",
}
got = dict.fromkeys(want, 0.0)
for line in sys.stdin:
    m = re.match(r"\s*([\d.]+)%\s+[\d.]+%\s+\[.\]\s+(.*?)\s+-\s+-\s*$", line)
    if not m:
        continue
    for k, sym in want.items():
        if m.group(2) == sym:
            got[k] = max(got[k], float(m.group(1)))
total = sum(got.values())
print("round %s: render %.2f%%  write %.2f%%  finish %.2f%%  render+write %.2f%%"
      % (sys.argv[1], got["render"], got["write"], got["finish"], total))
' "$r"
done
