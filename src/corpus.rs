//! Pass 1: the corpus profile.
//!
//! Boilerplate that a site repeats on every page is easiest to see across
//! documents. Pass 1 counts, for each normalised line fingerprint, the
//! number of distinct documents that contain it (per source, when the
//! input names one). Pass 2 reads the frozen profile.
//!
//! Determinism: counts merge by addition, so the result does not depend on how documents were split among threads or
//! shards. Fingerprints are 64-bit xxh3 with a fixed seed (never std's
//! random state).
//!
//! Bounded memory: the profile keeps at most `max_fingerprints` entries.
//! When it would hold more, it keeps only fingerprints below a threshold
//! that halves each time (hash-space sampling). A fingerprint below the
//! final threshold has never been dropped anywhere, so its count is exact,
//! and the final threshold depends only on the set of distinct
//! fingerprints in the corpus: the profile is the same for any thread or
//! shard count.
//!
//! Word statistics: pass 1 also counts, per word type, what the sentence
//! splitter weighs at an ambiguous period in the manner of Punkt (see
//! [`WordCount`]). They add up the same way, and are capped the same way by
//! their own `max_word_types`, with their own sampling level.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Read, Write};

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::document::Document;

/// The first bytes of a profile file. 03: word statistics follow the
/// fingerprints; 02: entries hold only the document count (01 also held a
/// first position, which nothing read).
const MAGIC: &[u8; 8] = b"TCPROF03";

/// Seed for line fingerprints. Changing it changes every saved profile.
const FINGERPRINT_SEED: u64 = 0x7465_7874_636c_6561; // "textclea"

/// Keys are already xxh3 hashes: hashing them again would only cost time.
#[derive(Default)]
struct IdentityHasher(u64);

impl Hasher for IdentityHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `write_u64` is used for u64 keys; fold anything else.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type FingerprintMap = HashMap<u64, Entry, BuildHasherDefault<IdentityHasher>>;

/// What the profile knows about one fingerprint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry {
    /// Distinct documents containing the line.
    pub docs: u32,
}

/// Line-fingerprint counts over a corpus (see the module docs).
#[derive(Debug, Clone)]
pub struct CorpusProfile {
    entries: FingerprintMap,
    max_fingerprints: usize,
    /// Sampling level: only fingerprints below `u64::MAX >> level` are kept.
    level: u32,
    docs: u64,
    words: WordTable,
}

impl PartialEq for CorpusProfile {
    fn eq(&self, o: &Self) -> bool {
        self.level == o.level
            && self.docs == o.docs
            && self.entries == o.entries
            && self.words == o.words
    }
}

