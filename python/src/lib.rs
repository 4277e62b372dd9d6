//! `textclean._native`: the Python bindings of the textclean crate.
//!
//! A thin layer: every transform is the crate's own
//! ([`PipelineConfig::build_shared`], [`Pipeline::apply`],
//! [`run::build_profile`], [`cli::main_from`]); this module only converts
//! between Python objects and the crate's types, releases the GIL around
//! the work, and turns errors and panics into Python exceptions. The
//! Python package (`textclean/__init__.py`) re-exports it, and
//! `textclean/_native.pyi` types it.
//!
//! Conversions happen with the GIL held and the work without it: input
//! strings are copied out (a `str` that is not valid UTF-8, such as one
//! with a lone surrogate, fails there, so invalid UTF-8 never reaches the
//! crate), the batch is cleaned on a rayon pool, and the results become
//! Python objects only when their attributes are read.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::ops::Range;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex, OnceLock};

use pyo3::exceptions::{PyOSError, PyRuntimeError, PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString, PyTuple};
use rayon::prelude::*;

use textclean::cli;
use textclean::config::{ConfigError, PipelineConfig};
use textclean::corpus::CorpusProfile;
use textclean::document::{Document, Removal};
use textclean::input::{InputOptions, InputSpec};
use textclean::run::{self, RunOptions};
use textclean::sbd::Splitter;
use textclean::stage::Pipeline;
use textclean::stats::StageStats;

/// Runs `f` without the GIL, turning a panic into `RuntimeError` with
/// its message: no panic may unwind into the interpreter.
fn guarded<T: Send>(py: Python<'_>, f: impl FnOnce() -> PyResult<T> + Send) -> PyResult<T> {
    py.detach(|| catch_unwind(AssertUnwindSafe(f)))
        .unwrap_or_else(|payload| Err(panic_error(payload.as_ref())))
}

fn panic_error(payload: &(dyn std::any::Any + Send)) -> PyErr {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_string());
    PyRuntimeError::new_err(format!("textclean panicked: {message}"))
}

fn config_error(e: ConfigError) -> PyErr {
    match e {
        ConfigError::Read { path, error } => {
            PyOSError::new_err((error.raw_os_error().unwrap_or(0), error.to_string(), path))
        }
        invalid @ ConfigError::Invalid { .. } => PyValueError::new_err(invalid.to_string()),
    }
}

fn run_error(e: run::RunError) -> PyErr {
    match e {
        run::RunError::Config(c) => config_error(c),
        run::RunError::Output(o) => PyOSError::new_err(o.to_string()),
        run::RunError::Input(i) => PyOSError::new_err(i.to_string()),
        other => PyRuntimeError::new_err(other.to_string()),
    }
}

/// What `Pipeline.__reduce__` gives pickle: the class and its arguments.
type Reduced<'py> = (Bound<'py, PyAny>, (Bound<'py, PyAny>, Option<PathBuf>));

/// How a `Pipeline` was given its config, kept so that pickling can
/// rebuild it (in a `Dataset.map(num_proc=...)` worker, say).
#[derive(Debug, Clone)]
enum ConfigArg {
    Default,
    Path(PathBuf),
    Text(String),
}

/// The config a Python caller named: `None` for the built-in one, a path
/// (`str` or `os.PathLike`), or TOML text (a `str` with a newline or `=`,
/// which no sensible path has).
fn load_config(config: Option<&Bound<'_, PyAny>>) -> PyResult<(PipelineConfig, ConfigArg)> {
    let Some(config) = config.filter(|c| !c.is_none()) else {
        return Ok((PipelineConfig::default_config(), ConfigArg::Default));
    };
    let py = config.py();
    let path = if let Ok(s) = config.cast::<PyString>() {
        let s = s.to_cow()?.into_owned();
        if s.contains('\n') || s.contains('=') {
            let cfg = guarded(py, || {
                PipelineConfig::from_toml_str(&s, "<config text>", Path::new("."))
                    .map_err(config_error)
            })?;
            return Ok((cfg, ConfigArg::Text(s)));
        }
        PathBuf::from(s)
    } else {
        config.extract().map_err(|_| {
            PyTypeError::new_err(format!(
                "config: expected None, a path or TOML text, got {}",
                type_name(config)
            ))
        })?
    };
    let cfg = guarded(py, || PipelineConfig::load(&path).map_err(config_error))?;
    Ok((cfg, ConfigArg::Path(absolute(path))))
}

/// `path` made absolute against the working directory (as it is now), so
/// that a pickled `Pipeline` finds its files from another directory.
fn absolute(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}

fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map_or_else(|_| "?".to_string(), |n| n.to_string())
}

