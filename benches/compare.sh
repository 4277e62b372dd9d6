#!/usr/bin/env bash
# Times textclean against its peers on the same input in one run and prints
# ratios: ftfy fix_text, pysbd and clean-text (Python, installed into a
# virtualenv under target/), and the sentencex crate (benches/peers.rs).
#
#   bash benches/compare.sh [CORPUS.jsonl.gz] [PEER_MB]
#
# CORPUS defaults to ../shared/bench/gutenberg_en.jsonl.gz. ftfy and
# textclean's whole pipeline run on all of it, as a user's run would (a run
# has fixed costs, such as compiling the rules, that a few megabytes do not
# amortise). pysbd and clean-text are slow (pysbd < 1 MB/s), so they and the
# splitters get the first PEER_MB megabytes (default 2). Every ratio
# compares two tools on the same documents.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:-../shared/bench/gutenberg_en.jsonl.gz}
PEER_MB=${2:-2}
[ -f "$CORPUS" ] || { echo "no corpus at $CORPUS" >&2; exit 1; }
W=$(mktemp -d); trap 'rm -rf "$W"' EXIT

VENV=target/peers-venv
if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q ftfy pysbd clean-text
fi

cargo build --release --quiet
TC=target/release/textclean

# The same documents for everyone: the first PEER_MB megabytes.
python3 - "$CORPUS" "$PEER_MB" > "$W/subset.jsonl" <<'PY'
import gzip, json, sys
path, max_b = sys.argv[1], float(sys.argv[2]) * 1e6
total = 0
with (gzip.open if path.endswith(".gz") else open)(path, "rt", encoding="utf-8") as f:
    for line in f:
        if not line.strip():
            continue
        total += len(json.loads(line)["text"].encode())
        sys.stdout.write(line)
        if total >= max_b:
            break
PY

echo "machine: $(nproc) cores, $(uname -m), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
# Each timing to a file before the next starts: nothing runs alongside.
"$VENV/bin/python" benches/peers.py "$CORPUS" 0 ftfy > "$W/ftfy.json"
"$TC" bench "$CORPUS" --threads 1 --repeat 3 --json > "$W/full.json"
"$VENV/bin/python" benches/peers.py "$W/subset.jsonl" 0 pysbd,cleantext > "$W/py.json"
"$TC" bench "$W/subset.jsonl" --threads 1 --repeat 5 --json > "$W/subset.json"
cargo bench --quiet --bench peers -- "$W/subset.jsonl" 5 2>/dev/null | tail -1 > "$W/rs.json"

python3 - "$W" <<'PY'
import json, sys
w = sys.argv[1]
ftfy, full, py, sub, rs = (json.load(open(f"{w}/{n}.json")) for n in ("ftfy", "full", "py", "subset", "rs"))
stage = {r["name"]: r["secs"] for r in full["stages"]}
# ftfy fix_text's job (Unicode, whitespace and quote repair) is what the
# normalize and quotes stages do.
fixing = full["bytes"] / 1e6 / (stage["normalize"] + stage["quotes"])
split = rs["textclean_split_mb_s"]
def table(title, rows):
    print(title)
    print(f"  {'tool':<46} {'MB/s':>9} {'textclean is':>14}")
    for name, rate, ours in rows:
        if rate is None:
            continue
        ratio = f"{ours / rate:,.1f}x faster" if ours else ""
        print(f"  {name:<46} {rate:>9.2f} {ratio:>14}")
table(f"whole corpus: {full['bytes']/1e6:.1f} MB, {full['docs']} docs", [
    ("textclean whole pipeline, 1 thread, end to end", full["mb_per_sec_median"], None),
    ("textclean normalize + quotes stages, 1 core", fixing, None),
    ("ftfy fix_text (vs the whole pipeline)", ftfy["ftfy_fix_text_mb_s"], full["mb_per_sec_median"]),
    ("ftfy fix_text (vs normalize + quotes)", ftfy["ftfy_fix_text_mb_s"], fixing),
])
table(f"first {py['bytes']/1e6:.1f} MB, {py['docs']} docs", [
    ("textclean whole pipeline, 1 thread, end to end", sub["mb_per_sec_median"], None),
    ("clean-text clean()", py.get("clean_text_mb_s"), sub["mb_per_sec_median"]),
    ("textclean sentence splitter alone", split, None),
    ("pysbd (clean=False)", py["pysbd_mb_s"], split),
    ("sentencex crate", rs["sentencex_mb_s"], split),
])
print(f"peak RSS, whole corpus, 1 thread: {full['peak_rss_bytes']/2**20:.0f} MiB")
PY
