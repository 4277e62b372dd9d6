//! The passes of one shard (profile, clean) and the merges that join them.

use std::io::{self, Read};
use std::path::Path;
use std::time::{Duration, Instant};

use super::{
    invalid, io_err, read_json, remove_if_present, Pass, Run, RunFormat, ShardError, ShardOutcome,
};
use crate::corpus::CorpusProfile;
use crate::output::{
    read_frame, write_file_atomic, AtomicFile, Compression, DatasetSink, FieldKinds, Format,
    ParquetSink, RemovedLog, Renderer,
};
use crate::run::{self, OutputSpec, RunOptions};
use crate::stats::{Report, Stats};

impl Run {
    /// Pass 1 for shard `i`: writes its profile part, then its marker.
    ///
    /// # Errors
    /// Inputs that changed, and any read, build or write error.
    pub fn profile_shard(&self, i: u32, opts: &RunOptions) -> Result<ShardOutcome, ShardError> {
        let started = Instant::now();
        let opts = &self.options(opts);
        remove_if_present(&self.marker_path(Pass::Profile, i))?;
        let cap = self.config.corpus.max_fingerprints.get();
        let profile = if self.needs_profile() {
            let mut records = self.records(i)?;
            let p = run::profile_part(&mut records, &self.config, opts)?;
            self.check_read_all(i, &records)?;
            p
        } else {
            CorpusProfile::new(cap)
        };
        let part = self.profile_part(i);
        let mut bytes = Vec::new();
        profile.write_to(&mut bytes).map_err(io_err(&part))?;
        write_file_atomic(&part, &bytes)?;
        let elapsed = started.elapsed();
        self.write_marker(Pass::Profile, i, &[part], elapsed)?;
        Ok(ShardOutcome {
            shard: i,
            records: self.manifest.range(i),
            stats: None,
            elapsed,
        })
    }

    /// Adds up the profile parts into `RUN/profile.bin`.
    ///
    /// # Errors
    /// A shard without a complete part (all are named), unreadable parts.
    pub fn merge_profile(&self) -> Result<CorpusProfile, ShardError> {
        self.check_pass(Pass::Profile)
            .map_err(ShardError::Incomplete)?;
        let cap = self.config.corpus.max_fingerprints.get();
        let mut merged = CorpusProfile::new(cap);
        for i in 0..self.manifest.shards.get() {
            merged.merge(read_profile(&self.profile_part(i))?);
        }
        let path = self.profile_path();
        let mut bytes = Vec::new();
        merged.write_to(&mut bytes).map_err(io_err(&path))?;
        write_file_atomic(&path, &bytes)?;
        Ok(merged)
    }

    /// Pass 2 for shard `i`: output part, log part, stats part, marker.
    ///
    /// # Errors
    /// A missing merged profile (when the config needs one), inputs that
    /// changed, and any read, build or write error.
    pub fn clean_shard(&self, i: u32, opts: &RunOptions) -> Result<ShardOutcome, ShardError> {
        let started = Instant::now();
        let opts = &self.options(opts);
        let profile = if self.needs_profile() {
            let path = self.profile_path();
            if !path.exists() {
                return Err(invalid(
                    &path,
                    "missing: run every profile shard, then `textclean merge-profile`, before clean",
                ));
            }
            read_profile(&path)?
        } else {
            CorpusProfile::empty()
        };
        // Read once and shared by the stages that need it, never copied.
        let profile = std::sync::Arc::new(profile);
        // The old marker goes first: from here until the new one is
        // written, this shard does not look complete.
        remove_if_present(&self.marker_path(Pass::Clean, i))?;
        let out = self.output_part(i);
        let output = OutputSpec {
            path: out.display().to_string(),
            format: self.manifest.format.format(),
            unit: self.manifest.unit,
            compression: Compression::None,
            spans: false,
            // As one process does by default (a plan has no --keep-empty).
            keep_empty: false,
        };
        let log = self.manifest.removed_log.then(|| self.log_part(i));
        // A part takes the run's CSV columns (found at plan time) and has
        // no header: `merge` writes it once.
        let columns = self.manifest.csv_fields.clone().unwrap_or_default();
        let mut sink = (
            DatasetSink::part(&output, self.config.has_sentences(), columns),
            log.as_deref().map(RemovedLog::new),
        );
        let mut records = self.records(i)?;
        let stats = run::clean_part(&mut records, &self.config, profile, &mut sink, opts)?;
        self.check_read_all(i, &records)?;
        let stats_path = self.stats_part(i);
        let json = serde_json::to_vec_pretty(&stats).map_err(|e| invalid(&stats_path, e))?;
        write_file_atomic(&stats_path, &json)?;
        let mut files = vec![out, stats_path];
        files.extend(log);
        let elapsed = started.elapsed();
        self.write_marker(Pass::Clean, i, &files, elapsed)?;
        Ok(ShardOutcome {
            shard: i,
            records: self.manifest.range(i),
            stats: Some(stats),
            elapsed,
        })
    }

