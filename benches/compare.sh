#!/usr/bin/env bash
# Times textclean against its peers on the same input in one run and prints
# ratios: ftfy fix_text, pysbd and clean-text (Python, installed into a
# virtualenv under target/), and the sentencex crate (benches/peers.rs).
#
#   bash benches/compare.sh [CORPUS.jsonl.gz] [PEER_MB]
#
# CORPUS defaults to ../shared/bench/gutenberg_en.jsonl.gz. Python peers are
# slow (pysbd < 1 MB/s), so they get the first PEER_MB megabytes (default 2);
# textclean gets the same documents, so every ratio compares equal input.
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
py=$("$VENV/bin/python" benches/peers.py "$W/subset.jsonl" "$PEER_MB")
rs=$(cargo bench --quiet --bench peers -- "$W/subset.jsonl" 5 2>/dev/null | tail -1)
tc=$("$TC" bench "$W/subset.jsonl" --threads 1 --repeat 5 --json)
tc_full=$("$TC" bench "$CORPUS" --threads 1 --repeat 3 --json)

python3 - "$py" "$rs" "$tc" "$tc_full" <<'PY'
import json, sys
py, rs, tc, full = (json.loads(a) for a in sys.argv[1:5])
pipe = tc["mb_per_sec_median"]
split = rs["textclean_split_mb_s"]
rows = [
    ("textclean whole pipeline, 1 thread", pipe, None),
    ("ftfy fix_text", py["ftfy_fix_text_mb_s"], pipe),
    ("clean-text clean()", py.get("clean_text_mb_s"), pipe),
    ("textclean sentence splitter alone", split, None),
    ("pysbd (clean=False)", py["pysbd_mb_s"], split),
    ("sentencex crate", rs["sentencex_mb_s"], split),
]
print(f"input: {py['bytes']/1e6:.1f} MB, {py['docs']} docs (same documents for every tool)")
print(f"{'tool':<38} {'MB/s':>9} {'textclean is':>14}")
for name, rate, ours in rows:
    if rate is None:
        continue
    ratio = f"{ours / rate:,.1f}x faster" if ours else ""
    print(f"{name:<38} {rate:>9.2f} {ratio:>14}")
print(f"whole bench corpus ({full['bytes']/1e6:.1f} MB), 1 thread: "
      f"{full['mb_per_sec_median']:.1f} MB/s median; peak RSS {full['peak_rss_bytes']/2**20:.0f} MiB")
PY
