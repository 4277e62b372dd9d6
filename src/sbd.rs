//! Rule-based sentence boundary detection.
//!
//! The splitter finds sentence boundaries in plain text and reports them as byte spans; it
//! never rewrites the text. It is tuned for English but keeps all word lists (abbreviation
//! classes, sentence starters, ...) in [`LangData`], loaded from a TOML file such as
//! `config/lang/en.toml`, so a language or domain can be added without a rebuild.
//!
//! # Algorithm
//!
//! One forward pass. `memchr` finds candidate bytes (`.` `?` `!`, newline, `)`, and `0xE2`,
//! the lead byte of `…`, `‼`, `⁇`, `⁈`, `⁉`, the bullets `•` `‣` `⁃` and the line/paragraph
//! separators; `0xE3`/`0xEF` for the full-width `。．！？`). Each candidate is judged from its
//! local context only:
//!
//! * a terminal cluster (`.`, `?!`, `...`, `. . .`, `…`) plus closing quotes and brackets is
//!   a boundary when whitespace and a non-lower-case token follow, unless the word before the
//!   period is an abbreviation of a class that forbids it (see [`Abbreviations`]), a single
//!   capital (an initial), a list marker, or the ellipsis marks an omission mid-sentence;
//! * a period with no space after it ends a sentence only between a lower-case letter or digit
//!   and a capitalised word, outside URLs and e-mail addresses (`world.Today`);
//! * a blank line always ends a sentence; a single newline does unless the line looks
//!   soft-wrapped (next line starts in lower case after a prose-length line or a trailing
//!   space) or the line ends with an abbreviation that cannot end a sentence;
//! * bullets and the next item of an inline enumeration (`1) … 2) …`, `a. … b. …`) start a
//!   new sentence.
//!
//! All look-behind and look-ahead is bounded or consumed once, so the pass is linear in the
//! input, allocates nothing per sentence, and never slices inside a UTF-8 character.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Range;
use std::sync::Arc;

use memchr::memchr3;

use crate::corpus::{word_key, CorpusProfile, WordCount, WordKeySet};

/// Errors raised while loading language data or building a [`Splitter`].
#[derive(Debug, thiserror::Error)]
pub enum SplitterError {
    /// The TOML text could not be parsed or does not match the [`LangData`] schema. The
    /// message names the offending key and its line and column.
    #[error("invalid language data: {0}")]
    Toml(#[from] toml::de::Error),
    /// A line of a word-statistics file is not `word` and five counts.
    #[error("invalid word statistics at line {line}: expected a word and five counts")]
    Stats {
        /// 1-based line number.
        line: usize,
    },
    /// An entry of a word list cannot be used.
    #[error("invalid entry {value:?} in `{key}`: {reason}")]
    InvalidEntry {
        /// The key (TOML path) of the list holding the entry.
        key: &'static str,
        /// The offending entry, as written.
        value: String,
        /// Why it was rejected.
        reason: &'static str,
    },
}

/// Language data for the splitter, deserialised from a TOML file such as config/lang/en.toml.
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct LangData {
    /// Language code (informational only, e.g. `"en"`).
    #[serde(default)]
    pub language: String,
    /// Abbreviations, by how they interact with sentence ends.
    #[serde(default)]
    pub abbreviations: Abbreviations,
    /// Words that, capitalised, very likely begin a sentence. After an ambiguous
    /// abbreviation (`U.S.`, `p.m.`) or a single capital letter, a boundary is made only when
    /// the next word is one of these (or a prepositive abbreviation such as `Mr.`).
    /// Case-insensitive.
    #[serde(default)]
    pub sentence_starters: Vec<String>,
    /// Prepositions that open a fronted adverbial phrase (`At 5 a.m. …`, `In the U.S. …`).
    /// When the sentence so far is only such a phrase of at most three words, an
    /// abbreviation's period does not end it. Case-insensitive.
    #[serde(default)]
    pub fronting_prepositions: Vec<String>,
}

/// Abbreviation lists, written without the final period (`"e.g"`, `"mr"`); a trailing period
/// is tolerated. Matching is ASCII case-insensitive and covers the whole word before the
/// period, including internal periods (`"u.s"`, `"ph.d"`).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Abbreviations {
    /// Never end a sentence when followed by whitespace: titles and other words that
    /// qualify what follows (`Mr.`, `Dr.`, `Mt.`, `St.`, `e.g.`, `vs.`).
    #[serde(default)]
    pub prepositive: Vec<String>,
    /// Introduce a number (`p. 55`, `No. 5`, `Fig. 3`): no boundary before a digit,
    /// otherwise they behave as `regular`.
    #[serde(default)]
    pub numeric: Vec<String>,
    /// Can end a sentence, and do so before a capitalised word (`Inc.`, `etc.`, `Jan.`).
    #[serde(default)]
    pub regular: Vec<String>,
    /// End a sentence only before a [`LangData::sentence_starters`] word or a title
    /// (`U.S.`, `a.m.`, `p.m.`). Unlisted dotted letter groups (`U.S.A.`) and single capital
    /// letters are treated the same way.
    #[serde(default)]
    pub ambiguous: Vec<String>,
}

impl LangData {
    /// Parses TOML text; error message names the key that is wrong.
    pub fn from_toml_str(s: &str) -> Result<LangData, SplitterError> {
        Ok(toml::from_str(s)?)
    }

    /// Adds user abbreviations (the product's config can list extras without a rebuild).
    ///
    /// Entries are added to the `regular` class (they may end a sentence before a capitalised
    /// word). Prefix an entry with `prepositive:`, `numeric:` or `ambiguous:` to choose
    /// another class, e.g. `"prepositive:Insp"`. A trailing period is ignored.
    pub fn extend_abbreviations(&mut self, extra: &[String]) {
        for e in extra {
            let e = e.trim();
            let (list, word) = if let Some(w) = e.strip_prefix("prepositive:") {
                (&mut self.abbreviations.prepositive, w)
            } else if let Some(w) = e.strip_prefix("numeric:") {
                (&mut self.abbreviations.numeric, w)
            } else if let Some(w) = e.strip_prefix("ambiguous:") {
                (&mut self.abbreviations.ambiguous, w)
            } else if let Some(w) = e.strip_prefix("regular:") {
                (&mut self.abbreviations.regular, w)
            } else {
                (&mut self.abbreviations.regular, e)
            };
            list.push(word.trim().to_string());
        }
    }
}

/// The English language data shipped with the crate (`config/lang/en.toml`).
pub const EN_TOML: &str = include_str!("../config/lang/en.toml");

/// English word statistics shipped with the crate (`config/lang/en.stats.tsv`), learned
/// offline from the bench corpus by `config/lang/make_stats.py`.
pub const EN_STATS: &str = include_str!("../config/lang/en.stats.tsv");

/// Where real text and the test suites of other splitters disagree, which way to cut.
/// The defaults are those of real text (UD English); each is a setting of the
/// `sentences` stage.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conventions {
    /// A terminal followed by a lower-case word ends the sentence (informal text:
    /// `... tonight. i will call`): always after `?` and after `!` (unless it ends a
    /// name inside a sentence, `Jeopardy! host`), and after `.` when the word before it
    /// is an ordinary word by the word statistics, never an abbreviation. Never when a
    /// closing quote or bracket follows the terminal (`"Why?" she asked`).
    pub lower_case_starts: bool,
    /// Citation marks after a sentence's end belong to it: `... in 1805. [6] Then`,
    /// `... said. [...] For`.
    pub trailing_citations: bool,
    /// Sentences inside one quotation: separate sentences (UD English) or one unit with
    /// the quotation.
    pub quotations: Quotations,
    /// What a single line break inside a paragraph is.
    pub single_newlines: SingleNewlines,
}

impl Default for Conventions {
    fn default() -> Conventions {
        Conventions {
            lower_case_starts: true,
            trailing_citations: true,
            quotations: Quotations::Split,
            single_newlines: SingleNewlines::Auto,
        }
    }
}

/// Several sentences inside one quotation (`He said, "Stop. Go home." Then he left.`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Quotations {
    /// Each is a sentence, as the linguists of UD English annotate them:
    /// `He said, "Stop.` | `Go home."` | `Then he left.`
    #[default]
    Split,
    /// The quotation is not cut: a boundary inside a quotation that closes in the same
    /// paragraph is not made (`He said, "Stop. Go home."` | `Then he left.`). A quote that
    /// never closes in its paragraph (a speech running over paragraphs) cuts as `split`.
    Whole,
}

/// A single line break inside a paragraph.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SingleNewlines {
    /// A boundary unless the line looks soft-wrapped: the next line starts in lower case
    /// after a prose-length line, a trailing space, a comma or hyphen, or an abbreviation
    /// that cannot end a sentence.
    #[default]
    Auto,
    /// Always a boundary: one sentence or item a line.
    Break,
    /// Whitespace, as in text extracted from PDFs: only a list marker or bullet at the
    /// start of the next line makes a boundary.
    Space,
}

/// Longest quotation, in bytes, that [`Quotations::Whole`] keeps in one piece; a longer
/// "quotation" is more likely two stray quote marks.
const MAX_QUOTATION: usize = 4096;

/// The quotations of `text` (outermost pairs, opening to closing mark, byte offsets of
/// the marks), paired within a paragraph: a blank line forgets unclosed marks. ASCII `"`
/// opens after whitespace, an opening bracket or a dash and before a non-space; it closes
/// after a non-space and before whitespace or punctuation. Single quotes are left out:
/// `'` and `’` are mostly apostrophes.
fn quotations(text: &str) -> Vec<(usize, usize)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut open: Vec<usize> = Vec::new();
    let mut prev_nl = false;
    for (i, ch) in text.char_indices() {
        let (opens, closes) = match ch {
            '\n' => {
                if prev_nl {
                    open.clear();
                }
                prev_nl = true;
                continue;
            }
            '"' => {
                let before = text[..i].chars().next_back();
                let after = b.get(i + 1).copied();
                let ws_before = before.is_none_or(|c| {
                    c.is_whitespace()
                        || matches!(c, '(' | '[' | '{' | '-' | '\u{2013}' | '\u{2014}' | '/')
                });
                let ws_after = after.is_none_or(|c| c.is_ascii_whitespace());
                let punct_after = after.is_none_or(|c| {
                    c.is_ascii_whitespace()
                        || matches!(
                            c,
                            b'.' | b','
                                | b';'
                                | b':'
                                | b'!'
                                | b'?'
                                | b')'
                                | b']'
                                | b'}'
                                | b'-'
                                | b'\''
                        )
                }) || after.is_some_and(|c| c >= 0x80);
                (ws_before && !ws_after, !ws_before && punct_after)
            }
            '\u{201C}' | '\u{201E}' | '\u{AB}' => (true, false),
            '\u{201D}' | '\u{BB}' => (false, true),
            c => {
                if !c.is_whitespace() {
                    prev_nl = false;
                }
                continue;
            }
        };
        prev_nl = false;
        if opens {
            open.push(i);
        } else if closes {
            if let Some(o) = open.pop() {
                if open.is_empty() && i - o <= MAX_QUOTATION {
                    out.push((o, i));
                }
            }
        }
    }
    out
}

