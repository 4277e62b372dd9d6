//! `explain`: each document with its removed lines marked.

use std::io;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::{load_config, parse_inputs, FieldArgs, ReadArgs};
use crate::explain::{ExplainOptions, ExplainSink};
use crate::run::{self, RunOptions};

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

pub(super) fn run(args: ExplainArgs) -> Result<ExitCode> {
    let config = load_config(args.config.as_ref())?;
    let mut opts = RunOptions {
        input: args.read.options(&args.fields),
        ..RunOptions::default()
    };
    let (inputs, _spooled) = parse_inputs(
        &args.inputs,
        config.needs_corpus_profile(),
        &mut opts.input,
        None,
    )?;
    let explain_opts = ExplainOptions { blank: args.blank };
    let out = io::BufWriter::new(io::stdout().lock());
    // The engine runs pass 1 when a stage needs it, prints and counts the
    // records that fail, and hands the listings over in input order.
    let outcome = run::clean(
        &inputs,
        &config,
        &mut ExplainSink::new(explain_opts, out),
        &opts,
    )?;
    Ok(if outcome.report.stats.docs_failed > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
