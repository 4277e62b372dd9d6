//! The pipeline config: plain data that mirrors `config/*.toml`, then
//! `build()` into runtime stages.
//!
//! The file is a list of `[[stages]]` tables, each with a `type` key that
//! picks the stage and that stage's options beside it. Unknown keys are
//! errors, and every error names the file, the `stages[i]` index and the
//! key, so a typo never silently falls back to a default.

use std::num::{NonZeroU32, NonZeroUsize};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::corpus::CorpusProfile;
use crate::stage::boilerplate::BoilerplateConfig;
use crate::stage::captions::CaptionsConfig;
use crate::stage::normalize::NormalizeConfig;
use crate::stage::quotes::QuotesConfig;
use crate::stage::sentences::SentencesConfig;
use crate::stage::{AnyStage, BuildError, Pipeline};

/// The default config, compiled in so the binary works from anywhere.
pub const DEFAULT_CONFIG: &str = include_str!("../config/default.toml");

/// A config that could not be loaded or built.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    // The I/O error is part of the message, not a `source`: as a source it
    // would be printed twice in the error chain.
    #[error("{path}: {error}")]
    Read {
        /// The config file.
        path: String,
        /// Why.
        error: std::io::Error,
    },
    /// The file is not valid TOML, or a key or value is wrong.
    #[error("{path}: {key}: {message}")]
    Invalid {
        /// The config file.
        path: String,
        /// Where in the file, e.g. `stages[1].window`.
        key: String,
        /// What is wrong.
        message: String,
    },
}

impl ConfigError {
    /// An error about `key` in config `path`.
    pub fn invalid(path: &str, key: impl Into<String>, message: impl ToString) -> ConfigError {
        ConfigError::Invalid {
            path: path.to_string(),
            key: key.into(),
            message: message.to_string(),
        }
    }
}

/// Corpus-profile (pass 1) settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorpusConfig {
    /// Most line fingerprints the corpus profile holds; past this it
    /// samples the fingerprint space (see `corpus.rs`), so memory stays
    /// bounded whatever the corpus size. About 40 bytes each.
    #[serde(default = "default_max_fingerprints")]
    pub max_fingerprints: NonZeroUsize,
    /// Lines longer than this many bytes (as read) are not counted: chrome
    /// that repeats across a site is short, and skipping paragraphs keeps
    /// pass 1 cheap. A longer line is never a corpus repeat.
    #[serde(default = "default_max_line_bytes")]
    pub max_line_bytes: NonZeroUsize,
    /// Most word types the sentence splitter's corpus statistics hold
    /// (sampled past this like the fingerprints). About 50 bytes each.
    #[serde(default = "default_max_word_types")]
    pub max_word_types: NonZeroUsize,
    /// The sentence splitter's corpus statistics read the words of one line
    /// in this many, chosen by the line's fingerprint (the same lines for any
    /// thread or shard count). Every word of every line cost pass 1 about a
    /// third more on the bench corpus; a sample of a large corpus gives the
    /// same ratios, and a small corpus can set 1.
    #[serde(default = "default_word_line_sample")]
    pub word_line_sample: NonZeroU32,
}

fn default_word_line_sample() -> NonZeroU32 {
    NonZeroU32::new(4).expect("not zero")
}

fn default_max_word_types() -> NonZeroUsize {
    NonZeroUsize::new(1_000_000).expect("not zero")
}

fn default_max_line_bytes() -> NonZeroUsize {
    NonZeroUsize::new(400).expect("not zero")
}

fn default_max_fingerprints() -> NonZeroUsize {
    NonZeroUsize::new(4_000_000).expect("not zero")
}

impl Default for CorpusConfig {
    fn default() -> Self {
        CorpusConfig {
            max_fingerprints: default_max_fingerprints(),
            max_line_bytes: default_max_line_bytes(),
            max_word_types: default_max_word_types(),
            word_line_sample: default_word_line_sample(),
        }
    }
}

