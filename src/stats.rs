//! Run statistics: plain values that add up.
//!
//! Each batch of documents produces its own [`Stats`]; `run.rs` sums them
//! with `+=` in input order. Nothing here is shared between threads, so
//! there are no atomics or locks on the per-line path.

use std::collections::BTreeMap;
use std::ops::AddAssign;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::document::Document;

/// Counters for one stage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageStats {
    /// Lines whose text the stage changed.
    pub lines_edited: u64,
    /// Lines the stage removed.
    pub lines_removed: u64,
    /// Time spent in the stage, summed over worker threads (CPU time, not
    /// wall time).
    #[serde(
        serialize_with = "serialize_secs",
        deserialize_with = "deserialize_secs"
    )]
    pub time: Duration,
}

impl AddAssign<&StageStats> for StageStats {
    fn add_assign(&mut self, o: &StageStats) {
        self.lines_edited += o.lines_edited;
        self.lines_removed += o.lines_removed;
        self.time += o.time;
    }
}

fn deserialize_secs<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    let secs = f64::deserialize(d)?;
    Duration::try_from_secs_f64(secs).map_err(serde::de::Error::custom)
}

fn serialize_secs<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_f64(d.as_secs_f64())
}

/// Totals for a run (or a batch, or a shard).
/// Serialised as JSON by `--stats` and by each shard of a sharded run, and
/// read back by `merge`, so unknown fields are refused: a counter added
/// here and not understood there must fail loudly, not vanish.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stats {
    /// Documents read successfully.
    pub docs_in: u64,
    /// Documents with at least one line left.
    pub docs_out: u64,
    /// Documents with every line removed: not written, unless the run
    /// keeps them (`--keep-empty`).
    pub docs_empty: u64,
    /// Documents that could not be read (bad UTF-8, broken record, …).
    pub docs_failed: u64,
    /// Input lines (after unifying line breaks), blank lines included.
    pub lines_in: u64,
    /// Output lines (paragraphs).
    pub lines_out: u64,
    /// Lines removed, all stages and reasons.
    pub lines_removed: u64,
    /// Input bytes of the documents read (text field only).
    pub bytes_in: u64,
    /// Output bytes of the cleaned text (text field only).
    pub bytes_out: u64,
    /// Sentences found, when a sentence stage ran.
    pub sentences: u64,
    /// Removed lines by stage, then by reason.
    pub removed: BTreeMap<String, BTreeMap<String, u64>>,
    /// Input files by the encoding `--encoding auto` detected (empty
    /// without it).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub encodings: BTreeMap<String, u64>,
    /// Per-stage counters, in pipeline order.
    pub stages: Vec<(String, StageStats)>,
    /// Wall time spent reading input (sequential: files, decompression,
    /// line splitting).
    #[serde(
        serialize_with = "serialize_secs",
        deserialize_with = "deserialize_secs"
    )]
    pub read_time: Duration,
    /// Time spent decoding records into documents (UTF-8 checks, JSON
    /// parsing), summed over worker threads.
    #[serde(
        serialize_with = "serialize_secs",
        deserialize_with = "deserialize_secs"
    )]
    pub decode_time: Duration,
    /// Time spent rendering documents into the output format (JSON
    /// escaping, CSV quoting), summed over worker threads.
    #[serde(
        default,
        serialize_with = "serialize_secs",
        deserialize_with = "deserialize_secs"
    )]
    pub render_time: Duration,
    /// CPU time the sequential writer spent handing renderings to the
    /// outputs and finishing them (compression and the kernel's copying
    /// included; waiting for the disk not).
    #[serde(
        default,
        serialize_with = "serialize_secs",
        deserialize_with = "deserialize_secs"
    )]
    pub write_time: Duration,
}

impl Stats {
    /// Empty stats for a pipeline with these stage names.
    pub fn for_stages<'a>(names: impl IntoIterator<Item = &'a str>) -> Stats {
        Stats {
            stages: names
                .into_iter()
                .map(|n| (n.to_string(), StageStats::default()))
                .collect(),
            ..Stats::default()
        }
    }

    /// Counts one cleaned document (its removals must still be in it).
    pub fn observe(&mut self, doc: &Document, text_len: usize) {
        self.docs_in += 1;
        if doc.lines().is_empty() {
            self.docs_empty += 1;
        } else {
            self.docs_out += 1;
        }
        self.lines_in += doc.lines_in() as u64;
        self.lines_out += doc.lines_out() as u64;
        self.lines_removed += doc.lines_removed() as u64;
        self.bytes_in += doc.bytes_in() as u64;
        self.bytes_out += text_len as u64;
        self.sentences += doc.sentences().map_or(0, |s| s.len() as u64);
        if let Some(enc) = doc.detected_encoding {
            *self.encodings.entry(enc.to_string()).or_default() += 1;
        }
        // Runs once per removed line in the writer loop: allocate the
        // keys only the first time a (stage, reason) pair is seen.
        for r in doc.removals() {
            let reasons = match self.removed.get_mut(r.stage) {
                Some(reasons) => reasons,
                None => self.removed.entry(r.stage.to_string()).or_default(),
            };
            match reasons.get_mut(r.reason.as_str()) {
                Some(n) => *n += 1,
                None => {
                    reasons.insert(r.reason.as_str().to_string(), 1);
                }
            }
        }
    }
}

