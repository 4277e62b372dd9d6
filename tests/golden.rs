//! The 52 English "Golden Rules" (pragmatic_segmenter / pySBD) against the splitter.
//!
//! Data: `../shared/sbd/golden_rules_en.jsonl` (override with `SBD_GOLDEN=path`). When the
//! file is absent the test prints that it skips, except under `CI=true`, where it fails.
//!
//! Comparison (see the data's README): each produced sentence is trimmed, empty ones are
//! dropped, and the list must equal `expected` exactly; cases marked `ws_normalized`
//! (GR-040, GR-041) compare with inner whitespace runs collapsed to one space.

// Tests and benches may panic on their own fixtures.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use textclean::stage::sentences::SentencesConfig;

/// Minimum number of passing cases (the current result; raise it, never lower it).
const MIN_PASS: usize = 52;

/// Cases allowed to fail, with the reason. Empty: all 52 pass.
const EXPECTED_FAILURES: &[(&str, &str)] = &[];

struct Case {
    id: String,
    text: String,
    expected: Vec<String>,
    ws_normalized: bool,
}

fn load(path: &PathBuf) -> Vec<Case> {
    let data = std::fs::read_to_string(path).expect("read golden file");
    data.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("valid JSON line");
            Case {
                id: v["id"].as_str().expect("id").to_string(),
                text: v["text"].as_str().expect("text").to_string(),
                expected: v["expected"]
                    .as_array()
                    .expect("expected")
                    .iter()
                    .map(|s| s.as_str().expect("sentence").to_string())
                    .collect(),
                ws_normalized: v
                    .get("ws_normalized")
                    .and_then(|x| x.as_bool())
                    .unwrap_or(false),
            }
        })
        .collect()
}

fn collapse_ws(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn golden_rules_en() {
    let path = PathBuf::from(std::env::var("SBD_GOLDEN").unwrap_or_else(|_| {
        format!(
            "{}/../shared/sbd/golden_rules_en.jsonl",
            env!("CARGO_MANIFEST_DIR")
        )
    }));
    if !path.exists() {
        let ci = std::env::var("CI").map(|v| v == "true").unwrap_or(false);
        assert!(!ci, "golden file {} is missing (CI=true)", path.display());
        eprintln!("SKIP golden_rules_en: {} not found", path.display());
        return;
    }
    let cases = load(&path);
    assert_eq!(cases.len(), 52, "expected 52 golden cases");

    // The splitter as shipped: built-in data, word statistics and default conventions.
    let sp = SentencesConfig::default()
        .splitter(std::path::Path::new("."))
        .expect("splitter");
    let mut spans = Vec::new();
    let mut passed = 0;
    let mut unexpected = Vec::new();
    let mut report = String::new();
    for case in &cases {
        spans.clear();
        sp.split_into(&case.text, &mut spans);
        let mut got: Vec<String> = spans
            .iter()
            .map(|r| case.text[r.clone()].trim().to_string())
            .filter(|s| !s.is_empty())
            .collect();
        let mut want = case.expected.clone();
        if case.ws_normalized {
            got = got.iter().map(|s| collapse_ws(s)).collect();
            want = want.iter().map(|s| collapse_ws(s)).collect();
        }
        let expected_failure = EXPECTED_FAILURES.iter().find(|(id, _)| *id == case.id);
        if got == want {
            passed += 1;
            if expected_failure.is_some() {
                report.push_str(&format!(
                    "{}: passes now; remove it from EXPECTED_FAILURES\n",
                    case.id
                ));
            }
        } else {
            let line = format!("{}: want {:?}\n        got  {:?}\n", case.id, want, got);
            match expected_failure {
                Some((_, reason)) => {
                    report.push_str(&format!("{} (expected: {reason})\n", line.trim_end()))
                }
                None => unexpected.push(line),
            }
        }
    }
    eprintln!("golden rules: {passed}/{} pass\n{report}", cases.len());
    assert!(
        unexpected.is_empty(),
        "unexpected failures:\n{}",
        unexpected.concat()
    );
    assert!(
        passed >= MIN_PASS,
        "{passed} < {MIN_PASS} golden cases pass"
    );
}