/// Word statistics in the manner of Punkt (Kiss & Strunk 2006), per lower-cased word type
/// ([`WordCount`]): how often it carries a final period, how often a lower-case word
/// follows that period, how often it is written in lower case and how often capitalised
/// inside a sentence. Parsed from the TSV that `config/lang/make_stats.py` writes; the
/// counts of the corpus being cleaned (pass 1, [`CorpusProfile`]) are added to them when
/// there is one. What the splitter reads from them:
///
/// * an *ordinary word*: seen at least [`ORDINARY_MIN`] times without a period, with a
///   period at most as often, and its period followed by a lower-case word at most one
///   time in ten; its period ends a sentence whatever follows;
/// * an *abbreviation-like* word (not listed): mostly seen with a period, and that period
///   often followed by a lower-case word; it is treated as an ambiguous abbreviation;
/// * a *common lower-case word* (by the corpus's counts alone): mostly written in lower
///   case and almost never capitalised inside a sentence; capitalised after an ambiguous
///   abbreviation, it starts a sentence ("U.S. Analysts"), while a name does not
///   ("B.C. Augustus"), nor a run of capitalised words ("U.S. Army Corps").
///
/// The thresholds were set before looking at any evaluation text.
#[derive(Debug, Clone, Default)]
pub struct WordStats {
    counts: HashMap<Box<[u8]>, WordCount, FnvBuild>,
}

/// Fewest plain occurrences for a type to count as an ordinary word.
const ORDINARY_MIN: u32 = 3;
/// Fewest lower-case occurrences for a type to count as a common lower-case word, and how
/// many times more often it is lower case than capitalised mid-sentence.
const LOWER_MIN: u32 = 5;
const LOWER_RATIO: u32 = 100;
/// Fewest period occurrences for a type to count as abbreviation-like.
const ABBREV_MIN: u32 = 3;

fn is_ordinary(c: WordCount) -> bool {
    c.plain >= ORDINARY_MIN
        && c.period <= c.plain
        && u64::from(c.period_lower) * 10 <= u64::from(c.period) + 1
}

/// Fewest plain occurrences for a type to count as never final, and how many times more
/// often it is seen without a final period than with one.
const NEVER_FINAL_MIN: u32 = 100;
const NEVER_FINAL_RATIO: u64 = 200;

/// A word that a sentence almost never ends with (`and`, `of`): seen often, and with a
/// final period at most once in [`NEVER_FINAL_RATIO`].
fn never_final(c: WordCount) -> bool {
    c.plain >= NEVER_FINAL_MIN && u64::from(c.period) * NEVER_FINAL_RATIO <= u64::from(c.plain)
}

fn is_common_lower(c: WordCount) -> bool {
    c.lower >= LOWER_MIN && u64::from(c.upper_mid) * u64::from(LOWER_RATIO) <= u64::from(c.lower)
}

fn is_abbreviation_like(c: WordCount) -> bool {
    c.period >= ABBREV_MIN
        && u64::from(c.period) >= 2 * u64::from(c.plain)
        && u64::from(c.period_lower) * 3 >= u64::from(c.period)
}

impl WordStats {
    /// Parses the statistics TSV (`word plain period period_lower lower upper_mid`, a
    /// header line, `#` comments).
    ///
    /// # Errors
    /// A line with a missing or non-numeric column, named by its number.
    pub fn from_tsv(tsv: &str) -> Result<WordStats, SplitterError> {
        let mut stats = WordStats::default();
        for (n, line) in tsv.lines().enumerate() {
            if line.starts_with('#') || line.starts_with("word\t") || line.trim().is_empty() {
                continue;
            }
            let mut cols = line.split('\t');
            let word = cols.next().unwrap_or_default();
            let mut num = [0u32; 5];
            for v in &mut num {
                *v = cols
                    .next()
                    .and_then(|c| c.parse::<u64>().ok())
                    .map(|c| u32::try_from(c).unwrap_or(u32::MAX))
                    .ok_or(SplitterError::Stats { line: n + 1 })?;
            }
            let [plain, period, period_lower, lower, upper_mid] = num;
            if word.is_empty() || word.len() > MAX_WORD {
                continue;
            }
            let key: Box<[u8]> = word.to_ascii_lowercase().into_bytes().into_boxed_slice();
            stats.counts.entry(key).or_default().add(WordCount {
                plain,
                period,
                period_lower,
                lower,
                upper_mid,
            });
        }
        Ok(stats)
    }

    /// True when `lower` (a lower-cased word) is an ordinary word by these statistics alone.
    pub fn is_ordinary(&self, lower: &[u8]) -> bool {
        self.counts.get(lower).copied().is_some_and(is_ordinary)
    }

    /// The built-in English statistics ([`EN_STATS`]).
    pub fn english() -> WordStats {
        #[allow(clippy::expect_used)]
        WordStats::from_tsv(EN_STATS).expect("built-in en.stats.tsv is valid")
    }
}

// ---------------------------------------------------------------------------------------
// Compiled splitter
// ---------------------------------------------------------------------------------------

/// FNV-1a: a tiny, fast hash for the short keys of the word sets (no DoS concern: keys come
/// from configuration, lookups from text only probe).
#[derive(Default, Clone, Copy)]
struct Fnv(u64);

impl Hasher for Fnv {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for &b in bytes {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

type FnvBuild = BuildHasherDefault<Fnv>;

/// Abbreviation class bits.
const PREPOSITIVE: u8 = 1;
const NUMERIC: u8 = 2;
const REGULAR: u8 = 4;
const AMBIGUOUS: u8 = 8;

/// Longest word (in bytes) looked up in the word sets; longer words are never abbreviations.
const MAX_WORD: usize = 32;

/// A compiled sentence splitter. Immutable after construction, `Send + Sync`, cheap to share
/// (wrap it in an `Arc` or a `static`).
#[derive(Debug, Clone)]
pub struct Splitter {
    abbrevs: HashMap<Box<[u8]>, u8, FnvBuild>,
    starters: HashSet<Box<[u8]>, FnvBuild>,
    fronting: HashSet<Box<[u8]>, FnvBuild>,
    /// Shared: [`Splitter::with_corpus`] copies the splitter, not its tables.
    stats: Arc<WordStats>,
    /// Word counts of the corpus being cleaned, added to `stats`; read only at periods
    /// that are already in question (before a lower-case word, after an abbreviation).
    corpus: Option<Arc<CorpusProfile>>,
    /// Keys of the corpus's abbreviation-like types, found once when the corpus is
    /// given: a small set, asked at every period that the lists leave open, where a look
    /// into the whole corpus table would miss the cache.
    corpus_abbrevs: Arc<WordKeySet>,
    conv: Conventions,
}

impl Splitter {
    /// Compiles language data. Fails on an entry that cannot match anything (empty, too long,
    /// or containing whitespace).
    pub fn new(lang: &LangData) -> Result<Splitter, SplitterError> {
        let mut abbrevs: HashMap<Box<[u8]>, u8, FnvBuild> = HashMap::default();
        let a = &lang.abbreviations;
        for (key, list, class) in [
            ("abbreviations.prepositive", &a.prepositive, PREPOSITIVE),
            ("abbreviations.numeric", &a.numeric, NUMERIC),
            ("abbreviations.regular", &a.regular, REGULAR),
            ("abbreviations.ambiguous", &a.ambiguous, AMBIGUOUS),
        ] {
            for entry in list {
                let k = normalise_entry(key, entry, true)?;
                *abbrevs.entry(k).or_insert(0) |= class;
            }
        }
        let mut starters = HashSet::default();
        for entry in &lang.sentence_starters {
            starters.insert(normalise_entry("sentence_starters", entry, false)?);
        }
        let mut fronting = HashSet::default();
        for entry in &lang.fronting_prepositions {
            fronting.insert(normalise_entry("fronting_prepositions", entry, false)?);
        }
        Ok(Splitter {
            abbrevs,
            starters,
            fronting,
            stats: Arc::default(),
            corpus: None,
            corpus_abbrevs: Arc::default(),
            conv: Conventions::default(),
        })
    }

    /// Compiles language data with word statistics and conventions.
    ///
    /// # Errors
    /// As [`Splitter::new`].
    pub fn with_stats(
        lang: &LangData,
        stats: WordStats,
        conv: Conventions,
    ) -> Result<Splitter, SplitterError> {
        Ok(Splitter {
            stats: Arc::new(stats),
            conv,
            ..Splitter::new(lang)?
        })
    }

    /// This splitter with the word counts of a corpus added to its statistics (what the
    /// `sentences` stage does with the profile of pass 1). A profile without word counts
    /// changes nothing.
    pub fn with_corpus(&self, profile: Arc<CorpusProfile>) -> Splitter {
        let abbrevs = profile.word_keys_where(is_abbreviation_like).collect();
        Splitter {
            corpus: (profile.word_types() > 0).then_some(profile),
            corpus_abbrevs: Arc::new(abbrevs),
            ..self.clone()
        }
    }

    /// The built-in and corpus counts of a lower-cased word type, added.
    fn word_counts(&self, lower: &[u8]) -> WordCount {
        let mut c = self.stats.counts.get(lower).copied().unwrap_or_default();
        if let Some(w) = self.corpus.as_deref().and_then(|p| p.word(lower)) {
            c.add(w);
        }
        c
    }

    /// The splitter for the built-in English data ([`EN_TOML`]).
    pub fn english() -> Splitter {
        #[allow(clippy::expect_used)]
        let lang = LangData::from_toml_str(EN_TOML).expect("built-in en.toml is valid");
        #[allow(clippy::expect_used)]
        Splitter::with_stats(&lang, WordStats::english(), Conventions::default())
            .expect("built-in en.toml compiles")
    }

    /// Appends the sentence byte spans of `text` to `out`, in order. Each span is trimmed of
    /// surrounding whitespace, non-empty, and the splitter only cuts: nothing is rewritten.
    pub fn split_into(&self, text: &str, out: &mut Vec<Range<usize>>) {
        let mut st = State {
            sp: self,
            text,
            b: text.as_bytes(),
            out,
            start: 0,
            line_start: 0,
            marker: None,
            hold_end: usize::MAX,
            tok: (0, 0, false),
            quoted: if self.conv.quotations == Quotations::Whole {
                quotations(text)
            } else {
                Vec::new()
            },
            next_quote: 0,
        };
        st.run();
    }

    /// Convenience wrapper around [`Splitter::split_into`] returning the sentences as slices.
    pub fn split<'t>(&self, text: &'t str) -> Vec<&'t str> {
        let mut spans = Vec::new();
        self.split_into(text, &mut spans);
        spans.into_iter().map(|r| &text[r]).collect()
    }

    #[inline]
    fn abbrev_class(&self, lower: &[u8]) -> Option<u8> {
        self.abbrevs.get(lower).copied()
    }
}

/// Validates and normalises a word-list entry: trimmed, ASCII-lowercased, final period removed.
fn normalise_entry(
    key: &'static str,
    entry: &str,
    abbrev: bool,
) -> Result<Box<[u8]>, SplitterError> {
    let invalid = |reason| SplitterError::InvalidEntry {
        key,
        value: entry.to_string(),
        reason,
    };
    let mut w = entry.trim();
    if abbrev {
        w = w.strip_suffix('.').unwrap_or(w);
    }
    if w.is_empty() {
        return Err(invalid("empty entry"));
    }
    if w.len() > MAX_WORD {
        return Err(invalid("longer than 32 bytes"));
    }
    if w.chars().any(char::is_whitespace) {
        return Err(invalid("contains whitespace"));
    }
    if !abbrev && !w.chars().all(char::is_alphabetic) {
        return Err(invalid("must be a single word of letters"));
    }
    Ok(w.to_ascii_lowercase().into_bytes().into_boxed_slice())
}

// ---------------------------------------------------------------------------------------
// Scanner
// ---------------------------------------------------------------------------------------

/// Kind of an enumeration marker (`1.`, `2)`, `a.`, `(b)`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum MarkerKind {
    Digit,
    Lower,
    Upper,
}

/// Delimiter of an enumeration marker.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Delim {
    /// `1.`
    Period,
    /// `1.)`
    PeriodParen,
    /// `1)`
    Paren,
    /// `(1)`
    Parens,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
struct Marker {
    kind: MarkerKind,
    delim: Delim,
    value: u32,
}

/// Multi-byte terminal characters.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Wide {
    /// `…`
    Ellipsis,
    /// `‼` `⁇` `⁈` `⁉`
    Exclaim,
    /// Full-width `。` `．` `！` `？` (no space needed after them).
    FullWidth,
}

