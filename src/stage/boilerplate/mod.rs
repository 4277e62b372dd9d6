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

mod context;
pub mod model;
mod required;
mod rules;
mod shape;
pub mod train;

use std::collections::HashSet;
use std::fmt;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};

use crate::par::{join, par_map};
use aho_corasick::dfa::DFA;
use aho_corasick::{MatchKind, StartKind};
use regex::RegexSet;
use serde::{Deserialize, Serialize};

use context::{Context, LineInfo};
use rules::{
    compile_protect, compile_rule, fold_key, key_prefixes, line_key, match_key, Hits,
    RegexPrefilter, RegexRule, Scratch, LEAD_JUNK,
};
use shape::{
    count_words, is_closing_quote, is_copyright, is_item, line_end, shape, stamp_skeleton, End,
};

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
    /// The learned line scorer that weighs the rules' and heuristics'
    /// verdicts with the line's features.
    #[serde(default)]
    pub model: ModelConfig,
}

/// The learned line scorer (see `textclean train-boilerplate`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ModelConfig {
    /// Turns the scorer on: the rules and heuristics still run, and their
    /// verdicts become features; the model's decision is final.
    #[serde(default)]
    pub enabled: bool,
    /// A model file written by `train-boilerplate` (relative to the config
    /// file's directory); unset = the model built into the binary
    /// (`config/boilerplate_model.json`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
}

/// A named group of rules that share a reason, e.g. "ads" or "cookie".
///
/// All rules are ASCII case-insensitive. `exact` and `prefix` literals are compared
/// with a *match key* of the line: curly quotes folded to ASCII, "…" to "...",
/// leading bullets and trailing punctuation (`.:…!?»›>|-–—*/`) and spaces removed.
/// So `exact = ["Loading comments"]` matches "Loading comments…" and
/// "LOADING COMMENTS...". Regexes see the line as the stages before this one
/// left it (in the default order, with quotes already normalised; a regex may
/// turn case sensitivity back on with `(?-i)`).
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
/// way it is written in the config (`groups[2].regex[0]`): see
/// [`BoilerplateError::key`].
#[derive(Debug)]
pub enum BoilerplateError {
    /// A group has an empty, duplicate or malformed name.
    GroupName {
        /// Index of the group.
        group: usize,
        /// What is wrong.
        message: String,
    },
    /// A literal rule is empty once reduced to its match key.
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
    Regex {
        /// Index of the group.
        group: usize,
        /// Index of the regex inside the group.
        index: usize,
        /// The regex crate's error.
        source: regex::Error,
    },
    /// A `protect` regex does not compile.
    Protect {
        /// Index of the regex.
        index: usize,
        /// The regex crate's error.
        source: regex::Error,
    },
    /// The regexes compile one by one but not as one set (size limits).
    RegexSet {
        /// `groups` or `protect`.
        what: &'static str,
        /// The regex crate's error.
        source: regex::Error,
    },
    /// The literal automaton could not be built.
    Literals(aho_corasick::BuildError),
    /// The model file cannot be read or parsed.
    Model(String),
}

impl BoilerplateError {
    /// The offending entry, relative to the stage's table.
    pub fn key(&self) -> String {
        match self {
            BoilerplateError::GroupName { group, .. } => format!("groups[{group}].name"),
            BoilerplateError::EmptyLiteral {
                group, kind, index, ..
            } => format!("groups[{group}].{kind}[{index}]"),
            BoilerplateError::Regex { group, index, .. } => {
                format!("groups[{group}].regex[{index}]")
            }
            BoilerplateError::Protect { index, .. } => format!("protect[{index}]"),
            BoilerplateError::RegexSet { what, .. } => (*what).to_string(),
            BoilerplateError::Literals(_) => "groups".into(),
            BoilerplateError::Model(_) => "model.path".into(),
        }
    }

    /// What is wrong with it.
    pub fn reason(&self) -> String {
        match self {
            BoilerplateError::GroupName { message, .. } | BoilerplateError::Model(message) => {
                message.clone()
            }
            BoilerplateError::EmptyLiteral { literal, .. } => {
                format!("{literal:?} is empty after trimming punctuation and spaces")
            }
            BoilerplateError::Regex { source, .. } | BoilerplateError::Protect { source, .. } => {
                source.to_string()
            }
            BoilerplateError::RegexSet { source, .. } => {
                format!("the regexes do not fit in one set: {source}")
            }
            BoilerplateError::Literals(e) => format!("literal rules: {e}"),
        }
    }
}

impl fmt::Display for BoilerplateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key(), self.reason())
    }
}

impl std::error::Error for BoilerplateError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BoilerplateError::Regex { source, .. }
            | BoilerplateError::Protect { source, .. }
            | BoilerplateError::RegexSet { source, .. } => Some(source),
            BoilerplateError::Literals(e) => Some(e),
            BoilerplateError::GroupName { .. }
            | BoilerplateError::EmptyLiteral { .. }
            | BoilerplateError::Model(_) => None,
        }
    }
}

impl From<aho_corasick::BuildError> for BoilerplateError {
    fn from(e: aho_corasick::BuildError) -> BoilerplateError {
        BoilerplateError::Literals(e)
    }
}

impl From<BoilerplateError> for BuildError {
    fn from(e: BoilerplateError) -> BuildError {
        BuildError::new(e.key(), e.reason())
    }
}

