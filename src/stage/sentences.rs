//! Stage 5: sentence splitting.
//!
//! Wraps the splitter of [`crate::sbd`] as a pipeline stage: each live
//! line (a paragraph) is split on its own, and the spans are recorded as
//! byte ranges of the document's cleaned text. The splitter only cuts.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::corpus::CorpusProfile;
use crate::document::Document;
use crate::sbd::{Conventions, LangData, Quotations, SingleNewlines, Splitter, WordStats};
use crate::stage::{BuildError, Stage};
use crate::stats::StageStats;

/// Languages whose data is compiled into the binary.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuiltinLanguage {
    /// English (`config/lang/en.toml`).
    En,
}

impl BuiltinLanguage {
    /// The compiled-in language file.
    pub fn data(self) -> &'static str {
        match self {
            BuiltinLanguage::En => crate::sbd::EN_TOML,
        }
    }
}

/// Bundles of sentence conventions, for the kinds of text that write them differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Preset {
    /// Real text as UD English annotates it (web text, mail, reviews, news, fiction):
    /// lower-case starts, trailing citations, quotations split, single newlines `auto`.
    #[default]
    Web,
    /// Edited prose (books, newspapers, the Golden Rules): a period before a lower-case
    /// word is an abbreviation's, citation marks start the next sentence.
    Edited,
    /// Text extracted from PDFs: `edited`, and a single newline is a space.
    Pdf,
}

impl Preset {
    /// The conventions of this preset.
    pub fn conventions(self) -> Conventions {
        let web = Conventions::default();
        let edited = Conventions {
            lower_case_starts: false,
            trailing_citations: false,
            ..web
        };
        match self {
            Preset::Web => web,
            Preset::Edited => edited,
            Preset::Pdf => Conventions {
                single_newlines: SingleNewlines::Space,
                ..edited
            },
        }
    }
}

/// Options of the `sentences` stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SentencesConfig {
    /// A built-in language (default `en`). Give this or `language_file`, not both.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<BuiltinLanguage>,
    /// A language file (same schema as `config/lang/en.toml`), relative to
    /// the config file, to use instead of a built-in language.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language_file: Option<PathBuf>,
    /// Extra abbreviations (without the final period, e.g. `"Approx"`),
    /// added to the language's list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra_abbreviations: Vec<String>,
    /// A bundle of the conventions below; a key given beside it overrides it. Default
    /// `web`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preset: Option<Preset>,
    /// A terminal before a lower-case word ends the sentence (informal text): after `?`,
    /// after `!` unless it ends a name (`Jeopardy! host`), after `.` when the word before
    /// is an ordinary word by the word statistics; never before a closing quote.
    /// `web`: true; `edited`, `pdf`: false, the convention of edited prose.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lower_case_starts: Option<bool>,
    /// Citation marks after a sentence end (`[6]`, `[...]`) belong to the sentence
    /// before. `web`: true; `edited`, `pdf`: false (they start the next one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trailing_citations: Option<bool>,
    /// Several sentences inside one quotation: `split` (every preset) or `whole`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quotations: Option<Quotations>,
    /// A single line break inside a paragraph: `auto` (`web`, `edited`), `break` or
    /// `space` (`pdf`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub single_newlines: Option<SingleNewlines>,
    /// Add the word counts of the corpus being cleaned (gathered in pass 1,
    /// the corpus profile) to the built-in word statistics. Default true;
    /// it makes pass 1 run even without a boilerplate stage that reads the
    /// profile.
    #[serde(default = "yes")]
    pub corpus_statistics: bool,
}

fn yes() -> bool {
    true
}

impl Default for SentencesConfig {
    fn default() -> SentencesConfig {
        SentencesConfig {
            language: None,
            language_file: None,
            extra_abbreviations: Vec::new(),
            preset: None,
            lower_case_starts: None,
            trailing_citations: None,
            quotations: None,
            single_newlines: None,
            corpus_statistics: true,
        }
    }
}

impl SentencesConfig {
    /// Loads the language data this config names.
    ///
    /// # Errors
    /// `(key, message)` for a bad combination, an unreadable or invalid
    /// language file.
    pub fn lang_data(&self, base_dir: &Path) -> Result<LangData, BuildError> {
        let mut lang = match (&self.language, &self.language_file) {
            (Some(_), Some(_)) => {
                return Err(BuildError::new(
                    "language_file",
                    "give `language` or `language_file`, not both",
                ))
            }
            (_, Some(file)) => {
                let path = base_dir.join(file);
                let text = std::fs::read_to_string(&path).map_err(|e| {
                    BuildError::new("language_file", format!("{}: {e}", path.display()))
                })?;
                LangData::from_toml_str(&text).map_err(|e| {
                    BuildError::new("language_file", format!("{}: {e}", path.display()))
                })?
            }
            (lang, None) => LangData::from_toml_str(lang.unwrap_or(BuiltinLanguage::En).data())
                .map_err(|e| BuildError::new("language", e))?,
        };
        lang.extend_abbreviations(&self.extra_abbreviations);
        Ok(lang)
    }

