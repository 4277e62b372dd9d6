//! Stage 1: Unicode and whitespace normalisation.
//!
//! Per line: no-break and other space separators (and tab) become a space;
//! zero-width characters, the BOM, the soft hyphen and C0/C1 controls are
//! dropped; the result is put in NFC; runs of spaces collapse to one and
//! the line is trimmed. Lines that end up empty are removed as `blank`:
//! the output re-creates paragraph breaks itself.
//!
//! Before any of that, while indentation and blank lines still show the
//! structure, the lines of hard-wrapped paragraphs are joined
//! ([`super::reflow`]) into one line of the document, which spans them:
//! it keeps the first one's number and counts as all of them, kept or
//! removed, so the accounting still counts input lines. Every later
//! stage sees paragraphs.
//!
//! Most lines of real text are ASCII without doubled spaces, or already
//! NFC; both cases are detected with one scan and cost nothing more.

use serde::{Deserialize, Serialize};
use unicode_normalization::{is_nfc_quick, IsNormalized, UnicodeNormalization};

use crate::document::{Document, Reason};
use crate::stage::reflow::{self, Reflow};
use crate::stage::Stage;
use crate::stats::StageStats;

/// Options of the `normalize` stage.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NormalizeConfig {
    /// Keep lines that are empty after normalisation instead of removing
    /// them as `blank` (default false: blank lines are only separators).
    #[serde(default)]
    pub keep_blank_lines: bool,
    /// Join the lines of hard-wrapped paragraphs: `auto` (default) where
    /// a document's lines break at a common width mid-sentence, `off`
    /// (every line a paragraph), `on` (every run of non-blank lines a
    /// paragraph, lists and indented blocks excepted).
    #[serde(default)]
    pub reflow: Reflow,
}

/// The built `normalize` stage.
#[derive(Debug, Clone)]
pub struct Normalize {
    keep_blank_lines: bool,
    reflow: Reflow,
}

impl NormalizeConfig {
    /// Builds the stage (nothing can fail).
    pub fn build(&self) -> Normalize {
        Normalize {
            keep_blank_lines: self.keep_blank_lines,
            reflow: self.reflow,
        }
    }
}

/// What to do with one character.
enum Action {
    Keep,
    Space,
    Drop,
}

fn classify(c: char) -> Action {
    match c {
        '\t'
        | '\u{a0}'
        | '\u{1680}'
        | '\u{2000}'..='\u{200a}'
        | '\u{202f}'
        | '\u{205f}'
        | '\u{3000}' => Action::Space,
        // Zero-width space/non-joiner/joiner, word joiner, BOM, soft hyphen.
        '\u{200b}'..='\u{200d}' | '\u{2060}' | '\u{feff}' | '\u{ad}' => Action::Drop,
        // C0 and C1 controls and DEL. Line breaks never reach here: the
        // document model splits on them.
        '\0'..='\u{1f}' | '\u{7f}'..='\u{9f}' => Action::Drop,
        _ => Action::Keep,
    }
}

/// True when a line is already normal: printable, no space other than a
/// single ASCII one between words, nothing to drop, and NFC. One scan over
/// the bytes; only non-ASCII characters are decoded, and the NFC quick
/// check starts at the first of them (an ASCII prefix is always NFC, and
/// ASCII characters never combine with what follows).
fn is_clean(line: &str) -> bool {
    // Built once: `memmem::find` builds a searcher on every call, and
    // this runs for every line.
    static DOUBLE_SPACE: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new("  "));
    let b = line.as_bytes();
    if b.first() == Some(&b' ') || b.last() == Some(&b' ') || DOUBLE_SPACE.find(b).is_some() {
        return false;
    }
    let mut first_non_ascii = None;
    let mut i = 0;
    while i < b.len() {
        // Printable ASCII in blocks of 16, a test the compiler vectorises.
        if let Some(block) = b.get(i..i + 16) {
            if block
                .iter()
                .fold(true, |ok, &c| ok & (c.wrapping_sub(0x20) < 0x5f))
            {
                i += 16;
                continue;
            }
        }
        let c = b[i];
        if c < 0x80 {
            if !(0x20..0x7f).contains(&c) {
                return false;
            }
            i += 1;
        } else {
            let Some(ch) = line[i..].chars().next() else {
                return false;
            };
            if !matches!(classify(ch), Action::Keep) {
                return false;
            }
            first_non_ascii.get_or_insert(i);
            i += ch.len_utf8();
        }
    }
    first_non_ascii.is_none_or(|at| is_nfc_quick(line[at..].chars()) == IsNormalized::Yes)
}

/// Normalises one line into `out` (cleared by the caller). Returns false
/// when the line is already normal, leaving `out` unspecified.
pub fn normalize_line(line: &str, out: &mut String) -> bool {
    if is_clean(line) {
        return false;
    }
    normalize_slow(line, out);
    out != line
}