/// Fingerprint of a line as the profile sees it: ASCII letters folded to
/// lower case and each run of digits to one `0`, so "3 comments" and "12 Comments" count
/// as one line; `source_seed` separates sources.
pub fn fingerprint(line: &str, source_seed: u64) -> u64 {
    let bytes = line.as_bytes();
    let needs_fold = bytes
        .iter()
        .any(|b| b.is_ascii_uppercase() || b.is_ascii_digit());
    if !needs_fold {
        return xxh3_64_with_seed(bytes, source_seed);
    }
    thread_local! {
        // Reused: nearly every line has a capital, and this runs for
        // every line of the corpus in pass 1.
        static FOLDED: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    FOLDED.with_borrow_mut(|folded| {
        folded.clear();
        if !bytes.iter().any(u8::is_ascii_digit) {
            // Most lines: lower case only, a loop the compiler vectorises.
            folded.extend(bytes.iter().map(u8::to_ascii_lowercase));
            return xxh3_64_with_seed(folded, source_seed);
        }
        // Runs of digits fold to one `0`: counters and dates vary in length.
        for &b in bytes {
            if b.is_ascii_digit() {
                if folded.last() != Some(&b'0') {
                    folded.push(b'0');
                }
            } else {
                folded.push(b.to_ascii_lowercase());
            }
        }
        xxh3_64_with_seed(folded, source_seed)
    })
}

/// Seed that keeps one source's fingerprints apart from another's.
pub fn source_seed(source: Option<&str>) -> u64 {
    match source {
        Some(s) => xxh3_64(s.as_bytes()) ^ FINGERPRINT_SEED,
        None => FINGERPRINT_SEED,
    }
}

/// What the profile counts of one document: its distinct non-empty line
/// fingerprints, and its word types with their counts.
#[derive(Debug, Clone)]
pub struct DocLines {
    fingerprints: Vec<u64>,
    words: Vec<(u64, WordCount)>,
}

impl DocLines {
    /// The fingerprints of `doc`'s lines as they are now.
    pub fn of(doc: &Document) -> DocLines {
        let seed = source_seed(doc.source.as_deref());
        let mut fingerprints: Vec<u64> = doc
            .lines()
            .iter()
            .filter(|l| !l.text.is_empty())
            .map(|l| fingerprint(&l.text, seed))
            .collect();
        fingerprints.sort_unstable();
        fingerprints.dedup();
        let mut words = Vec::new();
        for l in doc.lines() {
            count_words(l.text.as_bytes(), &mut words);
        }
        aggregate(&mut words);
        DocLines {
            fingerprints,
            words,
        }
    }
}

impl CorpusProfile {
    /// A profile that knows nothing (what stages see when pass 1 was skipped).
    pub fn empty() -> CorpusProfile {
        CorpusProfile::new(usize::MAX)
    }

    /// An empty profile that will hold at most `max_fingerprints` entries.
    pub fn new(max_fingerprints: usize) -> CorpusProfile {
        CorpusProfile {
            entries: FingerprintMap::default(),
            max_fingerprints: max_fingerprints.max(1),
            level: 0,
            docs: 0,
            words: WordTable::new(usize::MAX),
        }
    }

    /// Caps the word statistics at `max` types (default: no cap).
    pub fn with_max_word_types(mut self, max: usize) -> CorpusProfile {
        self.words.max = max.max(1);
        self.words.shrink_to_cap();
        self
    }

    fn threshold(&self) -> u64 {
        u64::MAX.checked_shr(self.level).unwrap_or(0)
    }

    /// Counts one document's non-empty lines (each distinct line once).
    pub fn observe(&mut self, doc: &Document) {
        self.observe_lines(&DocLines::of(doc));
    }

    /// Counts one document's line fingerprints, computed apart (pass 1
    /// computes them on the workers and counts them on one thread, in any
    /// order: the profile does not depend on it).
    pub fn observe_lines(&mut self, doc: &DocLines) {
        self.docs += 1;
        let threshold = self.threshold();
        for &fp in &doc.fingerprints {
            if fp >= threshold {
                continue;
            }
            let e = self.entries.entry(fp).or_insert(Entry { docs: 0 });
            e.docs = e.docs.saturating_add(1);
        }
        self.shrink_to_cap();
        // Words not already taken by `gather_words`.
        self.words.add_all(doc.words.iter().copied());
    }

    /// Adds a batch's word counts (see [`gather_words`]).
    pub fn observe_words(&mut self, words: BatchWords) {
        self.words.add_all(words.0);
    }

    /// Adds another profile's counts into this one.
    pub fn merge(&mut self, other: CorpusProfile) {
        self.docs += other.docs;
        self.max_fingerprints = self.max_fingerprints.min(other.max_fingerprints);
        self.level = self.level.max(other.level);
        let threshold = self.threshold();
        self.entries.retain(|&fp, _| fp < threshold);
        for (fp, e) in other.entries {
            if fp >= threshold {
                continue;
            }
            let mine = self.entries.entry(fp).or_insert(Entry { docs: 0 });
            mine.docs = mine.docs.saturating_add(e.docs);
        }
        self.shrink_to_cap();
        self.words.merge(other.words);
    }

    fn shrink_to_cap(&mut self) {
        while self.entries.len() > self.max_fingerprints && self.level < 64 {
            self.level += 1;
            let threshold = self.threshold();
            self.entries.retain(|&fp, _| fp < threshold);
        }
    }

    /// Documents observed.
    pub fn docs(&self) -> u64 {
        self.docs
    }

    /// Distinct fingerprints held.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when nothing was observed.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Share of the fingerprint space still tracked (1.0 until the cap bites).
    pub fn sampled_share(&self) -> f64 {
        (0.5f64).powi(self.level as i32)
    }

    /// What the profile knows about a line of a document from `source`;
    /// `None` when the line was never seen or is outside the sampled share.
    pub fn lookup(&self, line: &str, source_seed: u64) -> Option<Entry> {
        self.entries.get(&fingerprint(line, source_seed)).copied()
    }

    /// The corpus counts of a lower-cased word type, when it was seen and is
    /// inside the sampled share.
    pub fn word(&self, lower: &[u8]) -> Option<WordCount> {
        if self.words.map.is_empty() {
            return None;
        }
        self.words.map.get(&word_key(lower)).copied()
    }

    /// Distinct word types held.
    pub fn word_types(&self) -> usize {
        self.words.map.len()
    }

    /// Writes the profile in a compact little-endian binary form, sorted by
    /// fingerprint so equal profiles give equal bytes.
    ///
    /// # Errors
    /// Any I/O error of `w`.
    pub fn write_to(&self, mut w: impl Write) -> io::Result<()> {
        w.write_all(MAGIC)?;
        w.write_all(&(self.max_fingerprints as u64).to_le_bytes())?;
        w.write_all(&u64::from(self.level).to_le_bytes())?;
        w.write_all(&self.docs.to_le_bytes())?;
        let mut keys: Vec<(&u64, &Entry)> = self.entries.iter().collect();
        keys.sort_unstable_by_key(|(k, _)| **k);
        w.write_all(&(keys.len() as u64).to_le_bytes())?;
        for (fp, e) in keys {
            w.write_all(&fp.to_le_bytes())?;
            w.write_all(&u64::from(e.docs).to_le_bytes())?;
        }
        w.write_all(&(self.words.max as u64).to_le_bytes())?;
        w.write_all(&u64::from(self.words.level).to_le_bytes())?;
        let mut words: Vec<(&u64, &WordCount)> = self.words.map.iter().collect();
        words.sort_unstable_by_key(|(k, _)| **k);
        w.write_all(&(words.len() as u64).to_le_bytes())?;
        for (k, c) in words {
            w.write_all(&k.to_le_bytes())?;
            w.write_all(&c.to_bytes())?;
        }
        Ok(())
    }

    /// Reads a profile written by [`CorpusProfile::write_to`].
    ///
    /// # Errors
    /// I/O errors, and `InvalidData` for a file that is not a profile.
    pub fn read_from(mut r: impl Read) -> io::Result<CorpusProfile> {
        let mut magic = [0u8; 8];
        r.read_exact(&mut magic)?;
        if &magic != MAGIC {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a textclean corpus profile",
            ));
        }
        fn read_u64(r: &mut impl Read) -> io::Result<u64> {
            let mut b = [0u8; 8];
            r.read_exact(&mut b)?;
            Ok(u64::from_le_bytes(b))
        }
        let mut u = || read_u64(&mut r);
        let max = u()? as usize;
        let level = u()?.min(64) as u32;
        let docs = u()?;
        let n = u()?;
        let mut entries = FingerprintMap::default();
        for _ in 0..n {
            let fp = u()?;
            let d = u32::try_from(u()?).unwrap_or(u32::MAX);
            entries.insert(fp, Entry { docs: d });
        }
        let mut words = WordTable::new(usize::try_from(read_u64(&mut r)?).unwrap_or(usize::MAX));
        words.level = read_u64(&mut r)?.min(64) as u32;
        let n = read_u64(&mut r)?;
        for _ in 0..n {
            let k = read_u64(&mut r)?;
            let mut c = [0u8; 20];
            r.read_exact(&mut c)?;
            words.map.insert(k, WordCount::from_bytes(&c));
        }
        Ok(CorpusProfile {
            entries,
            max_fingerprints: max.max(1),
            level,
            docs,
            words,
        })
    }
}

