//! Command-line interface: the clap top level and its dispatch; each
//! subcommand's arguments and function live in a module of their own.
//! Flags say how to run; the config says what happens to the text.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::config::PipelineConfig;
use crate::input::{EncodingChoice, InputOptions, InputSpec, Spool, StreamFormat};
use crate::output::OutputError;
use crate::run::{self, RunOptions};
use crate::shard::{self, ShardArg};

mod bench;
mod check_config;
mod clean;
mod explain;
mod merge;
mod plan;
mod profile;
mod slurm;
mod split;

pub use bench::BenchArgs;
pub use clean::CleanArgs;
pub use explain::ExplainArgs;
pub use merge::MergeArgs;
pub use plan::PlanArgs;
pub use profile::{RunArg, ShardArgs};
pub use slurm::SlurmArgs;
pub use split::SplitArgs;

/// textclean: clean scraped web and news text into a training-ready dataset.
#[derive(Debug, Parser)]
#[command(name = "textclean", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Clean documents and write a dataset.
    Clean(CleanArgs),
    /// Validate a config file and print the resolved pipeline.
    CheckConfig {
        /// The config file (default: the built-in config/default.toml).
        file: Option<PathBuf>,
    },
    /// Split text into sentences: {"id","text"} JSONL on stdin, one
    /// {"id","sentences"} (or {"id","spans"}) line per request on stdout.
    SplitSentences(SplitArgs),
    /// Show each document with every removed line marked by stage and
    /// reason (for tuning a config).
    Explain(ExplainArgs),
    /// Measure throughput: run the pipeline with output discarded and
    /// report MB/s per stage and in total, over K repeats, with peak RSS.
    Bench(BenchArgs),
    /// Plan a sharded run: write RUN/manifest.json (inputs, shards, config).
    Plan(PlanArgs),
    /// Pass 1 of one shard of a planned run: its corpus profile part.
    Profile(ShardArgs),
    /// Add up the profile parts of a run into RUN/profile.bin.
    MergeProfile(RunArg),
    /// Merge a complete run: output parts in order, summed stats.
    Merge(MergeArgs),
    /// Write and submit a run's Slurm job chain (profile array, merge-profile,
    /// clean array, merge), skipping completed shards; prints the job ids.
    Slurm(SlurmArgs),
    /// Fit the boilerplate stage's line scorer to labelled pages and print
    /// its site-disjoint cross-validated figures.
    TrainBoilerplate(crate::stage::boilerplate::train::TrainArgs),
}

/// Input field names (JSONL and CSV).
#[derive(Debug, Clone, Args)]
pub struct FieldArgs {
    /// JSONL/CSV field holding the text.
    #[arg(long, default_value = "text")]
    pub text_field: String,
    /// JSONL/CSV field holding the document id.
    #[arg(long, default_value = "id")]
    pub id_field: String,
    /// JSONL/CSV field naming the document's source (site); corpus repeats
    /// are counted per source.
    #[arg(long, default_value = "source")]
    pub source_field: String,
}

impl FieldArgs {
    pub(super) fn options(&self) -> InputOptions {
        InputOptions {
            text_field: self.text_field.clone(),
            id_field: self.id_field.clone(),
            source_field: self.source_field.clone(),
            ..InputOptions::default()
        }
    }
}

/// How inputs are read (`clean`, `explain`, `bench`).
#[derive(Debug, Clone, Args)]
pub struct ReadArgs {
    /// Follow symbolic links inside directory inputs (loops are detected;
    /// a file reached twice is read once).
    #[arg(long)]
    pub follow: bool,
    /// CSV delimiter: one character, or `\t` (or `tab`) for tabs.
    #[arg(long, value_parser = parse_delimiter, default_value = ",")]
    pub delimiter: u8,
    /// Format of stdin and of inputs whose name does not say (pipes,
    /// /dev/fd/N from process substitution); default jsonl.
    #[arg(long, value_enum)]
    pub input_format: Option<StreamFormat>,
    /// Text encoding: utf-8 (strict), auto (detected per file, counted in
    /// the stats), or a name such as windows-1252, latin1, shift_jis.
    #[arg(long, default_value = "utf-8")]
    pub encoding: EncodingChoice,
    /// A line (JSONL or CSV record, line of a text file) longer than this
    /// many bytes is an error naming its file and line.
    #[arg(long, default_value_t = crate::input::DEFAULT_MAX_LINE_BYTES)]
    pub max_line_bytes: usize,
}

impl ReadArgs {
    /// `fields` with these reading options.
    pub(super) fn options(&self, fields: &FieldArgs) -> InputOptions {
        InputOptions {
            follow: self.follow,
            delimiter: self.delimiter,
            format: self.input_format,
            encoding: self.encoding,
            max_line_bytes: self.max_line_bytes,
            ..fields.options()
        }
    }
}

