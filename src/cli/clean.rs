//! `clean`: the whole run on one machine (or one shard of a planned run).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use super::{finish, load_config, open_run, parse_inputs, shard_options, which_shard};
use super::{FieldArgs, ReadArgs};
use crate::input::InputSpec;
use crate::output::{
    resolve_output, write_file_atomic, Compression, DatasetSink, Format, OutputError, RemovedLog,
    SentenceForm, Unit,
};
use crate::run::{self, OutputSpec, RunOptions};
use crate::shard::ShardArg;

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

pub(super) fn run(args: CleanArgs) -> Result<ExitCode> {
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
    let (inputs, _spooled) = parse_inputs(
        &args.inputs,
        config.needs_corpus_profile() || output.format == Format::Parquet,
        &mut opts.input,
        near,
    )?;
    // The pipeline compiles inside `run::clean`, alongside pass 1 when
    // there is one; a config error stops the run before any output.
    let mut sink = (
        DatasetSink::new(&output, config.has_sentences()),
        args.removed_log.as_deref().map(RemovedLog::new),
    );
    let outcome = run::clean(&inputs, &config, &mut sink, &opts)?;
    let report = outcome.report;
    if let Some(path) = &args.stats {
        let json = serde_json::to_vec_pretty(&report)?;
        write_file_atomic(path, &json)?;
    }
    Ok(finish(&report, args.quiet))
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
