//! Stage 4: caption deduplication.
//!
//! Scrapers print an image caption twice (once as `alt`, once as the
//! caption) or glue the two copies into one line ("Ian ThomasIan Thomas").
//! A glued line is cut back to one copy, and a line equal to one of the
//! previous `window` kept paragraphs is removed; the first copy stays.
//! Lines compare by a key that ignores case, punctuation and spacing, so
//! near-exact copies count; long lines compare across the whole document,
//! and the headline below a document-title line, and the short lines
//! around a paragraph printed twice, are copies too.

use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasherDefault, Hasher};
use std::num::NonZeroUsize;

use serde::{Deserialize, Serialize};

use crate::document::{Document, Reason};
use crate::stage::Stage;
use crate::stats::StageStats;

/// Options of the `captions` stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaptionsConfig {
    /// How many previous kept paragraphs a line is compared with (default 3).
    #[serde(default = "default_window")]
    pub window: NonZeroUsize,
    /// Cut a line glued to itself ("XX" → "X"). Default true.
    #[serde(default = "yes")]
    pub unglue: bool,
    /// Shortest half, in characters, that counts as a glued copy; shorter
    /// doubles ("Bora"+"Bora"?) are more often real words. Default 4.
    #[serde(default = "default_min_glued")]
    pub min_glued_chars: NonZeroUsize,
    /// A line with at least this many words that equals ANY earlier kept
    /// line of the document is dropped too, however far back: a sentence
    /// printed twice is a copy (a caption repeated under a gallery, a
    /// headline in a sticky header, a body printed twice), while short
    /// lines that legitimately recur ("Pros", a table header) are only
    /// compared within `window`. Default 8.
    #[serde(default = "default_min_repeat_words")]
    pub anywhere_min_words: NonZeroUsize,
    /// A line whose letters and digits (with one space between words) are
    /// fewer than this is never removed as a nearby repeat: short replies
    /// ("Yes.", "No, sir.") recur in dialogue. Default 10.
    #[serde(default = "default_min_repeat_chars")]
    pub min_repeat_chars: usize,
}

fn default_min_repeat_chars() -> usize {
    10
}

fn default_min_repeat_words() -> NonZeroUsize {
    NonZeroUsize::new(8).expect("8 is not zero")
}

fn default_window() -> NonZeroUsize {
    NonZeroUsize::new(3).expect("3 is not zero")
}

fn default_min_glued() -> NonZeroUsize {
    NonZeroUsize::new(4).expect("4 is not zero")
}

fn yes() -> bool {
    true
}

impl Default for CaptionsConfig {
    fn default() -> Self {
        CaptionsConfig {
            window: default_window(),
            unglue: true,
            min_glued_chars: default_min_glued(),
            anywhere_min_words: default_min_repeat_words(),
            min_repeat_chars: default_min_repeat_chars(),
        }
    }
}

impl CaptionsConfig {
    /// Builds the stage (nothing can fail).
    pub fn build(&self) -> Captions {
        Captions { cfg: self.clone() }
    }
}

/// The built `captions` stage.
#[derive(Debug, Clone)]
pub struct Captions {
    cfg: CaptionsConfig,
}

/// If `line` is some text glued to identical copies of itself, returns
/// one copy (a line glued three or four times comes back once, so the
/// stage is idempotent). The copy must start with an upper-case letter or
/// a digit, as captions do, so that words like "tsetse" survive.
pub fn unglue(line: &str, min_chars: usize) -> Option<&str> {
    let mut one = unglue_once(line, min_chars)?;
    while let Some(shorter) = unglue_once(one, min_chars) {
        one = shorter;
    }
    Some(one)
}

fn unglue_once(line: &str, min_chars: usize) -> Option<&str> {
    let half = line.len() / 2;
    if !line.is_char_boundary(half) {
        return None;
    }
    let (a, b) = if line.len() % 2 == 0 {
        line.split_at(half)
    } else {
        // Copies joined by a space are halved only when each has
        // MIN_SPACED_WORDS words: "Bora Bora" and "New York New York" stay.
        let (a, b) = (&line[..half], &line[half..]);
        let b = b.strip_prefix(' ')?;
        a.split_whitespace().nth(MIN_SPACED_WORDS - 1)?;
        (a, b)
    };
    if a != b || a.chars().count() < min_chars {
        return None;
    }
    let first = a.chars().next()?;
    (first.is_uppercase() || first.is_numeric()).then_some(a)
}

/// Fewest words in each of two copies joined by a space.
const MIN_SPACED_WORDS: usize = 3;

/// Passes on the keys' xxh3 hashes as they are: hashing them again with
/// std's SipHash was most of the stage's time.
#[derive(Default)]
struct Prehashed(u64);

