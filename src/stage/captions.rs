//! Stage 4: caption deduplication.
//!
//! Scrapers print an image caption twice (once as `alt`, once as the
//! caption) or glue the two copies into one line ("Ian ThomasIan Thomas").
//! A glued line is cut back to one copy, and a line equal to one of the
//! previous `window` kept paragraphs is removed; the first copy stays.
//! Lines are compared by a key (case folded, punctuation and spacing
//! ignored), so "Photo: A. Smith." and "photo: A Smith" are one caption.
//! Near-copies go too: a headline repeated with a site affix ("Title |
//! Site") and a pull quote, a sentence of a nearby paragraph printed on its
//! own line.

use std::collections::{HashSet, VecDeque};
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
    /// Only lines of at least this many words are compared within the
    /// window: one-word replies ("Yes.", "No.") and labels recur on their
    /// own. Default 2.
    #[serde(default = "default_window_min_words")]
    pub window_min_words: NonZeroUsize,
    /// A line made of two identical copies joined by a space ("Sunset over
    /// the bay Sunset over the bay"), each of at least this many words, is
    /// cut back to one copy (when `unglue` is on). Default 3.
    #[serde(default = "default_spaced_min_words")]
    pub spaced_min_words: NonZeroUsize,
    /// A line of at least 3 words equal to another kept line once a site
    /// affix of at most this many words is cut from one of them ("Title |
    /// Site", "Title - Site") is a copy; the later one goes. Default 5.
    #[serde(default = "default_affix_max_words")]
    pub affix_max_words: NonZeroUsize,
    /// A line of at least this many words found inside a longer line at
    /// most `pull_quote_distance` lines away is a pull quote. Default 8.
    #[serde(default = "default_min_repeat_words")]
    pub pull_quote_min_words: NonZeroUsize,
    /// How far (in lines) a pull quote may be from its paragraph. Default 8.
    #[serde(default = "default_pull_quote_distance")]
    pub pull_quote_distance: NonZeroUsize,
}

fn default_window_min_words() -> NonZeroUsize {
    NonZeroUsize::new(2).expect("2 is not zero")
}

fn default_spaced_min_words() -> NonZeroUsize {
    NonZeroUsize::new(3).expect("3 is not zero")
}

fn default_affix_max_words() -> NonZeroUsize {
    NonZeroUsize::new(5).expect("5 is not zero")
}

fn default_pull_quote_distance() -> NonZeroUsize {
    NonZeroUsize::new(8).expect("8 is not zero")
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
            window_min_words: default_window_min_words(),
            spaced_min_words: default_spaced_min_words(),
            affix_max_words: default_affix_max_words(),
            pull_quote_min_words: default_min_repeat_words(),
            pull_quote_distance: default_pull_quote_distance(),
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
    if line.len() % 2 != 0 || !line.is_char_boundary(half) {
        return None;
    }
    let (a, b) = line.split_at(half);
    if a != b || a.chars().count() < min_chars {
        return None;
    }
    let first = a.chars().next()?;
    (first.is_uppercase() || first.is_numeric()).then_some(a)
}

/// If `line` is two (or four, …) identical copies of at least `min_words`
/// words joined by one space, returns one copy. The copy must start with a
/// letter or digit: a row of "- - - - - -" is a rule line, not a caption.
pub fn unglue_spaced(line: &str, min_words: usize) -> Option<&str> {
    let mut one = unglue_spaced_once(line, min_words)?;
    while let Some(shorter) = unglue_spaced_once(one, min_words) {
        one = shorter;
    }
    Some(one)
}

fn unglue_spaced_once(line: &str, min_words: usize) -> Option<&str> {
    if !line.chars().next().is_some_and(char::is_alphanumeric) {
        return None;
    }
    let len = line.len();
    if len % 2 == 0 {
        return None;
    }
    let half = len / 2;
    if !line.is_char_boundary(half) || line.as_bytes()[half] != b' ' {
        return None;
    }
    let (a, b) = (&line[..half], &line[half + 1..]);
    (a == b && a.split_whitespace().nth(min_words - 1).is_some()).then_some(a)
}

/// The comparison key of a line: lower case, letters and digits only, one
/// space between words.
fn key(line: &str, out: &mut String) {
    out.clear();
    let mut gap = false;
    for c in line.chars() {
        if c.is_alphanumeric() {
            if gap && !out.is_empty() {
                out.push(' ');
            }
            gap = false;
            out.extend(c.to_lowercase());
        } else if c.is_whitespace() {
            gap = true;
        }
    }
}