/// A profile written by `textclean merge-profile` or `build_profile`.
fn load_profile(path: &Path) -> PyResult<CorpusProfile> {
    let file = std::fs::File::open(path).map_err(|e| {
        PyOSError::new_err((
            e.raw_os_error().unwrap_or(0),
            e.to_string(),
            path.display().to_string(),
        ))
    })?;
    CorpusProfile::read_from(std::io::BufReader::new(file))
        .map_err(|e| PyValueError::new_err(format!("{}: {e}", path.display())))
}

extern "C" {
    // In the stable ABI from Python 3.10 on; pyo3-ffi declares it only for
    // builds that target 3.10 or later, and this wheel also serves 3.9.
    fn PyUnicode_AsUTF8AndSize(
        unicode: *mut pyo3::ffi::PyObject,
        size: *mut pyo3::ffi::Py_ssize_t,
    ) -> *const std::os::raw::c_char;
}

/// True when the running interpreter has `PyUnicode_AsUTF8AndSize` in its
/// stable ABI (3.10 and later).
fn has_utf8_and_size(py: Python<'_>) -> bool {
    static AT_LEAST_3_10: OnceLock<bool> = OnceLock::new();
    *AT_LEAST_3_10.get_or_init(|| py.version_info() >= (3, 10))
}

/// The UTF-8 of a `str`, borrowed where the interpreter can lend it:
/// CPython keeps a `str`'s UTF-8 once asked, so reading it costs one
/// encode at most and no copy. On 3.9 it is copied out through a `bytes`.
/// A `str` that is not valid UTF-8 (a lone surrogate) fails here.
fn utf8_of<'a>(s: &'a Bound<'_, PyString>) -> PyResult<Cow<'a, str>> {
    let py = s.py();
    if !has_utf8_and_size(py) {
        return Ok(Cow::Owned(s.to_cow()?.into_owned()));
    }
    let mut size: pyo3::ffi::Py_ssize_t = 0;
    // SAFETY: `s` is a live `str` and the GIL is held (`Bound`). On success
    // the pointer is to `size` bytes of valid UTF-8 that the `str` owns and
    // keeps, unchanged, until it is freed, which `'a` outlives.
    unsafe {
        let data = PyUnicode_AsUTF8AndSize(s.as_ptr(), &mut size);
        if data.is_null() {
            return Err(PyErr::fetch(py));
        }
        let bytes = std::slice::from_raw_parts(data.cast::<u8>(), size as usize);
        Ok(Cow::Borrowed(std::str::from_utf8_unchecked(bytes)))
    }
}

/// `obj` as a `str`, or `TypeError` naming `what`.
fn str_of<'a, 'py>(
    obj: &'a Bound<'py, PyAny>,
    what: &dyn Fn() -> String,
) -> PyResult<&'a Bound<'py, PyString>> {
    obj.cast::<PyString>().map_err(|_| {
        PyTypeError::new_err(format!("{}: expected str, got {}", what(), type_name(obj)))
    })
}

/// The text of a Python `str`, or `TypeError` naming `what`.
fn text_of(obj: &Bound<'_, PyAny>, what: &dyn Fn() -> String) -> PyResult<String> {
    Ok(utf8_of(str_of(obj, what)?)?.into_owned())
}

