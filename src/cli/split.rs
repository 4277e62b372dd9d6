//! `split-sentences`: the sentence splitter as a JSONL filter.

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::Args;

use crate::config::{PipelineConfig, StageConfig};
use crate::input::InputSpec;
use crate::run::{self, RunOptions};

/// Arguments of `split-sentences`.
#[derive(Debug, Args)]
pub struct SplitArgs {
    /// Write UTF-8 byte spans [start, end) instead of sentence strings.
    #[arg(long)]
    pub spans: bool,
    /// Take the language settings from this config's sentences stage.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Add the word counts of these inputs (read as `clean` reads them, with
    /// the config's `[corpus]` settings) to the splitter's statistics, as the
    /// `sentences` stage does with the corpus it cleans. Without it, the
    /// built-in statistics alone.
    #[arg(long, value_name = "INPUT")]
    pub corpus: Vec<String>,
}

#[derive(serde::Deserialize)]
struct SplitRequest {
    #[serde(default)]
    id: serde_json::Value,
    text: String,
}

pub(super) fn run(args: SplitArgs) -> Result<ExitCode> {
    let cfg = match &args.config {
        Some(p) => PipelineConfig::load(p)?,
        None => PipelineConfig::default_config(),
    };
    let sentences_cfg = cfg
        .stages
        .iter()
        .find_map(|s| match s {
            StageConfig::Sentences(c) => Some(c.clone()),
            _ => None,
        })
        .unwrap_or_default();
    let mut splitter = sentences_cfg
        .splitter(&cfg.base_dir)
        .map_err(|e| anyhow::anyhow!("sentences.{}: {}", e.key, e.message))?;
    if !args.corpus.is_empty() {
        let opts = RunOptions::default();
        let inputs = args
            .corpus
            .iter()
            .map(|a| InputSpec::from_arg_with(a, &opts.input))
            .collect::<Result<Vec<_>, _>>()?;
        let profile = run::build_profile(&inputs, &cfg, &opts).context("--corpus")?;
        splitter = splitter.with_corpus(Arc::new(profile));
    }
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