impl Hasher for Prehashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

impl Stage for Captions {
    fn name(&self) -> &'static str {
        "captions"
    }

    fn apply(&self, doc: &mut Document, stats: &mut StageStats) {
        if self.cfg.unglue {
            let min = self.cfg.min_glued_chars.get();
            stats.lines_edited += doc.rewrite_lines(|l, out| match unglue(l, min) {
                Some(one) => {
                    out.push_str(one);
                    true
                }
                None => false,
            }) as u64;
        }
        // A removal shifts the window over lines the scan had kept, so the
        // scan runs again until it removes nothing: cleaning the output again
        // must find no more copies. Each round only removes, so it ends; the
        // cap bounds pathological pages.
        for _ in 0..MAX_ROUNDS {
            let mut repeated = self.copies(doc.lines());
            if repeated.iter().all(Option::is_none) {
                break;
            }
            stats.lines_removed += doc.remove_lines(self.name(), |i, _| repeated[i].take()) as u64;
        }
    }
}

impl Captions {
    /// Which of `lines` are copies, and why. Decided before anything is
    /// removed: the comparisons need the kept lines' text.
    fn copies(&self, lines: &[crate::document::Line]) -> Vec<Option<Reason>> {
        let window = self.cfg.window.get();
        let min_words = self.cfg.anywhere_min_words.get();
        let min_chars = self.cfg.min_repeat_chars;
        let mut repeated: Vec<Option<Reason>> = vec![None; lines.len()];
        // The last `window` kept lines, oldest first, with their keys' hashes.
        let mut recent: VecDeque<(usize, u64)> = VecDeque::with_capacity(window + 1);
        // Long kept lines seen so far (for copies beyond the window), by their
        // keys' hashes, and the pairs (first copy, later copy) they found.
        let mut long_seen: HashMap<u64, usize, BuildHasherDefault<Prehashed>> = HashMap::default();
        let mut copies: Vec<(usize, usize)> = Vec::new();
        // The document-title line that scrapers print first ("Headline | Site");
        // the headline printed again below it is its copy.
        let title = lines.first().map(|l| l.text.as_str()).filter(|t| {
            t.len() <= MAX_TITLE_BYTES && t.split_whitespace().nth(MAX_TITLE_WORDS).is_none()
        });
        let mut key = String::new();
        for (i, line) in lines.iter().enumerate() {
            let text = line.text.as_str();
            key.clear();
            push_key(text, &mut key);
            let hash = xxhash_rust::xxh3::xxh3_64(key.as_bytes());
            // A line of no letters or digits (a rule, a lone dash) has an
            // empty key: it repeats only as the same text.
            let nearby = if key.is_empty() {
                recent.iter().any(|&(j, _)| lines[j].text == text)
            } else {
                key.len() >= min_chars
                    && recent
                        .iter()
                        .any(|&(j, h)| h == hash && same_key(&lines[j].text, text))
            };
            if nearby {
                repeated[i] = Some(Reason::RepeatedLine);
                continue;
            }
            let long = text.split_whitespace().nth(min_words - 1).is_some();
            if long {
                if let Some(&first) = long_seen
                    .get(&hash)
                    .filter(|&&f| same_key(&lines[f].text, text))
                {
                    repeated[i] = Some(Reason::RepeatedLine);
                    copies.push((first, i));
                    continue;
                }
            }
            if i > 0 && title.is_some_and(|t| names_headline(t, text)) {
                repeated[i] = Some(Reason::Rule("title_copy".into()));
                continue;
            }
            if long {
                long_seen.insert(hash, i);
            }
            if recent.len() == window {
                recent.pop_front();
            }
            recent.push_back((i, hash));
        }
        for &(first, copy) in &copies {
            mark_copied_block(lines, &mut repeated, first, copy);
        }
        repeated
    }
}

/// Appends the comparison key of `line` to `out`: its letters and digits
/// in lower case, one space between words, so that copies that differ in
/// case, punctuation or spacing ("NFAPP's Newsletter : October 1997",
/// "NFAPP's Newsletter October 1997") compare equal.
fn push_key(line: &str, out: &mut String) {
    let mut gap = false;
    for c in line.chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else {
                out.extend(c.to_lowercase());
            }
        } else {
            gap = true;
        }
    }
}

/// True when `a` and `b` have the same comparison key (see [`push_key`]).
fn same_key(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    let (mut ka, mut kb) = (String::new(), String::new());
    push_key(a, &mut ka);
    push_key(b, &mut kb);
    ka == kb
}

/// Rounds of the copy scan at most (see [`Captions::apply`]).
const MAX_ROUNDS: usize = 4;

