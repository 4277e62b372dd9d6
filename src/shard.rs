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

use std::collections::BTreeMap;
use std::fmt;
use std::io::{self, Read};
use std::num::NonZeroU32;
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use crate::config::{ConfigError, PipelineConfig};
use crate::corpus::CorpusProfile;
use crate::document::Document;
use crate::input::{
    walk_text_files, EncodingChoice, InputError, InputOptions, InputSpec, Raw, Reader, StreamFormat,
};
use crate::output::{
    write_file_atomic, AtomicFile, Compression, Format, OutputError, Renderer, Unit,
};
use crate::run::{self, OutputSpec, RunError, RunOptions};
use crate::stats::{Report, Stats};

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

/// Output formats a run can merge (a directory of `.txt` files cannot be
/// concatenated, so it is not one of them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum RunFormat {
    /// One JSON object per line.
    Jsonl,
    /// CSV with one header row (written by `merge`).
    Csv,
}

impl RunFormat {
    fn format(self) -> Format {
        match self {
            RunFormat::Jsonl => Format::Jsonl,
            RunFormat::Csv => Format::Csv,
        }
    }

    fn extension(self) -> &'static str {
        match self {
            RunFormat::Jsonl => "jsonl",
            RunFormat::Csv => "csv",
        }
    }
}

/// `Unit` as the manifest spells it.
#[derive(Serialize, Deserialize)]
#[serde(remote = "Unit", rename_all = "snake_case")]
enum UnitDef {
    Doc,
    Sentence,
}

/// One input as planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedInput {
    /// Absolute path (shards may run in another directory).
    pub path: String,
    /// Bytes on disk (a directory: the sum of its text files), checked by
    /// every shard so a changed input is refused rather than mis-sharded.
    pub bytes: u64,
    /// Records, failed ones included.
    pub records: u64,
}

/// Input field names, as `clean --text-field …` takes them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlannedFields {
    /// Field holding the text.
    pub text: String,
    /// Field holding the document id.
    pub id: String,
    /// Field holding the source.
    pub source: String,
}

impl PlannedFields {
    fn options(&self) -> InputOptions {
        InputOptions {
            text_field: self.text.clone(),
            id_field: self.id.clone(),
            source_field: self.source.clone(),
            ..InputOptions::default()
        }
    }
}

/// How inputs are read, as `clean --follow --delimiter …` takes them: fixed
/// at plan time so that every pass reads the records `plan` counted.
/// Manifests written before these flags existed load with the defaults,
/// which is how those runs read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlannedReading {
    /// Follow symbolic links inside directory inputs.
    pub follow: bool,
    /// CSV field delimiter (one ASCII byte).
    pub delimiter: u8,
    /// Format of inputs whose name does not say (`--input-format`).
    pub input_format: Option<PlannedFormat>,
    /// `--encoding`: `utf-8`, `auto` or an encoding's name.
    pub encoding: String,
    /// The line cap (`--max-line-bytes`).
    pub max_line_bytes: usize,
}

/// [`StreamFormat`], as the manifest spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PlannedFormat {
    /// JSONL.
    Jsonl,
    /// CSV.
    Csv,
    /// One text document.
    Txt,
}

impl Default for PlannedReading {
    fn default() -> Self {
        PlannedReading::of(&InputOptions::default())
    }
}

impl PlannedReading {
    fn of(o: &InputOptions) -> PlannedReading {
        PlannedReading {
            follow: o.follow,
            delimiter: o.delimiter,
            input_format: o.format.map(|f| match f {
                StreamFormat::Jsonl => PlannedFormat::Jsonl,
                StreamFormat::Csv => PlannedFormat::Csv,
                StreamFormat::Txt => PlannedFormat::Txt,
            }),
            encoding: match o.encoding {
                EncodingChoice::Utf8 => "utf-8".into(),
                EncodingChoice::Auto => "auto".into(),
                EncodingChoice::Named(enc) => enc.name().to_ascii_lowercase(),
            },
            max_line_bytes: o.max_line_bytes,
        }
    }

