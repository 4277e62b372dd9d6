//! Hard-wrapped text gives the sentences of the same text unwrapped,
//! through the whole default pipeline.
//!
//! Documents of `../shared/bench/` (Gutenberg prose, one paragraph a line)
//! and of the UD dev file (each UD document's paragraphs) are cleaned as
//! they are and re-wrapped at 72 columns with a blank line between
//! paragraphs, as Project Gutenberg, mail archives and RFCs lay text out.
//! Sentence boundaries are compared in non-space characters (so the
//! spacing of a join never matters): for UD against the linguists'
//! boundaries, for the bench corpus against the unwrapped run's own.

// Tests may panic on their own fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;

use textclean::config::PipelineConfig;
use textclean::corpus::CorpusProfile;
use textclean::document::Document;
use textclean::stage::Pipeline;

/// Greedy wrap at `width` columns, as editors and `fold -s` do it.
fn wrap(text: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let n = word.chars().count();
        if line > 0 && line + 1 + n > width {
            out.push('\n');
            line = 0;
        } else if line > 0 {
            out.push(' ');
            line += 1;
        }
        out.push_str(word);
        line += n;
    }
    out
}

/// Sentence ends as counts of non-space characters from the start.
fn boundaries<'a>(sentences: impl Iterator<Item = &'a str>) -> BTreeSet<usize> {
    let mut at = 0;
    let mut out = BTreeSet::new();
    for s in sentences {
        at += s.chars().filter(|c| !c.is_whitespace()).count();
        out.insert(at);
    }
    out
}

fn sentences(pipeline: &Pipeline, text: &str) -> (String, Vec<String>) {
    let mut doc = Document::new("d", text);
    let mut stats = pipeline.new_stage_stats();
    pipeline.apply(&mut doc, &mut stats);
    let clean = doc.text();
    let spans = doc
        .sentences()
        .expect("the default pipeline splits sentences");
    let out = spans.iter().map(|s| clean[s.clone()].to_string()).collect();
    (clean, out)
}

/// True positives, found and wanted, summed over documents.
#[derive(Default)]
struct Score {
    tp: usize,
    found: usize,
    wanted: usize,
}

impl Score {
    fn add(&mut self, found: &BTreeSet<usize>, wanted: &BTreeSet<usize>) {
        self.tp += found.intersection(wanted).count();
        self.found += found.len();
        self.wanted += wanted.len();
    }

    fn f1(&self) -> f64 {
        2.0 * self.tp as f64 / (self.found + self.wanted).max(1) as f64
    }
}

fn pipeline() -> Pipeline {
    PipelineConfig::default_config()
        .build(&CorpusProfile::empty())
        .expect("default config builds")
}

#[test]
fn ud_dev_paragraphs_wrapped_at_72_keep_their_sentences() {
    let Some(shared) = common::shared() else {
        return;
    };
    let data = std::fs::read_to_string(shared.join("sbd/ud_dev_en.jsonl")).expect("UD dev");
    // Each UD document: its paragraphs in order, and the gold sentences.
    let mut docs: BTreeMap<String, (Vec<String>, Vec<String>)> = BTreeMap::new();
    for line in data.lines().filter(|l| !l.trim().is_empty()) {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
        let doc = docs
            .entry(v["doc"].as_str().expect("doc").to_string())
            .or_default();
        doc.0.push(v["text"].as_str().expect("text").to_string());
        doc.1.extend(
            v["expected"]
                .as_array()
                .expect("expected")
                .iter()
                .map(|s| s.as_str().expect("sentence").to_string()),
        );
    }
    let p = pipeline();
    let (mut flat, mut wrapped, mut agree) = (Score::default(), Score::default(), Score::default());
    for (paragraphs, gold) in docs.values() {
        let gold = boundaries(gold.iter().map(String::as_str));
        let (text_a, a) = sentences(&p, &paragraphs.join("\n\n"));
        let wrapped_text: Vec<String> = paragraphs.iter().map(|t| wrap(t, 72)).collect();
        let (text_b, b) = sentences(&p, &wrapped_text.join("\n\n"));
        let (a, b) = (
            boundaries(a.iter().map(String::as_str)),
            boundaries(b.iter().map(String::as_str)),
        );
        // Boilerplate may drop a line of either; score only what both kept.
        let kept = |t: &str| t.chars().filter(|c| !c.is_whitespace()).count();
        if kept(&text_a) == kept(&text_b) {
            flat.add(&a, &gold);
            wrapped.add(&b, &gold);
            agree.add(&b, &a);
        }
    }
    eprintln!(
        "UD dev, whole default clean: boundary F1 {:.3} unwrapped, {:.3} wrapped at 72 \
         (agreement {:.3}, {} boundaries)",
        flat.f1(),
        wrapped.f1(),
        agree.f1(),
        flat.wanted
    );
    assert!(flat.wanted > 3000, "most documents compared");
    assert!(
        (flat.f1() - wrapped.f1()).abs() <= 0.02,
        "wrapped F1 {:.3} vs unwrapped {:.3}",
        wrapped.f1(),
        flat.f1()
    );
}

#[test]
fn bench_books_wrapped_at_72_keep_their_sentences() {
    let Some(shared) = common::shared() else {
        return;
    };
    let file = std::fs::File::open(shared.join("bench/gutenberg_en.jsonl.gz")).expect("bench");
    let mut data = String::new();
    flate2::read::GzDecoder::new(file)
        .read_to_string(&mut data)
        .expect("gzip");
    let p = pipeline();
    let (mut agree, mut docs) = (Score::default(), 0);
    // Every 8th document: all 48 books are represented, the test stays quick.
    for line in data.lines().step_by(8) {
        let v: serde_json::Value = serde_json::from_str(line).expect("JSON");
        let text = v["text"].as_str().expect("text");
        let (text_a, a) = sentences(&p, text);
        let wrapped: Vec<String> = text.lines().map(|t| wrap(t, 72)).collect();
        let (text_b, b) = sentences(&p, &wrapped.join("\n\n"));
        let kept = |t: &str| t.chars().filter(|c| !c.is_whitespace()).count();
        if kept(&text_a) == kept(&text_b) {
            agree.add(
                &boundaries(b.iter().map(String::as_str)),
                &boundaries(a.iter().map(String::as_str)),
            );
            docs += 1;
        }
    }
    eprintln!(
        "bench, whole default clean: wrapped-vs-unwrapped boundary agreement F1 {:.3} \
         over {docs} documents",
        agree.f1()
    );
    assert!(docs > 150, "most documents compared ({docs})");
    assert!(agree.f1() >= 0.98, "agreement {:.3}", agree.f1());
}
