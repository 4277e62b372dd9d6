//! Sharded runs: a corpus cleaned by many processes (a Slurm job array)
//! that share nothing but a run directory.
//!
//! The scheduler only hands each task its shard index; everything else
//! lives in the run directory, so any task can run anywhere, twice, or
//! after a crash:
//!
//! ```text
//! RUN/manifest.json         plan: inputs (sizes, record counts), N, config text + hash, format
//! RUN/profile/00003.bin     pass 1 of shard 3: its part of the corpus profile
//! RUN/profile/00003.done    … and its completion marker (written last)
//! RUN/profile.bin           merge-profile: the parts added up
//! RUN/clean/00003.jsonl     pass 2 of shard 3: output part (no CSV header)
//! RUN/clean/00003.removed.jsonl, 00003.stats.json, 00003.done
//! RUN/output.jsonl, RUN/stats.json, RUN/removed.jsonl     merge
//! RUN/slurm/*.sbatch, *.out the generated job scripts and their logs
//! ```
//!
//! Records have a global position over all inputs in order (failed records
//! included). `plan` counts them once, and shard `i` of `N` covers the
//! positions `[i*T/N, (i+1)*T/N)`. Because the corpus profile adds up
//! (counts by `+`, first positions by `min`) and every shard cleans with
//! the merged profile, concatenating the parts in shard order gives the
//! bytes one process writes, for any `N`.
//!
//! Every file is written under a temporary name and renamed; a shard first
//! deletes its old marker and writes the new one last, so a shard killed at
//! any point never looks complete, and re-running it is idempotent.

mod markers;
mod passes;
mod plan;
mod slurm;

pub use markers::Incomplete;
use plan::input_bytes;
pub use plan::{
    plan, Manifest, PlanOptions, PlannedFields, PlannedFormat, PlannedInput, PlannedReading,
    RunFormat,
};
pub use slurm::{array_list, resolve_shard, ShardArg, SlurmOptions, SlurmStep, INDEX_VARS};

use std::io;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, PipelineConfig};
use crate::corpus::CorpusProfile;
use crate::input::{InputError, InputOptions, InputSpec, Raw, Reader};
use crate::output::OutputError;
use crate::run::{RunError, RunOptions};
use crate::stats::Stats;

/// Most shards a run may have: shard files are named with five digits.
pub const MAX_SHARDS: u32 = 100_000;

/// A sharded run that cannot go on.
#[derive(Debug, thiserror::Error)]
pub enum ShardError {
    /// A file of the run directory (or an input) could not be read or written.
    // `error`, not `source`: the message already includes it, and a
    // `source` would be printed twice in the binary's error chain.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        error: io::Error,
    },
    /// A file of the run directory is not what textclean wrote there.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// A shard index that is missing or out of range.
    #[error("{0}")]
    Shard(String),
    /// A pass is not complete in every shard.
    #[error("{0}")]
    Incomplete(Incomplete),
    /// Submitting to Slurm failed.
    #[error("sbatch: {0}")]
    Sbatch(String),
    /// The config stored in the manifest does not build.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An input could not be read while planning.
    #[error(transparent)]
    Input(#[from] InputError),
    /// A shard's pass stopped.
    #[error(transparent)]
    Run(#[from] RunError),
    /// A shard's files could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> ShardError + '_ {
    move |error| ShardError::Io {
        path: path.to_path_buf(),
        error,
    }
}

fn invalid(path: &Path, message: impl ToString) -> ShardError {
    ShardError::Invalid {
        path: path.to_path_buf(),
        message: message.to_string(),
    }
}

/// The two passes that run once per shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Pass {
    /// Pass 1: the shard's part of the corpus profile.
    Profile,
    /// Pass 2: the shard's output, removed-lines log and stats parts.
    Clean,
}

impl Pass {
    fn name(self) -> &'static str {
        match self {
            Pass::Profile => "profile",
            Pass::Clean => "clean",
        }
    }
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, ShardError> {
    let bytes = std::fs::read(path).map_err(io_err(path))?;
    serde_json::from_slice(&bytes).map_err(|e| invalid(path, e))
}

fn remove_if_present(path: &Path) -> Result<(), ShardError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(io_err(path)(e)),
        _ => Ok(()),
    }
}

fn file_size(path: &Path) -> Result<u64, ShardError> {
    Ok(std::fs::metadata(path).map_err(io_err(path))?.len())
}

/// One shard's records: the inputs it touches, the records before its
/// range skipped without decoding, reading stopped at its end, and every
/// position made global.
struct ShardRecords {
    reader: Reader,
    /// Global position of the first record of the first input read.
    base: u64,
    to_skip: u64,
    left: u64,
}

impl Iterator for ShardRecords {
    type Item = Result<Raw, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.to_skip > 0 {
            // Before the range: another shard decodes (and reports) it.
            let _before = self.reader.next()?;
            self.to_skip -= 1;
        }
        if self.left == 0 {
            return None;
        }
        let item = self.reader.next()?;
        self.left -= 1;
        let base = self.base;
        Some(item.map(|mut raw| {
            raw.position += base;
            raw
        }))
    }
}

/// A planned run, opened and checked.
#[derive(Debug)]
pub struct Run {
    dir: PathBuf,
    manifest: Manifest,
    config: PipelineConfig,
    /// How every pass reads the inputs: the planned fields and reading flags.
    input: InputOptions,
}

