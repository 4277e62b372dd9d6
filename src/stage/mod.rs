//! Stages: the per-document transforms, and the pipeline that runs them.
//!
//! Each stage is a small struct implementing [`Stage`]; [`AnyStage`]
//! dispatches over all of them and [`Pipeline`] is an ordered list. Stages
//! are built from their config by `config::PipelineConfig::build`, so all
//! that can fail has failed before the first document arrives: `apply`
//! cannot fail. Stages change text only through [`Document`]'s methods.

pub mod boilerplate;
pub mod captions;
pub mod normalize;
pub mod quotes;
pub mod reflow;
pub mod sentences;

use std::time::Instant;

use crate::document::Document;
use crate::stats::StageStats;

/// A stage config that does not build, found before any document is read:
/// where inside the stage's table (`groups[2].regex[0]`, `language`; empty
/// for the table as a whole) and why. The config prefixes `stages[i]`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {message}")]
pub struct BuildError {
    /// The key, relative to the stage's table.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

impl BuildError {
    /// An error at `key`.
    pub fn new(key: impl Into<String>, message: impl ToString) -> BuildError {
        BuildError {
            key: key.into(),
            message: message.to_string(),
        }
    }
}

/// One per-document transform.
pub trait Stage: Send + Sync {
    /// Stable identifier used in stats and the removed-lines log.
    fn name(&self) -> &'static str;
    /// Transforms one document, counting what it did in `stats`.
    fn apply(&self, doc: &mut Document, stats: &mut StageStats);
}

/// Any built stage.
#[derive(Debug)]
#[allow(missing_docs)]
pub enum AnyStage {
    Normalize(normalize::Normalize),
    Boilerplate(Box<boilerplate::BoilerplateStage>),
    Quotes(quotes::Quotes),
    Captions(captions::Captions),
    Sentences(sentences::Sentences),
}

impl Stage for AnyStage {
    fn name(&self) -> &'static str {
        match self {
            AnyStage::Normalize(s) => s.name(),
            AnyStage::Boilerplate(s) => s.name(),
            AnyStage::Quotes(s) => s.name(),
            AnyStage::Captions(s) => s.name(),
            AnyStage::Sentences(s) => s.name(),
        }
    }

    fn apply(&self, doc: &mut Document, stats: &mut StageStats) {
        match self {
            AnyStage::Normalize(s) => s.apply(doc, stats),
            AnyStage::Boilerplate(s) => s.apply(doc, stats),
            AnyStage::Quotes(s) => s.apply(doc, stats),
            AnyStage::Captions(s) => s.apply(doc, stats),
            AnyStage::Sentences(s) => s.apply(doc, stats),
        }
    }
}

/// An ordered list of built stages.
///
/// # Example
///
/// ```
/// use textclean::config::PipelineConfig;
/// use textclean::corpus::CorpusProfile;
/// use textclean::document::Document;
///
/// let pipeline = PipelineConfig::default_config().build(&CorpusProfile::empty()).unwrap();
/// let mut doc = Document::new("d", "“Hello,” she said.\u{a0} \n\nHide Ad\nHe waved. Mr. Smith left.");
/// let mut stats = pipeline.new_stage_stats();
/// pipeline.apply(&mut doc, &mut stats);
/// assert_eq!(doc.text(), "\"Hello,\" she said.\n\nHe waved. Mr. Smith left.");
/// assert_eq!(doc.sentences().unwrap().len(), 3);
/// ```
#[derive(Debug, Default)]
pub struct Pipeline {
    stages: Vec<AnyStage>,
}

impl Pipeline {
    /// A pipeline of these stages, in this order.
    pub fn new(stages: Vec<AnyStage>) -> Pipeline {
        Pipeline { stages }
    }

    /// The stages, in order.
    pub fn stages(&self) -> &[AnyStage] {
        &self.stages
    }

    /// Names of the stages, in order.
    pub fn names(&self) -> Vec<&'static str> {
        self.stages.iter().map(Stage::name).collect()
    }

    /// Fresh per-stage counters, one per stage.
    pub fn new_stage_stats(&self) -> Vec<StageStats> {
        vec![StageStats::default(); self.stages.len()]
    }

    /// Runs every stage over `doc`, timing each one into `stats`
    /// (which must have one entry per stage).
    pub fn apply(&self, doc: &mut Document, stats: &mut [StageStats]) {
        for (stage, st) in self.stages.iter().zip(stats.iter_mut()) {
            let t = Instant::now();
            stage.apply(doc, st);
            st.time += t.elapsed();
        }
    }

    /// Gives every stage that reads the corpus profile this one.
    pub fn set_profile(&mut self, profile: &std::sync::Arc<crate::corpus::CorpusProfile>) {
        for stage in &mut self.stages {
            match stage {
                AnyStage::Boilerplate(b) => b.set_profile(std::sync::Arc::clone(profile)),
                AnyStage::Sentences(s) => s.set_profile(std::sync::Arc::clone(profile)),
                _ => {}
            }
        }
    }

    /// Runs every stage without counting (pass 1 runs the stages that
    /// come before the first one that reads the corpus profile, and
    /// throws the documents away).
    pub fn apply_uncounted(&self, doc: &mut Document) {
        let mut scratch = StageStats::default();
        for stage in &self.stages {
            stage.apply(doc, &mut scratch);
        }
    }
}
