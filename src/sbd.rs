//! Sentence boundary detection (interim rule set; replaced by the full splitter).

use std::collections::HashSet;
use std::ops::Range;

use serde::{Deserialize, Serialize};

/// Language data for the splitter.
#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LangData {
    /// Abbreviations, without the final period.
    #[serde(default)]
    pub abbreviations: Vec<String>,
}

/// A language file or splitter that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum SplitterError {
    /// The language file is not valid.
    #[error("{0}")]
    Toml(#[from] toml::de::Error),
}

impl LangData {
    /// Parses TOML text.
    ///
    /// # Errors
    /// Invalid TOML or an unknown key.
    pub fn from_toml_str(s: &str) -> Result<LangData, SplitterError> {
        Ok(toml::from_str(s)?)
    }

    /// Adds abbreviations.
    pub fn extend_abbreviations(&mut self, extra: &[String]) {
        self.abbreviations.extend(extra.iter().cloned());
    }
}

/// A compiled splitter.
#[derive(Debug)]
pub struct Splitter {
    abbrevs: HashSet<String>,
}

impl Splitter {
    /// Compiles language data.
    ///
    /// # Errors
    /// Never, for now.
    pub fn new(lang: &LangData) -> Result<Splitter, SplitterError> {
        Ok(Splitter {
            abbrevs: lang
                .abbreviations
                .iter()
                .map(|a| a.to_lowercase())
                .collect(),
        })
    }

    /// Appends trimmed sentence spans of `text`.
    pub fn split_into(&self, text: &str, out: &mut Vec<Range<usize>>) {
        let b = text.as_bytes();
        let mut start = 0;
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if matches!(c, b'.' | b'?' | b'!') {
                let mut end = i + 1;
                while end < b.len() && matches!(b[end], b'.' | b'?' | b'!' | b'"' | b'\'' | b')') {
                    end += 1;
                }
                let next_ok = end == b.len()
                    || (b[end] == b' ' && b.get(end + 1).is_some_and(|n| !n.is_ascii_lowercase()));
                let word_start = text[..i]
                    .rfind(|ch: char| !ch.is_alphanumeric() && ch != '.')
                    .map_or(0, |p| p + 1);
                let word = text[word_start..i].to_lowercase();
                let abbrev = c == b'.' && (self.abbrevs.contains(&word) || word.len() == 1);
                if next_ok && !abbrev {
                    push_trimmed(text, start..end, out);
                    start = end;
                }
                i = end;
            } else {
                i += 1;
            }
        }
        push_trimmed(text, start..b.len(), out);
    }
}

fn push_trimmed(text: &str, r: Range<usize>, out: &mut Vec<Range<usize>>) {
    let s = &text[r.clone()];
    let lead = s.len() - s.trim_start().len();
    let trail = s.len() - s.trim_end().len();
    if lead + trail < s.len() {
        out.push(r.start + lead..r.end - trail);
    }
}
