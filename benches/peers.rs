//! Splitter throughput against the `sentencex` crate, for `benches/compare.sh`.
//!
//! `cargo bench --bench peers -- FILE.jsonl[.gz] [REPEATS]` times both
//! splitters on every document's `text` (best of REPEATS runs, default 3)
//! and prints one JSON object. Plain timing rather than criterion so the
//! script can read the figures; `benches/sentences.rs` is the criterion
//! version of the same comparison.

// A bench may panic on its own fixture.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Read};
use std::time::Instant;

use textclean::sbd::Splitter;

fn load(path: &str) -> Vec<String> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let reader: Box<dyn Read> = if path.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(file))
    } else {
        Box::new(file)
    };
    BufReader::new(reader)
        .lines()
        .map(|l| l.expect("readable"))
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(&l).expect("JSONL");
            v["text"].as_str().expect("text field").to_string()
        })
        .collect()
}

fn best_secs(repeats: usize, mut f: impl FnMut() -> usize) -> (f64, usize) {
    let mut best = f64::INFINITY;
    let mut n = 0;
    for _ in 0..repeats {
        let t = Instant::now();
        n = f();
        best = best.min(t.elapsed().as_secs_f64());
    }
    (best, n)
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let default = format!(
        "{}/../shared/bench/gutenberg_en.jsonl.gz",
        env!("CARGO_MANIFEST_DIR")
    );
    let path = args.first().cloned().unwrap_or(default);
    let repeats: usize = args.get(1).and_then(|r| r.parse().ok()).unwrap_or(3);
    let docs = load(&path);
    let bytes: usize = docs.iter().map(String::len).sum();
    let splitter = Splitter::english();
    let mut spans = Vec::new();
    let (ours, ours_n) = best_secs(repeats, || {
        let mut n = 0;
        for d in &docs {
            spans.clear();
            splitter.split_into(d, &mut spans);
            n += spans.len();
        }
        n
    });
    let (theirs, theirs_n) = best_secs(repeats, || {
        docs.iter().map(|d| sentencex::segment("en", d).len()).sum()
    });
    let mb = bytes as f64 / 1e6;
    println!(
        "{}",
        serde_json::json!({
            "bytes": bytes,
            "docs": docs.len(),
            "textclean_split_mb_s": mb / ours,
            "textclean_sentences": ours_n,
            "sentencex_mb_s": mb / theirs,
            "sentencex_sentences": theirs_n,
        })
    );
}
