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

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::io::{self, Read, Write};

use xxhash_rust::xxh3::{xxh3_64, xxh3_64_with_seed};

use crate::document::Document;

/// The first bytes of a profile file. 02: entries hold only the document
/// count (01 also held a first position, which nothing read).
const MAGIC: &[u8; 8] = b"TCPROF02";

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
}

impl PartialEq for CorpusProfile {
    fn eq(&self, o: &Self) -> bool {
        self.level == o.level && self.docs == o.docs && self.entries == o.entries
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
/// fingerprints.
#[derive(Debug, Clone)]
pub struct DocLines {
    fingerprints: Vec<u64>,
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
        }
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
        let mut u = || -> io::Result<u64> {
            let mut b = [0u8; 8];
            r.read_exact(&mut b)?;
            Ok(u64::from_le_bytes(b))
        };
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
        Ok(CorpusProfile {
            entries,
            max_fingerprints: max.max(1),
            level,
            docs,
        })
    }
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
    fn binary_round_trip() {
        let mut p = CorpusProfile::new(100);
        p.observe(&doc(0, "a\nb"));
        let mut buf = Vec::new();
        p.write_to(&mut buf).unwrap();
        assert_eq!(CorpusProfile::read_from(&buf[..]).unwrap(), p);
        assert!(CorpusProfile::read_from(&b"garbage!"[..]).is_err());
    }
}
