#!/usr/bin/env python3
"""Loads every output format textclean writes with the tools its users load
them with (pandas, pyarrow, Hugging Face datasets) and checks rows and
columns against the JSONL output read with the json module.

Usage: load_outputs.py TEXTCLEAN INPUT... (run by .ci/run in its venv).
Formats: JSONL and CSV, each plain, .gz and .zst, and Parquet, for --unit
doc and --unit sentence (Parquet must give every value of every row). Exits 1 on the first mismatch, naming the file and tool.
"""

import json
import os
import subprocess
import sys
import tempfile

import datasets
import pandas as pd
import pyarrow.csv
import pyarrow.json
import pyarrow.parquet

COMPRESSIONS = ["", ".gz", ".zst"]


def clean(tc, inputs, out, unit):
    subprocess.run(
        [tc, "clean", "--quiet", "--unit", unit, "-o", out, *inputs], check=True
    )


def expect(cond, what):
    if not cond:
        print(f"load_outputs: FAIL: {what}", file=sys.stderr)
        sys.exit(1)


def check(path, fmt, want_rows, want_cols):
    """Loads `path` three ways; each must have the reference rows and columns."""
    n = len(want_rows)
    ids = [str(r["id"]) for r in want_rows]
    texts = [r["text"] for r in want_rows]
    # pandas: strings stay strings, empty stays empty (not NaN).
    if fmt == "jsonl":
        df = pd.read_json(path, lines=True, dtype=False)
    else:
        df = pd.read_csv(path, dtype=str, keep_default_na=False)
    expect(list(df.columns) == want_cols, f"{path} pandas columns {list(df.columns)} != {want_cols}")
    expect(len(df) == n, f"{path} pandas rows {len(df)} != {n}")
    expect([str(x) for x in df["id"]] == ids, f"{path} pandas ids")
    expect(list(df["text"]) == texts, f"{path} pandas text")
    # pyarrow: decompresses by extension.
    if fmt == "jsonl":
        table = pyarrow.json.read_json(path)
    else:
        table = pyarrow.csv.read_csv(
            path,
            convert_options=pyarrow.csv.ConvertOptions(
                column_types={c: pyarrow.string() for c in want_cols},
                strings_can_be_null=False,
            ),
        )
    expect(table.column_names == want_cols, f"{path} pyarrow columns {table.column_names}")
    expect(table.num_rows == n, f"{path} pyarrow rows {table.num_rows} != {n}")
    expect(table.column("text").to_pylist() == texts, f"{path} pyarrow text")
    # datasets, offline, with its cache in a temporary directory.
    with tempfile.TemporaryDirectory() as cache:
        ds = datasets.load_dataset(
            "json" if fmt == "jsonl" else "csv",
            data_files=path,
            split="train",
            cache_dir=cache,
        )
    expect(ds.column_names == want_cols, f"{path} datasets columns {ds.column_names}")
    expect(ds.num_rows == n, f"{path} datasets rows {ds.num_rows} != {n}")
    expect(list(ds["text"]) == texts, f"{path} datasets text")


def check_parquet(path, want_rows, want_cols):
    """Parquet keeps types, so each tool must give the reference rows whole."""
    n = len(want_rows)
    table = pyarrow.parquet.read_table(path)
    expect(table.column_names == want_cols, f"{path} pyarrow columns {table.column_names}")
    expect(table.to_pylist() == want_rows, f"{path} pyarrow rows differ from the JSONL")
    df = pd.read_parquet(path)
    expect(list(df.columns) == want_cols, f"{path} pandas columns {list(df.columns)}")
    expect(len(df) == n, f"{path} pandas rows {len(df)} != {n}")
    expect(list(df["id"]) == [r["id"] for r in want_rows], f"{path} pandas ids")
    expect(list(df["text"]) == [r["text"] for r in want_rows], f"{path} pandas text")
    with tempfile.TemporaryDirectory() as cache:
        ds = datasets.load_dataset(
            "parquet", data_files=path, split="train", cache_dir=cache
        )
    expect(ds.column_names == want_cols, f"{path} datasets columns {ds.column_names}")
    expect(ds.to_list() == want_rows, f"{path} datasets rows differ from the JSONL")


def main():
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    datasets.disable_progress_bars()
    tc, inputs = sys.argv[1], sys.argv[2:]
    checked = 0
    with tempfile.TemporaryDirectory() as tmp:
        for unit in ["doc", "sentence"]:
            ref = os.path.join(tmp, f"{unit}.ref.jsonl")
            clean(tc, inputs, ref, unit)
            with open(ref, encoding="utf-8") as f:
                rows = [json.loads(line) for line in f]
            expect(rows, f"{ref}: no records")
            cols = list(rows[0].keys())
            for fmt in ["jsonl", "csv"]:
                for comp in COMPRESSIONS:
                    out = os.path.join(tmp, f"{unit}.{fmt}{comp}")
                    clean(tc, inputs, out, unit)
                    check(out, fmt, rows, cols)
                    checked += 1
            out = os.path.join(tmp, f"{unit}.parquet")
            clean(tc, inputs, out, unit)
            check_parquet(out, rows, cols)
            checked += 1
    print(f"load_outputs: {checked} outputs load with pandas, pyarrow and datasets")


if __name__ == "__main__":
    main()
