//! Running a pipeline over inputs: with `par.rs` (the helpers that
//! compiling the rules uses on a run's pool), the only module with rayon
//! and indicatif.
//!
//! Documents are read in input order in batches of bounded size; each
//! batch is decoded and cleaned in parallel and collected in order, then
//! rendered in parallel, then written sequentially. With two or more
//! threads a reader thread stays a batch ahead and the pool works on up to
//! two batches while the calling thread writes the one before.
//! Output order therefore never depends on the thread count, and memory is
//! bounded by a few batches (plus the corpus profile, whose cap is a
//! config value).

use std::io::IsTerminal;
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::config::{ConfigError, PipelineConfig};
use crate::corpus::{BatchWords, CorpusProfile, DocLines};
use crate::document::Document;
use crate::input::{InputError, InputOptions, InputSpec, Raw, Reader};
pub use crate::output::OutputSpec;
use crate::output::{FieldKinds, OutputError};
use crate::stage::Pipeline;
use crate::stats::{Report, StageStats, Stats};

/// A run that had to stop.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The config did not build.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The output could not be written.
    #[error(transparent)]
    Output(#[from] OutputError),
    /// `--fail-fast` and an input error.
    #[error(transparent)]
    Input(#[from] InputError),
    /// The thread pool could not be built.
    #[error("thread pool: {0}")]
    Pool(#[from] rayon::ThreadPoolBuildError),
}

/// How to run (not what to do to the text: that is the config).
#[derive(Debug, Clone)]
pub struct RunOptions {
    /// Worker threads; `None` picks [`default_threads`].
    pub threads: Option<usize>,
    /// Approximate input bytes per batch.
    pub batch_bytes: usize,
    /// Show a progress bar on stderr (only when it is a terminal).
    pub progress: bool,
    /// Stop at the first bad record instead of reporting and going on.
    pub fail_fast: bool,
    /// Field names of JSONL/CSV input.
    pub input: InputOptions,
}

impl Default for RunOptions {
    fn default() -> Self {
        RunOptions {
            threads: None,
            // 512 KiB rather than 2 MiB: +5-6% at 2 threads on the
            // bench corpus (interleaved runs), the same at 1 thread.
            batch_bytes: 512 << 10,
            progress: false,
            fail_fast: false,
            input: InputOptions::default(),
        }
    }
}

/// What a finished run reports.
#[derive(Debug)]
pub struct Outcome {
    /// Totals and timing.
    pub report: Report,
    /// Wall time of pass 1, the corpus profile (zero when no stage needs
    /// it). Reading, decoding and per-stage times are in the report's stats.
    pub profile_time: Duration,
    /// Wall time of compiling the pipeline; it overlaps pass 1 when there
    /// is one.
    pub build_time: Duration,
}

/// Threads to use when none are given: `RAYON_NUM_THREADS` (the user's
/// explicit setting: the pool is built with a count, which would override
/// it), then Slurm's allocation (`SLURM_CPUS_PER_TASK`, then
/// `SLURM_CPUS_ON_NODE`), else the CPU count.
pub fn default_threads() -> usize {
    [
        "RAYON_NUM_THREADS",
        "SLURM_CPUS_PER_TASK",
        "SLURM_CPUS_ON_NODE",
    ]
    .iter()
    .find_map(|v| std::env::var(v).ok()?.trim().parse::<usize>().ok())
    .filter(|&n| n > 0)
    .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

fn pool(opts: &RunOptions) -> Result<Arc<rayon::ThreadPool>, RunError> {
    Ok(Arc::new(
        rayon::ThreadPoolBuilder::new()
            .num_threads(opts.threads.unwrap_or_else(default_threads).max(1))
            .build()?,
    ))
}

/// Pulls the next batch: at least one record, at most about `bytes`.
fn next_batch(
    reader: &mut (impl Iterator<Item = Result<Raw, InputError>> + ?Sized),
    bytes: usize,
) -> Vec<Result<Raw, InputError>> {
    let mut batch = Vec::new();
    let mut size = 0;
    for item in &mut *reader {
        size += item.as_ref().map_or(0, |r| r.size);
        batch.push(item);
        if size >= bytes || batch.len() >= 65_536 {
            break;
        }
    }
    batch
}

/// Input bytes of the first batch of a pass (see [`with_batches`]).
const FIRST_BATCH_BYTES: usize = 256 << 10;

/// A batch and the wall time it took to read.
type Batch = (Vec<Result<Raw, InputError>>, Duration);

/// Feeds `body` the batches of `reader`. With more than one worker thread,
/// a reader thread stays one batch ahead, so that reading (decompression,
/// line splitting) overlaps with cleaning instead of leaving the workers
/// idle; memory stays bounded at two batches in flight. With one worker the
/// reading is done inline, so "one thread" means one core.
fn with_batches<T>(
    reader: impl Iterator<Item = Result<Raw, InputError>> + Send,
    opts: &RunOptions,
    pool: &rayon::ThreadPool,
    body: impl FnOnce(&mut dyn Iterator<Item = Batch>) -> T,
) -> T {
    // The first batches are small and each doubles up to the batch size:
    // while the first batch is read every worker waits, and a small one
    // shortens that wait at the start of each pass.
    let mut bytes = opts.batch_bytes.min(FIRST_BATCH_BYTES);
    let mut timed = move |reader: &mut dyn Iterator<Item = Result<Raw, InputError>>| {
        let t = Instant::now();
        let batch = next_batch(reader, bytes);
        bytes = (bytes * 2).min(opts.batch_bytes);
        (!batch.is_empty()).then(|| (batch, t.elapsed()))
    };
    if pool.current_num_threads() < 2 {
        let mut reader = reader;
        return body(&mut std::iter::from_fn(|| timed(&mut reader)));
    }
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(1);
        scope.spawn(move || {
            let mut reader = reader;
            while let Some(batch) = timed(&mut reader) {
                // The receiver is gone when the run stopped early.
                if tx.send(batch).is_err() {
                    break;
                }
            }
        });
        body(&mut rx.into_iter())
    })
}

/// The inputs' size on disk (compressed size for `.gz` and `.zst`), the
/// length of a run's progress bars; `None` when a stream has none.
fn input_size(inputs: &[InputSpec]) -> Option<u64> {
    let mut total = Some(0u64);
    for spec in inputs {
        let size = match spec {
            InputSpec::Dir(d) => crate::input::list_text_files(d).ok().map(|files| {
                files
                    .iter()
                    .filter_map(|(_, p)| std::fs::metadata(p).ok())
                    .map(|m| m.len())
                    .sum()
            }),
            InputSpec::Stdin => None,
            // A pipe or device has no size to go by.
            other => other
                .path()
                .and_then(|p| std::fs::metadata(p).ok())
                .filter(std::fs::Metadata::is_file)
                .map(|m| m.len()),
        };
        total = total.zip(size).map(|(a, b)| a + b);
    }
    total
}

/// The progress bar of one pass, named `name`: its position is the bytes
/// read as stored ([`crate::input::ByteCounter`], reset here) against
/// `total`, so the ETA holds for compressed inputs too; a spinner when a
/// stream's size is unknown. Each pass gets a new bar, named before it is
/// first drawn, so no frame shows one pass's name with another's count.
fn pass_bar(total: Option<u64>, opts: &RunOptions, name: String) -> ProgressBar {
    opts.input.read.reset();
    if !opts.progress || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = match total {
        Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template(
                "{prefix} {bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template(
                "{prefix} {spinner} {bytes} {binary_bytes_per_sec} {msg} {elapsed}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    }
    .with_prefix(name);
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Pass 1: observes every document as the first profile-reading stage
/// will see it and returns the merged profile.
///
/// # Errors
/// The config does not build or the pool cannot start.
pub fn build_profile(
    inputs: &[InputSpec],
    config: &PipelineConfig,
    opts: &RunOptions,
) -> Result<CorpusProfile, RunError> {
    let reader = Reader::new(inputs.to_vec(), opts.input.clone());
    profile_part(reader, config, opts)
}

/// Pass 1 over some records (all of them, or one shard's, which
/// `shard.rs` selects): the profile, or the part that `merge-profile`
/// adds up.
///
/// # Errors
/// The config does not build or the pool cannot start.
pub(crate) fn profile_part(
    records: impl Iterator<Item = Result<Raw, InputError>> + Send,
    config: &PipelineConfig,
    opts: &RunOptions,
) -> Result<CorpusProfile, RunError> {
    let hidden = ProgressBar::hidden();
    profile_with(
        records,
        config,
        opts,
        &*pool(opts)?,
        &hidden,
        &mut || Ok(()),
        None,
    )
}

/// Pass 1 on `pool`. `check` runs after each batch is handed out, and its
/// error stops the pass (the pipeline compiling alongside failed). With
/// `kinds`, the pass also observes every carried field (see
/// [`Sink::wants_preview`]), which spares a sink that needs them a pass of
/// its own.
fn profile_with(
    reader: impl Iterator<Item = Result<Raw, InputError>> + Send,
    config: &PipelineConfig,
    opts: &RunOptions,
    pool: &rayon::ThreadPool,
    bar: &ProgressBar,
    check: &mut dyn FnMut() -> Result<(), RunError>,
    kinds: Option<&mut FieldKinds>,
) -> Result<CorpusProfile, RunError> {
    let prefix = config.build_profile_prefix()?;
    let cap = config.corpus.max_fingerprints.get();
    let max_line = config.corpus.max_line_bytes.get();
    let mut profile =
        CorpusProfile::new(cap).with_max_word_types(config.corpus.max_word_types.get());
    let in_flight = if pool.current_num_threads() < 2 {
        0
    } else {
        IN_FLIGHT
    };
    let prefix = &prefix;
    let count_words = config.needs_word_counts();
    let sample = config.corpus.word_line_sample;
    let observe = kinds.is_some();
    // Each batch's kinds, merged in input order at the end (batches finish
    // in any order, and column order is order of first appearance).
    let mut batch_kinds: Vec<FieldKinds> = Vec::new();
    // As in pass 2, batches are jobs on the pool. The workers decode, run
    // the prefix stages and fingerprint the lines; this thread counts the
    // fingerprints as batches finish, in any order: the profile does not
    // depend on it (see `corpus`). Counting into one map here costs less
    // than a map per batch merged later.
    with_batches(reader, opts, pool, |batches| {
        pool.in_place_scope(|scope| -> Result<(), RunError> {
            let (tx, rx) = std::sync::mpsc::channel::<(usize, PassOne)>();
            let mut outstanding = 0;
            let mut docs = 0u64;
            let mut count = |(index, (part, words, fields)): (usize, PassOne)| {
                for doc in &part {
                    profile.observe_lines(doc);
                }
                profile.observe_words(words);
                if observe {
                    if batch_kinds.len() <= index {
                        batch_kinds.resize_with(index + 1, FieldKinds::default);
                    }
                    batch_kinds[index] = fields;
                }
                docs += part.len() as u64;
                bar.set_position(opts.input.read.get());
                bar.set_message(format!("{docs} docs"));
            };
            for (index, (batch, _)) in batches.enumerate() {
                let tx = tx.clone();
                scope.spawn(move |_| {
                    // Each worker counts words into a map of its own, added up
                    // per batch (by addition: the split does not matter).
                    // Kinds merge left to right: rayon reduces neighbours
                    // in order, so a batch's columns keep input order.
                    let empty = || {
                        (
                            Vec::new(),
                            BatchWords::sampling(sample),
                            FieldKinds::default(),
                        )
                    };
                    let part = batch
                        .into_par_iter()
                        .filter_map(|r| r.ok()?.decode_for_profile(&opts.input, max_line).ok())
                        .fold(empty, |(mut part, mut words, mut fields), mut doc| {
                            if observe {
                                fields.observe(&doc.fields);
                            }
                            prefix.apply_uncounted(&mut doc);
                            let w = count_words.then_some(&mut words);
                            part.push(DocLines::of_counting(&doc, w));
                            (part, words, fields)
                        })
                        .reduce(empty, |(mut a, mut aw, mut af), (b, bw, bf)| {
                            a.extend(b);
                            aw.merge(bw);
                            af.merge(&bf);
                            (a, aw, af)
                        });
                    // The receiver lives until every job has sent.
                    let _ = tx.send((index, part));
                });
                outstanding += 1;
                while outstanding > in_flight {
                    if let Ok(part) = rx.recv() {
                        count(part);
                    }
                    outstanding -= 1;
                }
                check()?;
            }
            drop(tx);
            for part in rx {
                count(part);
            }
            Ok(())
        })
    })?;
    if let Some(kinds) = kinds {
        for batch in &batch_kinds {
            kinds.merge(batch);
        }
    }
    Ok(profile)
}

/// What pass 1 makes of a batch: its documents' lines, their words, and
/// (when asked) their carried fields' kinds.
type PassOne = (Vec<DocLines>, BatchWords, FieldKinds);

/// The pass that observes the carried fields of every document that
/// decodes (see [`Sink::wants_preview`]), when pass 1 does not run: the
/// workers decode a batch and observe its records, which merge in input
/// order. A record that does not decode is left for the clean pass to
/// report and count.
fn preview(
    reader: impl Iterator<Item = Result<Raw, InputError>> + Send,
    opts: &RunOptions,
    pool: &rayon::ThreadPool,
    bar: &ProgressBar,
) -> FieldKinds {
    let mut kinds = FieldKinds::default();
    let mut docs = 0u64;
    with_batches(reader, opts, pool, |batches| {
        for (batch, _) in batches {
            let (seen, fields) = pool.install(|| {
                batch
                    .into_par_iter()
                    .filter_map(|r| r.ok()?.decode(&opts.input).ok())
                    .fold(
                        || (0u64, FieldKinds::default()),
                        |(n, mut fields), doc| {
                            fields.observe(&doc.fields);
                            (n + 1, fields)
                        },
                    )
                    .reduce(
                        || (0, FieldKinds::default()),
                        |(n, mut a), (m, b)| {
                            a.merge(&b);
                            (n + m, a)
                        },
                    )
            });
            kinds.merge(&fields);
            docs += seen;
            bar.set_position(opts.input.read.get());
            bar.set_message(format!("{docs} docs"));
        }
    });
    kinds
}

/// The pipeline compiling as a job on the run's pool while pass 1 reads,
/// so that with two or more threads the compile (tens of milliseconds of
/// regexes and automata) does not hold back the start of the run.
struct PendingBuild {
    rx: std::sync::mpsc::Receiver<(Result<Pipeline, ConfigError>, Duration)>,
    done: Option<(Result<Pipeline, ConfigError>, Duration)>,
}

impl PendingBuild {
    /// The compile's error as soon as it has failed, so that a bad config
    /// stops pass 1 after a batch instead of after the whole corpus.
    fn check(&mut self) -> Result<(), RunError> {
        if self.done.is_none() {
            self.done = self.rx.try_recv().ok();
        }
        match self.done.take() {
            Some((Err(e), _)) => Err(e.into()),
            other => {
                self.done = other;
                Ok(())
            }
        }
    }

    fn wait(self) -> Result<(Pipeline, Duration), RunError> {
        let (built, time) = match self.done {
            Some(done) => done,
            None => match self.rx.recv() {
                Ok(done) => done,
                // The job sends before it ends, so it panicked, and the
                // scope it ran in re-raises the panic: this error is
                // never seen.
                Err(_) => (
                    Err(ConfigError::invalid("pipeline", "", "did not compile")),
                    Duration::ZERO,
                ),
            },
        };
        Ok((built?, time))
    }
}

struct Cleaned {
    doc: Document,
    stages: Vec<StageStats>,
    decode_time: Duration,
}

/// Cleans `inputs` with `pipeline` (built from `config`, which says
/// whether pass 1 must run first), writing to `output` (or nowhere, for
/// benchmarks) and the removed-lines log if asked. Per-record input errors
/// are printed and counted, and the run goes on (unless `fail_fast`).
///
/// # Errors
/// Config, pool and output errors; input errors with `fail_fast`.
pub fn clean<S: Sink>(
    inputs: &[InputSpec],
    config: &PipelineConfig,
    sink: &mut S,
    opts: &RunOptions,
) -> Result<Outcome, RunError> {
    let started = Instant::now();
    let pool = pool(opts)?;
    let build = || {
        let t = Instant::now();
        (config.build(&CorpusProfile::empty()), t.elapsed())
    };
    let total = if opts.progress {
        input_size(inputs)
    } else {
        None
    };
    let previewed = sink.wants_preview();
    let own_preview = previewed && !config.needs_corpus_profile();
    let passes = 1 + usize::from(config.needs_corpus_profile()) + usize::from(own_preview);
    let mut kinds = FieldKinds::default();
    let mut pass = 0;
    let mut name = |what: &str| {
        pass += 1;
        if passes == 1 {
            what.to_string()
        } else {
            format!("pass {pass}/{passes} ({what})")
        }
    };
    let (pipeline, build_time, profile_time) = if config.needs_corpus_profile() {
        let bar = pass_bar(total, opts, name("corpus profile"));
        let t = Instant::now();
        let (mut pipeline, build_time, profile) =
            pool.in_place_scope(|scope| -> Result<_, RunError> {
                let (tx, rx) = std::sync::mpsc::channel();
                // Queued before pass 1's batches, so with one thread it
                // runs first and a bad config stops the run at once.
                scope.spawn(move |_| {
                    let _ = tx.send(build());
                });
                let mut pending = PendingBuild { rx, done: None };
                let reader = Reader::new(inputs.to_vec(), opts.input.clone());
                let observe = previewed.then_some(&mut kinds);
                let profile = profile_with(
                    reader,
                    config,
                    opts,
                    &pool,
                    &bar,
                    &mut || pending.check(),
                    observe,
                )?;
                let (pipeline, build_time) = pending.wait()?;
                Ok((pipeline, build_time, profile))
            })?;
        bar.finish_and_clear();
        pipeline.set_profile(&std::sync::Arc::new(profile));
        (pipeline, build_time, t.elapsed())
    } else {
        let (pipeline, build_time) = pool.install(build);
        (pipeline?, build_time, Duration::ZERO)
    };
    if own_preview {
        let bar = pass_bar(total, opts, name("columns"));
        let reader = Reader::new(inputs.to_vec(), opts.input.clone());
        kinds = preview(reader, opts, &pool, &bar);
        bar.finish_and_clear();
    }
    if previewed {
        sink.set_preview(&kinds);
    }
    let bar = pass_bar(total, opts, name("clean"));
    let reader = Reader::new(inputs.to_vec(), opts.input.clone());
    let engine = Engine {
        pipeline: &pipeline,
        opts,
        pool: &pool,
        bar: &bar,
    };
    let stats = engine.run(reader, sink)?;
    bar.finish_and_clear();
    Ok(Outcome {
        report: Report::new(stats, started.elapsed()),
        profile_time,
        build_time,
    })
}

/// Pass 2 over one shard's records (`shard.rs` selects them) with the
/// merged corpus profile, into the shard's sink (its output and log parts).
///
/// # Errors
/// Config, pool and output errors; input errors with `fail_fast`.
pub(crate) fn clean_part<S: Sink>(
    records: impl Iterator<Item = Result<Raw, InputError>> + Send,
    config: &PipelineConfig,
    profile: std::sync::Arc<CorpusProfile>,
    sink: &mut S,
    opts: &RunOptions,
) -> Result<Stats, RunError> {
    let pool = pool(opts)?;
    // Shared, not copied: a merged profile can hold millions of entries.
    let pipeline = pool.install(|| config.build_shared(profile))?;
    let engine = Engine {
        pipeline: &pipeline,
        opts,
        pool: &pool,
        bar: &ProgressBar::hidden(),
    };
    engine.run(records, sink)
}

/// The rendering side of a [`Sink`]: made by [`Sink::begin`] and shared by
/// the workers, which render each cleaned document while the calling
/// thread writes the batch before.
pub trait Render: Sync {
    /// One document's rendering (its bytes, usually).
    type Out: Send;

    /// Renders `doc`, on a worker thread.
    ///
    /// # Errors
    /// A document this output cannot hold: it is counted as failed and
    /// written nowhere.
    fn render(&self, doc: &Document) -> Result<Self::Out, OutputError>;
}

/// Where the engine hands cleaned documents, in input order (the shape of
/// ripgrep's searcher feeding its printer): [`Sink::begin`] once, after
/// pass 1 and the pipeline build; [`Render::render`] on the workers;
/// [`Sink::write`] on one thread in input order; [`Sink::finish`] once.
/// The engine knows no format: the dataset writers, a shard's parts, the
/// removed-lines log, `explain` and `bench` are sinks, and they combine as
/// a pair `(A, B)` or an `Option`.
pub trait Sink {
    /// What renders on the workers.
    type Render: Render;

    /// True when [`Sink::begin`] must see the first document that decodes
    /// (CSV takes its columns from it); until then the engine cleans one
    /// batch at a time.
    fn wants_first(&self) -> bool {
        false
    }

    /// True when the sink must know the carried fields of every record
    /// before [`Sink::begin`] (Parquet types its columns over every
    /// record). Pass 1 observes them when it runs; otherwise it costs a
    /// pass over the input: read and decode.
    fn wants_preview(&self) -> bool {
        false
    }

    /// The kinds of every carried field over the records that decode, in
    /// input order, before [`Sink::begin`], when [`Sink::wants_preview`].
    fn set_preview(&mut self, _kinds: &FieldKinds) {}

    /// Hands the sink the run's pool, before [`Sink::begin`], for work it
    /// may move off the sequential writer (encoding Parquet row groups).
    fn set_pool(&mut self, _pool: &crate::par::Pool) {}

    /// CPU time the sink spent on the pool's threads, counted with the
    /// writer's own (after [`Sink::finish`]).
    fn pool_time(&self) -> Duration {
        Duration::ZERO
    }

    /// Opens the output. `first` is the first document that decodes when
    /// [`Sink::wants_first`] (`None` if none does), else `None`.
    ///
    /// # Errors
    /// The output cannot be created.
    fn begin(&mut self, first: Option<&Document>) -> Result<Self::Render, OutputError>;

    /// Writes one document's rendering, in input order. A note returned is
    /// printed as a warning (a txt file written under another name).
    ///
    /// # Errors
    /// [`OutputError::Record`]: this document only (counted as failed, the
    /// run goes on); any other error stops the run.
    fn write(
        &mut self,
        doc: &Document,
        out: <Self::Render as Render>::Out,
    ) -> Result<Option<String>, OutputError>;

    /// Completes the output (flush, rename into place).
    ///
    /// # Errors
    /// Any flush, sync or rename error.
    fn finish(&mut self) -> Result<(), OutputError>;
}

/// Discards everything (`bench` without `-o`).
impl Render for () {
    type Out = ();
    fn render(&self, _: &Document) -> Result<(), OutputError> {
        Ok(())
    }
}

impl Sink for () {
    type Render = ();
    fn begin(&mut self, _: Option<&Document>) -> Result<(), OutputError> {
        Ok(())
    }
    fn write(&mut self, _: &Document, (): ()) -> Result<Option<String>, OutputError> {
        Ok(None)
    }
    fn finish(&mut self) -> Result<(), OutputError> {
        Ok(())
    }
}

impl<R: Render> Render for Option<R> {
    type Out = Option<R::Out>;
    fn render(&self, doc: &Document) -> Result<Self::Out, OutputError> {
        self.as_ref().map(|r| r.render(doc)).transpose()
    }
}

/// An optional output (`--removed-log`, `bench -o`).
impl<S: Sink> Sink for Option<S> {
    type Render = Option<S::Render>;
    fn wants_first(&self) -> bool {
        self.as_ref().is_some_and(S::wants_first)
    }
    fn wants_preview(&self) -> bool {
        self.as_ref().is_some_and(S::wants_preview)
    }
    fn set_preview(&mut self, kinds: &FieldKinds) {
        if let Some(s) = self.as_mut() {
            s.set_preview(kinds);
        }
    }
    fn set_pool(&mut self, pool: &crate::par::Pool) {
        if let Some(s) = self.as_mut() {
            s.set_pool(pool);
        }
    }
    fn pool_time(&self) -> Duration {
        self.as_ref().map_or(Duration::ZERO, S::pool_time)
    }
    fn begin(&mut self, first: Option<&Document>) -> Result<Self::Render, OutputError> {
        self.as_mut().map(|s| s.begin(first)).transpose()
    }
    fn write(
        &mut self,
        doc: &Document,
        out: <Self::Render as Render>::Out,
    ) -> Result<Option<String>, OutputError> {
        match (self.as_mut(), out) {
            (Some(s), Some(out)) => s.write(doc, out),
            _ => Ok(None),
        }
    }
    fn finish(&mut self) -> Result<(), OutputError> {
        self.as_mut().map_or(Ok(()), S::finish)
    }
}

impl<A: Render, B: Render> Render for (A, B) {
    type Out = (A::Out, B::Out);
    fn render(&self, doc: &Document) -> Result<Self::Out, OutputError> {
        Ok((self.0.render(doc)?, self.1.render(doc)?))
    }
}

/// Two outputs of every document (the dataset and its removed-lines
/// log): a document that the first refuses reaches neither.
impl<A: Sink, B: Sink> Sink for (A, B) {
    type Render = (A::Render, B::Render);
    fn wants_first(&self) -> bool {
        self.0.wants_first() || self.1.wants_first()
    }
    fn wants_preview(&self) -> bool {
        self.0.wants_preview() || self.1.wants_preview()
    }
    fn set_preview(&mut self, kinds: &FieldKinds) {
        if self.0.wants_preview() {
            self.0.set_preview(kinds);
        }
        if self.1.wants_preview() {
            self.1.set_preview(kinds);
        }
    }
    fn set_pool(&mut self, pool: &crate::par::Pool) {
        self.0.set_pool(pool);
        self.1.set_pool(pool);
    }
    fn pool_time(&self) -> Duration {
        self.0.pool_time() + self.1.pool_time()
    }
    fn begin(&mut self, first: Option<&Document>) -> Result<Self::Render, OutputError> {
        Ok((self.0.begin(first)?, self.1.begin(first)?))
    }
    fn write(
        &mut self,
        doc: &Document,
        (a, b): <Self::Render as Render>::Out,
    ) -> Result<Option<String>, OutputError> {
        let note = self.0.write(doc, a)?;
        Ok(note.or(self.1.write(doc, b)?))
    }
    fn finish(&mut self) -> Result<(), OutputError> {
        self.0.finish()?;
        self.1.finish()
    }
}

/// Each document's rendering, in input order (none for a record that
/// failed, or when the sink had not begun).
type Renderings<O> = Vec<Option<Result<O, OutputError>>>;

/// A cleaned batch, in input order, with each document's rendering (none
/// for a record that failed).
struct Finished<O> {
    cleaned: Vec<Result<Cleaned, InputError>>,
    rendered: Renderings<O>,
    read_time: Duration,
    render_time: Duration,
}

/// Decodes and cleans a batch in parallel, in input order.
fn clean_batch(
    batch: Vec<Result<Raw, InputError>>,
    pipeline: &Pipeline,
    opts: &RunOptions,
) -> Vec<Result<Cleaned, InputError>> {
    batch
        .into_par_iter()
        .map(|item| {
            let raw = item?;
            let t = Instant::now();
            let decoded = raw.decode(&opts.input);
            let decode_time = t.elapsed();
            decoded.map(|mut doc| {
                let mut st = pipeline.new_stage_stats();
                pipeline.apply(&mut doc, &mut st);
                Cleaned {
                    doc,
                    stages: st,
                    decode_time,
                }
            })
        })
        .collect()
}

/// Renders the cleaned documents of a batch in parallel; with the time
/// spent, summed over the workers.
fn render_batch<R: Render>(
    cleaned: &[Result<Cleaned, InputError>],
    render: &R,
) -> (Renderings<R::Out>, Duration) {
    let timed: Vec<_> = cleaned
        .par_iter()
        .map(|c| {
            let t = Instant::now();
            let out = c.as_ref().ok().map(|c| render.render(&c.doc));
            (out, t.elapsed())
        })
        .collect();
    let time = timed.iter().map(|(_, t)| *t).sum();
    (timed.into_iter().map(|(out, _)| out).collect(), time)
}

/// The sequential end of pass 2: the sink's writes and the statistics, in
/// input order.
struct Writer<'a> {
    stats: Stats,
    opts: &'a RunOptions,
    bar: &'a ProgressBar,
}

impl Writer<'_> {
    /// Counts a failed document, and stops the run under `--fail-fast`.
    fn failed(&mut self, e: impl Into<RunError> + std::fmt::Display) -> Result<(), RunError> {
        self.stats.docs_failed += 1;
        self.bar.suspend(|| eprintln!("textclean: {e}"));
        if self.opts.fail_fast {
            return Err(e.into());
        }
        Ok(())
    }

    fn write<S: Sink>(
        &mut self,
        sink: &mut S,
        batch: Finished<<S::Render as Render>::Out>,
    ) -> Result<(), RunError> {
        self.stats.read_time += batch.read_time;
        self.stats.render_time += batch.render_time;
        for (c, rendered) in batch.cleaned.into_iter().zip(batch.rendered) {
            let c = match c {
                Err(e) => {
                    self.failed(e)?;
                    continue;
                }
                Ok(c) => c,
            };
            // Rendered, unless the sink had not begun (no document had
            // decoded yet when the batch was cleaned).
            let Some(rendered) = rendered else { continue };
            let t = crate::par::thread_cpu();
            let written = rendered.and_then(|out| sink.write(&c.doc, out));
            self.stats.write_time += crate::par::thread_cpu().saturating_sub(t);
            match written {
                Ok(None) => {}
                Ok(Some(note)) => self.bar.suspend(|| eprintln!("textclean: {note}")),
                Err(e @ OutputError::Record { .. }) => {
                    self.failed(e)?;
                    continue;
                }
                Err(e) => return Err(e.into()),
            }
            debug_assert_eq!(
                c.doc.lines_in(),
                c.doc.lines_out() + c.doc.lines_removed(),
                "every line is either kept or removed with a reason"
            );
            self.stats.observe(&c.doc, c.doc.text_len());
            self.stats.decode_time += c.decode_time;
            for ((_, total), st) in self.stats.stages.iter_mut().zip(&c.stages) {
                *total += st;
            }
        }
        // Bytes read as stored (compressed, for a compressed input): the
        // reader may be a batch or two ahead of this writer.
        self.bar.set_position(self.opts.input.read.get());
        self.bar.set_message(format!("{} docs", self.stats.docs_in));
        Ok(())
    }
}

/// Batches being cleaned while the writer writes an earlier one, with two
/// or more workers. Each one bounds memory by another batch.
const IN_FLIGHT: usize = 2;

/// Pass 2: a built pipeline on a pool, feeding a sink.
struct Engine<'a> {
    pipeline: &'a Pipeline,
    opts: &'a RunOptions,
    pool: &'a Arc<rayon::ThreadPool>,
    bar: &'a ProgressBar,
}

impl Engine<'_> {
    /// Pass 2 over `reader`'s records into `sink`.
    ///
    /// Batches are cleaned and rendered as jobs on the pool while this
    /// thread writes the batch before them in input order, so that the
    /// workers never wait for the writer (with one worker, one batch at a
    /// time: "one thread" means one core).
    fn run<S: Sink>(
        &self,
        reader: impl Iterator<Item = Result<Raw, InputError>> + Send,
        sink: &mut S,
    ) -> Result<Stats, RunError> {
        let Engine {
            pipeline,
            opts,
            pool,
            bar,
        } = *self;
        let mut writer = Writer {
            stats: Stats::for_stages(pipeline.names()),
            opts,
            bar,
        };
        let in_flight = if pool.current_num_threads() < 2 {
            0
        } else {
            IN_FLIGHT
        };
        sink.set_pool(&crate::par::Pool::of(pool.clone()));
        let mut render = None;
        if !sink.wants_first() {
            render = Some(sink.begin(None)?);
        }
        with_batches(reader, opts, pool, |batches| -> Result<(), RunError> {
            // Until the first document decodes, batches are cleaned one at
            // a time, so that the sink can begin with it.
            while render.is_none() {
                let Some((batch, read_time)) = batches.next() else {
                    return Ok(());
                };
                let cleaned = pool.install(|| clean_batch(batch, pipeline, opts));
                let (rendered, render_time) = match cleaned.iter().find_map(|c| c.as_ref().ok()) {
                    Some(first) => {
                        let r = render.insert(sink.begin(Some(&first.doc))?);
                        pool.install(|| render_batch(&cleaned, &*r))
                    }
                    None => (cleaned.iter().map(|_| None).collect(), Duration::ZERO),
                };
                writer.write(
                    sink,
                    Finished {
                        cleaned,
                        rendered,
                        read_time,
                        render_time,
                    },
                )?;
            }
            let Some(render) = render.as_ref() else {
                return Ok(());
            };
            pool.in_place_scope(|scope| -> Result<(), RunError> {
                let mut pending = std::collections::VecDeque::new();
                for (batch, read_time) in batches {
                    let (tx, rx) = std::sync::mpsc::sync_channel(1);
                    scope.spawn(move |_| {
                        let cleaned = clean_batch(batch, pipeline, opts);
                        let (rendered, render_time) = render_batch(&cleaned, render);
                        // The writer is gone only when the run stopped early.
                        let _ = tx.send(Finished {
                            cleaned,
                            rendered,
                            read_time,
                            render_time,
                        });
                    });
                    pending.push_back(rx);
                    while pending.len() > in_flight {
                        if let Some(done) = pending.pop_front().and_then(|rx| rx.recv().ok()) {
                            writer.write(sink, done)?;
                        }
                    }
                }
                for rx in pending {
                    if let Ok(done) = rx.recv() {
                        writer.write(sink, done)?;
                    }
                }
                Ok(())
            })
        })?;
        if render.is_none() {
            // No document decoded: the output is still created, empty.
            sink.begin(None)?;
        }
        // Finishing is writing too: the last Parquet row group is encoded
        // here, and files are synced and renamed.
        let t = crate::par::thread_cpu();
        sink.finish()?;
        writer.stats.write_time += crate::par::thread_cpu().saturating_sub(t) + sink.pool_time();
        Ok(writer.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keeps what the engine hands over, in memory.
    #[derive(Default)]
    struct Memory {
        begun: usize,
        finished: usize,
        /// (id, rendered on a worker, lines kept, lines removed)
        docs: Vec<(String, String, usize, usize)>,
    }

    struct IdText;

    impl Render for IdText {
        type Out = String;
        fn render(&self, doc: &Document) -> Result<String, OutputError> {
            Ok(format!("{}|{}", doc.id, doc.text()))
        }
    }

    impl Sink for Memory {
        type Render = IdText;
        fn begin(&mut self, _: Option<&Document>) -> Result<IdText, OutputError> {
            self.begun += 1;
            Ok(IdText)
        }
        fn write(&mut self, doc: &Document, out: String) -> Result<Option<String>, OutputError> {
            self.docs
                .push((doc.id.clone(), out, doc.lines_out(), doc.lines_removed()));
            Ok(None)
        }
        fn finish(&mut self) -> Result<(), OutputError> {
            self.finished += 1;
            Ok(())
        }
    }

    /// Wants every record's carried fields before it begins.
    #[derive(Default)]
    struct Columns {
        kinds: Vec<FieldKinds>,
    }

    impl Sink for Columns {
        type Render = ();
        fn wants_preview(&self) -> bool {
            true
        }
        fn set_preview(&mut self, kinds: &FieldKinds) {
            self.kinds.push(kinds.clone());
        }
        fn begin(&mut self, _: Option<&Document>) -> Result<(), OutputError> {
            Ok(())
        }
        fn write(&mut self, _: &Document, (): ()) -> Result<Option<String>, OutputError> {
            Ok(None)
        }
        fn finish(&mut self) -> Result<(), OutputError> {
            Ok(())
        }
    }

    #[test]
    fn carried_fields_are_typed_the_same_in_pass_one_as_in_a_pass_of_their_own() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.jsonl");
        let mut jsonl = String::new();
        for i in 0..2000 {
            let mut rec = serde_json::json!({
                "id": format!("d{i}"),
                "text": format!("Report {i} came in late. {}", "More words here. ".repeat(i % 30)),
                "views": i,
            });
            // Fields that first appear, or change kind, batches after the
            // first: a float among integers, a string among integers, a
            // field seen only near the end, one that is null throughout.
            if i % 7 == 3 {
                rec["score"] = serde_json::json!(i);
            }
            if i == 1200 {
                rec["score"] = serde_json::json!(2.5);
            }
            if i == 1000 {
                rec["mid"] = serde_json::json!("x");
            }
            if i == 1900 {
                rec["views"] = serde_json::json!("many");
                rec["late"] = serde_json::json!(true);
            }
            rec["gone"] = serde_json::Value::Null;
            jsonl.push_str(&rec.to_string());
            jsonl.push('\n');
            if i == 10 {
                jsonl.push_str("{not json\n");
            }
        }
        std::fs::write(&path, jsonl).unwrap();
        let inputs = [InputSpec::Jsonl(path.clone())];
        let with_pass_one = PipelineConfig::default_config();
        assert!(with_pass_one.needs_corpus_profile());
        let without = PipelineConfig::from_toml_str(
            "[[stages]]\ntype = \"normalize\"\n",
            "t",
            std::path::Path::new("."),
        )
        .unwrap();
        assert!(!without.needs_corpus_profile());
        let run = |config: &PipelineConfig, threads: usize| {
            let opts = RunOptions {
                threads: Some(threads),
                batch_bytes: 4 << 10,
                ..RunOptions::default()
            };
            let mut sink = Columns::default();
            clean(&inputs, config, &mut sink, &opts).unwrap();
            assert_eq!(sink.kinds.len(), 1, "shown once, before it begins");
            sink.kinds.remove(0)
        };
        let mut want = FieldKinds::default();
        // What observing every record in turn gives.
        for rec in std::fs::read_to_string(&path).unwrap().lines() {
            if let Ok(serde_json::Value::Object(m)) = serde_json::from_str(rec) {
                want.observe(m.iter().filter(|(k, _)| *k != "id" && *k != "text"));
            }
        }
        for threads in [1, 2, 8] {
            assert_eq!(
                run(&with_pass_one, threads),
                want,
                "pass 1, {threads} threads"
            );
            assert_eq!(run(&without, threads), want, "own pass, {threads} threads");
        }
    }

    #[test]
    fn the_engine_hands_documents_to_the_sink_in_input_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.jsonl");
        let mut jsonl = String::new();
        for i in 0..3000 {
            // Lines of every kind the default pipeline keeps or removes,
            // and a bad record every 500 (counted, not handed over).
            if i % 500 == 7 {
                jsonl.push_str("{not json\n");
                continue;
            }
            let text = format!(
                "Document number {i} has a first sentence. It has a second one.\n\n\nShare this\n{}",
                "word ".repeat(i % 40)
            );
            jsonl.push_str(&serde_json::json!({ "id": format!("d{i}"), "text": text }).to_string());
            jsonl.push('\n');
        }
        std::fs::write(&path, jsonl).unwrap();
        let inputs = [InputSpec::Jsonl(path)];
        let config = PipelineConfig::default_config();
        let run = |threads: usize| {
            let opts = RunOptions {
                threads: Some(threads),
                // Small batches: many in flight at once.
                batch_bytes: 4 << 10,
                ..RunOptions::default()
            };
            let mut sink = Memory::default();
            let outcome = clean(&inputs, &config, &mut sink, &opts).unwrap();
            (sink, outcome.report.stats)
        };
        let (one, stats1) = run(1);
        let (many, stats8) = run(8);
        assert_eq!((one.begun, one.finished), (1, 1));
        assert_eq!((many.begun, many.finished), (1, 1));
        let ids: Vec<String> = (0..3000)
            .filter(|i| i % 500 != 7)
            .map(|i| format!("d{i}"))
            .collect();
        let got: Vec<String> = many.docs.iter().map(|d| d.0.clone()).collect();
        assert_eq!(got, ids, "input order, with 8 threads");
        assert_eq!(
            one.docs, many.docs,
            "the same renderings for any thread count"
        );
        for (id, rendered, ..) in &many.docs {
            assert!(rendered.starts_with(&format!("{id}|")), "{rendered}");
        }
        // Accounting: the stats add up to what the sink was handed.
        assert_eq!(stats8.docs_failed, 6);
        assert_eq!(stats8.docs_in, ids.len() as u64);
        let kept: usize = many.docs.iter().map(|d| d.2).sum();
        let removed: usize = many.docs.iter().map(|d| d.3).sum();
        assert_eq!(stats8.lines_out, kept as u64);
        assert_eq!(stats8.lines_removed, removed as u64);
        assert_eq!(stats8.lines_in, stats8.lines_out + stats8.lines_removed);
        assert!(removed > 0, "the pipeline removed something");
        assert_eq!(
            (stats1.docs_in, stats1.lines_in, stats1.lines_out),
            (stats8.docs_in, stats8.lines_in, stats8.lines_out)
        );
    }
}
