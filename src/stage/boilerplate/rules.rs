//! Rule matching: literal rules by an anchored walk of an aho-corasick DFA
//! over a line's match key, and rule regexes behind a literal prefilter.

use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;
use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Anchored, Input, MatchKind};
use regex::{Regex, RegexBuilder, RegexSet, RegexSetBuilder};

use super::required;
use super::BoilerplateError;

/// Leading characters a match key drops: bullets, arrows, dashes, pipes.
pub(super) const LEAD_JUNK: &[char] = &[
    '•', '·', '‣', '▸', '▶', '›', '»', '-', '–', '—', '*', '|', '/', '>', '~', ' ',
];
/// Trailing characters a match key drops: sentence and list punctuation, arrows.
const TRAIL_JUNK: &[char] = &[
    '.', ':', '!', '?', '»', '›', '>', '|', '-', '–', '—', '*', '/', ' ', '▶', '→',
];

/// Writes `line` into `buf` with curly quotes, primes and "…" folded to ASCII and
/// tabs and no-break spaces turned into spaces.
pub(super) fn fold_key(line: &str, buf: &mut String) {
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

/// One rule regex.
#[derive(Debug)]
pub(super) struct RegexRule {
    pub(super) regex: Regex,
    pub(super) group: usize,
    pub(super) max_words: usize,
    /// Its clauses in [`RegexPrefilter`]: a line must hit all of them.
    pub(super) clauses: std::ops::Range<usize>,
}

/// One aho-corasick pass over a line that tells which rule regexes can match it
/// (see [`required`]).
#[derive(Debug)]
pub(super) struct RegexPrefilter {
    /// By ascending `max_words`: the literals of the rules that allow lines
    /// of up to that many words. Long lines are most of the text and only a
    /// few rules allow them, so their automaton is small and fast.
    tiers: Vec<PrefilterTier>,
    clause_count: usize,
    /// Searchers for [`required::FOLD_HAZARDS`], built once: a line with
    /// any non-ASCII character is searched for each.
    hazards: Vec<memchr::memmem::Finder<'static>>,
}

#[derive(Debug)]
struct PrefilterTier {
    max_words: usize,
    /// The literals (lower case) of [`LONG_LITERAL`] bytes or more;
    /// leftmost-longest. `None` when there are none.
    ac: Option<AhoCorasick>,
    /// By pattern index, the clauses a literal of `ac` satisfies: its own
    /// and those of the literals that are prefixes of it.
    clauses_of: Vec<Vec<usize>>,
    /// The shorter literals and their clauses, each found by a byte search.
    short: Vec<(memchr::memmem::Finder<'static>, Vec<usize>)>,
    /// Whether a short literal has a letter, so is looked for in the
    /// lowered line.
    short_needs_lower: bool,
}

/// Literals shorter than this are kept out of the automaton. Its SIMD
/// prefilter fingerprints every literal by as many leading bytes as the
/// shortest one has: one `>` or `@` among the literals made every `a`,
/// `c`, `s`, … of a paragraph a candidate to verify, most of the stage's
/// time on prose. A short literal is searched for on its own instead.
const LONG_LITERAL: usize = 3;

/// What a prefilter scan found.
#[derive(Debug, Clone, Copy)]
pub(super) enum Hits {
    /// Not scanned or no literal found: only rules without clauses can match.
    None,
    /// Some clauses hit, marked in the scratch.
    Some,
    /// A fold hazard: every rule may match.
    All,
}

impl RegexPrefilter {
    /// `rules`: each rule regex's `max_words` and its range of `clauses`.
    pub(super) fn build(
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
        let tiers = crate::par::par_map(&bounds, |&max_words| {
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
            let (long, short): (Vec<usize>, Vec<usize>) =
                (0..literals.len()).partition(|&i| literals[i].len() >= LONG_LITERAL);
            // Literals are lower case and lines are lowered before the
            // scan. With case-sensitive patterns and a non-overlapping
            // search the automaton runs its SIMD prefilter; the
            // case-insensitive overlapping scan ran at a seventh of the
            // speed on prose (measured).
            let ac = if long.is_empty() {
                None
            } else {
                Some(
                    AhoCorasickBuilder::new()
                        .match_kind(MatchKind::LeftmostLongest)
                        .kind(Some(AhoCorasickKind::DFA))
                        .build(long.iter().map(|&i| literals[i]))?,
                )
            };
            Ok::<_, BoilerplateError>(PrefilterTier {
                max_words,
                ac,
                clauses_of: long.iter().map(|&i| implied[i].clone()).collect(),
                short_needs_lower: short
                    .iter()
                    .any(|&i| literals[i].bytes().any(|b| b.is_ascii_alphabetic())),
                // Every occurrence of a short literal is found, so it needs
                // only its own clauses.
                short: short
                    .iter()
                    .map(|&i| {
                        let finder = memchr::memmem::Finder::new(literals[i]).into_owned();
                        (finder, clauses_of[i].clone())
                    })
                    .collect(),
            })
        });
        Ok(RegexPrefilter {
            tiers: tiers
                .into_iter()
                .collect::<Result<Vec<_>, BoilerplateError>>()?,
            clause_count: clauses.len(),
            hazards: required::FOLD_HAZARDS
                .iter()
                .map(|h| memchr::memmem::Finder::new(h).into_owned())
                .collect(),
        })
    }

    /// Marks in `hits` the clauses `line` satisfies, among those of the
    /// rules that allow its length.
    pub(super) fn scan(&self, line: &str, words: usize, scratch: &mut Scratch) -> Hits {
        let first = self.tiers.partition_point(|t| t.max_words < words);
        let Some(tier) = self.tiers.get(first) else {
            return Hits::None;
        };
        // The non-ASCII characters that `(?i)` folds to ASCII letters
        // would be missed in the ASCII-lowered line.
        if !line.is_ascii()
            && self
                .hazards
                .iter()
                .any(|h| h.find(line.as_bytes()).is_some())
        {
            return Hits::All;
        }
        // ASCII lower case, as the rules' `(?i)` sees it.
        let lower = &mut scratch.lower;
        let text: &[u8] = if tier.ac.is_some() || tier.short_needs_lower {
            lower.clear();
            lower.extend(line.bytes().map(|b| b.to_ascii_lowercase()));
            lower
        } else {
            line.as_bytes()
        };
        let hits = &mut scratch.hits;
        let mut found = Hits::None;
        let mut mark = |clauses: &[usize]| {
            if matches!(found, Hits::None) {
                hits.clear();
                hits.resize(self.clause_count, false);
                found = Hits::Some;
            }
            for &c in clauses {
                hits[c] = true;
            }
        };
        for (finder, clauses) in &tier.short {
            if finder.find(text).is_some() {
                mark(clauses);
            }
        }
        if let Some(ac) = &tier.ac {
            // Every start position of a literal, longest literal first:
            // together with the implied prefixes, that is every occurrence.
            let mut at = 0;
            while let Some(m) = ac.find(Input::new(text).span(at..text.len())) {
                if let Some(clauses) = tier.clauses_of.get(m.pattern().as_usize()) {
                    mark(clauses);
                }
                at = m.start() + 1;
            }
        }
        found
    }
}

/// Per-document buffers of the rule matcher.
#[derive(Debug, Default)]
pub(super) struct Scratch {
    /// The match key of a line.
    pub(super) key: String,
    /// Prefilter clause hits of a line.
    pub(super) hits: Vec<bool>,
    /// The line in ASCII lower case, for the prefilter.
    lower: Vec<u8>,
}

/// Every literal that `key` starts with, as (pattern index, length): a
/// walk of the anchored automaton from its start, which ends at the first
/// byte no literal continues with. A match state also lists the literals
/// that end there but start later (suffixes, for unanchored searches), so
/// only those as long as the walk so far count.
pub(super) fn key_prefixes(dfa: &DFA, key: &[u8], mut found: impl FnMut(usize, usize)) {
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
pub(super) fn compile_protect(patterns: &[String]) -> Result<RegexSet, BoilerplateError> {
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
pub(super) fn compile_rule(pattern: &str) -> Result<Regex, regex::Error> {
    RegexBuilder::new(&format!("(?i:{})", ascii_word_boundaries(pattern)))
        .dfa_size_limit(REGEX_DFA_CACHE)
        .build()
        .map_err(|rewritten| {
            Regex::new(&format!("(?i:{pattern})"))
                .err()
                .unwrap_or(rewritten)
        })
}

/// Rewrites `\b` and `\B` to their ASCII forms. A Unicode word boundary
/// makes the regex engine fall back from its DFA to the much slower PikeVM
/// on any non-ASCII text (ten times slower on paragraphs with curly
/// quotes); chrome phrases are English words, so ASCII boundaries lose
/// nothing.
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
pub(super) fn match_key<'b>(line: &str, buf: &'b mut String) -> &'b str {
    fold_key(line, buf);
    buf.trim_start_matches(LEAD_JUNK)
        .trim_end_matches(TRAIL_JUNK)
}

/// A line's key for literal matching and the length of its exact-match
/// part: the folded line without leading junk or trailing spaces, so that
/// a prefix that keeps its trailing punctuation ("See also:") matches the
/// bare header too, and the length of that key without trailing junk (the
/// [`match_key`]), which an exact literal must span.
pub(super) fn line_key<'b>(line: &str, buf: &'b mut String) -> (&'b str, usize) {
    fold_key(line, buf);
    let key = buf.trim_start_matches(LEAD_JUNK).trim_end();
    let exact = key.trim_end_matches(TRAIL_JUNK).len();
    (key, exact)
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