/// Class of the first significant character of the token after a terminal.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Next {
    Lower,
    Upper,
    Digit,
    Other,
    End,
}

/// What follows a terminal cluster and its closing punctuation.
#[derive(Clone, Copy, Debug)]
struct After {
    /// Whitespace separates the terminal from the next token (or the text ends).
    ws: bool,
    /// Class of the first character after any opening quotes/brackets.
    class: Next,
    /// The next token starts with `(`.
    paren: bool,
    /// ASCII-letter word at the start of the next token.
    word: (usize, usize),
}

/// The word before a period.
#[derive(Clone, Copy, Debug)]
struct Word {
    start: usize,
    end: usize,
    /// The word is longer than [`MAX_WORD`] (its `start` is then not exact).
    long: bool,
}

struct State<'t, 'o> {
    sp: &'t Splitter,
    text: &'t str,
    b: &'t [u8],
    out: &'o mut Vec<Range<usize>>,
    /// Start of the current sentence (may point at whitespace, trimmed on emit).
    start: usize,
    /// Start of the current line.
    line_start: usize,
    /// Last enumeration marker seen on this line.
    marker: Option<Marker>,
    /// End of the last terminal cluster held back by an abbreviation or initial.
    hold_end: usize,
    /// Cache of the whitespace-delimited token last examined: (start, end, url-like).
    tok: (usize, usize, bool),
    /// Quotations not to cut ([`Quotations::Whole`]; empty otherwise), in order.
    quoted: Vec<(usize, usize)>,
    /// First of `quoted` that does not end before the last boundary asked about.
    next_quote: usize,
}

#[inline]
fn is_ascii_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c)
}

impl State<'_, '_> {
    fn run(&mut self) {
        let b = self.b;
        let len = b.len();
        let find_a = |p: usize| memchr3(b'.', b'?', b'!', &b[p..]).map_or(len, |i| p + i);
        let find_b = |p: usize| memchr3(b'\n', b')', 0xE2, &b[p..]).map_or(len, |i| p + i);
        // Lead bytes of the full-width terminals 。 ． ！ ？ (rare in English text).
        let find_c = |p: usize| memchr::memchr2(0xE3, 0xEF, &b[p..]).map_or(len, |i| p + i);
        let mut pos = 0;
        let mut na = find_a(0);
        let mut nb = find_b(0);
        let mut nc = find_c(0);
        loop {
            if na < pos {
                na = find_a(pos);
            }
            if nb < pos {
                nb = find_b(pos);
            }
            if nc < pos {
                nc = find_c(pos);
            }
            let c = na.min(nb).min(nc);
            if c >= len {
                break;
            }
            let next = match b[c] {
                b'.' | b'?' | b'!' => self.terminal(c),
                b'\n' => self.newline(c, 1),
                b')' => self.paren_marker(c),
                0xE2 => self.e2(c),
                _ => {
                    if self.multibyte_terminal(c).is_some() {
                        self.terminal(c)
                    } else {
                        c + 1
                    }
                }
            };
            debug_assert!(next > c);
            pos = next;
        }
        self.emit(len);
    }

    // ----- small helpers -----------------------------------------------------------------

    /// Pushes the trimmed span `start..end` (if non-empty) and starts a new sentence at `end`.
    fn emit(&mut self, end: usize) {
        if end <= self.start {
            return;
        }
        let s = &self.text[self.start..end];
        let lead = s.len() - s.trim_start().len();
        let t = s.trim();
        if !t.is_empty() {
            let a = self.start + lead;
            self.out.push(a..a + t.len());
        }
        self.start = end;
    }

    /// Character starting at byte `i` (which must be a char boundary) and its length.
    #[inline]
    fn char_at(&self, i: usize) -> Option<(char, usize)> {
        let b = *self.b.get(i)?;
        if b < 0x80 {
            return Some((b as char, 1));
        }
        self.text
            .get(i..)?
            .chars()
            .next()
            .map(|c| (c, c.len_utf8()))
    }

    /// Character ending at byte `i` (which must be a char boundary).
    #[inline]
    fn char_before(&self, i: usize) -> Option<char> {
        if i == 0 {
            return None;
        }
        let b = self.b[i - 1];
        if b < 0x80 {
            return Some(b as char);
        }
        self.text.get(..i)?.chars().next_back()
    }

    #[inline]
    fn is_ws_at(&self, i: usize) -> Option<usize> {
        match self.b.get(i) {
            Some(&b) if b < 0x80 => is_ascii_ws(b).then_some(1),
            Some(_) => match self.char_at(i) {
                Some((c, l)) if c.is_whitespace() => Some(l),
                _ => None,
            },
            None => None,
        }
    }

    /// Moves `start` past leading whitespace, stopping at `limit`.
    fn advance_start(&mut self, limit: usize) {
        while self.start < limit {
            match self.is_ws_at(self.start) {
                Some(l) => self.start += l,
                None => break,
            }
        }
    }

    /// Multi-byte terminal at `i`.
    #[inline]
    fn multibyte_terminal(&self, i: usize) -> Option<Wide> {
        match self.b.get(i..i + 3)? {
            [0xE2, 0x80, 0xA6] => Some(Wide::Ellipsis),
            [0xE2, 0x80, 0xBC] | [0xE2, 0x81, 0x87..=0x89] => Some(Wide::Exclaim),
            // 。 ． ！ ？
            [0xE3, 0x80, 0x82] | [0xEF, 0xBC, 0x8E] | [0xEF, 0xBC, 0x81] | [0xEF, 0xBC, 0x9F] => {
                Some(Wide::FullWidth)
            }
            _ => None,
        }
    }

    /// Bullet character at `i`: returns its length.
    #[inline]
    fn bullet_at(&self, i: usize) -> Option<usize> {
        match self.b.get(i..i + 3)? {
            // • ‣ ⁃ ◦ ▪ ●
            [0xE2, 0x80, 0xA2]
            | [0xE2, 0x80, 0xA3]
            | [0xE2, 0x81, 0x83]
            | [0xE2, 0x97, 0xA6]
            | [0xE2, 0x96, 0xAA]
            | [0xE2, 0x97, 0x8F] => Some(3),
            _ => None,
        }
    }

    // ----- candidate handlers --------------------------------------------------------------

    fn e2(&mut self, c: usize) -> usize {
        if self.multibyte_terminal(c).is_some() {
            return self.terminal(c);
        }
        if let Some(l) = self.bullet_at(c) {
            // An inline bullet starts a new item.
            if self.char_before(c).is_none_or(char::is_whitespace) {
                self.emit(c);
                self.marker = None;
            }
            return c + l;
        }
        match self.b.get(c + 1..c + 3) {
            Some([0x80, 0xA8]) => self.newline(c, 3), // LINE SEPARATOR
            Some([0x80, 0xA9]) => {
                // PARAGRAPH SEPARATOR
                self.emit(c);
                self.new_line(c + 3);
                c + 3
            }
            _ => c + 1,
        }
    }

    fn new_line(&mut self, at: usize) {
        self.line_start = at;
        self.marker = None;
    }

    /// A newline of `width` bytes at `c`.
    fn newline(&mut self, c: usize, width: usize) -> usize {
        let b = self.b;
        let len = b.len();
        let after = c + width;
        // Skip horizontal whitespace to see whether another line break follows.
        let mut q = after;
        let mut para = false;
        while q < len {
            if b[q] == b'\n' {
                para = true;
                break;
            }
            match self.is_ws_at(q) {
                Some(l) => {
                    if l == 3 && b[q + 1] == 0x80 && (b[q + 2] == 0xA8 || b[q + 2] == 0xA9) {
                        para = true;
                        break;
                    }
                    q += l;
                }
                None => break,
            }
        }
        if para {
            // Blank line: always a boundary. Consume the whole whitespace run.
            self.emit(c);
            let mut r = q;
            let mut last_line = q;
            while let Some(l) = self.is_ws_at(r) {
                r += l;
                if b[r - 1] == b'\n' || (l == 3 && matches!(b[r - 3..r], [0xE2, 0x80, 0xA8 | 0xA9]))
                {
                    last_line = r;
                }
            }
            self.new_line(last_line);
            self.hold_end = usize::MAX;
            return r.max(after);
        }
        let prev_line_start = self.line_start;
        self.new_line(after);
        self.advance_start(c);
        if self.start >= c || q >= len {
            return after;
        }
        let joins = match self.sp.conv.single_newlines {
            SingleNewlines::Auto => self.joins_lines(prev_line_start, c, q),
            SingleNewlines::Break => false,
            SingleNewlines::Space => !self.list_marker_at(q),
        };
        if !joins {
            self.emit(c);
        }
        after
    }

    /// Decides whether the single line break at `nl` (previous line from `ls`, next line's
    /// first non-blank at `q`) is a soft wrap inside a sentence.
    fn joins_lines(&self, ls: usize, nl: usize, q: usize) -> bool {
        if self.list_marker_at(q) {
            return false;
        }
        let b = self.b;
        // Trailing whitespace of the previous line (ignoring a CR of CRLF).
        let mut e = nl;
        if e > ls && b[e - 1] == b'\r' {
            e -= 1;
        }
        let mut trail_ws = false;
        while e > ls && matches!(b[e - 1], b' ' | b'\t') {
            e -= 1;
            trail_ws = true;
        }
        if self.hold_end == e {
            return true; // the line ends with an abbreviation that cannot end a sentence
        }
        let Some((nc, _)) = self.char_at(q) else {
            return false;
        };
        if !nc.is_lowercase() {
            return false;
        }
        if trail_ws || matches!(b[e - 1], b',' | b';' | b'-') || self.char_before(e) == Some('–')
        {
            return true;
        }
        self.count_words(ls, e, 3) >= 3
    }

    /// Counts whitespace-separated words in `a..e`, up to `max` (bounded scan).
    fn count_words(&self, a: usize, e: usize, max: usize) -> usize {
        let b = self.b;
        let lo = a.max(e.saturating_sub(256));
        let mut n = 0;
        let mut in_word = false;
        let mut i = e;
        while i > lo {
            i -= 1;
            if is_ascii_ws(b[i]) {
                in_word = false;
            } else if !in_word {
                in_word = true;
                n += 1;
                if n >= max {
                    return n;
                }
            }
        }
        if lo > a {
            max // a long line is prose
        } else {
            n
        }
    }

    /// Does a list item marker start at `q` (bullet, `-`/`*` + space, `12.`/`12)`, `a)`,
    /// `a. `, `(a)`)?
    fn list_marker_at(&self, q: usize) -> bool {
        let b = self.b;
        if self.bullet_at(q).is_some() {
            return true;
        }
        let at = |i: usize| b.get(i).copied().unwrap_or(b' ');
        match at(q) {
            b'-' | b'*' | b'+' => is_ascii_ws(at(q + 1)),
            b'0'..=b'9' => {
                let mut i = q;
                while i < q + 3 && at(i).is_ascii_digit() {
                    i += 1;
                }
                matches!(at(i), b'.' | b')') && !at(i + 1).is_ascii_digit()
            }
            b'a'..=b'z' | b'A'..=b'Z' => {
                // single letter or lower-case roman numeral, then ")" or ". "
                let mut i = q + 1;
                while i < q + 5
                    && matches!(at(i), b'i' | b'v' | b'x')
                    && matches!(at(q), b'i' | b'v' | b'x')
                {
                    i += 1;
                }
                at(i) == b')' || (at(i) == b'.' && at(i + 1) == b' ' && at(q).is_ascii_lowercase())
            }
            b'(' => {
                let mut i = q + 1;
                while i < q + 5 && at(i).is_ascii_alphanumeric() {
                    i += 1;
                }
                i > q + 1 && at(i) == b')'
            }
            _ => false,
        }
    }

