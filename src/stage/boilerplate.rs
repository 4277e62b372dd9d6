//! Boilerplate removal: decides, line by line, which lines of a web page are page
//! chrome (menus, share prompts, cookie banners, footers, comment stubs, …).
//!
//! Three kinds of evidence are combined, cheapest first:
//!
//! 1. **Rules** ([`RuleGroup`]): literal lines and prefixes (one aho-corasick
//!    automaton, ASCII case-insensitive) and regexes (each run only on lines
//!    holding a literal it needs) for chrome
//!    that recurs across sites ("Advertisement", "Share on Facebook", "© 2019 …").
//! 2. **Context** ([`ContextConfig`]): the shape of the page. Long sentence-like
//!    lines anchor the article body; runs of short non-sentence lines are menus;
//!    short lines before the body's header zone and everything after the first
//!    chrome that follows the body are page furniture; short lines sharing a block
//!    with a cookie/share/comment line go with it. Bylines, datelines, list items
//!    introduced by a line ending in `:` and headings inside the body are protected.
//! 3. **Corpus repeats** ([`RepeatConfig`]): a line that many documents of the same
//!    source contain, and that is not shaped like a sentence of content.
//!
//! Everything that can fail is compiled in [`Boilerplate::build`];
//! [`Boilerplate::classify`] is linear in the size of the document and never fails.

use std::collections::HashSet;
use std::fmt;
use std::num::{NonZeroU32, NonZeroUsize};

use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;
use aho_corasick::{
    AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Anchored, Input, MatchKind, StartKind,
};
use rayon::prelude::*;
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};
use serde::{Deserialize, Serialize};

/// The boilerplate stage's config: mirrors a `[[stages]] type = "boilerplate"` TOML table
/// (the product wraps it as a newtype variant of an internally tagged enum, so the
/// `type` key is not part of this struct).
///
/// ```toml
/// [[stages]]
/// type = "boilerplate"
/// protect = ['^By [A-Z]']
///
/// [[stages.groups]]
/// name = "ads"
/// reason = "advertising slots and their labels"
/// exact = ["Advertisement", "Hide Ad"]
///
/// [stages.context]
/// body_min_words = 10
///
/// [stages.repeat]
/// min_docs = 5
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct BoilerplateConfig {
    /// Rule groups. A line matched by several groups is reported under the first
    /// one in this list.
    #[serde(default)]
    pub groups: Vec<RuleGroup>,
    /// Regexes (case-insensitive) for lines that the context heuristics and the
    /// corpus-repeat rule must never remove: bylines, datelines, "Updated …",
    /// agency credits. Rules still apply to them. Only lines of at most
    /// `context.protect_max_words` words are tested.
    #[serde(default)]
    pub protect: Vec<String>,
    /// Knobs of the context heuristics.
    #[serde(default)]
    pub context: ContextConfig,
    /// Thresholds of the corpus-repeat rule.
    #[serde(default)]
    pub repeat: RepeatConfig,
}

/// A named group of rules that share a reason, e.g. "ads" or "cookie".
///
/// All rules are ASCII case-insensitive. `exact` and `prefix` literals are compared
/// with a *match key* of the line: curly quotes folded to ASCII, "…" to "...",
/// leading bullets and trailing punctuation (`.:…!?»›>|-–—*/`) and spaces removed.
/// So `exact = ["Loading comments"]` matches "Loading comments…" and
/// "LOADING COMMENTS...". Regexes see the line as it is (a regex may turn case
/// sensitivity back on with `(?-i)`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RuleGroup {
    /// Short identifier used in stats and logs ("ads" gives "ads/exact",
    /// "ads/prefix", "ads/regex"). Unique, non-empty, without `/`.
    pub name: String,
    /// Why lines of this group are removed (documentation for config readers).
    pub reason: String,
    /// Whole lines (compared by match key).
    #[serde(default)]
    pub exact: Vec<String>,
    /// Line beginnings (compared by match key). A prefix ending in a letter or
    /// digit must end at a word boundary: "share on" does not match "shareholders".
    #[serde(default)]
    pub prefix: Vec<String>,
    /// Regexes tried against the whole line (use `^`/`$` to anchor).
    #[serde(default)]
    pub regex: Vec<String>,
    /// `prefix` and `regex` rules only fire on lines of at most this many words;
    /// unset means any length. `exact` rules ignore it.
    #[serde(default)]
    pub max_words: Option<NonZeroUsize>,
    /// A match starts a chrome *section* (a comment thread, a related-stories list):
    /// after the article body, everything from it on is removed, even long or
    /// protected lines; inside the body it separates two candidate bodies.
    #[serde(default)]
    pub starts_section: bool,
    /// A match takes its block (the lines between two blank lines) with it: the
    /// block's other short, unprotected lines are removed too ("Accept" and
    /// "Quick Send CV" next to a cookie sentence).
    #[serde(default)]
    pub spreads_to_block: bool,
    /// A match is site navigation ("Sign in", "Home | Fixtures | Results", a
    /// breadcrumb): at the top of the page, before the body, the other short lines
    /// of its run (no blank line between) are navigation too, e.g. the site name
    /// between "Sign in" and the breadcrumb.
    #[serde(default)]
    pub navigation: bool,
}

/// Knobs of the context heuristics. Word counts split on whitespace.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ContextConfig {
    /// Turns the context heuristics on (rules and repeats run regardless).
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// A line with at least this many words that ends like a sentence (`.`, `!`,
    /// `?`, `…`, `;`, or a closing quote) is a body paragraph.
    #[serde(default = "default_body_min_words")]
    pub body_min_words: NonZeroUsize,
    /// A line with at least this many words is a body paragraph whatever its end.
    #[serde(default = "default_long_line_words")]
    pub long_line_words: NonZeroUsize,
    /// A line of at most this many words that does not end like a sentence or with
    /// `:` is *short*: menus, buttons, tags and link lists are made of such lines.
    #[serde(default = "default_short_max_words")]
    pub short_max_words: NonZeroUsize,
    /// Outside the body, this many consecutive short lines (no blank line between;
    /// rule-matched lines count) are a menu and are removed.
    #[serde(default = "default_edge_run_min")]
    pub edge_run_min: NonZeroUsize,
    /// Inside the body, a menu needs this many consecutive short lines, and lines
    /// with two or more numbers (table rows) never count.
    #[serde(default = "default_inside_run_min")]
    pub inside_run_min: NonZeroUsize,
    /// A menu of at least this many lines between two body paragraphs splits the
    /// page into two candidate bodies; the one with more text is the article.
    #[serde(default = "default_barrier_run_min")]
    pub barrier_run_min: NonZeroUsize,
    /// A teaser list: this many short-to-medium lines without sentence punctuation
    /// in a row (blank lines allowed between them) outside the body.
    #[serde(default = "default_teaser_run_min")]
    pub teaser_run_min: NonZeroUsize,
    /// Longest line (in words) that counts as a teaser headline.
    #[serde(default = "default_teaser_max_words")]
    pub teaser_max_words: NonZeroUsize,
    /// A line ending in `:` with at least this many words introduces a list: the
    /// non-sentence lines after it (up to the next paragraph) are protected.
    #[serde(default = "default_intro_min_words")]
    pub intro_min_words: NonZeroUsize,
    /// At most this many lines after an introducing line are protected.
    #[serde(default = "default_intro_max_items")]
    pub intro_max_items: NonZeroUsize,
    /// After the body, once chrome has been seen, lines go unless they end like a
    /// sentence and have at least this many words (a closing note after an ad).
    #[serde(default = "default_trailing_keep_words")]
    pub trailing_keep_words: NonZeroUsize,
    /// `protect` patterns are only tested on lines of at most this many words.
    #[serde(default = "default_protect_max_words")]
    pub protect_max_words: NonZeroUsize,
}

/// Thresholds of the corpus-repeat rule (needs a corpus profile from pass 1).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RepeatConfig {
    /// Turns the rule on.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// A line found in at least this many distinct documents (of the same source,
    /// where the input names sources) is a repeat.
    #[serde(default = "default_repeat_min_docs")]
    pub min_docs: NonZeroU32,
    /// A repeat that ends like a sentence and has at least this many words is
    /// content-shaped (a quoted statement, a syndicated paragraph) and is kept.
    #[serde(default = "default_repeat_keep_min_words")]
    pub keep_min_words: NonZeroUsize,
}

fn default_true() -> bool {
    true
}
fn nz(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).expect("default thresholds are non-zero")
}
fn default_body_min_words() -> NonZeroUsize {
    nz(10)
}
fn default_long_line_words() -> NonZeroUsize {
    nz(25)
}
fn default_short_max_words() -> NonZeroUsize {
    nz(6)
}
fn default_edge_run_min() -> NonZeroUsize {
    nz(3)
}
fn default_inside_run_min() -> NonZeroUsize {
    nz(8)
}
fn default_barrier_run_min() -> NonZeroUsize {
    nz(8)
}
fn default_teaser_run_min() -> NonZeroUsize {
    nz(3)
}
fn default_teaser_max_words() -> NonZeroUsize {
    nz(16)
}
fn default_intro_min_words() -> NonZeroUsize {
    nz(3)
}
fn default_intro_max_items() -> NonZeroUsize {
    nz(40)
}
fn default_trailing_keep_words() -> NonZeroUsize {
    nz(4)
}
fn default_protect_max_words() -> NonZeroUsize {
    nz(16)
}
fn default_repeat_min_docs() -> NonZeroU32 {
    NonZeroU32::new(5).expect("non-zero")
}
fn default_repeat_keep_min_words() -> NonZeroUsize {
    nz(12)
}

impl Default for ContextConfig {
    fn default() -> Self {
        ContextConfig {
            enabled: true,
            body_min_words: default_body_min_words(),
            long_line_words: default_long_line_words(),
            short_max_words: default_short_max_words(),
            edge_run_min: default_edge_run_min(),
            inside_run_min: default_inside_run_min(),
            barrier_run_min: default_barrier_run_min(),
            teaser_run_min: default_teaser_run_min(),
            teaser_max_words: default_teaser_max_words(),
            intro_min_words: default_intro_min_words(),
            intro_max_items: default_intro_max_items(),
            trailing_keep_words: default_trailing_keep_words(),
            protect_max_words: default_protect_max_words(),
        }
    }
}

impl Default for RepeatConfig {
    fn default() -> Self {
        RepeatConfig {
            enabled: true,
            min_docs: default_repeat_min_docs(),
            keep_min_words: default_repeat_keep_min_words(),
        }
    }
}

/// What the corpus profile (pass 1, built by the product) can tell about a line.
pub trait RepeatLookup {
    /// Number of distinct documents (of this document's source, when the input
    /// gives sources) containing this line, after the profile's own normalisation
    /// (the product lower-cases, collapses whitespace and hashes).
    /// 0 = unknown / no profile.
    fn doc_frequency(&self, line: &str) -> u32;
}

/// A [`RepeatLookup`] that knows nothing: every line has frequency 0.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoRepeats;

impl RepeatLookup for NoRepeats {
    fn doc_frequency(&self, _line: &str) -> u32 {
        0
    }
}

/// Identifies the rule (or heuristic) that removed a line; see
/// [`Boilerplate::rule_name`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(u32);

