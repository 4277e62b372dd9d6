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
    /// Drop pull quotes: a sentence line whose text (a quotation without
    /// its attribution) is inside a longer paragraph of the document.
    /// Default false: it reads every paragraph again, which costs about a
    /// quarter of a `clean` run on book text, for a few lines a page.
    #[serde(default)]
    pub pull_quotes: bool,
    /// Drop later copies of the page header: the short lines just above
    /// the first paragraph of prose (headline, byline, dateline) printed
    /// again further down (an author box, a sticky headline, "Headline |
    /// Section"). Default true.
    #[serde(default = "yes")]
    pub header_copies: bool,
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
            pull_quotes: false,
            header_copies: true,
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
        // Before any copy goes: the scan keeps the first copy, and a table
        // of contents comes first.
        let entries = contents_entries(doc.lines());
        if !entries.is_empty() {
            stats.lines_removed += doc.remove_lines(self.name(), |i, _| {
                entries
                    .binary_search(&i)
                    .is_ok()
                    .then(|| Reason::Rule("contents_entry".into()))
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
        // The last `window` kept lines, oldest first, with their [`ends`].
        let mut recent: VecDeque<(usize, Option<(char, char)>)> =
            VecDeque::with_capacity(window + 1);
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
            // Keys are built only for lines whose ends already agree.
            let sig = ends(text);
            let nearby = recent.iter().find(|&&(j, s)| {
                s == sig
                    && match sig {
                        // A line of no letters or digits (a rule, a lone
                        // dash) repeats only as the same text.
                        None => lines[j].text == text,
                        Some(_) => same_long_key(&lines[j].text, text, min_chars, &mut key),
                    }
            });
            if nearby.is_some() {
                repeated[i] = Some(Reason::RepeatedLine);
                continue;
            }
            let long = text.split_whitespace().nth(min_words - 1).is_some();
            // Far copies are exact: a paragraph printed twice is the same
            // text, and hashing its key would read every line again.
            let hash = if long {
                xxhash_rust::xxh3::xxh3_64(text.as_bytes())
            } else {
                0
            };
            if long {
                if let Some(&first) = long_seen.get(&hash).filter(|&&f| lines[f].text == text) {
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
            recent.push_back((i, sig));
        }
        for &(first, copy) in &copies {
            mark_copied_block(lines, &mut repeated, first, copy);
        }
        if self.cfg.header_copies {
            mark_header_copies(lines, &mut repeated, min_chars);
        }
        if self.cfg.pull_quotes {
            mark_pull_quotes(lines, &mut repeated, &mut key);
        }
        repeated
    }
}

/// Most words of a table-of-contents entry or a heading.
const MAX_HEADING_WORDS: usize = 12;
/// Fewest lines of a table of contents.
const MIN_CONTENTS_LINES: usize = 3;

fn is_heading_sized(line: &crate::document::Line) -> bool {
    /// Longer than any line of MAX_HEADING_WORDS words of text.
    const MAX_HEADING_BYTES: usize = 300;
    // Normalised text has one space between words, and every line of a
    // book comes through here: spaces are counted at SIMD speed.
    line.text.len() <= MAX_HEADING_BYTES
        && memchr::memchr_iter(b' ', line.text.trim().as_bytes())
            .nth(MAX_HEADING_WORDS - 1)
            .is_none()
}

/// True when line `b` followed line `a` in the input with no blank line
/// between.
fn adjacent(lines: &[crate::document::Line], a: usize, b: usize) -> bool {
    !lines[a].text.is_empty()
        && !lines[b].text.is_empty()
        && lines[a].origin + lines[a].span == lines[b].origin
}

/// The entries of a page's table of contents whose headings follow: the
/// entries of a block of [`MIN_CONTENTS_LINES`] or more short lines with no
/// blank line among them (a list of links) whose text
/// (compared by key) returns further down as a heading over a paragraph,
/// when at least [`MIN_CONTENTS_LINES`] and half of the block's lines do.
/// The heading is the article's and the entry the copy, where the copy
/// scan would keep the first. Found on the whole document at once, since
/// the cleaned text has neither the entries nor their block to find.
/// Returns their indices, ascending.
fn contents_entries(lines: &[crate::document::Line]) -> Vec<usize> {
    let mut out = Vec::new();
    // Blocks as (start, end): runs of adjacent short lines. Most lines of
    // prose stand apart, so the integer test of adjacency goes first.
    let mut blocks: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let mut end = i + 1;
        while end < lines.len() && adjacent(lines, end - 1, end) {
            end += 1;
        }
        // [i, end) is a chain of adjacent lines; its short runs are blocks.
        let mut k = i;
        while k < end {
            let start = k;
            while k < end && is_heading_sized(&lines[k]) {
                k += 1;
            }
            if k - start >= MIN_CONTENTS_LINES {
                blocks.push((start, k));
            }
            k += 1;
        }
        i = end;
    }
    if blocks.is_empty() {
        return out;
    }
    // Entries by their keys' hashes, each with its block; per block, the
    // entries whose heading followed. Dialogue puts a short line over a
    // paragraph everywhere in a book, so a heading is keyed only when its
    // first and last letters open and close an entry.
    let mut entries: HashMap<u64, Vec<(usize, usize)>, BuildHasherDefault<Prehashed>> =
        HashMap::default();
    // Bits of the entries' (first, last) letters.
    let mut sigs = [0u64; 64];
    let sig_bit = |(a, b): (char, char)| {
        let h = (u32::from(a).wrapping_mul(31) ^ u32::from(b)).wrapping_mul(0x9e37_79b1) >> 20;
        ((h >> 6) as usize, 1u64 << (h & 63))
    };
    let mut found: Vec<Vec<usize>> = vec![Vec::new(); blocks.len()];
    let mut key = String::new();
    let mut next_block = 0;
    let mut i = 0;
    while i < lines.len() {
        if let Some(&(start, end)) = blocks.get(next_block).filter(|b| b.0 == i) {
            for (j, line) in lines.iter().enumerate().take(end).skip(start) {
                let Some(sig) = ends(&line.text) else {
                    continue;
                };
                key.clear();
                push_key(&line.text, &mut key);
                let h = xxhash_rust::xxh3::xxh3_64(key.as_bytes());
                entries.entry(h).or_default().push((next_block, j));
                let (w, bit) = sig_bit(sig);
                sigs[w] |= bit;
            }
            next_block += 1;
            i = end;
            continue;
        }
        if !entries.is_empty()
            && ends(&lines[i].text).is_some_and(|sig| {
                let (w, bit) = sig_bit(sig);
                sigs[w] & bit != 0
            })
            && heads_paragraph(lines, i)
        {
            key.clear();
            push_key(&lines[i].text, &mut key);
            let h = xxhash_rust::xxh3::xxh3_64(key.as_bytes());
            for (block, j) in entries.remove(&h).unwrap_or_default() {
                found[block].push(j);
            }
        }
        i += 1;
    }
    // A block of headings and datelines shares a line or two with the
    // stories below it; a table of contents is mostly its headings.
    for ((start, end), found) in blocks.into_iter().zip(found) {
        if found.len() >= MIN_CONTENTS_LINES && 2 * found.len() >= end - start {
            out.extend(found);
        }
    }
    // Blocks come in document order, but a heading may list entries of
    // several blocks.
    out.sort_unstable();
    out
}

/// A short line set apart from the line above it and followed by a
/// paragraph: a section heading.
fn heads_paragraph(lines: &[crate::document::Line], i: usize) -> bool {
    /// Fewest words of the paragraph under a heading.
    const MIN_PARAGRAPH_WORDS: usize = 12;
    (i == 0 || !adjacent(lines, i - 1, i))
        && is_heading_sized(&lines[i])
        && lines[i + 1..]
            .iter()
            .find(|next| !next.text.is_empty())
            .is_some_and(|next| {
                next.text
                    .split_whitespace()
                    .nth(MIN_PARAGRAPH_WORDS - 1)
                    .is_some()
            })
}

/// Bytes of key on which a pull quote is first matched with the sentence
/// starts of the paragraphs.
const PROBE: usize = 32;
/// Bytes of key that [`HeadSet`] holds: a sentence start whose first
/// HEAD key bytes begin no pull quote of the document is not probed.
/// Four bytes told little on book text ("the ", "he w"); eight tell
/// apart most sentence openings.
const HEAD: usize = 8;

/// The first [`HEAD`] key bytes of the document's pull-quote candidates,
/// as bits of a table sized to them. Probing every sentence start of
/// every paragraph cost a quarter of a `clean` run on book text; few
/// sentence starts share their first words with a candidate.
struct HeadSet {
    bits: Vec<u64>,
    shift: u32,
}

impl HeadSet {
    /// A table of at least 16 bits per candidate, so that about one
    /// sentence start in sixteen is probed in vain.
    fn with_capacity(candidates: usize) -> Self {
        let bits = (candidates.max(1) * 16).next_power_of_two().max(1024);
        HeadSet {
            bits: vec![0; bits / 64],
            shift: 64 - bits.trailing_zeros(),
        }
    }

    fn slot(&self, head: &[u8]) -> (usize, u64) {
        let mut word = [0u8; HEAD];
        word.copy_from_slice(&head[..HEAD]);
        let h = u64::from_le_bytes(word).wrapping_mul(0x9e37_79b9_7f4a_7c15) >> self.shift;
        ((h >> 6) as usize, 1 << (h & 63))
    }

    fn insert(&mut self, head: &[u8]) {
        let (i, bit) = self.slot(head);
        self.bits[i] |= bit;
    }

    fn contains(&self, head: &[u8; HEAD]) -> bool {
        let (i, bit) = self.slot(head);
        self.bits[i] & bit != 0
    }
}

/// The first [`HEAD`] bytes of the key of `text` when they come from
/// ASCII alone (the key loop's rules, a byte at a time), or `None` when
/// it cannot tell cheaply (a non-ASCII character, too little text): the
/// caller then probes in full.
fn key_head(text: &str) -> Option<[u8; HEAD]> {
    let mut head = [0u8; HEAD];
    let (mut n, mut gap) = (0, false);
    for &b in text.as_bytes() {
        if !b.is_ascii() {
            return None;
        }
        let k = KEY_BYTE[b as usize];
        if k == 0 {
            gap = true;
            continue;
        }
        if gap && n > 0 {
            head[n] = b' ';
            n += 1;
            if n == HEAD {
                return Some(head);
            }
        }
        gap = false;
        head[n] = k;
        n += 1;
        if n == HEAD {
            return Some(head);
        }
    }
    None
}
/// Fewest words of a pull quote.
const MIN_PULL_WORDS: usize = 6;

/// Marks pull quotes: a kept line that is a sentence (it ends like one, or
/// opens with a quotation mark) and whose text appears inside a longer
/// kept paragraph of the document, before or after it. Headings and list
/// items do not end like sentences, so a paragraph that happens to start
/// with their words keeps them.
fn mark_pull_quotes(
    lines: &[crate::document::Line],
    repeated: &mut [Option<Reason>],
    buf: &mut String,
) {
    let mut quotes: HashMap<u64, Vec<usize>, BuildHasherDefault<Prehashed>> = HashMap::default();
    let mut candidate_heads: Vec<[u8; HEAD]> = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let text = line.text.as_str();
        let quote = quoted_part(text);
        if repeated[i].is_none()
            && quote.split_whitespace().nth(MIN_PULL_WORDS - 1).is_some()
            && reads_as_quote(text)
        {
            if let Some(h) = probe(quote, buf) {
                quotes.entry(h).or_default().push(i);
                let mut head = [0u8; HEAD];
                head.copy_from_slice(&buf.as_bytes()[..HEAD]);
                candidate_heads.push(head);
            }
        }
    }
    if quotes.is_empty() {
        return;
    }
    let mut heads = HeadSet::with_capacity(candidate_heads.len());
    for head in &candidate_heads {
        heads.insert(head);
    }
    let mut found: Vec<usize> = Vec::new();
    let (mut whole, mut part) = (String::new(), String::new());
    let mut starts = Vec::new();
    for (p, line) in lines.iter().enumerate() {
        if repeated[p].is_some() {
            continue;
        }
        let text = line.text.as_str();
        // Only the first PROBE key bytes after each sentence start are
        // keyed: keying whole paragraphs read all of a book's text again.
        starts.clear();
        starts.extend(quote_starts(text));
        starts.sort_unstable();
        starts.dedup();
        for &start in &starts {
            let rest = &text[start..];
            if key_head(rest).is_some_and(|head| !heads.contains(&head)) {
                continue;
            }
            // Later starts leave even less text to probe.
            let Some(h) = probe(rest, buf) else {
                break;
            };
            let Some(hit) = quotes.get(&h) else {
                continue;
            };
            for &q in hit {
                if q == p || repeated[q].is_some() || found.contains(&q) {
                    continue;
                }
                // The quote starts and ends where the paragraph pauses:
                // both keys are fenced by `|`.
                whole.clear();
                part.clear();
                whole.push('|');
                push_marked_key(text, &mut whole);
                if !whole.ends_with('|') {
                    whole.push('|');
                }
                part.push('|');
                push_marked_key(quoted_part(&lines[q].text), &mut part);
                if !part.ends_with('|') {
                    part.push('|');
                }
                if whole.len() > part.len() && whole.contains(part.as_str()) {
                    found.push(q);
                }
            }
        }
    }
    for q in found {
        repeated[q] = Some(Reason::Rule("pull_quote".into()));
    }
}