    /// `o` with these reading settings.
    fn apply(&self, o: InputOptions) -> Result<InputOptions, String> {
        Ok(InputOptions {
            follow: self.follow,
            delimiter: self.delimiter,
            format: self.input_format.map(|f| match f {
                PlannedFormat::Jsonl => StreamFormat::Jsonl,
                PlannedFormat::Csv => StreamFormat::Csv,
                PlannedFormat::Txt => StreamFormat::Txt,
            }),
            encoding: self.encoding.parse()?,
            max_line_bytes: self.max_line_bytes,
            ..o
        })
    }
}

/// `RUN/manifest.json`: everything a shard needs, fixed at plan time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The textclean version that planned the run; every pass must match
    /// it, since another version may clean differently.
    pub textclean_version: String,
    /// Number of shards.
    pub shards: NonZeroU32,
    /// Inputs in the order they are read (sorted by path).
    pub inputs: Vec<PlannedInput>,
    /// Records over all inputs.
    pub records: u64,
    /// Output format.
    pub format: RunFormat,
    /// Output unit.
    #[serde(with = "UnitDef")]
    pub unit: Unit,
    /// Whether shards write removed-lines log parts.
    pub removed_log: bool,
    /// Input field names.
    pub fields: PlannedFields,
    /// How inputs are read (absent in manifests from before the reading
    /// flags: the defaults).
    #[serde(default)]
    pub reading: PlannedReading,
    /// CSV: the carried fields of the run's first readable document (its
    /// columns), or `None` when no record is readable; JSONL: `None`.
    pub csv_fields: Option<Vec<String>>,
    /// `config_hash_hex` of the resolved config.
    pub config_hash: String,
    /// Directory that relative paths in the config resolve against.
    pub config_base_dir: PathBuf,
    /// The resolved config (`check-config` TOML), so shards never depend
    /// on the original config file.
    pub config: String,
}

impl Manifest {
    /// The positions shard `i` covers.
    pub fn range(&self, i: u32) -> Range<u64> {
        let n = u128::from(self.shards.get());
        let t = u128::from(self.records);
        // i < n and the result is at most t, so both fit in u64.
        let at = |k: u128| u64::try_from(k * t / n).unwrap_or(u64::MAX);
        at(u128::from(i))..at(u128::from(i) + 1)
    }
}

/// What `plan` is asked to do.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// Number of shards.
    pub shards: NonZeroU32,
    /// Output format.
    pub format: RunFormat,
    /// Output unit.
    pub unit: Unit,
    /// Write removed-lines log parts (merged into `RUN/removed.jsonl`).
    pub removed_log: bool,
    /// Input field names.
    pub input: InputOptions,
}

/// A shard index given on the command line: `I/N` or `I`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShardArg {
    /// The index.
    pub index: u32,
    /// The shard count, if given (it must match the manifest).
    pub of: Option<u32>,
}

impl std::str::FromStr for ShardArg {
    type Err = String;

    fn from_str(s: &str) -> Result<ShardArg, String> {
        let num = |t: &str| {
            t.trim()
                .parse::<u32>()
                .map_err(|_| format!("`{s}` is not I/N or I (non-negative integers)"))
        };
        Ok(match s.split_once('/') {
            Some((i, n)) => ShardArg {
                index: num(i)?,
                of: Some(num(n)?),
            },
            None => ShardArg {
                index: num(s)?,
                of: None,
            },
        })
    }
}

/// Environment variables that carry a shard index, in precedence order:
/// Slurm job arrays, then Kubernetes indexed jobs. The shard count never
/// comes from the environment: `SLURM_ARRAY_TASK_COUNT` describes one
/// submission (a retry of `--array=2,5` sees 2), not the dataset.
pub const INDEX_VARS: [&str; 2] = ["SLURM_ARRAY_TASK_ID", "JOB_COMPLETION_INDEX"];