impl RuleId {
    /// The id as a dense index (0..[`Boilerplate::rule_count`]), for stats arrays.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// A config that cannot be compiled. Every variant names the offending entry the
/// way it is written in the config (`groups[2].regex[0]`).
#[derive(Debug, thiserror::Error)]
pub enum BoilerplateError {
    /// A group has an empty, duplicate or malformed name.
    #[error("groups[{group}].name: {message}")]
    GroupName {
        /// Index of the group.
        group: usize,
        /// What is wrong.
        message: String,
    },
    /// A literal rule is empty once reduced to its match key.
    #[error("groups[{group}].{kind}[{index}]: {literal:?} is empty after trimming punctuation and spaces")]
    EmptyLiteral {
        /// Index of the group.
        group: usize,
        /// `exact` or `prefix`.
        kind: &'static str,
        /// Index of the rule inside its list.
        index: usize,
        /// The rule as written.
        literal: String,
    },
    /// A regex rule does not compile.
    #[error("groups[{group}].regex[{index}]: {source}")]
    Regex {
        /// Index of the group.
        group: usize,
        /// Index of the regex inside the group.
        index: usize,
        /// The regex crate's error.
        #[source]
        source: regex::Error,
    },
    /// A `protect` regex does not compile.
    #[error("protect[{index}]: {source}")]
    Protect {
        /// Index of the regex.
        index: usize,
        /// The regex crate's error.
        #[source]
        source: regex::Error,
    },
    /// The regexes compile one by one but not as one set (size limits).
    #[error("{what}: the regexes do not fit in one set: {source}")]
    RegexSet {
        /// `groups` or `protect`.
        what: &'static str,
        /// The regex crate's error.
        #[source]
        source: regex::Error,
    },
    /// The literal automaton could not be built.
    #[error("groups: literal rules: {0}")]
    Literals(#[from] aho_corasick::BuildError),
}

/// Names of the built-in heuristics, in id order after the groups' ids.
const CONTEXT_RULES: [&str; 9] = [
    "context/kicker",
    "context/leading_menu",
    "context/menu_run",
    "context/inside_menu",
    "context/teaser_list",
    "context/trailing",
    "context/section",
    "context/neighbour",
    "repeat/corpus",
];
const CTX_KICKER: usize = 0;
const CTX_LEADING: usize = 1;
const CTX_MENU: usize = 2;
const CTX_INSIDE_MENU: usize = 3;
const CTX_TEASER: usize = 4;
const CTX_TRAILING: usize = 5;
const CTX_SECTION: usize = 6;
const CTX_NEIGHBOUR: usize = 7;
const CTX_REPEAT: usize = 8;

/// Literal kinds, in the order of their ids inside a group.
const KIND_EXACT: usize = 0;
const KIND_PREFIX: usize = 1;
const KIND_REGEX: usize = 2;
const KINDS: [&str; 3] = ["exact", "prefix", "regex"];

#[derive(Debug, Clone, Copy)]
struct GroupInfo {
    max_words: usize,
    starts_section: bool,
    spreads_to_block: bool,
    navigation: bool,
}

#[derive(Debug, Clone, Copy)]
struct Literal {
    group: usize,
    exact: bool,
    /// The key ends in a letter or digit, so a prefix match must end at a word boundary.
    word_end: bool,
}

/// The compiled boilerplate classifier. `Send + Sync`; build once, share between threads.
#[derive(Debug)]
pub struct Boilerplate {
    groups: Vec<GroupInfo>,
    names: Vec<String>,
    /// Exact and prefix keys, matched at the start of a line's key only.
    literals: Option<DFA>,
    literal_info: Vec<Literal>,
    /// Longest literal key, in bytes: a longer line can only match a
    /// prefix, found in its first bytes.
    max_key_len: usize,
    /// Rule regexes in config order, each run only on lines its
    /// `max_words` allows and its required literals pass.
    regexes: Vec<RegexRule>,
    prefilter: RegexPrefilter,
    protect: RegexSet,
    context: ContextConfig,
    repeat: RepeatConfig,
}

impl Boilerplate {
    /// Compiles the config; every error names the group and rule index
    /// (e.g. `groups[2].regex[0]: …`).
    pub fn build(cfg: &BoilerplateConfig) -> Result<Boilerplate, BoilerplateError> {
        let mut seen = HashSet::new();
        let mut names = Vec::with_capacity(cfg.groups.len() * 3 + CONTEXT_RULES.len());
        let mut groups = Vec::with_capacity(cfg.groups.len());
        let mut keys = Vec::new();
        let mut literal_info = Vec::new();
        for (g, group) in cfg.groups.iter().enumerate() {
            let bad_name = |message: &str| BoilerplateError::GroupName {
                group: g,
                message: message.to_string(),
            };
            if group.name.trim().is_empty() {
                return Err(bad_name("empty name"));
            }
            if group.name.contains('/') {
                return Err(bad_name("a group name cannot contain '/'"));
            }
            if !seen.insert(group.name.as_str()) {
                return Err(bad_name(&format!("duplicate group name {:?}", group.name)));
            }
            for kind in KINDS {
                names.push(format!("{}/{}", group.name, kind));
            }
            groups.push(GroupInfo {
                max_words: group.max_words.map_or(usize::MAX, NonZeroUsize::get),
                starts_section: group.starts_section,
                spreads_to_block: group.spreads_to_block,
                navigation: group.navigation,
            });
            for (kind, list) in [(KIND_EXACT, &group.exact), (KIND_PREFIX, &group.prefix)] {
                for (index, literal) in list.iter().enumerate() {
                    let mut buf = String::new();
                    let empty = match_key(literal, &mut buf).is_empty();
                    let key = if kind == KIND_EXACT {
                        match_key(literal, &mut buf).to_string()
                    } else {
                        // A prefix keeps its trailing punctuation: "More:" must not match "More than …".
                        fold_key(literal, &mut buf);
                        buf.trim_start_matches(LEAD_JUNK).to_string()
                    };
                    if empty {
                        return Err(BoilerplateError::EmptyLiteral {
                            group: g,
                            kind: KINDS[kind],
                            index,
                            literal: literal.clone(),
                        });
                    }
                    literal_info.push(Literal {
                        group: g,
                        exact: kind == KIND_EXACT,
                        word_end: key.chars().next_back().is_some_and(char::is_alphanumeric),
                    });
                    keys.push(key);
                }
            }
        }
        names.extend(CONTEXT_RULES.iter().map(|s| s.to_string()));

        let max_key_len = keys.iter().map(String::len).max().unwrap_or(0);
        let patterns: Vec<(usize, usize, &String)> = cfg
            .groups
            .iter()
            .enumerate()
            .flat_map(|(g, group)| group.regex.iter().enumerate().map(move |(i, p)| (g, i, p)))
            .collect();
        // Each rule's clauses, as ranges into one list.
        let mut all_clauses: Vec<required::Clause> = Vec::new();
        let shapes: Vec<(usize, std::ops::Range<usize>)> = patterns
            .iter()
            .map(|&(g, _, pattern)| {
                let first = all_clauses.len();
                all_clauses.extend(required::clauses(pattern));
                (groups[g].max_words, first..all_clauses.len())
            })
            .collect();
        // Compiling is most of a run's fixed cost: the rule regexes, the
        // protect set and the automata compile in parallel on the current
        // rayon pool (serially when the run has one thread). Errors are
        // reported in config order.
        let ((compiled, protect), (literals, prefilter)) = rayon::join(
            || {
                rayon::join(
                    || {
                        patterns
                            .par_iter()
                            .map(|&(_, _, pattern)| compile_rule(pattern))
                            .collect::<Vec<Result<Regex, regex::Error>>>()
                    },
                    || compile_protect(&cfg.protect),
                )
            },
            || {
                rayon::join(
                    || {
                        // A full DFA: the literals are short, so it stays
                        // small, and it is several times faster per byte
                        // than the NFA. Anchored: a literal rule matches at
                        // the start of the key only, so the walk stops at
                        // the first byte that leaves the trie instead of
                        // scanning the whole head.
                        (!keys.is_empty())
                            .then(|| {
                                DFA::builder()
                                    .ascii_case_insensitive(true)
                                    .match_kind(MatchKind::Standard)
                                    .start_kind(StartKind::Anchored)
                                    .build(&keys)
                            })
                            .transpose()
                    },
                    || RegexPrefilter::build(&all_clauses, &shapes),
                )
            },
        );
        let literals = literals?;
        let prefilter = prefilter?;
        let mut regexes = Vec::with_capacity(patterns.len());
        for ((&(g, index, _), regex), (max_words, clauses)) in
            patterns.iter().zip(compiled).zip(shapes)
        {
            let regex = regex.map_err(|source| BoilerplateError::Regex {
                group: g,
                index,
                source,
            })?;
            regexes.push(RegexRule {
                regex,
                group: g,
                max_words,
                clauses,
            });
        }
        let protect = protect?;

        Ok(Boilerplate {
            groups,
            names,
            literals,
            literal_info,
            max_key_len,
            regexes,
            prefilter,
            protect,
            context: cfg.context.clone(),
            repeat: cfg.repeat.clone(),
        })
    }

    /// Stable "group/rule" name of a rule id for stats and the removed-lines log,
    /// e.g. "ads/exact", "context/leading_menu", "repeat/corpus".
    pub fn rule_name(&self, id: RuleId) -> &str {
        self.names.get(id.index()).map_or("unknown", String::as_str)
    }

    /// Number of distinct rule ids this classifier can return; ids are
    /// `0..rule_count()`, so stats can be kept in a dense array.
    pub fn rule_count(&self) -> usize {
        self.names.len()
    }

    /// All rule ids with their names, in id order.
    pub fn rules(&self) -> impl Iterator<Item = (RuleId, &str)> + '_ {
        self.names
            .iter()
            .enumerate()
            .map(|(i, name)| (RuleId(i as u32), name.as_str()))
    }

    fn context_id(&self, which: usize) -> RuleId {
        RuleId((self.groups.len() * 3 + which) as u32)
    }

    fn group_of(&self, id: RuleId) -> Option<&GroupInfo> {
        self.groups.get(id.index() / 3)
    }

    /// The rule that matches one line on its own, if any (no context, no repeats).
    pub fn match_rule(&self, line: &str) -> Option<RuleId> {
        self.match_rule_with(line, count_words(line), &mut Scratch::default())
    }

    fn match_rule_with(&self, line: &str, words: usize, scratch: &mut Scratch) -> Option<RuleId> {
        // (group, kind) of the best match: the earliest group wins, then the kind order.
        let mut best: Option<(usize, usize)> = None;
        let mut consider = |group: usize, kind: usize| {
            if best.is_none_or(|b| (group, kind) < b) {
                best = Some((group, kind));
            }
        };
        if let Some(ac) = &self.literals {
            // Only matches at the start count, so a long line (a paragraph)
            // is keyed on its first bytes alone: the slack covers leading
            // bullets and trailing punctuation around an exact match.
            let limit = self.max_key_len + 32;
            let truncated = line.len() > limit;
            let head = if truncated {
                let mut end = limit;
                while !line.is_char_boundary(end) {
                    end -= 1;
                }
                &line[..end]
            } else {
                line
            };
            let key = match_key(head, &mut scratch.key);
            if !key.is_empty() {
                // A match must start at 0, so it ends within the longest key.
                let mut end = key.len().min(self.max_key_len + 1);
                while !key.is_char_boundary(end) {
                    end -= 1;
                }
                key_prefixes(ac, &key.as_bytes()[..end], |pattern, m_end| {
                    let info = self.literal_info[pattern];
                    if info.exact {
                        if !truncated && m_end == key.len() {
                            consider(info.group, KIND_EXACT);
                        }
                    } else if words <= self.groups[info.group].max_words
                        && (!info.word_end
                            || key[m_end..]
                                .chars()
                                .next()
                                .is_none_or(|c| !c.is_alphanumeric()))
                    {
                        consider(info.group, KIND_PREFIX);
                    }
                });
            }
        }
        let hits = self.prefilter.scan(line, words, scratch);
        // Rules are in group order, so the first match is the best regex
        // match, and one in a group after a literal match cannot win.
        let groups_before = best.map_or(usize::MAX, |(group, _)| group);
        for rule in &self.regexes {
            if rule.group >= groups_before {
                break;
            }
            let possible = match hits {
                Hits::All => true,
                Hits::None => rule.clauses.is_empty(),
                Hits::Some => rule.clauses.clone().all(|c| scratch.hits[c]),
            };
            if words <= rule.max_words && possible && rule.regex.is_match(line) {
                best = Some((rule.group, KIND_REGEX));
                break;
            }
        }
        best.map(|(group, kind)| RuleId((group * 3 + kind) as u32))
    }

    /// Classifies the lines of one document.
    ///
    /// `lines`: all lines of the document after normalisation, blank ones included
    /// as `""` (they delimit blocks). Fills `out` (cleared first, same length as
    /// `lines`) with `None` = keep, `Some(rule_id)` = remove; blank lines are
    /// always `None`. Linear in the total length of the lines.
    pub fn classify(
        &self,
        lines: &[&str],
        repeats: &dyn RepeatLookup,
        out: &mut Vec<Option<RuleId>>,
    ) {
        out.clear();
        out.resize(lines.len(), None);
        let info = self.line_infos(lines, repeats, out);
        if self.context.enabled {
            Context {
                bp: self,
                cx: &self.context,
                info,
                out,
            }
            .run();
        }
    }

    /// Pass 1 over the lines: shape features, rules, protections and repeats.
    fn line_infos(
        &self,
        lines: &[&str],
        repeats: &dyn RepeatLookup,
        out: &mut [Option<RuleId>],
    ) -> Vec<LineInfo> {
        let cx = &self.context;
        let mut scratch = Scratch::default();
        let mut infos = Vec::with_capacity(lines.len());
        for (i, &line) in lines.iter().enumerate() {
            let line = line.trim();
            if line.is_empty() {
                infos.push(LineInfo::BLANK);
                continue;
            }
            let shape = shape(line);
            let words = shape.words;
            let end = line_end(line);
            let numbers = shape.numbers;
            let rule = self.match_rule_with(line, words, &mut scratch);
            let protected = words <= cx.protect_max_words.get()
                && !self.protect.is_empty()
                && self.protect.is_match(line);
            let sentence = end == End::Sentence && words >= cx.body_min_words.get()
                || words >= cx.long_line_words.get();
            let mut removed = rule;
            if removed.is_none()
                && self.repeat.enabled
                && !protected
                && !(end == End::Sentence && words >= self.repeat.keep_min_words.get())
                && repeats.doc_frequency(line) >= self.repeat.min_docs.get()
            {
                removed = Some(self.context_id(CTX_REPEAT));
            }
            out[i] = removed;
            infos.push(LineInfo {
                blank: false,
                words: words.min(u32::MAX as usize) as u32,
                end,
                numbers,
                sentence,
                protected,
                chrome: removed.is_some(),
                section: rule
                    .and_then(|r| self.group_of(r))
                    .is_some_and(|g| g.starts_section),
                spreads: rule
                    .and_then(|r| self.group_of(r))
                    .is_some_and(|g| g.spreads_to_block),
                nav: rule
                    .and_then(|r| self.group_of(r))
                    .is_some_and(|g| g.navigation),
                item: is_item(line),
                listed: false,
                question: line
                    .trim_end_matches(|c: char| is_closing_quote(c) || c.is_whitespace())
                    .ends_with('?'),
                alpha_words: shape.alpha_words,
            });
        }
        infos
    }
}

/// How a line ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    /// `.`, `!`, `?`, `…`, `;`, or a closing quote (a quoted paragraph).
    Sentence,
    /// `:` (a heading or the introduction of a list).
    Colon,
    /// Anything else: a word, a number, a bracket.
    Open,
}