/// The full mapping: what [`normalize_line`] does to a line that is not
/// already clean.
fn normalize_slow(line: &str, out: &mut String) {
    // Map characters and collapse spaces in one pass. Runs of printable
    // ASCII are copied whole: the usual reason to be here is a doubled
    // space after a full stop, not a character to map.
    out.reserve(line.len());
    let b = line.as_bytes();
    let mut pending_space = false;
    let mut first_non_ascii = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let (keep, len) = if (0x21..0x7f).contains(&c) {
            let run = b[i..]
                .iter()
                .position(|&c| !(0x21..0x7f).contains(&c))
                .unwrap_or(b.len() - i);
            (true, run)
        } else if c < 0x80 {
            // ASCII space and tab separate; other controls are dropped.
            pending_space |= c == b' ' || c == b'\t';
            (false, 1)
        } else {
            let ch = line[i..].chars().next().unwrap_or('\u{fffd}');
            match classify(ch) {
                Action::Drop => (false, ch.len_utf8()),
                Action::Space => {
                    pending_space = true;
                    (false, ch.len_utf8())
                }
                Action::Keep => {
                    first_non_ascii
                        .get_or_insert(out.len() + usize::from(pending_space && !out.is_empty()));
                    (true, ch.len_utf8())
                }
            }
        };
        if keep {
            if pending_space && !out.is_empty() {
                out.push(' ');
            }
            pending_space = false;
            out.push_str(&line[i..i + len]);
        }
        i += len;
    }
    if let Some(at) = first_non_ascii {
        if is_nfc_quick(out[at..].chars()) != IsNormalized::Yes {
            // NFC can't create spaces or controls, so the result stays
            // trimmed and collapsed.
            let mapped = std::mem::take(out);
            out.extend(mapped.nfc());
        }
    }
}

impl Stage for Normalize {
    fn name(&self) -> &'static str {
        "normalize"
    }

    fn apply(&self, doc: &mut Document, stats: &mut StageStats) {
        let lines = doc.lines().iter().map(|l| l.text.as_str());
        if let Some(joins) = reflow::joins(lines, self.reflow) {
            doc.join_lines(&joins);
        }
        stats.lines_edited += doc.rewrite_lines(normalize_line) as u64;
        if !self.keep_blank_lines {
            stats.lines_removed +=
                doc.remove_lines(self.name(), |_, t| t.is_empty().then_some(Reason::Blank)) as u64;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        let mut out = String::new();
        if normalize_line(s, &mut out) {
            out
        } else {
            s.to_string()
        }
    }

    #[test]
    fn table() {
        let cases = [
            // (name, input, expected)
            ("clean ascii untouched", "Hello world.", "Hello world."),
            (
                "nbsp to space",
                "Within just a few months\u{a0} of Mr Thomas",
                "Within just a few months of Mr Thomas",
            ),
            (
                "nbsp before dash collapses",
                "Britain’ –\u{a0} at least",
                "Britain’ – at least",
            ),
            ("trailing nbsp trimmed", "He left.\u{a0} ", "He left."),
            ("nbsp-only line empties", "\u{a0} ", ""),
            (
                "narrow nbsp and em space",
                "10\u{202f}kg\u{2003}net",
                "10 kg net",
            ),
            ("tab to space", "a\tb", "a b"),
            ("zero width dropped", "co\u{200b}op\u{feff}\u{ad}", "coop"),
            ("controls dropped", "bell\u{7}\u{1b}ed\u{85}", "belled"),
            ("runs of spaces", "  a   b  ", "a b"),
            ("nfc composes", "Cafe\u{301} cre\u{300}me", "Café crème"),
            (
                "already nfc non-ascii kept",
                "Les Misérables — “quoted”",
                "Les Misérables — “quoted”",
            ),
            ("hangul decomposed to nfc", "\u{1100}\u{1161}", "\u{ac00}"),
        ];
        for (name, input, want) in cases {
            assert_eq!(norm(input), want, "{name}");
        }
    }

    /// The mapping written the plain way, character by character: the
    /// oracle for the byte-level paths.
    fn reference(line: &str) -> String {
        let mut mapped = String::new();
        let mut pending_space = false;
        for c in line.chars() {
            match classify(c) {
                Action::Drop => {}
                Action::Space => pending_space = true,
                Action::Keep if c == ' ' => pending_space = true,
                Action::Keep => {
                    if pending_space && !mapped.is_empty() {
                        mapped.push(' ');
                    }
                    pending_space = false;
                    mapped.push(c);
                }
            }
        }
        mapped.nfc().collect()
    }

    #[test]
    fn fast_check_agrees_with_the_full_mapping() {
        // Every string of up to three characters from an alphabet of the
        // cases the scan must tell apart: spaces, marks that compose or
        // reorder, controls, characters to drop, Hangul jamo.
        let alphabet = [
            'a', ' ', '\t', '\u{a0}', 'é', 'e', '\u{301}', '\u{316}', '\u{7}', '\u{200b}', '’',
            '\u{ac00}', '\u{1100}', '\u{1161}', '\u{85}', '\u{7f}',
        ];
        let strings = crate::testutil::all_strings(&alphabet, 3);
        for s in &strings {
            let mut out = String::new();
            normalize_slow(s, &mut out);
            // The scan may send a clean line down the slow path (an NFC
            // "maybe"), never a line that would change past it.
            if is_clean(s) {
                assert_eq!(out, *s, "{s:?}");
            }
            assert_eq!(norm(s), out, "{s:?}");
            assert_eq!(out, reference(s), "{s:?}");
        }
    }

    #[test]
    fn idempotent_on_samples() {
        for s in ["  x\u{a0}\u{a0}y ", "e\u{301}\u{200b} z", "\t\t"] {
            let once = norm(s);
            assert_eq!(norm(&once), once);
        }
    }

    #[test]
    fn stage_removes_blank_lines_with_reason() {
        let mut doc = Document::new("d", "Title\n\u{a0}\n\nBody  text.");
        let mut stats = StageStats::default();
        NormalizeConfig::default()
            .build()
            .apply(&mut doc, &mut stats);
        let kept: Vec<_> = doc.lines().iter().map(|l| l.text.as_str()).collect();
        assert_eq!(kept, ["Title", "Body text."]);
        assert_eq!(stats.lines_removed, 2);
        assert_eq!(stats.lines_edited, 2);
        assert!(doc.removals().iter().all(|r| r.reason == Reason::Blank));
    }
}