    /// Merges a complete run: the output parts in shard order (CSV: under
    /// one header; Parquet: encoded on `threads`) into `output` (default
    /// [`Run::default_output`]), the log
    /// parts into `RUN/removed.jsonl`, and the summed stats into
    /// `RUN/stats.json`. `elapsed_secs` there is the clean pass's wall
    /// time summed over shards.
    ///
    /// # Errors
    /// An incomplete run (naming every missing shard), unreadable parts,
    /// an unwritable output.
    pub fn merge(&self, output: Option<&Path>, threads: usize) -> Result<Report, ShardError> {
        let markers = self
            .check_pass(Pass::Clean)
            .map_err(ShardError::Incomplete)?;
        let n = self.manifest.shards.get();
        let out_path = output.map_or_else(|| self.default_output(), Path::to_path_buf);
        let out = AtomicFile::create(&out_path)?;
        let out = if self.manifest.format == RunFormat::Parquet {
            self.encode_parquet(out, threads)?;
            None
        } else {
            Some(self.concatenate(out)?)
        };
        if self.manifest.removed_log {
            let mut log = AtomicFile::create(&self.dir.join("removed.jsonl"))?;
            for i in 0..n {
                append(&mut log, &self.log_part(i))?;
            }
            log.commit()?;
        }
        let mut total = Stats::default();
        for i in 0..n {
            let path = self.stats_part(i);
            let stats: Stats = read_json(&path)?;
            total += &stats;
        }
        if let Some(out) = out {
            out.commit()?;
        }
        let elapsed: f64 = markers.iter().map(|m| m.elapsed_secs).sum();
        let report = Report::new(
            total,
            Duration::try_from_secs_f64(elapsed).unwrap_or_default(),
        );
        let stats_path = self.dir.join("stats.json");
        let json = serde_json::to_vec_pretty(&report).map_err(|e| invalid(&stats_path, e))?;
        write_file_atomic(&stats_path, &json)?;
        Ok(report)
    }
}

impl Run {
    /// The JSONL or CSV parts in shard order (CSV under one header).
    fn concatenate(&self, mut out: AtomicFile) -> Result<AtomicFile, ShardError> {
        if let (RunFormat::Csv, Some(keys)) = (self.manifest.format, &self.manifest.csv_fields) {
            let mut r = Renderer::new(Format::Csv, self.manifest.unit, self.config.has_sentences());
            r.set_csv_fields(keys);
            if let Some(h) = r.header() {
                out.write_all(&h)?;
            }
        }
        for i in 0..self.manifest.shards.get() {
            append(&mut out, &self.output_part(i))?;
        }
        Ok(out)
    }

    /// The frames of the Parquet parts, in shard order, encoded as one
    /// process writes them: the same row groups, and the columns typed at
    /// plan time over every record; the file is in place when this returns.
    fn encode_parquet(&self, out: AtomicFile, threads: usize) -> Result<(), ShardError> {
        let mut sink = ParquetSink::new(out);
        if threads > 1 {
            let pool = crate::par::Pool::with_threads(threads)
                .map_err(|e| ShardError::Shard(format!("merge: thread pool: {e}")))?;
            sink.set_pool(pool);
        }
        sink.set_columns(
            self.manifest
                .parquet_fields
                .as_ref()
                .unwrap_or(&FieldKinds::default()),
        );
        let mut frame = Vec::new();
        for i in 0..self.manifest.shards.get() {
            let part = self.output_part(i);
            let f = std::fs::File::open(&part).map_err(io_err(&part))?;
            let mut r = io::BufReader::with_capacity(1 << 20, f);
            while read_frame(&mut r, &mut frame).map_err(io_err(&part))? {
                sink.write(std::mem::take(&mut frame))?;
            }
        }
        sink.finish()?;
        Ok(())
    }
}

fn read_profile(path: &Path) -> Result<CorpusProfile, ShardError> {
    let f = std::fs::File::open(path).map_err(io_err(path))?;
    CorpusProfile::read_from(io::BufReader::new(f)).map_err(io_err(path))
}

fn append(out: &mut AtomicFile, part: &Path) -> Result<(), ShardError> {
    let mut f = std::fs::File::open(part).map_err(io_err(part))?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io_err(part))?;
        if n == 0 {
            return Ok(());
        }
        out.write_all(&buf[..n])?;
    }
}