#[derive(Debug, Clone, Copy)]
struct LineInfo {
    blank: bool,
    words: u32,
    end: End,
    /// Number of tokens containing a digit (table rows have several).
    numbers: u32,
    /// A body paragraph by shape (long, or sentence-like and long enough).
    sentence: bool,
    /// Matches a `protect` pattern.
    protected: bool,
    /// Removed by a rule or the repeat rule.
    chrome: bool,
    /// Removed by a rule of a `starts_section` group.
    section: bool,
    /// Removed by a rule of a `spreads_to_block` group.
    spreads: bool,
    /// Removed by a rule of a `navigation` group.
    nav: bool,
    /// Shaped like a list item rather than a link: see [`is_item`].
    item: bool,
    /// Protected as an item of a list introduced by a line ending in `:`.
    listed: bool,
    /// Ends with a question mark.
    question: bool,
    /// Number of words that start with a letter.
    alpha_words: u32,
}

impl LineInfo {
    const BLANK: LineInfo = LineInfo {
        blank: true,
        words: 0,
        end: End::Open,
        numbers: 0,
        sentence: false,
        protected: false,
        chrome: false,
        section: false,
        spreads: false,
        nav: false,
        item: false,
        listed: false,
        question: false,
        alpha_words: 0,
    };
}

/// Pass 2: the context heuristics over one document.
struct Context<'a> {
    bp: &'a Boilerplate,
    cx: &'a ContextConfig,
    info: Vec<LineInfo>,
    out: &'a mut [Option<RuleId>],
}

impl Context<'_> {
    /// A short line: few words, no sentence or colon ending.
    fn is_short(&self, i: usize) -> bool {
        let l = &self.info[i];
        !l.blank && l.words as usize <= self.cx.short_max_words.get() && l.end == End::Open
    }

    /// Can be part of a menu run: short and unprotected, or already chrome and not long.
    fn menu_candidate(&self, i: usize) -> bool {
        let l = &self.info[i];
        if l.blank {
            return false;
        }
        if l.chrome {
            return !l.sentence;
        }
        self.is_short(i) && !l.protected && !l.listed
    }

    fn remove(&mut self, i: usize, which: usize) {
        if self.out[i].is_none() && !self.info[i].blank {
            self.out[i] = Some(self.bp.context_id(which));
        }
    }

    fn run(mut self) {
        let n = self.info.len();
        if n == 0 {
            return;
        }
        self.demote_section_headings();
        self.mark_lists();
        let runs = self.menu_runs();
        let Some((first, last)) = self.body_span(&runs) else {
            // No paragraph at all: only unambiguous menus go.
            for r in &runs {
                if r.is_menu(self.cx.barrier_run_min, false) {
                    for i in r.start..r.end {
                        self.remove(i, CTX_MENU);
                    }
                }
            }
            self.spread_blocks();
            return;
        };

        // Menus: short runs at the edges, long ones inside.
        for r in &runs {
            let inside = r.start > first && r.end <= last;
            let min = if inside {
                self.cx.inside_run_min
            } else {
                self.cx.edge_run_min
            };
            if r.is_menu(min, inside) {
                let which = if inside { CTX_INSIDE_MENU } else { CTX_MENU };
                for i in r.start..r.end {
                    self.remove(i, which);
                }
            }
        }

        // Leading region: everything short before the end of the last menu that is
        // not mostly rule-matched (a share bar right above the body does not count)
        // is navigation; lines after it are the header zone (kicker, title, dek,
        // byline) and are kept.
        let header_start = runs
            .iter()
            .filter(|r| r.end <= first && r.is_menu(self.cx.edge_run_min, false))
            .map(|r| r.end)
            .max()
            .unwrap_or(0)
            .max(self.leading_navigation(&runs, first));
        for i in 0..header_start {
            let l = self.info[i];
            if !l.blank
                && !l.protected
                && !l.sentence
                && l.words as usize <= self.cx.short_max_words.get()
            {
                self.remove(i, CTX_LEADING);
            }
        }

        if header_start > 0 {
            self.kicker(header_start, first);
        }

        // Teaser lists: in the navigation part of the leading region and after the body.
        self.teaser_lists(0, header_start);
        self.teaser_lists(last + 1, n);

        // Trailing region: from the first chrome line after the body, short and
        // unprotected lines go; from the first section header, everything goes.
        let mut chrome_seen = false;
        let mut section = false;
        for i in last + 1..n {
            let l = self.info[i];
            if l.blank {
                continue;
            }
            if l.section {
                section = true;
            }
            if self.out[i].is_some() {
                chrome_seen = true;
                continue;
            }
            if section {
                self.remove(i, CTX_SECTION);
            } else if chrome_seen
                && !l.protected
                && !l.listed
                && (l.end != End::Sentence
                    || (l.alpha_words as usize) < self.cx.trailing_keep_words.get())
            {
                self.remove(i, CTX_TRAILING);
            }
        }

        self.spread_blocks();
    }

    /// End of the last run of short lines before the body that holds a
    /// `navigation` match ("Sign in", a breadcrumb, a "Home | News | Contact"
    /// row) and a line no rule knows: a site name or section label sitting in
    /// the navigation bar, like "The Fenwick Herald" between "Sign in" and
    /// "Home > News". Such a run is judged by its navigation lines, where a menu
    /// of unknown lines needs `edge_run_min` of them, because a share bar under
    /// the headline has the same shape and must not take the headline.
    ///
    /// The headline is the first heading-like line after the navigation, so a
    /// run counts only when such a line (unremoved, unprotected, not a body
    /// paragraph) follows it before the body; otherwise the run's own short line
    /// is the headline ("Skip to content / Brown Butter Loaf / By …").
    fn leading_navigation(&self, runs: &[Run], first: usize) -> usize {
        let last_heading = (0..first).rev().find(|&i| {
            let l = self.info[i];
            !l.blank && !l.chrome && !l.protected && !l.sentence && !l.listed
        });
        let Some(last_heading) = last_heading else {
            return 0;
        };
        runs.iter()
            .filter(|r| {
                r.end <= last_heading
                    && r.nav > 0
                    && r.unknown() > 0
                    && r.numbers * 2 < r.len()
                    && r.items * 2 < r.len()
            })
            .map(|r| r.end)
            .max()
            .unwrap_or(0)
    }

    /// A section label above the headline ("World", "Science") right after the
    /// navigation: the first line of the header zone, one or two words alone in
    /// its block, followed by a headline-shaped line (four or more words, no
    /// sentence ending).
    fn kicker(&mut self, from: usize, first: usize) {
        let mut kept = (from..first).filter(|&i| !self.info[i].blank && self.out[i].is_none());
        let (Some(k), Some(next)) = (kept.next(), kept.next()) else {
            return;
        };
        let l = self.info[k];
        let t = self.info[next];
        let alone =
            (k == 0 || self.info[k - 1].blank) && self.info.get(k + 1).is_none_or(|m| m.blank);
        if alone
            && l.words <= 2
            && l.end == End::Open
            && !l.protected
            && !l.listed
            && t.end == End::Open
            && t.words >= 4
            && !t.sentence
        {
            self.remove(k, CTX_KICKER);
        }
    }

    /// A section header directly followed by a body paragraph is a heading of the
    /// article ("Related", "Comments" as a section title): its rule still removes
    /// it, but it does not start a chrome section.
    fn demote_section_headings(&mut self) {
        let mut next_sentence = false;
        for l in self.info.iter_mut().rev() {
            if l.blank {
                continue;
            }
            if l.section && next_sentence {
                l.section = false;
            }
            next_sentence = l.sentence && !l.chrome;
        }
    }

    /// Protects the items of lists introduced by a line ending in ':'.
    fn mark_lists(&mut self) {
        let n = self.info.len();
        let mut i = 0;
        while i < n {
            if self.introduces_list(i) {
                let mut items = 0;
                let mut j = i + 1;
                while j < n && items < self.cx.intro_max_items.get() {
                    let m = self.info[j];
                    if m.blank {
                        j += 1;
                        continue;
                    }
                    if m.chrome || m.sentence && m.end == End::Sentence || m.end == End::Colon {
                        break;
                    }
                    self.info[j].listed = true;
                    items += 1;
                    j += 1;
                }
                i = j;
            } else {
                i += 1;
            }
        }
    }

    /// A line ending in ':', or a question standing alone in its block (a heading
    /// like "What's new in 2.26?"), with enough words, introduces a list.
    fn introduces_list(&self, i: usize) -> bool {
        let l = self.info[i];
        if l.blank || l.chrome || (l.words as usize) < self.cx.intro_min_words.get() {
            return false;
        }
        match l.end {
            End::Colon => true,
            End::Sentence => {
                let alone = (i == 0 || self.info[i - 1].blank)
                    && self.info.get(i + 1).is_none_or(|m| m.blank);
                alone && !l.sentence && l.question
            }
            End::Open => false,
        }
    }

    /// Maximal runs of consecutive menu-candidate lines (no blank line between).
    fn menu_runs(&self) -> Vec<Run> {
        let mut runs = Vec::new();
        let mut cur: Option<Run> = None;
        for i in 0..self.info.len() {
            if self.menu_candidate(i) {
                let l = self.info[i];
                let r = cur.get_or_insert(Run {
                    start: i,
                    end: i,
                    chrome: 0,
                    numbers: 0,
                    tabular: 0,
                    items: 0,
                    nav: 0,
                });
                r.end = i + 1;
                r.chrome += l.chrome as usize;
                r.numbers += (l.numbers > 0) as usize;
                r.tabular += (l.numbers >= 2) as usize;
                r.items += (l.item && !l.chrome) as usize;
                r.nav += l.nav as usize;
            } else if let Some(r) = cur.take() {
                runs.push(r);
            }
        }
        runs.extend(cur);
        runs
    }

    /// The article body: body paragraphs grouped into candidate bodies separated by
    /// section headers or long menus; the candidate with the most text wins.
    /// Returns the first and last line index of its paragraphs.
    fn body_span(&self, runs: &[Run]) -> Option<(usize, usize)> {
        // barrier[i]: a long menu or section header starts at i.
        let mut barrier = vec![false; self.info.len()];
        for r in runs {
            if r.is_menu(self.cx.barrier_run_min, false) {
                barrier[r.start] = true;
            }
        }
        let mut best: Option<(usize, usize, usize)> = None; // (first, last, chars)
        let mut cur: Option<(usize, usize, usize)> = None;
        let mut split = false;
        for (i, l) in self.info.iter().enumerate() {
            if l.section || barrier[i] {
                split = true;
            }
            if l.blank || l.chrome || !l.sentence {
                continue;
            }
            if split {
                if let Some(c) = cur.take() {
                    if best.is_none_or(|b| c.2 > b.2) {
                        best = Some(c);
                    }
                }
                split = false;
            }
            let weight = l.words as usize;
            match &mut cur {
                Some(c) => {
                    c.1 = i;
                    c.2 += weight;
                }
                None => cur = Some((i, i, weight)),
            }
        }
        if let Some(c) = cur {
            if best.is_none_or(|b| c.2 > b.2) {
                best = Some(c);
            }
        }
        best.map(|(f, l, _)| (f, l))
    }

    /// Three or more headline-like lines in a row (blank lines allowed) in
    /// `from..to` are a list of links to other pages.
    fn teaser_lists(&mut self, from: usize, to: usize) {
        let to = to.min(self.info.len());
        let max = self.cx.teaser_max_words.get();
        let is_teaser = |l: &LineInfo| {
            !l.blank
                && !l.protected
                && !l.listed
                && l.end == End::Open
                && l.alpha_words >= 3
                && l.words as usize <= max
        };
        let mut items: Vec<usize> = Vec::new();
        for i in from..=to {
            let more = i < to && {
                let l = &self.info[i];
                l.blank || (self.out[i].is_none() && is_teaser(l))
            };
            if more {
                if !self.info[i].blank {
                    items.push(i);
                }
                continue;
            }
            if items.len() >= self.cx.teaser_run_min.get() {
                for &k in &items {
                    self.remove(k, CTX_TEASER);
                }
            }
            items.clear();
        }
    }

    /// Short unprotected lines that share a block with a `spreads_to_block` match go with it.
    ///
    /// A block ends at a blank line and also at a body paragraph that no rule
    /// removed: many pages come without blank lines, so "the block" would be the
    /// whole page, and a comment count under a recipe would take its title and
    /// headings with it. A banner's own sentences are rule-matched and do not end it.
    fn spread_blocks(&mut self) {
        let n = self.info.len();
        let ends_block = |l: &LineInfo| l.blank || (l.sentence && !l.chrome);
        let mut start = 0;
        while start < n {
            if ends_block(&self.info[start]) {
                start += 1;
                continue;
            }
            let mut end = start;
            let mut spreads = false;
            while end < n && !ends_block(&self.info[end]) {
                spreads |= self.info[end].spreads;
                end += 1;
            }
            if spreads {
                for i in start..end {
                    let l = self.info[i];
                    // Only short lines: a headline or dek right above a
                    // "New, 6 comments" counter is not one of its buttons, and
                    // neither is a line right above a byline or dateline (the
                    // headline under a cookie banner on a page without blank lines).
                    let above_byline = self
                        .info
                        .get(i + 1)
                        .is_some_and(|m| m.protected && !m.chrome);
                    if !l.protected
                        && !l.listed
                        && !l.sentence
                        && l.end != End::Colon
                        && l.words as usize <= self.cx.short_max_words.get()
                        && !above_byline
                    {
                        self.remove(i, CTX_NEIGHBOUR);
                    }
                }
            }
            start = end;
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Run {
    start: usize,
    end: usize,
    /// Lines already removed by rules.
    chrome: usize,
    /// Lines with a number.
    numbers: usize,
    /// Lines with two or more numbers (table rows).
    tabular: usize,
    /// Lines shaped like list items (quantities, comma continuations).
    items: usize,
    /// Lines removed by a `navigation` rule.
    nav: usize,
}

impl Run {
    fn len(&self) -> usize {
        self.end - self.start
    }

    /// Lines not already removed by a rule: a menu is judged by these, so that two
    /// names above a "Share" button are not a menu.
    fn unknown(&self) -> usize {
        self.len() - self.chrome
    }

    /// Whether the run is a menu: at least `min` lines not already removed by a
    /// rule, not a table (inside the body, rows with two or more numbers;
    /// elsewhere, any number, so prices and dates in an info box survive), and
    /// not a list (half its lines shaped like items: an ingredient list under
    /// "Ingredients", a kit list; menu links are names, not quantities).
    fn is_menu(&self, min: NonZeroUsize, inside: bool) -> bool {
        let numeric = if inside { self.tabular } else { self.numbers };
        self.unknown() >= min.get() && numeric * 2 < self.len() && self.items * 2 < self.len()
    }
}

fn count_words(line: &str) -> usize {
    shape(line).words
}

/// Word-level shape of a line.
#[derive(Debug, Default, PartialEq, Eq)]
struct Shape {
    /// Whitespace-separated words.
    words: usize,
    /// Words containing an ASCII digit (table rows have several).
    numbers: u32,
    /// Words starting with a letter.
    alpha_words: u32,
}

/// ASCII byte classes for [`shape`]: bit 0 whitespace, bit 1 letter, bit 2 digit.
const BYTE_CLASS: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        t[b] = if c == b' ' || (c >= 9 && c <= 13) {
            1
        } else if c.is_ascii_alphabetic() {
            2
        } else if c.is_ascii_digit() {
            4
        } else {
            0
        };
        b += 1;
    }
    t
};

