//! `slurm`: write and submit a run's job chain.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use super::open_run;
use crate::output::write_file_atomic;
use crate::shard::{self, SlurmOptions};

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

pub(super) fn run(args: SlurmArgs) -> Result<ExitCode> {
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