/// What a shard's pass did.
#[derive(Debug)]
pub struct ShardOutcome {
    /// The shard.
    pub shard: u32,
    /// Its records.
    pub records: Range<u64>,
    /// Pass 2's counts (empty for pass 1).
    pub stats: Option<Stats>,
    /// Wall time.
    pub elapsed: Duration,
}

impl Run {
    /// Opens `RUN/manifest.json`, refusing a run planned by another
    /// textclean version or whose stored config does not match its hash.
    ///
    /// # Errors
    /// A missing or invalid manifest, a version or hash mismatch, a config
    /// that does not build.
    pub fn open(dir: &Path) -> Result<Run, ShardError> {
        let dir = std::path::absolute(dir).map_err(io_err(dir))?;
        let path = dir.join("manifest.json");
        if !path.exists() {
            return Err(invalid(
                &dir,
                "no manifest.json: not a planned run (run `textclean plan` first)",
            ));
        }
        let manifest: Manifest = read_json(&path)?;
        let ours = env!("CARGO_PKG_VERSION");
        if manifest.textclean_version != ours {
            return Err(invalid(
                &path,
                format!(
                    "planned by textclean {}, this is {ours}: every shard must run the same version",
                    manifest.textclean_version
                ),
            ));
        }
        let origin = format!("{} (config)", path.display());
        let config =
            PipelineConfig::from_toml_str(&manifest.config, &origin, &manifest.config_base_dir)?;
        if config.hash_hex() != manifest.config_hash {
            return Err(invalid(
                &path,
                format!(
                    "the stored config hashes to {}, not {}: the manifest was edited; plan a new run",
                    config.hash_hex(),
                    manifest.config_hash
                ),
            ));
        }
        config.build(&CorpusProfile::empty())?;
        let input = manifest
            .reading
            .apply(manifest.fields.options())
            .map_err(|e| invalid(&path, format!("reading: {e}")))?;
        Ok(Run {
            dir,
            manifest,
            config,
            input,
        })
    }

    /// The run directory (absolute).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The stored config.
    pub fn config(&self) -> &PipelineConfig {
        &self.config
    }

    /// True when the config reads the corpus profile, so pass 1 runs.
    pub fn needs_profile(&self) -> bool {
        self.config.needs_corpus_profile()
    }

    /// `opts` with the input field names and reading flags the run was
    /// planned with.
    fn options(&self, opts: &RunOptions) -> RunOptions {
        RunOptions {
            input: self.input.clone(),
            ..opts.clone()
        }
    }

    fn pass_dir(&self, pass: Pass) -> PathBuf {
        self.dir.join(pass.name())
    }

    fn marker_path(&self, pass: Pass, i: u32) -> PathBuf {
        self.pass_dir(pass).join(format!("{i:05}.done"))
    }

    fn profile_part(&self, i: u32) -> PathBuf {
        self.pass_dir(Pass::Profile).join(format!("{i:05}.bin"))
    }

    fn output_part(&self, i: u32) -> PathBuf {
        let ext = self.manifest.format.part_extension();
        self.pass_dir(Pass::Clean).join(format!("{i:05}.{ext}"))
    }

    fn log_part(&self, i: u32) -> PathBuf {
        self.pass_dir(Pass::Clean)
            .join(format!("{i:05}.removed.jsonl"))
    }

    fn stats_part(&self, i: u32) -> PathBuf {
        self.pass_dir(Pass::Clean)
            .join(format!("{i:05}.stats.json"))
    }

    /// `RUN/profile.bin`, the merged corpus profile.
    pub fn profile_path(&self) -> PathBuf {
        self.dir.join("profile.bin")
    }

    /// The default merged output, `RUN/output.jsonl` or `RUN/output.csv`.
    pub fn default_output(&self) -> PathBuf {
        self.dir
            .join(format!("output.{}", self.manifest.format.extension()))
    }

    /// Shard `i`'s records, after checking that the inputs it reads have
    /// the sizes they had at plan time.
    fn records(&self, i: u32) -> Result<ShardRecords, ShardError> {
        let range = self.manifest.range(i);
        let mut start = 0u64;
        let mut specs = Vec::new();
        let mut base = None;
        for input in &self.manifest.inputs {
            let end = start + input.records;
            // Inputs that end before the range or start after it are not
            // opened at all: with many files, a shard reads only its own.
            if end > range.start && start < range.end {
                let spec = InputSpec::from_arg_with(&input.path, &self.input)?;
                let now = input_bytes(&spec, self.input.follow)?;
                if now != input.bytes {
                    return Err(invalid(
                        Path::new(&input.path),
                        format!(
                            "changed since the run was planned ({} bytes then, {now} now); plan a new run",
                            input.bytes
                        ),
                    ));
                }
                base.get_or_insert(start);
                specs.push(spec);
            }
            start = end;
        }
        let base = base.unwrap_or(range.start);
        Ok(ShardRecords {
            reader: Reader::new(specs, self.input.clone()),
            base,
            to_skip: range.start - base,
            left: range.end - range.start,
        })
    }

    fn check_read_all(&self, i: u32, records: &ShardRecords) -> Result<(), ShardError> {
        if records.left > 0 {
            let r = self.manifest.range(i);
            return Err(invalid(
                &self.dir.join("manifest.json"),
                format!(
                    "shard {i}: the inputs ended {} records before position {}: an input changed since the plan; plan a new run",
                    records.left, r.end
                ),
            ));
        }
        Ok(())
    }
}
