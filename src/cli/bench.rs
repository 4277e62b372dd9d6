//! `bench`: throughput per stage over repeated runs.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::{load_config, FieldArgs, ReadArgs};
use crate::input::InputSpec;
use crate::output::{resolve_output, DatasetSink, Unit};
use crate::run::{self, OutputSpec, RunOptions};

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

pub(super) fn run(args: BenchArgs) -> Result<ExitCode> {
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
        let mut sink = output
            .as_ref()
            .map(|o| DatasetSink::new(o, config.has_sentences()));
        let outcome = run::clean(&inputs, &config, &mut sink, &opts)?;
        runs.push(crate::bench::Run {
            report: outcome.report,
            profile: outcome.profile_time,
            build: outcome.build_time,
        });
    }
    let report = crate::bench::BenchReport::new(&runs, threads, output.is_some());
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        eprint!("{}", report.table());
    }
    Ok(ExitCode::SUCCESS)
}
