//! The `bench` command's report: per-stage throughput, repeats, peak RSS.
//!
//! `run.rs` does the work (output discarded); this module turns the
//! repeated runs' stats into one table. Stage figures are CPU time summed
//! over threads, so "stage MB/s" reads as what one core does in that stage;
//! the total is wall-clock throughput at the chosen thread count.

use std::time::Duration;

use serde::Serialize;

use crate::stats::Report;

/// One row of the per-stage table.
#[derive(Debug, Clone, Serialize)]
pub struct StageRow {
    /// `read`, `decode`, or a stage name.
    pub name: String,
    /// Median CPU seconds over the repeats.
    pub secs: f64,
    /// Share of the summed time of all rows.
    pub share: f64,
    /// Input MB per CPU second spent in this row (one core's throughput).
    pub mb_per_cpu_sec: f64,
}

/// One timed run.
#[derive(Debug, Clone)]
pub struct Run {
    /// Totals, with the wall time of the whole run (build included).
    pub report: Report,
    /// Wall time of pass 1.
    pub profile: Duration,
    /// Wall time of compiling the pipeline (alongside pass 1 when there
    /// is one).
    pub build: Duration,
}

/// The whole benchmark result.
#[derive(Debug, Clone, Serialize)]
pub struct BenchReport {
    /// Input bytes per run.
    pub bytes: u64,
    /// Documents per run.
    pub docs: u64,
    /// Worker threads.
    pub threads: usize,
    /// Repeats.
    pub repeats: usize,
    /// Wall seconds of each repeat.
    pub wall_secs: Vec<f64>,
    /// Fastest repeat, MB/s (wall).
    pub mb_per_sec_best: f64,
    /// Median repeat, MB/s (wall).
    pub mb_per_sec_median: f64,
    /// Median repeat, documents/s (wall).
    pub docs_per_sec_median: f64,
    /// Pass 1 (corpus profile) seconds, median.
    pub profile_secs: f64,
    /// Seconds to compile the pipeline (config to regexes and automata), median.
    pub build_secs: f64,
    /// The stages alone (normalize to sentences, no reading, decoding or
    /// pass 1): input MB per CPU second, i.e. one core's throughput.
    pub stages_mb_per_cpu_sec: f64,
    /// Per-stage rows, in pipeline order after read and decode; then, when
    /// the output is written (`-o`), render and write.
    pub stages: Vec<StageRow>,
    /// Peak resident set size of the process, bytes (Linux `VmHWM`).
    pub peak_rss_bytes: Option<u64>,
}

fn median(v: &[f64]) -> f64 {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    match s.len() {
        0 => 0.0,
        n if n % 2 == 1 => s[n / 2],
        n => (s[n / 2 - 1] + s[n / 2]) / 2.0,
    }
}

/// Peak resident set size from `/proc/self/status`, where available.
pub fn peak_rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

impl BenchReport {
    /// Summarises repeated runs (each with its pass-1 time);
    /// `written` when the output was written (`-o`).
    pub fn new(runs: &[Run], threads: usize, written: bool) -> BenchReport {
        let first = runs.first().map(|r| &r.report.stats);
        let bytes = first.map_or(0, |s| s.bytes_in);
        let docs = first.map_or(0, |s| s.docs_in);
        let wall: Vec<f64> = runs.iter().map(|r| r.report.elapsed_secs).collect();
        let mb = bytes as f64 / 1e6;
        let rate = |secs: f64| if secs > 0.0 { mb / secs } else { 0.0 };
        let best = wall.iter().copied().fold(f64::INFINITY, f64::min);
        let med = median(&wall);
        let mut names: Vec<String> = vec!["read".into(), "decode".into()];
        let n_stages = first.map_or(0, |s| s.stages.len());
        if let Some(s) = first {
            names.extend(s.stages.iter().map(|(n, _)| n.clone()));
        }
        // With `-o`: what the output costs, after the stages.
        if written {
            names.extend(["render".into(), "write".into()]);
        }
        let secs_of = |i: usize| -> f64 {
            let per_run: Vec<f64> = runs
                .iter()
                .map(|r| match i {
                    0 => r.report.stats.read_time.as_secs_f64(),
                    1 => r.report.stats.decode_time.as_secs_f64(),
                    k if k == n_stages + 2 => r.report.stats.render_time.as_secs_f64(),
                    k if k == n_stages + 3 => r.report.stats.write_time.as_secs_f64(),
                    k => r
                        .report
                        .stats
                        .stages
                        .get(k - 2)
                        .map_or(0.0, |(_, s)| s.time.as_secs_f64()),
                })
                .collect();
            median(&per_run)
        };
        let secs: Vec<f64> = (0..names.len()).map(secs_of).collect();
        let total: f64 = secs.iter().sum();
        let stage_secs: f64 = secs.iter().skip(2).take(n_stages).sum();
        let stages = names
            .into_iter()
            .zip(&secs)
            .map(|(name, &s)| StageRow {
                name,
                secs: s,
                share: if total > 0.0 { s / total } else { 0.0 },
                mb_per_cpu_sec: rate(s),
            })
            .collect();
        let profile: Vec<f64> = runs.iter().map(|r| r.profile.as_secs_f64()).collect();
        let build: Vec<f64> = runs.iter().map(|r| r.build.as_secs_f64()).collect();
        BenchReport {
            bytes,
            docs,
            threads,
            repeats: runs.len(),
            wall_secs: wall,
            mb_per_sec_best: rate(best),
            mb_per_sec_median: rate(med),
            docs_per_sec_median: if med > 0.0 { docs as f64 / med } else { 0.0 },
            profile_secs: median(&profile),
            build_secs: median(&build),
            stages_mb_per_cpu_sec: rate(stage_secs),
            stages,
            peak_rss_bytes: peak_rss_bytes(),
        }
    }

    /// The human-readable table.
    pub fn table(&self) -> String {
        use std::fmt::Write;
        let mut t = String::new();
        let _ = writeln!(
            t,
            "input {:.1} MB, {} docs; {} thread(s); {} repeat(s)",
            self.bytes as f64 / 1e6,
            self.docs,
            self.threads,
            self.repeats
        );
        let _ = writeln!(
            t,
            "{:<14} {:>10} {:>7} {:>14}",
            "part", "cpu s", "share", "MB/s per core"
        );
        for r in &self.stages {
            let _ = writeln!(
                t,
                "{:<14} {:>10.4} {:>6.1}% {:>14.1}",
                r.name,
                r.secs,
                r.share * 100.0,
                r.mb_per_cpu_sec
            );
        }
        let _ = writeln!(
            t,
            "stages alone: {:.1} MB/s per core (normalize to sentences, without read, decode, pass 1)",
            self.stages_mb_per_cpu_sec
        );
        if self.profile_secs > 0.0 {
            let _ = writeln!(
                t,
                "pass 1 (corpus profile): {:.3} s wall, with the pipeline build ({:.3} s) alongside",
                self.profile_secs, self.build_secs
            );
        } else {
            let _ = writeln!(t, "pipeline build: {:.3} s wall", self.build_secs);
        }
        let _ = writeln!(
            t,
            "total: {:.1} MB/s median, {:.1} MB/s best, {:.0} docs/s (wall, end to end, {} thread(s))",
            self.mb_per_sec_median, self.mb_per_sec_best, self.docs_per_sec_median, self.threads
        );
        if let Some(rss) = self.peak_rss_bytes {
            let _ = writeln!(t, "peak RSS: {:.1} MiB", rss as f64 / (1024.0 * 1024.0));
        }
        t
    }
}