/// The line without a trailing site affix (" | Site", " - Site", " — Site",
/// " :: Site") of at most `max_words` words, or None.
fn strip_affix(line: &str, max_words: usize) -> Option<&str> {
    let cut = [" | ", " - ", " – ", " — ", " :: ", " · ", " » "]
        .iter()
        .filter_map(|sep| line.rfind(sep).map(|i| (i, sep.len())))
        .max_by_key(|&(i, _)| i)?;
    let (head, tail) = (&line[..cut.0], &line[cut.0 + cut.1..]);
    let n = tail.split_whitespace().count();
    (n >= 1 && n <= max_words && head.split_whitespace().nth(2).is_some()).then_some(head)
}

/// Shaped like a pull quote: in quotes, or ending like a sentence (a
/// headline inside the document-title line is neither).
fn quote_shaped(line: &str) -> bool {
    let quotes = ['"', '\'', '“', '”', '‘', '’'];
    line.starts_with(quotes)
        || line
            .trim_end_matches(quotes)
            .ends_with(['.', '!', '?', '…'])
}

/// Hashes a whole line in one xxh3 call: the set of long lines holds
/// paragraphs, and std's SipHash over them was most of the stage's time.
#[derive(Default)]
struct LineHasher(u64);

impl Hasher for LineHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        self.0 = xxhash_rust::xxh3::xxh3_64_with_seed(bytes, self.0);
    }
}

