"""The Hugging Face datasets recipe: Dataset.map(batched=True)."""

from __future__ import annotations

import pytest

import textclean
from conftest import read_jsonl

datasets = pytest.importorskip("datasets")


def test_datasets_map_gives_the_clis_records(bench_prefix, bench_prefix_cli, bench_prefix_profile):
    records = read_jsonl(bench_prefix)
    ds = datasets.Dataset.from_list(records)
    pipeline = textclean.Pipeline(profile=bench_prefix_profile)
    out = ds.map(textclean.datasets_map(pipeline), batched=True, batch_size=64)
    assert out.column_names == ["id", "source", "text", "sentences"]
    got = [(r["id"], r["text"], r["sentences"]) for r in out]
    want = [(r["id"], r["text"], r["sentences"]) for r in bench_prefix_cli]
    assert got == want


def test_datasets_map_on_a_pipeline_without_sentences():
    ds = datasets.Dataset.from_dict({"text": ["a  b", "Hide Ad\nc"], "n": [1, 2]})
    out = ds.map(textclean.datasets_map(textclean.Pipeline('[[stages]]\ntype = "normalize"\n')), batched=True)
    assert out["text"] == ["a b", "Hide Ad\n\nc"]
    assert out["n"] == [1, 2]


def test_datasets_map_in_worker_processes(bench_prefix, bench_prefix_cli, bench_prefix_profile):
    # num_proc pickles the function, and with it the pipeline (rebuilt
    # from its config and profile path in each worker).
    records = read_jsonl(bench_prefix)[:40]
    ds = datasets.Dataset.from_list(records)
    pipeline = textclean.Pipeline(profile=bench_prefix_profile)
    out = ds.map(textclean.datasets_map(pipeline), batched=True, batch_size=8, num_proc=2)
    assert [(r["text"], r["sentences"]) for r in out] == [
        (r["text"], r["sentences"]) for r in bench_prefix_cli[:40]
    ]