/// Texts shorter than this are split with the GIL held: releasing and
/// taking it back would cost more than the split.
const DETACH_BYTES: usize = 16 << 10;

/// An id as the CLI takes one from a record: a string, or a number as
/// written.
fn id_of(obj: &Bound<'_, PyAny>, i: usize) -> PyResult<String> {
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(s.to_cow()?.into_owned());
    }
    if obj.is_instance_of::<pyo3::types::PyInt>() && !obj.is_instance_of::<pyo3::types::PyBool>() {
        return Ok(obj.str()?.to_cow()?.into_owned());
    }
    Err(PyTypeError::new_err(format!(
        "ids[{i}]: expected str or int, got {}",
        type_name(obj)
    )))
}

/// Collects an iterable (not a lone `str`, which would be read as
/// characters) with `each`.
fn collect<'py, T>(
    obj: &Bound<'py, PyAny>,
    name: &str,
    mut each: impl FnMut(usize, &Bound<'py, PyAny>) -> PyResult<T>,
) -> PyResult<Vec<T>> {
    if obj.is_instance_of::<PyString>() {
        return Err(PyTypeError::new_err(format!(
            "{name}: expected an iterable of values, got one str"
        )));
    }
    let iter = obj.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "{name}: expected an iterable, got {}",
            type_name(obj)
        ))
    })?;
    let mut out = Vec::with_capacity(obj.len().unwrap_or(0));
    for (i, item) in iter.enumerate() {
        out.push(each(i, &item?)?);
    }
    Ok(out)
}

/// Worker threads for `threads=None`, as the CLI picks them.
fn threads_or_default(threads: Option<usize>) -> PyResult<usize> {
    match threads {
        Some(0) => Err(PyValueError::new_err("threads must be at least 1")),
        Some(n) => Ok(n),
        None => Ok(run::default_threads()),
    }
}

/// A built pipeline: the stages of a config, compiled once, with the
/// corpus profile its boilerplate stage reads.
///
/// `Pipeline(config=None, profile=None)`: `config` is None (the built-in
/// default), a path, or TOML text; `profile` a corpus profile file. An
/// invalid config raises `ValueError` naming `stages[i]` and the key.
#[pyclass(module = "textclean", name = "Pipeline", frozen)]
struct PyPipeline {
    pipeline: Pipeline,
    config: PipelineConfig,
    config_arg: ConfigArg,
    profile_path: Option<PathBuf>,
    /// Worker pools by thread count, built on first use: a pool per call
    /// would start threads for every batch of a `Dataset.map`.
    pools: Mutex<Pools>,
}

/// Rayon pools by thread count, for one process. A forked child (a
/// `multiprocessing` or `Dataset.map(num_proc=...)` worker) inherits the
/// pools but not their threads, so work sent to them would wait forever:
/// a child starts its own. For the same reason nothing here uses rayon's
/// global pool, which a fork breaks the same way.
struct Pools {
    pid: u32,
    by_threads: HashMap<usize, Arc<rayon::ThreadPool>>,
}

impl Pools {
    fn new() -> Mutex<Pools> {
        Mutex::new(Pools {
            pid: std::process::id(),
            by_threads: HashMap::new(),
        })
    }
}

fn pool_of(pools: &Mutex<Pools>, threads: usize) -> PyResult<Arc<rayon::ThreadPool>> {
    let mut pools = pools
        .lock()
        .map_err(|_| PyRuntimeError::new_err("thread pool cache poisoned by a panic"))?;
    if pools.pid != std::process::id() {
        // The parent's pools: their threads are not in this process, and
        // dropping them would wait for those threads. Let them go unfreed.
        std::mem::forget(std::mem::take(&mut pools.by_threads));
        pools.pid = std::process::id();
    }
    if let Some(p) = pools.by_threads.get(&threads) {
        return Ok(Arc::clone(p));
    }
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .map_err(|e| PyRuntimeError::new_err(format!("thread pool: {e}")))?;
    let pool = Arc::new(pool);
    pools.by_threads.insert(threads, Arc::clone(&pool));
    Ok(pool)
}