/// One `[[stages]]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum StageConfig {
    /// Unicode and whitespace normalisation.
    Normalize(NormalizeConfig),
    /// Boilerplate removal by rules, context and corpus repeats.
    Boilerplate(BoilerplateConfig),
    /// Quote normalisation.
    Quotes(QuotesConfig),
    /// Caption deduplication.
    Captions(CaptionsConfig),
    /// Sentence splitting (must be the last stage).
    Sentences(SentencesConfig),
}

impl StageConfig {
    /// The stage's `type` name.
    pub fn type_name(&self) -> &'static str {
        match self {
            StageConfig::Normalize(_) => "normalize",
            StageConfig::Boilerplate(_) => "boilerplate",
            StageConfig::Quotes(_) => "quotes",
            StageConfig::Captions(_) => "captions",
            StageConfig::Sentences(_) => "sentences",
        }
    }

    /// True when the stage reads the corpus profile, so pass 1 must run.
    pub fn needs_corpus_profile(&self) -> bool {
        match self {
            StageConfig::Boilerplate(b) => b.needs_corpus_profile(),
            StageConfig::Sentences(s) => s.needs_corpus_profile(),
            _ => false,
        }
    }
}

/// The whole config file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineConfig {
    /// Corpus-profile settings.
    #[serde(default)]
    pub corpus: CorpusConfig,
    /// The stages, in the order they run.
    pub stages: Vec<StageConfig>,
    /// Where the config came from (for messages and relative paths).
    #[serde(skip)]
    pub origin: String,
    /// Directory that relative paths in the config are resolved against.
    #[serde(skip)]
    pub base_dir: PathBuf,
}

/// The top level before the stage tables are looked at, so each stage can
/// be converted with its own index in the error.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    #[serde(default)]
    corpus: Option<toml::Value>,
    stages: Vec<toml::Value>,
}

/// Converts `value` with the path of the failing key below `prefix` in
/// the error (`stages[1].window`); an empty `prefix` is the top level.
fn convert<T: serde::de::DeserializeOwned>(
    origin: &str,
    prefix: &str,
    value: toml::Value,
) -> Result<T, ConfigError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let inner = e.path().to_string();
        let key = match (prefix, inner.as_str()) {
            ("", "." | "") => "top level".to_string(),
            ("", inner) => inner.to_string(),
            (prefix, "." | "") => prefix.to_string(),
            (prefix, inner) => format!("{prefix}.{inner}"),
        };
        ConfigError::invalid(origin, key, e.into_inner().message())
    })
}

impl StageConfig {
    /// The `type` names, in the order the error for an unknown one lists them.
    const TYPES: [&'static str; 5] = [
        "normalize",
        "boilerplate",
        "quotes",
        "captions",
        "sentences",
    ];

    /// Converts the table `stages[i]`. The `type` key is read first and the
    /// rest goes to that stage's struct on its own: through serde's
    /// internally tagged enum, a wrong-type value lost its key (the enum
    /// buffers the table, and the path of the error inside it is gone).
    fn from_value(origin: &str, i: usize, value: toml::Value) -> Result<StageConfig, ConfigError> {
        let at = format!("stages[{i}]");
        let toml::Value::Table(mut table) = value else {
            return Err(ConfigError::invalid(
                origin,
                at,
                format!("expected a table, found {}", value.type_str()),
            ));
        };
        let expected = Self::TYPES.map(|t| format!("`{t}`")).join(", ");
        let kind = match table.remove("type") {
            None => {
                return Err(ConfigError::invalid(
                    origin,
                    at,
                    format!("missing field `type`, expected one of {expected}"),
                ))
            }
            Some(toml::Value::String(t)) => t,
            Some(other) => {
                return Err(ConfigError::invalid(
                    origin,
                    format!("{at}.type"),
                    format!(
                        "invalid type: {}, expected a string, one of {expected}",
                        other.type_str()
                    ),
                ))
            }
        };
        let rest = toml::Value::Table(table);
        let prefix = at.as_str();
        Ok(match kind.as_str() {
            "normalize" => StageConfig::Normalize(convert(origin, prefix, rest)?),
            "boilerplate" => StageConfig::Boilerplate(convert(origin, prefix, rest)?),
            "quotes" => StageConfig::Quotes(convert(origin, prefix, rest)?),
            "captions" => StageConfig::Captions(convert(origin, prefix, rest)?),
            "sentences" => StageConfig::Sentences(convert(origin, prefix, rest)?),
            other => {
                return Err(ConfigError::invalid(
                    origin,
                    format!("{at}.type"),
                    format!("unknown variant `{other}`, expected one of {expected}"),
                ))
            }
        })
    }
}

