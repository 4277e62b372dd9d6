//! Stage 2: quote normalisation, as `quotes-policy.md` lays it out.
//!
//! Curly, low-9, reversed, prime and modifier-letter quotes map to ASCII
//! `'` and `"`; guillemets map only when paired in the line (a lone `»` is
//! a navigation arrow); LaTeX ``` ``…'' ``` and Unix `` `…' `` pairs map
//! only when an apostrophe closes the backtick; a doubled quote before or
//! after a word becomes one, while `""` elsewhere (code, empty strings) and
//! `"""` stay. The stage maps characters and never touches whitespace.
//!
//! Lines without any candidate byte (most ASCII text) are skipped after
//! one table-driven scan.

use serde::{Deserialize, Serialize};

use crate::document::Document;
use crate::stage::Stage;
use crate::stats::StageStats;

/// Options of the `quotes` stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct QuotesConfig {
    /// Map U+02BC (modifier letter apostrophe) to `'` like a typographic
    /// apostrophe (default true, as ftfy does).
    #[serde(default = "yes")]
    pub modifier_apostrophe: bool,
    /// Collapse a doubled quote before or after a word (`““We` → `"We`,
    /// `it,”” he` → `it," he`, `‘‘Big’’` → `"Big"`). Default true.
    #[serde(default = "yes")]
    pub collapse_doubled: bool,
    /// Map guillemet pairs (`«…»`, `»…«`, `‹…›`) to ASCII quotes. Default true.
    #[serde(default = "yes")]
    pub guillemets: bool,
    /// Map backtick pairs closed by an apostrophe (``` ``…'' ```, `` `…' ``).
    /// Default true.
    #[serde(default = "yes")]
    pub backticks: bool,
}

fn yes() -> bool {
    true
}

impl Default for QuotesConfig {
    fn default() -> Self {
        QuotesConfig {
            modifier_apostrophe: true,
            collapse_doubled: true,
            guillemets: true,
            backticks: true,
        }
    }
}

impl QuotesConfig {
    /// Builds the stage (nothing can fail).
    pub fn build(&self) -> Quotes {
        Quotes { cfg: self.clone() }
    }
}

/// The built `quotes` stage.
#[derive(Debug, Clone)]
pub struct Quotes {
    cfg: QuotesConfig,
}

/// Lead bytes of every character the stage may change: `"` (doubled),
/// `` ` `` (pairs closed by `'`), 0xC2 (« »), 0xCA (U+02BC) and 0xE2
/// (U+2018–201F, U+2032–2033, U+2039–203A). A plain comparison, so that
/// a test over a block of bytes vectorises.
const fn is_candidate(c: u8) -> bool {
    matches!(c, b'"' | b'`' | 0xC2 | 0xCA | 0xE2)
}

/// What a quote character is to the doubled-quote check of the fast path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `"`, U+201C–201F, and the double prime (which maps to `"`).
    Double,
    /// U+2018, which doubles with itself.
    Left,
    /// U+2019, which doubles with itself.
    Right,
    /// Other quotes that map to `'` and never double.
    Single,
    /// Not a quote.
    Other,
}

fn is_double(c: char) -> bool {
    matches!(c, '"' | '\u{201c}'..='\u{201f}')
}

fn is_word(c: Option<char>) -> bool {
    c.is_some_and(char::is_alphanumeric)
}

/// A character that may stand right before a closing quote.
fn ends_phrase(c: Option<char>) -> bool {
    c.is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | ',' | '!' | '?' | ';' | ':' | '…'))
}

/// Pairs of guillemets in a line, nested like brackets: an occurrence of
/// the same character as the innermost open one opens another level, the
/// other character closes it (so `«…»` and `»…«` both pair). Whatever is
/// left open at the end stays as it is, and since those are all the same
/// character, a second pass finds nothing more to pair.
fn pair_guillemets(chars: &[char], open: char, close: char, marks: &mut [Option<char>], to: char) {
    let mut stack: Vec<usize> = Vec::new();
    for (i, &c) in chars.iter().enumerate() {
        if c != open && c != close {
            continue;
        }
        match stack.last() {
            Some(&j) if chars[j] != c => {
                stack.pop();
                marks[j] = Some(to);
                marks[i] = Some(to);
            }
            _ => stack.push(i),
        }
    }
}