impl Stage for Captions {
    fn name(&self) -> &'static str {
        "captions"
    }

    fn apply(&self, doc: &mut Document, stats: &mut StageStats) {
        if self.cfg.unglue {
            let min = self.cfg.min_glued_chars.get();
            let spaced = self.cfg.spaced_min_words.get();
            stats.lines_edited += doc.rewrite_lines(|l, out| {
                match unglue(l, min).or_else(|| unglue_spaced(l, spaced)) {
                    Some(one) => {
                        out.push_str(one);
                        true
                    }
                    None => false,
                }
            }) as u64;
        }
        let window = self.cfg.window.get();
        let window_min = self.cfg.window_min_words.get();
        let affix_max = self.cfg.affix_max_words.get();
        let pull_min = self.cfg.pull_quote_min_words.get();
        let pull_dist = self.cfg.pull_quote_distance.get();
        // Decide first (indices of the last `window` kept lines, oldest
        // first), then remove: the comparison needs the kept lines' text.
        let lines = doc.lines();
        let mut buf = String::new();
        let keys: Vec<String> = lines
            .iter()
            .map(|l| {
                key(&l.text, &mut buf);
                buf.clone()
            })
            .collect();
        let words: Vec<usize> = keys
            .iter()
            .map(|k| {
                if k.is_empty() {
                    0
                } else {
                    k.matches(' ').count() + 1
                }
            })
            .collect();
        let mut repeated = vec![false; lines.len()];
        let mut recent: VecDeque<usize> = VecDeque::with_capacity(window + 1);
        // Long kept lines seen so far, for copies beyond the window.
        let mut long_seen: HashSet<&str, BuildHasherDefault<LineHasher>> = HashSet::default();
        // Keys of kept lines of 3+ words, and of those with a site affix
        // without it: a line matching across the two is a near-copy.
        let mut plain: HashSet<&str, BuildHasherDefault<LineHasher>> = HashSet::default();
        let mut stripped_seen: HashSet<String, BuildHasherDefault<LineHasher>> = HashSet::default();
        let min_words = self.cfg.anywhere_min_words.get();
        for (i, line) in lines.iter().enumerate() {
            let k = keys[i].as_str();
            if k.is_empty() {
                continue;
            }
            let stripped = strip_affix(&line.text, affix_max).map(|h| {
                key(h, &mut buf);
                buf.clone()
            });
            let copy = (words[i] >= window_min && recent.iter().any(|&j| keys[j] == k))
                || long_seen.contains(k)
                || (words[i] >= 3 && stripped_seen.contains(k))
                || stripped
                    .as_ref()
                    .is_some_and(|s| plain.contains(s.as_str()));
            if copy {
                repeated[i] = true;
                continue;
            }
            if words[i] >= min_words {
                long_seen.insert(k);
            }
            if words[i] >= 3 {
                plain.insert(k);
            }
            if let Some(s) = stripped {
                stripped_seen.insert(s);
            }
            if recent.len() == window {
                recent.pop_front();
            }
            recent.push_back(i);
        }
        // Pull quotes, once the exact copies are known: distances count
        // the lines that stay, so that cleaning the output again finds the
        // same neighbours (the copies are gone then).
        let alive: Vec<usize> = (0..lines.len())
            .filter(|&i| !repeated[i] && !keys[i].is_empty())
            .collect();
        let mut pull = Vec::new();
        for (p, &i) in alive.iter().enumerate() {
            if words[i] < pull_min || !quote_shaped(&lines[i].text) {
                continue;
            }
            let padded = format!(" {} ", keys[i]);
            let near = &alive[p.saturating_sub(pull_dist)..(p + pull_dist + 1).min(alive.len())];
            if near.iter().any(|&j| {
                j != i && words[j] > words[i] + 3 && format!(" {} ", keys[j]).contains(&padded)
            }) {
                pull.push(i);
            }
        }
        for i in pull {
            repeated[i] = true;
        }
        if repeated.contains(&true) {
            stats.lines_removed += doc.remove_lines(self.name(), |i, _| {
                repeated[i].then_some(Reason::RepeatedLine)
            }) as u64;
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
        let t = "Pros and cons\na\nb\nc\nPros and cons";
        assert_eq!(run(t), ["Pros and cons", "a", "b", "c", "Pros and cons"]);
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
    fn keys_ignore_case_punctuation_and_spacing() {
        let t = "Photo: Marta Lindqvist.\nThe ferry left at dawn.\nphoto  marta lindqvist";
        assert_eq!(
            run(t),
            ["Photo: Marta Lindqvist.", "The ferry left at dawn."]
        );
    }

    #[test]
    fn short_replies_repeat_within_the_window() {
        let t = "\"Are you coming?\"\nYes.\n\"Tonight?\"\nYes.\nNo.\nNo.";
        assert_eq!(
            run(t),
            [
                "\"Are you coming?\"",
                "Yes.",
                "\"Tonight?\"",
                "Yes.",
                "No.",
                "No."
            ]
        );
    }

    #[test]
    fn spaced_self_join_is_halved() {
        let t = "Lifeboat crew at the harbour wall Lifeboat crew at the harbour wall\nThe crew trained on Sunday.";
        assert_eq!(
            run(t),
            [
                "Lifeboat crew at the harbour wall",
                "The crew trained on Sunday."
            ]
        );
        let four = "Boats in the harbour at dusk ".repeat(4);
        assert_eq!(run(four.trim_end()), ["Boats in the harbour at dusk"]);
        assert_eq!(run("- - - - - -"), ["- - - - - -"]);
        // Two-word doubles are names and phrases, not copies.
        assert_eq!(run("New York New York"), ["New York New York"]);
    }

    #[test]
    fn headline_with_a_site_affix_is_a_copy() {
        let t = "Harbour wall to be rebuilt by spring | Westhaven Mercury\nBy Jo Hart\nHarbour wall to be rebuilt by spring\nWork starts on Monday.";
        assert_eq!(
            run(t),
            [
                "Harbour wall to be rebuilt by spring | Westhaven Mercury",
                "By Jo Hart",
                "Work starts on Monday."
            ]
        );
        let t = "Harbour wall to be rebuilt by spring\nWork starts on Monday.\nHarbour wall to be rebuilt by spring - Westhaven Mercury";
        assert_eq!(
            run(t),
            [
                "Harbour wall to be rebuilt by spring",
                "Work starts on Monday."
            ]
        );
        // A long tail is not a site name.
        let t = "Results - the full list of this year's award winners in every category\nResults";
        assert_eq!(run(t).len(), 2);
    }

    #[test]
    fn pull_quote_repeating_a_nearby_paragraph_goes() {
        let para = "The harbour master said the old wall had held for a century, but nobody expected it to survive another winter of storms like the last one.";
        let quote = "\"Nobody expected it to survive another winter of storms like the last one\"";
        let t = format!("{quote}\n{para}\nWork starts on Monday.");
        assert_eq!(run(&t), [para, "Work starts on Monday."]);
        // A headline inside the document-title line is not a pull quote.
        let title = "Harbour wall to be rebuilt by spring after the storms";
        let t = format!("{title} | Westhaven Mercury and District News Online\n{title}\n{para}");
        assert_eq!(run(&t).len(), 3);
        // A sentence that only shares a few words stays.
        let other = "Nobody expected the ferry to run again before the summer season began.";
        let t = format!("{other}\n{para}");
        assert_eq!(run(&t), [other, para]);
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