    /// `)` at `c`: enumeration markers `1)`, `a)`, `(1)`.
    fn paren_marker(&mut self, c: usize) -> usize {
        let b = self.b;
        if !matches!(b.get(c + 1), Some(&x) if is_ascii_ws(x)) {
            return c + 1;
        }
        let mut s = c;
        while s > 0 && c - s < 3 && b[s - 1].is_ascii_alphanumeric() {
            s -= 1;
        }
        let Some((kind, value)) = marker_value(&b[s..c]) else {
            return c + 1;
        };
        let (delim, mstart) = if s > 0 && b[s - 1] == b'(' {
            (Delim::Parens, s - 1)
        } else {
            (Delim::Paren, s)
        };
        if mstart > 0 && !self.char_before(mstart).is_some_and(char::is_whitespace) {
            return c + 1;
        }
        let m = Marker { kind, delim, value };
        self.marker_seen(m, mstart, true);
        c + 1
    }

    /// Records an enumeration marker starting at `mstart`; cuts before it when it continues
    /// the enumeration in progress on this line. `paren_style` markers (`1)`) may open an
    /// enumeration mid-line; period-style ones (`1.`) only at a line or sentence start.
    /// Returns whether the marker was accepted as one.
    fn marker_seen(&mut self, m: Marker, mstart: usize, paren_style: bool) -> bool {
        if self.is_leading(mstart) {
            self.marker = Some(m);
            return true;
        }
        if let Some(p) = self.marker {
            if p.kind == m.kind && p.delim == m.delim && p.value + 1 == m.value {
                // An inline enumeration inside one sentence (`buy (1) eggs and (2)
                // milk`) goes on; a list written on one line is cut at each item.
                if !self.sentence_goes_on(mstart) {
                    self.emit(mstart);
                }
                self.marker = Some(m);
                return true;
            }
        }
        if paren_style && m.value == 1 {
            self.marker = Some(m);
            return true;
        }
        false
    }

    /// Does the text before `pos` stop where no sentence ends: after a comma, a semicolon
    /// or a colon, or after a word that the statistics almost never see with a final
    /// period (`and`, `of`, `the`)?
    fn sentence_goes_on(&self, pos: usize) -> bool {
        let mut i = pos;
        while i > 0 && self.b[i - 1] == b' ' {
            i -= 1;
        }
        if i == 0 {
            return false;
        }
        if matches!(self.b[i - 1], b',' | b';' | b':') {
            return true;
        }
        let w = self.word_before(i);
        if w.long || w.start == w.end {
            return false;
        }
        let mut buf = [0u8; MAX_WORD];
        self.lower((w.start, w.end), &mut buf)
            .is_some_and(|lw| never_final(self.sp.word_counts(lw)))
    }

    /// Is `pos` preceded only by whitespace and bullets since the start of the line or of the
    /// current sentence?
    fn is_leading(&self, pos: usize) -> bool {
        let floor = self.line_start.max(self.start);
        let mut i = pos;
        let mut steps = 0;
        while i > floor {
            steps += 1;
            if steps > 64 {
                return false;
            }
            let b = self.b[i - 1];
            if is_ascii_ws(b) || b == b'-' || b == b'*' {
                i -= 1;
            } else if i >= 3 && self.bullet_at(i - 3).is_some() {
                i -= 3;
            } else if let Some(c) = self.char_before(i).filter(|c| c.is_whitespace()) {
                i -= c.len_utf8();
            } else {
                return false;
            }
        }
        true
    }

    /// Skips closing quotes/brackets (and `[12]`-style references) after a terminal at `e`.
    /// Returns the position after them and whether a possessive `'s` follows instead.
    fn skip_closers(&self, mut p: usize) -> (usize, bool) {
        let b = self.b;
        let len = b.len();
        let possessive = |q: usize| {
            matches!(b.get(q), Some(b's' | b'S'))
                && !matches!(b.get(q + 1), Some(x) if x.is_ascii_alphanumeric())
        };
        let start = p;
        while p < len {
            match b[p] {
                b'"' | b')' | b']' | b'}' => p += 1,
                b'\'' => {
                    if possessive(p + 1) {
                        return (p, p == start);
                    }
                    p += 1;
                }
                b'[' => {
                    // numbered reference: [12], [3, 4], [5-7]
                    let mut q = p + 1;
                    while q < len && q - p <= 12 && matches!(b[q], b'0'..=b'9' | b',' | b'-' | b' ')
                    {
                        q += 1;
                    }
                    if q < len && b[q] == b']' && q > p + 1 && b[p + 1].is_ascii_digit() {
                        p = q + 1;
                    } else {
                        break;
                    }
                }
                0xE2 => match b.get(p + 1..p + 3) {
                    // ” ’ ›
                    Some([0x80, 0x9D]) | Some([0x80, 0xBA]) => p += 3,
                    Some([0x80, 0x99]) => {
                        if possessive(p + 3) {
                            return (p, p == start);
                        }
                        p += 3;
                    }
                    _ => break,
                },
                0xC2 if b.get(p + 1) == Some(&0xBB) => p += 2, // »
                _ => break,
            }
        }
        (p, false)
    }

    /// Looks at what follows position `p` (after closers).
    fn after(&self, p: usize) -> After {
        let b = self.b;
        let len = b.len();
        let mut q = p;
        while let Some(l) = self.is_ws_at(q) {
            q += l;
        }
        let ws = q > p || q >= len;
        let mut paren = false;
        // Opening quotes and brackets (a few at most).
        let mut n = 0;
        while q < len && n < 4 {
            match b[q] {
                b'"' | b'\'' | b'`' | b'(' | b'[' | b'{' => {
                    paren |= n == 0 && b[q] == b'(';
                    q += 1;
                }
                0xE2 if matches!(b.get(q + 1..q + 3), Some([0x80, 0x9C]) | Some([0x80, 0x98])) => {
                    q += 3; // “ ‘
                }
                0xC2 if matches!(b.get(q + 1), Some(0xAB) | Some(0xBF) | Some(0xA1)) => q += 2, // « ¿ ¡
                _ => break,
            }
            n += 1;
        }
        let class = match self.char_at(q) {
            None => Next::End,
            // A lower-case list marker ("a. ", "ii) ", "(b) ") starts a new item.
            Some(_) if self.list_marker_at(if paren { q - 1 } else { q }) => Next::Other,
            Some((c, _)) if c.is_lowercase() => Next::Lower,
            Some((c, _)) if c.is_uppercase() || c.is_alphabetic() => Next::Upper,
            Some((c, _)) if c.is_numeric() => Next::Digit,
            Some(_) => Next::Other,
        };
        let mut we = q;
        while we < len && we - q < MAX_WORD && b[we].is_ascii_alphabetic() {
            we += 1;
        }
        After {
            ws,
            class,
            paren,
            word: (q, we),
        }
    }

    /// The word ending just before the period at `c`: letters, digits, internal periods and
    /// `°`/`º`, without leading punctuation. Bounded by [`MAX_WORD`].
    fn word_before(&self, c: usize) -> Word {
        let mut i = c;
        loop {
            if c - i > MAX_WORD {
                return Word {
                    start: i,
                    end: c,
                    long: true,
                };
            }
            let Some(ch) = self.char_before(i) else { break };
            if ch.is_alphanumeric() || ch == '.' || ch == '°' || ch == 'º' {
                i -= ch.len_utf8();
            } else {
                break;
            }
        }
        // Strip leading periods / symbols.
        while i < c {
            match self.char_at(i) {
                Some((ch, l)) if !ch.is_alphanumeric() => i += l,
                _ => break,
            }
        }
        Word {
            start: i,
            end: c,
            long: false,
        }
    }

    /// Is the whitespace-delimited token containing `c` URL- or e-mail-like? Cached per token
    /// so that a long token is scanned once.
    fn token_is_urlish(&mut self, c: usize) -> bool {
        let (ts, te, u) = self.tok;
        if c >= ts && c < te {
            return u;
        }
        let b = self.b;
        let mut s = c;
        while s > 0 && !is_ascii_ws(b[s - 1]) {
            s -= 1;
        }
        let mut e = c;
        while e < b.len() && !is_ascii_ws(b[e]) {
            e += 1;
        }
        let t = &b[s..e];
        let urlish = t
            .iter()
            .any(|&x| matches!(x, b'@' | b'/' | b'\\' | b'=' | b'#' | b'~' | b'_'))
            || t.windows(4).any(|w| w == b"www.");
        self.tok = (s, e, urlish);
        urlish
    }