impl PyPipeline {
    fn pool(&self, threads: usize) -> PyResult<Arc<rayon::ThreadPool>> {
        pool_of(&self.pools, threads)
    }

    fn clean_doc(&self, mut doc: Document) -> CleanedDoc {
        let mut stats = self.pipeline.new_stage_stats();
        self.pipeline.apply(&mut doc, &mut stats);
        CleanedDoc::new(doc, stats, &self.pipeline)
    }
}

#[pymethods]
impl PyPipeline {
    #[new]
    #[pyo3(signature = (config = None, profile = None))]
    fn new(
        py: Python<'_>,
        config: Option<&Bound<'_, PyAny>>,
        profile: Option<PathBuf>,
    ) -> PyResult<PyPipeline> {
        let (config, config_arg) = load_config(config)?;
        guarded(py, || {
            let loaded = match &profile {
                Some(p) => load_profile(p)?,
                None => CorpusProfile::empty(),
            };
            // Compiling the rules runs on a pool (see `run::par_map`): this
            // pipeline's own, the one `clean_batch(threads=None)` uses.
            let pools = Pools::new();
            let pipeline = pool_of(&pools, run::default_threads())?
                .install(|| config.build_shared(Arc::new(loaded)))
                .map_err(config_error)?;
            Ok(PyPipeline {
                pipeline,
                config,
                config_arg,
                profile_path: profile.map(absolute),
                pools,
            })
        })
    }

