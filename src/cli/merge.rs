//! `merge`: join a complete run's parts.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use super::{finish, open_run};

/// Arguments of `merge`.
#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Run directory.
    #[arg(long)]
    pub run: PathBuf,
    /// Merged output file (default: RUN/output.jsonl, .csv or .parquet).
    #[arg(short, long)]
    pub output: Option<PathBuf>,
    /// No summary table.
    #[arg(short, long)]
    pub quiet: bool,
    /// Threads encoding a Parquet run's row groups (default: as `clean`).
    #[arg(long)]
    pub threads: Option<usize>,
}

pub(super) fn run(args: MergeArgs) -> Result<ExitCode> {
    let run = open_run(&args.run)?;
    let report = run
        .merge(
            args.output.as_deref(),
            args.threads.unwrap_or_else(crate::run::default_threads),
        )
        .with_context(|| format!("merging {}", run.dir().display()))?;
    Ok(finish(&report, args.quiet))
}
