//! `profile` and `merge-profile`: pass 1 of a sharded run.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use super::{open_run, shard_options, which_shard};
use crate::shard::ShardArg;

/// The run directory.
#[derive(Debug, Args)]
pub struct RunArg {
    /// Run directory (on a filesystem every node shares).
    #[arg(long)]
    pub run: PathBuf,
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

pub(super) fn profile_shard(args: ShardArgs) -> Result<ExitCode> {
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

pub(super) fn merge_profile(args: RunArg) -> Result<ExitCode> {
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