    /// Pickles as its arguments (the config as given, the profile's path):
    /// unpickling builds the pipeline again from them.
    fn __reduce__<'py>(slf: &Bound<'py, Self>) -> PyResult<Reduced<'py>> {
        let py = slf.py();
        let this = slf.get();
        let config = match &this.config_arg {
            ConfigArg::Default => py.None().into_bound(py),
            ConfigArg::Path(p) => p.into_pyobject(py)?.into_any(),
            ConfigArg::Text(t) => PyString::new(py, t).into_any(),
        };
        Ok((
            slf.get_type().into_any(),
            (config, this.profile_path.clone()),
        ))
    }

    /// Names of the stages, in order.
    #[getter]
    fn stages(&self) -> Vec<&'static str> {
        self.pipeline.names()
    }

    /// The resolved config as TOML (what `textclean check-config` prints).
    #[getter]
    fn config(&self) -> PyResult<String> {
        self.config
            .to_toml()
            .map_err(|e| PyRuntimeError::new_err(e.to_string()))
    }

    /// True when some stage reads the corpus profile.
    #[getter]
    fn needs_profile(&self) -> bool {
        self.config.needs_corpus_profile()
    }

    /// Cleans one text, releasing the GIL while it runs. `source` is the
    /// document's source, as the CLI reads a record's `source` field (the
    /// corpus profile counts lines per source). `TypeError` when `text` is
    /// not a `str`.
    #[pyo3(signature = (text, id = None, source = None))]
    fn clean(
        &self,
        py: Python<'_>,
        text: &Bound<'_, PyAny>,
        id: Option<&Bound<'_, PyAny>>,
        source: Option<String>,
    ) -> PyResult<Cleaned> {
        let text = str_of(text, &|| "text".to_string())?;
        let text = utf8_of(text)?;
        let id = match id.filter(|i| !i.is_none()) {
            Some(i) => id_of(i, 0).map_err(|_| {
                PyTypeError::new_err(format!("id: expected str or int, got {}", type_name(i)))
            })?,
            None => String::new(),
        };
        let doc = guarded(py, || {
            Ok(self.clean_doc(Document::new(id, &text).with_source(source)))
        })?;
        Ok(Cleaned(doc))
    }

    /// Cleans many texts on `threads` worker threads without the GIL;
    /// results are in input order and the same for any thread count.
    /// `threads=None` picks as the CLI does. `TypeError` names the first
    /// item that is not a `str`.
    #[pyo3(signature = (texts, ids = None, sources = None, threads = None))]
    fn clean_batch(
        &self,
        py: Python<'_>,
        texts: &Bound<'_, PyAny>,
        ids: Option<&Bound<'_, PyAny>>,
        sources: Option<&Bound<'_, PyAny>>,
        threads: Option<usize>,
    ) -> PyResult<Vec<Cleaned>> {
        let threads = threads_or_default(threads)?;
        let objects = collect(texts, "texts", |i, t| {
            str_of(t, &|| format!("texts[{i}]")).cloned()
        })?;
        let texts = objects.iter().map(utf8_of).collect::<PyResult<Vec<_>>>()?;
        let n = texts.len();
        let ids = match ids.filter(|i| !i.is_none()) {
            Some(ids) => collect(ids, "ids", |i, v| id_of(v, i))?,
            None => (0..n).map(|i| i.to_string()).collect(),
        };
        let sources = match sources.filter(|s| !s.is_none()) {
            Some(s) => collect(s, "sources", |i, v| {
                if v.is_none() {
                    Ok(None)
                } else {
                    text_of(v, &|| format!("sources[{i}]")).map(Some)
                }
            })?,
            None => vec![None; n],
        };
        for (name, len) in [("ids", ids.len()), ("sources", sources.len())] {
            if len != n {
                return Err(PyValueError::new_err(format!(
                    "{name} has {len} items for {n} texts"
                )));
            }
        }
        let pool = self.pool(threads)?;
        let docs = guarded(py, || {
            let jobs: Vec<_> = texts.into_iter().zip(ids).zip(sources).collect();
            Ok(pool.install(|| {
                jobs.into_par_iter()
                    .map(|((text, id), source)| {
                        self.clean_doc(Document::new(id, &text).with_source(source))
                    })
                    .collect::<Vec<_>>()
            }))
        })?;
        Ok(docs.into_iter().map(Cleaned).collect())
    }

    fn __repr__(&self) -> String {
        format!(
            "Pipeline(stages={:?}, config={:?}, profile={})",
            self.pipeline.names(),
            self.config.origin,
            self.profile_path.as_ref().map_or_else(
                || "None".to_string(),
                |p| format!("{:?}", p.display().to_string())
            )
        )
    }
}

/// A cleaned document, kept as the crate's values until read.
struct CleanedDoc {
    id: String,
    source: Option<String>,
    text: String,
    sentences: Option<Vec<Range<usize>>>,
    removals: Vec<Removal>,
    lines_in: usize,
    lines_out: usize,
    bytes_in: usize,
    stages: Vec<(&'static str, StageStats)>,
}

impl CleanedDoc {
    fn new(mut doc: Document, stats: Vec<StageStats>, pipeline: &Pipeline) -> CleanedDoc {
        CleanedDoc {
            text: doc.text(),
            sentences: doc.sentences().map(<[_]>::to_vec),
            removals: doc.take_removals(),
            lines_in: doc.lines_in(),
            lines_out: doc.lines().len(),
            bytes_in: doc.bytes_in(),
            stages: pipeline.names().into_iter().zip(stats).collect(),
            source: doc.source.take(),
            id: std::mem::take(&mut doc.id),
        }
    }
}

/// The result of cleaning one text.
#[pyclass(module = "textclean", frozen)]
struct Cleaned(CleanedDoc);

#[pymethods]
impl Cleaned {
    /// The document id (given, or the position in the batch).
    #[getter]
    fn id(&self) -> &str {
        &self.0.id
    }

    /// The source given with the text, if any.
    #[getter]
    fn source(&self) -> Option<&str> {
        self.0.source.as_deref()
    }