/// The shard to run: `--shard`, else the first of [`INDEX_VARS`] that
/// `env` has; checked against the manifest's count.
///
/// # Errors
/// No index anywhere, one that does not parse, a count that is not the
/// manifest's, or an index ≥ the count.
pub fn resolve_shard(
    arg: Option<ShardArg>,
    env: impl Fn(&str) -> Option<String>,
    shards: NonZeroU32,
) -> Result<u32, ShardError> {
    let n = shards.get();
    let (index, from) = match arg {
        Some(a) => {
            if let Some(of) = a.of.filter(|&of| of != n) {
                return Err(ShardError::Shard(format!(
                    "--shard {}/{of}: the run was planned with {n} shards",
                    a.index
                )));
            }
            (a.index, "--shard".to_string())
        }
        None => {
            let Some((var, value)) = INDEX_VARS
                .iter()
                .find_map(|v| env(v).map(|value| (*v, value)))
            else {
                return Err(ShardError::Shard(format!(
                    "no shard index: give --shard I/{n}, or run as a Slurm array task (SLURM_ARRAY_TASK_ID) or an indexed job (JOB_COMPLETION_INDEX)"
                )));
            };
            let index = value
                .trim()
                .parse::<u32>()
                .map_err(|_| ShardError::Shard(format!("{var}={value:?} is not a shard index")))?;
            (index, var.to_string())
        }
    };
    if index >= n {
        return Err(ShardError::Shard(format!(
            "shard {index} (from {from}) does not exist: the run has {n} shards, 0 to {}",
            n - 1
        )));
    }
    Ok(index)
}

/// Formats shard indices as a Slurm `--array` list: `2,5,7-9`.
pub fn array_list(shards: &[u32]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < shards.len() {
        let mut j = i;
        while j + 1 < shards.len() && shards[j + 1] == shards[j] + 1 {
            j += 1;
        }
        out.push(if j == i {
            shards[i].to_string()
        } else {
            format!("{}-{}", shards[i], shards[j])
        });
        i = j + 1;
    }
    out.join(",")
}

/// Shards of a pass that are not complete, and why.
#[derive(Debug)]
pub struct Incomplete {
    /// The run directory.
    pub run: PathBuf,
    /// The pass.
    pub pass: Pass,
    /// Shard count.
    pub shards: u32,
    /// Each incomplete shard with the reason.
    pub problems: Vec<(u32, String)>,
}

impl Incomplete {
    /// The incomplete shard indices, ascending.
    pub fn shards(&self) -> Vec<u32> {
        self.problems.iter().map(|(i, _)| *i).collect()
    }
}

impl fmt::Display for Incomplete {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let run = self.run.display();
        let pass = self.pass.name();
        writeln!(
            f,
            "run {run}: the {pass} pass is incomplete: {} of {} shards not done",
            self.problems.len(),
            self.shards
        )?;
        for (i, why) in &self.problems {
            writeln!(f, "  shard {i}: {why}")?;
        }
        let list = array_list(&self.shards());
        writeln!(f, "missing shards: --array={list}")?;
        write!(
            f,
            "re-run them: sbatch --array={list} {run}/slurm/{pass}.sbatch (or textclean {pass} --run {run} --shard I/{} for each)",
            self.shards
        )
    }
}

/// A shard's completion marker: written last, after its parts are renamed.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Marker {
    pass: Pass,
    shard: u32,
    shards: u32,
    records: Range<u64>,
    config_hash: String,
    textclean_version: String,
    /// Each part's file name and size, so a part replaced or truncated
    /// after the marker was written is noticed.
    files: BTreeMap<String, u64>,
    elapsed_secs: f64,
}

