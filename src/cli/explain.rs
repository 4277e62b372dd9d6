//! `explain`: each document with its removed lines marked.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::Args;

use super::{load_config, parse_inputs, FieldArgs, ReadArgs};
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