/// True when `line` reads as a quoted sentence: it ends with terminal
/// punctuation (before closing quotes) and is no list item. A teaser cut
/// short by an ellipsis is not one.
fn reads_as_quote(line: &str) -> bool {
    const CLOSERS: &[char] = &['"', '\'', '\u{201d}', '\u{2019}', ')'];
    let end = line.trim_end_matches(CLOSERS);
    end.ends_with(['.', '?', '!'])
        && !end.ends_with("..")
        && !line.starts_with(['-', '*', '\u{2022}', '\u{b7}'])
}

/// [`push_key`] that keeps where punctuation was: a run of characters
/// between words that holds anything but spaces becomes `|`, so that a
/// match can be held to start and end where the text pauses
/// ("handling SMS." is no quote of "handling SMS and calls.", while
/// "whole." quotes "whole,” says").
fn push_marked_key(line: &str, out: &mut String) {
    // 0: no gap, 1: spaces only, 2: punctuation.
    let mut gap = 0u8;
    for c in line.chars() {
        if c.is_alphanumeric() {
            match gap {
                2 => out.push('|'),
                1 if !out.is_empty() => out.push(' '),
                _ => {}
            }
            gap = 0;
            if c.is_ascii() {
                out.push(c.to_ascii_lowercase());
            } else {
                out.extend(c.to_lowercase());
            }
        } else if !c.is_whitespace() {
            gap = 2;
        } else if gap == 0 {
            gap = 1;
        }
    }
    if gap == 2 {
        out.push('|');
    }
}