/// Computes a line's [`Shape`] in one pass over its bytes. Eight bytes of
/// plain ASCII (no control, no digit) at a time are counted with bit
/// arithmetic; the rest goes one character at a time, decoding only
/// non-ASCII ones. The counters are updated without branches: a branch
/// at every word boundary was mispredicted often enough to make this most
/// of the stage's time on long paragraphs (measured).
fn shape(line: &str) -> Shape {
    let bytes = line.as_bytes();
    let mut st = ShapeState {
        prev_ws: 1,
        ..ShapeState::default()
    };
    let mut i = 0;
    while i < bytes.len() {
        if let Some(block) = bytes
            .get(i..i + 8)
            .and_then(|b| <[u8; 8]>::try_from(b).ok())
        {
            if st.block(u64::from_le_bytes(block)) {
                i += 8;
                continue;
            }
        }
        let b = bytes[i];
        let (class, len) = if b < 0x80 {
            (u32::from(BYTE_CLASS[usize::from(b)]), 1)
        } else {
            let c = line[i..].chars().next().unwrap_or(' ');
            let class = if c.is_whitespace() {
                1
            } else {
                u32::from(c.is_alphabetic()) << 1
            };
            (class, c.len_utf8())
        };
        st.step(class);
        i += len;
    }
    st.numbers += st.has_digit & (st.prev_ws ^ 1);
    Shape {
        words: st.words as usize,
        numbers: st.numbers,
        alpha_words: st.alpha_words,
    }
}

/// The running counts of [`shape`]; flags are 0 or 1.
#[derive(Default)]
struct ShapeState {
    words: u32,
    alpha_words: u32,
    numbers: u32,
    /// The previous character was whitespace (or there was none).
    prev_ws: u32,
    /// The current word has a digit.
    has_digit: u32,
}

impl ShapeState {
    /// One character of class `class` (see [`BYTE_CLASS`]).
    fn step(&mut self, class: u32) {
        let ws = class & 1;
        let start = self.prev_ws & (ws ^ 1);
        let end = ws & (self.prev_ws ^ 1);
        self.words += start;
        self.alpha_words += start & (class >> 1);
        self.numbers += end & self.has_digit;
        self.has_digit = (self.has_digit & (start ^ 1)) | (class >> 2);
        self.prev_ws = ws;
    }

    /// Eight bytes at once (little-endian in `x`), when they are ASCII
    /// with no control character and no digit; returns false, counting
    /// nothing, otherwise. Each test leaves its answer in the top bit of
    /// every byte; no byte's sum carries into the next, since all are
    /// below 0x80.
    fn block(&mut self, x: u64) -> bool {
        const ONES: u64 = 0x0101_0101_0101_0101;
        const HIGH: u64 = 0x8080_8080_8080_8080;
        const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
        if x & HIGH != 0 {
            return false;
        }
        let at_least = |v: u64, min: u8| v + u64::from(0x80 - min) * ONES;
        let control = !at_least(x, 0x20) & HIGH;
        let digit = at_least(x, b'0') & !at_least(x, b'9' + 1) & HIGH;
        if control | digit != 0 {
            return false;
        }
        // A space is the only whitespace left: find the zero bytes of x ^ "    ".
        let t = x ^ (u64::from(b' ') * ONES);
        let ws = !((((t & LOW7) + LOW7) | t) & HIGH) & HIGH;
        let folded = x | (0x20 * ONES);
        let alpha = at_least(folded, b'a') & !at_least(folded, b'z' + 1) & HIGH;
        let prev = (ws << 8) | (u64::from(self.prev_ws) << 7);
        let start = !ws & prev & HIGH;
        // Bits sit at the top of each byte: move them to the bottom and
        // add the bytes up with one multiplication (`count_ones` is no
        // single instruction on baseline x86-64).
        let count = |m: u64| ((m >> 7).wrapping_mul(ONES) >> 56) as u32;
        self.words += count(start);
        self.alpha_words += count(start & alpha);
        // The word carried in ends here; later words in the block have no digit.
        if self.prev_ws == 0 && ws != 0 {
            self.numbers += self.has_digit;
        }
        if start | ws != 0 {
            self.has_digit = 0;
        }
        self.prev_ws = (ws >> 63) as u32;
        true
    }
}

/// A line shaped like a list item rather than a link to another page: it starts
/// with a quantity ("175 g butter", "½ tsp salt", "2 x AA batteries") or goes on
/// after a comma in lower case ("3 large eggs, beaten", "Pears, peeled and diced").
/// Menu and link labels are names: they rarely start with a number and almost
/// never carry a lower-case clause after a comma.
fn is_item(line: &str) -> bool {
    let starts_with_quantity = line
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || is_vulgar_fraction(c))
        && line.split_whitespace().count() >= 2;
    let comma_clause = memchr::memmem::find(line.as_bytes(), b", ").is_some_and(|at| {
        line[at + 2..]
            .chars()
            .next()
            .is_some_and(char::is_lowercase)
    });
    starts_with_quantity || comma_clause
}

fn is_vulgar_fraction(c: char) -> bool {
    matches!(c, '¼' | '½' | '¾' | '\u{2150}'..='\u{215e}')
}

fn is_closing_quote(c: char) -> bool {
    matches!(c, '”' | '’' | '"' | '\'' | '»')
}

/// Classifies the end of a line, looking through trailing emoji, closing brackets
/// and quotes. A line ending in a closing quote counts as a sentence: a quoted
/// paragraph ("…,” he said.” / “We will.”) is content, not a menu item.
fn line_end(line: &str) -> End {
    let mut saw_quote = false;
    for c in line.chars().rev() {
        match c {
            '.' | '!' | '?' | '…' | ';' => return End::Sentence,
            ':' => return if saw_quote { End::Sentence } else { End::Colon },
            c if is_closing_quote(c) => saw_quote = true,
            ')' | ']' => {
                if saw_quote {
                    return End::Sentence;
                }
                return End::Open;
            }
            c if c.is_whitespace() => {}
            c if c.is_alphanumeric() => {
                return if saw_quote { End::Sentence } else { End::Open };
            }
            // Emoji, arrows and other symbols after the last word.
            c if !c.is_ascii() && !is_closing_quote(c) && c != '–' && c != '—' => {}
            _ => return if saw_quote { End::Sentence } else { End::Open },
        }
    }
    End::Open
}

/// Leading characters a match key drops: bullets, arrows, dashes, pipes.
const LEAD_JUNK: &[char] = &[
    '•', '·', '‣', '▸', '▶', '›', '»', '-', '–', '—', '*', '|', '/', '>', '~', ' ',
];
/// Trailing characters a match key drops: sentence and list punctuation, arrows.
const TRAIL_JUNK: &[char] = &[
    '.', ':', '!', '?', '»', '›', '>', '|', '-', '–', '—', '*', '/', ' ', '▶', '→',
];

/// Writes `line` into `buf` with curly quotes, primes and "…" folded to ASCII and
/// tabs and no-break spaces turned into spaces.
fn fold_key(line: &str, buf: &mut String) {
    buf.clear();
    for c in line.chars() {
        match c {
            '’' | '‘' | '′' => buf.push('\''),
            '“' | '”' | '″' => buf.push('"'),
            '…' => buf.push_str("..."),
            '\u{a0}' | '\t' => buf.push(' '),
            c => buf.push(c),
        }
    }
}

/// Rewrites `\b` and `\B` to their ASCII forms. A Unicode word boundary
/// makes the regex engine fall back from its DFA to the much slower PikeVM
/// on any non-ASCII text (ten times slower on paragraphs with curly
/// quotes); chrome phrases are English words, so ASCII boundaries lose
/// nothing.
/// One rule regex.
#[derive(Debug)]
struct RegexRule {
    regex: Regex,
    group: usize,
    max_words: usize,
    /// Its clauses in [`RegexPrefilter`]: a line must hit all of them.
    clauses: std::ops::Range<usize>,
}

/// One aho-corasick pass over a line that tells which rule regexes can match it
/// (see [`required`]).
#[derive(Debug)]
struct RegexPrefilter {
    /// By ascending `max_words`: the literals of the rules that allow lines
    /// of up to that many words. Long lines are most of the text and only a
    /// few rules allow them, so their automaton is small and fast.
    tiers: Vec<PrefilterTier>,
    clause_count: usize,
}

#[derive(Debug)]
struct PrefilterTier {
    max_words: usize,
    /// The literals (lower case), then the fold hazards; leftmost-longest.
    ac: AhoCorasick,
    /// By pattern index, the clauses a literal of `ac` satisfies: its own
    /// and those of the literals that are prefixes of it. The fold
    /// hazards, after the literals, have no entry.
    clauses_of: Vec<Vec<usize>>,
}

/// What a prefilter scan found.
#[derive(Debug, Clone, Copy)]
enum Hits {
    /// Not scanned or no literal found: only rules without clauses can match.
    None,
    /// Some clauses hit, marked in the scratch.
    Some,
    /// A fold hazard: every rule may match.
    All,
}

impl RegexPrefilter {
    /// `rules`: each rule regex's `max_words` and its range of `clauses`.
    fn build(
        clauses: &[required::Clause],
        rules: &[(usize, std::ops::Range<usize>)],
    ) -> Result<RegexPrefilter, BoilerplateError> {
        let mut bounds: Vec<usize> = rules
            .iter()
            .filter(|(_, cs)| !cs.is_empty())
            .map(|&(max_words, _)| max_words)
            .collect();
        bounds.sort_unstable();
        bounds.dedup();
        // One automaton per tier, built in parallel.
        let tiers = bounds.into_par_iter().map(|max_words| {
            let mut literals: Vec<&str> = Vec::new();
            let mut clauses_of: Vec<Vec<usize>> = Vec::new();
            let mut index = std::collections::HashMap::new();
            for (_, rule_clauses) in rules.iter().filter(|(m, _)| *m >= max_words) {
                for c in rule_clauses.clone() {
                    for lit in &clauses[c] {
                        let i = *index.entry(lit.as_str()).or_insert_with(|| {
                            literals.push(lit);
                            clauses_of.push(Vec::new());
                            literals.len() - 1
                        });
                        clauses_of[i].push(c);
                    }
                }
            }
            // A literal found at some position implies every shorter
            // literal that is a prefix of it: the leftmost-longest search
            // below reports only the longest one starting there.
            let implied: Vec<Vec<usize>> = literals
                .iter()
                .map(|long| {
                    let mut cs: Vec<usize> = literals
                        .iter()
                        .zip(&clauses_of)
                        .filter(|(short, _)| long.starts_with(**short))
                        .flat_map(|(_, cs)| cs.iter().copied())
                        .collect();
                    cs.sort_unstable();
                    cs.dedup();
                    cs
                })
                .collect();
            literals.extend(required::FOLD_HAZARDS);
            // Literals are lower case and lines are lowered before the
            // scan. With case-sensitive patterns and a non-overlapping
            // search the automaton runs its SIMD prefilter; the
            // case-insensitive overlapping scan ran at a seventh of the
            // speed on prose (measured).
            let ac = AhoCorasickBuilder::new()
                .match_kind(MatchKind::LeftmostLongest)
                .kind(Some(AhoCorasickKind::DFA))
                .build(&literals)?;
            Ok::<_, BoilerplateError>(PrefilterTier {
                max_words,
                ac,
                clauses_of: implied,
            })
        });
        Ok(RegexPrefilter {
            tiers: tiers.collect::<Result<Vec<_>, BoilerplateError>>()?,
            clause_count: clauses.len(),
        })
    }