fn input_bytes(spec: &InputSpec, follow: bool) -> Result<u64, ShardError> {
    match spec {
        InputSpec::Dir(d) => {
            let mut total = 0;
            // The files the reader reads: an unreadable entry is a failed
            // record there, and adds nothing here.
            for entry in walk_text_files(d, follow) {
                match entry {
                    Ok((_, p)) => total += std::fs::metadata(&p).map_err(io_err(&p))?.len(),
                    Err(e) if Path::new(&e.path) == d.as_path() => return Err(e.into()),
                    Err(_) => {}
                }
            }
            Ok(total)
        }
        other => {
            // Every other kind came from a path (stdin is refused earlier).
            let p = other.path().unwrap_or(Path::new("-"));
            Ok(std::fs::metadata(p).map_err(io_err(p))?.len())
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

/// Plans a run: counts the records of every input once and writes
/// `RUN/manifest.json`. Planning the same run again is a no-op; planning a
/// different one into a used directory is refused, so parts of two plans
/// never mix.
///
/// # Errors
/// Stdin or an unreadable input, a used run directory, an unwritable one.
pub fn plan(
    run: &Path,
    inputs: &[String],
    config: &PipelineConfig,
    opts: &PlanOptions,
) -> Result<Manifest, ShardError> {
    if opts.shards.get() > MAX_SHARDS {
        return Err(ShardError::Shard(format!(
            "--shards {}: at most {MAX_SHARDS}",
            opts.shards
        )));
    }
    let mut paths = Vec::with_capacity(inputs.len());
    for arg in inputs {
        if arg == "-" {
            return Err(ShardError::Shard(
                "a run cannot read stdin: every shard reads the inputs again; save it to a file"
                    .into(),
            ));
        }
        let abs = std::path::absolute(arg).map_err(io_err(Path::new(arg)))?;
        let Some(s) = abs.to_str() else {
            return Err(invalid(&abs, "input paths must be UTF-8"));
        };
        paths.push(s.to_string());
    }
    // Sorted, so the plan does not depend on how a shell expanded a glob.
    paths.sort();
    let mut planned = Vec::with_capacity(paths.len());
    let mut csv_first: Option<Vec<String>> = None;
    let want_csv_fields = opts.format == RunFormat::Csv;
    for path in paths {
        let spec = InputSpec::from_arg_with(&path, &opts.input)?;
        let bytes = input_bytes(&spec, opts.input.follow)?;
        let mut records = 0u64;
        for item in Reader::new(vec![spec], opts.input.clone()) {
            records += 1;
            if want_csv_fields && csv_first.is_none() {
                // The columns one process would take: the first record that
                // decodes (stages never change carried fields).
                if let Ok(doc) = item.and_then(|raw| raw.decode(&opts.input)) {
                    csv_first = Some(doc.fields.keys().cloned().collect());
                }
            }
        }
        planned.push(PlannedInput {
            path,
            bytes,
            records,
        });
    }
    let config_text = config
        .to_toml()
        .map_err(|e| invalid(Path::new(&config.origin), e))?;
    let base_dir = std::path::absolute(&config.base_dir).map_err(io_err(&config.base_dir))?;
    let manifest = Manifest {
        textclean_version: env!("CARGO_PKG_VERSION").to_string(),
        shards: opts.shards,
        records: planned.iter().map(|p| p.records).sum(),
        inputs: planned,
        format: opts.format,
        unit: opts.unit,
        removed_log: opts.removed_log,
        fields: PlannedFields {
            text: opts.input.text_field.clone(),
            id: opts.input.id_field.clone(),
            source: opts.input.source_field.clone(),
        },
        reading: PlannedReading::of(&opts.input),
        csv_fields: csv_first,
        config_hash: config.hash_hex(),
        config_base_dir: base_dir,
        config: config_text,
    };
    let path = run.join("manifest.json");
    let json = serde_json::to_vec_pretty(&manifest).map_err(|e| invalid(&path, e))?;
    if path.exists() {
        let old = std::fs::read(&path).map_err(io_err(&path))?;
        if old == json {
            return Ok(manifest);
        }
        return Err(invalid(
            &path,
            "the run directory already holds a different plan (inputs, shards, config or format); plan into a new directory",
        ));
    }
    if let Ok(mut entries) = std::fs::read_dir(run) {
        if entries.next().is_some() {
            return Err(invalid(
                run,
                "not empty and not a planned run; plan into a new or empty directory",
            ));
        }
    }
    write_file_atomic(&path, &json)?;
    Ok(manifest)
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
        let ext = self.manifest.format.extension();
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

    fn write_marker(
        &self,
        pass: Pass,
        i: u32,
        files: &[PathBuf],
        elapsed: Duration,
    ) -> Result<(), ShardError> {
        let mut sizes = BTreeMap::new();
        for f in files {
            let name = f
                .file_name()
                .map(|n| n.to_string_lossy().to_string())
                .unwrap_or_default();
            sizes.insert(name, file_size(f)?);
        }
        let marker = Marker {
            pass,
            shard: i,
            shards: self.manifest.shards.get(),
            records: self.manifest.range(i),
            config_hash: self.manifest.config_hash.clone(),
            textclean_version: self.manifest.textclean_version.clone(),
            files: sizes,
            elapsed_secs: elapsed.as_secs_f64(),
        };
        let path = self.marker_path(pass, i);
        let json = serde_json::to_vec_pretty(&marker).map_err(|e| invalid(&path, e))?;
        write_file_atomic(&path, &json)?;
        Ok(())
    }

    /// Why shard `i` of `pass` is not complete, or its marker if it is.
    fn check_marker(&self, pass: Pass, i: u32) -> Result<Marker, String> {
        let path = self.marker_path(pass, i);
        if !path.exists() {
            return Err("no completion marker".into());
        }
        let m: Marker = read_json(&path).map_err(|e| e.to_string())?;
        if m.pass != pass || m.shard != i || m.shards != self.manifest.shards.get() {
            return Err(format!(
                "marker is for {} shard {}/{}",
                m.pass.name(),
                m.shard,
                m.shards
            ));
        }
        if m.config_hash != self.manifest.config_hash {
            return Err(format!(
                "marker has config hash {}, the run {}",
                m.config_hash, self.manifest.config_hash
            ));
        }
        if m.textclean_version != self.manifest.textclean_version {
            return Err(format!(
                "marker written by textclean {}",
                m.textclean_version
            ));
        }
        for (name, size) in &m.files {
            let p = self.pass_dir(pass).join(name);
            match std::fs::metadata(&p) {
                Ok(meta) if meta.len() == *size => {}
                Ok(meta) => {
                    return Err(format!(
                        "{name} has {} bytes, the marker says {size}",
                        meta.len()
                    ))
                }
                Err(e) => return Err(format!("{name}: {e}")),
            }
        }
        Ok(m)
    }

    /// The complete shards' markers, or every incomplete shard with why.
    fn check_pass(&self, pass: Pass) -> Result<Vec<Marker>, Incomplete> {
        let mut markers = Vec::new();
        let mut problems = Vec::new();
        for i in 0..self.manifest.shards.get() {
            match self.check_marker(pass, i) {
                Ok(m) => markers.push(m),
                Err(why) => problems.push((i, why)),
            }
        }
        if problems.is_empty() {
            Ok(markers)
        } else {
            Err(Incomplete {
                run: self.dir.clone(),
                pass,
                shards: self.manifest.shards.get(),
                problems,
            })
        }
    }

    /// Shards of `pass` that are not complete.
    pub fn incomplete(&self, pass: Pass) -> Vec<u32> {
        self.check_pass(pass)
            .err()
            .map(|inc| inc.shards())
            .unwrap_or_default()
    }

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
        let first = self.manifest.csv_fields.as_ref().map(|keys| {
            let mut d = Document::new("", "");
            d.fields = keys
                .iter()
                .map(|k| (k.clone(), serde_json::Value::Null))
                .collect();
            d
        });
        let mut records = self.records(i)?;
        let stats = run::clean_part(
            &mut records,
            &self.config,
            profile,
            &output,
            log.as_ref(),
            first.as_ref(),
            opts,
        )?;
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
    /// one header) into `output` (default [`Run::default_output`]), the log
    /// parts into `RUN/removed.jsonl`, and the summed stats into
    /// `RUN/stats.json`. `elapsed_secs` there is the clean pass's wall
    /// time summed over shards.
    ///
    /// # Errors
    /// An incomplete run (naming every missing shard), unreadable parts,
    /// an unwritable output.
    pub fn merge(&self, output: Option<&Path>) -> Result<Report, ShardError> {
        let markers = self
            .check_pass(Pass::Clean)
            .map_err(ShardError::Incomplete)?;
        let n = self.manifest.shards.get();
        let out_path = output.map_or_else(|| self.default_output(), Path::to_path_buf);
        let mut out = AtomicFile::create(&out_path)?;
        if let (RunFormat::Csv, Some(keys)) = (self.manifest.format, &self.manifest.csv_fields) {
            let mut first = Document::new("", "");
            first.fields = keys
                .iter()
                .map(|k| (k.clone(), serde_json::Value::Null))
                .collect();
            let mut r = Renderer::new(Format::Csv, self.manifest.unit, self.config.has_sentences());
            r.set_csv_fields(&first);
            if let Some(h) = r.header() {
                out.write_all(&h)?;
            }
        }
        for i in 0..n {
            append(&mut out, &self.output_part(i))?;
        }
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
        out.commit()?;
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

/// How to submit a run to Slurm.
#[derive(Debug, Clone, Default)]
pub struct SlurmOptions {
    /// `--partition`.
    pub partition: Option<String>,
    /// `--time` of each job.
    pub time: Option<String>,
    /// `--cpus-per-task` of each array task (the rayon threads).
    pub cpus_per_task: Option<u32>,
    /// `merge -o`: the merged output (default `RUN/output.EXT`).
    pub output: Option<PathBuf>,
}

/// One job of the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SlurmStep {
    /// `profile`, `merge-profile`, `clean` or `merge`.
    pub name: &'static str,
    /// The sbatch script.
    pub script: PathBuf,
    /// The array indices, for the shard passes.
    pub array: Option<String>,
    /// Whether it waits (`afterok`) for the step before it.
    pub after_previous: bool,
}

impl SlurmStep {
    /// The `sbatch` arguments; `previous` is the job id it waits for.
    pub fn sbatch_args(&self, previous: Option<&str>) -> Vec<String> {
        let mut args = vec!["--parsable".to_string()];
        if let Some(a) = &self.array {
            args.push(format!("--array={a}"));
        }
        if let (true, Some(p)) = (self.after_previous, previous) {
            args.push(format!("--dependency=afterok:{p}"));
            // A failed shard must cancel what waits for it, not leave it
            // pending forever (Slurm's default on most clusters).
            args.push("--kill-on-invalid-dep=yes".into());
        }
        args.push(self.script.display().to_string());
        args
    }
}

/// Quotes a word for a POSIX shell.
fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"/._-+=:,@".contains(&b))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

impl Run {
    /// The sbatch scripts of the chain, by step name, with their text.
    ///
    /// # Errors
    /// A run directory path that `#SBATCH` lines cannot hold.
    pub fn slurm_scripts(
        &self,
        opts: &SlurmOptions,
        exe: &Path,
    ) -> Result<Vec<(&'static str, PathBuf, String)>, ShardError> {
        let dir = self.dir.join("slurm");
        let dir_str = dir.display().to_string();
        // `#SBATCH` values are split at white space and `%` starts a
        // filename pattern, so such a path cannot name the logs.
        if dir_str.chars().any(|c| c.is_whitespace() || c == '%') {
            return Err(invalid(
                &self.dir,
                "a run directory for Slurm must not contain white space or `%`",
            ));
        }
        let exe = sh_quote(&exe.display().to_string());
        let run = sh_quote(&self.dir.display().to_string());
        let merge_out = opts
            .output
            .as_ref()
            .map(|o| {
                let abs = std::path::absolute(o).unwrap_or_else(|_| o.clone());
                format!(" -o {}", sh_quote(&abs.display().to_string()))
            })
            .unwrap_or_default();
        let steps: [(&'static str, bool, String); 4] = [
            ("profile", true, format!("{exe} profile --run {run}")),
            (
                "merge-profile",
                false,
                format!("{exe} merge-profile --run {run}"),
            ),
            ("clean", true, format!("{exe} clean --run {run}")),
            (
                "merge",
                false,
                format!("{exe} merge --run {run}{merge_out}"),
            ),
        ];
        let mut out = Vec::new();
        for (name, array, command) in steps {
            let mut s = String::from("#!/bin/bash\n");
            s.push_str(&format!(
                "# textclean run {}: {name}{}\n",
                self.dir.display(),
                if array {
                    " (one array task per shard; the index comes from SLURM_ARRAY_TASK_ID)"
                } else {
                    ""
                }
            ));
            if array {
                s.push_str(&format!(
                    "# Re-run shards alone with: sbatch --array=2,5 {dir_str}/{name}.sbatch\n"
                ));
            }
            s.push_str(&format!("#SBATCH --job-name=textclean-{name}\n"));
            let log = if array { "%x-%A_%a.out" } else { "%x-%j.out" };
            s.push_str(&format!("#SBATCH --output={dir_str}/{log}\n"));
            if let (true, Some(c)) = (array, opts.cpus_per_task) {
                s.push_str(&format!("#SBATCH --cpus-per-task={c}\n"));
            }
            if let Some(p) = &opts.partition {
                s.push_str(&format!("#SBATCH --partition={p}\n"));
            }
            if let Some(t) = &opts.time {
                s.push_str(&format!("#SBATCH --time={t}\n"));
            }
            s.push_str(&format!("exec {command}\n"));
            out.push((name, dir.join(format!("{name}.sbatch")), s));
        }
        Ok(out)
    }

    /// The jobs still needed, in order: pass 1 and `merge-profile` unless
    /// `RUN/profile.bin` exists (or no stage needs it), the clean array
    /// over the incomplete shards only, and `merge`.
    pub fn slurm_steps(&self) -> Vec<SlurmStep> {
        let script = |name: &str| self.dir.join("slurm").join(format!("{name}.sbatch"));
        let mut steps = Vec::new();
        if self.needs_profile() && !self.profile_path().exists() {
            let missing = self.incomplete(Pass::Profile);
            if !missing.is_empty() {
                steps.push(SlurmStep {
                    name: "profile",
                    script: script("profile"),
                    array: Some(array_list(&missing)),
                    after_previous: false,
                });
            }
            steps.push(SlurmStep {
                name: "merge-profile",
                script: script("merge-profile"),
                array: None,
                after_previous: !steps.is_empty(),
            });
        }
        let missing = self.incomplete(Pass::Clean);
        if !missing.is_empty() {
            steps.push(SlurmStep {
                name: "clean",
                script: script("clean"),
                array: Some(array_list(&missing)),
                after_previous: !steps.is_empty(),
            });
        }
        steps.push(SlurmStep {
            name: "merge",
            script: script("merge"),
            array: None,
            after_previous: !steps.is_empty(),
        });
        steps
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(k: u32) -> NonZeroU32 {
        NonZeroU32::new(k).unwrap()
    }

    #[test]
    fn shard_index_precedence_and_range() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(v, _)| *v == k)
                    .map(|(_, x)| x.to_string())
            }
        };
        let both = env(&[("SLURM_ARRAY_TASK_ID", "2"), ("JOB_COMPLETION_INDEX", "3")]);
        assert_eq!(resolve_shard(None, both, n(7)).unwrap(), 2);
        let arg = "1/7".parse().ok();
        assert_eq!(resolve_shard(arg, both, n(7)).unwrap(), 1);
        let k8s = env(&[("JOB_COMPLETION_INDEX", "3")]);
        assert_eq!(resolve_shard(None, k8s, n(7)).unwrap(), 3);
        // SLURM_ARRAY_TASK_COUNT is never read: the count is the manifest's.
        let retry = env(&[
            ("SLURM_ARRAY_TASK_ID", "5"),
            ("SLURM_ARRAY_TASK_COUNT", "1"),
        ]);
        assert_eq!(resolve_shard(None, retry, n(7)).unwrap(), 5);
        let e = resolve_shard(None, env(&[("SLURM_ARRAY_TASK_ID", "7")]), n(7)).unwrap_err();
        assert!(
            e.to_string().contains("shard 7 (from SLURM_ARRAY_TASK_ID)"),
            "{e}"
        );
        assert!(resolve_shard("2/4".parse().ok(), env(&[]), n(7)).is_err());
        assert!(resolve_shard(None, env(&[]), n(7)).is_err());
        assert!(resolve_shard(None, env(&[("SLURM_ARRAY_TASK_ID", "x")]), n(7)).is_err());
        assert!("1/".parse::<ShardArg>().is_err());
    }

    #[test]
    fn array_lists_compress_runs() {
        assert_eq!(array_list(&[2, 5]), "2,5");
        assert_eq!(array_list(&[0, 1, 2, 4, 6, 7]), "0-2,4,6-7");
        assert_eq!(array_list(&[3]), "3");
    }

    #[test]
    fn reading_flags_round_trip_through_the_manifest() {
        for encoding in ["utf-8", "auto", "windows-1252", "latin1", "shift_jis"] {
            let o = InputOptions {
                follow: true,
                delimiter: b'\t',
                format: Some(StreamFormat::Csv),
                encoding: encoding.parse().unwrap(),
                max_line_bytes: 4096,
                ..InputOptions::default()
            };
            let json = serde_json::to_string(&PlannedReading::of(&o)).unwrap();
            let back: PlannedReading = serde_json::from_str(&json).unwrap();
            let r = back.apply(InputOptions::default()).unwrap();
            assert_eq!(
                (
                    r.follow,
                    r.delimiter,
                    r.format,
                    r.encoding,
                    r.max_line_bytes
                ),
                (
                    o.follow,
                    o.delimiter,
                    o.format,
                    o.encoding,
                    o.max_line_bytes
                ),
                "{encoding}"
            );
        }
        // An empty object (a field added later) reads as the defaults.
        let r: PlannedReading = serde_json::from_str("{}").unwrap();
        assert_eq!(r, PlannedReading::default());
    }

    #[test]
    fn ranges_cover_every_position_once() {
        for (records, shards) in [(0u64, 3u32), (10, 3), (10, 10), (3, 7), (1584, 7)] {
            let m = Manifest {
                textclean_version: String::new(),
                shards: n(shards),
                inputs: Vec::new(),
                records,
                format: RunFormat::Jsonl,
                unit: Unit::Doc,
                removed_log: false,
                fields: PlannedFields {
                    text: "text".into(),
                    id: "id".into(),
                    source: "source".into(),
                },
                reading: PlannedReading::default(),
                csv_fields: None,
                config_hash: String::new(),
                config_base_dir: PathBuf::new(),
                config: String::new(),
            };
            let mut next = 0;
            for i in 0..shards {
                let r = m.range(i);
                assert_eq!(r.start, next);
                next = r.end;
            }
            assert_eq!(next, records);
        }
    }

    #[test]
    fn shell_quoting() {
        assert_eq!(sh_quote("/a/b-c.d"), "/a/b-c.d");
        assert_eq!(sh_quote("a b"), "'a b'");
        assert_eq!(sh_quote("it's"), r"'it'\''s'");
    }
}
