//! Stage 4: caption deduplication.
//!
//! Scrapers print an image caption twice (once as `alt`, once as the
//! caption) or glue the two copies into one line ("Ian ThomasIan Thomas").
//! A glued line is cut back to one copy, and a line equal to one of the
//! previous `window` kept paragraphs is removed; the first copy stays.

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
            stats.lines_edited += doc.rewrite_lines(|l, out| match unglue(l, min) {
                Some(one) => {
                    out.push_str(one);
                    true
                }
                None => false,
            }) as u64;
        }
        let window = self.cfg.window.get();
        // Decide first (indices of the last `window` kept lines, oldest
        // first), then remove: the comparison needs the kept lines' text.
        let lines = doc.lines();
        let mut repeated = vec![false; lines.len()];
        let mut recent: VecDeque<usize> = VecDeque::with_capacity(window + 1);
        // Long kept lines seen so far, for copies beyond the window.
        let mut long_seen: HashSet<&str, BuildHasherDefault<LineHasher>> = HashSet::default();
        let min_words = self.cfg.anywhere_min_words.get();
        for (i, line) in lines.iter().enumerate() {
            let text = line.text.as_str();
            if recent.iter().any(|&j| lines[j].text == text) || long_seen.contains(text) {
                repeated[i] = true;
                continue;
            }
            if text.split_whitespace().nth(min_words - 1).is_some() {
                long_seen.insert(text);
            }
            if recent.len() == window {
                recent.pop_front();
            }
            recent.push_back(i);
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