    /// Marks in `hits` the clauses `line` satisfies, among those of the
    /// rules that allow its length.
    fn scan(&self, line: &str, words: usize, scratch: &mut Scratch) -> Hits {
        let first = self.tiers.partition_point(|t| t.max_words < words);
        let Some(tier) = self.tiers.get(first) else {
            return Hits::None;
        };
        // ASCII lower case, as the rules' `(?i)` sees it; the non-ASCII
        // characters that fold to ASCII letters are the fold hazards.
        let lower = &mut scratch.lower;
        lower.clear();
        lower.extend(line.bytes().map(|b| b.to_ascii_lowercase()));
        let hits = &mut scratch.hits;
        let mut found = Hits::None;
        // Every start position of a literal, longest literal first:
        // together with the implied prefixes, that is every occurrence.
        let mut at = 0;
        while let Some(m) = tier
            .ac
            .find(Input::new(lower.as_slice()).span(at..lower.len()))
        {
            let Some(clauses) = tier.clauses_of.get(m.pattern().as_usize()) else {
                return Hits::All;
            };
            if matches!(found, Hits::None) {
                hits.clear();
                hits.resize(self.clause_count, false);
                found = Hits::Some;
            }
            for &c in clauses {
                hits[c] = true;
            }
            at = m.start() + 1;
        }
        found
    }
}

/// Per-document buffers of the rule matcher.
#[derive(Debug, Default)]
struct Scratch {
    /// The match key of a line.
    key: String,
    /// Prefilter clause hits of a line.
    hits: Vec<bool>,
    /// The line in ASCII lower case, for the prefilter.
    lower: Vec<u8>,
}

/// Every literal that `key` starts with, as (pattern index, length): a
/// walk of the anchored automaton from its start, which ends at the first
/// byte no literal continues with. A match state also lists the literals
/// that end there but start later (suffixes, for unanchored searches), so
/// only those as long as the walk so far count.
fn key_prefixes(dfa: &DFA, key: &[u8], mut found: impl FnMut(usize, usize)) {
    let Ok(mut sid) = dfa.start_state(Anchored::Yes) else {
        return;
    };
    for (i, &b) in key.iter().enumerate() {
        sid = dfa.next_state(Anchored::Yes, sid, b);
        if dfa.is_dead(sid) {
            return;
        }
        if dfa.is_match(sid) {
            for k in 0..dfa.match_len(sid) {
                let p = dfa.match_pattern(sid, k);
                if dfa.pattern_len(p) == i + 1 {
                    found(p.as_usize(), i + 1);
                }
            }
        }
    }
}

/// Lazy-DFA cache per regex (set) and thread, in bytes.
const REGEX_DFA_CACHE: usize = 32 << 20;

/// Compiles the `protect` patterns into one set; an error names the
/// pattern that fails, as written.
fn compile_protect(patterns: &[String]) -> Result<RegexSet, BoilerplateError> {
    let rewritten: Vec<String> = patterns
        .iter()
        .map(|p| format!("(?i:{})", ascii_word_boundaries(p)))
        .collect();
    RegexSetBuilder::new(&rewritten)
        .dfa_size_limit(REGEX_DFA_CACHE)
        .build()
        .map_err(|source| {
            let bad = patterns.iter().enumerate().find_map(|(index, pattern)| {
                Regex::new(&format!("(?i:{pattern})"))
                    .err()
                    .map(|source| BoilerplateError::Protect { index, source })
            });
            bad.unwrap_or(BoilerplateError::RegexSet {
                what: "protect",
                source,
            })
        })
}

/// Compiles a rule regex (case-insensitive, ASCII word boundaries). An
/// error is reported against the pattern as written, not the rewrite.
fn compile_rule(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(&format!("(?i:{})", ascii_word_boundaries(pattern)))
        .dfa_size_limit(REGEX_DFA_CACHE)
        .build()
        .map_err(|rewritten| {
            Regex::new(&format!("(?i:{pattern})"))
                .err()
                .unwrap_or(rewritten)
        })
}

fn ascii_word_boundaries(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push_str("(?-u:\\b)"),
            Some('B') => out.push_str("(?-u:\\B)"),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => out.push('\\'),
        }
    }
    out
}