/// The part of a pull quote that its paragraph holds: a quotation with a
/// short attribution after it ("“…,” Cooke said.") is matched by the
/// quotation alone, which the paragraph may attribute otherwise.
fn quoted_part(line: &str) -> &str {
    let Some(rest) = line.strip_prefix(['"', '\u{201c}']) else {
        return line;
    };
    match rest.rfind(['"', '\u{201d}']) {
        Some(close)
            if rest[close..]
                .split_whitespace()
                .nth(MAX_ATTRIBUTION_WORDS)
                .is_none() =>
        {
            &rest[..close]
        }
        _ => line,
    }
}

/// Most words of a pull quote's attribution ("he told the committee.").
const MAX_ATTRIBUTION_WORDS: usize = 8;

/// Hash of the first [`PROBE`] bytes (to a character boundary) of the key
/// of `text`, or `None` when its key is shorter.
fn probe(text: &str, buf: &mut String) -> Option<u64> {
    buf.clear();
    push_key_upto(text, buf, PROBE);
    if buf.len() < PROBE {
        return None;
    }
    let mut end = PROBE;
    while !buf.is_char_boundary(end) {
        end -= 1;
    }
    Some(xxhash_rust::xxh3::xxh3_64(&buf.as_bytes()[..end]))
}

/// Byte offsets in `line` where a quoted sentence can begin: the start, the
/// word after the end of a sentence or clause, and an opening quotation
/// mark after a space. Found from the punctuation (`memchr`), not by
/// looking at every space: books have a paragraph on every line.
fn quote_starts(line: &str) -> impl Iterator<Item = usize> + '_ {
    const CLOSERS: &[u8] = b"\"')";
    let b = line.as_bytes();
    let after_end = memchr::memchr3_iter(b'.', b'?', b'!', b)
        .chain(memchr::memchr2_iter(b':', b';', b))
        .filter_map(move |i| {
            let mut j = i + 1;
            // Closing quotes and brackets belong to the sentence that ends
            // (`”` and `’` are E2 80 9D and E2 80 99).
            loop {
                if b.get(j).is_some_and(|c| CLOSERS.contains(c)) {
                    j += 1;
                } else if b[j.min(b.len())..].starts_with(b"\xe2\x80\x9d")
                    || b[j.min(b.len())..].starts_with(b"\xe2\x80\x99")
                {
                    j += 3;
                } else {
                    break;
                }
            }
            let spaces = b.get(j..)?.iter().take_while(|&&c| c == b' ').count();
            (spaces > 0 && j + spaces < b.len()).then_some(j + spaces)
        });
    // `"` or `“` (E2 80 9C) after a space.
    let opening = memchr::memchr2_iter(b'"', 0xe2, b).filter(move |&i| {
        i > 0 && b[i - 1] == b' ' && (b[i] == b'"' || b[i..].starts_with(b"\xe2\x80\x9c"))
    });
    std::iter::once(0).chain(after_end).chain(opening)
}