    /// ASCII-lowercases `w` into `buf`; `None` if too long.
    #[inline]
    fn lower<'b>(&self, w: (usize, usize), buf: &'b mut [u8; MAX_WORD]) -> Option<&'b [u8]> {
        let s = self.b.get(w.0..w.1)?;
        if s.is_empty() || s.len() > MAX_WORD {
            return None;
        }
        let dst = &mut buf[..s.len()];
        for (d, &x) in dst.iter_mut().zip(s) {
            *d = x.to_ascii_lowercase();
        }
        Some(dst)
    }

    // ----- terminal punctuation ------------------------------------------------------------

    /// A terminal cluster starting at `c`. Returns the scan position after it.
    fn terminal(&mut self, c: usize) -> usize {
        let b = self.b;
        let len = b.len();
        // Contiguous run of terminal characters.
        let mut e = c;
        let mut dots = 0usize;
        let mut qe = false;
        let mut ell = false;
        let mut wide = false;
        while e < len {
            match b[e] {
                b'.' => {
                    dots += 1;
                    e += 1;
                }
                b'?' | b'!' => {
                    qe = true;
                    e += 1;
                }
                0xE2 | 0xE3 | 0xEF => match self.multibyte_terminal(e) {
                    Some(Wide::Ellipsis) => {
                        ell = true;
                        e += 3;
                    }
                    Some(Wide::Exclaim) => {
                        qe = true;
                        e += 3;
                    }
                    Some(Wide::FullWidth) => {
                        qe = true;
                        wide = true;
                        e += 3;
                    }
                    None => break,
                },
                _ => break,
            }
        }
        let run_end = e;
        // Spaced dots: ". . ." (each " ." not followed by a word character).
        let mut spaced = 0usize;
        if !qe {
            while e + 1 < len
                && b[e] == b' '
                && b[e + 1] == b'.'
                && !matches!(b.get(e + 2), Some(x) if x.is_ascii_alphanumeric())
            {
                e += 2;
                spaced += 1;
                while e < len && b[e] == b'.' {
                    e += 1;
                    spaced += 1;
                }
            }
        }
        let before = self.char_before(c);
        let attached = before.is_some_and(|ch| !ch.is_whitespace());
        let (close, possessive) = self.skip_closers(e);
        let close = if self.sp.conv.trailing_citations && !possessive {
            self.citations_after(close)
        } else {
            close
        };
        let resume = close.max(e);
        if possessive {
            return resume;
        }
        let cut = if wide {
            // Full-width terminals need no space; only a lower-case continuation keeps going.
            (self.after(close).class != Next::Lower).then_some(close)
        } else if qe {
            self.question(c, run_end, close)
        } else if dots == 1 && !ell && spaced == 0 {
            self.period(c, close)
        } else {
            self.ellipsis(c, run_end, e, close, attached, dots, spaced)
        };
        if let Some(at) = cut {
            if !self.inside_quotation(at) {
                self.emit(at);
            }
        }
        resume
    }

    /// True when a boundary at `at` would cut a quotation that [`Quotations::Whole`]
    /// keeps. Boundaries are asked about in increasing order, so one cursor suffices.
    fn inside_quotation(&mut self, at: usize) -> bool {
        while let Some(&(_, close)) = self.quoted.get(self.next_quote) {
            if close >= at {
                break;
            }
            self.next_quote += 1;
        }
        self.quoted
            .get(self.next_quote)
            .is_some_and(|&(open, close)| open < at && at <= close)
    }

    /// `?`/`!` clusters (possibly mixed with dots).
    fn question(&mut self, c: usize, run_end: usize, close: usize) -> Option<usize> {
        if close == run_end && close < self.b.len() && self.is_ws_at(close).is_none() {
            return self.no_space(c, run_end);
        }
        let a = self.after(close);
        if !a.ws {
            return None;
        }
        match a.class {
            Next::Lower => {
                (self.sp.conv.lower_case_starts && close == run_end && !self.names_with_bang(c))
                    .then_some(close)
            }
            _ => Some(close),
        }
    }

    /// `!` ending a capitalised word inside a sentence is part of a name (`Jeopardy! host`,
    /// `Yahoo! users`), not a sentence end.
    fn names_with_bang(&mut self, c: usize) -> bool {
        if self.b[c] != b'!' {
            return false;
        }
        let w = self.word_before(c);
        let capital = self.b.get(w.start).is_some_and(u8::is_ascii_uppercase);
        self.advance_start(w.start);
        capital && !self.text[self.start..w.start].trim().is_empty()
    }

    /// True when the word `w` before a period is an ordinary word (by the statistics) and
    /// no abbreviation: its period ends a sentence even before a lower-case word.
    fn ordinary_before(&self, w: Word) -> bool {
        let wb = &self.b[w.start..w.end];
        if w.long || wb.len() < 2 || !wb.iter().all(u8::is_ascii_alphabetic) {
            return false;
        }
        let mut buf = [0u8; MAX_WORD];
        self.lower((w.start, w.end), &mut buf).is_some_and(|lw| {
            self.sp.abbrev_class(lw).is_none() && is_ordinary(self.sp.word_counts(lw))
        })
    }

    /// Citation marks after a sentence end (`. [6]`, `. [...]`, `. […]`): the position
    /// after them, or `p` when there are none.
    fn citations_after(&self, p: usize) -> usize {
        let b = self.b;
        let mut end = p;
        let mut q = p;
        loop {
            if b.get(q) == Some(&b' ') {
                q += 1;
            }
            if b.get(q) != Some(&b'[') {
                return end;
            }
            let inner = q + 1;
            let Some(close) = b[inner..b.len().min(inner + 16)]
                .iter()
                .position(|&x| x == b']')
            else {
                return end;
            };
            let body = &b[inner..inner + close];
            let numbered = body.first().is_some_and(u8::is_ascii_digit)
                && body
                    .iter()
                    .all(|&x| matches!(x, b'0'..=b'9' | b',' | b'-' | b' '));
            let omission = body == b"..." || body == "\u{2026}".as_bytes();
            if !(numbered || omission) {
                return end;
            }
            q = inner + close + 1;
            if !(q >= b.len() || is_ascii_ws(b[q]) || b[q] == b'[') {
                return end;
            }
            end = q;
        }
    }

    /// Ellipses: `...`, `…`, `. . .`, `word. . . .`.
    #[allow(clippy::too_many_arguments)]
    fn ellipsis(
        &mut self,
        c: usize,
        run_end: usize,
        e: usize,
        close: usize,
        attached: bool,
        dots: usize,
        spaced: usize,
    ) -> Option<usize> {
        let b = self.b;
        // Bracketed omission: [...] (...)
        if matches!(self.char_before(c), Some('[' | '(')) && matches!(b.get(e), Some(b']' | b')')) {
            return None;
        }
        let a = self.after(close);
        if !a.ws {
            return None;
        }
        if spaced > 0 && attached && run_end - c == 1 {
            // "word. . . . Next": the period ends the sentence, the ellipsis opens the next.
            return match a.class {
                Next::Upper => Some(c + 1),
                _ => None,
            };
        }
        let total = dots + spaced;
        if !attached {
            // Detached ellipsis marks an omission inside a sentence, unless it carries the
            // sentence's own period (". . . .").
            return (total >= 4 && spaced > 0 && a.class == Next::Upper).then_some(close);
        }
        match a.class {
            Next::Upper => Some(close),
            _ => None,
        }
    }

    /// No whitespace after the terminal: `world.Today`, `1,000.That`, but not `Jane.Doe@x`,
    /// `U.S.A`, `3.14`, `ASP.NET`.
    fn no_space(&mut self, c: usize, e: usize) -> Option<usize> {
        let b = self.b;
        let prev = *b.get(c.checked_sub(1)?)?;
        if !(prev.is_ascii_lowercase() || prev.is_ascii_digit()) {
            return None;
        }
        let n0 = *b.get(e)?;
        let n1 = *b.get(e + 1)?;
        if !(n0.is_ascii_uppercase() && n1.is_ascii_lowercase()) {
            return None;
        }
        if b[c] == b'.' {
            let w = self.word_before(c);
            let mut buf = [0u8; MAX_WORD];
            if !w.long {
                if let Some(lw) = self.lower((w.start, w.end), &mut buf) {
                    if self.sp.abbrev_class(lw).is_some() {
                        return None;
                    }
                }
            }
        }
        if self.token_is_urlish(c) {
            return None;
        }
        Some(e)
    }

    /// A single period at `c`; `close` is after any closing quotes/brackets.
    fn period(&mut self, c: usize, close: usize) -> Option<usize> {
        let b = self.b;
        let len = b.len();
        if close == c + 1 && close < len && self.is_ws_at(close).is_none() {
            // Something glued to the period.
            let n = b[c + 1];
            if n.is_ascii_digit() {
                return self.numbered_reference(c);
            }
            if n.is_ascii_alphabetic() {
                return self.no_space(c, c + 1);
            }
            return None;
        }
        let a = self.after(close);
        if !a.ws {
            return None;
        }
        if a.class == Next::End {
            return None;
        }
        let mut w = self.word_before(c);
        if w.start == w.end && c >= 2 && b[c - 1] == b' ' && b[c - 2].is_ascii_alphanumeric() {
            // Spaced punctuation (`Dr . Smith`, `home . then`): the period belongs to
            // the word before the space, and is judged as if attached to it.
            let spaced = self.word_before(c - 1);
            if spaced.start < spaced.end {
                w = spaced;
            }
        }
        if w.long || w.start == w.end {
            return (a.class != Next::Lower).then_some(close);
        }
        let wb = &b[w.start..w.end];
        // Enumeration markers: "1. ", "a. ", "1.)".
        if wb.len() <= 2 && close == c + 1 {
            if let Some((kind, value)) = marker_value(wb) {
                let word_start_ok = w.start == 0
                    || self.char_before(w.start).is_some_and(|ch| {
                        ch.is_whitespace() || self.bullet_at(w.start.saturating_sub(3)).is_some()
                    });
                let alpha_ok = kind == MarkerKind::Digit || wb.len() == 1;
                if word_start_ok && alpha_ok && a.class != Next::Digit {
                    let m = Marker {
                        kind,
                        delim: Delim::Period,
                        value,
                    };
                    if self.marker_seen(m, w.start, false) {
                        return None;
                    }
                }
            }
        } else if close == c + 2 && b[c + 1] == b')' && wb.len() <= 2 {
            if let Some((kind, value)) = marker_value(wb) {
                let m = Marker {
                    kind,
                    delim: Delim::PeriodParen,
                    value,
                };
                if self.marker_seen(m, w.start, true) {
                    return None;
                }
            }
        }
        if a.class == Next::Lower {
            return (self.sp.conv.lower_case_starts && close == c + 1 && self.ordinary_before(w))
                .then_some(close);
        }
        // Abbreviations and initials.
        let single_upper = wb.len() == 1 && wb[0].is_ascii_uppercase();
        let mut buf = [0u8; MAX_WORD];
        let class = if single_upper {
            Some(AMBIGUOUS)
        } else {
            self.lower((w.start, w.end), &mut buf)
                .and_then(|lw| self.sp.abbrev_class(lw))
                .or_else(|| is_dotted_letters(wb).then_some(AMBIGUOUS))
                .or_else(|| {
                    // "Tuesday.Mr." (missing space): look up the last segment alone.
                    let dot = memchr::memrchr(b'.', wb)?;
                    let seg = (w.start + dot + 1, w.end);
                    if seg.1 - seg.0 < 2 {
                        return None;
                    }
                    let mut buf2 = [0u8; MAX_WORD];
                    self.lower(seg, &mut buf2)
                        .and_then(|lw| self.sp.abbrev_class(lw))
                })
                .or_else(|| {
                    // Unlisted, but the corpus's own counts say its period is
                    // mostly an abbreviation's ("approx. 40", "Tel. 555"). Not
                    // the built-in counts: old books' periods are not today's
                    // (taken from them, UD English dev lost a paragraph).
                    if self.sp.corpus_abbrevs.is_empty() || !wb.iter().all(u8::is_ascii_alphabetic)
                    {
                        return None;
                    }
                    let mut buf3 = [0u8; MAX_WORD];
                    let lw = self.lower((w.start, w.end), &mut buf3)?;
                    self.sp
                        .corpus_abbrevs
                        .contains(&word_key(lw))
                        .then_some(AMBIGUOUS)
                })
        };
        let Some(class) = class else {
            return Some(close);
        };
        let hold = |st: &mut Self| {
            st.hold_end = close;
            None
        };
        if class & PREPOSITIVE != 0 {
            return hold(self);
        }
        if a.class == Next::Digit || a.class == Next::Other || a.paren {
            return hold(self);
        }
        // Next token is capitalised.
        if class & (NUMERIC | REGULAR) == 0 {
            // Ambiguous: break only before a sentence starter, a title, or a word the
            // statistics know as lower case (capitalised here because it starts one).
            if !self.starts_sentence(a) && !self.common_word_next(a) {
                return hold(self);
            }
        }
        if self.fronted_phrase(w.start) {
            return hold(self);
        }
        Some(close)
    }

    /// Period glued to digits: decimal numbers and versions (no break), or a numbered
    /// reference after a word (`science.12 The next`).
    fn numbered_reference(&mut self, c: usize) -> Option<usize> {
        let b = self.b;
        if c == 0 || !b[c - 1].is_ascii_lowercase() {
            return None;
        }
        let mut e = c + 1;
        while e < b.len() && e - c <= 3 && b[e].is_ascii_digit() {
            e += 1;
        }
        if e - c > 3 || !matches!(b.get(e), Some(b' ')) {
            return None;
        }
        let w = self.word_before(c);
        if w.long {
            return None;
        }
        let mut buf = [0u8; MAX_WORD];
        if let Some(lw) = self.lower((w.start, w.end), &mut buf) {
            if self.sp.abbrev_class(lw).is_some() || lw.contains(&b'.') {
                return None;
            }
        }
        let a = self.after(e);
        (a.class == Next::Upper && !self.token_is_urlish(c)).then_some(e)
    }

    /// Does the token described by `a` look like a sentence start (a starter word, or a
    /// title abbreviation such as `Mr.`), and not another initial (`J. R. R.`)?
    fn starts_sentence(&self, a: After) -> bool {
        let (ws, we) = a.word;
        let followed_by_period = self.b.get(we) == Some(&b'.');
        if we - ws == 1 && followed_by_period {
            return false; // another initial
        }
        let mut buf = [0u8; MAX_WORD];
        let Some(lw) = self.lower((ws, we), &mut buf) else {
            return false;
        };
        if followed_by_period
            && self
                .sp
                .abbrev_class(lw)
                .is_some_and(|k| k & PREPOSITIVE != 0)
        {
            return true;
        }
        // Only whole words: "I" in "I'm" counts, "In" in "Inc" does not.
        let boundary_after = !matches!(self.b.get(we), Some(x) if x.is_ascii_alphanumeric());
        boundary_after && self.sp.starters.contains(lw)
    }

    /// Is the token described by `a` a whole word that the statistics know as a common
    /// lower-case word, so that capitalised it starts a sentence?
    fn common_word_next(&self, a: After) -> bool {
        let (ws, we) = a.word;
        if we - ws < 2
            || matches!(self.b.get(we), Some(x) if x.is_ascii_alphanumeric() || *x == b'.')
        {
            return false;
        }
        // A run of capitalised words is a name or a title ("U.S.G. Academic Assembly"),
        // whatever its words are alone.
        let mut q = we;
        while q < self.b.len() && q - we < 4 && matches!(self.b[q], b' ' | b',' | b'-') {
            q += 1;
        }
        if q > we && self.b.get(q).is_some_and(u8::is_ascii_uppercase) {
            return false;
        }
        let mut buf = [0u8; MAX_WORD];
        // The corpus's own counts only: the built-in ones come from old books, whose
        // orthography knows nothing of "U.S. Senate" or "U.K. Panel" (taken from them,
        // both break; so did "A. Train").
        let Some(corpus) = self.sp.corpus.as_deref() else {
            return false;
        };
        self.lower((ws, we), &mut buf).is_some_and(|lw| {
            self.sp.abbrev_class(lw).is_none() && corpus.word(lw).is_some_and(is_common_lower)
        })
    }

    /// Is the current sentence, up to `w_start`, only a short fronted prepositional phrase
    /// (`At 5`, `In the`)?
    fn fronted_phrase(&mut self, w_start: usize) -> bool {
        self.advance_start(w_start);
        let mut s = self.start;
        // Skip opening quotes/brackets.
        while s < w_start {
            match self.char_at(s) {
                Some((ch, l)) if !ch.is_alphanumeric() => s += l,
                _ => break,
            }
        }
        if w_start <= s || w_start - s > 40 || !self.b[s].is_ascii_uppercase() {
            return false;
        }
        let head = &self.b[s..w_start];
        let mut words = head.split(|&x| is_ascii_ws(x)).filter(|x| !x.is_empty());
        let Some(first) = words.next() else {
            return false;
        };
        if words.count() > 2 {
            return false;
        }
        let mut buf = [0u8; MAX_WORD];
        match self.lower((s, s + first.len()), &mut buf) {
            Some(lw) => self.sp.fronting.contains(lw),
            None => false,
        }
    }
}

