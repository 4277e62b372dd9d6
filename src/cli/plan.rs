//! `plan`: write a sharded run's manifest.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use super::{load_config, FieldArgs, ReadArgs};
use crate::output::Unit;
use crate::shard::{self, PlanOptions, RunFormat};

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

pub(super) fn run(args: PlanArgs) -> Result<ExitCode> {
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
