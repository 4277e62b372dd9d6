//! `textclean explain`: a document with every removed line marked by stage
//! and reason, for a person tuning the config.

use std::fmt::Write;

use crate::document::{Document, Reason};
use crate::output::OutputError;
use crate::run::{Render, Sink};

/// Options of the listing.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExplainOptions {
    /// Also list blank lines (removed by `normalize` as `blank`).
    pub blank: bool,
}

/// Renders one cleaned document as a listing in input-line order: kept
/// lines as `+` with their final text, removed lines as `-` with
/// `[stage reason]` and the text they had when removed.
pub fn render(doc: &Document, opts: ExplainOptions) -> String {
    enum Row<'a> {
        Kept(&'a str),
        Removed(&'a str, &'a Reason, &'a str),
    }
    let mut rows: Vec<(u32, Row<'_>)> = doc
        .lines()
        .iter()
        .map(|l| (l.origin, Row::Kept(&l.text)))
        .chain(
            doc.removals()
                .iter()
                .filter(|r| opts.blank || r.reason != Reason::Blank)
                .map(|r| (r.origin, Row::Removed(r.stage, &r.reason, &r.text))),
        )
        .collect();
    // Stable: a line removed by an earlier stage never shares its number
    // with a kept one, but input order is what a reader expects.
    rows.sort_by_key(|(origin, _)| *origin);
    let removed = doc.lines_removed();
    let mut out = String::new();
    let _ = writeln!(
        out,
        "== {} ({} lines in, {} kept, {} removed)",
        doc.id,
        doc.lines_in(),
        doc.lines_out(),
        removed
    );
    for (origin, row) in rows {
        let _ = match row {
            Row::Kept(text) => writeln!(out, "{origin:>5} + {text}"),
            Row::Removed(stage, reason, text) => {
                writeln!(out, "{origin:>5} - [{stage} {reason}] {text}")
            }
        };
    }
    out
}

impl Render for ExplainOptions {
    type Out = String;
    fn render(&self, doc: &Document) -> Result<String, OutputError> {
        Ok(render(doc, *self))
    }
}

/// `explain` as a sink of the engine: each document's listing, in input
/// order, to `W` (stdout).
pub struct ExplainSink<W: std::io::Write> {
    opts: ExplainOptions,
    out: W,
}

impl<W: std::io::Write> ExplainSink<W> {
    /// Listings with `opts`, written to `out`.
    pub fn new(opts: ExplainOptions, out: W) -> ExplainSink<W> {
        ExplainSink { opts, out }
    }

    fn io(e: std::io::Error) -> OutputError {
        OutputError::Io {
            path: "<stdout>".into(),
            error: e,
        }
    }
}

impl<W: std::io::Write> Sink for ExplainSink<W> {
    type Render = ExplainOptions;

    fn begin(&mut self, _: Option<&Document>) -> Result<ExplainOptions, OutputError> {
        Ok(self.opts)
    }

    fn write(&mut self, _: &Document, listing: String) -> Result<Option<String>, OutputError> {
        self.out.write_all(listing.as_bytes()).map_err(Self::io)?;
        Ok(None)
    }

    fn finish(&mut self) -> Result<(), OutputError> {
        self.out.flush().map_err(Self::io)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::PipelineConfig;
    use crate::corpus::CorpusProfile;

    #[test]
    fn marks_removed_lines_in_input_order() {
        let p = PipelineConfig::default_config()
            .build(&CorpusProfile::empty())
            .unwrap();
        let mut doc = Document::new(
            "story.txt",
            "A headline about the river\n\nHide Ad\n\nThe council said the river had risen two metres overnight, flooding the lower town.\n",
        );
        p.apply(&mut doc, &mut p.new_stage_stats());
        let listing = render(&doc, ExplainOptions::default());
        let lines: Vec<&str> = listing.lines().collect();
        assert_eq!(lines[0], "== story.txt (5 lines in, 2 kept, 3 removed)");
        assert_eq!(lines[1], "    1 + A headline about the river");
        assert_eq!(lines[2], "    3 - [boilerplate ads/exact] Hide Ad");
        assert!(lines[3].starts_with("    5 + The council said"));
        let with_blank = render(&doc, ExplainOptions { blank: true });
        assert!(with_blank.contains("    2 - [normalize blank] "));
    }
}
