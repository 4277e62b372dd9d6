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
use std::num::NonZeroU32;

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::document::Document;

/// The first bytes of a profile file. 03: word statistics follow the
/// fingerprints; 02: entries hold only the document count (01 also held a
/// first position, which nothing read).
const MAGIC: &[u8; 8] = b"TCPROF03";

/// Seed for line fingerprints. Changing it changes every saved profile.
const FINGERPRINT_SEED: u64 = 0x7465_7874_636c_6561; // "textclea"

/// Keys are already hashes (xxh3, or mixed like [`word_key`]): hashing them again
/// would only cost time.
#[derive(Default)]
pub struct IdentityHasher(u64);

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
/// fingerprints (its words go into the batch's [`BatchWords`]).
#[derive(Debug, Clone)]
pub struct DocLines {
    fingerprints: Vec<u64>,
}

impl DocLines {
    /// The fingerprints of `doc`'s lines as they are now.
    pub fn of(doc: &Document) -> DocLines {
        DocLines::of_counting(doc, None)
    }

    /// Like [`DocLines::of`], counting the words of each line into `words` in the same
    /// walk over the lines (when given: only a splitter that reads corpus statistics
    /// needs them).
    pub fn of_counting(doc: &Document, mut words: Option<&mut BatchWords>) -> DocLines {
        let seed = source_seed(doc.source.as_deref());
        let mut fingerprints = Vec::with_capacity(doc.lines().len());
        for l in doc.lines() {
            if l.text.is_empty() {
                continue;
            }
            let fp = fingerprint(&l.text, seed);
            fingerprints.push(fp);
            if let Some(w) = words.as_deref_mut() {
                if fp % w.sample == 0 {
                    w.count_line(l.text.as_bytes());
                }
            }
        }
        fingerprints.sort_unstable();
        fingerprints.dedup();
        DocLines { fingerprints }
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

    /// Counts one document's non-empty lines (each distinct line once) and
    /// its words.
    pub fn observe(&mut self, doc: &Document) {
        let mut words = BatchWords::default();
        self.observe_lines(&DocLines::of_counting(doc, Some(&mut words)));
        self.observe_words(words);
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
    }

    /// Adds a batch's word counts.
    pub fn observe_words(&mut self, words: BatchWords) {
        self.words.add_all(words.map);
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

    /// The keys ([`word_key`]) of the word types whose counts pass `f`.
    pub fn word_keys_where<'a>(
        &'a self,
        f: impl Fn(WordCount) -> bool + 'a,
    ) -> impl Iterator<Item = u64> + 'a {
        self.words
            .map
            .iter()
            .filter_map(move |(&k, &c)| f(c).then_some(k))
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

/// Key of a lower-cased word type (what [`CorpusProfile::word`] looks up). A word of at
/// most 8 bytes (most words) is its bytes packed into a `u64` and mixed (a bijection, so
/// such words never collide); a longer one is hashed.
pub fn word_key(lower: &[u8]) -> u64 {
    if lower.len() <= 8 {
        let mut v = [0u8; 8];
        v[..lower.len()].copy_from_slice(lower);
        packed_key(u64::from_le_bytes(v))
    } else {
        xxh3_64_with_seed(lower, WORD_SEED)
    }
}

/// The key of a word of at most 8 bytes packed little-endian, zero padded (words hold no
/// zero byte): the murmur3 finaliser, a bijection that spreads the keys evenly, as the
/// sampling threshold needs.
fn packed_key(v: u64) -> u64 {
    let mut h = v ^ WORD_SEED;
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

/// Letter classes of the word scan's fast path (1: lower case, 2: capital).
static LETTER: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 26 {
        t[b'a' as usize + i] = 1;
        t[b'A' as usize + i] = 2;
        i += 1;
    }
    t
};

type WordMap = HashMap<u64, WordCount, BuildHasherDefault<IdentityHasher>>;

/// A set of word keys ([`word_key`]), hashed as they are: they are mixed already.
pub type WordKeySet = std::collections::HashSet<u64, BuildHasherDefault<IdentityHasher>>;

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
fn ends_terminal(mut t: &[u8]) -> bool {
    loop {
        match t {
            [rest @ .., b'"' | b'\'' | b')' | b']' | b'}'] => t = rest,
            [rest @ .., 0xE2, 0x80, 0x9D | 0x99] => t = rest,
            [.., b'.' | b'!' | b'?'] => return true,
            _ => return false,
        }
    }
}

/// True when `t` starts with a lower-case letter (any script).
fn starts_lower(t: &[u8]) -> bool {
    match t.first() {
        None => false,
        Some(&x) if x < 0x80 => x.is_ascii_lowercase(),
        Some(&x) => {
            // The first character alone: the token may be long.
            let len = match x {
                0xF0.. => 4,
                0xE0.. => 3,
                _ => 2,
            };
            t.get(..len)
                .and_then(|c| std::str::from_utf8(c).ok())
                .and_then(|c| c.chars().next())
                .is_some_and(char::is_lowercase)
        }
    }
}

/// The word of a token with its openers stripped: its length and whether a period
/// follows, when the token is a word of ASCII letters (`'` and `-` inside), an optional
/// period and closers. The word is written lower-cased into `buf` as it is read.
fn scan_word(t: &[u8], buf: &mut [u8; MAX_WORD]) -> Option<(usize, bool)> {
    let mut e = 0;
    let mut len = 0;
    while let Some(&x) = t.get(e) {
        if x.is_ascii_alphabetic() {
            *buf.get_mut(e)? = x | 0x20;
            e += 1;
            len = e;
        } else if e > 0 && (x == b'\'' || x == b'-') {
            *buf.get_mut(e)? = x;
            e += 1;
        } else {
            break;
        }
    }
    if len == 0 {
        return None;
    }
    let (period, rest) = match &t[len..] {
        [b'.', rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    only_closers(rest).then_some((len, period))
}

fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\r' | b'\n' | 0x0b | 0x0c)
}

/// Word-type counts of a batch of documents (what a worker gathers in pass 1 for the
/// thread that owns the profile, which then adds each type once per batch instead of
/// once per token). Uncapped: a batch is bounded.
#[derive(Debug)]
pub struct BatchWords {
    map: WordMap,
    /// Count the words of one line in this many (see [`BatchWords::sampling`]).
    sample: u64,
}

impl Default for BatchWords {
    fn default() -> BatchWords {
        BatchWords::sampling(NonZeroU32::MIN)
    }
}

impl BatchWords {
    /// Counts that read the words of one line in `sample`: those whose fingerprint is
    /// a multiple of it. A line's fingerprint depends only on its text (and source), so
    /// the sample, and the counts, are the same for any split of the corpus; all counts
    /// of a type come from the same lines, so its ratios are unbiased.
    pub fn sampling(sample: NonZeroU32) -> BatchWords {
        BatchWords {
            map: WordMap::default(),
            sample: u64::from(sample.get()),
        }
    }

    /// Adds `other`'s counts (into the larger of the two maps).
    pub fn merge(&mut self, mut other: BatchWords) {
        if self.map.len() < other.map.len() {
            std::mem::swap(&mut self.map, &mut other.map);
        }
        for (k, c) in other.map {
            self.map.entry(k).or_default().add(c);
        }
    }

    fn add(&mut self, key: u64, c: WordCount) {
        self.map.entry(key).or_default().add(c);
    }

    /// Counts the word types of one paragraph in a single scan of its bytes.
    ///
    /// Most tokens are a short word of ASCII letters, perhaps with a period: they take a
    /// fast path that reads the token as one `u64` and classifies its bytes without a
    /// branch per byte, its packed lower-cased bytes being the key (no hashing). Other
    /// tokens take the general path ([`scan_word`]). A period's word waits for the next
    /// token to know its case.
    fn count_line(&mut self, line: &[u8]) {
        // Only spaces separate tokens on the fast path (the normalize stage leaves
        // nothing else); any other white space takes the general path for the line.
        let general = line
            .iter()
            .any(|&b| matches!(b, b'\t' | b'\r' | b'\n' | 0x0b | 0x0c));
        let mut st = LineState {
            first: true,
            after_terminal: false,
            pending: None,
        };
        let mut s = 0;
        while s < line.len() {
            if is_space(line[s]) {
                s += 1;
                continue;
            }
            let e = if general {
                line[s..]
                    .iter()
                    .position(|&b| is_space(b))
                    .map_or(line.len(), |i| s + i)
            } else {
                next_space(line, s)
            };
            self.count_token(line, s, e, &mut st);
            s = e + 1;
        }
        if let Some((k, c)) = st.pending {
            self.add(k, c);
        }
    }

    fn count_token(&mut self, line: &[u8], s: usize, e: usize, st: &mut LineState) {
        let tok = &line[s..e];
        if let Some((k, mut c)) = st.pending.take() {
            c.period_lower = u32::from(starts_lower(strip_openers(tok)));
            self.add(k, c);
        }
        let len = tok.len();
        // The word and whether a period follows it, by the fast path when it applies.
        let mut fast = None;
        if len <= 9 {
            let mut v = [0u8; 8];
            match line.get(s..s + 8) {
                Some(w) => v.copy_from_slice(w),
                None => v[..len.min(8)].copy_from_slice(&tok[..len.min(8)]),
            }
            let period = tok[len - 1] == b'.';
            let wl = len - usize::from(period);
            let (mut lowers, mut capitals) = (0u32, 0u32);
            for (i, &b) in v.iter().enumerate() {
                let c = LETTER[usize::from(b)];
                lowers |= u32::from(c & 1) << i;
                capitals |= u32::from(c >> 1) << i;
            }
            let m = (1u32 << wl) - 1;
            if wl > 0 && wl <= 8 && (lowers | capitals) & m == m {
                let word = u64::from_le_bytes(v) & (u64::MAX >> (64 - 8 * wl as u32));
                let c = WordCount {
                    lower: lowers & 1,
                    upper_mid: u32::from(
                        capitals & 1 == 1 && lowers & m != 0 && !st.first && !st.after_terminal,
                    ),
                    ..WordCount::default()
                };
                // Letters only: setting bit 5 lower-cases each of them.
                fast = Some((
                    packed_key(word | (0x2020_2020_2020_2020 & word_mask(wl))),
                    c,
                    period,
                ));
            }
        }
        let found = fast.or_else(|| {
            let body = strip_openers(tok);
            let mut buf = [0u8; MAX_WORD];
            let (wl, period) = scan_word(body, &mut buf)?;
            let word = &body[..wl];
            let mut c = WordCount::default();
            if word[0].is_ascii_lowercase() {
                c.lower = 1;
            } else if !st.first && !st.after_terminal && word.iter().any(u8::is_ascii_lowercase) {
                c.upper_mid = 1;
            }
            Some((word_key(&buf[..wl]), c, period))
        });
        if let Some((key, mut c, period)) = found {
            if period {
                c.period = 1;
                st.pending = Some((key, c));
            } else {
                c.plain = 1;
                self.add(key, c);
            }
        }
        st.first = false;
        st.after_terminal = ends_terminal(tok);
    }
}

/// The first space at or after `i` (or the end): eight bytes at a time, since most
/// tokens are short and a search call per token would cost more than the token.
fn next_space(line: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    while let Some(w) = line.get(i..i + 8) {
        let mut b = [0u8; 8];
        b.copy_from_slice(w);
        let x = u64::from_le_bytes(b) ^ (ONES * u64::from(b' '));
        // The lowest set high bit marks the first zero byte of `x` (the bits above it
        // may be false positives; it never is).
        let z = x.wrapping_sub(ONES) & !x & (ONES << 7);
        if z != 0 {
            return i + (z.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    line[i..]
        .iter()
        .position(|&b| b == b' ')
        .map_or(line.len(), |p| i + p)
}

/// The low `n` bytes of a `u64` set (1 <= n <= 8).
fn word_mask(n: usize) -> u64 {
    u64::MAX >> (64 - 8 * n as u32)
}

/// Where the word scan of one line stands.
struct LineState {
    /// No token read yet: the next word is first in its paragraph.
    first: bool,
    /// The token before ended with terminal punctuation.
    after_terminal: bool,
    /// A word with a final period, waiting for the next token's case.
    pending: Option<(u64, WordCount)>,
}

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

    /// The word scan of one line token by token by the general path alone, to check the
    /// fast path against.
    fn general_counts(line: &str) -> HashMap<u64, WordCount> {
        let toks: Vec<&[u8]> = line
            .as_bytes()
            .split(|&b| is_space(b))
            .filter(|t| !t.is_empty())
            .collect();
        let mut out: HashMap<u64, WordCount> = HashMap::new();
        let mut buf = [0u8; MAX_WORD];
        for (i, tok) in toks.iter().enumerate() {
            let body = strip_openers(tok);
            let Some((wl, period)) = scan_word(body, &mut buf) else {
                continue;
            };
            let word = &body[..wl];
            let mut c = WordCount::default();
            if period {
                c.period = 1;
                c.period_lower = u32::from(
                    toks.get(i + 1)
                        .is_some_and(|n| starts_lower(strip_openers(n))),
                );
            } else {
                c.plain = 1;
            }
            if word[0].is_ascii_lowercase() {
                c.lower = 1;
            } else if i > 0
                && !ends_terminal(toks[i - 1])
                && word.iter().any(u8::is_ascii_lowercase)
            {
                c.upper_mid = 1;
            }
            out.entry(word_key(&buf[..wl])).or_default().add(c);
        }
        out
    }

    #[test]
    fn fast_word_scan_counts_as_the_general_path() {
        for line in [
            "The harbour at St. Ives was calm. approx. 40 boats, said Mr. Penrose (who knew).",
            "\u{201c}Quiet,\u{201d} said O'Neil; the well-known NASA team left. i. a. B. ok.",
            "Abcdefgh. abcdefghi. Abcdefghij stays, Zz. \u{e9}t\u{e9} was hot. \u{c9}t\u{e9}.",
            "A  double  space. Then\ta tab, and\u{a0}nbsp. Last.",
            "x. y z. Q",
            "Supercalifragilisticexpialidocious-and-then-some. word",
        ] {
            let mut w = BatchWords::default();
            w.count_line(line.as_bytes());
            let fast: HashMap<u64, WordCount> = w.map.into_iter().collect();
            assert_eq!(fast, general_counts(line), "{line}");
        }
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
                    let mut words = BatchWords::default();
                    let lines: Vec<DocLines> = c
                        .iter()
                        .map(|d| DocLines::of_counting(d, Some(&mut words)))
                        .collect();
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
