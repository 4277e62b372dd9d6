#!/usr/bin/env python3
"""Times Python peers on a JSONL corpus, for benches/compare.sh.

Usage: peers.py FILE.jsonl[.gz] [MAX_MB] [TOOLS]
Prints one JSON object: MB/s of each of TOOLS (comma-separated, default
"ftfy,pysbd,cleantext": ftfy.fix_text, pysbd with clean=False, clean-text)
on the same documents, the first MAX_MB megabytes (default 2; 0 for all).
"""
import gzip
import json
import sys
import time


def load(path, max_bytes):
    opener = gzip.open if path.endswith(".gz") else open
    docs, total = [], 0
    with opener(path, "rt", encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            text = json.loads(line)["text"]
            docs.append(text)
            total += len(text.encode("utf-8"))
            if total >= max_bytes:
                break
    return docs, total


def timed(fn, docs):
    t = time.perf_counter()
    for d in docs:
        fn(d)
    return time.perf_counter() - t


def main():
    path = sys.argv[1]
    max_mb = float(sys.argv[2]) if len(sys.argv) > 2 else 2.0
    tools = (sys.argv[3] if len(sys.argv) > 3 else "ftfy,pysbd,cleantext").split(",")
    docs, total = load(path, int(max_mb * 1e6) if max_mb > 0 else float("inf"))
    mb = total / 1e6
    out = {"bytes": total, "docs": len(docs)}
    if "ftfy" in tools:
        import ftfy
        out["ftfy_fix_text_mb_s"] = mb / timed(ftfy.fix_text, docs)
    if "pysbd" in tools:
        import pysbd
        seg = pysbd.Segmenter(language="en", clean=False)
        out["pysbd_mb_s"] = mb / timed(seg.segment, docs)
    if "cleantext" in tools:
        try:
            from cleantext import clean
            out["clean_text_mb_s"] = mb / timed(lambda d: clean(d, lower=False), docs)
        except ImportError:
            pass
    print(json.dumps(out))


if __name__ == "__main__":
    main()