// ---------------------------------------------------------------------------------------
// Word statistics
// ---------------------------------------------------------------------------------------

/// Seed for word-type keys. Changing it changes every saved profile.
const WORD_SEED: u64 = 0x7365_6e74_656e_6365; // "sentence"

/// Longest word (bytes) counted; longer tokens are never abbreviations.
const MAX_WORD: usize = 32;

/// What pass 1 counts of one word type (ASCII letters, `'` and `-` inside, lower-cased),
/// in the manner of Punkt (Kiss & Strunk 2006); the columns of `config/lang/en.stats.tsv`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WordCount {
    /// Occurrences without a final period.
    pub plain: u32,
    /// Occurrences with a final period.
    pub period: u32,
    /// Of those, how many a lower-case word follows (the period did not end a sentence:
    /// evidence of an abbreviation).
    pub period_lower: u32,
    /// Occurrences written in lower case.
    pub lower: u32,
    /// Occurrences capitalised (not all capitals) inside a sentence: not first in a
    /// paragraph and not after terminal punctuation (evidence of a name).
    pub upper_mid: u32,
}

impl WordCount {
    /// Adds `o`'s counts (saturating).
    pub fn add(&mut self, o: WordCount) {
        self.plain = self.plain.saturating_add(o.plain);
        self.period = self.period.saturating_add(o.period);
        self.period_lower = self.period_lower.saturating_add(o.period_lower);
        self.lower = self.lower.saturating_add(o.lower);
        self.upper_mid = self.upper_mid.saturating_add(o.upper_mid);
    }