impl PipelineConfig {
    /// The built-in default config (`config/default.toml`).
    pub fn default_config() -> PipelineConfig {
        PipelineConfig::from_toml_str(DEFAULT_CONFIG, "<built-in default config>", Path::new("."))
            .expect("the built-in default config is valid (checked by tests)")
    }

    /// Reads and checks a config file.
    ///
    /// # Errors
    /// An unreadable file, invalid TOML, an unknown stage type or key, or a
    /// bad value; the error names the file and the key.
    pub fn load(path: &Path) -> Result<PipelineConfig, ConfigError> {
        let origin = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|error| ConfigError::Read {
            path: origin.clone(),
            error,
        })?;
        let base = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        PipelineConfig::from_toml_str(&text, &origin, &base)
    }

    /// Parses config text; `origin` names it in errors and `base_dir`
    /// resolves relative paths.
    ///
    /// # Errors
    /// As [`PipelineConfig::load`].
    pub fn from_toml_str(
        text: &str,
        origin: &str,
        base_dir: &Path,
    ) -> Result<PipelineConfig, ConfigError> {
        // Syntax first (with a line), then the shape of each part with its
        // own path, so a wrong type names its key as an unknown one does.
        let table: toml::Table = toml::from_str(text).map_err(|e| {
            let key = match e.span() {
                Some(span) => format!("line {}", text[..span.start].lines().count().max(1)),
                None => "top level".to_string(),
            };
            ConfigError::invalid(origin, key, e.message())
        })?;
        let raw: RawConfig = convert(origin, "", toml::Value::Table(table))?;
        let corpus = match raw.corpus {
            Some(v) => convert(origin, "corpus", v)?,
            None => CorpusConfig::default(),
        };
        let mut stages = Vec::with_capacity(raw.stages.len());
        for (i, value) in raw.stages.into_iter().enumerate() {
            stages.push(StageConfig::from_value(origin, i, value)?);
        }
        let cfg = PipelineConfig {
            corpus,
            stages,
            origin: origin.to_string(),
            base_dir: base_dir.to_path_buf(),
        };
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if let Some(i) = self
            .stages
            .iter()
            .position(|s| matches!(s, StageConfig::Sentences(_)))
        {
            if i + 1 != self.stages.len() {
                return Err(ConfigError::invalid(
                    &self.origin,
                    format!("stages[{i}]"),
                    "the sentences stage must be the last one: it records spans of the final text",
                ));
            }
        }
        Ok(())
    }

    /// True when some stage reads the corpus profile.
    pub fn needs_corpus_profile(&self) -> bool {
        self.stages.iter().any(StageConfig::needs_corpus_profile)
    }

    /// True when some stage reads the word counts of the corpus profile
    /// (pass 1 counts words only then).
    pub fn needs_word_counts(&self) -> bool {
        self.stages
            .iter()
            .any(|s| matches!(s, StageConfig::Sentences(s) if s.needs_corpus_profile()))
    }

    /// Number of stages that run before the first one that reads the
    /// corpus profile: pass 1 observes documents as that stage will see them.
    pub fn profile_prefix_len(&self) -> usize {
        self.stages
            .iter()
            .position(StageConfig::needs_corpus_profile)
            .unwrap_or(self.stages.len())
    }

    /// True when the pipeline splits sentences.
    pub fn has_sentences(&self) -> bool {
        self.stages
            .iter()
            .any(|s| matches!(s, StageConfig::Sentences(_)))
    }

    /// Compiles every stage (regexes, automata, abbreviation sets).
    ///
    /// # Errors
    /// A rule that does not compile or a language file that cannot be
    /// read; the error names `stages[i]` and the key.
    pub fn build(&self, profile: &CorpusProfile) -> Result<Pipeline, ConfigError> {
        let shared = if self.needs_corpus_profile() {
            Arc::new(profile.clone())
        } else {
            Arc::new(CorpusProfile::empty())
        };
        self.build_shared(shared)
    }

    /// Like [`PipelineConfig::build`], sharing the profile instead of
    /// copying it (a full profile can be large).
    ///
    /// # Errors
    /// As [`PipelineConfig::build`].
    pub fn build_shared(&self, profile: Arc<CorpusProfile>) -> Result<Pipeline, ConfigError> {
        self.build_first(self.stages.len(), &profile)
    }

    /// Builds only the stages pass 1 runs (see
    /// [`PipelineConfig::profile_prefix_len`]): compiling the boilerplate
    /// rules there would cost a run as much as cleaning a few megabytes.
    ///
    /// # Errors
    /// As [`PipelineConfig::build`], for those stages.
    pub fn build_profile_prefix(&self) -> Result<Pipeline, ConfigError> {
        self.build_first(self.profile_prefix_len(), &Arc::new(CorpusProfile::empty()))
    }

    fn build_first(&self, n: usize, profile: &Arc<CorpusProfile>) -> Result<Pipeline, ConfigError> {
        let mut built = Vec::with_capacity(n);
        for (i, stage) in self.stages.iter().enumerate().take(n) {
            let at = |e: BuildError| {
                let key = if e.key.is_empty() {
                    format!("stages[{i}]")
                } else {
                    format!("stages[{i}].{}", e.key)
                };
                ConfigError::invalid(&self.origin, key, e.message)
            };
            built.push(match stage {
                StageConfig::Normalize(c) => AnyStage::Normalize(c.build()),
                StageConfig::Boilerplate(c) => AnyStage::Boilerplate(Box::new(
                    c.build_stage(profile, &self.base_dir).map_err(at)?,
                )),
                StageConfig::Quotes(c) => AnyStage::Quotes(c.build()),
                StageConfig::Captions(c) => AnyStage::Captions(c.build()),
                StageConfig::Sentences(c) => {
                    let mut s = c.build(&self.base_dir).map_err(at)?;
                    s.set_profile(Arc::clone(profile));
                    AnyStage::Sentences(s)
                }
            });
        }
        Ok(Pipeline::new(built))
    }

    /// The resolved config as TOML (what `check-config` prints).
    ///
    /// # Errors
    /// Only if serialisation fails, which a valid config never does.
    pub fn to_toml(&self) -> Result<String, toml::ser::Error> {
        toml::to_string_pretty(self)
    }

    /// A stable hash of the resolved config, for run manifests.
    pub fn hash_hex(&self) -> String {
        let text = self.to_toml().unwrap_or_default();
        format!("{:016x}", xxhash_rust::xxh3::xxh3_64(text.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `key` and message of the error `text` gives (read or built),
    /// which must name the file.
    fn error_of(text: &str) -> (String, String) {
        let built = PipelineConfig::from_toml_str(text, "my.toml", Path::new("."))
            .and_then(|c| c.build(&CorpusProfile::empty()));
        match built {
            Ok(_) => panic!("accepted:\n{text}"),
            Err(ConfigError::Invalid { path, key, message }) => {
                assert_eq!(path, "my.toml");
                (key, message)
            }
            Err(e) => panic!("{e}"),
        }
    }

    const NORMALIZE: &str = "[[stages]]\ntype = \"normalize\"\n\n";

    #[test]
    fn every_kind_of_mistake_names_the_stage_and_key() {
        let cases: &[(&str, &str, &str)] = &[
            // (config after a first normalize stage, key, part of the message)
            (
                "[[stages]]\ntype = \"captions\"\nwindow = \"three\"\n",
                "stages[1].window",
                "invalid type: string \"three\"",
            ),
            (
                "[[stages]]\ntype = \"captions\"\nwindow = 0\n",
                "stages[1].window",
                "invalid value",
            ),
            (
                "[[stages]]\ntype = \"captions\"\nwindow = [1]\n",
                "stages[1].window",
                "invalid type: sequence",
            ),
            (
                "[[stages]]\ntype = \"captions\"\nwindw = 3\n",
                "stages[1].windw",
                "unknown field `windw`",
            ),
            (
                "[[stages]]\ntype = \"quotes\"\nbackticks = \"yes\"\n",
                "stages[1].backticks",
                "expected a boolean",
            ),
            (
                "[[stages]]\ntype = \"quote\"\n",
                "stages[1].type",
                "unknown variant `quote`",
            ),
            (
                "[[stages]]\ntype = 7\n",
                "stages[1].type",
                "invalid type: integer",
            ),
            (
                "[[stages]]\ntyp = \"quotes\"\n",
                "stages[1]",
                "missing field `type`",
            ),
            (
                "[[stages]]\ntype = \"boilerplate\"\n[[stages.groups]]\nname = 3\nreason = \"r\"\n",
                "stages[1].groups[0].name",
                "invalid type: integer",
            ),
            (
                "[corpus]\nmax_line_bytes = \"x\"\n",
                "corpus.max_line_bytes",
                "invalid type: string",
            ),
            (
                "[corpus]\nmax_lines = 3\n",
                "corpus.max_lines",
                "unknown field `max_lines`",
            ),
            ("colour = 1\n", "colour", "unknown field `colour`"),
            // Found when the stage builds, not when the TOML is read.
            (
                "[[stages]]\ntype = \"boilerplate\"\n[[stages.groups]]\nname = \"g\"\nreason = \"r\"\nregex = [\"ok\", \"a: (b\"]\n",
                "stages[1].groups[0].regex[1]",
                "regex parse error",
            ),
            (
                "[[stages]]\ntype = \"boilerplate\"\nprotect = [\"x\", \"[z\"]\n",
                "stages[1].protect[1]",
                "unclosed character class",
            ),
            (
                "[[stages]]\ntype = \"boilerplate\"\n[[stages.groups]]\nname = \"g\"\nreason = \"r\"\nexact = [\": -\"]\n",
                "stages[1].groups[0].exact[0]",
                "\": -\" is empty after trimming",
            ),
            (
                "[[stages]]\ntype = \"sentences\"\nlanguage = \"en\"\nlanguage_file = \"x.toml\"\n",
                "stages[1].language_file",
                "not both",
            ),
        ];
        for (body, key, message) in cases {
            let text = if body.starts_with("[[stages]]") {
                format!("{NORMALIZE}{body}")
            } else {
                format!("{body}\n{NORMALIZE}")
            };
            let (k, m) = error_of(&text);
            assert_eq!(
                (k.as_str(), m.contains(message)),
                (*key, true),
                "{body}: {m}"
            );
        }
        assert_eq!(error_of("stages = 5\n").0, "stages");
        assert_eq!(error_of("stages = [5]\n").0, "stages[0]");
        assert_eq!(error_of("[[stages]]\ntype = \"captions\n").0, "line 2");
    }

    #[test]
    fn the_default_config_round_trips() {
        let cfg = PipelineConfig::default_config();
        let again = PipelineConfig::from_toml_str(&cfg.to_toml().unwrap(), "again", Path::new("."))
            .unwrap();
        assert_eq!(cfg.stages, again.stages);
        assert_eq!(cfg.corpus, again.corpus);
    }
}