    /// The cleaned text: paragraphs separated by one blank line.
    #[getter]
    fn text(&self) -> &str {
        &self.0.text
    }

    /// The sentences of the cleaned text, or None without a sentences stage.
    #[getter]
    fn sentences<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyList>>> {
        let d = &self.0;
        d.sentences
            .as_ref()
            .map(|spans| PyList::new(py, spans.iter().map(|r| &d.text[r.clone()])))
            .transpose()
    }

    /// Every removed line: (input line number, stage, reason, text).
    #[getter]
    fn removed<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let items = self
            .0
            .removals
            .iter()
            .map(|r| {
                PyTuple::new(
                    py,
                    [
                        r.origin.into_pyobject(py)?.into_any(),
                        PyString::new(py, r.stage).into_any(),
                        PyString::new(py, r.reason.as_str()).into_any(),
                        PyString::new(py, &r.text).into_any(),
                    ],
                )
            })
            .collect::<PyResult<Vec<_>>>()?;
        PyList::new(py, items)
    }

    /// Counts for this document, as the CLI's `--stats` counts a run:
    /// lines and bytes in and out, sentences, removed lines by stage and
    /// reason, and per-stage lines edited and removed.
    #[getter]
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = &self.0;
        let out = PyDict::new(py);
        out.set_item("lines_in", d.lines_in)?;
        out.set_item("lines_out", d.lines_out)?;
        out.set_item("lines_removed", d.removals.len())?;
        out.set_item("bytes_in", d.bytes_in)?;
        out.set_item("bytes_out", d.text.len())?;
        out.set_item("sentences", d.sentences.as_ref().map_or(0, Vec::len))?;
        let mut removed: BTreeMap<&str, BTreeMap<&str, u64>> = BTreeMap::new();
        for r in &d.removals {
            *removed
                .entry(r.stage)
                .or_default()
                .entry(r.reason.as_str())
                .or_default() += 1;
        }
        out.set_item("removed", removed)?;
        let stages = PyDict::new(py);
        for (name, st) in &d.stages {
            let s = PyDict::new(py);
            s.set_item("lines_edited", st.lines_edited)?;
            s.set_item("lines_removed", st.lines_removed)?;
            stages.set_item(*name, s)?;
        }
        out.set_item("stages", stages)?;
        Ok(out)
    }

    fn __repr__(&self) -> String {
        let d = &self.0;
        let mut preview: String = d.text.chars().take(40).collect();
        if preview.len() < d.text.len() {
            preview.push('…');
        }
        format!(
            "Cleaned(id={:?}, text={preview:?}, sentences={}, removed={})",
            d.id,
            d.sentences.as_ref().map_or(0, Vec::len),
            d.removals.len()
        )
    }
}

/// The default splitter, built once (it compiles the abbreviation sets).
fn english() -> &'static Splitter {
    static SPLITTER: OnceLock<Splitter> = OnceLock::new();
    SPLITTER.get_or_init(Splitter::english)
}

/// Byte spans of `text` as code point offsets, so that `text[start:end]`
/// in Python is the sentence. Spans are in order, so one pass counts.
fn code_point_spans(text: &str, spans: &[Range<usize>]) -> Vec<(usize, usize)> {
    let mut out = Vec::with_capacity(spans.len());
    let (mut byte, mut chars) = (0usize, 0usize);
    let mut advance = |to: usize| {
        chars += text[byte..to].chars().count();
        byte = to;
        chars
    };
    for r in spans {
        let start = advance(r.start);
        let end = advance(r.end);
        out.push((start, end));
    }
    out
}