/// Backtick openers closed by an apostrophe: ``` `` ``` … `''` (or `’’`)
/// becomes `"` … `"`; a single `` ` `` … `'` becomes `'` … `'`. An
/// apostrophe between letters (`don't`) never closes, and a backtick in a
/// Markdown code span is closed by another backtick first, so it stays.
fn pair_backticks(chars: &[char], marks: &mut [Option<char>]) {
    // Every character the stage maps to `'` can close, so that a second
    // pass over the output sees the same closers as the first.
    let is_apos = |c: char| matches!(c, '\'' | '\u{2018}'..='\u{201b}' | '\u{2032}' | '\u{2bc}');
    let n = chars.len();
    let mut i = 0;
    while i < n {
        if chars[i] != '`' {
            i += 1;
            continue;
        }
        let run = chars[i..].iter().take_while(|&&c| c == '`').count();
        let before = i.checked_sub(1).map(|j| chars[j]);
        if run > 2 || is_word(before) {
            i += run;
            continue;
        }
        // Look for the closer before any other backtick.
        let mut k = i + run;
        let mut found = None;
        while k < n && chars[k] != '`' {
            if run == 2 && k + 1 < n && is_apos(chars[k]) && is_apos(chars[k + 1]) {
                found = Some(k);
                break;
            }
            if run == 1 && is_apos(chars[k]) {
                let inside_word = is_word(k.checked_sub(1).map(|j| chars[j]))
                    && is_word(chars.get(k + 1).copied());
                if !inside_word {
                    found = Some(k);
                    break;
                }
            }
            k += 1;
        }
        match found {
            Some(k) if k > i + run => {
                let to = if run == 2 { '"' } else { '\'' };
                for m in &mut marks[i..i + run] {
                    *m = Some('\u{0}');
                }
                marks[i] = Some(to);
                marks[k] = Some(to);
                if run == 2 {
                    marks[k + 1] = Some('\u{0}');
                }
                i = k + run;
            }
            _ => i += run,
        }
    }
}

impl Quotes {
    /// Normalises the quotes of one line into `out`. Returns false when
    /// nothing changes.
    ///
    /// Backtick pairing and doubled-quote collapsing depend on the
    /// characters around them, and mapping can create new neighbours
    /// (`’’»` becomes `""`). So a line whose output still has a backtick or
    /// a `""` is passed again until nothing changes: the stage is
    /// idempotent. Any other change in a further pass is impossible, since
    /// every other character the stage maps is gone. Each pass that
    /// changes something maps, drops or collapses a character, so this ends.
    pub fn normalize_line(&self, line: &str, out: &mut String) -> bool {
        if let Some(changed) = self.map_context_free(line, out) {
            return changed;
        }
        out.clear();
        self.normalize_full(line, out)
    }

    /// The fast path, for the common line whose quotes need no context:
    /// no backtick or guillemet, and no two quotes side by side that
    /// could be a doubled quote. Each quote then maps on its own, which is
    /// done with one scan over the bytes that copies everything between
    /// candidates. Returns `None`, with `out` unspecified, when the line
    /// needs the full path.
    fn map_context_free(&self, line: &str, out: &mut String) -> Option<bool> {
        let b = line.as_bytes();
        let mut copied = 0;
        let mut changed = false;
        // End and kind of the previous quote, to find doubled ones: the
        // full path collapses two adjacent double quotes, or ‘‘ / ’’.
        let mut prev: Option<(usize, Kind)> = None;
        let mut i = 0;
        while i < b.len() {
            // Sixteen bytes without a candidate at a time, a test the
            // compiler vectorises (most of a line is letters and spaces).
            if let Some(block) = b.get(i..i + 16) {
                if !block.iter().fold(false, |any, &c| any | is_candidate(c)) {
                    i += 16;
                    continue;
                }
            }
            if !is_candidate(b[i]) {
                i += 1;
                continue;
            }
            let (len, kind, to) = match (b[i], b.get(i + 1), b.get(i + 2)) {
                (b'"', ..) => (1, Kind::Double, None),
                (b'`', ..) => return None,
                (0xC2, Some(0xAB | 0xBB), _) => return None,
                (0xCA, Some(0xBC), _) if self.cfg.modifier_apostrophe => {
                    (2, Kind::Single, Some('\''))
                }
                (0xE2, Some(0x80), Some(&c)) => match c {
                    0x98 => (3, Kind::Left, Some('\'')),
                    0x99 => (3, Kind::Right, Some('\'')),
                    0x9A | 0x9B | 0xB2 => (3, Kind::Single, Some('\'')),
                    0x9C..=0x9F => (3, Kind::Double, Some('"')),
                    // A double prime is no doubled quote, but its `"`
                    // next to another would make one for a second pass.
                    0xB3 => (3, Kind::Double, Some('"')),
                    0xB9 | 0xBA => return None,
                    _ => (3, Kind::Other, None),
                },
                _ => (1, Kind::Other, None),
            };
            if kind != Kind::Other {
                if let Some((end, k)) = prev {
                    if end == i && k == kind && kind != Kind::Single {
                        return None;
                    }
                }
                prev = Some((i + len, kind));
            }
            if let Some(to) = to {
                if !changed {
                    out.clear();
                    out.reserve(line.len());
                    changed = true;
                }
                out.push_str(&line[copied..i]);
                out.push(to);
                copied = i + len;
            }
            i += len;
        }
        if changed {
            out.push_str(&line[copied..]);
        }
        Some(changed)
    }

