//! Shared fixtures for the criterion benches.
#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;

/// Up to `max_bytes` of document texts from `../shared/bench` (the public
/// domain Gutenberg corpus), or from `raw/` when it is absent.
pub fn texts(max_bytes: usize) -> Vec<String> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let corpus = root.join("../shared/bench/gutenberg_en.jsonl.gz");
    let mut out = Vec::new();
    let mut total = 0;
    if let Ok(f) = std::fs::File::open(&corpus) {
        let mut s = String::new();
        flate2::read::MultiGzDecoder::new(f)
            .read_to_string(&mut s)
            .expect("the bench corpus is gzip UTF-8");
        for line in s.lines() {
            let v: serde_json::Value = serde_json::from_str(line).expect("JSONL");
            let t = v["text"].as_str().expect("text field").to_string();
            total += t.len();
            out.push(t);
            if total >= max_bytes {
                break;
            }
        }
    } else {
        eprintln!("../shared/bench is absent: benchmarking on raw/ instead");
        let mut files: Vec<PathBuf> = std::fs::read_dir(root.join("raw"))
            .expect("raw/ exists")
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "txt"))
            .collect();
        files.sort();
        for p in files {
            out.push(std::fs::read_to_string(p).expect("raw/ is UTF-8"));
        }
    }
    out
}

/// Total bytes of a fixture.
pub fn bytes(texts: &[String]) -> u64 {
    texts.iter().map(|t| t.len() as u64).sum()
}