/// The key literal rules are compared with: quotes and ellipses folded to ASCII,
/// leading bullets and trailing punctuation removed. Reuses `buf`.
fn match_key<'b>(line: &str, buf: &'b mut String) -> &'b str {
    fold_key(line, buf);
    buf.trim_start_matches(LEAD_JUNK)
        .trim_end_matches(TRAIL_JUNK)
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule#{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shape_counts_words_numbers_and_alpha_words_in_one_pass() {
        fn reference(line: &str) -> Shape {
            Shape {
                words: line.split_whitespace().count(),
                numbers: line
                    .split_whitespace()
                    .filter(|w| w.bytes().any(|b| b.is_ascii_digit()))
                    .count() as u32,
                alpha_words: line
                    .split_whitespace()
                    .filter(|w| w.chars().next().is_some_and(char::is_alphabetic))
                    .count() as u32,
            }
        }
        let cases = [
            ("", (0, 0, 0)),
            ("175 g unsalted butter", (4, 1, 3)),
            ("  Café\u{a0}au  lait 2x ", (4, 1, 3)),
            ("Q3 2024 | £1,000.50", (4, 3, 1)),
            ("“Quoted” words", (2, 0, 1)),
        ];
        for (line, (w, n, a)) in cases {
            let got = shape(line);
            assert_eq!(
                (got.words, got.numbers, got.alpha_words),
                (w, n, a),
                "{line:?}"
            );
            assert_eq!(got.words, line.split_whitespace().count(), "{line:?}");
        }
        // Against the definition, on every string of up to five characters
        // from an alphabet of the classes that matter, and on longer
        // pseudo-random ones that cross eight-byte blocks in every way.
        let alphabet = [
            'a', '1', ' ', '\t', 'é', '\u{a0}', '“', '.', '\u{2003}', '٣',
        ];
        let mut strings = vec![String::new()];
        for _ in 0..5 {
            let longer: Vec<String> = strings
                .iter()
                .flat_map(|s| alphabet.iter().map(move |c| format!("{s}{c}")))
                .collect();
            strings = longer;
            for line in &strings {
                assert_eq!(shape(line), reference(line), "{line:?}");
            }
        }
        let wide = [
            'a', 'Z', '1', ' ', ' ', ' ', '\t', 'é', '“', '.', '@', '[', '`', '{', '/', ':',
            '\u{7f}',
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..20_000 {
            let mut line = String::new();
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let len = (seed % 40) as usize;
            for _ in 0..len {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                // Mostly letters and spaces, as in prose, so blocks occur.
                let c = if seed % 4 == 0 {
                    wide[(seed >> 8) as usize % wide.len()]
                } else if seed % 5 == 0 {
                    ' '
                } else {
                    'q'
                };
                line.push(c);
            }
            assert_eq!(shape(&line), reference(&line), "{line:?}");
        }
    }

    #[test]
    fn word_boundaries_become_ascii_and_escapes_survive() {
        assert_eq!(
            ascii_word_boundaries(r"\bshare\b"),
            r"(?-u:\b)share(?-u:\b)"
        );
        assert_eq!(ascii_word_boundaries(r"a\\b\d+\B"), r"a\\b\d+(?-u:\B)");
        // Still matches next to curly quotes and accented letters.
        let re = Regex::new(&ascii_word_boundaries(r"\bcookies\b")).unwrap();
        assert!(re.is_match("“cookies” on café pages"));
    }
    use std::collections::HashMap;

    /// The shipped default rules, from the product's default config.
    fn default_config() -> BoilerplateConfig {
        crate::config::PipelineConfig::default_config()
            .stages
            .into_iter()
            .find_map(|s| match s {
                crate::config::StageConfig::Boilerplate(c) => Some(c),
                _ => None,
            })
            .expect("the default config has a boilerplate stage")
    }

    fn default_bp() -> Boilerplate {
        Boilerplate::build(&default_config()).expect("default config builds")
    }

    /// Classifies `doc` (lines separated by '\n') and returns (line, verdict) for
    /// every non-blank line, the verdict being the rule name or "" for kept.
    fn verdicts(bp: &Boilerplate, doc: &str, repeats: &dyn RepeatLookup) -> Vec<(String, String)> {
        let lines: Vec<&str> = doc.lines().map(str::trim).collect();
        let mut out = Vec::new();
        bp.classify(&lines, repeats, &mut out);
        assert_eq!(out.len(), lines.len());
        lines
            .iter()
            .zip(&out)
            .filter(|(l, _)| !l.is_empty())
            .map(|(l, v)| {
                (
                    l.to_string(),
                    v.map_or(String::new(), |id| bp.rule_name(id).to_string()),
                )
            })
            .collect()
    }

    fn kept(bp: &Boilerplate, doc: &str) -> Vec<String> {
        verdicts(bp, doc, &NoRepeats)
            .into_iter()
            .filter(|(_, v)| v.is_empty())
            .map(|(l, _)| l)
            .collect()
    }

    fn assert_kept(bp: &Boilerplate, doc: &str, lines: &[&str]) {
        let all = verdicts(bp, doc, &NoRepeats);
        for want in lines {
            let (_, v) = all
                .iter()
                .find(|(l, _)| l == want)
                .unwrap_or_else(|| panic!("{want:?} is not a line of the document"));
            assert!(
                v.is_empty(),
                "{want:?} was removed by {v}; all verdicts: {all:#?}"
            );
        }
    }

    fn assert_removed(bp: &Boilerplate, doc: &str, lines: &[&str]) {
        let all = verdicts(bp, doc, &NoRepeats);
        for want in lines {
            let (_, v) = all
                .iter()
                .find(|(l, _)| l == want)
                .unwrap_or_else(|| panic!("{want:?} is not a line of the document"));
            assert!(!v.is_empty(), "{want:?} was kept; all verdicts: {all:#?}");
        }
    }

    const PARA_A: &str = "The council said on Tuesday that the new library would open in the spring, two years later than planned.";
    const PARA_B: &str = "Residents had campaigned for a decade for the building, which replaces a branch that closed after a fire in 2014.";
    const PARA_C: &str = "The final cost of the project is expected to be about £4.2m, most of it paid for by a government grant.";

    /// One line at a time: (line, expected rule name or "" for no rule).
    #[test]
    fn rule_groups_table() {
        let bp = default_bp();
        let cases: &[(&str, &str)] = &[
            // ads
            ("Advertisement", "ads/exact"),
            ("Hide Ad", "ads/exact"),
            ("SPONSORED", "ads/exact"),
            ("Story continues below advertisement", "ads/exact"),
            ("Sponsored by Acme Bank", "ads/prefix"),
            // related (inline)
            ("READ MORE: Renewed appeal to see man honoured with star outside Town Hall", "related/prefix"),
            ("Read more: Alibaba poised to launch record-breaking listing", "related/prefix"),
            ("Also: See Black Friday coverage at CNET", "related/prefix"),
            ("Ecoflow River 370 Review: Charge up to 9 devices with this power station [Video]", "related/regex"),
            // related lists
            ("Related topics:", "related_list/exact"),
            ("Most read", "related_list/exact"),
            ("You may also like", "related_list/exact"),
            ("More in Good Deals", "related_list/prefix"),
            ("Similar topics", "related_list/exact"),
            ("Related events", "related_list/exact"),
            // share
            ("Share on Facebook", "share/prefix"),
            ("Share this on Twitter", "share/prefix"),
            ("Email a friend", "share/exact"),
            ("Follow us on", "share/prefix"),
            ("Follow NBC News", "share/regex"),
            ("@trevorjd14", "share/regex"),
            // newsletter
            ("Sign up for our daily newsletter and get the best stories in your inbox.", "newsletter/prefix"),
            ("Get Motor Cycle Monthly delivered through your letterbox every month. 12 issues for £11.99.", "newsletter/regex"),
            ("Get the day’s top Northbridge stories in your inbox every morning.", "newsletter/regex"),
            ("The best of our journalism, news and analysis, in your inbox", "newsletter/regex"),
            ("Get Kelbridge news every Friday", "newsletter/regex"),
            ("Join Medium for free to get updates from this writer.", "newsletter/regex"),
            ("Get Jenny Chen’s stories in your inbox", "newsletter/regex"),
            ("Did you make this recipe? Tag me on Instagram!", "share/regex"),
            ("Tag us on Instagram @crumbdiaries", "share/regex"),
            // comments
            ("Add new comment", "comments/exact"),
            ("Loading comments…", "comments/exact"),
            ("Loading comments...", "comments/exact"),
            ("New, 6 comments", "comments/regex"),
            ("12 comments", "comments/regex"),
            ("Your email address will not be published. Required fields are marked *", "comments/regex"),
            // cookie
            ("By continuing to use this website we will assume you are happy to receive cookies as outlined in our cookie policy", "cookie/regex"),
            ("We use cookies and other tracking technologies to improve your browsing experience on our site.", "cookie/regex"),
            ("Accept Policy", "cookie/exact"),
            ("Cookies on our website", "cookie/exact"),
            // footer
            ("© 2019 NBC UNIVERSAL", "footer/prefix"),
            ("Copyright © Mortons Media Group Ltd, Media Centre, Morton Way, Horncastle.", "footer/prefix"),
            ("Vox Media © 2019 Vox Media, LLC. All Rights Reserved", "footer/regex"),
            ("About us | Stats | Advertise with us | Terms of service | Privacy policy", "footer/regex"),
            ("Privacy Policy", "footer/exact"),
            ("Terms & Conditions", "footer/exact"),
            // nav / ui
            ("Skip to main content", "nav/exact"),
            ("Sign in", "nav/exact"),
            ("Search", "nav/exact"),
            ("Home › News › World", "nav/regex"),
            ("Page 2 of 5", "nav/regex"),
            ("Previous Post:2012 Harley-Davidson Fatboy 1800 | Reader review", "nav/prefix"),
            ("Page 1 of 2 Next »", "nav/regex"),
            ("Quote Reply Report", "nav/regex"),
            ("Like · Reply · Share", "nav/regex"),
            ("Log in to reply", "nav/regex"),
            ("Sign in or register to post", "nav/regex"),
            ("Was this page helpful?", "nav/regex"),
            ("Is this article useful", "nav/regex"),
            ("Did you find what you were looking for?", "nav/regex"),
            // meta
            ("Tags: Alibaba", "meta/prefix"),
            ("Filed under:", "meta/regex"),
            ("date 2018-03-01 Page Content 1", "meta/regex"),
            // media
            ("Picture: Scott Merrylees", "media/regex"),
            ("Photo: Gene J. Puskar", "media/regex"),
            ("Main image credit: Getty", "media/regex"),
            ("Image 1 of 5", "media/regex"),
            ("Image 1 of / 1", "media/regex"),
            ("Natalie Naccache | Bloomberg | Getty Images", "media/regex"),
            ("Caption", "media/exact"),
            // other
            ("___", "other/regex"),
            // Content that must not match any rule.
            ("Ian Thomas. Picture: Scott Merrylees", ""),
            ("More than 600,000 Israelis live in settlements in east Jerusalem and the West Bank.", ""),
            ("More “Questions” for your opponent", ""),
            ("Share prices fell 3% in early trading on Monday.", ""),
            ("Shareholders will vote on the deal in March.", ""),
            ("Comments from the minister were not available.", ""),
            ("Search and rescue teams worked through the night.", ""),
            ("Home prices rose for a third month in a row.", ""),
            ("By Chris Pokorny", ""),
            ("Source: Moneycontrol.com", ""),
            ("She baked chocolate chip cookies for the whole street.", ""),
            ("Related party transactions must be disclosed to shareholders.", ""),
            ("Photography was her first love, she said.", ""),
            ("Related work", ""),
            ("Did you know the first loaf was baked in 1905?", ""),
            ("Quote of the day", ""),
            ("Report finds rise in knife crime", ""),
            ("Like a rolling stone", ""),
            ("Log in to your account and choose a new password.", ""),
            ("Was this the right call?", ""),
            ("Page 3 of the report says next year will be harder.", ""),
            ("Phishing emails often land in your inbox looking like a bank.", ""),
            ("Get the butter to room temperature every time you bake.", ""),
            ("He got the news every Friday from his brother in Leeds.", ""),
        ];
        for &(line, want) in cases {
            let got = bp.match_rule(line).map_or("", |id| bp.rule_name(id));
            assert_eq!(got, want, "line {line:?}");
        }
    }

    #[test]
    fn leading_menu_and_trailing_footer_go_header_stays() {
        let bp = default_bp();
        let doc = format!(
            "Skip to content\n\nNews\nSport\nBusiness\nCulture\nTravel\n\nWorld\n\n\
             Library to open two years late after funding row\n\n\
             By Jane Smith\n\nUpdated 14 March 2019, 10:02 GMT\n\nShare\nTweet\n\n\
             {PARA_A}\n\n{PARA_B}\n\nWhat happens next\n\n{PARA_C}\n\n\
             Advertisement\n\nAbout us\nContact\nCareers\nPrivacy Policy\n\n© 2019 Example News Ltd\n"
        );
        let got = kept(&bp, &doc);
        assert_eq!(
            got,
            vec![
                // "World" (a section label above the headline) is a kicker.
                "Library to open two years late after funding row",
                "By Jane Smith",
                "Updated 14 March 2019, 10:02 GMT",
                PARA_A,
                PARA_B,
                "What happens next",
                PARA_C,
            ]
        );
    }

    /// Protections: headings between paragraphs, list items introduced by ':',
    /// bylines, table rows and quoted paragraphs ending in a curly quote.
    #[test]
    fn protections_table() {
        let bp = default_bp();
        let cases: &[(&str, &[&str])] = &[
            (
                // List items introduced by a sentence ending in ':' (blank-separated).
                "Ian Thomas has been recommended as our new chief executive of the borough council.\n\n\
                 Organisations from across the borough also took part in the selection process, including:\n\n\
                 Lewisham Hospital\n\nthe police\n\nGoldsmiths, University of London\n\nPhoenix Community Housing\n\n\
                 Ian’s background\n\n\
                 Ian has had 33 years’ experience in the public, voluntary and private sectors and has worked in housing.",
                &["Lewisham Hospital", "the police", "Goldsmiths, University of London", "Phoenix Community Housing", "Ian’s background"],
            ),
            (
                // A list under a question heading, before the first paragraph.
                "Dare to Play 3 / October pack\n\nWhat’s new in 2.26 (September pack)?\n\n\
                 New tasks for the game!\nMore “Questions” for your opponent\nChallenges coming soon\nBetter Android support\nBugs fixed\n\n\
                 You are a couple who have been together for a long time and want to try something new this weekend.",
                &["What’s new in 2.26 (September pack)?", "Challenges coming soon", "Better Android support", "Bugs fixed"],
            ),
            (
                // Headings between paragraphs; a short closing paragraph.
                &format!("{PARA_A}\n\nSummary\n\n{PARA_B}\n\nGoing forward\n\n{PARA_C}\n\nWe look forward to sharing updates."),
                &["Summary", "Going forward", "We look forward to sharing updates."],
            ),
            (
                // Table rows inside the body.
                &format!("{PARA_A}\n\nDefensive Line\n\nPos Player Plays % Stats\nDL Larry Ogunjobi 63 85%\nDL Myles Garrett 57 77%\nDL Chad Thomas 57 77%\nDL Chris Smith 29 39%\nDL Eli Ankou 13 18%\nDL Joe Smith 12 16%\nDL Sam Jones 10 14%\nDL Ben Ross 9 12%\n\n{PARA_B}"),
                &["Defensive Line", "Pos Player Plays % Stats", "DL Larry Ogunjobi 63 85%", "DL Ben Ross 9 12%"],
            ),
            (
                // Bylines and datelines around a nav block.
                &format!("Home\nNews\nSport\nWeather\n\nNov. 20, 2019, 9:28 AM UTC\nBy Reuters\n\n{PARA_A}\n\n{PARA_B}\n\n(Reporting by Will Dunham; Editing by Tom Brown)\n\n© Reuters"),
                &["Nov. 20, 2019, 9:28 AM UTC", "By Reuters", "(Reporting by Will Dunham; Editing by Tom Brown)"],
            ),
            (
                // Quoted paragraphs ending in a curly quote are sentences (C4's mistake).
                "Council plans new library\n\nHome\nNews\nSport\n\n\
                 “I work on the principle that if it’s not good enough for my family, it’s not good enough for the people we serve.”\n\n\
                 “Some of the good stuff that’s happened in Rotherham has been in spite of ineffective leadership,’\n\n\
                 ‘It was a shock to the system, receiving the letter from the Cabinet Office in the post,’",
                &[
                    "“I work on the principle that if it’s not good enough for my family, it’s not good enough for the people we serve.”",
                    "‘It was a shock to the system, receiving the letter from the Cabinet Office in the post,’",
                ],
            ),
            (
                // A caption that carries a credit is content; the credit-only line is not.
                &format!("How Rotherham worked hard to get back on its own two feet\n\nIan Thomas. Picture: Scott Merrylees\n\n{PARA_A}\n\n{PARA_B}"),
                &["How Rotherham worked hard to get back on its own two feet", "Ian Thomas. Picture: Scott Merrylees"],
            ),
            (
                // A closing short paragraph after an inline ad.
                &format!("{PARA_A}\n\n{PARA_B}\n\nAdvertisement\n\nThe hearing continues on Monday."),
                &["The hearing continues on Monday."],
            ),
            (
                // "Related" as a heading followed by a paragraph does not wipe the rest.
                &format!("{PARA_A}\n\nComments\n\n{PARA_B}\n\n{PARA_C}"),
                &[PARA_B, PARA_C],
            ),
        ];
        for (doc, want) in cases {
            assert_kept(&bp, doc, want);
        }
    }

    #[test]
    fn context_removals_table() {
        let bp = default_bp();
        let cases: &[(&str, &[&str])] = &[
            (
                // A cookie banner takes its block's buttons and links with it.
                "Accessibility Links\nQuick Send CV\nCookies on our website\n\
                 By continuing to use this website we will assume you are happy to receive cookies as outlined in our cookie policy\nAccept Policy\n\n\
                 Rotherham Council hit the national headlines over its failings to deal with child sexual exploitation.",
                &["Accessibility Links", "Quick Send CV", "Accept Policy"],
            ),
            (
                // Everything after a comments header goes, sentences and dates included.
                &format!("{PARA_A}\n\n{PARA_B}\n\nComments\n\nJamie Cassidy on November 15, 2018 at 10:12 am said:\n\n\
                 I am so pumped about this! I feel like this really fills in a gap in the architecture of the ecosystem.\n\nReply"),
                &["Jamie Cassidy on November 15, 2018 at 10:12 am said:", "I am so pumped about this! I feel like this really fills in a gap in the architecture of the ecosystem."],
            ),
            (
                // A teaser list after the body (blank-separated headlines).
                &format!("{PARA_A}\n\n{PARA_B}\n\nFTC: We use income earning auto affiliate links.\n\n\
                 Video: 16-inch MacBook Pro top features\n\nWhat to buy for the person who has the latest tech\n\n\
                 Using HomeKit Secure Video in iOS 13.2\n\nApple Fifth Avenue has creative potential all night"),
                &["Video: 16-inch MacBook Pro top features", "What to buy for the person who has the latest tech", "Apple Fifth Avenue has creative potential all night"],
            ),
            (
                // Short single lines between menus in the navigation part of the page.
                &format!("News\nSport\nBusiness\n\nTV\n\nToday\nNightly News\nMeet the Press\n\nThe headline of this story\n\n{PARA_A}\n\n{PARA_B}"),
                &["TV", "Today", "Nightly News"],
            ),
        ];
        for (doc, want) in cases {
            assert_removed(&bp, doc, want);
        }
    }

    /// A recipe page without blank lines: the ingredient list is a list, not a menu
    /// inside the body, and the comment count at the bottom does not take the
    /// title and headings of the whole (blank-less) block with it.
    #[test]
    fn lists_and_headings_in_blankless_pages_stay() {
        let bp = default_bp();
        let doc = "Home\nRecipes\nBaking\nAbout me\n\n\
             Sticky ginger and oat traybake\n\
             Posted 3 March 2024 by Ellie Marchetti\n\
             This is the traybake my grandmother made every winter, and it has survived three house moves and a lot of tinkering.\n\
             Ingredients\n200 g porridge oats\n100 g butter, cubed\n75 g golden syrup\n2 tsp ground ginger\n½ tsp bicarbonate of soda\n\
             1 large egg, beaten\n50 g stem ginger, finely chopped\nA pinch of salt\nMethod\n\
             Heat the oven to 180 °C and line a 20 cm square tin with baking paper, leaving some overhang.\n\
             Melt the butter and syrup together, then stir in the oats, ginger, salt and the beaten egg until well mixed.\n\
             Notes\n\
             The traybake keeps for a week in a tin, and the flavour gets better after the second day.\n\
             Did you make this recipe?\n14 comments\nLeave a comment\nReply";
        assert_kept(
            &bp,
            doc,
            &[
                "Sticky ginger and oat traybake",
                "Ingredients",
                "200 g porridge oats",
                "½ tsp bicarbonate of soda",
                "1 large egg, beaten",
                "A pinch of salt",
                "Method",
                "Notes",
            ],
        );
        assert_removed(
            &bp,
            doc,
            &["Home", "Did you make this recipe?", "14 comments"],
        );

        // Kit and spec lists under a heading between paragraphs.
        let doc = format!(
            "{PARA_A}\nWhat to pack\n2 litres of water\n1 head torch, fully charged\n4 energy bars\n\
             1 spare fleece\n2 pairs of socks\n1 first-aid kit\n1 whistle\n1 paper map, in a clear bag\n{PARA_B}"
        );
        assert_kept(
            &bp,
            &doc,
            &[
                "What to pack",
                "2 litres of water",
                "1 paper map, in a clear bag",
            ],
        );

        // A menu inside the body is still a menu: names, not items.
        let doc = format!(
            "{PARA_A}\nNews\nSport\nBusiness\nCulture\nTravel\nOpinion\nWeather\nPodcasts\n{PARA_B}"
        );
        assert_removed(&bp, &doc, &["News", "Opinion", "Podcasts"]);
    }

    /// A comment counter under the headline (blank-less page) takes no headline
    /// or dek with it: a block spreads only to short lines.
    #[test]
    fn comment_counter_under_headline() {
        let bp = default_bp();
        let doc = format!(
            "Filed under:\nLibrary to open two years late after a long funding row\nNew, 6 comments\n\
             The council blames rising costs and a shortage of builders for the delay\n\
             By Jane Smith\n{PARA_A}\n{PARA_B}\n{PARA_C}"
        );
        assert_kept(
            &bp,
            &doc,
            &[
                "Library to open two years late after a long funding row",
                "The council blames rising costs and a shortage of builders for the delay",
                "By Jane Smith",
            ],
        );
        assert_removed(&bp, &doc, &["Filed under:", "New, 6 comments"]);

        // The headline right under a cookie banner, above its byline.
        let doc = format!(
            "This site uses cookies to give you the best experience. By using the site you agree to our cookie policy.\n\
             Got it!\nNo thanks\nPear and hazelnut loaf\nPosted 6 October 2024 by Ellie Marchetti\n{PARA_A}\n{PARA_B}"
        );
        assert_kept(&bp, &doc, &["Pear and hazelnut loaf"]);
        assert_removed(&bp, &doc, &["Got it!", "No thanks"]);
    }

    /// A site name or section label inside the navigation bar goes with it; the
    /// headline after the bar stays, and so does a headline that is the only
    /// heading-like line before the body, even right next to a navigation line.
    #[test]
    fn site_name_in_navigation_bar() {
        let bp = default_bp();
        let cases: &[(&str, &[&str], &[&str])] = &[
            (
                "Skip to main content\nSign in\nThe Fenwick Herald\nHome > News > Local\n\n\
                 In pictures: carnival returns after five-year break\n\nBy Sophie Grahame\n\n",
                &["The Fenwick Herald"],
                &["In pictures: carnival returns after five-year break", "By Sophie Grahame"],
            ),
            (
                "Ashdown Cricket Club\nHome | Fixtures | Results | Teams | Contact\nMatch reports\n\n\
                 Ashdown hold their nerve to beat Foxley by two wickets\nSaturday 15 June 2024, Division Two\n\n",
                &["Ashdown Cricket Club", "Match reports"],
                &["Ashdown hold their nerve to beat Foxley by two wickets"],
            ),
            (
                "Brambleford Allotment Society\nForum\nLog in\nRegister\nForum index > Growing > Pests\n\n\
                 Slugs have eaten every single lettuce?!\n\n",
                &["Brambleford Allotment Society", "Forum"],
                &["Slugs have eaten every single lettuce?!"],
            ),
            (
                // The headline is the only heading-like line: it stays.
                "Skip to content\nBrown Butter Loaf\n\nBy Ellie Marchetti\n\n",
                &["Skip to content"],
                &["Brown Butter Loaf", "By Ellie Marchetti"],
            ),
            (
                "Council budget approved\nHome > News > Politics\n\nPublished 4 October 2024\n\n",
                &["Home > News > Politics"],
                &["Council budget approved"],
            ),
            (
                // A share bar is not navigation: the headline above it stays.
                "Library opens late\nShare\nTweet\n\nNew library\n\nBy Jane Smith\n\n",
                &["Share", "Tweet"],
                &["Library opens late", "New library"],
            ),
        ];
        for (head, gone, stay) in cases {
            let doc = format!("{head}{PARA_A}\n\n{PARA_B}\n\n{PARA_C}");
            assert_removed(&bp, &doc, gone);
            assert_kept(&bp, &doc, stay);
        }
    }

    /// A forum thread: the posts and their "Posted by" lines are the page; the
    /// action rows, the sign-in wall and the list of other threads are not.
    #[test]
    fn forum_thread_chrome() {
        let bp = default_bp();
        let doc = "Riverside Anglers\nForum\nLog in\nRegister\nForum index > Coarse fishing > Tackle\n\n\
             Which float for a slow river in winter?\n\nPage 1 of 3 Next »\n\n\
             Posted by chubchaser on 2 January 2024, 8:10 am\n\
             I have been fishing the lower Wey with a stick float but the bait keeps dragging under when the flow picks up.\n\
             Quote Reply Report\n\n\
             Posted by old_pike on 2 January 2024, 9:40 am\n\
             Try a heavier Avon float and shot it well down, it holds the line much better in the winter flow.\n\
             Quote Reply Report\n\n\
             Log in to reply\nSimilar topics\nBest bait for barbel in flood?\nLicence prices for 2024";
        assert_kept(
            &bp,
            doc,
            &[
                "Which float for a slow river in winter?",
                "Posted by chubchaser on 2 January 2024, 8:10 am",
                "Posted by old_pike on 2 January 2024, 9:40 am",
                "Try a heavier Avon float and shot it well down, it holds the line much better in the winter flow.",
            ],
        );
        assert_removed(
            &bp,
            doc,
            &[
                "Riverside Anglers",
                "Forum",
                "Page 1 of 3 Next »",
                "Quote Reply Report",
                "Log in to reply",
                "Similar topics",
                "Best bait for barbel in flood?",
                "Licence prices for 2024",
            ],
        );
    }

    #[test]
    fn item_shape_table() {
        let cases = [
            ("175 g unsalted butter", true),
            ("½ tsp fine salt", true),
            ("2 ripe pears, peeled and diced", true),
            ("Pears, peeled and diced", true),
            ("4 x AA batteries", true),
            ("News", false),
            ("Find a library", false),
            ("Arts & Culture", false),
            ("2024", false),
            ("London, Paris", false),
            ("Bins and recycling", false),
        ];
        for (line, want) in cases {
            assert_eq!(is_item(line), want, "{line:?}");
        }
    }

    struct Freq(HashMap<String, u32>);
    impl RepeatLookup for Freq {
        fn doc_frequency(&self, line: &str) -> u32 {
            self.0.get(&line.to_lowercase()).copied().unwrap_or(0)
        }
    }

    #[test]
    fn corpus_repeats() {
        let bp = default_bp();
        let quote = "“We will keep working with the council to make sure every child gets the support they need,” she said.";
        let freq = Freq(
            [
                ("the daily bugle - local news you can trust".to_string(), 40),
                (quote.to_lowercase(), 40),
                ("by jane smith".to_string(), 40),
                ("once in two documents".to_string(), 2),
            ]
            .into_iter()
            .collect(),
        );
        let doc = format!("The Daily Bugle - Local news you can trust\n\nBy Jane Smith\n\n{PARA_A}\n\n{quote}\n\nOnce in two documents\n\n{PARA_B}");
        let v = verdicts(&bp, &doc, &freq);
        let verdict = |l: &str| {
            v.iter()
                .find(|(x, _)| x == l)
                .map(|(_, r)| r.as_str())
                .expect("line present")
        };
        assert_eq!(
            verdict("The Daily Bugle - Local news you can trust"),
            "repeat/corpus"
        );
        assert_eq!(verdict(quote), "", "content-shaped repeats stay");
        assert_eq!(verdict("By Jane Smith"), "", "protected lines stay");
        assert_eq!(verdict("Once in two documents"), "", "below the threshold");
    }

    #[test]
    fn blank_lines_and_empty_documents() {
        let bp = default_bp();
        let mut out = vec![Some(RuleId(0)); 3];
        bp.classify(&[], &NoRepeats, &mut out);
        assert!(out.is_empty());
        let lines = ["", "Advertisement", "", "   "];
        bp.classify(&lines, &NoRepeats, &mut out);
        assert_eq!(out.len(), 4);
        assert_eq!(out[0], None);
        assert_eq!(out[2], None);
        assert_eq!(out[3], None);
        assert_eq!(out[1].map(|id| bp.rule_name(id)), Some("ads/exact"));
    }

    #[test]
    fn odd_lines_do_not_panic() {
        let bp = default_bp();
        let long = "word ".repeat(5000);
        let lines = [
            "”",
            ":",
            "…",
            "’’’",
            "🙂🙂",
            "(",
            "a",
            "|||",
            "— —",
            "\u{a0}",
            long.as_str(),
            "x:",
            "? ?",
        ];
        let mut out = Vec::new();
        bp.classify(&lines, &NoRepeats, &mut out);
        assert_eq!(out.len(), lines.len());
    }

    #[test]
    fn line_end_table() {
        let cases = [
            ("He said it was over.", End::Sentence),
            ("“We will,” she said. “It is done.”", End::Sentence),
            ("the most difficult job in Britain”", End::Sentence),
            ("‘It was a shock to the system,’", End::Sentence),
            ("Book your tickets today! 🙂", End::Sentence),
            ("Organisations took part, including:", End::Colon),
            ("Titan in false colour (NASA/JPL)", End::Open),
            ("Latest News", End::Open),
            ("", End::Open),
        ];
        for (line, want) in cases {
            assert_eq!(line_end(line), want, "{line:?}");
        }
    }

    #[test]
    fn build_errors_name_the_rule() {
        let group = |name: &str| RuleGroup {
            name: name.into(),
            reason: "test".into(),
            exact: vec![],
            prefix: vec![],
            regex: vec![],
            max_words: None,
            starts_section: false,
            spreads_to_block: false,
            navigation: false,
        };
        let mut cfg = BoilerplateConfig {
            groups: vec![group("ads"), group("share"), group("bad")],
            protect: vec![],
            context: ContextConfig::default(),
            repeat: RepeatConfig::default(),
        };
        cfg.groups[2].regex = vec!["ok".into(), "\\b(unclosed".into()];
        let err = Boilerplate::build(&cfg).unwrap_err().to_string();
        assert!(err.starts_with("groups[2].regex[1]: "), "{err}");
        // The error quotes the pattern as written, not its ASCII-boundary rewrite.
        assert!(
            err.contains("\\b(unclosed") && !err.contains("(?-u"),
            "{err}"
        );

        cfg.groups[2].regex.clear();
        cfg.groups[1].prefix = vec!["Share on".into(), " … ".into()];
        let err = Boilerplate::build(&cfg).unwrap_err().to_string();
        assert!(err.starts_with("groups[1].prefix[1]: "), "{err}");

        cfg.groups[1].prefix.clear();
        cfg.groups[2].name = "ads".into();
        let err = Boilerplate::build(&cfg).unwrap_err().to_string();
        assert!(err.starts_with("groups[2].name: duplicate"), "{err}");

        cfg.groups[2].name = "bad".into();
        cfg.protect = vec!["ok".into(), "[".into()];
        let err = Boilerplate::build(&cfg).unwrap_err().to_string();
        assert!(err.starts_with("protect[1]: "), "{err}");
    }

    #[test]
    fn config_rejects_unknown_fields_and_zero_thresholds() {
        let bad = toml::from_str::<BoilerplateConfig>("[context]\nbody_min_wrods = 3\n");
        assert!(bad.is_err());
        let zero = toml::from_str::<BoilerplateConfig>("[repeat]\nmin_docs = 0\n");
        assert!(zero.is_err());
        let minimal: BoilerplateConfig = toml::from_str("").expect("all fields have defaults");
        assert!(Boilerplate::build(&minimal).is_ok());
    }

    #[test]
    fn rule_names_are_stable() {
        let bp = default_bp();
        let names: Vec<&str> = bp.rules().map(|(_, n)| n).collect();
        assert_eq!(&names[..3], &["ads/exact", "ads/prefix", "ads/regex"]);
        for ctx in CONTEXT_RULES {
            assert!(names.contains(&ctx), "{ctx}");
        }
        assert_eq!(bp.rule_count(), names.len());
        assert_eq!(bp.rule_name(RuleId(u32::MAX)), "unknown");
    }

    #[test]
    fn send_and_sync() {
        fn check<T: Send + Sync>() {}
        check::<Boilerplate>();
    }

    /// Linear time: a 100k-line page (menus, paragraphs, lists) classifies quickly.
    #[test]
    fn large_document_is_linear() {
        let bp = default_bp();
        let mut text = String::new();
        for i in 0..10_000 {
            text.push_str("News\nSport\nShare\n\n");
            text.push_str(PARA_A);
            text.push_str("\n\nThe list:\n");
            text.push_str(&format!("Item {i}\n"));
            text.push_str("Comments\n");
        }
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines.len() >= 90_000);
        let mut out = Vec::new();
        let start = std::time::Instant::now();
        bp.classify(&lines, &NoRepeats, &mut out);
        assert_eq!(out.len(), lines.len());
        // Generous bound for debug builds on a loaded machine; quadratic would take minutes.
        assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
    }
}