/// Most words of a line that is judged as a bar of labels
/// ([`Boilerplate::match_segments`]): longer ones are prose.
const BAR_MAX_WORDS: usize = 40;

/// Names of the built-in heuristics, in id order after the groups' ids.
const CONTEXT_RULES: [&str; 11] = [
    "context/kicker",
    "context/leading_menu",
    "context/menu_run",
    "context/inside_menu",
    "context/teaser_list",
    "context/trailing",
    "context/section",
    "context/neighbour",
    "context/comments",
    "repeat/corpus",
    "model/score",
];
const CTX_KICKER: usize = 0;
const CTX_LEADING: usize = 1;
const CTX_MENU: usize = 2;
const CTX_INSIDE_MENU: usize = 3;
const CTX_TEASER: usize = 4;
const CTX_TRAILING: usize = 5;
const CTX_SECTION: usize = 6;
const CTX_NEIGHBOUR: usize = 7;
const CTX_COMMENTS: usize = 8;
const CTX_REPEAT: usize = 9;
const CTX_MODEL: usize = 10;

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
    /// Family index of every rule id, for the scorer's rule features.
    families: Vec<usize>,
    n_families: usize,
    /// The learned scorer, bound to this classifier's feature layout.
    model: Option<model::BoundModel>,
}

impl Boilerplate {
    /// Compiles the config; every error names the group and rule index
    /// (e.g. `groups[2].regex[0]: …`).
    pub fn build(cfg: &BoilerplateConfig) -> Result<Boilerplate, BoilerplateError> {
        Boilerplate::build_in(cfg, Path::new("."))
    }

    /// Like [`Boilerplate::build`], resolving a relative `model.path`
    /// against `base_dir` (the config file's directory).
    pub fn build_in(
        cfg: &BoilerplateConfig,
        base_dir: &Path,
    ) -> Result<Boilerplate, BoilerplateError> {
        let mut bp = Boilerplate::build_rules(cfg)?;
        if cfg.model.enabled {
            let file = match &cfg.model.path {
                None => model::ModelFile::from_json(model::BUILTIN_MODEL),
                Some(p) => model::ModelFile::load(&base_dir.join(p)),
            }
            .map_err(BoilerplateError::Model)?;
            bp.model = Some(model::BoundModel::bind(file, &model::feature_names(&bp)));
        }
        Ok(bp)
    }

