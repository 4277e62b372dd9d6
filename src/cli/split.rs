//! `split-sentences`: the sentence splitter as a JSONL filter.

use std::io::{self, BufRead, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::Args;

use crate::config::{PipelineConfig, StageConfig};
use crate::stage::sentences::SentencesConfig;

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

#[derive(serde::Deserialize)]
struct SplitRequest {
    #[serde(default)]
    id: serde_json::Value,
    text: String,
}

pub(super) fn run(args: SplitArgs) -> Result<ExitCode> {
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
        .map_err(|e| anyhow::anyhow!("sentences.{}: {}", e.key, e.message))?;
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