// ---------------------------------------------------------------------------
// The pipeline stage: the classifier above, fed from a `Document` and the
// corpus profile.

use std::sync::Arc;

use crate::corpus::{source_seed, CorpusProfile};
use crate::document::{Document, Reason};
use crate::stage::Stage;
use crate::stats::StageStats;

impl BoilerplateConfig {
    /// True when the corpus-repeat rule is on, so pass 1 must run.
    pub fn needs_corpus_profile(&self) -> bool {
        self.repeat.enabled
    }

    /// Builds the stage. Errors are `(key, message)` with the key relative
    /// to the stage table, e.g. `groups[2].regex[0]`.
    pub fn build_stage(
        &self,
        profile: &Arc<CorpusProfile>,
    ) -> Result<BoilerplateStage, (String, String)> {
        let inner = Boilerplate::build(self).map_err(|e| {
            let text = e.to_string();
            match text.split_once(": ") {
                Some((key, msg)) => (key.to_string(), msg.to_string()),
                None => (String::new(), text),
            }
        })?;
        let names = inner.rules().map(|(_, n)| Arc::from(n)).collect();
        Ok(BoilerplateStage {
            inner,
            names,
            profile: Arc::clone(profile),
        })
    }
}

/// The built `boilerplate` stage.
#[derive(Debug)]
pub struct BoilerplateStage {
    inner: Boilerplate,
    /// Rule names by rule index, shared by every removal's reason.
    names: Vec<Arc<str>>,
    profile: Arc<CorpusProfile>,
}

impl BoilerplateStage {
    /// Swaps in the corpus profile (the stage can be built before pass 1
    /// has finished).
    pub fn set_profile(&mut self, profile: Arc<CorpusProfile>) {
        self.profile = profile;
    }
}