    /// The full path: pairs guillemets and backticks, collapses doubled
    /// quotes, maps the rest; repeated until nothing changes.
    fn normalize_full(&self, line: &str, out: &mut String) -> bool {
        if !self.normalize_once(line, out) {
            return false;
        }
        let mut next = String::new();
        while out.contains('`') || out.contains("\"\"") {
            next.clear();
            if !self.normalize_once(out, &mut next) {
                break;
            }
            std::mem::swap(out, &mut next);
        }
        true
    }

    fn normalize_once(&self, line: &str, out: &mut String) -> bool {
        if !line.bytes().any(is_candidate) {
            return false;
        }
        let chars: Vec<char> = line.chars().collect();
        // Decisions that need the whole line: guillemet and backtick pairs.
        // `Some('\0')` means "drop this character".
        let mut marks: Vec<Option<char>> = vec![None; chars.len()];
        if self.cfg.guillemets {
            pair_guillemets(&chars, '«', '»', &mut marks, '"');
            pair_guillemets(&chars, '‹', '›', &mut marks, '\'');
        }
        if self.cfg.backticks && chars.contains(&'`') {
            pair_backticks(&chars, &mut marks);
        }
        out.reserve(line.len());
        let n = chars.len();
        let mut i = 0;
        while i < n {
            let c = chars[i];
            let prev = i.checked_sub(1).map(|j| chars[j]);
            if self.cfg.collapse_doubled {
                if let Some(skip) = doubled_run(&chars, &marks, i, prev) {
                    out.push('"');
                    i += skip;
                    continue;
                }
            }
            if let Some(m) = marks[i] {
                if m != '\0' {
                    out.push(m);
                }
                i += 1;
                continue;
            }
            out.push(match c {
                '\u{2018}'..='\u{201b}' | '\u{2032}' => '\'',
                '\u{201c}'..='\u{201f}' | '\u{2033}' => '"',
                '\u{2bc}' if self.cfg.modifier_apostrophe => '\'',
                other => other,
            });
            i += 1;
        }
        out != line
    }
}

/// If a doubled quote starts at `i` and stands before a word (opener) or
/// after one (closer), returns its length (2) so the caller emits one `"`.
/// A paired guillemet that becomes `"` counts as a double quote here, so
/// that `«»` after a word collapses in the first pass, not the second.
fn doubled_run(
    chars: &[char],
    marks: &[Option<char>],
    i: usize,
    prev: Option<char>,
) -> Option<usize> {
    let dq = |j: usize| match marks[j] {
        Some(m) => m == '"',
        None => is_double(chars[j]),
    };
    let c = chars[i];
    let run = if dq(i) {
        // A run that started before `i` was already decided there.
        if i > 0 && dq(i - 1) {
            return None;
        }
        (i..chars.len()).take_while(|&j| dq(j)).count()
    } else if marks[i].is_none() && (c == '\u{2018}' || c == '\u{2019}') {
        if prev == Some(c) {
            return None;
        }
        chars[i..].iter().take_while(|&&x| x == c).count()
    } else {
        return None;
    };
    if run != 2 {
        return None;
    }
    let next = chars.get(i + 2).copied();
    let opener = !is_word(prev) && prev.is_none_or(|p| p != '\'') && is_word(next);
    let closer = ends_phrase(prev) && !is_word(next);
    let ok = match c {
        '\u{2018}' => opener,
        '\u{2019}' => closer,
        _ => opener || closer,
    };
    ok.then_some(2)
}