    fn build_rules(cfg: &BoilerplateConfig) -> Result<Boilerplate, BoilerplateError> {
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
        let ((compiled, protect), (literals, prefilter)) = join(
            || {
                join(
                    || par_map(&patterns, |&(_, _, pattern)| compile_rule(pattern)),
                    || compile_protect(&cfg.protect),
                )
            },
            || {
                join(
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

        let mut bp = Boilerplate {
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
            families: Vec::new(),
            n_families: 0,
            model: None,
        };
        let (families, fams) = model::rule_families(&bp);
        bp.families = families;
        bp.n_families = fams.len();
        Ok(bp)
    }

    /// Names of the scorer's features, in the order of a feature row.
    pub fn feature_names(&self) -> Vec<String> {
        model::feature_names(self)
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
            let (key, exact_len) = line_key(head, &mut scratch.key);
            if exact_len > 0 {
                // A match must start at 0, so it ends within the longest key.
                let mut end = key.len().min(self.max_key_len + 1);
                while !key.is_char_boundary(end) {
                    end -= 1;
                }
                // A prefix that spans the whole line ("Related stories:"
                // alone) is a header, and a group that lists the header
                // itself (exactly) knows it better than one whose prefix
                // is meant for "Related stories: <headline>".
                let mut bare: Option<usize> = None;
                key_prefixes(ac, &key.as_bytes()[..end], |pattern, m_end| {
                    let info = self.literal_info[pattern];
                    if info.exact {
                        if !truncated && m_end == exact_len {
                            consider(info.group, KIND_EXACT);
                        }
                    } else if words <= self.groups[info.group].max_words
                        && (!info.word_end
                            || key[m_end..]
                                .chars()
                                .next()
                                .is_none_or(|c| !c.is_alphanumeric()))
                    {
                        if !truncated && m_end >= exact_len {
                            bare = Some(bare.map_or(info.group, |g| g.min(info.group)));
                        } else {
                            consider(info.group, KIND_PREFIX);
                        }
                    }
                });
                if best.is_none() {
                    best = bare.map(|group| (group, KIND_PREFIX));
                }
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

    /// A bar of links printed as one line ("Email | Print |", "Share
    /// this: Digg | del.icio.us | reddit | Facebook | What's this?"): the
    /// rule of its first part that a rule matches, when at least two of
    /// its short parts and a third of them all match one. Rules anchor at
    /// the start of a line, so without this a bar of known labels was
    /// known only by its first one. A table row or a headline with its
    /// site ("Title | Site") has no such parts; a byline bar has a
    /// protected one.
    fn match_segments(&self, line: &str, scratch: &mut Scratch) -> Option<RuleId> {
        /// Most words of one part of a bar.
        const PART_MAX_WORDS: usize = 6;
        const SEPARATORS: [char; 3] = ['|', '\u{2022}', '\u{b7}'];
        // Every short line comes through here: SIMD scans for the
        // separators, before any char is decoded (0xe2 also leads curly
        // quotes and dashes, so it cannot be the test).
        let bytes = line.as_bytes();
        if memchr::memchr(b'|', bytes).is_none()
            && memchr::memmem::find(bytes, "\u{2022}".as_bytes()).is_none()
            && memchr::memmem::find(bytes, "\u{b7}".as_bytes()).is_none()
        {
            return None;
        }
        let (mut parts, mut hits, mut first) = (0, 0, None);
        for part in line.split(SEPARATORS) {
            let part = part.trim();
            if part.is_empty() {
                continue;
            }
            let words = count_words(part);
            if words > PART_MAX_WORDS {
                return None;
            }
            // A byline or dateline part makes it the article's byline
            // bar ("by Ann Lee | Comment | August 9, 2012").
            if !self.protect.is_empty() && self.protect.is_match(part) {
                return None;
            }
            parts += 1;
            if let Some(rule) = self.match_rule_with(part, words, scratch) {
                hits += 1;
                first.get_or_insert(rule);
            }
        }
        first.filter(|_| parts >= 2 && hits >= 2 && 3 * hits >= parts)
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
        let Some(model) = &self.model else {
            self.classify_rules(lines, repeats, out);
            return;
        };
        let (nb, rows, width) = self.features(lines, repeats, out);
        let (_, remove) = model.decide(&rows, width);
        for (&i, &r) in nb.iter().zip(&remove) {
            if !r {
                out[i] = None;
            } else if out[i].is_none() {
                out[i] = Some(self.context_id(CTX_MODEL));
            }
        }
    }

    /// Rules, repeats and context heuristics only (no learned scorer);
    /// returns the line infos.
    fn classify_rules(
        &self,
        lines: &[&str],
        repeats: &dyn RepeatLookup,
        out: &mut Vec<Option<RuleId>>,
    ) -> Vec<LineInfo> {
        out.clear();
        out.resize(lines.len(), None);
        let info = self.line_infos(lines, repeats, out);
        if self.context.enabled {
            Context {
                bp: self,
                cx: &self.context,
                lines,
                info,
                out,
                list_end: Vec::new(),
            }
            .run()
        } else {
            info
        }
    }

    /// The scorer's view of a document: runs the rules and heuristics
    /// (their verdicts go to `out`) and returns the non-blank line indices
    /// and their feature rows (row-major, `width` columns).
    pub(crate) fn features(
        &self,
        lines: &[&str],
        repeats: &dyn RepeatLookup,
        out: &mut Vec<Option<RuleId>>,
    ) -> (Vec<usize>, Vec<f32>, usize) {
        let info = self.classify_rules(lines, repeats, out);
        model::line_features(
            self,
            &self.families,
            self.n_families,
            lines,
            &info,
            out,
            repeats,
        )
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
        // Body paragraphs seen so far, that no rule removed.
        let mut copies: HashSet<&str> = HashSet::new();
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
            let mut rule = self.match_rule_with(line, words, &mut scratch);
            if rule.is_none() && words <= BAR_MAX_WORDS {
                rule = self.match_segments(line, &mut scratch);
            }
            let protected = words <= cx.protect_max_words.get()
                && !self.protect.is_empty()
                && self.protect.is_match(line);
            let mut sentence = end == End::Sentence && words >= cx.body_min_words.get()
                || words >= cx.long_line_words.get();
            // A body paragraph printed again further down (a teaser that
            // repeats a line of the article, a caption under a gallery) is
            // a copy the captions stage drops, so it is no evidence of
            // where the body runs: cleaned again, the text has no copy.
            if sentence && rule.is_none() && !copies.insert(line) {
                sentence = false;
            }
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
                copyright: rule.is_some() && is_copyright(line),
                divider: !line.chars().any(char::is_alphanumeric),
                stamp: if numbers >= 2 && words <= cx.protect_max_words.get() && !sentence {
                    stamp_skeleton(line)
                } else {
                    0
                },
            });
        }
        infos
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rule#{}", self.0)
    }
}

// ---------------------------------------------------------------------------
// The pipeline stage: the classifier above, fed from a `Document` and the
// corpus profile.

use std::sync::Arc;

use crate::corpus::{source_seed, CorpusProfile};
use crate::document::{Document, Reason};
use crate::stage::{BuildError, Stage};
use crate::stats::StageStats;

impl BoilerplateConfig {
    /// True when the corpus-repeat rule is on, so pass 1 must run.
    pub fn needs_corpus_profile(&self) -> bool {
        self.repeat.enabled
    }

    /// Builds the stage.
    ///
    /// # Errors
    /// A rule, protection or model that does not build, with its key
    /// relative to the stage table, e.g. `groups[2].regex[0]`.
    pub fn build_stage(
        &self,
        profile: &Arc<CorpusProfile>,
        base_dir: &Path,
    ) -> Result<BoilerplateStage, BuildError> {
        let inner = Boilerplate::build_in(self, base_dir)?;
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

/// The classifier reads blocks (lines between blank lines). Blank lines were
/// removed by `normalize`, but their place is still known: a gap in the
/// input line numbers. Re-inserts one "" there; returns the view and, for
/// each line of the document, its index in the view.
fn classifier_view(doc: &Document) -> (Vec<&str>, Vec<usize>) {
    let mut view: Vec<&str> = Vec::with_capacity(doc.lines().len() * 2);
    let mut index: Vec<usize> = Vec::with_capacity(doc.lines().len());
    let mut prev_origin = 0;
    for line in doc.lines() {
        if line.origin > prev_origin + 1 && prev_origin > 0 {
            view.push("");
        }
        // A joined paragraph ends at its last input line.
        prev_origin = line.origin + line.span - 1;
        index.push(view.len());
        view.push(&line.text);
    }
    (view, index)
}

impl BoilerplateStage {
    /// The scorer's feature rows for `doc` as this stage would see it (the
    /// stages before it applied), with each row's input line number
    /// (1-based) and the rules' and heuristics' verdict; `width` columns.
    pub(crate) fn doc_features(&self, doc: &Document) -> DocFeatures {
        let (view, index) = classifier_view(doc);
        let lookup = ProfileLookup {
            profile: &self.profile,
            seed: source_seed(doc.source.as_deref()),
        };
        let mut verdicts = Vec::new();
        let (nb, rows, width) = self.inner.features(&view, &lookup, &mut verdicts);
        // View index -> input line number.
        let mut origin_of = vec![0u32; view.len()];
        for (line, &v) in doc.lines().iter().zip(&index) {
            origin_of[v] = line.origin;
        }
        DocFeatures {
            origins: nb.iter().map(|&v| origin_of[v]).collect(),
            rule_removed: nb.iter().map(|&v| verdicts[v].is_some()).collect(),
            rows,
            width,
        }
    }

    /// The classifier.
    pub(crate) fn classifier(&self) -> &Boilerplate {
        &self.inner
    }
}

/// One document's feature rows (see [`BoilerplateStage::doc_features`]).
pub(crate) struct DocFeatures {
    /// Input line number (1-based) of each row.
    pub(crate) origins: Vec<u32>,
    /// The rules' and heuristics' verdict of each row.
    pub(crate) rule_removed: Vec<bool>,
    /// Row-major feature matrix.
    pub(crate) rows: Vec<f32>,
    /// Columns per row.
    pub(crate) width: usize,
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
        let (view, index) = classifier_view(doc);
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

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
            ("Filed under:", "meta/prefix"),
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

    /// Rules anchor at a line's start; a bar of labels printed as one line
    /// is judged by its parts. A title with its site, a table row and a
    /// byline bar are not bars of known labels.
    #[test]
    fn a_bar_of_labels_is_known_by_its_parts() {
        let bp = default_bp();
        for (line, bar) in [
            ("Email | Print |", true),
            (
                "Digg it | Facebook | Newsvine | Propeller | Reddit | Stumble! | Print",
                true,
            ),
            ("Tumblr|Facebook|Twitter", true),
            ("Email \u{2022} Twitter", true),
            (
                "Ferry fares to rise for island commuters | Harbour Gazette",
                false,
            ),
            ("Monday | 10:00 | Council chamber", false),
            ("by Ann Lee | Comment | Email | August 9, 2012", false),
            (
                "Email the council with your views, or Print the form | Facebook",
                false,
            ),
        ] {
            let got = bp.match_segments(line, &mut Scratch::default()).is_some();
            assert_eq!(got, bar, "{line}");
        }
    }

    /// A list of other stories under a "Related stories:" header, each a
    /// headline, a summary and a source line, can hold more text than the
    /// article above it. What a section header announces is not the
    /// article unless it holds twice the text of what no header announced.
    #[test]
    fn related_summaries_under_a_header_do_not_outweigh_the_article() {
        let bp = default_bp();
        let stories = [
            ("Bus lanes to open on the ring road", "The council will open two new bus lanes on the ring road next month, after a year of roadworks that closed one lane in each direction."),
            ("Market hall gets a new roof", "Traders at the market hall will return in May, when the building reopens with a new roof and a larger space for food stalls than before."),
            ("School meals go local", "Schools across the district will buy their vegetables from local farms from September, in a scheme that the council says will cut costs."),
            ("Bridge repairs finish early", "The old river bridge reopened to traffic on Friday, three weeks ahead of plan, after repairs to its piers and a new surface for cyclists."),
        ];
        let mut doc = format!("Library to open two years late after funding row\n\n{PARA_A}\n\n{PARA_B}\n\n{PARA_C}\n\nRelated stories:\n\n");
        for (headline, summary) in stories {
            doc.push_str(&format!("{headline}\n{summary}\nCity News, January 12\n\n"));
        }
        assert_eq!(
            kept(&bp, &doc),
            vec![
                "Library to open two years late after funding row",
                PARA_A,
                PARA_B,
                PARA_C
            ]
        );
    }

    /// A widget between the header and the body (here a font chooser) ends
    /// a menu run as the navigation does; the headline above it, known by
    /// the words it shares with the lead, and the lines under it stay. A
    /// site name whose words the lead does not use still goes.
    #[test]
    fn a_widget_under_the_headline_does_not_take_the_header() {
        let bp = default_bp();
        let doc = "Harbour Gazette Online\n\n\
             Ferry fares to rise for island commuters\n\n\
             Staff reporter\n\n\
             Georgia\nVerdana\nTimes New Roman\nArial\n\n\
             Island commuters will pay more for the ferry from April, when fares rise by \
             nine per cent on every crossing to the mainland.\n\n\
             The operator says the rise pays for two new boats, and that commuters with \
             season tickets will see the smallest increase.\n";
        assert_eq!(
            kept(&bp, doc),
            vec![
                "Ferry fares to rise for island commuters",
                "Staff reporter",
                "Island commuters will pay more for the ferry from April, when fares rise by \
                 nine per cent on every crossing to the mainland.",
                "The operator says the rise pays for two new boats, and that commuters with \
                 season tickets will see the smallest increase.",
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

    /// Chrome the menu runs miss, above a headline the lead names: a
    /// sidebar of other stories set off by blank lines goes, the page's
    /// title line and the header stay; a chapter line above a section
    /// title stays (too few lines, none of them chrome), and a line of
    /// keywords is no headline.
    #[test]
    fn chrome_above_the_headline_the_lead_names_goes() {
        let bp = default_bp();
        let body = "Island commuters will pay more for the ferry from April, when fares rise by \
                    nine per cent on every crossing to the mainland.\n\n\
                    The operator says the rise pays for two new boats, and that commuters with \
                    season tickets will see the smallest increase.\n";
        let sidebar = "Winter storms close two mountain passes\n\n\
                       Council approves new cycle lanes\n\n\
                       Bakery wins regional bread prize\n\n\
                       Harbour wall repairs delayed again\n\n\
                       School choir heads to national final\n\n\
                       Library extends its opening hours\n\n";
        let doc = format!(
            "Harbour Gazette Online\n\n{sidebar}\
             Ferry fares to rise for island commuters\n\nBy Ann Leeming\n\n{body}"
        );
        let out = kept(&bp, &doc);
        assert_eq!(
            out[..3],
            [
                "Harbour Gazette Online",
                "Ferry fares to rise for island commuters",
                "By Ann Leeming",
            ],
            "{out:#?}"
        );
        assert_eq!(out.len(), 5, "{out:#?}");
        assert_idempotent(&bp, &doc);

        let doc = format!(
            "Lessons in Electric Circuits\n\nChapter 9\n\nPRACTICAL ANALOG CIRCUITS\n\n\
             Ferry fares to rise for island commuters\n\n{body}"
        );
        assert_eq!(kept(&bp, &doc).len(), 6, "{:#?}", kept(&bp, &doc));

        // A book's title page above the headline: its lines end in
        // punctuation, as link texts do not, and stay.
        let doc = format!(
            "Harbour Gazette Online\n\nTHE FERRY.\n\nA NOVEL.\n\nBY ANN LEEMING.\n\n\
             VOLUME I.\n\nLONDON:\n\nSMITH AND SONS.\n\n1887.\n\n\
             Ferry fares to rise for island commuters\n\n{body}"
        );
        assert_eq!(kept(&bp, &doc).len(), 11, "{:#?}", kept(&bp, &doc));

        // "Ferry, fares, island commuters, rise" names the lead but is a
        // list of keywords, so the sidebar above it stays.
        let doc =
            format!("Harbour Gazette\n\n{sidebar}Ferry, fares, island commuters, rise\n\n{body}");
        assert!(
            kept(&bp, &doc).contains(&"Library extends its opening hours".to_string()),
            "{:#?}",
            kept(&bp, &doc)
        );
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

    /// An arrow at a short line's edge marks a link: under the article it
    /// heads a list of other pages, which goes with it; a guillemet that
    /// closes a quotation is no arrow.
    #[test]
    fn link_labels_head_lists_of_other_pages() {
        let bp = default_bp();
        let doc = format!(
            "« Back to all stories\n\nNew library opens two years late\n\n{PARA_A}\n\n{PARA_B}\n\n\
             Le Monde ran it as «Enfin»\n\n{PARA_C}\n\n\
             Science »\n\nTelescope finds a comet on a long orbit\n\nRain forecast for the weekend\n\n\
             Next page >>"
        );
        assert_kept(
            &bp,
            &doc,
            &[
                "New library opens two years late",
                "Le Monde ran it as «Enfin»",
                PARA_C,
            ],
        );
        assert_removed(
            &bp,
            &doc,
            &[
                "« Back to all stories",
                "Science »",
                "Telescope finds a comet on a long orbit",
                "Rain forecast for the weekend",
                "Next page >>",
            ],
        );
    }

    const TEASERS: &str = "Ferry fares to rise in April\n\
        The operator said the increase of four per cent would pay for two new boats on the island routes.\n\
        Hospital car park charges dropped\n\
        Patients and visitors will no longer pay to park at the town's hospital from next month, the trust said.\n\
        School wins national chess title\n\
        A team of four pupils beat more than two hundred other schools in the final round in Birmingham.";

    /// Headlines each with a one-line summary, packed without blank lines
    /// under an article whose paragraphs have them, are a list of other
    /// stories, even when their text outweighs the article's.
    #[test]
    fn headlines_with_summaries_packed_under_an_article_are_a_teaser_list() {
        let bp = default_bp();
        let doc = format!(
            "New library opens\n\n{PARA_A}\n\n{PARA_B}\n\n{PARA_C}\n\nIn the region\n{TEASERS}"
        );
        assert_kept(&bp, &doc, &["New library opens", PARA_A, PARA_B, PARA_C]);
        let teasers: Vec<&str> = TEASERS.lines().collect();
        assert_removed(&bp, &doc, &teasers);
    }

    /// The same headings and paragraphs laid out as the article around them
    /// is (a listicle), or on a page without any blank lines, stay.
    #[test]
    fn headings_with_paragraphs_in_the_article_layout_stay() {
        let bp = default_bp();
        let listicle = TEASERS.replace('\n', "\n\n");
        let spaced =
            format!("Three things that change this spring\n\n{PARA_A}\n\n{listicle}\n\n{PARA_B}");
        let tight = format!("Three things that change this spring\n{PARA_A}\n{TEASERS}\n{PARA_B}");
        for doc in [spaced, tight] {
            let teasers: Vec<&str> = TEASERS.lines().collect();
            assert_kept(&bp, &doc, &teasers);
            assert_kept(&bp, &doc, &[PARA_A, PARA_B]);
        }
    }

    #[test]
    fn an_articles_own_divider_does_not_start_the_footer() {
        let bp = default_bp();
        let doc = format!(
            "Harbour band returns with a quieter record\n\n{PARA_A}\n\n{PARA_B}\n\n---\n\nTracklist:\n1. Harbour Lights\n2. Low Tide"
        );
        assert_kept(
            &bp,
            &doc,
            &["Tracklist:", "1. Harbour Lights", "2. Low Tide"],
        );
        assert_kept(&bp, &doc, &[PARA_A, PARA_B]);
        assert_removed(&bp, &doc, &["---"]);
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
            model: ModelConfig::default(),
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

    /// The built-in model binds to the default rules' features and keeps
    /// the article; a model file that is not there is an error naming the key.
    #[test]
    fn builtin_model_scores_lines() {
        let mut cfg = default_config();
        cfg.model.enabled = true;
        let bp = Boilerplate::build(&cfg).expect("the built-in model loads");
        let doc = format!(
            "Skip to main content\nSign in\nNews\nSport\n\nLibrary to open late\n\nBy Jane Smith\n\n\
             {PARA_A}\n\n{PARA_B}\n\n{PARA_C}\n\nShare on Facebook\nCopyright 2024 The Bugle. All rights reserved."
        );
        let v = verdicts(&bp, &doc, &NoRepeats);
        let verdict = |l: &str| v.iter().find(|(x, _)| x == l).map(|(_, r)| r.as_str());
        for kept in [PARA_A, PARA_B, PARA_C, "By Jane Smith"] {
            assert_eq!(verdict(kept), Some(""), "{kept}: {v:#?}");
        }
        assert_eq!(v, verdicts(&bp, &doc, &NoRepeats), "deterministic");

        cfg.model.path = Some(PathBuf::from("no/such/model.json"));
        let err = Boilerplate::build(&cfg).unwrap_err().to_string();
        assert!(err.starts_with("model.path: "), "{err}");
    }

    /// A model trained with another config's rule groups still binds: the
    /// features it does not find read as 0.
    #[test]
    fn model_binds_by_feature_name() {
        let bp = default_bp();
        let names = bp.feature_names();
        let file = model::ModelFile {
            version: 1,
            features: vec!["no_such_feature".into(), "words_ln".into()],
            base: 0.0,
            bias: 0.0,
            switch_cost: 0.0,
            trees: vec![model::Tree {
                nodes: vec![
                    model::Node {
                        feature: 1,
                        threshold: 1.0,
                        left: 1,
                        right: 2,
                        value: 0.0,
                    },
                    model::Node {
                        feature: -1,
                        threshold: 0.0,
                        left: 0,
                        right: 0,
                        value: 1.0,
                    },
                    model::Node {
                        feature: -1,
                        threshold: 0.0,
                        left: 0,
                        right: 0,
                        value: -1.0,
                    },
                ],
            }],
            trained: String::new(),
        };
        let bound = model::BoundModel::bind(file, &names);
        let mut row = vec![0f32; names.len() + 1];
        // One word: ln(2) <= 1 goes left (+1, remove); ten words go right.
        row[0] = 2f32.ln();
        assert_eq!(bound.decide(&row, row.len()).1, vec![true]);
        row[0] = 11f32.ln();
        assert_eq!(bound.decide(&row, row.len()).1, vec![false]);
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

    /// The literal prefilter may only skip a rule regex that cannot match:
    /// every line of raw/, and variants of each (upper case, a `>`, an
    /// `@`, a KELVIN SIGN or LONG S that `(?i)` folds to `k` or `s`,
    /// glued to words or on their own), is run through every regex its
    /// length allows and checked against the scan.
    #[test]
    fn prefilter_never_hides_a_regex_match() {
        let bp = default_bp();
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/raw");
        let mut lines: Vec<String> = Vec::new();
        for entry in std::fs::read_dir(dir).expect("raw/ is in the repository") {
            let text = std::fs::read_to_string(entry.expect("entry").path()).unwrap_or_default();
            lines.extend(text.lines().map(|l| l.trim().to_string()));
        }
        let base = lines.clone();
        for l in &base {
            lines.push(l.to_uppercase());
            lines.push(format!("Home > {l}"));
            lines.push(format!("@{}", l.replace(' ', "")));
            lines.push(l.replace('k', "\u{212A}").replace('s', "\u{17F}"));
            lines.push(l.replace("ook", "OO\u{212A}"));
        }
        lines.extend(
            [
                "@BBCNews",
                "@ab",
                "Home > News > Local",
                "Home › News › Local",
                "This site uses coo\u{212A}ies",
                "We use cookie\u{17F} to improve your experience",
                "Privacy | Terms | Contact",
                "Tag us @hull_live on Instagram",
            ]
            .map(String::from),
        );
        let mut scratch = rules::Scratch::default();
        let mut checked = 0;
        for line in lines.iter().filter(|l| !l.is_empty()) {
            let words = shape(line).words;
            let hits = bp.prefilter.scan(line, words, &mut scratch);
            for rule in bp.regexes.iter().filter(|r| words <= r.max_words) {
                if !rule.regex.is_match(line) {
                    continue;
                }
                checked += 1;
                let possible = match hits {
                    rules::Hits::All => true,
                    rules::Hits::None => rule.clauses.is_empty(),
                    rules::Hits::Some => rule.clauses.clone().all(|c| scratch.hits[c]),
                };
                assert!(
                    possible,
                    "{line:?} matches {} but the prefilter skips it",
                    rule.regex
                );
            }
        }
        assert!(
            checked > 50,
            "only {checked} regex matches: the test lost its lines"
        );
    }

    /// A reader comment thread is found by its signatures' shared
    /// timestamp skeleton, whether the signature closes each comment or
    /// opens it, even when its header is followed by a sentence; the
    /// article's own signature and a list of dated headlines are no thread.
    #[test]
    fn comment_threads_by_structure() {
        let bp = default_bp();
        let closing = format!(
            "Harbour plans approved\n\n{PARA_A}\n\n{PARA_B}\n\n{PARA_C}\n\n\
             Posted by Dana Whitfield at April 3, 2016 8:02 AM\n\nComments\n\n\
             I walked past the old branch every day and never knew about the fire.\n\n\
             Posted by: meg_r at April 3, 2016 9:41 AM\n\n\
             Four million pounds for a library seems a bargain to me.\n\n\
             Posted by: Colin at April 3, 2016 11:15 AM\n\n\
             Two years late and they call it a success?\n\n\
             Posted by: a reader at April 4, 2016 6:30 PM\n"
        );
        assert_kept(
            &bp,
            &closing,
            &[PARA_C, "Posted by Dana Whitfield at April 3, 2016 8:02 AM"],
        );
        assert_removed(
            &bp,
            &closing,
            &[
                "I walked past the old branch every day and never knew about the fire.",
                "Posted by: meg_r at April 3, 2016 9:41 AM",
                "Two years late and they call it a success?",
                "Posted by: a reader at April 4, 2016 6:30 PM",
            ],
        );
        let opening = format!(
            "{PARA_A}\n\n{PARA_B}\n\n{PARA_C}\n\n3 Replies to Harbour plans approved\n\n\
             Ilse\n14.05.19 at 10:12\n\nThe reading room upstairs was the best part of the old one.\n\n\
             tobias77\n14.05.19 at 12:40\n\nI hope the opening hours are longer this time.\n\n\
             Ilse\n15.05.19 at 08:05\n\nAgreed, evenings matter for people who work.\n"
        );
        assert_kept(&bp, &opening, &[PARA_C]);
        assert_removed(
            &bp,
            &opening,
            &[
                "3 Replies to Harbour plans approved",
                "14.05.19 at 10:12",
                "I hope the opening hours are longer this time.",
                "Agreed, evenings matter for people who work.",
            ],
        );
        // Dated headlines: stamps without comment text between them.
        let dated = format!(
            "{PARA_A}\n\n{PARA_B}\n\nCouncil budget vote delayed again\n02/11/2016 14:05\n\n\
             New bus routes for the east side\n02/11/2016 15:20\n\n\
             Harbour festival returns in June\n03/11/2016 09:45\n\n{PARA_C}\n"
        );
        let v = verdicts(&bp, &dated, &NoRepeats);
        assert!(
            v.iter().all(|(_, r)| r != "context/comments"),
            "dated headlines taken as a thread: {v:#?}"
        );
    }

    /// A thread is judged as a whole, and the same way once cleaned output
    /// (a blank line between all lines) is cleaned again: a long post does
    /// not split a forum topic into a topic and a "thread" below it, and a
    /// long comment does not end an article's thread.
    #[test]
    fn comment_threads_survive_long_posts_and_blank_lines() {
        let bp = default_bp();
        let long_post: String = (0..40)
            .map(|k| format!("wrapped line {k} of a long answer about the ferry timetable\n"))
            .collect();
        let post = |who: &str, day: u32, text: &str| {
            format!("{who}\n{day:02}-03-2019, 10:{day:02} AM\n{text}\n")
        };
        let forum = format!(
            "Thread: ferry times this summer\n\n{}{}{long_post}{}{}{}",
            post(
                "harbour_jo",
                1,
                "Does anyone know when the summer ferry times start?"
            ),
            post(
                "pieter",
                2,
                "They start on the first of June, as every year."
            ),
            post("marlies", 3, "Not this year, the new boat is late."),
            post("harbour_jo", 4, "Thanks, that explains the empty pier."),
            post("pieter", 5, "The council will post the dates on Friday."),
        );
        let spaced = forum.replace('\n', "\n\n");
        for doc in [&forum, &spaced] {
            let v = verdicts(&bp, doc, &NoRepeats);
            assert!(
                v.iter().all(|(_, r)| r != "context/comments"),
                "a forum topic taken as comments: {v:#?}"
            );
        }
        let article = format!(
            "Harbour plans approved\n\n{PARA_A}\n\n{PARA_B}\n\n{PARA_C}\n\nComments\n\n{}{}{long_post}{}{}{}",
            post("harbour_jo", 1, "Four million pounds for a library seems a bargain to me."),
            post("pieter", 2, "They start on the first of June, as every year."),
            post("marlies", 3, "Not this year, the new boat is late."),
            post("harbour_jo", 4, "Thanks, that explains the empty pier."),
            post("pieter", 5, "The council will post the dates on Friday."),
        );
        assert_idempotent(&bp, &article);
        assert_idempotent(&bp, &forum);
        let spaced = article.replace('\n', "\n\n");
        for doc in [&article, &spaced] {
            assert_kept(&bp, doc, &[PARA_A, PARA_C]);
            assert_removed(
                &bp,
                doc,
                &[
                    "Four million pounds for a library seems a bargain to me.",
                    "05-03-2019, 10:05 AM",
                    "The council will post the dates on Friday.",
                ],
            );
        }
    }

    /// A prefix that keeps its trailing colon ("See also:") matches the bare
    /// header as well as "See also: …", with or without junk after the
    /// colon; it still needs the colon ("More than …" is no "More:"), and
    /// an exact listing of the header in another group comes first.
    #[test]
    fn colon_prefix_matches_the_bare_header() {
        let bp = default_bp();
        for line in ["See also:", "See also: ", "Read also: »"] {
            assert_eq!(
                bp.match_rule(line).map(|id| bp.rule_name(id)),
                Some("related/prefix"),
                "{line:?}"
            );
        }
        for line in ["See also the minister's letter.", "More than a bakery"] {
            assert_eq!(bp.match_rule(line), None, "{line:?}");
        }
        // A group that lists the bare header exactly (a list header) wins
        // over a prefix meant for "You might also like: <headline>".
        assert_eq!(
            bp.match_rule("You might also like:")
                .map(|id| bp.rule_name(id)),
            Some("related_list/exact")
        );
        // An exact literal still ignores trailing punctuation.
        assert_eq!(
            bp.match_rule("Advertisement:").map(|id| bp.rule_name(id)),
            Some("ads/exact")
        );
    }

    /// A copyright notice ends the body: the sentence-shaped legal and
    /// agency lines under it do not stretch the article over the footer.
    #[test]
    fn a_copyright_notice_ends_the_body() {
        let bp = default_bp();
        let legal = "Reproduction of any part of these pages without the written permission of the publisher is forbidden by law.";
        let doc = format!(
            "Harbour plans approved\n\n{PARA_A}\n\n{PARA_B}\n\n{PARA_C}\n\n\
             © 2016 Harbour Gazette Ltd. All rights reserved.\n\n{legal}\n\n\
             Back to the front page\n"
        );
        assert_kept(&bp, &doc, &[PARA_A, PARA_C]);
        assert_removed(&bp, &doc, &[legal, "Back to the front page"]);
        assert_idempotent(&bp, &doc);
    }

    /// Cleans `doc` once (kept lines, a blank line between them, as the
    /// txt output writes them) and asserts that a second pass removes
    /// nothing; returns the kept lines.
    fn assert_idempotent(bp: &Boilerplate, doc: &str) -> Vec<String> {
        let once = kept(bp, doc);
        let again = verdicts(bp, &once.join("\n\n"), &NoRepeats);
        let removed: Vec<_> = again.iter().filter(|(_, v)| !v.is_empty()).collect();
        assert!(
            removed.is_empty(),
            "the second pass removed {removed:#?}; first pass kept {once:#?}"
        );
        once
    }

    /// A list goes or stays with its introduction ("Other sites:"): the
    /// items are protected by it only while it stays, and it is kept in
    /// the trailing region while it has items, so that the cleaned text
    /// (which has the items and no introduction) judges them the same.
    #[test]
    fn list_and_its_introduction_go_together() {
        let bp = default_bp();
        let doc = format!(
            "Harbour plans approved\n\n{PARA_A}\n\n{PARA_B}\n\n{PARA_C}\n\nAdvertisement\n\n\
             Other titles from our group:\nHarbour Weekly |\nCoast Gazette |\nTide Tables Today\n"
        );
        let once = assert_idempotent(&bp, &doc);
        let has = |l: &str| once.iter().any(|k| k == l);
        assert_eq!(
            has("Other titles from our group:"),
            has("Harbour Weekly |"),
            "{once:#?}"
        );
    }

    /// A body paragraph printed again below the article (a teaser that
    /// repeats its first paragraph) does not stretch the body over the
    /// chrome in between: the captions stage drops the copy, and the
    /// cleaned text must be judged the same.
    #[test]
    fn a_repeated_paragraph_is_no_body_evidence() {
        let bp = default_bp();
        let doc = format!(
            "Harbour plans approved\n\n{PARA_A}\n\n{PARA_B}\n\n{PARA_C}\n\nAdvertisement\n\n\
             Harbour festival returns in June\n\nTop of this page\n\n{PARA_A}\n"
        );
        assert_removed(
            &bp,
            &doc,
            &["Harbour festival returns in June", "Top of this page"],
        );
        assert_kept(&bp, &doc, &[PARA_C]);
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
