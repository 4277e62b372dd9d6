"""Benchmark of the Python package against the CLI, ftfy and pysbd, in one run.

Run it with `bash benches/python.sh` (which builds the venv); by hand:

    python benches/python.py --cli target/release/textclean [--rounds 5] [INPUT]

INPUT defaults to the bench corpus (../shared/bench/gutenberg_en.jsonl.gz).
Every figure is a median over rounds taken in turns, so that the machine's
noise falls on all sides alike; only the ratios within one run mean anything.

1. clean_batch, one thread, against `textclean bench --threads 1`:
   the whole default pipeline with the corpus profile of the same input (so
   the same output), texts already in memory. clean_batch's time includes
   copying the texts in, splitting lines, the five stages, and reading
   every result's `.text` and `.sentences` as Python objects. It is
   compared with the CLI's end-to-end rate (its per-core throughput: read,
   decode, pass 1, pass 2) and, more strictly, with its "stages alone" rate
   (the five stages' CPU time, without reading, decoding or line splitting).
2. Against ftfy.fix_text in this process, on the same documents: a
   normalize+quotes pipeline and the whole default pipeline (empty profile:
   ftfy has none), each with clean_batch on one thread.
3. Against pysbd's English segmenter for split_sentences, per paragraph.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import textclean

REPO = Path(__file__).resolve().parents[1]
BENCH = REPO.parent / "shared" / "bench" / "gutenberg_en.jsonl.gz"
NORMALIZE_QUOTES = """
[[stages]]
type = "normalize"
keep_blank_lines = false

[[stages]]
type = "quotes"
modifier_apostrophe = true
collapse_doubled = true
guillemets = true
backticks = true
"""


def read_records(path: Path):
    opener = gzip.open if path.name.endswith(".gz") else open
    with opener(path, "rt", encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


def cli_bench(cli: str, path: Path) -> dict:
    out = subprocess.run(
        [cli, "bench", str(path), "--threads", "1", "--repeat", "1", "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", nargs="?", type=Path, default=BENCH)
    ap.add_argument("--cli", required=True, help="the textclean binary (target/release/textclean)")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--ftfy-docs", type=int, default=200, help="documents for the ftfy comparison")
    ap.add_argument("--pysbd-docs", type=int, default=20, help="documents for the pysbd comparison")
    args = ap.parse_args()

    import ftfy
    import pysbd

    records = read_records(args.input)
    texts = [r["text"] for r in records]
    ids = [r["id"] for r in records]
    sources = [r.get("source") for r in records]
    mb = sum(len(t.encode()) for t in texts) / 1e6
    with tempfile.TemporaryDirectory() as tmp:
        profile = textclean.build_profile([args.input], Path(tmp) / "profile.bin", threads=1)
        full = textclean.Pipeline(profile=profile)

    def python_batch():
        for c in full.clean_batch(texts, ids=ids, sources=sources, threads=1):
            c.text
            c.sentences

    # 1. clean_batch against the CLI, in turns.
    py_secs, cli_e2e, cli_stages = [], [], []
    for _ in range(args.rounds):
        report = cli_bench(args.cli, args.input)
        cli_e2e.append(report["mb_per_sec_median"])
        cli_stages.append(report["stages_mb_per_cpu_sec"])
        py_secs.append(timed(python_batch))
    py_rate = mb / statistics.median(py_secs)
    e2e, stages = statistics.median(cli_e2e), statistics.median(cli_stages)
    print(f"input: {args.input} ({mb:.1f} MB, {len(texts)} docs), {args.rounds} rounds, medians")
    print(f"clean_batch, 1 thread, profile:   {py_rate:8.1f} MB/s")
    print(f"CLI bench --threads 1, end to end: {e2e:8.1f} MB/s   ratio {py_rate / e2e:6.2f}x (target >= 0.9x)")
    print(f"CLI bench, stages alone:           {stages:8.1f} MB/s   ratio {py_rate / stages:6.2f}x")

    # 2. ftfy.fix_text on the same documents.
    sample = texts[: args.ftfy_docs]
    smb = sum(len(t.encode()) for t in sample) / 1e6
    nq = textclean.Pipeline(NORMALIZE_QUOTES)
    default = textclean.Pipeline()
    ftfy_s, nq_s, full_s = [], [], []
    for _ in range(args.rounds):
        ftfy_s.append(timed(lambda: [ftfy.fix_text(t) for t in sample]))
        nq_s.append(timed(lambda: [c.text for c in nq.clean_batch(sample, threads=1)]))
        full_s.append(
            timed(lambda: [(c.text, c.sentences) for c in default.clean_batch(sample, threads=1)])
        )
    f, n, d = (statistics.median(v) for v in (ftfy_s, nq_s, full_s))
    print(f"ftfy sample: {len(sample)} docs, {smb:.1f} MB")
    print(f"ftfy.fix_text:                     {smb / f:8.2f} MB/s")
    print(f"normalize+quotes clean_batch:      {smb / n:8.1f} MB/s   ratio {f / n:6.1f}x (target >= 30x)")
    print(f"default pipeline clean_batch:      {smb / d:8.1f} MB/s   ratio {f / d:6.1f}x (target >= 8x)")

    # 3. pysbd against split_sentences, paragraph by paragraph.
    paragraphs = [p for t in texts[: args.pysbd_docs] for p in t.split("\n") if p.strip()]
    pmb = sum(len(p.encode()) for p in paragraphs) / 1e6
    seg = pysbd.Segmenter(language="en", clean=False)
    # One pass of split_sentences takes milliseconds: time REPEAT passes a
    # round, so that a scheduler hiccup does not decide the figure.
    repeat = 20
    sbd_s, ours_s = [], []
    for _ in range(args.rounds):
        sbd_s.append(timed(lambda: [seg.segment(p) for p in paragraphs]))
        ours_s.append(
            timed(lambda: [[textclean.split_sentences(p) for p in paragraphs] for _ in range(repeat)])
            / repeat
        )
    s, o = statistics.median(sbd_s), statistics.median(ours_s)
    print(f"pysbd sample: {len(paragraphs)} paragraphs, {pmb:.2f} MB")
    print(f"pysbd.Segmenter.segment:           {pmb / s:8.3f} MB/s")
    print(f"textclean.split_sentences:         {pmb / o:8.1f} MB/s   ratio {s / o:6.0f}x (target >= 500x)")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