fn parse_delimiter(s: &str) -> Result<u8, String> {
    match s {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        _ if s.len() == 1 && s.is_ascii() => Ok(s.as_bytes()[0]),
        _ => Err(format!(
            "`{s}`: the delimiter is one ASCII character, or \\t for tabs"
        )),
    }
}

/// Loads `--config` or the built-in default.
///
/// # Errors
/// The config's own error, naming the file and key.
pub fn load_config(path: Option<&PathBuf>) -> Result<PipelineConfig> {
    Ok(match path {
        Some(p) => PipelineConfig::load(p)?,
        None => PipelineConfig::default_config(),
    })
}

/// Parses the command line and runs it.
///
/// # Errors
/// Anything that stops the run; per-record problems give exit code 1 instead.
pub fn main() -> Result<ExitCode> {
    main_from(std::env::args_os())
}

/// Like [`main`], with the arguments given (the first is the program
/// name): for a launcher whose own process arguments are not these, such
/// as the `textclean` script of the Python package. As with [`main`], a
/// usage error or `--help` prints and exits the process.
///
/// # Errors
/// As [`main`].
pub fn main_from<I, T>(args: I) -> Result<ExitCode>
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = Cli::parse_from(args);
    crate::cleanup::install_signal_handler().context("installing the signal handler")?;
    match cli.command {
        Command::Clean(args) => clean::run(args),
        Command::CheckConfig { file } => check_config::run(file),
        Command::SplitSentences(args) => split::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Explain(args) => explain::run(args),
        Command::Plan(args) => plan::run(args),
        Command::Profile(args) => profile::profile_shard(args),
        Command::MergeProfile(args) => profile::merge_profile(args),
        Command::Merge(args) => merge::run(args),
        Command::Slurm(args) => slurm::run(args),
        Command::TrainBoilerplate(args) => {
            let config = load_config(args.config.as_ref())?;
            crate::stage::boilerplate::train::run(args, config)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Resolves input arguments. When `read_twice` (pass 1 runs, or Parquet
/// output types its columns first), stdin and other streams
/// (pipes, `/dev/fd/N`) must be read twice, so they are spooled into a
/// temporary directory of the run's own (beside `near`, the output), which
/// lives as long as the returned guard; `opts` then reads the copies.
pub(super) fn parse_inputs(
    args: &[String],
    read_twice: bool,
    opts: &mut InputOptions,
    near: Option<&std::path::Path>,
) -> Result<(Vec<InputSpec>, Option<Spool>)> {
    let inputs = args
        .iter()
        .map(|a| InputSpec::from_arg_with(a, opts))
        .collect::<Result<Vec<_>, _>>()?;
    let spooled = if read_twice {
        Spool::streams(&inputs, opts, near).context("spooling streams to read them twice")?
    } else {
        None
    };
    Ok((inputs, spooled))
}

/// True when `err` is a write to a closed pipe (`textclean … | head`),
/// which ends the run quietly with exit code 0, as ripgrep and jq do.
pub fn is_broken_pipe(err: &anyhow::Error) -> bool {
    let pipe = |e: &std::io::Error| e.kind() == std::io::ErrorKind::BrokenPipe;
    err.chain().any(|e| {
        let output = |o: &OutputError| matches!(o, OutputError::Io { error, .. } if pipe(error));
        e.downcast_ref::<std::io::Error>().is_some_and(pipe)
            || e.downcast_ref::<OutputError>().is_some_and(output)
            || matches!(e.downcast_ref::<run::RunError>(), Some(run::RunError::Output(o)) if output(o))
    })
}

/// Prints the summary table (unless quiet) and picks the exit code: 1 when
/// some records could not be read or written, as ripgrep does for errors
/// it reported and went past.
pub(super) fn finish(report: &crate::stats::Report, quiet: bool) -> ExitCode {
    if !quiet {
        eprint!("{}", report.table());
    }
    if report.stats.docs_failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

pub(super) fn open_run(dir: &std::path::Path) -> Result<shard::Run> {
    shard::Run::open(dir).with_context(|| format!("opening run {}", dir.display()))
}

pub(super) fn shard_options(threads: Option<usize>, fail_fast: bool) -> RunOptions {
    RunOptions {
        threads,
        progress: false,
        fail_fast,
        ..RunOptions::default()
    }
}

pub(super) fn which_shard(run: &shard::Run, arg: Option<ShardArg>) -> Result<u32> {
    Ok(shard::resolve_shard(
        arg,
        |v| std::env::var(v).ok(),
        run.manifest().shards,
    )?)
}
