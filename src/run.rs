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
use std::path::PathBuf;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rayon::prelude::*;

use crate::config::{ConfigError, PipelineConfig};
use crate::corpus::{CorpusProfile, DocLines};
use crate::document::Document;
use crate::input::{InputError, InputOptions, InputSpec, Raw, Reader};
use crate::output::{
    render_removals, AtomicFile, Compression, Format, OutputError, Renderer, Sink, Unit,
};
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

/// Where a run's records go.
#[derive(Debug, Clone)]
pub struct OutputSpec {
    /// File, directory (txt) or `-`.
    pub path: String,
    /// Format.
    pub format: Format,
    /// Record unit.
    pub unit: Unit,
    /// Compression of the file or stdout (none for txt).
    pub compression: Compression,
    /// Sentences as `[start, end]` offsets instead of strings (doc unit).
    pub spans: bool,
    /// Write documents whose every line was removed (by default they are
    /// dropped, and counted as `docs_empty`).
    pub keep_empty: bool,
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

fn pool(opts: &RunOptions) -> Result<rayon::ThreadPool, RunError> {
    Ok(rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads.unwrap_or_else(default_threads).max(1))
        .build()?)
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

fn progress_bar(inputs: &[InputSpec], enabled: bool) -> ProgressBar {
    if !enabled || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    // A byte total is known only for uncompressed files.
    let mut total = Some(0u64);
    for spec in inputs {
        let size = match spec {
            InputSpec::Dir(d) => crate::input::list_text_files(d).ok().map(|files| {
                files
                    .iter()
                    .filter(|(rel, _)| rel.ends_with(".txt"))
                    .filter_map(|(_, p)| std::fs::metadata(p).ok())
                    .map(|m| m.len())
                    .sum()
            }),
            InputSpec::Stdin => None,
            other => other
                .path()
                .filter(|p| {
                    !p.to_string_lossy().ends_with(".gz") && !p.to_string_lossy().ends_with(".zst")
                })
                .and_then(|p| std::fs::metadata(p).ok())
                .map(|m| m.len()),
        };
        total = total.zip(size).map(|(a, b)| a + b);
    }
    let bar = match total {
        Some(t) => ProgressBar::with_draw_target(Some(t), ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template(
                "{bar:30} {bytes}/{total_bytes} {binary_bytes_per_sec} {msg} ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr()).with_style(
            ProgressStyle::with_template(
                "{spinner} {bytes} {binary_bytes_per_sec} {msg} {elapsed}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
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
    profile_with(records, config, opts, &pool(opts)?, &mut || Ok(()))
}

/// Pass 1 on `pool`. `check` runs after each batch is handed out, and its
/// error stops the pass (the pipeline compiling alongside failed).
fn profile_with(
    reader: impl Iterator<Item = Result<Raw, InputError>> + Send,
    config: &PipelineConfig,
    opts: &RunOptions,
    pool: &rayon::ThreadPool,
    check: &mut dyn FnMut() -> Result<(), RunError>,
) -> Result<CorpusProfile, RunError> {
    let prefix = config.build_profile_prefix()?;
    let cap = config.corpus.max_fingerprints.get();
    let max_line = config.corpus.max_line_bytes.get();
    let mut profile = CorpusProfile::new(cap);
    let in_flight = if pool.current_num_threads() < 2 {
        0
    } else {
        IN_FLIGHT
    };
    let prefix = &prefix;
    // As in pass 2, batches are jobs on the pool. The workers decode, run
    // the prefix stages and fingerprint the lines; this thread counts the
    // fingerprints as batches finish, in any order: the profile does not
    // depend on it (see `corpus`). Counting into one map here costs less
    // than a map per batch merged later.
    with_batches(reader, opts, pool, |batches| {
        pool.in_place_scope(|scope| -> Result<(), RunError> {
            let (tx, rx) = std::sync::mpsc::channel::<Vec<DocLines>>();
            let mut outstanding = 0;
            let mut count = |part: Vec<DocLines>| {
                for doc in &part {
                    profile.observe_lines(doc);
                }
            };
            for (batch, _) in batches {
                let tx = tx.clone();
                scope.spawn(move |_| {
                    let part = batch
                        .into_par_iter()
                        .filter_map(|r| r.ok()?.decode_for_profile(&opts.input, max_line).ok())
                        .map(|mut doc| {
                            prefix.apply_uncounted(&mut doc);
                            DocLines::of(&doc)
                        })
                        .collect();
                    // The receiver lives until every job has sent.
                    let _ = tx.send(part);
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
    Ok(profile)
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

/// A document's output bytes (or why it cannot be written) and its
/// removed-lines log bytes.
type Rendered = (Result<Vec<u8>, OutputError>, Vec<u8>);

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
pub fn clean(
    inputs: &[InputSpec],
    config: &PipelineConfig,
    output: Option<&OutputSpec>,
    removed_log: Option<&PathBuf>,
    opts: &RunOptions,
) -> Result<Outcome, RunError> {
    let started = Instant::now();
    let pool = pool(opts)?;
    let build = || {
        let t = Instant::now();
        (config.build(&CorpusProfile::empty()), t.elapsed())
    };
    let (pipeline, build_time, profile_time) = if config.needs_corpus_profile() {
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
                let profile = profile_with(reader, config, opts, &pool, &mut || pending.check())?;
                let (pipeline, build_time) = pending.wait()?;
                Ok((pipeline, build_time, profile))
            })?;
        pipeline.set_profile(&std::sync::Arc::new(profile));
        (pipeline, build_time, t.elapsed())
    } else {
        let (pipeline, build_time) = pool.install(build);
        (pipeline?, build_time, Duration::ZERO)
    };
    let reader = Reader::new(inputs.to_vec(), opts.input.clone());
    let bar = progress_bar(inputs, opts.progress);
    let stats = clean_records(
        reader,
        &pipeline,
        config.has_sentences(),
        output,
        removed_log,
        opts,
        &pool,
        &bar,
        CsvColumns::FirstDocument,
    )?;
    bar.finish_and_clear();
    Ok(Outcome {
        report: Report::new(stats, started.elapsed()),
        profile_time,
        build_time,
    })
}

/// Pass 2 over one shard's records (`shard.rs` selects them) with the
/// merged corpus profile, writing the shard's output part and log part.
/// The CSV columns come from `csv_first` (the run's first document, found
/// at plan time) and no header is written: `merge` writes it once.
///
/// # Errors
/// Config, pool and output errors; input errors with `fail_fast`.
pub(crate) fn clean_part(
    records: impl Iterator<Item = Result<Raw, InputError>> + Send,
    config: &PipelineConfig,
    profile: std::sync::Arc<CorpusProfile>,
    output: &OutputSpec,
    removed_log: Option<&PathBuf>,
    csv_first: Option<&Document>,
    opts: &RunOptions,
) -> Result<Stats, RunError> {
    let pool = pool(opts)?;
    // Shared, not copied: a merged profile can hold millions of entries.
    let pipeline = pool.install(|| config.build_shared(profile))?;
    clean_records(
        records,
        &pipeline,
        config.has_sentences(),
        Some(output),
        removed_log,
        opts,
        &pool,
        &ProgressBar::hidden(),
        CsvColumns::Preset(csv_first),
    )
}

/// Where CSV output takes its columns from.
pub(crate) enum CsvColumns<'a> {
    /// From the first document read, and the header is written: one process.
    FirstDocument,
    /// From this document (the run's first, found by `plan`; `None` when
    /// no record decodes) and no header is written: a shard's part, whose
    /// header `merge` writes once.
    Preset(Option<&'a Document>),
}

/// One batch after cleaning and rendering, with what the writer needs.
struct Finished {
    cleaned: Vec<Option<Result<Cleaned, InputError>>>,
    rendered: Vec<Rendered>,
    bytes: u64,
    read_time: Duration,
}

/// Decodes and cleans a batch in parallel, in input order.
fn clean_batch(
    batch: Vec<Result<Raw, InputError>>,
    pipeline: &Pipeline,
    opts: &RunOptions,
) -> Vec<Option<Result<Cleaned, InputError>>> {
    batch
        .into_par_iter()
        .map(|item| {
            let raw = match item {
                Ok(raw) => raw,
                Err(e) => return Some(Err(e)),
            };
            let t = Instant::now();
            let decoded = raw.decode(&opts.input);
            let decode_time = t.elapsed();
            Some(decoded.map(|mut doc| {
                let mut st = pipeline.new_stage_stats();
                pipeline.apply(&mut doc, &mut st);
                Cleaned {
                    doc,
                    stages: st,
                    decode_time,
                }
            }))
        })
        .collect()
}

/// Renders the cleaned documents of a batch (and their removed-lines log
/// records, when `want_log`) in parallel.
fn render_batch(
    cleaned: &[Option<Result<Cleaned, InputError>>],
    renderer: Option<&Renderer>,
    want_log: bool,
) -> Vec<Rendered> {
    cleaned
        .par_iter()
        .map(|c| match c {
            Some(Ok(c)) => {
                let mut out = Vec::new();
                let res = match renderer {
                    Some(r) => r.render(&c.doc, &mut out).map(|()| out),
                    None => Ok(out),
                };
                let mut log_bytes = Vec::new();
                if want_log {
                    render_removals(&c.doc.id, c.doc.removals(), &mut log_bytes);
                }
                (res, log_bytes)
            }
            _ => (Ok(Vec::new()), Vec::new()),
        })
        .collect()
}

/// The sequential end of pass 2: output, log and statistics, in input order.
struct Writer<'a> {
    sink: Option<Sink>,
    log: Option<AtomicFile>,
    stats: Stats,
    keep_empty: bool,
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

    fn write(&mut self, batch: Finished) -> Result<(), RunError> {
        self.stats.read_time += batch.read_time;
        for (c, (bytes, log_bytes)) in batch.cleaned.into_iter().zip(batch.rendered) {
            let c = match c {
                None => continue,
                Some(Err(e)) => {
                    self.failed(e)?;
                    continue;
                }
                Some(Ok(c)) => c,
            };
            let empty = c.doc.lines().is_empty() && !self.keep_empty;
            match bytes {
                Ok(_) if empty => {}
                Ok(bytes) => {
                    if let Some(s) = self.sink.as_mut() {
                        match s.write(&c.doc.id, &bytes) {
                            Ok(None) => {}
                            Ok(Some(renamed)) => self.bar.suspend(|| {
                                eprintln!(
                                    "textclean: document {}: written as {}, since an earlier document took its name",
                                    c.doc.id,
                                    renamed.display()
                                );
                            }),
                            Err(e @ OutputError::Record { .. }) => {
                                self.failed(e)?;
                                continue;
                            }
                            Err(e) => return Err(e.into()),
                        }
                    }
                }
                Err(e) => {
                    self.failed(e)?;
                    continue;
                }
            }
            if let Some(l) = self.log.as_mut() {
                l.write_all(&log_bytes)?;
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
        self.bar.inc(batch.bytes);
        self.bar.set_message(format!("{} docs", self.stats.docs_in));
        Ok(())
    }
}

/// Batches being cleaned while the writer writes an earlier one, with two
/// or more workers. Each one bounds memory by another batch.
const IN_FLIGHT: usize = 2;

/// Pass 2 over `reader`'s records.
///
/// Batches are cleaned and rendered as jobs on the pool while this thread
/// writes the batch before them in input order, so that the workers never
/// wait for the writer (with one worker, one batch at a time: "one
/// thread" means one core).
#[allow(clippy::too_many_arguments)]
pub(crate) fn clean_records(
    reader: impl Iterator<Item = Result<Raw, InputError>> + Send,
    pipeline: &Pipeline,
    with_sentences: bool,
    output: Option<&OutputSpec>,
    removed_log: Option<&PathBuf>,
    opts: &RunOptions,
    pool: &rayon::ThreadPool,
    bar: &ProgressBar,
    csv_columns: CsvColumns<'_>,
) -> Result<Stats, RunError> {
    let sink = output
        .map(|o| Sink::create(&o.path, o.format, o.compression))
        .transpose()?;
    let keep_empty = output.is_some_and(|o| o.keep_empty);
    let mut renderer =
        output.map(|o| Renderer::new(o.format, o.unit, with_sentences).with_spans(o.spans));
    let mut header_done = renderer.as_ref().is_none_or(|r| !r.needs_fields());
    if let CsvColumns::Preset(first) = csv_columns {
        header_done = true;
        if let (Some(r), Some(first)) = (renderer.as_mut(), first) {
            r.set_csv_fields(first);
        }
    }
    let mut writer = Writer {
        sink,
        log: removed_log
            .map(|p| {
                let name = p.file_name().unwrap_or_default().to_string_lossy();
                AtomicFile::create_with(p, Compression::of_name(&name).0)
            })
            .transpose()?,
        stats: Stats::for_stages(pipeline.names()),
        keep_empty,
        opts,
        bar,
    };
    let want_log = writer.log.is_some();
    let in_flight = if pool.current_num_threads() < 2 {
        0
    } else {
        IN_FLIGHT
    };
    let size = |batch: &[Result<Raw, InputError>]| -> u64 {
        batch
            .iter()
            .map(|r| r.as_ref().map_or(0, |r| r.size as u64))
            .sum()
    };
    with_batches(reader, opts, pool, |batches| -> Result<(), RunError> {
        // CSV takes its columns from the first document that decodes:
        // until one has, batches are cleaned and rendered one at a time.
        while !header_done {
            let Some((batch, read_time)) = batches.next() else {
                return Ok(());
            };
            let bytes = size(&batch);
            let cleaned = pool.install(|| clean_batch(batch, pipeline, opts));
            if let Some(Some(Ok(first))) = cleaned.iter().find(|c| matches!(c, Some(Ok(_)))) {
                if let Some(r) = renderer.as_mut() {
                    r.set_csv_fields(&first.doc);
                    if let (Some(h), Some(s)) = (r.header(), writer.sink.as_mut()) {
                        s.write("", &h)?;
                    }
                }
                header_done = true;
            }
            let rendered = pool.install(|| render_batch(&cleaned, renderer.as_ref(), want_log));
            writer.write(Finished {
                cleaned,
                rendered,
                bytes,
                read_time,
            })?;
        }
        let renderer = renderer.as_ref();
        pool.in_place_scope(|scope| -> Result<(), RunError> {
            let mut pending = std::collections::VecDeque::new();
            for (batch, read_time) in batches {
                let (tx, rx) = std::sync::mpsc::sync_channel(1);
                scope.spawn(move |_| {
                    let bytes = size(&batch);
                    let cleaned = clean_batch(batch, pipeline, opts);
                    let rendered = render_batch(&cleaned, renderer, want_log);
                    // The writer is gone only when the run stopped early.
                    let _ = tx.send(Finished {
                        cleaned,
                        rendered,
                        bytes,
                        read_time,
                    });
                });
                pending.push_back(rx);
                while pending.len() > in_flight {
                    if let Some(done) = pending.pop_front().and_then(|rx| rx.recv().ok()) {
                        writer.write(done)?;
                    }
                }
            }
            for rx in pending {
                if let Ok(done) = rx.recv() {
                    writer.write(done)?;
                }
            }
            Ok(())
        })
    })?;
    let Writer {
        sink, log, stats, ..
    } = writer;
    if let Some(s) = sink {
        s.finish()?;
    }
    if let Some(l) = log {
        l.commit()?;
    }
    Ok(stats)
}