/// Appends the comparison key of `line` to `out`: its letters and digits
/// in lower case, one space between words, so that copies that differ in
/// case, punctuation or spacing ("NFAPP's Newsletter : October 1997",
/// "NFAPP's Newsletter October 1997") compare equal.
fn push_key(line: &str, out: &mut String) {
    push_key_upto(line, out, usize::MAX);
}

/// [`push_key`], stopping once `out` holds `limit` bytes or more. ASCII
/// goes a byte at a time through a table: every line of every document
/// comes through here, and books are a paragraph a line.
fn push_key_upto(line: &str, out: &mut String, limit: usize) {
    let mut key = std::mem::take(out).into_bytes();
    let bytes = line.as_bytes();
    let mut gap = false;
    let mut i = 0;
    while i < bytes.len() && key.len() < limit {
        let b = bytes[i];
        let ascii = b.is_ascii();
        let c = if ascii {
            i += 1;
            let k = KEY_BYTE[b as usize];
            if k == 0 {
                gap = true;
                continue;
            }
            char::from(k)
        } else {
            let Some(c) = line[i..].chars().next() else {
                break;
            };
            i += c.len_utf8();
            if !c.is_alphanumeric() {
                gap = true;
                continue;
            }
            c
        };
        if gap && !key.is_empty() {
            key.push(b' ');
        }
        gap = false;
        if ascii {
            // `c` is already the lower-case byte from the table.
            key.push(c as u8);
        } else {
            let mut utf8 = [0u8; 4];
            for l in c.to_lowercase() {
                key.extend_from_slice(l.encode_utf8(&mut utf8).as_bytes());
            }
        }
    }
    // Whole characters only went in.
    *out = String::from_utf8(key).unwrap_or_default();
}

