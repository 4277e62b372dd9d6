//! Throughput of `Splitter::split_into` against the `sentencex` crate on the Gutenberg corpus.
//!
//! Corpus: `../shared/bench/gutenberg_en.jsonl.gz` (override with `SBD_BENCH_CORPUS`),
//! gzip JSONL, field `text`. Both splitters get the same input: each document's whole text.
//!
//!     CARGO_BUILD_JOBS=1 nice -n 10 cargo bench --bench sentences
//!     cargo bench --bench sentences -- --quick     # shorter run

// Tests and benches may panic on their own fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::io::{BufRead, BufReader};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use textclean::sbd::Splitter;

fn load_corpus() -> Option<Vec<String>> {
    let path = std::env::var("SBD_BENCH_CORPUS").unwrap_or_else(|_| {
        format!(
            "{}/../shared/bench/gutenberg_en.jsonl.gz",
            env!("CARGO_MANIFEST_DIR")
        )
    });
    let file = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("SKIP split bench: cannot open {path}: {e}");
            return None;
        }
    };
    let reader = BufReader::new(flate2::read::GzDecoder::new(file));
    let mut docs = Vec::new();
    for line in reader.lines() {
        let line = line.expect("read corpus line");
        if line.trim().is_empty() {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line).expect("corpus line is JSON");
        if let Some(t) = v.get("text").and_then(|t| t.as_str()) {
            docs.push(t.to_string());
        }
    }
    Some(docs)
}

fn bench_split(c: &mut Criterion) {
    let Some(docs) = load_corpus() else { return };
    let bytes: usize = docs.iter().map(String::len).sum();
    let splitter = Splitter::english();

    // Sanity: report the sentence counts once so the two runs are comparable.
    let mut spans = Vec::new();
    let mut ours = 0usize;
    let mut theirs = 0usize;
    for d in &docs {
        spans.clear();
        splitter.split_into(d, &mut spans);
        ours += spans.len();
        theirs += sentencex::segment("en", d)
            .iter()
            .filter(|s| !s.trim().is_empty())
            .count();
    }
    eprintln!(
        "corpus: {} docs, {:.1} MB; sentences: textclean {ours}, sentencex {theirs}",
        docs.len(),
        bytes as f64 / 1e6
    );

    let mut group = c.benchmark_group("split_gutenberg");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));

    group.bench_function("textclean_split_into", |b| {
        let mut spans = Vec::with_capacity(1024);
        b.iter(|| {
            let mut n = 0;
            for d in &docs {
                spans.clear();
                splitter.split_into(black_box(d), &mut spans);
                n += spans.len();
            }
            black_box(n)
        })
    });

    group.bench_function("sentencex_segment", |b| {
        b.iter(|| {
            let mut n = 0;
            for d in &docs {
                n += sentencex::segment(black_box("en"), black_box(d)).len();
            }
            black_box(n)
        })
    });
    group.finish();
}

criterion_group!(benches, bench_split);
criterion_main!(benches);