/// The corpus profile as the classifier asks it, for one document's source.
struct ProfileLookup<'a> {
    profile: &'a CorpusProfile,
    seed: u64,
}

impl RepeatLookup for ProfileLookup<'_> {
    fn doc_frequency(&self, line: &str) -> u32 {
        self.profile.lookup(line, self.seed).map_or(0, |e| e.docs)
    }
}

impl Stage for BoilerplateStage {
    fn name(&self) -> &'static str {
        "boilerplate"
    }

    fn apply(&self, doc: &mut Document, stats: &mut StageStats) {
        // The classifier reads blocks (lines between blank lines). Blank
        // lines were removed by `normalize`, but their place is still
        // known: a gap in the input line numbers. Re-insert one "" there.
        let mut view: Vec<&str> = Vec::with_capacity(doc.lines().len() * 2);
        let mut index: Vec<usize> = Vec::with_capacity(doc.lines().len());
        let mut prev_origin = 0;
        for line in doc.lines() {
            if line.origin > prev_origin + 1 && prev_origin > 0 {
                view.push("");
            }
            prev_origin = line.origin;
            index.push(view.len());
            view.push(&line.text);
        }
        let lookup = ProfileLookup {
            profile: &self.profile,
            seed: source_seed(doc.source.as_deref()),
        };
        let mut verdicts = Vec::new();
        self.inner.classify(&view, &lookup, &mut verdicts);
        let reasons: Vec<Option<Reason>> = index
            .iter()
            .map(|&v| verdicts[v].map(|id| Reason::Rule(Arc::clone(&self.names[id.index()]))))
            .collect();
        if reasons.iter().any(Option::is_some) {
            stats.lines_removed += doc.remove_lines(self.name(), |i, _| reasons[i].clone()) as u64;
        }
    }
}

/// Literals a rule regex cannot match without: the regex prefilter.
///
/// Every line of up to the largest `max_words` used to go through a
/// [`RegexSet`] per `max_words` bound. The sets' own prefilters are the
/// union of dozens of case-insensitive prefixes, which fire on almost any
/// English line, so each set ran its lazy DFA over most of the text (most
/// of the stage's time, measured). Here each regex gets a set of literals
/// one of which every match contains ("cookie"; one of "about", "privacy",
/// …), one aho-corasick pass over a line finds which are present, and only
/// the regexes whose set has a hit are run.
///
/// Extraction reads the pattern with a small, deliberately partial parser:
/// anything it does not understand (inline flags, unknown escapes, nested
/// classes) gives no requirement, so the regex is always run. Literals are
/// compared ASCII case-insensitively; the rules are case-insensitive, and
/// the two non-ASCII characters whose case folding reaches an ASCII letter
/// (KELVIN SIGN for `k`, LONG S for `s`) are [`FOLD_HAZARDS`]: a line with
/// one of them runs every regex.
mod required {
    /// Characters that `(?i)` matches against an ASCII letter.
    pub(super) const FOLD_HAZARDS: [&str; 2] = ["\u{212A}", "\u{17F}"];

    /// Strings of which a match contains at least one (lower case).
    pub(super) type Clause = Vec<String>;

    enum Node {
        Lit(char),
        /// A zero-width assertion: `^`, `$`, `\b`.
        Assert,
        /// Anything else that consumes text: a class, `.`, `\d`.
        Other,
        /// A group's alternatives.
        Group(Vec<Vec<Item>>),
    }

    struct Item {
        node: Node,
        /// Fewest repetitions (1 without a quantifier).
        min: u32,
        /// No quantifier: the item occurs exactly once, so it can extend a literal.
        once: bool,
    }

    /// The most selective clause every match of `pattern` satisfies; none
    /// when unknown. One is enough: scanning for every clause's literals
    /// (short words like "to" and "day" included) cost more than the
    /// regexes it saved (measured).
    pub(super) fn clauses(pattern: &str) -> Vec<Clause> {
        let chars: Vec<char> = pattern.chars().collect();
        let mut p = Parser {
            chars: &chars,
            i: 0,
        };
        let Some(alts) = p.alternatives() else {
            return Vec::new();
        };
        if p.i != chars.len() {
            return Vec::new();
        }
        let mut out = Vec::new();
        match alts.as_slice() {
            [seq] => seq_clauses(seq, &mut out),
            _ => out.extend(group_clause(&alts)),
        }
        // Short words ("s" of "cookies?", "to", "in") filter little and
        // make the scan stop at almost every word.
        out.retain(|c| c.iter().all(|s| score(s) >= 3));
        out.into_iter()
            .max_by_key(selectivity)
            .into_iter()
            .collect()
    }

    /// Every clause a sequence requires: its runs of plain literal characters
    /// and the clause of each group that must occur.
    fn seq_clauses(seq: &[Item], out: &mut Vec<Clause>) {
        let mut run = String::new();
        for item in seq {
            match &item.node {
                Node::Lit(c) if item.once && is_plain(*c) => {
                    run.push(c.to_ascii_lowercase());
                    continue;
                }
                Node::Lit(c) if item.min >= 1 && is_plain(*c) => {
                    out.push(vec![c.to_ascii_lowercase().to_string()]);
                }
                Node::Group(alts) if item.min >= 1 => match alts.as_slice() {
                    [seq] => seq_clauses(seq, out),
                    _ => out.extend(group_clause(alts)),
                },
                _ => {}
            }
            if !run.is_empty() {
                out.push(vec![std::mem::take(&mut run)]);
            }
        }
        if !run.is_empty() {
            out.push(vec![run]);
        }
    }

    /// One clause for a group: the best clause of each alternative, joined;
    /// none when some alternative requires nothing.
    fn group_clause(alts: &[Vec<Item>]) -> Option<Clause> {
        let mut joined = Vec::new();
        for seq in alts {
            let mut cl = Vec::new();
            seq_clauses(seq, &mut cl);
            let best = cl.into_iter().max_by_key(selectivity)?;
            joined.extend(best);
        }
        joined.sort();
        joined.dedup();
        Some(joined)
    }

    /// How selective a clause is: by its weakest literal, then fewer literals.
    fn selectivity(c: &Clause) -> (usize, std::cmp::Reverse<usize>) {
        let weakest = c.iter().map(|s| score(s)).min().unwrap_or(0);
        (weakest, std::cmp::Reverse(c.len()))
    }

    /// How selective a literal is: letters are common, punctuation is rare.
    fn score(s: &str) -> usize {
        s.chars()
            .map(|c| {
                if c.is_alphanumeric() || c == ' ' {
                    1
                } else {
                    3
                }
            })
            .sum()
    }

    /// A character that `(?i)` matches only as itself or its ASCII case
    /// pair: ASCII, or a non-ASCII symbol without case.
    fn is_plain(c: char) -> bool {
        c.is_ascii()
            || !(c.is_alphabetic()
                || c.is_lowercase()
                || c.is_uppercase()
                || c.to_lowercase().ne([c])
                || c.to_uppercase().ne([c]))
    }

    struct Parser<'a> {
        chars: &'a [char],
        i: usize,
    }

    impl Parser<'_> {
        fn peek(&self) -> Option<char> {
            self.chars.get(self.i).copied()
        }

        fn next(&mut self) -> Option<char> {
            let c = self.peek()?;
            self.i += 1;
            Some(c)
        }

        /// `a|b|…` up to a `)` or the end (neither consumed).
        fn alternatives(&mut self) -> Option<Vec<Vec<Item>>> {
            let mut alts = vec![self.sequence()?];
            while self.peek() == Some('|') {
                self.i += 1;
                alts.push(self.sequence()?);
            }
            Some(alts)
        }

        fn sequence(&mut self) -> Option<Vec<Item>> {
            let mut seq = Vec::new();
            while let Some(c) = self.next() {
                let node = match c {
                    '|' | ')' => {
                        self.i -= 1;
                        break;
                    }
                    '(' => {
                        if self.peek() == Some('?') {
                            // Only `(?:…)`: flags such as `x` change what a literal is.
                            self.i += 1;
                            if self.next()? != ':' {
                                return None;
                            }
                        }
                        let alts = self.alternatives()?;
                        if self.next()? != ')' {
                            return None;
                        }
                        Node::Group(alts)
                    }
                    '[' => {
                        self.skip_class()?;
                        Node::Other
                    }
                    '\\' => match self.next()? {
                        // `\<` and `\>` are word boundaries, not literals.
                        'b' | 'B' | 'A' | 'z' | '<' | '>' => Node::Assert,
                        'd' | 'D' | 's' | 'S' | 'w' | 'W' => Node::Other,
                        e if e.is_ascii_punctuation() => Node::Lit(e),
                        _ => return None,
                    },
                    '.' => Node::Other,
                    '^' | '$' => Node::Assert,
                    '*' | '+' | '?' | '{' => return None,
                    c => Node::Lit(c),
                };
                let (min, once) = self.quantifier()?;
                seq.push(Item { node, min, once });
            }
            Some(seq)
        }

        /// The quantifier after an item, if any: (fewest repetitions, none given).
        fn quantifier(&mut self) -> Option<(u32, bool)> {
            let min = match self.peek() {
                Some('?' | '*') => 0,
                Some('+') => 1,
                Some('{') => {
                    self.i += 1;
                    let mut min = 0u32;
                    while let Some(d) = self.peek().and_then(|c| c.to_digit(10)) {
                        min = min.checked_mul(10)?.checked_add(d)?;
                        self.i += 1;
                    }
                    while self.peek().is_some_and(|c| c == ',' || c.is_ascii_digit()) {
                        self.i += 1;
                    }
                    if self.peek() != Some('}') {
                        return None;
                    }
                    min
                }
                _ => return Some((1, true)),
            };
            self.i += 1;
            // A lazy `?`; anything else stacked on a quantifier is not understood.
            if self.peek() == Some('?') {
                self.i += 1;
            }
            if matches!(self.peek(), Some('?' | '*' | '+' | '{')) {
                return None;
            }
            Some((min, false))
        }

        /// Skips a bracket class after its `[`; a nested class gives up.
        fn skip_class(&mut self) -> Option<()> {
            if self.peek() == Some('^') {
                self.i += 1;
            }
            if self.peek() == Some(']') {
                self.i += 1;
            }
            loop {
                match self.next()? {
                    ']' => return Some(()),
                    '[' => return None,
                    // `\]` is no end, and `\p{…}` holds no `]`.
                    '\\' => {
                        let escaped = self.next()?;
                        let named = matches!(escaped, 'p' | 'P') && self.peek() == Some('{');
                        while named && self.next()? != '}' {}
                    }
                    _ => {}
                }
            }
        }
    }

    #[cfg(test)]
    mod tests {
        use super::clauses;

        fn cl(p: &str) -> Vec<Vec<&'static str>> {
            clauses(p)
                .into_iter()
                .map(|c| {
                    c.into_iter()
                        .map(|s| &*Box::leak(s.into_boxed_str()))
                        .collect()
                })
                .collect()
        }

        #[test]
        fn the_most_selective_required_literals() {
            assert_eq!(cl(r"\bcookies?\b.*\b(website|site)\b"), [vec!["cookie"]]);
            assert_eq!(cl(r"^@\w{2,30}$"), [vec!["@"]]);
            assert_eq!(cl(r"a(bc|d)?ef"), Vec::<Vec<&str>>::new());
            assert_eq!(cl(r"xa(bcd|e)?efg"), [vec!["efg"]]);
            assert_eq!(cl(r"(abc|cde)|fgh"), [vec!["abc", "cde", "fgh"]]);
            assert_eq!(cl(r"(abc|cd)x+"), Vec::<Vec<&str>>::new());
            assert_eq!(cl(r"(?:Page)\s+\d+ of"), [vec!["page"]]);
            assert_eq!(cl(r"e-?mails?"), [vec!["mail"]]);
            assert_eq!(cl(r"[\]|]x{2}\|"), [vec!["|"]]);
            assert_eq!(
                cl(r"\b(privacy|terms)\b[^|]{0,40}\|[^|]*\|"),
                [vec!["privacy", "terms"]]
            );
        }

        #[test]
        fn what_the_parser_does_not_know_requires_nothing() {
            for p in [
                r"(?x) cookie",
                r"(?i)cookie",
                r"\x41bc",
                r"[[:alpha:]]abc",
                r"abc**",
                r"abc)",
                r"(abc",
                r"[abc",
                "",
            ] {
                assert!(clauses(p).is_empty(), "{p}");
            }
            // Letters with case outside ASCII never enter a literal.
            assert_eq!(cl("caf\u{e9}s"), [vec!["caf"]]);
            // `\<` is a word boundary, not a literal `<`.
            assert_eq!(cl(r"\<abc\>"), [vec!["abc"]]);
            // Symbols without case do.
            assert_eq!(cl("\u{bb}\u{2192}."), [vec!["\u{bb}\u{2192}"]]);
        }

        #[test]
        fn only_the_fold_hazards_reach_ascii_letters() {
            for letter in ('a'..='z').chain('A'..='Z') {
                let re = regex::Regex::new(&format!("(?i)^{letter}$")).expect("valid");
                let mut buf = [0u8; 4];
                for c in (0x80..=0x10FFFFu32).filter_map(char::from_u32) {
                    if re.is_match(c.encode_utf8(&mut buf)) {
                        assert!(super::FOLD_HAZARDS.contains(&&*c.to_string()), "{c:?}");
                    }
                }
            }
        }
    }
}