    /// Builds the stage.
    ///
    /// # Errors
    /// As [`SentencesConfig::lang_data`], or language data the splitter rejects.
    pub fn build(&self, base_dir: &Path) -> Result<Sentences, BuildError> {
        Ok(Sentences {
            splitter: self.splitter(base_dir)?,
            corpus_statistics: self.corpus_statistics,
        })
    }

    /// The conventions this config asks for: the preset's, with the keys given beside it.
    pub fn conventions(&self) -> Conventions {
        let base = self.preset.unwrap_or_default().conventions();
        Conventions {
            lower_case_starts: self.lower_case_starts.unwrap_or(base.lower_case_starts),
            trailing_citations: self.trailing_citations.unwrap_or(base.trailing_citations),
            quotations: self.quotations.unwrap_or(base.quotations),
            single_newlines: self.single_newlines.unwrap_or(base.single_newlines),
        }
    }

    /// True when the stage reads the corpus profile (its word counts).
    pub fn needs_corpus_profile(&self) -> bool {
        self.corpus_statistics
    }

    /// Builds the splitter alone (what `split-sentences` runs): the language data, the
    /// built-in word statistics of a built-in language (none for a language file), and
    /// the conventions.
    ///
    /// # Errors
    /// As [`SentencesConfig::lang_data`], or language data the splitter rejects.
    pub fn splitter(&self, base_dir: &Path) -> Result<Splitter, BuildError> {
        let lang = self.lang_data(base_dir)?;
        let stats = match (&self.language_file, self.language) {
            (Some(_), _) => WordStats::default(),
            (None, None | Some(BuiltinLanguage::En)) => WordStats::english(),
        };
        let conv = self.conventions();
        Splitter::with_stats(&lang, stats, conv).map_err(|e| BuildError::new("language", e))
    }
}

/// The built `sentences` stage.
pub struct Sentences {
    splitter: Splitter,
    corpus_statistics: bool,
}

impl std::fmt::Debug for Sentences {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sentences").finish_non_exhaustive()
    }
}

impl Sentences {
    /// The splitter this stage uses.
    pub fn splitter(&self) -> &Splitter {
        &self.splitter
    }

    /// Adds the word counts of the corpus profile to the splitter's statistics (when
    /// `corpus_statistics` is on).
    pub fn set_profile(&mut self, profile: Arc<CorpusProfile>) {
        if self.corpus_statistics {
            self.splitter = self.splitter.with_corpus(profile);
        }
    }
}

impl Stage for Sentences {
    fn name(&self) -> &'static str {
        "sentences"
    }

    fn apply(&self, doc: &mut Document, _stats: &mut StageStats) {
        let mut spans = Vec::new();
        let mut at = 0;
        for line in doc.lines() {
            let start = spans.len();
            self.splitter.split_into(&line.text, &mut spans);
            for s in &mut spans[start..] {
                *s = s.start + at..s.end + at;
            }
            at += line.text.len() + 2;
        }
        doc.set_sentences(spans);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(toml_text: &str) -> SentencesConfig {
        toml::from_str(toml_text).expect("valid sentences config")
    }

    #[test]
    fn a_preset_bundles_conventions_and_keys_override_it() {
        assert_eq!(config("").conventions(), Conventions::default());
        let edited = config("preset = \"edited\"").conventions();
        assert!(!edited.lower_case_starts && !edited.trailing_citations);
        assert_eq!(edited.single_newlines, SingleNewlines::Auto);
        let pdf = config("preset = \"pdf\"\nquotations = \"whole\"").conventions();
        assert_eq!(pdf.single_newlines, SingleNewlines::Space);
        assert_eq!(pdf.quotations, Quotations::Whole);
        assert!(!pdf.lower_case_starts);
        let mixed = config("preset = \"edited\"\nlower_case_starts = true").conventions();
        assert!(mixed.lower_case_starts && !mixed.trailing_citations);
        assert!(toml::from_str::<SentencesConfig>("preset = \"golden\"").is_err());
        assert!(toml::from_str::<SentencesConfig>("single_newlines = \"never\"").is_err());
    }

    #[test]
    fn the_built_stage_splits_by_its_conventions() {
        let text = "we left at noon. it rained all day.";
        let split = |cfg: &SentencesConfig| {
            let stage = cfg.build(Path::new(".")).expect("builds");
            stage.splitter().split(text).len()
        };
        assert_eq!(split(&config("")), 2);
        assert_eq!(split(&config("preset = \"edited\"")), 1);
    }
}