    fn to_bytes(self) -> [u8; 20] {
        let mut b = [0u8; 20];
        for (i, v) in [
            self.plain,
            self.period,
            self.period_lower,
            self.lower,
            self.upper_mid,
        ]
        .into_iter()
        .enumerate()
        {
            b[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
        }
        b
    }

    fn from_bytes(b: &[u8; 20]) -> WordCount {
        let v = |i: usize| u32::from_le_bytes([b[i * 4], b[i * 4 + 1], b[i * 4 + 2], b[i * 4 + 3]]);
        WordCount {
            plain: v(0),
            period: v(1),
            period_lower: v(2),
            lower: v(3),
            upper_mid: v(4),
        }
    }
}

/// Key of a lower-cased word type (what [`CorpusProfile::word`] looks up).
pub fn word_key(lower: &[u8]) -> u64 {
    xxh3_64_with_seed(lower, WORD_SEED)
}

type WordMap = HashMap<u64, WordCount, BuildHasherDefault<IdentityHasher>>;

/// Word-type counts, capped like the fingerprints: past `max` types only keys below a
/// threshold that halves each time are kept, so a key that is kept has exact counts and
/// the table depends only on the corpus, not on how it was split.
#[derive(Debug, Clone)]
struct WordTable {
    map: WordMap,
    max: usize,
    level: u32,
}

impl PartialEq for WordTable {
    fn eq(&self, o: &Self) -> bool {
        self.level == o.level && self.map == o.map
    }
}

impl WordTable {
    fn new(max: usize) -> WordTable {
        WordTable {
            map: WordMap::default(),
            max: max.max(1),
            level: 0,
        }
    }

    fn threshold(&self) -> u64 {
        u64::MAX.checked_shr(self.level).unwrap_or(0)
    }

    fn add_all(&mut self, words: impl IntoIterator<Item = (u64, WordCount)>) {
        let threshold = self.threshold();
        for (k, c) in words {
            if k < threshold {
                self.map.entry(k).or_default().add(c);
            }
        }
        self.shrink_to_cap();
    }

    fn merge(&mut self, other: WordTable) {
        self.max = self.max.min(other.max);
        self.level = self.level.max(other.level);
        let threshold = self.threshold();
        self.map.retain(|&k, _| k < threshold);
        self.add_all(other.map);
    }

