//! Stage 2: boilerplate removal.
//!
//! Rule groups from the config (exact lines, prefixes, regexes) plus lines
//! that the corpus profile shows repeating across many documents of one
//! source, unless they look like content.

use std::num::NonZeroUsize;
use std::sync::Arc;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind, StartKind};
use regex::RegexSet;
use serde::{Deserialize, Serialize};

use crate::corpus::{source_seed, CorpusProfile};
use crate::document::{Document, Reason};
use crate::stage::Stage;
use crate::stats::StageStats;

/// A named group of line rules, e.g. `ads` or `cookie`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleGroup {
    /// Group name; removals are reported as `NAME/exact`, `NAME/prefix`, `NAME/regex`.
    pub name: String,
    /// Why lines of this group are chrome (documentation for config readers).
    pub reason: String,
    /// Whole lines, compared ASCII-case-insensitively.
    #[serde(default)]
    pub exact: Vec<String>,
    /// Line starts, compared ASCII-case-insensitively.
    #[serde(default)]
    pub prefix: Vec<String>,
    /// Regexes matched against the whole line (anchor them yourself).
    #[serde(default)]
    pub regex: Vec<String>,
}

/// Options of the `boilerplate` stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoilerplateConfig {
    /// A line found in at least this many documents of one source is a
    /// corpus repeat (unless content-shaped). Leave out to disable.
    #[serde(default)]
    pub repeat_min_docs: Option<NonZeroUsize>,
    /// Lines with more words than this are content-shaped and never
    /// removed as corpus repeats. Default 12.
    #[serde(default = "default_repeat_max_words")]
    pub repeat_max_words: NonZeroUsize,
    /// The rule groups.
    #[serde(default)]
    pub groups: Vec<RuleGroup>,
}

fn default_repeat_max_words() -> NonZeroUsize {
    NonZeroUsize::new(12).expect("not zero")
}

impl BoilerplateConfig {
    /// True when corpus repeats are on.
    pub fn needs_corpus_profile(&self) -> bool {
        self.repeat_min_docs.is_some()
    }

    /// Compiles the rules. Errors are `(key, message)` with the key
    /// relative to the stage table, e.g. `groups[2].regex[0]`.
    pub fn build(&self, profile: &CorpusProfile) -> Result<BoilerplateStage, (String, String)> {
        let mut names: Vec<Arc<str>> = Vec::new();
        let mut exact_pats = Vec::new();
        let mut exact_ids = Vec::new();
        let mut prefix_pats = Vec::new();
        let mut prefix_ids = Vec::new();
        let mut regex_pats = Vec::new();
        let mut regex_ids = Vec::new();
        for (g, group) in self.groups.iter().enumerate() {
            if group.name.is_empty() || group.name.contains('/') {
                return Err((
                    format!("groups[{g}].name"),
                    "a group name must be non-empty and contain no '/'".into(),
                ));
            }
            let mut id_for = |kind: &str| {
                names.push(format!("{}/{kind}", group.name).into());
                names.len() - 1
            };
            if !group.exact.is_empty() {
                let id = id_for("exact");
                for p in &group.exact {
                    exact_pats.push(p.clone());
                    exact_ids.push(id);
                }
            }
            if !group.prefix.is_empty() {
                let id = id_for("prefix");
                for p in &group.prefix {
                    prefix_pats.push(p.clone());
                    prefix_ids.push(id);
                }
            }
            if !group.regex.is_empty() {
                let id = id_for("regex");
                for (r, p) in group.regex.iter().enumerate() {
                    regex::Regex::new(p)
                        .map_err(|e| (format!("groups[{g}].regex[{r}]"), e.to_string()))?;
                    regex_pats.push(p.clone());
                    regex_ids.push(id);
                }
            }
        }
        let automaton = |pats: &[String]| {
            AhoCorasickBuilder::new()
                .ascii_case_insensitive(true)
                .start_kind(StartKind::Anchored)
                .match_kind(MatchKind::LeftmostLongest)
                .build(pats)
                .map_err(|e| ("groups".to_string(), e.to_string()))
        };
        let repeat_id = self.repeat_min_docs.map(|_| {
            names.push("repeat/corpus".into());
            names.len() - 1
        });
        Ok(BoilerplateStage {
            exact: automaton(&exact_pats)?,
            exact_ids,
            prefix: automaton(&prefix_pats)?,
            prefix_ids,
            regexes: RegexSet::new(&regex_pats)
                .map_err(|e| ("groups".to_string(), e.to_string()))?,
            regex_ids,
            names,
            repeat_id,
            repeat_min_docs: self
                .repeat_min_docs
                .map_or(u32::MAX, |n| u32::try_from(n.get()).unwrap_or(u32::MAX)),
            repeat_max_words: self.repeat_max_words.get(),
            profile: profile.clone(),
        })
    }
}

/// The built `boilerplate` stage.
#[derive(Debug)]
pub struct BoilerplateStage {
    exact: AhoCorasick,
    exact_ids: Vec<usize>,
    prefix: AhoCorasick,
    prefix_ids: Vec<usize>,
    regexes: RegexSet,
    regex_ids: Vec<usize>,
    names: Vec<Arc<str>>,
    repeat_id: Option<usize>,
    repeat_min_docs: u32,
    repeat_max_words: usize,
    profile: CorpusProfile,
}

impl BoilerplateStage {
    /// The rule that removes `line`, if any.
    fn classify(&self, line: &str, seed: u64) -> Option<usize> {
        if line.is_empty() {
            return None;
        }
        let anchored = aho_corasick::Input::new(line).anchored(aho_corasick::Anchored::Yes);
        if let Some(m) = self.exact.find(anchored.clone()) {
            if m.end() == line.len() {
                return Some(self.exact_ids[m.pattern().as_usize()]);
            }
        }
        if let Some(m) = self.prefix.find(anchored) {
            return Some(self.prefix_ids[m.pattern().as_usize()]);
        }
        if let Some(i) = self.regexes.matches(line).iter().next() {
            return Some(self.regex_ids[i]);
        }
        let id = self.repeat_id?;
        if line.split_whitespace().count() > self.repeat_max_words {
            return None;
        }
        let e = self.profile.lookup(line, seed)?;
        (e.docs >= self.repeat_min_docs).then_some(id)
    }
}

impl Stage for BoilerplateStage {
    fn name(&self) -> &'static str {
        "boilerplate"
    }

    fn apply(&self, doc: &mut Document, stats: &mut StageStats) {
        let seed = source_seed(doc.source.as_deref());
        stats.lines_removed += doc.remove_lines(self.name(), |_, t| {
            self.classify(t, seed)
                .map(|id| Reason::Rule(Arc::clone(&self.names[id])))
        }) as u64;
    }
}