/// A document-title line longer than this is not one.
const MAX_TITLE_BYTES: usize = 300;
/// Nor one of more words than this.
const MAX_TITLE_WORDS: usize = 30;
/// How many kept lines around a copied paragraph are compared with those
/// around its first copy.
const BLOCK_REACH: usize = 3;

/// True when `line` is the headline that the document-title line `title`
/// names: the same text, or the text with a site name set off by a
/// separator (`Headline | Site`, `Site: Headline`, `Headline- Agency`).
/// The headline must have two words or more and be at least half the
/// title.
fn names_headline(title: &str, line: &str) -> bool {
    const SEPARATORS: &[char] = &[
        '|', '-', '\u{2013}', '\u{2014}', ':', '\u{bb}', '\u{b7}', '/', '~',
    ];
    if line.len() < 8 || line.split_whitespace().nth(1).is_none() {
        return false;
    }
    if same_key(title, line) {
        return true;
    }
    let set_off = |affix: &str| {
        let a = affix.trim();
        !a.is_empty()
            && (a.starts_with(SEPARATORS) || a.ends_with(SEPARATORS))
            && !a.trim_matches(SEPARATORS).trim().is_empty()
    };
    // The headline is the longest part: a site or section name, or a
    // subtitle after a colon, is never taken for it.
    let longest = |affix: &str| {
        affix
            .split(SEPARATORS)
            .all(|part| part.trim().len() <= line.len())
    };
    if let Some(rest) = title.strip_prefix(line) {
        if !longest(rest) {
            return false;
        }
        // A word cut in two is no headline ("Rain" in "Rainfall | Site").
        return rest.starts_with([' ', '|', '-', ':', '\u{2013}', '\u{2014}']) && set_off(rest);
    }
    if let Some(head) = title.strip_suffix(line) {
        if !longest(head) {
            return false;
        }
        // What precedes is a site or section name, not a sentence.
        return head.ends_with([' ', '|', ':', '\u{bb}'])
            && set_off(head)
            && !head
                .trim_end()
                .trim_end_matches(SEPARATORS)
                .ends_with(['.', '?', '!']);
    }
    false
}