impl Stage for Quotes {
    fn name(&self) -> &'static str {
        "quotes"
    }

    fn apply(&self, doc: &mut Document, stats: &mut StageStats) {
        stats.lines_edited += doc.rewrite_lines(|l, out| self.normalize_line(l, out)) as u64;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> String {
        let mut out = String::new();
        if QuotesConfig::default().build().normalize_line(s, &mut out) {
            out
        } else {
            s.to_string()
        }
    }

    #[test]
    fn table() {
        let cases = [
            (
                "apostrophe in word",
                "Rotherham’s children’s",
                "Rotherham's children's",
            ),
            (
                "curly singles",
                "‘the most difficult job’",
                "'the most difficult job'",
            ),
            ("curly doubles", "“toxic” mess", "\"toxic\" mess"),
            ("low-9 and reversed", "„Ja‟ and ‚so‛", "\"Ja\" and 'so'"),
            ("german pair", "Er sagte: „Hallo“.", "Er sagte: \"Hallo\"."),
            (
                "doubled curly opener",
                "said: ““We included",
                "said: \"We included",
            ),
            ("doubled mixed opener", "said: “\"We", "said: \"We"),
            ("doubled ascii opener", "said: \"\"We", "said: \"We"),
            ("doubled closer", "it,”” he said", "it,\" he said"),
            (
                "two singles as a double",
                "the ‘‘Big Apple’’ again",
                "the \"Big Apple\" again",
            ),
            ("empty string in code stays", "x = \"\"", "x = \"\""),
            (
                "empty pair in prose stays",
                "an empty “” pair",
                "an empty \"\" pair",
            ),
            (
                "docstring stays",
                "\"\"\"Docstring.\"\"\"",
                "\"\"\"Docstring.\"\"\"",
            ),
            ("sql doubled apostrophe stays", "'O''Brien'", "'O''Brien'"),
            ("wiki italics stay", "''italic''", "''italic''"),
            ("primes", "5′ 11″ tall", "5' 11\" tall"),
            ("modifier apostrophe", "donʼt", "don't"),
            ("okina stays", "Hawaiʻi", "Hawaiʻi"),
            (
                "guillemets paired",
                "« Bonjour » dit-il",
                "\" Bonjour \" dit-il",
            ),
            (
                "reversed guillemets paired",
                "»Ja« sagte er",
                "\"Ja\" sagte er",
            ),
            ("single guillemets", "‹oui›", "'oui'"),
            ("lone guillemet is an arrow", "Read more »", "Read more »"),
            ("nested guillemets", "« a « b » c »", "\" a \" b \" c \""),
            ("latex quotes", "``Quoted,'' he said", "\"Quoted,\" he said"),
            ("unix quotes", "use `make' here", "use 'make' here"),
            (
                "markdown code stays",
                "run `cargo test` now",
                "run `cargo test` now",
            ),
            ("markdown double code stays", "``x`y``", "``x`y``"),
            ("fence stays", "```rust", "```rust"),
            ("backtick in word stays", "don`t", "don`t"),
            (
                "backtick skips inner apostrophe",
                "`Don't,' she said",
                "'Don't,' she said",
            ),
            ("cjk brackets stay", "「こんにちは」", "「こんにちは」"),
            ("fullwidth stays", "＂x＂", "＂x＂"),
            ("dashes and ellipsis stay", "wait… – no—", "wait… – no—"),
            ("geresh stays", "צה״ל", "צה״ל"),
        ];
        for (name, input, want) in cases {
            assert_eq!(q(input), want, "{name}");
        }
    }

    #[test]
    fn fast_path_agrees_with_the_full_path() {
        // Every string of up to four characters from quotes, their
        // neighbours and look-alikes, under both apostrophe settings.
        let alphabet = [
            'a', ' ', '.', '"', '\'', '“', '”', '‘', '’', '„', '‟', '‚', '′', '″', 'ʼ', '«', '`',
            '—',
        ];
        let strings = crate::testutil::all_strings(&alphabet, 4);
        for modifier_apostrophe in [true, false] {
            let quotes = QuotesConfig {
                modifier_apostrophe,
                ..QuotesConfig::default()
            }
            .build();
            let (mut fast, mut full) = (String::new(), String::new());
            let mut mapped_fast = 0;
            for s in &strings {
                let Some(changed) = quotes.map_context_free(s, &mut fast) else {
                    continue;
                };
                mapped_fast += usize::from(changed);
                full.clear();
                assert_eq!(changed, quotes.normalize_full(s, &mut full), "{s:?}");
                if changed {
                    assert_eq!(fast, full, "{s:?}");
                }
            }
            assert!(mapped_fast > strings.len() / 4, "{mapped_fast}");
        }
    }

    #[test]
    fn idempotent_and_ascii_untouched() {
        for s in [
            "“A” ‘b’ ““c",
            "« x » ``y''",
            "plain \"text\" 'here'",
            "`«‘Aa",
            "`x‹y›",
            "« « » »",
            "``a‘‘ `b’",
            "3.14«» ",
            "«3.14’’»",
        ] {
            let once = q(s);
            assert_eq!(q(&once), once, "{s}");
        }
        let mut out = String::new();
        assert!(!QuotesConfig::default()
            .build()
            .normalize_line("no quotes at all", &mut out));
    }
}
