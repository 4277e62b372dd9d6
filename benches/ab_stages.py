#!/usr/bin/env python3
"""Per-stage A/B of textclean builds, as benches/ab.sh does end to end.

  python3 benches/ab_stages.py ROUNDS BINARY[@CONFIG]...

Runs `BINARY bench INPUT --threads 1 --repeat 1 --json` for each build in
turn, round after round (INPUT: environment, default the bench corpus), and
prints per build the medians of pass 1 (`profile_secs`, with the pipeline
build alongside), the build, the sentences stage, the wall time and the
process's CPU time, each as a ratio to the first build. `@CONFIG` runs that
build with `--config CONFIG`.
"""
import json
import os
import resource
import statistics
import subprocess
import sys

rounds = int(sys.argv[1])
builds = sys.argv[2:]
inp = os.environ.get("INPUT", "../shared/bench/gutenberg_en.jsonl.gz")
res = {b: {k: [] for k in ("pass1", "build", "sentences", "wall", "cpu")} for b in builds}
for _ in range(rounds):
    for b in builds:
        binary, _, config = b.partition("@")
        cmd = [binary, "bench", inp, "--threads", "1", "--repeat", "1", "--json"]
        if config:
            cmd += ["--config", config]
        r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        j = json.loads(out)
        r = res[b]
        r["pass1"].append(j["profile_secs"])
        r["build"].append(j["build_secs"])
        r["sentences"].append(next(s["secs"] for s in j["stages"] if s["name"] == "sentences"))
        r["wall"].append(j["wall_secs"][0])
        r["cpu"].append(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime)
base = res[builds[0]]
print(f"{rounds} rounds, 1 thread, medians (ratio to the first build)")
for b in builds:
    cols = []
    for k, v in res[b].items():
        m = statistics.median(v)
        cols.append(f"{k} {m:.4f}s ({m / statistics.median(base[k]):.3f}x)")
    print("  ".join(cols), b)