/// A paragraph printed twice (a teaser above the article, a page printed
/// twice) takes its short neighbours with it: up to [`BLOCK_REACH`] kept
/// lines before and after the later copy that equal kept lines as near the
/// first copy (its headline, dateline, credit) are copies too. Short lines
/// elsewhere are only compared within the window, as lines that
/// legitimately recur are.
fn mark_copied_block(
    lines: &[crate::document::Line],
    repeated: &mut [Option<Reason>],
    first: usize,
    copy: usize,
) {
    let kept_near = |repeated: &[Option<Reason>], from: usize, back: bool| -> Vec<usize> {
        let it: Box<dyn Iterator<Item = usize>> = if back {
            Box::new((0..from).rev())
        } else {
            Box::new(from + 1..lines.len())
        };
        it.filter(|&k| repeated[k].is_none())
            .take(BLOCK_REACH)
            .collect()
    };
    for back in [true, false] {
        let around_first = kept_near(repeated, first, back);
        for k in kept_near(repeated, copy, back) {
            if k > first
                && around_first
                    .iter()
                    .any(|&f| f != k && f < k && lines[f].text == lines[k].text)
            {
                repeated[k] = Some(Reason::Rule("copied_block".into()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(text: &str) -> Vec<String> {
        let mut doc = Document::new("d", text);
        CaptionsConfig::default()
            .build()
            .apply(&mut doc, &mut StageStats::default());
        doc.lines().iter().map(|l| l.text.clone()).collect()
    }

    #[test]
    fn glued_caption_is_kept_once() {
        assert_eq!(run("Ian ThomasIan Thomas\nIan Thomas"), ["Ian Thomas"]);
    }

    #[test]
    fn repeat_within_window_is_dropped_first_copy_kept() {
        let t = "Caption. Picture: A\nPara one.\nCaption. Picture: A\nPara two.";
        assert_eq!(run(t), ["Caption. Picture: A", "Para one.", "Para two."]);
    }

    #[test]
    fn repeat_beyond_window_stays() {
        let t = "Pros\na\nb\nc\nPros";
        assert_eq!(run(t), ["Pros", "a", "b", "c", "Pros"]);
    }

    #[test]
    fn a_long_line_repeated_far_away_is_a_copy_a_short_one_is_not() {
        let caption = "New York's Brock Nelson puts the winning goal past the keeper";
        let t = format!("{caption}\nPros\nOne.\nTwo.\nThree.\nFour.\nPros\n{caption}");
        assert_eq!(
            run(&t),
            [caption, "Pros", "One.", "Two.", "Three.", "Four.", "Pros"]
        );
    }

    #[test]
    fn the_headline_below_its_document_title_is_a_copy() {
        let t = "Harbour ferry fares rise again | The Coast Gazette\nHarbour ferry fares rise again\nFares rise by a tenth from May.";
        assert_eq!(
            run(t),
            [
                "Harbour ferry fares rise again | The Coast Gazette",
                "Fares rise by a tenth from May."
            ]
        );
        // A site name or a subtitle after a colon is not the headline.
        let t =
            "Field Notes: Winter birds of the estuary\nField Notes\nThe first frost came early.";
        assert_eq!(run(t).len(), 3);
        let t = "Rights of tenants: a short guide\na short guide\nRead on.";
        assert_eq!(run(t).len(), 3);
    }

    #[test]
    fn a_paragraph_printed_twice_takes_its_headline_and_dateline_along() {
        let para =
            "The council approved the new bus lanes on Tuesday after a long debate about parking.";
        let t = format!(
            "Bus lanes approved\nMillbrook, May 3\n{para}\nOther news\nBus lanes approved\nMillbrook, May 3\n{para}\nMore follows."
        );
        assert_eq!(
            run(&t),
            [
                "Bus lanes approved",
                "Millbrook, May 3",
                para,
                "Other news",
                "More follows."
            ]
        );
    }

    #[test]
    fn removing_a_copied_block_exposes_the_repeats_it_hid() {
        // Once the copied block goes, the window reaches the earlier "back to
        // top"; a second clean must find nothing more to remove.
        let page = "DVDs on sale this week\n\
            Cast: Robert De Niro, Eddie Murphy, Rene Russo and Will Smith star in this comedy.\n\
            Rated: PG13 Color\n\
            Also Available: VHS\n\
            ^ back to top\n\
            A detective drama set in a seaside town.\n\
            Widescreen, with English and French soundtracks.\n\
            Audio commentary and theatrical trailers.\n\
            ^ back to top\n\
            Cast: Robert De Niro, Eddie Murphy, Rene Russo and Will Smith star in this comedy.\n\
            Rated: PG13 Color\n\
            Also Available: VHS\n\
            109 minutes, subtitles in English and Spanish.\n\
            ^ back to top";
        let once = run(page);
        assert_eq!(once.iter().filter(|l| *l == "^ back to top").count(), 2);
        assert_eq!(once.iter().filter(|l| l.starts_with("Rated")).count(), 1);
        assert_eq!(run(&once.join("\n")), once);
    }

    #[test]
    fn copies_compare_without_case_punctuation_or_spacing() {
        let t = "Parish Newsletter : March 2004\nThe spring fair raised more this year.\nparish newsletter   March 2004";
        assert_eq!(run(t).len(), 2);
        // A title with several site and section parts: the headline is the
        // longest of them.
        let t = "Lifeboat crew rescue two walkers | News | Coast | Weather\nLifeboat crew rescue two walkers\nThe pair were cut off by the tide.";
        assert_eq!(run(t).len(), 2);
        let t = "Cut off by the tide: a rescue at dawn : Mary Hale's Harbour Notes\nCut off by the tide: a rescue at dawn\nThe pair were cut off.";
        assert_eq!(run(t).len(), 2);
        // Rule lines repeat as the same text only.
        assert_eq!(run("* * *\nShe left.\n- - -").len(), 3);
        assert_eq!(run("* * *\nShe left.\n* * *").len(), 2);
    }

    #[test]
    fn short_replies_that_recur_in_dialogue_stay() {
        let t = "\"Did you lock the gate?\"\n\"Yes.\"\n\"And the shed?\"\n\"Yes.\"\n\"No, sir.\"\n\"No, sir.\"";
        assert_eq!(run(t).len(), 6);
        // A caption of a name is long enough to be a copy.
        assert_eq!(run("Ian Thomas\nA portrait.\nIan Thomas").len(), 2);
    }

    #[test]
    fn copies_joined_by_a_space_are_halved_when_long_enough() {
        assert_eq!(
            run("The old mill at dawn The old mill at dawn"),
            ["The old mill at dawn"]
        );
        for w in ["New York New York", "Bye bye", "Sing Sing"] {
            assert_eq!(run(w), [w], "{w}");
        }
    }

    #[test]
    fn words_that_look_doubled_stay() {
        for w in ["tsetse", "Bora Bora", "AbAb", "Murmur", "Pago"] {
            assert_eq!(run(w), [w], "{w}");
        }
    }

    #[test]
    fn unglue_respects_char_boundaries() {
        assert_eq!(unglue("ÉtéÉté", 2), Some("Été"));
        assert_eq!(unglue("é", 1), None);
        assert_eq!(
            unglue("Ian ThomasIan ThomasIan ThomasIan Thomas", 4),
            Some("Ian Thomas")
        );
    }
}