/// ASCII letters and digits in lower case; 0 for every other ASCII byte.
static KEY_BYTE: [u8; 128] = {
    let mut t = [0u8; 128];
    let mut b = 0;
    while b < 128 {
        let c = b as u8;
        if c.is_ascii_alphanumeric() {
            t[b] = c.to_ascii_lowercase();
        }
        b += 1;
    }
    t
};

/// The first and last letter or digit of `line`, in lower case: lines
/// with the same key have the same ends, so most pairs are told apart
/// without building keys. `None` when it has no letter or digit.
fn ends(line: &str) -> Option<(char, char)> {
    let lower = |c: char| c.to_lowercase().next().unwrap_or(c);
    let first = line.chars().find(|c| c.is_alphanumeric())?;
    let last = line.chars().rev().find(|c| c.is_alphanumeric())?;
    Some((lower(first), lower(last)))
}

/// True when `a` and `b` have the same key (see [`same_key`]) and it has
/// at least `min_chars` bytes.
fn same_long_key(a: &str, b: &str, min_chars: usize, key: &mut String) -> bool {
    if !same_key(a, b) {
        return false;
    }
    key.clear();
    push_key_upto(a, key, min_chars);
    key.len() >= min_chars
}

/// Lines longer than this compare as their exact text: near-copies that
/// differ only in case or punctuation are headlines, captions and short
/// lines, while building a key for every paragraph of a book was most of
/// the stage's time.
const MAX_KEYED_BYTES: usize = 200;