    fn shrink_to_cap(&mut self) {
        while self.map.len() > self.max && self.level < 64 {
            self.level += 1;
            let threshold = self.threshold();
            self.map.retain(|&k, _| k < threshold);
        }
    }
}

/// Opening quotes and brackets stripped before a word (ASCII, and `“` `‘`).
fn strip_openers(mut t: &[u8]) -> &[u8] {
    loop {
        match t {
            [b'"' | b'\'' | b'(' | b'[' | b'{', rest @ ..] => t = rest,
            [0xE2, 0x80, 0x9C | 0x98, rest @ ..] => t = rest,
            _ => return t,
        }
    }
}

/// True when `t` is only closing quotes and brackets (ASCII, and `”` `’`).
fn only_closers(mut t: &[u8]) -> bool {
    loop {
        match t {
            [] => return true,
            [b'"' | b'\'' | b')' | b']' | b'}', rest @ ..] => t = rest,
            [0xE2, 0x80, 0x9D | 0x99, rest @ ..] => t = rest,
            _ => return false,
        }
    }
}

/// True when a token ends with terminal punctuation, closers aside.
fn ends_terminal(t: &[u8]) -> bool {
    let mut t = t;
    loop {
        match t {
            [rest @ .., b'"' | b'\'' | b')' | b']' | b'}'] => t = rest,
            [rest @ .., 0xE2, 0x80, 0x9D | 0x99] => t = rest,
            [.., b'.' | b'!' | b'?'] => return true,
            _ => return false,
        }
    }
}

/// The word of a token: `(word, has_period)` when the token is openers, a word of ASCII
/// letters (`'` and `-` inside), an optional period and closers.
fn token_word(tok: &[u8]) -> Option<(&[u8], bool)> {
    let t = strip_openers(tok);
    let mut e = 0;
    while e < t.len() && (t[e].is_ascii_alphabetic() || (e > 0 && matches!(t[e], b'\'' | b'-'))) {
        e += 1;
    }
    // Internal marks only: back off to the last letter.
    while e > 0 && !t[e - 1].is_ascii_alphabetic() {
        e -= 1;
    }
    if e == 0 || e > MAX_WORD {
        return None;
    }
    let (period, rest) = match &t[e..] {
        [b'.', rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    only_closers(rest).then_some((&t[..e], period))
}

/// Counts the word types of one paragraph into `out` (one entry per token).
fn count_words(line: &[u8], out: &mut Vec<(u64, WordCount)>) {
    let mut toks = line
        .split(|&b| matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c))
        .filter(|t| !t.is_empty())
        .peekable();
    let mut first = true;
    let mut after_terminal = false;
    let mut buf = [0u8; MAX_WORD];
    while let Some(tok) = toks.next() {
        if let Some((word, period)) = token_word(tok) {
            let mut c = WordCount::default();
            if period {
                c.period = 1;
                let next_lower = toks.peek().is_some_and(|n| {
                    std::str::from_utf8(strip_openers(n))
                        .ok()
                        .and_then(|s| s.chars().next())
                        .is_some_and(char::is_lowercase)
                });
                c.period_lower = u32::from(next_lower);
            } else {
                c.plain = 1;
            }
            if word[0].is_ascii_lowercase() {
                c.lower = 1;
            } else if !first && !after_terminal && word.iter().any(u8::is_ascii_lowercase) {
                c.upper_mid = 1;
            }
            let lw = &mut buf[..word.len()];
            for (d, &x) in lw.iter_mut().zip(word) {
                *d = x.to_ascii_lowercase();
            }
            out.push((word_key(lw), c));
        }
        first = false;
        after_terminal = ends_terminal(tok);
    }
}

/// Sorts `words` by key and adds up the entries of each key.
fn aggregate(words: &mut Vec<(u64, WordCount)>) {
    words.sort_unstable_by_key(|&(k, _)| k);
    let mut w = 0;
    for r in 0..words.len() {
        if w > 0 && words[w - 1].0 == words[r].0 {
            let c = words[r].1;
            words[w - 1].1.add(c);
        } else {
            words[w] = words[r];
            w += 1;
        }
    }
    words.truncate(w);
}

/// The word counts of a batch of documents, moved out of their [`DocLines`] and added
/// up (a worker does this, so the thread that owns the profile adds each type once per
/// batch instead of once per token).
pub fn gather_words(docs: &mut [DocLines]) -> BatchWords {
    let mut all = Vec::new();
    for d in docs {
        all.append(&mut d.words);
    }
    aggregate(&mut all);
    BatchWords(all)
}

/// A batch's word counts, summed per type (see [`gather_words`]).
#[derive(Debug, Default)]
pub struct BatchWords(Vec<(u64, WordCount)>);

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(pos: u64, text: &str) -> Document {
        Document::new(format!("d{pos}"), text)
    }

    #[test]
    fn counts_distinct_documents() {
        let mut p = CorpusProfile::new(1000);
        p.observe(&doc(3, "Hide Ad\nHide Ad\nStory one."));
        p.observe(&doc(1, "Hide Ad\nStory two."));
        let e = p.lookup("Hide Ad", source_seed(None)).unwrap();
        assert_eq!(e.docs, 2);
        assert_eq!(p.lookup("hide ad", source_seed(None)).unwrap().docs, 2);
        assert!(p.lookup("Hide Ad", source_seed(Some("site"))).is_none());
    }

    #[test]
    fn digits_fold_together() {
        assert_eq!(fingerprint("3 comments", 0), fingerprint("12 Comments", 0));
    }

    /// Distinct words for distinct numbers (digits would fold together).
    fn letters(mut i: u64) -> String {
        let mut s = String::new();
        loop {
            s.push(char::from(b'a' + (i % 26) as u8));
            i /= 26;
            if i == 0 {
                return s;
            }
        }
    }

    #[test]
    fn merge_order_and_cap_do_not_change_the_result() {
        let docs: Vec<Document> = (0..200)
            .map(|i| {
                doc(
                    i,
                    &format!("line {}\nshared line\nunique {}", i % 7, letters(i)),
                )
            })
            .collect();
        let mut whole = CorpusProfile::new(50);
        for d in &docs {
            whole.observe(d);
        }
        for parts in [2usize, 3, 7] {
            let mut merged = CorpusProfile::new(50);
            let chunk = docs.len().div_ceil(parts);
            for c in docs.chunks(chunk).rev() {
                let mut p = CorpusProfile::new(50);
                for d in c {
                    p.observe(d);
                }
                merged.merge(p);
            }
            assert_eq!(merged, whole, "{parts} parts");
        }
        assert!(whole.len() <= 50);
        assert!(whole.sampled_share() < 1.0);
    }

    #[test]
    fn word_counts_follow_punkt() {
        let mut p = CorpusProfile::new(100);
        p.observe(&doc(
            0,
            "Rates rose in the U.S. analysts said. Analysts and \u{201c}Mr. Smith\u{201d} met.\nThe approx. figure",
        ));
        let w = |s: &str| p.word(s.as_bytes()).unwrap_or_default();
        let analysts = w("analysts");
        assert_eq!(
            (analysts.plain, analysts.lower, analysts.upper_mid),
            (2, 1, 0)
        );
        let mr = w("mr");
        assert_eq!((mr.period, mr.period_lower, mr.upper_mid), (1, 0, 1));
        assert_eq!((w("approx").period, w("approx").period_lower), (1, 1));
        assert_eq!(w("the").upper_mid, 0, "first in its paragraph");
        assert_eq!(w("met").period, 1);
        assert!(p.word(b"u.s").is_none(), "dotted groups are not word types");
    }

    #[test]
    fn word_counts_merge_the_same_for_any_split_and_cap() {
        let docs: Vec<Document> = (0..300)
            .map(|i| {
                doc(
                    i,
                    &format!(
                        "Word {} went by. The {} sat near St. Ives.\nrare {} Mid",
                        letters(i % 11),
                        letters(i % 5),
                        letters(i)
                    ),
                )
            })
            .collect();
        let whole = |cap: usize| {
            let mut p = CorpusProfile::new(1000).with_max_word_types(cap);
            for d in &docs {
                p.observe(d);
            }
            p
        };
        for cap in [usize::MAX, 40] {
            let one = whole(cap);
            for parts in [2usize, 3, 8] {
                let mut merged = CorpusProfile::new(1000).with_max_word_types(cap);
                let chunk = docs.len().div_ceil(parts);
                for c in docs.chunks(chunk).rev() {
                    let mut p = CorpusProfile::new(1000).with_max_word_types(cap);
                    let mut lines: Vec<DocLines> = c.iter().map(DocLines::of).collect();
                    let words = gather_words(&mut lines);
                    for l in &lines {
                        p.observe_lines(l);
                    }
                    p.observe_words(words);
                    merged.merge(p);
                }
                assert_eq!(merged, one, "{parts} parts, cap {cap}");
            }
            assert!(one.word_types() <= cap);
        }
        assert_eq!(
            whole(usize::MAX).word(b"went").unwrap_or_default().plain,
            300
        );
    }

    #[test]
    fn binary_round_trip() {
        let mut p = CorpusProfile::new(100).with_max_word_types(10);
        p.observe(&doc(0, "a\nb. Said Mr. Day"));
        assert!(p.word_types() > 0);
        let mut buf = Vec::new();
        p.write_to(&mut buf).unwrap();
        assert_eq!(CorpusProfile::read_from(&buf[..]).unwrap(), p);
        assert!(CorpusProfile::read_from(&b"garbage!"[..]).is_err());
    }
}
