//! Command-line interface: clap definitions and one function per
//! subcommand. Flags say how to run; the config says what happens to the
//! text.

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Args, Parser, Subcommand};

use crate::config::{PipelineConfig, StageConfig};
use crate::input::{InputOptions, InputSpec};
use crate::output::{write_file_atomic, Format, Unit};
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
    /// Write the cleaned output here too (default: discarded).
    #[arg(short, long)]
    pub output: Option<String>,
    /// Input field names.
    #[command(flatten)]
    pub fields: FieldArgs,
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
    /// Worker threads (default: SLURM_CPUS_PER_TASK, SLURM_CPUS_ON_NODE, or the CPU count).
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
        }
    }
}

/// Arguments of `clean`.
#[derive(Debug, Args)]
pub struct CleanArgs {
    /// Inputs: directories of .txt files, .jsonl or .csv files (optionally
    /// .gz or .zst), or - for JSONL on stdin.
    #[arg(required_unless_present = "run")]
    pub inputs: Vec<String>,
    /// Output: a file (- for stdout) for jsonl/csv, a directory for txt.
    #[arg(short, long, required_unless_present = "run")]
    pub output: Option<String>,
    /// Clean one shard of a planned run (pass 2) instead: inputs, output
    /// and config come from RUN/manifest.json.
    #[arg(long, conflicts_with_all = ["inputs", "output", "config", "format", "unit", "removed_log", "stats", "text_field", "id_field", "source_field"])]
    pub run: Option<PathBuf>,
    /// With --run: shard I of N (default: SLURM_ARRAY_TASK_ID, then JOB_COMPLETION_INDEX).
    #[arg(long, requires = "run")]
    pub shard: Option<ShardArg>,
    /// Pipeline config (default: the built-in config/default.toml).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    pub format: Format,
    /// One record per document or per sentence.
    #[arg(long, value_enum, default_value = "doc")]
    pub unit: Unit,
    /// Worker threads (default: SLURM_CPUS_PER_TASK, SLURM_CPUS_ON_NODE, or the CPU count).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Write every removed line with its stage and reason as JSONL.
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
    let cli = Cli::parse();
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
    }
}

/// Resolves input arguments. When pass 1 runs, stdin must be read twice,
/// so it is spooled to a temporary file that lives as long as the
/// returned guard.
fn parse_inputs(
    args: &[String],
    config: &PipelineConfig,
) -> Result<(Vec<InputSpec>, Option<tempfile::TempPath>)> {
    let mut inputs = args
        .iter()
        .map(|a| InputSpec::from_arg(a))
        .collect::<Result<Vec<_>, _>>()?;
    let spooled = if config.needs_corpus_profile() {
        spool_stdin(&mut inputs)?
    } else {
        None
    };
    Ok((inputs, spooled))
}

/// Reads stdin into a temporary file when it must be read twice (pass 1
/// and pass 2).
fn spool_stdin(inputs: &mut [InputSpec]) -> Result<Option<tempfile::TempPath>> {
    let Some(slot) = inputs.iter_mut().find(|s| **s == InputSpec::Stdin) else {
        return Ok(None);
    };
    let mut tmp = tempfile::Builder::new()
        .prefix("textclean-stdin-")
        .suffix(".jsonl")
        .tempfile()
        .context("spooling stdin for the corpus profile")?;
    io::copy(&mut io::stdin().lock(), &mut tmp).context("spooling stdin")?;
    let path = tmp.into_temp_path();
    *slot = InputSpec::Jsonl(path.to_path_buf());
    Ok(Some(path))
}

fn clean(args: CleanArgs) -> Result<ExitCode> {
    if let Some(run) = &args.run {
        return clean_shard(run, &args);
    }
    let config = load_config(args.config.as_ref())?;
    if args.unit == Unit::Sentence && !config.has_sentences() {
        anyhow::bail!("--unit sentence needs a sentences stage in the config");
    }
    let opts = RunOptions {
        threads: args.threads,
        progress: !args.quiet,
        fail_fast: args.fail_fast,
        input: args.fields.options(),
        ..RunOptions::default()
    };
    let (inputs, _spooled) = parse_inputs(&args.inputs, &config)?;
    let output = OutputSpec {
        // clap requires -o unless --run, which returned above.
        path: args.output.clone().unwrap_or_default(),
        format: args.format,
        unit: args.unit,
    };
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
    let (inputs, _spooled) = parse_inputs(&args.inputs, &config)?;
    let opts = RunOptions {
        input: args.fields.options(),
        ..RunOptions::default()
    };
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
    let inputs = args
        .inputs
        .iter()
        .map(|a| InputSpec::from_arg(a))
        .collect::<Result<Vec<_>, _>>()?;
    if inputs.contains(&InputSpec::Stdin) {
        anyhow::bail!("bench reads its inputs several times: give files, not -");
    }
    let threads = args.threads.unwrap_or_else(run::default_threads);
    let opts = RunOptions {
        threads: Some(threads),
        input: args.fields.options(),
        ..RunOptions::default()
    };
    let output = args.output.as_ref().map(|path| OutputSpec {
        path: path.clone(),
        format: Format::Jsonl,
        unit: Unit::Doc,
    });
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
        input: args.fields.options(),
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