/// Value of an enumeration marker word: `1`..`99`, or a single ASCII letter.
fn marker_value(w: &[u8]) -> Option<(MarkerKind, u32)> {
    match w {
        [d @ b'0'..=b'9'] => Some((MarkerKind::Digit, u32::from(d - b'0'))),
        [d1 @ b'0'..=b'9', d2 @ b'0'..=b'9'] => Some((
            MarkerKind::Digit,
            u32::from(d1 - b'0') * 10 + u32::from(d2 - b'0'),
        )),
        [l @ b'a'..=b'z'] => Some((MarkerKind::Lower, u32::from(l - b'a') + 1)),
        [l @ b'A'..=b'Z'] => Some((MarkerKind::Upper, u32::from(l - b'A') + 1)),
        _ => None,
    }
}

/// Dotted letter groups such as `U.S`, `a.k.a`, `Ph.D` (segments of one or two ASCII letters,
/// at least one internal period).
fn is_dotted_letters(w: &[u8]) -> bool {
    let mut segs = 0;
    for seg in w.split(|&x| x == b'.') {
        if seg.is_empty() || seg.len() > 2 || !seg.iter().all(u8::is_ascii_alphabetic) {
            return false;
        }
        segs += 1;
    }
    segs >= 2
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn en() -> Splitter {
        Splitter::english()
    }

    fn split(text: &str) -> Vec<String> {
        en().split(text).into_iter().map(str::to_string).collect()
    }

    #[track_caller]
    fn check(cases: &[(&str, &[&str])]) {
        let sp = en();
        let mut failures = Vec::new();
        for (text, expected) in cases {
            let got = sp.split(text);
            if got != *expected {
                failures.push(format!(
                    "\n  text: {text:?}\n  want: {expected:?}\n  got:  {got:?}"
                ));
            }
        }
        assert!(
            failures.is_empty(),
            "{} failure(s):{}",
            failures.len(),
            failures.concat()
        );
    }

    #[test]
    fn spaced_periods_belong_to_the_word_before() {
        check(&[
            (
                "Our guide was Dr . Okafor from the museum.",
                &["Our guide was Dr . Okafor from the museum."],
            ),
            (
                "Ask Prof . Lindqvist about the survey.",
                &["Ask Prof . Lindqvist about the survey."],
            ),
            (
                "The ferry left at noon . Then the rain came.",
                &["The ferry left at noon .", "Then the rain came."],
            ),
            (
                "we waited by the house . then we walked home",
                &["we waited by the house .", "then we walked home"],
            ),
        ]);
    }

    #[test]
    fn inline_enumerations_stay_in_their_sentence() {
        check(&[
            (
                "Bring (1) a torch and (2) a map to the hut.",
                &["Bring (1) a torch and (2) a map to the hut."],
            ),
            (
                "The kit holds (a) rope, (b) pegs, (c) a tarp.",
                &["The kit holds (a) rope, (b) pegs, (c) a tarp."],
            ),
            (
                "Choose 1) the north path or 2) the river trail today.",
                &["Choose 1) the north path or 2) the river trail today."],
            ),
            // A list written on one line is still cut at each item.
            (
                "1) Pack the tent 2) Fold the chairs 3) Load the car",
                &["1) Pack the tent", "2) Fold the chairs", "3) Load the car"],
            ),
        ]);
    }

    #[test]
    fn lower_case_starts_of_informal_text() {
        check(&[
            // After an ordinary word's period, a lower-case word starts a sentence.
            (
                "we got there late. it was already dark.",
                &["we got there late.", "it was already dark."],
            ),
            (
                "Thanks for the letter. i loved the part about the lake.",
                &["Thanks for the letter.", "i loved the part about the lake."],
            ),
            // Not after an abbreviation, a single letter or a dotted group.
            (
                "Bring snacks, drinks etc. and a blanket.",
                &["Bring snacks, drinks etc. and a blanket."],
            ),
            (
                "The hall holds approx. two hundred people.",
                &["The hall holds approx. two hundred people."],
            ),
            ("Plan B. was never needed.", &["Plan B. was never needed."]),
            (
                "They met at 9 a.m. and talked.",
                &["They met at 9 a.m. and talked."],
            ),
            // After `?` and `!`, but not before a closing quote.
            (
                "is the pool open? we could swim.",
                &["is the pool open?", "we could swim."],
            ),
            (
                "stop it! you are scaring me.",
                &["stop it!", "you are scaring me."],
            ),
            (
                "\"Why not?\" she asked the guard.",
                &["\"Why not?\" she asked the guard."],
            ),
            // `!` ending a capitalised name inside a sentence is part of the name.
            (
                "He won twice on Jeopardy! last winter.",
                &["He won twice on Jeopardy! last winter."],
            ),
        ]);
    }

    #[test]
    fn citation_marks_belong_to_the_sentence_before() {
        check(&[
            (
                "He was born in 1801. [3] His father was a sailor.",
                &["He was born in 1801. [3]", "His father was a sailor."],
            ),
            (
                "The idea spread fast. [2][5] Few noticed at first.",
                &["The idea spread fast. [2][5]", "Few noticed at first."],
            ),
            (
                "The witness paused. [...] Then she went on.",
                &["The witness paused. [...]", "Then she went on."],
            ),
            (
                "The survey ended in May. [4]",
                &["The survey ended in May. [4]"],
            ),
            // A bracket that is not a citation still starts the next sentence.
            (
                "The vote was close. [Update: it passed.] Nobody expected it.",
                &[
                    "The vote was close.",
                    "[Update: it passed.]",
                    "Nobody expected it.",
                ],
            ),
        ]);
    }

    #[test]
    fn conventions_can_be_switched_off() {
        let lang = LangData::from_toml_str(EN_TOML).expect("en.toml");
        let off = Conventions {
            lower_case_starts: false,
            trailing_citations: false,
            ..Conventions::default()
        };
        let sp = Splitter::with_stats(&lang, WordStats::english(), off).expect("splitter");
        assert_eq!(
            sp.split("we got there late. it was dark. is it open? we could go."),
            ["we got there late. it was dark. is it open? we could go."]
        );
        assert_eq!(
            sp.split("He was born in 1801. [3] His father was a sailor."),
            ["He was born in 1801.", "[3] His father was a sailor."]
        );
        // Without statistics no word is known to be ordinary: only `?` and `!` cut.
        let bare = Splitter::new(&lang).expect("splitter");
        assert_eq!(
            bare.split("we got there late. it was dark. is it open? we could go."),
            [
                "we got there late. it was dark. is it open?",
                "we could go."
            ]
        );
    }

    fn with_conventions(conv: Conventions) -> Splitter {
        let lang = LangData::from_toml_str(EN_TOML).expect("en.toml");
        Splitter::with_stats(&lang, WordStats::english(), conv).expect("splitter")
    }

    #[test]
    fn quotations_split_or_kept_whole() {
        let text = "The guide turned round. \u{201C}Stay close. The path is narrow here.\u{201D} We followed her.";
        assert_eq!(
            en().split(text),
            [
                "The guide turned round.",
                "\u{201C}Stay close.",
                "The path is narrow here.\u{201D}",
                "We followed her."
            ]
        );
        let whole = with_conventions(Conventions {
            quotations: Quotations::Whole,
            ..Conventions::default()
        });
        assert_eq!(
            whole.split(text),
            [
                "The guide turned round.",
                "\u{201C}Stay close. The path is narrow here.\u{201D}",
                "We followed her."
            ]
        );
        // ASCII marks pair by their side; a quotation ending mid-sentence stays in it.
        assert_eq!(
            whole.split("She wrote \"Back soon. Feed the cat.\" on the door. Nobody did."),
            [
                "She wrote \"Back soon. Feed the cat.\" on the door.",
                "Nobody did."
            ]
        );
        // Nested marks: the outer pair decides.
        assert_eq!(
            whole.split(
                "He said, \u{201C}They shouted \"Run!\" Then all was quiet.\u{201D} It was late."
            ),
            [
                "He said, \u{201C}They shouted \"Run!\" Then all was quiet.\u{201D}",
                "It was late."
            ]
        );
        // A quote that does not close in its paragraph (a speech running on) cuts as
        // usual, and a blank line forgets it.
        assert_eq!(
            whole.split("\u{201C}We begin at dawn. Bring water.\n\nThe march was long. \u{201D}Rest now.\u{201D}"),
            [
                "\u{201C}We begin at dawn.",
                "Bring water.",
                "The march was long.",
                "\u{201D}Rest now.\u{201D}"
            ]
        );
        // Inches and stray marks do not open a quotation.
        assert_eq!(
            whole.split("The board is 12\" wide. Cut it twice. Then \"sand it.\""),
            [
                "The board is 12\" wide.",
                "Cut it twice.",
                "Then \"sand it.\""
            ]
        );
    }

    #[test]
    fn single_newlines_auto_break_or_space() {
        let text =
            "Shopping list for the week\nTwo loaves of bread\nthe milk is in the\nfridge already.";
        assert_eq!(
            en().split(text),
            [
                "Shopping list for the week",
                "Two loaves of bread\nthe milk is in the\nfridge already."
            ]
        );
        let brk = with_conventions(Conventions {
            single_newlines: SingleNewlines::Break,
            ..Conventions::default()
        });
        assert_eq!(
            brk.split(text),
            [
                "Shopping list for the week",
                "Two loaves of bread",
                "the milk is in the",
                "fridge already."
            ]
        );
        let space = with_conventions(Conventions {
            single_newlines: SingleNewlines::Space,
            ..Conventions::default()
        });
        assert_eq!(
            space.split("The results were\nclear. We stopped the\nTrial early.\n- first item\n- second item"),
            [
                "The results were\nclear.",
                "We stopped the\nTrial early.",
                "- first item",
                "- second item"
            ]
        );
    }

    /// The profile of a small corpus of our own about markets and a history lesson.
    fn corpus_of(texts: &[&str]) -> Arc<CorpusProfile> {
        let mut p = CorpusProfile::new(1000);
        for (i, t) in texts.iter().enumerate() {
            p.observe(&crate::document::Document::new(format!("d{i}"), t));
        }
        Arc::new(p)
    }

    #[test]
    fn corpus_statistics_decide_what_follows_an_ambiguous_abbreviation() {
        let text = "Stocks slid across the U.S. Forecasters expect a rebound soon.";
        // Built in: "forecasters" is unknown, so the period of "U.S." is held.
        assert_eq!(split(text).len(), 1);
        let market = corpus_of(&[
            "Most forecasters were wrong again, and forecasters know it.",
            "The forecasters said rates would fall; other forecasters disagreed.",
            "Two forecasters left early. Several forecasters stayed behind.",
        ]);
        let sp = en().with_corpus(market);
        assert_eq!(
            sp.split(text),
            [
                "Stocks slid across the U.S.",
                "Forecasters expect a rebound soon."
            ]
        );
        // A name (capitalised inside sentences in the corpus) still follows the period.
        let history = corpus_of(&[
            "Rome grew under Octavian, and later Octavian ruled alone.",
            "The senate feared Octavian; some praised Octavian, others Octavian's rivals.",
            "Octavian won. Soon Octavian was Augustus and Octavian was feared.",
        ]);
        let text = "The war ended in 31 B.C. Octavian then ruled alone.";
        assert_eq!(en().with_corpus(history).split(text).len(), 1);
        // An unlisted abbreviation the corpus knows holds before a number.
        let site = corpus_of(&[
            "Each site has a loc. number; the loc. code is on the gate.",
            "Ask at the desk for the loc. map, and loc. signs show the way.",
        ]);
        let text = "Meet at the depot, Loc. 14 near the gate.";
        assert_eq!(split(text).len(), 2);
        assert_eq!(en().with_corpus(site).split(text).len(), 1);
        // An empty profile changes nothing.
        assert_eq!(en().with_corpus(corpus_of(&[])).split(text).len(), 2);
    }

    #[test]
    fn word_statistics_parse_and_reject_bad_lines() {
        let stats = WordStats::from_tsv(
            "# comment\nword\tplain\tperiod\tperiod_lower\tlower\tupper_mid\n\
             lake\t50\t10\t0\t60\t0\netc\t0\t40\t12\t40\t0\nrare\t1\t1\t0\t2\t0\n",
        )
        .expect("valid");
        assert!(stats.is_ordinary(b"lake"));
        assert!(!stats.is_ordinary(b"etc"));
        assert!(!stats.is_ordinary(b"rare"));
        let err = WordStats::from_tsv("word\tplain\nlake\t5\tx\n").unwrap_err();
        assert!(err.to_string().contains("line 2"), "{err}");
        // The shipped statistics know everyday words and no listed abbreviation.
        let en = WordStats::english();
        assert!(en.is_ordinary(b"town"));
        assert!(!en.is_ordinary(b"etc"));
        assert!(!en.is_ordinary(b"mr"));
    }

    #[test]
    fn splitter_is_send_sync() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Splitter>();
    }

    #[test]
    fn basic_terminals() {
        check(&[
            (
                "Good morning. The train is late.",
                &["Good morning.", "The train is late."],
            ),
            (
                "Where is the key? It is under the mat.",
                &["Where is the key?", "It is under the mat."],
            ),
            (
                "Look out! The shelf is falling.",
                &["Look out!", "The shelf is falling."],
            ),
            ("Wow!! What a view.", &["Wow!!", "What a view."]),
            (
                "Seriously?! Who said that?",
                &["Seriously?!", "Who said that?"],
            ),
            ("Really‼ Yes.", &["Really‼", "Yes."]),
            (
                "Test strange period．Does it work．",
                &["Test strange period．", "Does it work．"],
            ),
            (
                "これは文です。次の文です。",
                &["これは文です。", "次の文です。"],
            ),
            (
                "Leave me alone!, he yelled. I am in the U.S. Army. Charles (Ind.) said he.",
                &[
                    "Leave me alone!, he yelled.",
                    "I am in the U.S. Army.",
                    "Charles (Ind.) said he.",
                ],
            ),
            (
                "He works at Yahoo! and Y!J. He speaks !Kung.",
                &["He works at Yahoo! and Y!J.", "He speaks !Kung."],
            ),
            (
                "In 1990. `So what?' asks Rep. Norman Dicks (D., Wash.), a member.",
                &[
                    "In 1990.",
                    "`So what?' asks Rep. Norman Dicks (D., Wash.), a member.",
                ],
            ),
            (
                "He writes for Yahoo! in the sports section.",
                &["He writes for Yahoo! in the sports section."],
            ),
            ("No terminal at all", &["No terminal at all"]),
            ("   ", &[]),
            ("", &[]),
            ("  Padded.   Both sides.  ", &["Padded.", "Both sides."]),
        ]);
    }

    #[test]
    fn abbreviations() {
        check(&[
            (
                "Mr. Smith met Dr. Jones at St. Mary's.",
                &["Mr. Smith met Dr. Jones at St. Mary's."],
            ),
            (
                "We climbed Mt. Kenya last spring.",
                &["We climbed Mt. Kenya last spring."],
            ),
            (
                "They met Pitt, Briggs & Co. at noon.",
                &["They met Pitt, Briggs & Co. at noon."],
            ),
            (
                "Ask Jane and co. They should know.",
                &["Ask Jane and co.", "They should know."],
            ),
            (
                "Apple Inc. reported results. Shares rose.",
                &["Apple Inc. reported results.", "Shares rose."],
            ),
            (
                "We sell apples, pears, etc. The list is long.",
                &["We sell apples, pears, etc.", "The list is long."],
            ),
            (
                "Bring fruit, e.g. Apples or pears.",
                &["Bring fruit, e.g. Apples or pears."],
            ),
            (
                "Bring fruit, i.e. apples, etc. and more.",
                &["Bring fruit, i.e. apples, etc. and more."],
            ),
            (
                "It opened on Jan. 5 last year.",
                &["It opened on Jan. 5 last year."],
            ),
            (
                "It opened in Jan. The crowds came.",
                &["It opened in Jan.", "The crowds came."],
            ),
            (
                "This is Martin Luther King Jr.'s speech.",
                &["This is Martin Luther King Jr.'s speech."],
            ),
            (
                "The table is on p. 212 of the report.",
                &["The table is on p. 212 of the report."],
            ),
            ("See No. 5 on the list.", &["See No. 5 on the list."]),
            (
                "Is it true? No. It is not.",
                &["Is it true?", "No.", "It is not."],
            ),
            ("The case is Roe v. Wade.", &["The case is Roe v. Wade."]),
            (
                "Call 555-1234 ext. 12 today.",
                &["Call 555-1234 ext. 12 today."],
            ),
            (
                "He earned a Ph.D. at Yale. Then he left.",
                &["He earned a Ph.D. at Yale.", "Then he left."],
            ),
            ("(Mr. Brown agreed.)", &["(Mr. Brown agreed.)"]),
            ("“Mr. Brown,” she said.", &["“Mr. Brown,” she said."]),
        ]);
    }

    #[test]
    fn multi_period_and_times() {
        check(&[
            (
                "They toured the U.K. last summer.",
                &["They toured the U.K. last summer."],
            ),
            (
                "My cousin works in the U.S. How does she like it?",
                &["My cousin works in the U.S.", "How does she like it?"],
            ),
            (
                "He reported to the U.S. Senate on Monday.",
                &["He reported to the U.S. Senate on Monday."],
            ),
            (
                "Prices in the U.S. rose for a decade.",
                &["Prices in the U.S. rose for a decade."],
            ),
            (
                "We met at 5 p.m. on Monday.",
                &["We met at 5 p.m. on Monday."],
            ),
            (
                "We met at 5 p.m. Then we left.",
                &["We met at 5 p.m.", "Then we left."],
            ),
            (
                "We met at 5 p.m. Sarah was late.",
                &["We met at 5 p.m.", "Sarah was late."],
            ),
            (
                "The U.K. Panel met. Finally he left the U.K. He went home.",
                &[
                    "The U.K. Panel met.",
                    "Finally he left the U.K.",
                    "He went home.",
                ],
            ),
            (
                "He left at 6 P.M. Mr. Smith stayed.",
                &["He left at 6 P.M.", "Mr. Smith stayed."],
            ),
            (
                "At 5 a.m. Mr. Smith went to the bank.",
                &["At 5 a.m. Mr. Smith went to the bank."],
            ),
            (
                "In the U.S. They drive on the right.",
                &["In the U.S. They drive on the right."],
            ),
            (
                "He is known a.k.a. the Boss.",
                &["He is known a.k.a. the Boss."],
            ),
        ]);
    }

    #[test]
    fn initials() {
        check(&[
            (
                "The letter was signed by Mary K. Dalton.",
                &["The letter was signed by Mary K. Dalton."],
            ),
            (
                "J. R. R. Tolkien wrote it.",
                &["J. R. R. Tolkien wrote it."],
            ),
            (
                "The book by J. A. Smith sold well.",
                &["The book by J. A. Smith sold well."],
            ),
            (
                "We make a good team, you and I. Did you see Albert I. Jones?",
                &[
                    "We make a good team, you and I.",
                    "Did you see Albert I. Jones?",
                ],
            ),
            (
                "He needs vitamin C. It helps.",
                &["He needs vitamin C.", "It helps."],
            ),
            ("Take the A. Train later.", &["Take the A. Train later."]),
        ]);
    }

    #[test]
    fn numbers() {
        check(&[
            ("Pi is 3.14 or so.", &["Pi is 3.14 or so."]),
            (
                "She has $1,000.50 in her bag.",
                &["She has $1,000.50 in her bag."],
            ),
            (
                "The ticket costs $42.50. It includes lunch.",
                &["The ticket costs $42.50.", "It includes lunch."],
            ),
            (
                "See section 5.2.1 for details.",
                &["See section 5.2.1 for details."],
            ),
            (
                "He was born in 1990. He grew up fast.",
                &["He was born in 1990.", "He grew up fast."],
            ),
            (
                "You can find it at N°. 1026.253.553. That is where.",
                &["You can find it at N°. 1026.253.553.", "That is where."],
            ),
            (
                "This is proven.12 The next claim fails.",
                &["This is proven.12", "The next claim fails."],
            ),
            (
                "This is proven.[12] The next claim fails.",
                &["This is proven.[12]", "The next claim fails."],
            ),
            (
                "Version 2.0.1 Released today.",
                &["Version 2.0.1 Released today."],
            ),
        ]);
    }

    #[test]
    fn urls_emails_files() {
        check(&[
            ("Write to sam.lee@mail.example.org. He answers quickly.", &["Write to sam.lee@mail.example.org.", "He answers quickly."]),
            ("Go to https://www.example.50.com/new-site/awesome_content.html. Please check it out.", &["Go to https://www.example.50.com/new-site/awesome_content.html.", "Please check it out."]),
            ("Open report.pdf and read it.", &["Open report.pdf and read it."]),
            ("Visit www.Example.com for more.", &["Visit www.Example.com for more."]),
            ("We use ASP.NET daily.", &["We use ASP.NET daily."]),
            ("See http://x.org/?q=Hello.World now.", &["See http://x.org/?q=Hello.World now."]),
        ]);
    }

    #[test]
    fn no_space_after_period() {
        check(&[
            (
                "We waited.Then it rained.Dr. Park ordered 2,500.That was too many.",
                &[
                    "We waited.",
                    "Then it rained.",
                    "Dr. Park ordered 2,500.",
                    "That was too many.",
                ],
            ),
            ("Great!Thanks a lot.", &["Great!", "Thanks a lot."]),
        ]);
    }

    #[test]
    fn quotes_and_brackets() {
        check(&[
            (
                "He looked up, 'That was close.' he whispered.",
                &["He looked up, 'That was close.' he whispered."],
            ),
            (
                "She turned to him, \"This is great.\" She held the book.",
                &[
                    "She turned to him, \"This is great.\"",
                    "She held the book.",
                ],
            ),
            (
                "He said “Stop.” Then he left.",
                &["He said “Stop.”", "Then he left."],
            ),
            ("He said ‘Stop!’ and left.", &["He said ‘Stop!’ and left."]),
            (
                "He teaches science (He worked as an engineer.) at the University.",
                &["He teaches science (He worked as an engineer.) at the University."],
            ),
            (
                "It is fine. (See below.) Then we go.",
                &["It is fine.", "(See below.)", "Then we go."],
            ),
            (
                "\"Why?\" \"Because.\" \"Fine.\"",
                &["\"Why?\"", "\"Because.\"", "\"Fine.\""],
            ),
            ("“Is it?” he asked.", &["“Is it?” he asked."]),
        ]);
    }

    #[test]
    fn ellipses() {
        check(&[
            (
                "It was over.... We drove home.",
                &["It was over....", "We drove home."],
            ),
            (
                "I was thinking… Then it hit me.",
                &["I was thinking…", "Then it hit me."],
            ),
            (
                "I was thinking… and then it hit me.",
                &["I was thinking… and then it hit me."],
            ),
            ("Wait ... what?", &["Wait ... what?"]),
            ("He said . . . I forget.", &["He said . . . I forget."]),
            (
                "It ended . . . . Next one.",
                &["It ended . . . .", "Next one."],
            ),
            (
                "It ended. . . . The next began.",
                &["It ended.", ". . . The next began."],
            ),
            (
                "Bohr [...] used the analogy [...] (Smith 55).",
                &["Bohr [...] used the analogy [...] (Smith 55)."],
            ),
            ("Done...", &["Done..."]),
            ("....", &["...."]),
        ]);
    }

    #[test]
    fn lists() {
        check(&[
            (
                "1.) Buy milk 2.) Call the bank",
                &["1.) Buy milk", "2.) Call the bank"],
            ),
            (
                "1) Check the tyres. 2) Fill the tank.",
                &["1) Check the tyres.", "2) Fill the tank."],
            ),
            (
                "1. Preheat the oven 2. Grease the tin",
                &["1. Preheat the oven", "2. Grease the tin"],
            ),
            (
                "• 3. Sand the board • 4. Paint it twice",
                &["• 3. Sand the board", "• 4. Paint it twice"],
            ),
            (
                "⁃4. Rinse the rice ⁃5. Boil the water",
                &["⁃4. Rinse the rice", "⁃5. Boil the water"],
            ),
            (
                "a. The first item b. The second item c. The third",
                &["a. The first item", "b. The second item", "c. The third"],
            ),
            (
                "Choose (a) red (b) blue now.",
                &["Choose (a) red", "(b) blue now."],
            ),
            (
                "His name is Mark E. Smith. a. here it is b. another c. one more\n They left.",
                &[
                    "His name is Mark E. Smith.",
                    "a. here it is",
                    "b. another",
                    "c. one more",
                    "They left.",
                ],
            ),
            (
                "a) here it is b) another\n They left. w) hello x) hello",
                &[
                    "a) here it is",
                    "b) another",
                    "They left.",
                    "w) hello",
                    "x) hello",
                ],
            ),
            (
                "i) Hello world. \nii) Hello world.\niii) Hello.",
                &["i) Hello world.", "ii) Hello world.", "iii) Hello."],
            ),
            (
                "(a) Hello world. (b) Hello world.",
                &["(a) Hello world.", "(b) Hello world."],
            ),
            (
                "Finally, this. 1. The first 2. The second 10. Not next",
                &[
                    "Finally, this.",
                    "1. The first",
                    "2. The second 10.",
                    "Not next",
                ],
            ),
            (
                "Steps:\n1. Open it\n2. Close it",
                &["Steps:", "1. Open it", "2. Close it"],
            ),
            (
                "Items:\n- apples\n- pears",
                &["Items:", "- apples", "- pears"],
            ),
            (
                "Items:\na) apples and more things\nb) pears",
                &["Items:", "a) apples and more things", "b) pears"],
            ),
            // Not enumerations.
            (
                "I have 2. The rest went away.",
                &["I have 2.", "The rest went away."],
            ),
            (
                "He scored 1. Then he scored 3. Done.",
                &["He scored 1.", "Then he scored 3.", "Done."],
            ),
            (
                "See figure 1) and 3) here.",
                &["See figure 1) and 3) here."],
            ),
        ]);
    }

    #[test]
    fn newlines() {
        check(&[
            (
                "The report was printed\nacross two lines by the converter.",
                &["The report was printed\nacross two lines by the converter."],
            ),
            (
                "The road was long \nand narrow at night.",
                &["The road was long \nand narrow at night."],
            ),
            (
                "ingredients\nbaking tray\nbowls, spoons\n",
                &["ingredients", "baking tray", "bowls, spoons"],
            ),
            (
                "First paragraph without end\n\nsecond one",
                &["First paragraph without end", "second one"],
            ),
            ("Mr.\n\nSmith", &["Mr.", "Smith"]),
            (
                "Title\nThe text starts here.",
                &["Title", "The text starts here."],
            ),
            ("Dear Mr.\nSmith, hello.", &["Dear Mr.\nSmith, hello."]),
            ("One.\r\nTwo.\r\n\r\nThree.", &["One.", "Two.", "Three."]),
            ("Line one\u{2029}Line two", &["Line one", "Line two"]),
            ("a\n \t \nb", &["a", "b"]),
        ]);
    }

    #[test]
    fn spans_are_trimmed_and_ordered() {
        let sp = en();
        let text = "  Hello there.  \n\n  General Kenobi!  ";
        let mut out = Vec::new();
        sp.split_into(text, &mut out);
        assert_eq!(out, vec![2..14, 20..35]);
        assert_eq!(&text[out[1].clone()], "General Kenobi!");
        // Appends without clearing.
        sp.split_into("A. B.", &mut out);
        assert_eq!(out.len(), 3);
    }

    #[test]
    fn lang_data_errors_name_the_key() {
        let err = LangData::from_toml_str("[abbreviations]\nregular = 5\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("regular"), "{err}");
        let err = LangData::from_toml_str("bogus = []\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("bogus"), "{err}");
        let err = LangData::from_toml_str("[abbreviations]\nprepositve = []\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("prepositve"), "{err}");
        let lang = LangData::from_toml_str("[abbreviations]\nregular = [\"a b\"]\n").unwrap();
        let err = Splitter::new(&lang).unwrap_err().to_string();
        assert!(
            err.contains("abbreviations.regular") && err.contains("a b"),
            "{err}"
        );
    }

    #[test]
    fn extend_abbreviations_takes_effect() {
        let mut lang = LangData::from_toml_str(EN_TOML).unwrap();
        let before = Splitter::new(&lang).unwrap();
        assert_eq!(before.split("Ask Cmdt. Morse now.").len(), 2);
        lang.extend_abbreviations(&["prepositive:Cmdt.".to_string(), "Xyz".to_string()]);
        let after = Splitter::new(&lang).unwrap();
        assert_eq!(
            after.split("Ask Cmdt. Morse now."),
            vec!["Ask Cmdt. Morse now."]
        );
        assert_eq!(after.split("Buy xyz. 5 left."), vec!["Buy xyz. 5 left."]);
        // Round-trips through serde.
        let s = toml::to_string(&lang).unwrap();
        assert!(LangData::from_toml_str(&s).is_ok());
    }

    #[test]
    fn empty_lang_data_still_splits() {
        let sp = Splitter::new(&LangData::default()).unwrap();
        assert_eq!(sp.split("One. Two? Three!"), vec!["One.", "Two?", "Three!"]);
    }

    #[test]
    fn pathological_inputs_are_linear() {
        use std::time::Instant;
        let sp = en();
        let mut out = Vec::new();
        let inputs: [String; 14] = [
            "a".repeat(10_000_000),
            ".".repeat(1_000_000),
            ". ".repeat(1_000_000),
            "a.".repeat(1_000_000),
            "a.B".repeat(1_000_000),
            "1) ".repeat(500_000),
            "\n".repeat(1_000_000),
            " \n".repeat(1_000_000),
            "x\n".repeat(1_000_000),
            "\"".repeat(100_000) + "." + &" ".repeat(1_000_000) + "A",
            "Mr. ".repeat(500_000),
            "•".repeat(500_000),
            "…".repeat(500_000),
            format!("{}.Ab", "a".repeat(1_000_000)).repeat(3),
        ];
        for s in &inputs {
            out.clear();
            let t = Instant::now();
            sp.split_into(s, &mut out);
            let el = t.elapsed();
            // Generous even for unoptimised builds; a quadratic pass would take hours.
            assert!(
                el.as_secs_f64() < 10.0,
                "input starting {:?} took {el:?}",
                &s[..8]
            );
            check_spans(s, &out);
        }
    }

    fn check_spans(text: &str, spans: &[Range<usize>]) {
        let mut last = 0;
        for r in spans {
            assert!(
                r.start >= last && r.start < r.end && r.end <= text.len(),
                "{r:?}"
            );
            let s = text.get(r.clone()).expect("span on char boundaries");
            assert_eq!(s, s.trim());
            last = r.end;
        }
    }

    #[test]
    fn exhaustive_small_alphabet() {
        // Every string of length <= 5 over an alphabet of tricky characters.
        let alphabet = [
            "a", "B", "1", ".", "?", " ", "\n", ")", "…", "•", "”", "’", "é", "\u{a0}", "'", "[",
        ];
        let sp = en();
        let mut out = Vec::new();
        let mut idx = [0usize; 5];
        for n in 1..=5 {
            idx.iter_mut().for_each(|x| *x = 0);
            loop {
                let s: String = idx[..n].iter().map(|&i| alphabet[i]).collect();
                out.clear();
                sp.split_into(&s, &mut out);
                check_spans(&s, &out);
                // Every non-whitespace character is covered by exactly one span.
                let covered: usize = out
                    .iter()
                    .map(|r| s[r.clone()].chars().filter(|c| !c.is_whitespace()).count())
                    .sum();
                assert_eq!(
                    covered,
                    s.chars().filter(|c| !c.is_whitespace()).count(),
                    "{s:?}"
                );
                let mut k = 0;
                loop {
                    if k == n {
                        break;
                    }
                    idx[k] += 1;
                    if idx[k] < alphabet.len() {
                        break;
                    }
                    idx[k] = 0;
                    k += 1;
                }
                if k == n {
                    break;
                }
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        #[test]
        fn never_panics_and_spans_are_valid(s in "\\PC{0,200}") {
            let sp = en();
            let mut out = Vec::new();
            sp.split_into(&s, &mut out);
            check_spans(&s, &out);
        }

        #[test]
        fn covers_all_text(s in "[a-zA-Z0-9 .?!\n()\"'…•“”’\\[\\]°-]{0,120}") {
            let sp = en();
            let mut out = Vec::new();
            sp.split_into(&s, &mut out);
            check_spans(&s, &out);
            let joined: String = out.iter().map(|r| &s[r.clone()]).collect::<Vec<_>>().concat();
            let strip = |t: &str| t.chars().filter(|c| !c.is_whitespace()).collect::<String>();
            proptest::prop_assert_eq!(strip(&joined), strip(&s));
        }
    }

    #[test]
    fn split_helper_matches_split_into() {
        let text = "One. Two.";
        assert_eq!(split(text), vec!["One.", "Two."]);
    }
}
