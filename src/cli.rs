//! Command-line interface: clap definitions and one function per
//! subcommand. Flags say how to run; the config says what happens to the
//! text.

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::config::{PipelineConfig, StageConfig};
use crate::input::{EncodingChoice, InputOptions, InputSpec, Spool, StreamFormat};
use crate::output::{
    resolve_output, write_file_atomic, Compression, Format, OutputError, SentenceForm, Unit,
};
use crate::run::{self, OutputSpec, RunOptions};
use crate::shard::{self, PlanOptions, RunFormat, ShardArg, SlurmOptions};
use crate::stage::sentences::SentencesConfig;

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

/// Arguments of `explain`.
#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Inputs, as for `clean`. Corpus repeats are counted over these inputs.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Pipeline config (default: the built-in one).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Also list blank lines.
    #[arg(long)]
    pub blank: bool,
    /// Input field names.
    #[command(flatten)]
    pub fields: FieldArgs,
    /// How inputs are read.
    #[command(flatten)]
    pub read: ReadArgs,
}

/// Arguments of `bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Inputs, as for `clean` (name a file several times to make the input larger).
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Pipeline config (default: the built-in one).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Worker threads (default as for `clean`).
    #[arg(long)]
    pub threads: Option<usize>,
    /// How many times to run the whole pipeline.
    #[arg(long, default_value_t = 3)]
    pub repeat: usize,
    /// Print the report as JSON on stdout instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Write the cleaned output here too (default: discarded); the format
    /// and compression come from the name, as for `clean`.
    #[arg(short, long)]
    pub output: Option<String>,
    /// Input field names.
    #[command(flatten)]
    pub fields: FieldArgs,
    /// How inputs are read.
    #[command(flatten)]
    pub read: ReadArgs,
}

/// The run directory.
#[derive(Debug, Args)]
pub struct RunArg {
    /// Run directory (on a filesystem every node shares).
    #[arg(long)]
    pub run: PathBuf,
}

/// Arguments of `plan`.
#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Inputs, as for `clean` (not stdin); read in sorted path order.
    #[arg(required = true)]
    pub inputs: Vec<String>,
    /// Run directory to create (new or empty).
    #[arg(long)]
    pub run: PathBuf,
    /// Number of shards (Slurm array tasks).
    #[arg(long)]
    pub shards: std::num::NonZeroU32,
    /// Pipeline config (default: the built-in one); stored in the manifest.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output format of the merged run.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: RunFormat,
    /// One record per document or per sentence.
    #[arg(long, value_enum, default_value = "doc")]
    pub unit: Unit,
    /// Keep every removed line; `merge` writes them to RUN/removed.jsonl.
    #[arg(long)]
    pub removed_log: bool,
    /// Input field names.
    #[command(flatten)]
    pub fields: FieldArgs,
    /// How inputs are read (stored in the run, used by every pass).
    #[command(flatten)]
    pub read: ReadArgs,
}