/// True when `a` and `b` have the same comparison key (see [`push_key`]),
/// or, when either is longer than [`MAX_KEYED_BYTES`], the same text.
fn same_key(a: &str, b: &str) -> bool {
    if a == b {
        return true;
    }
    if a.len() > MAX_KEYED_BYTES || b.len() > MAX_KEYED_BYTES {
        return false;
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
    // The same key has nearly the same length; most lines are far off and
    // skip building keys.
    if line.len().abs_diff(title.len()) <= (title.len() / 4).max(8) && same_key(title, line) {
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

/// Kept lines just above the first paragraph of prose that later lines are
/// compared with: the headline, byline and dateline sit there, over any
/// navigation that survived.
const HEADER_LINES: usize = 8;
/// Fewest words of the paragraph of prose that ends the page header.
const PROSE_WORDS: usize = 15;
/// Separators that set a site, section or author off a headline or a
/// byline ("Headline | Health", "Headline, by Author", "By Staff - ").
const HEADER_SEPARATORS: &[&str] = &[" | ", " - ", " \u{2013} ", " \u{2014} "];
/// Separators that set an author off a headline: tried on header lines
/// only, since a later line "U.S. Faculty by Department" is a heading of
/// its own, not "U.S. Faculty" again.
const BYLINE_SEPARATORS: &[&str] = &[" by ", " By ", ", by ", ", By "];
/// Of each separator, the occurrences whose head is tried.
const MAX_SPLITS: usize = 3;

/// A sentence of prose: [`PROSE_WORDS`] words or more, ending in terminal
/// punctuation (before any closing quote or bracket).
fn is_prose(text: &str) -> bool {
    text.split_whitespace().nth(PROSE_WORDS - 1).is_some()
        && text
            .trim_end()
            .trim_end_matches(['"', '\'', '\u{201d}', '\u{2019}', ')', ']'])
            .ends_with(['.', '!', '?'])
}

/// The keys by which a header line and its copies compare (see
/// [`push_key`]), into `out`: the line's key; the key without a leading
/// "by" (a byline printed again as the bare name); and the key of the part
/// before a [`HEADER_SEPARATORS`] separator (or, in a header line, a
/// [`BYLINE_SEPARATORS`] one) when it has two words or more and is more
/// than half the line. Keys under `min_chars` bytes are left out: short
/// lines ("Sports", "Yes, sir") recur for their own reasons, and so is a
/// line that ends in a comma: it runs on into the next ("Yours truly,").
fn header_keys(text: &str, min_chars: usize, in_header: bool, out: &mut Vec<String>) {
    out.clear();
    if text.trim_end().ends_with([',', ';']) {
        return;
    }
    let mut full = String::new();
    push_key(text, &mut full);
    if full.len() < min_chars.max(1) {
        return;
    }
    if let Some(name) = full.strip_prefix("by ") {
        if name.len() >= min_chars {
            out.push(name.to_string());
        }
    }
    let bylines = if in_header { BYLINE_SEPARATORS } else { &[] };
    for sep in HEADER_SEPARATORS.iter().chain(bylines) {
        for (at, _) in text.match_indices(sep).take(MAX_SPLITS) {
            let mut head = String::new();
            push_key(&text[..at], &mut head);
            if head.len() >= min_chars
                && 2 * head.len() > full.len()
                && head.contains(' ')
                && !out.contains(&head)
            {
                out.push(head);
            }
        }
    }
    out.push(full);
}

/// Most times a header line may return and still be a copy: a byline or a
/// dateline printed with every story of the page (or a name every teaser
/// carries) is that story's, not a copy of the first.
const MAX_HEADER_COPIES: usize = 2;

/// The page header printed again further down: a later short kept line
/// whose key (see [`header_keys`]) is one of a header line's, or that a
/// header line cut short by an ellipsis begins ("Zach Parise heating up,
/// scores twice as Wild…"), is a copy (`header_copy`). The header is the
/// last [`HEADER_LINES`] short kept lines above the first paragraph of
/// prose; a document without prose has none, so the verses of a song or a
/// list are never compared this way. A key that the header holds twice, or
/// that returns more than [`MAX_HEADER_COPIES`] times, is a field of every
/// story. Copies that head a story are the article's headings when two of
/// them do: a table of contents set with blank lines, whose entries the
/// headings follow.
fn mark_header_copies(
    lines: &[crate::document::Line],
    repeated: &mut [Option<Reason>],
    min_chars: usize,
) {
    let kept =
        |repeated: &[Option<Reason>], k: usize| repeated[k].is_none() && !lines[k].text.is_empty();
    // Every line of a book comes through here: spaces are counted at SIMD
    // speed (normalised text has one between words).
    let short = |k: usize| {
        let t = lines[k].text.as_bytes();
        t.len() <= MAX_TITLE_BYTES
            && memchr::memchr_iter(b' ', t)
                .nth(MAX_TITLE_WORDS - 1)
                .is_none()
    };
    let Some(body) = (0..lines.len()).find(|&k| kept(repeated, k) && is_prose(&lines[k].text))
    else {
        return;
    };
    // (key, header lines holding it, cut short by an ellipsis)
    let mut header: Vec<(String, usize, bool)> = Vec::new();
    let mut keys = Vec::new();
    for h in (0..body)
        .rev()
        .filter(|&k| kept(repeated, k) && short(k))
        .take(HEADER_LINES)
    {
        let text = lines[h].text.trim_end();
        let cut = text.ends_with('\u{2026}') || text.ends_with("...");
        header_keys(text, min_chars, true, &mut keys);
        for key in keys.drain(..) {
            match header.iter_mut().find(|(k, _, _)| *k == key) {
                Some(held) => held.1 += 1,
                None => {
                    let cut = cut && key.split(' ').nth(2).is_some();
                    header.push((key, 1, cut));
                }
            }
        }
    }
    header.retain(|&(_, n, _)| n == 1);
    if header.is_empty() {
        return;
    }
    // Every short line after the header comes through here (the dialogue
    // of a book): only one whose first key bytes, or those after a leading
    // "by", open a header key has its keys built.
    let opens: Vec<&[u8]> = header
        .iter()
        .map(|(k, _, _)| &k.as_bytes()[..k.len().min(HEAD)])
        .collect();
    // Before any key: the first letter, when it is ASCII, must open one.
    let mut first = [false; 128];
    for o in &opens {
        first[usize::from(o[0] & 0x7f)] = true;
    }
    let may_open = |text: &str| {
        let b = text.as_bytes();
        match b
            .iter()
            .position(|c| !c.is_ascii() || c.is_ascii_alphanumeric())
        {
            Some(at) if b[at].is_ascii() => {
                first[usize::from(b[at].to_ascii_lowercase())]
                    || (b[at..].len() > 3 && b[at..at + 3].eq_ignore_ascii_case(b"by "))
            }
            Some(_) => true,
            None => false,
        }
    };
    let mut probe = String::new();
    // (copy, header key, heads a story)
    let mut found: Vec<(usize, usize, bool)> = Vec::new();
    for k in body + 1..lines.len() {
        if !kept(repeated, k) || !short(k) || !may_open(&lines[k].text) {
            continue;
        }
        probe.clear();
        push_key_upto(&lines[k].text, &mut probe, HEAD + 3);
        let p = probe.as_bytes();
        let after_by = p.strip_prefix(b"by ");
        if !opens
            .iter()
            .any(|o| p.starts_with(o) || after_by.is_some_and(|q| q.starts_with(o)))
        {
            continue;
        }
        header_keys(&lines[k].text, min_chars, false, &mut keys);
        let hit = header.iter().position(|(hk, _, cut)| {
            keys.iter().any(|key| {
                key == hk
                    || (*cut
                        && key.len() > hk.len()
                        && key.starts_with(hk.as_str())
                        && key.as_bytes()[hk.len()] == b' ')
            })
        });
        if let Some(h) = hit {
            found.push((k, h, heads_story(lines, k)));
        }
    }
    let mut returns = vec![0usize; header.len()];
    for f in &found {
        returns[f.1] += 1;
    }
    found.retain(|f| returns[f.1] <= MAX_HEADER_COPIES);
    let contents = found.iter().filter(|f| f.2).nth(1).is_some();
    for (k, _, heads) in found {
        if !(contents && heads) {
            repeated[k] = Some(Reason::Rule("header_copy".into()));
        }
    }
}

/// A short line over a story: a paragraph (a line longer than a heading)
/// follows it, with at most two short lines (a byline, a dateline) between.
fn heads_story(lines: &[crate::document::Line], i: usize) -> bool {
    lines[i + 1..]
        .iter()
        .filter(|l| !l.text.is_empty())
        .take(3)
        .any(|l| !is_heading_sized(l))
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

    /// Through the pipeline's eyes: blank lines are gone, and the input
    /// line numbers (`origin`) tell which lines stood together.
    fn run_paragraphs(text: &str) -> Vec<String> {
        let mut doc = Document::new("d", text);
        doc.remove_lines("normalize", |_, l| l.is_empty().then_some(Reason::Blank));
        CaptionsConfig::default()
            .build()
            .apply(&mut doc, &mut StageStats::default());
        doc.lines().iter().map(|l| l.text.clone()).collect()
    }

    /// The headline, byline and dateline above the first paragraph, printed
    /// again further down (an author box, a headline with its section), are
    /// copies; fields of every story, verses, sign-offs and the headings of
    /// a contents list set with blank lines are not.
    #[test]
    fn the_page_header_printed_again_below_is_a_copy() {
        let para = |topic: &str| {
            format!("The council met on Tuesday evening and agreed a plan for {topic}, which the mayor will sign next week.")
        };
        let doc = format!(
            "Council backs new plan for the harbour, by Annabel Leeming\n\nBy Annabel Leeming\n\n\
             March 4, 2021\n\n{}\n\n{}\n\nAnnabel Leeming\n\nStaff writer\n\nMarch 4, 2021 |\n\n\
             Council backs new plan for the harbour | Local News\n",
            para("the harbour"),
            para("the roads")
        );
        let got = run_paragraphs(&doc);
        assert_eq!(got.len(), 6, "{got:?}");
        assert_eq!(got[5], "Staff writer");

        // A dateline with every story of the page is the story's own.
        // (Three paragraphs a story: nearer, the window takes it.)
        let story = |topic: &str| {
            format!(
                "Riverside, June 3\n\n{}\n\n{}\n\n{}\n\n",
                para(topic),
                para(&format!("jobs at {topic}")),
                para(&format!("rents near {topic}"))
            )
        };
        let doc = format!(
            "Business briefs\n\n{}{}{}{}",
            story("the mill"),
            story("the bank"),
            story("the market"),
            story("the port")
        );
        assert_eq!(run_paragraphs(&doc).len(), 17);

        // A page without prose has no header: a chorus sung twice stays.
        let song =
            "Hold the line\n\nWe will walk along the river road\nUntil the morning light\n\n\
                    Hold on, hold on to the river road\n\nThe winter took the harvest home\n\n\
                    We will walk along the river road\nUntil the morning light\n";
        assert_eq!(run_paragraphs(song).len(), 7);

        // Headings that a contents list announced, and a later heading that
        // only begins with a header line, stay; so does a sign-off.
        let doc = format!(
            "Annual report\n\nOur harbour plans\n\nOur road plans\n\nYours sincerely,\n\n{}\n\n\
             Our harbour plans\n\n{}\n\nOur road plans\n\n{}\n\nAnnual report by region\n\n\
             Yours sincerely,\n",
            para("the year"),
            para("the harbour"),
            para("the roads")
        );
        assert_eq!(run_paragraphs(&doc).len(), 11);
    }

    /// A table of contents comes before the headings it lists: the entries
    /// are the copies, however far below the headings follow. A block of a
    /// headline and its dateline that shares one line with a story below
    /// is no table of contents.
    #[test]
    fn a_table_of_contents_gives_way_to_its_headings() {
        let para = |topic: &str| {
            format!("This part of the guide explains {topic} in plain words, with the dates and the forms you need.")
        };
        let doc = format!(
            "Parking permits\n\nOn this page\n\nWho can apply\nHow much a permit costs\n\
             How to renew\nVisitor permits\n\nWho can apply\n\n{}\n\nHow much a permit costs\n\n{}\n\n{}\n\n\
             How to renew\n\n{}\n",
            para("who can apply"),
            para("the costs"),
            para("discounts"),
            para("renewals")
        );
        let got = run_paragraphs(&doc);
        assert_eq!(
            &got[..4],
            [
                "Parking permits",
                "On this page",
                "Visitor permits",
                "Who can apply"
            ]
        );
        assert!(got.contains(&"How much a permit costs".to_string()));
        assert!(got.contains(&"How to renew".to_string()));
        assert_eq!(got.len(), 10);

        let doc = format!(
            "Fair returns to the park\nafter two years\nRiverside, June 3\n{}\n\n\
             Riverside, June 3\n\n{}\n",
            para("the fair"),
            para("the roads")
        );
        assert_eq!(run_paragraphs(&doc).len(), 5);
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

    fn run_with_pull_quotes(text: &str) -> Vec<String> {
        let mut doc = Document::new("d", text);
        CaptionsConfig {
            pull_quotes: true,
            ..CaptionsConfig::default()
        }
        .build()
        .apply(&mut doc, &mut StageStats::default());
        doc.lines().iter().map(|l| l.text.clone()).collect()
    }

    #[test]
    fn a_pull_quote_of_a_paragraph_is_a_copy() {
        let body = "The harbour board met on Monday. \u{201c}We cannot keep the old pier open through another winter,\u{201d} the chairman told members. Repairs would cost more than a new pier.";
        // Before the paragraph, with another attribution.
        let t = format!("Pier to close\n\u{201c}We cannot keep the old pier open through another winter,\u{201d} Mr Hale said.\n{body}");
        assert_eq!(run_with_pull_quotes(&t), ["Pier to close", body]);
        // After it, as a plain sentence.
        let t = format!("{body}\nRepairs would cost more than a new pier.");
        assert_eq!(run_with_pull_quotes(&t), [body]);
        // Off by default.
        assert_eq!(run(&t).len(), 2);
        // A sentence cut from a longer one is not a quote of it, nor is a
        // heading or a list item whose words start a paragraph.
        for line in [
            "The harbour board met on Monday night.",
            "Repairs would cost more than a new",
            "- Repairs would cost more than a new pier.",
        ] {
            let t = format!("{line}\n{body}");
            assert_eq!(run_with_pull_quotes(&t).len(), 2, "{line}");
        }
        let t = format!("{body}\nThe harbour board met on Monday night.");
        assert_eq!(run_with_pull_quotes(&t).len(), 2);
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