impl AddAssign<&Stats> for Stats {
    fn add_assign(&mut self, o: &Stats) {
        self.docs_in += o.docs_in;
        self.docs_out += o.docs_out;
        self.docs_empty += o.docs_empty;
        self.docs_failed += o.docs_failed;
        self.lines_in += o.lines_in;
        self.lines_out += o.lines_out;
        self.lines_removed += o.lines_removed;
        self.bytes_in += o.bytes_in;
        self.bytes_out += o.bytes_out;
        self.sentences += o.sentences;
        self.read_time += o.read_time;
        self.decode_time += o.decode_time;
        self.render_time += o.render_time;
        self.write_time += o.write_time;
        for (enc, n) in &o.encodings {
            *self.encodings.entry(enc.clone()).or_default() += n;
        }
        for (stage, reasons) in &o.removed {
            let mine = self.removed.entry(stage.clone()).or_default();
            for (reason, n) in reasons {
                *mine.entry(reason.clone()).or_default() += n;
            }
        }
        if self.stages.is_empty() {
            self.stages = o.stages.clone();
        } else {
            for ((_, mine), (_, theirs)) in self.stages.iter_mut().zip(&o.stages) {
                *mine += theirs;
            }
        }
    }
}

/// The summary of a whole run: stats plus wall time, as printed to stderr
/// and written by `--stats`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// textclean's version.
    pub version: &'static str,
    /// The totals.
    #[serde(flatten)]
    pub stats: Stats,
    /// Wall-clock seconds for the whole run.
    pub elapsed_secs: f64,
    /// Input megabytes (10^6 bytes) per wall-clock second.
    pub mb_per_sec: f64,
}

impl Report {
    /// Wraps totals with the run's wall time.
    pub fn new(stats: Stats, elapsed: Duration) -> Report {
        let secs = elapsed.as_secs_f64();
        let mb_per_sec = if secs > 0.0 {
            stats.bytes_in as f64 / 1e6 / secs
        } else {
            0.0
        };
        Report {
            version: env!("CARGO_PKG_VERSION"),
            stats,
            elapsed_secs: secs,
            mb_per_sec,
        }
    }

    /// The human-readable table printed to stderr at the end of a run.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let s = &self.stats;
        let mut t = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(
            t,
            "docs    {:>12} in {:>12} out {:>8} empty {:>6} failed",
            s.docs_in, s.docs_out, s.docs_empty, s.docs_failed
        );
        let _ = writeln!(
            t,
            "lines   {:>12} in {:>12} out {:>8} removed",
            s.lines_in, s.lines_out, s.lines_removed
        );
        let _ = writeln!(t, "bytes   {:>12} in {:>12} out", s.bytes_in, s.bytes_out);
        if s.sentences > 0 {
            let _ = writeln!(t, "sentences {:>10}", s.sentences);
        }
        if !s.encodings.is_empty() {
            let found: Vec<String> = s
                .encodings
                .iter()
                .map(|(enc, n)| format!("{enc} {n}"))
                .collect();
            let _ = writeln!(t, "files by detected encoding: {}", found.join(", "));
        }
        if !s.removed.is_empty() {
            let _ = writeln!(t, "removed by stage and reason:");
            for (stage, reasons) in &s.removed {
                for (reason, n) in reasons {
                    let _ = writeln!(t, "  {stage:<12} {reason:<32} {n:>10}");
                }
            }
        }
        let _ = writeln!(
            t,
            "elapsed {:.3} s, {:.1} MB/s",
            self.elapsed_secs, self.mb_per_sec
        );
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::document::Reason;

    #[test]
    fn stats_add_up_across_batches() {
        let mut doc = Document::new("a", "Hide Ad\nText.");
        doc.remove_lines("boilerplate", |_, t| {
            (t == "Hide Ad").then(|| Reason::Rule("ads/exact".into()))
        });
        let mut one = Stats::for_stages(["boilerplate"]);
        one.observe(&doc, 5);
        let mut total = Stats::for_stages(["boilerplate"]);
        total += &one;
        total += &one;
        assert_eq!(total.docs_in, 2);
        assert_eq!(total.lines_in, 4);
        assert_eq!(total.lines_in, total.lines_out + total.lines_removed);
        assert_eq!(total.removed["boilerplate"]["ads/exact"], 2);
    }
}
