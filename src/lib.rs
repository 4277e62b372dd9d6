//! textclean: staged, parallel cleaning of scraped web and news text.
//!
//! # Data flow
//!
//! ```text
//! config/*.toml ──config::load──► PipelineConfig ─┐
//!                                                  │ build(&profile)   (regexes compiled, all validation)
//! raw/ ──input──► Raw records ──(pass 1, parallel fold+merge)──► CorpusProfile
//!                     │                                              │
//!                     └──(pass 2) run.rs: batch ─► par map: decode + Pipeline::apply ─► ordered collect
//!                                                        │                                  │
//!                                   Removals + StageStats per doc              par render ─► sequential write
//!                                                        └──────► stats::Stats (+=) ──► Report (stderr/JSON)
//!                                                                                   └─► cleaned/ (+ removed log)
//! ```
//!
//! # Glossary
//!
//! - **Document** ([`document::Document`]): one input record: id, source,
//!   carried fields and its lines. Stages change text only through it.
//! - **Line** ([`document::Line`]): one line of text with its input line
//!   number. Each kept line is a paragraph of the output.
//! - **Stage** ([`stage::Stage`]): one per-document transform
//!   (normalize, quotes, boilerplate, captions, sentences, in the default
//!   order).
//! - **Pipeline** ([`stage::Pipeline`]): the ordered, built stages.
//! - **Removal** / **Reason** ([`document::Removal`], [`document::Reason`]):
//!   a line taken out, by which stage and why. For every document,
//!   lines in = lines out + removals.
//! - **Corpus profile** ([`corpus::CorpusProfile`]): pass 1's line
//!   fingerprint counts, read by the boilerplate stage in pass 2.
//! - **Report** ([`stats::Report`]): the run's totals, printed to stderr
//!   and written as JSON with `--stats`.
//!
//! Parallelism lives in [`run`] and [`par`] (compiling the boilerplate
//! rules, on the run's pool; serially off any pool, so the global pool
//! never starts); output order never depends on the thread count.

#![deny(missing_docs)]

pub mod bench;
pub mod cleanup;
pub mod cli;
pub mod config;
pub mod corpus;
pub mod document;
pub mod explain;
pub mod input;
pub mod output;
pub mod par;
pub mod run;
pub mod sbd;
pub mod shard;
pub mod stage;
pub mod stats;
#[cfg(test)]
mod testutil;