/// Splits `text` into sentences with the built-in English splitter; with
/// `spans=True`, `(start, end)` code point offsets into `text`.
#[pyfunction]
#[pyo3(signature = (text, spans = false))]
fn split_sentences<'py>(
    py: Python<'py>,
    text: &Bound<'py, PyAny>,
    spans: bool,
) -> PyResult<Bound<'py, PyList>> {
    let text = str_of(text, &|| "text".to_string())?;
    let text = utf8_of(text)?;
    let split = || {
        let mut out = Vec::new();
        english().split_into(&text, &mut out);
        Ok(out)
    };
    let ranges = if text.len() < DETACH_BYTES {
        catch_unwind(AssertUnwindSafe(split))
            .unwrap_or_else(|payload| Err(panic_error(payload.as_ref())))?
    } else {
        guarded(py, split)?
    };
    if spans {
        PyList::new(py, code_point_spans(&text, &ranges))
    } else {
        PyList::new(py, ranges.iter().map(|r| &text[r.clone()]))
    }
}

/// Pass 1 (the corpus profile) over `paths`, written to `out`.
#[pyfunction]
#[pyo3(signature = (paths, out, config = None, threads = None, text_field = "text".to_string(), id_field = "id".to_string(), source_field = "source".to_string()))]
#[allow(clippy::too_many_arguments)]
fn build_profile(
    py: Python<'_>,
    paths: Vec<PathBuf>,
    out: PathBuf,
    config: Option<&Bound<'_, PyAny>>,
    threads: Option<usize>,
    text_field: String,
    id_field: String,
    source_field: String,
) -> PyResult<()> {
    let (config, _) = load_config(config)?;
    let threads = threads_or_default(threads)?;
    guarded(py, || {
        let inputs = paths
            .iter()
            .map(|p| {
                let arg = p.to_string_lossy();
                if arg == "-" {
                    return Err(PyValueError::new_err(
                        "build_profile reads files, not stdin",
                    ));
                }
                InputSpec::from_arg(&arg).map_err(|e| PyOSError::new_err(e.to_string()))
            })
            .collect::<PyResult<Vec<_>>>()?;
        let opts = RunOptions {
            threads: Some(threads),
            input: InputOptions {
                text_field,
                id_field,
                source_field,
                ..InputOptions::default()
            },
            ..RunOptions::default()
        };
        let profile = run::build_profile(&inputs, &config, &opts).map_err(run_error)?;
        let mut bytes = Vec::new();
        profile
            .write_to(&mut bytes)
            .map_err(|e| PyOSError::new_err(e.to_string()))?;
        textclean::output::write_file_atomic(&out, &bytes)
            .map_err(|e| PyOSError::new_err(e.to_string()))
    })
}

/// The `textclean` command, for the package's console script: `argv` as
/// `sys.argv`. Returns the exit status, printing errors as the binary does.
#[pyfunction]
fn cli_main(py: Python<'_>, argv: Vec<OsString>) -> PyResult<u8> {
    guarded(py, || {
        Ok(match cli::main_from(argv) {
            // `ExitCode` has no accessor for its value; the CLI's are
            // small, so find the one it equals.
            Ok(code) => (0..=u8::MAX)
                .find(|&c| ExitCode::from(c) == code)
                .unwrap_or(1),
            Err(err) => {
                // A closed pipe (`textclean … | head`) is not an error.
                if err
                    .chain()
                    .filter_map(|e| e.downcast_ref::<std::io::Error>())
                    .any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
                {
                    return Ok(0);
                }
                eprintln!("textclean: {err:#}");
                2
            }
        })
    })
}

/// Panics with `message`, so the tests can check that a Rust panic
/// reaches Python as `RuntimeError`.
#[pyfunction]
fn _panic_for_tests(py: Python<'_>, message: String) -> PyResult<()> {
    guarded(py, || -> PyResult<()> { panic!("{message}") })
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPipeline>()?;
    m.add_class::<Cleaned>()?;
    m.add_function(wrap_pyfunction!(split_sentences, m)?)?;
    m.add_function(wrap_pyfunction!(build_profile, m)?)?;
    m.add_function(wrap_pyfunction!(cli_main, m)?)?;
    m.add_function(wrap_pyfunction!(_panic_for_tests, m)?)?;
    Ok(())
}