/// Arguments of the per-shard passes.
#[derive(Debug, Args)]
pub struct ShardArgs {
    /// Run directory.
    #[arg(long)]
    pub run: PathBuf,
    /// Shard I of N (default: SLURM_ARRAY_TASK_ID, then JOB_COMPLETION_INDEX).
    #[arg(long)]
    pub shard: Option<ShardArg>,
    /// Worker threads (default: RAYON_NUM_THREADS, SLURM_CPUS_PER_TASK, SLURM_CPUS_ON_NODE, or the CPU count).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Stop at the first bad input record.
    #[arg(long)]
    pub fail_fast: bool,
    /// No summary.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Arguments of `merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Run directory.
    #[arg(long)]
    pub run: PathBuf,
    /// Merged output file (default: RUN/output.jsonl or RUN/output.csv).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// No summary table.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Arguments of `slurm`.
#[derive(Debug, Args)]
pub struct SlurmArgs {
    /// Run directory (planned).
    #[arg(long)]
    pub run: PathBuf,
    /// Slurm partition.
    #[arg(long)]
    pub partition: Option<String>,
    /// Time limit of each job (sbatch --time).
    #[arg(long)]
    pub time: Option<String>,
    /// CPUs per array task (the worker threads of each shard).
    #[arg(short = 'c', long)]
    pub cpus_per_task: Option<u32>,
    /// Merged output file, passed to `merge -o`.
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// Print the scripts and sbatch commands; write and submit nothing.
    #[arg(long)]
    pub dry_run: bool,
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
    fn options(&self) -> InputOptions {
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
    fn options(&self, fields: &FieldArgs) -> InputOptions {
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

/// Arguments of `clean`.
#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Inputs: directories of .txt files, .jsonl or .csv files (optionally
    /// .gz or .zst), or - for JSONL on stdin.
    #[arg(required_unless_present = "run")]
    pub inputs: Vec<String>,
    /// Output: a file named for its format (.jsonl, .csv, each optionally
    /// .gz or .zst; - for stdout), or a directory for txt.
    #[arg(short, long, required_unless_present = "run")]
    pub output: Option<String>,
    /// Clean one shard of a planned run (pass 2) instead: inputs, output
    /// and config come from RUN/manifest.json.
    #[arg(long, conflicts_with_all = ["inputs", "output", "config", "format", "compression", "keep_empty", "sentences", "unit", "removed_log", "stats", "text_field", "id_field", "source_field", "follow", "input_format"])]
    pub run: Option<PathBuf>,
    /// With --run: shard I of N (default: SLURM_ARRAY_TASK_ID, then JOB_COMPLETION_INDEX).
    #[arg(long, requires = "run")]
    pub shard: Option<ShardArg>,
    /// Pipeline config (default: the built-in config/default.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output format (default: from the name of -o; JSONL for stdout).
    /// An error when the name says otherwise.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Output compression (default: from the name of -o; none for
    /// stdout). An error when the name says otherwise.
    #[arg(long, value_enum)]
    pub compression: Option<Compression>,
    /// Write documents whose every line was removed, with empty text
    /// (default: dropped, and counted as docs_empty).
    #[arg(long)]
    pub keep_empty: bool,
    /// One record per document or per sentence.
    #[arg(long, value_enum, default_value = "doc")]
    pub unit: Unit,
    /// The sentences column of --unit doc: the sentence strings, or their
    /// [start, end] UTF-8 byte offsets into the text.
    #[arg(long, value_enum, default_value = "text")]
    pub sentences: SentenceForm,
    /// Worker threads (default: RAYON_NUM_THREADS, SLURM_CPUS_PER_TASK, SLURM_CPUS_ON_NODE, or the CPU count).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Write every removed line with its stage and reason as JSONL
    /// (compressed when the name ends in .gz or .zst).
    #[arg(long)]
    pub removed_log: Option<PathBuf>,
    /// Write the run's statistics as JSON.
    #[arg(long)]
    pub stats: Option<PathBuf>,
    /// No progress bar and no summary table.
    #[arg(short, long)]
    pub quiet: bool,
    /// Stop at the first bad input record.
    #[arg(long)]
    pub fail_fast: bool,
    /// Input field names.
    #[command(flatten)]
    pub fields: FieldArgs,
    /// How inputs are read.
    #[command(flatten)]
    pub read: ReadArgs,
}

/// Arguments of `split-sentences`.
#[derive(Debug, Args)]
pub struct SplitArgs {
    /// Write UTF-8 byte spans [start, end) instead of sentence strings.
    #[arg(long)]
    pub spans: bool,
    /// Take the language settings from this config's sentences stage.
    #[arg(long)]
    pub config: Option<PathBuf>,
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
        Command::Clean(args) => clean(args),
        Command::CheckConfig { file } => check_config(file),
        Command::SplitSentences(args) => split_sentences(args),
        Command::Bench(args) => bench(args),
        Command::Explain(args) => explain(args),
        Command::Plan(args) => plan(args),
        Command::Profile(args) => profile_shard(args),
        Command::MergeProfile(args) => merge_profile(args),
        Command::Merge(args) => merge(args),
        Command::Slurm(args) => slurm(args),
        Command::TrainBoilerplate(args) => {
            let config = load_config(args.config.as_ref())?;
            crate::stage::boilerplate::train::run(args, config)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Resolves input arguments. When pass 1 runs, stdin and other streams
/// (pipes, `/dev/fd/N`) must be read twice, so they are spooled into a
/// temporary directory of the run's own (beside `near`, the output), which
/// lives as long as the returned guard; `opts` then reads the copies.
fn parse_inputs(
    args: &[String],
    config: &PipelineConfig,
    opts: &mut InputOptions,
    near: Option<&std::path::Path>,
) -> Result<(Vec<InputSpec>, Option<Spool>)> {
    let inputs = args
        .iter()
        .map(|a| InputSpec::from_arg_with(a, opts))
        .collect::<Result<Vec<_>, _>>()?;
    let spooled = if config.needs_corpus_profile() {
        Spool::streams(&inputs, opts, near).context("spooling streams for the corpus profile")?
    } else {
        None
    };
    Ok((inputs, spooled))
}

/// The absolute path of `p` with symbolic links of its existing part
/// resolved, to compare two paths that may be spelled differently.
fn resolved(p: &std::path::Path) -> PathBuf {
    if let Ok(c) = std::fs::canonicalize(p) {
        return c;
    }
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    match (abs.parent(), abs.file_name()) {
        (Some(dir), Some(name)) => std::fs::canonicalize(dir)
            .map(|d| d.join(name))
            .unwrap_or(abs.clone()),
        _ => abs,
    }
}

/// Refuses, before any work, outputs that would overwrite each other or
/// an input, a file output that is a directory, and a txt output that is
/// a file.
fn check_output_paths(
    inputs: &[InputSpec],
    output: &OutputSpec,
    others: &[(&str, Option<&PathBuf>)],
) -> Result<(), OutputError> {
    let usage = |m: String| Err(OutputError::Usage(m));
    let mut outs: Vec<(&str, PathBuf)> = Vec::new();
    if output.path != "-" {
        let p = std::path::Path::new(&output.path);
        let special = std::fs::metadata(p).is_ok_and(|m| !m.is_file() && !m.is_dir());
        if output.format == Format::Txt {
            if p.is_file() {
                return usage(format!(
                    "-o {}: txt output is a directory, and this is a file",
                    output.path
                ));
            }
        } else if p.is_dir() {
            return usage(format!(
                "-o {}: is a directory; {} output is a file (a directory is for --format txt)",
                output.path,
                format!("{:?}", output.format).to_lowercase()
            ));
        }
        if !special {
            outs.push(("-o", resolved(p)));
        }
    }
    for (flag, path) in others {
        if let Some(path) = path {
            if path.is_dir() {
                return usage(format!("{flag} {}: is a directory", path.display()));
            }
            outs.push((flag, resolved(path)));
        }
    }
    for (i, (a, pa)) in outs.iter().enumerate() {
        for (b, pb) in &outs[..i] {
            if pa == pb {
                return usage(format!(
                    "{b} and {a} name the same file, {}: one would replace the other",
                    pa.display()
                ));
            }
        }
        for input in inputs {
            let Some(ip) = input.path() else { continue };
            let ip = resolved(ip);
            // A txt output is a tree of files: it must not hold an input
            // nor lie inside an input directory, which it would feed.
            let txt_tree = *a == "-o" && output.format == Format::Txt;
            let nested = txt_tree
                && (ip.starts_with(pa)
                    || matches!(input, InputSpec::Dir(_)) && pa.starts_with(&ip));
            if *pa == ip || nested {
                return usage(format!(
                    "{a} {} is (or holds, or is inside) the input {}: the run would overwrite what it reads",
                    pa.display(),
                    ip.display()
                ));
            }
        }
    }
    Ok(())
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

fn clean(args: CleanArgs) -> Result<ExitCode> {
    if let Some(run) = &args.run {
        return clean_shard(run, &args);
    }
    let config = load_config(args.config.as_ref())?;
    if args.unit == Unit::Sentence && !config.has_sentences() {
        anyhow::bail!("--unit sentence needs a sentences stage in the config");
    }
    let mut opts = RunOptions {
        threads: args.threads,
        progress: !args.quiet,
        fail_fast: args.fail_fast,
        input: args.read.options(&args.fields),
        ..RunOptions::default()
    };
    // clap requires -o unless --run, which returned above.
    let path = args.output.clone().unwrap_or_default();
    let (format, compression) = resolve_output(&path, args.format, args.compression)?;
    let near = args
        .output
        .as_deref()
        .filter(|o| *o != "-")
        .map(std::path::Path::new);
    let output = OutputSpec {
        path,
        format,
        unit: args.unit,
        compression,
        spans: args.sentences == SentenceForm::Spans,
        keep_empty: args.keep_empty,
    };
    if output.spans && (args.unit != Unit::Doc || output.format == Format::Txt) {
        anyhow::bail!("--sentences spans is for --unit doc in JSONL or CSV");
    }
    let specs = args
        .inputs
        .iter()
        .map(|a| InputSpec::from_arg_with(a, &opts.input))
        .collect::<Result<Vec<_>, _>>()?;
    check_output_paths(
        &specs,
        &output,
        &[
            ("--stats", args.stats.as_ref()),
            ("--removed-log", args.removed_log.as_ref()),
        ],
    )?;
    let (inputs, _spooled) = parse_inputs(&args.inputs, &config, &mut opts.input, near)?;
    // The pipeline compiles inside `run::clean`, alongside pass 1 when
    // there is one; a config error stops the run before any output.
    let outcome = run::clean(
        &inputs,
        &config,
        Some(&output),
        args.removed_log.as_ref(),
        &opts,
    )?;
    let report = outcome.report;
    if let Some(path) = &args.stats {
        let json = serde_json::to_vec_pretty(&report)?;
        write_file_atomic(path, &json)?;
    }
    Ok(finish(&report, args.quiet))
}

/// Prints the summary table (unless quiet) and picks the exit code: 1 when
/// some records could not be read or written, as ripgrep does for errors
/// it reported and went past.
fn finish(report: &crate::stats::Report, quiet: bool) -> ExitCode {
    if !quiet {
        eprint!("{}", report.table());
    }
    if report.stats.docs_failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

fn explain(args: ExplainArgs) -> Result<ExitCode> {
    let config = load_config(args.config.as_ref())?;
    let mut opts = RunOptions {
        input: args.read.options(&args.fields),
        ..RunOptions::default()
    };
    let (inputs, _spooled) = parse_inputs(&args.inputs, &config, &mut opts.input, None)?;
    let profile = if config.needs_corpus_profile() {
        run::build_profile(&inputs, &config, &opts)?
    } else {
        crate::corpus::CorpusProfile::empty()
    };
    let pipeline = config.build(&profile)?;
    let explain_opts = crate::explain::ExplainOptions { blank: args.blank };
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut failed = false;
    for raw in crate::input::Reader::new(inputs, opts.input.clone()) {
        let doc = raw.and_then(|r| r.decode(&opts.input));
        match doc {
            Ok(mut doc) => {
                pipeline.apply(&mut doc, &mut pipeline.new_stage_stats());
                out.write_all(crate::explain::render(&doc, explain_opts).as_bytes())?;
            }
            Err(e) => {
                failed = true;
                eprintln!("textclean: {e}");
            }
        }
    }
    out.flush()?;
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn bench(args: BenchArgs) -> Result<ExitCode> {
    let config = load_config(args.config.as_ref())?;
    let threads = args.threads.unwrap_or_else(run::default_threads);
    let opts = RunOptions {
        threads: Some(threads),
        input: args.read.options(&args.fields),
        ..RunOptions::default()
    };
    let inputs = args
        .inputs
        .iter()
        .map(|a| InputSpec::from_arg_with(a, &opts.input))
        .collect::<Result<Vec<_>, _>>()?;
    if inputs.contains(&InputSpec::Stdin) {
        anyhow::bail!("bench reads its inputs several times: give files, not -");
    }
    let output = args
        .output
        .as_ref()
        .map(|path| -> Result<OutputSpec> {
            let (format, compression) = resolve_output(path, None, None)?;
            Ok(OutputSpec {
                path: path.clone(),
                format,
                unit: Unit::Doc,
                compression,
                spans: false,
                keep_empty: false,
            })
        })
        .transpose()?;
    let mut runs = Vec::new();
    for _ in 0..args.repeat.max(1) {
        // A run compiles its pipeline, as `clean` does: the wall time
        // includes it.
        let outcome = run::clean(&inputs, &config, output.as_ref(), None, &opts)?;
        runs.push(crate::bench::Run {
            report: outcome.report,
            profile: outcome.profile_time,
            build: outcome.build_time,
        });
    }
    let report = crate::bench::BenchReport::new(&runs, threads);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        eprint!("{}", report.table());
    }
    Ok(ExitCode::SUCCESS)
}

fn check_config(file: Option<PathBuf>) -> Result<ExitCode> {
    let config = load_config(file.as_ref())?;
    config.build(&crate::corpus::CorpusProfile::empty())?;
    println!("# {}: valid; {} stages", config.origin, config.stages.len());
    for (i, s) in config.stages.iter().enumerate() {
        println!("#   stages[{i}] {}", s.type_name());
    }
    print!("{}", config.to_toml()?);
    Ok(ExitCode::SUCCESS)
}

#[derive(serde::Deserialize)]
struct SplitRequest {
    #[serde(default)]
    id: serde_json::Value,
    text: String,
}

fn split_sentences(args: SplitArgs) -> Result<ExitCode> {
    let sentences_cfg = match &args.config {
        Some(p) => {
            let cfg = PipelineConfig::load(p)?;
            let found = cfg.stages.iter().find_map(|s| match s {
                StageConfig::Sentences(c) => Some(c.clone()),
                _ => None,
            });
            (found.unwrap_or_default(), cfg.base_dir)
        }
        None => (SentencesConfig::default(), PathBuf::from(".")),
    };
    let splitter = sentences_cfg
        .0
        .splitter(&sentences_cfg.1)
        .map_err(|(k, m)| anyhow::anyhow!("sentences.{k}: {m}"))?;
    let stdin = io::stdin().lock();
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut spans = Vec::new();
    let mut failed = false;
    for (n, line) in stdin.lines().enumerate() {
        let line = line.with_context(|| format!("<stdin>:{}", n + 1))?;
        if line.trim().is_empty() {
            continue;
        }
        let reply = match serde_json::from_str::<SplitRequest>(&line) {
            Ok(req) => {
                spans.clear();
                splitter.split_into(&req.text, &mut spans);
                if args.spans {
                    let s: Vec<[usize; 2]> = spans.iter().map(|r| [r.start, r.end]).collect();
                    serde_json::json!({ "id": req.id, "spans": s })
                } else {
                    let s: Vec<&str> = spans.iter().map(|r| &req.text[r.clone()]).collect();
                    serde_json::json!({ "id": req.id, "sentences": s })
                }
            }
            Err(e) => {
                failed = true;
                eprintln!("textclean: <stdin>:{}: {e}", n + 1);
                // Keep one reply per request so callers stay aligned.
                serde_json::json!({ "id": null, "error": format!("line {}: {e}", n + 1) })
            }
        };
        serde_json::to_writer(&mut out, &reply)?;
        out.write_all(b"\n")?;
        // Callers may wait for each reply before sending more.
        out.flush()?;
    }
    Ok(if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

fn plan(args: PlanArgs) -> Result<ExitCode> {
    let config = load_config(args.config.as_ref())?;
    if args.unit == Unit::Sentence && !config.has_sentences() {
        anyhow::bail!("--unit sentence needs a sentences stage in the config");
    }
    config.build(&crate::corpus::CorpusProfile::empty())?;
    let opts = PlanOptions {
        shards: args.shards,
        format: args.format,
        unit: args.unit,
        removed_log: args.removed_log,
        input: args.read.options(&args.fields),
    };
    let m = shard::plan(&args.run, &args.inputs, &config, &opts)
        .with_context(|| format!("planning {}", args.run.display()))?;
    eprintln!(
        "textclean: planned {}: {} records in {} inputs, {} shards, config {}",
        args.run.display(),
        m.records,
        m.inputs.len(),
        m.shards,
        m.config_hash
    );
    Ok(ExitCode::SUCCESS)
}

fn open_run(dir: &std::path::Path) -> Result<shard::Run> {
    shard::Run::open(dir).with_context(|| format!("opening run {}", dir.display()))
}

fn shard_options(threads: Option<usize>, fail_fast: bool) -> RunOptions {
    RunOptions {
        threads,
        progress: false,
        fail_fast,
        ..RunOptions::default()
    }
}

fn which_shard(run: &shard::Run, arg: Option<ShardArg>) -> Result<u32> {
    Ok(shard::resolve_shard(
        arg,
        |v| std::env::var(v).ok(),
        run.manifest().shards,
    )?)
}

fn profile_shard(args: ShardArgs) -> Result<ExitCode> {
    let run = open_run(&args.run)?;
    let i = which_shard(&run, args.shard)?;
    let opts = shard_options(args.threads, args.fail_fast);
    let done = run
        .profile_shard(i, &opts)
        .with_context(|| format!("profile shard {i} of {}", run.dir().display()))?;
    if !args.quiet {
        eprintln!(
            "textclean: profile shard {i}: records {}..{} in {:.3} s",
            done.records.start,
            done.records.end,
            done.elapsed.as_secs_f64()
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn merge_profile(args: RunArg) -> Result<ExitCode> {
    let run = open_run(&args.run)?;
    let p = run
        .merge_profile()
        .with_context(|| format!("merge-profile {}", run.dir().display()))?;
    eprintln!(
        "textclean: {}: {} documents, {} fingerprints",
        run.profile_path().display(),
        p.docs(),
        p.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Pass 2 of one shard. Bad records are reported and counted in the
/// shard's stats, but the shard still succeeds once its parts are
/// complete: its exit status gates the Slurm chain (`afterok`), and
/// `merge` gives the run's exit code 1 instead.
fn clean_shard(dir: &std::path::Path, args: &CleanArgs) -> Result<ExitCode> {
    let run = open_run(dir)?;
    let i = which_shard(&run, args.shard)?;
    let opts = shard_options(args.threads, args.fail_fast);
    let done = run
        .clean_shard(i, &opts)
        .with_context(|| format!("clean shard {i} of {}", run.dir().display()))?;
    if !args.quiet {
        if let Some(stats) = done.stats {
            eprintln!(
                "textclean: clean shard {i}: records {}..{}",
                done.records.start, done.records.end
            );
            eprint!("{}", crate::stats::Report::new(stats, done.elapsed).table());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn merge(args: MergeArgs) -> Result<ExitCode> {
    let run = open_run(&args.run)?;
    let report = run
        .merge(args.output.as_deref())
        .with_context(|| format!("merging {}", run.dir().display()))?;
    Ok(finish(&report, args.quiet))
}

fn slurm(args: SlurmArgs) -> Result<ExitCode> {
    let run = open_run(&args.run)?;
    let exe =
        std::env::current_exe().context("finding the textclean binary for the job scripts")?;
    let opts = SlurmOptions {
        partition: args.partition,
        time: args.time,
        cpus_per_task: args.cpus_per_task,
        output: args.output,
    };
    let scripts = run.slurm_scripts(&opts, &exe)?;
    let steps = run.slurm_steps();
    if args.dry_run {
        for (_, path, text) in &scripts {
            println!("### {}\n{text}", path.display());
        }
        // The commands as a shell script that chains the job ids.
        let mut previous: Option<String> = None;
        for step in &steps {
            let var = step.name.replace('-', "_").to_uppercase();
            let cmd = step.sbatch_args(previous.as_deref()).join(" ");
            println!("{var}=$(sbatch {cmd})");
            previous = Some(format!("${var}"));
        }
        return Ok(ExitCode::SUCCESS);
    }
    for (_, path, text) in &scripts {
        write_file_atomic(path, text.as_bytes())?;
    }
    let mut previous: Option<String> = None;
    for step in &steps {
        let out = std::process::Command::new("sbatch")
            .args(step.sbatch_args(previous.as_deref()))
            .output()
            .map_err(|e| shard::ShardError::Sbatch(format!("cannot run sbatch: {e} (is this a Slurm login node? --dry-run prints the scripts)")))?;
        if !out.status.success() {
            Err(shard::ShardError::Sbatch(format!(
                "{} job: {}",
                step.name,
                String::from_utf8_lossy(&out.stderr).trim()
            )))?;
        }
        // --parsable prints `JOBID` or `JOBID;CLUSTER`.
        let stdout = String::from_utf8_lossy(&out.stdout);
        let id = stdout
            .trim()
            .split(';')
            .next()
            .unwrap_or_default()
            .to_string();
        match &step.array {
            Some(a) => println!("{} {id} --array={a}", step.name),
            None => println!("{} {id}", step.name),
        }
        previous = Some(id);
    }
    Ok(ExitCode::SUCCESS)
}
