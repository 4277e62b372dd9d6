//! Readers: a directory of `.txt` files, `.txt`, JSONL, CSV and Parquet files
//! (gzip or zstd recognised by their first bytes), and streams (stdin,
//! pipes, `/dev/fd/N`), turned into a stream of raw records.
//!
//! Reading is sequential and cheap (bytes and line splitting); decoding a
//! record into a [`Document`] (text encoding, JSON parsing) is done by the
//! workers with [`Raw::decode`], so it runs in parallel. Every error names
//! the file and the line or record, and nothing is lost without one: a
//! byte-order mark is skipped, an unterminated CSV quote is an error at
//! the line it opened, a line over the cap is an error instead of an
//! out-of-memory kill, and an unreadable entry of a directory is an error
//! for that entry while the rest of the tree is read.
//!
//! - `walk`: directory inputs (symbolic links, loops, special files).
//! - `stream`: magic-byte decompression, the byte-order mark, capped line
//!   reads, stdin spooling.
//! - `encoding`: `--encoding utf-8|auto|NAME`.
//! - `csv`: CSV records, with the open-quote check and delimiter hints.
//! - `parquet`: Parquet rows, a batch at a time.

mod csv;
mod encoding;
mod parquet;
mod stream;
mod walk;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use encoding_rs::Encoding;

use crate::document::{Document, Fields};

pub use encoding::EncodingChoice;
pub use stream::{decompressed, open_counted, open_decompressed, ByteCounter, Spool};
pub use walk::{list_text_files, walk_text_files, WalkedFile};

/// A record that could not be read or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct InputError {
    /// The input file (or `stdin`).
    pub path: String,
    /// 1-based line (JSONL, CSV, text) where the problem is, if known.
    pub line: Option<u64>,
    /// What is wrong.
    pub message: String,
}

impl InputError {
    fn new(path: &str, line: Option<u64>, message: impl ToString) -> InputError {
        InputError {
            path: path.to_string(),
            line,
            message: message.to_string(),
        }
    }
}

/// Prints a message about the inputs (a skipped FIFO, a link not
/// followed) to stderr, once per process: a directory is walked once per
/// pass and again for the progress total, and one message is enough.
fn notice(message: String) {
    static SEEN: Mutex<BTreeSet<String>> = Mutex::new(BTreeSet::new());
    let first = match SEEN.lock() {
        Ok(mut seen) => seen.insert(message.clone()),
        // A panic elsewhere while holding the set: print anyway.
        Err(_) => true,
    };
    if first {
        eprintln!("textclean: {message}");
    }
}

/// Formats of a stream whose name does not say (stdin, `/dev/fd/N`, a
/// file without an extension): `--input-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StreamFormat {
    /// One JSON object per line (the default for stdin).
    Jsonl,
    /// CSV with a header.
    Csv,
    /// The whole stream is one text document.
    Txt,
}

/// Default of [`InputOptions::max_line_bytes`]: 64 MiB.
pub const DEFAULT_MAX_LINE_BYTES: usize = 64 << 20;

/// How inputs are read: record field names, and how bytes become records.
#[derive(Debug, Clone)]
pub struct InputOptions {
    /// Field holding the text (JSONL and CSV).
    pub text_field: String,
    /// Field holding the document id (JSONL and CSV).
    pub id_field: String,
    /// Field holding the document's source (site, collection), if any.
    pub source_field: String,
    /// Follow symbolic links inside directory inputs (loops are detected,
    /// and a file reached twice is read once).
    pub follow: bool,
    /// CSV field delimiter.
    pub delimiter: u8,
    /// Format of stdin and of streams whose name does not say; `None` is
    /// JSONL for stdin and streams, an error for a regular file.
    pub format: Option<StreamFormat>,
    /// Text encoding of the inputs.
    pub encoding: EncodingChoice,
    /// A line (JSONL record, CSV record, line of a text file) longer than
    /// this many bytes is an error naming its file and line, so that one
    /// huge line cannot take all the memory.
    pub max_line_bytes: usize,
    /// Copies of streams that are read twice ([`Spool`]), by the name they
    /// were given (`-` for stdin): a stream is then read from its copy,
    /// still under its own name, so ids and messages do not change.
    pub spooled: BTreeMap<PathBuf, PathBuf>,
    /// Bytes of the inputs read so far, as stored (for the progress bar).
    pub read: ByteCounter,
}

impl Default for InputOptions {
    fn default() -> Self {
        InputOptions {
            text_field: "text".into(),
            id_field: "id".into(),
            source_field: "source".into(),
            follow: false,
            delimiter: b',',
            format: None,
            encoding: EncodingChoice::Utf8,
            max_line_bytes: DEFAULT_MAX_LINE_BYTES,
            spooled: BTreeMap::new(),
            read: ByteCounter::default(),
        }
    }
}

/// Kinds of input, decided from the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSpec {
    /// A directory of `.txt` files (recursive, sorted), one document each.
    Dir(PathBuf),
    /// One `.txt` file (or a text stream), one document.
    TextFile(PathBuf),
    /// A JSONL file or stream, one document per line.
    Jsonl(PathBuf),
    /// A CSV file or stream with a header, one document per record.
    Csv(PathBuf),
    /// A Parquet file, one document per row.
    Parquet(PathBuf),
    /// Standard input, JSONL unless [`InputOptions::format`] says otherwise.
    Stdin,
}

/// The name of a path, lower-cased, without a `.gz` or `.zst` suffix.
fn format_name(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    // Compression itself is recognised by magic bytes; the suffix only
    // hides the format's extension.
    let stem = name
        .strip_suffix(".gz")
        .or_else(|| name.strip_suffix(".zst"))
        .unwrap_or(&name)
        .to_string();
    stem
}

fn is_text_file(name: &str) -> bool {
    name.ends_with(".txt")
}

/// The format a file name says, if it says one.
fn format_of_name(name: &str) -> Option<StreamFormat> {
    if name.ends_with(".jsonl") || name.ends_with(".ndjson") || name.ends_with(".json") {
        Some(StreamFormat::Jsonl)
    } else if name.ends_with(".csv") {
        Some(StreamFormat::Csv)
    } else if is_text_file(name) {
        Some(StreamFormat::Txt)
    } else {
        None
    }
}

/// True for a FIFO, a character device or a socket: a stream, not a file.
pub(crate) fn is_stream(path: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        std::fs::metadata(path).is_ok_and(|m| {
            let t = m.file_type();
            t.is_fifo() || t.is_char_device() || t.is_socket()
        })
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        false
    }
}

impl InputSpec {
    /// Decides the kind of input from a command-line argument, with the
    /// default options.
    ///
    /// # Errors
    /// As [`InputSpec::from_arg_with`].
    pub fn from_arg(arg: &str) -> Result<InputSpec, InputError> {
        InputSpec::from_arg_with(arg, &InputOptions::default())
    }

    /// Decides the kind of input from a command-line argument: `-` is
    /// stdin, a directory is walked, a file's extension names its format
    /// (before any `.gz` or `.zst`), and a file whose name says nothing
    /// takes `--input-format` (a stream without one is JSONL, as stdin).
    ///
    /// # Errors
    /// A path that does not exist, or a regular file with an unknown
    /// extension and no `--input-format`.
    pub fn from_arg_with(arg: &str, opts: &InputOptions) -> Result<InputSpec, InputError> {
        if arg == "-" {
            return Ok(InputSpec::Stdin);
        }
        let path = PathBuf::from(arg);
        if path.is_dir() {
            return Ok(InputSpec::Dir(path));
        }
        if !path.exists() {
            return Err(InputError::new(arg, None, "no such file or directory"));
        }
        let name = format_name(&path);
        if name.ends_with(".parquet") {
            return Ok(InputSpec::Parquet(path));
        }
        let format = format_of_name(&name)
            .or(opts.format)
            .or_else(|| is_stream(&path).then_some(StreamFormat::Jsonl));
        match format {
            Some(StreamFormat::Jsonl) => Ok(InputSpec::Jsonl(path)),
            Some(StreamFormat::Csv) => Ok(InputSpec::Csv(path)),
            Some(StreamFormat::Txt) => Ok(InputSpec::TextFile(path)),
            None => Err(InputError::new(
                arg,
                None,
                "unknown input type: expected a directory, .txt, .jsonl or .csv (compressed or not), .parquet, - for stdin, or --input-format jsonl|csv|txt",
            )),
        }
    }

    /// The file or directory, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            InputSpec::Dir(p)
            | InputSpec::TextFile(p)
            | InputSpec::Jsonl(p)
            | InputSpec::Csv(p)
            | InputSpec::Parquet(p) => Some(p),
            InputSpec::Stdin => None,
        }
    }
}

/// One record as read, before decoding.
#[derive(Debug)]
pub struct Raw {
    /// Global position in the input (0-based, counting failed records too).
    pub position: u64,
    /// Size in bytes of the record as read.
    pub size: usize,
    kind: RawKind,
}

#[derive(Debug)]
pub(crate) enum RawKind {
    Text {
        id: String,
        source: Option<String>,
        path: Arc<str>,
        bytes: Vec<u8>,
        encoding: &'static Encoding,
        detected: bool,
    },
    Json {
        path: Arc<str>,
        line: u64,
        bytes: Vec<u8>,
        encoding: &'static Encoding,
        /// The file's detected encoding, on its first record only (the
        /// stats count files).
        detected: Option<&'static str>,
    },
    Csv {
        path: Arc<str>,
        line: u64,
        id: Option<String>,
        source: Option<String>,
        text: String,
        fields: Fields,
        detected: Option<&'static str>,
    },
}

/// Columns every output record has. A carried input field with one of
/// these names (say `text` under `--text-field body`) is renamed
/// `input_NAME`, or `input_input_NAME` when the record has that too, and so
/// on until the name is free: nothing is overwritten or lost. (`sentences`
/// is not here: it is derived from the text, so the renderer writes the
/// new one in its place when the pipeline splits sentences, and otherwise
/// carries it as it is; see `output`.)
const RESERVED: [&str; 3] = ["id", "source", "text"];

/// Carried fields of one record, built in record order, with the reserved
/// names held back until every other name is known.
pub(crate) struct Carried<'a> {
    fields: Fields,
    held: Vec<(String, serde_json::Value)>,
    opts: &'a InputOptions,
}

impl<'a> Carried<'a> {
    pub(crate) fn new(opts: &'a InputOptions) -> Carried<'a> {
        Carried {
            fields: Fields::new(),
            held: Vec::new(),
            opts,
        }
    }

    pub(crate) fn carry(&mut self, key: String, value: serde_json::Value) {
        if RESERVED.contains(&key.as_str()) {
            self.held.push((key, value));
        } else {
            self.fields.insert(key, value);
        }
    }

    /// The fields, renamed ones last (see [`RESERVED`]).
    pub(crate) fn finish(mut self) -> Fields {
        for (key, value) in std::mem::take(&mut self.held) {
            let mut name = format!("input_{key}");
            while self.fields.contains_key(&name)
                || [
                    &self.opts.text_field,
                    &self.opts.id_field,
                    &self.opts.source_field,
                ]
                .contains(&&name)
            {
                name.insert_str(0, "input_");
            }
            self.fields.insert(name, value);
        }
        self.fields
    }
}

fn value_to_id(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// The error for bytes that are not valid in `enc`, at `line`.
fn invalid_text(path: &str, line: u64, enc: &'static Encoding, at: usize) -> InputError {
    let hint = if enc == encoding_rs::UTF_8 {
        " (--encoding auto detects the encoding, --encoding NAME names it)"
    } else {
        ""
    };
    InputError::new(
        path,
        Some(line),
        format!("invalid {} at byte {at}{hint}", enc.name()),
    )
}

impl Raw {
    /// Decodes the record into a document.
    ///
    /// # Errors
    /// Bytes not valid in the encoding, broken JSON, a record without the
    /// text field.
    pub fn decode(self, opts: &InputOptions) -> Result<Document, InputError> {
        self.decode_keeping(opts, usize::MAX)
    }

    /// Decodes for pass 1: lines longer than `max_line` bytes are left
    /// out (see [`Document::new_keeping`]).
    pub(crate) fn decode_for_profile(
        self,
        opts: &InputOptions,
        max_line: usize,
    ) -> Result<Document, InputError> {
        self.decode_keeping(opts, max_line)
    }

    fn decode_keeping(self, opts: &InputOptions, max_line: usize) -> Result<Document, InputError> {
        let doc = match self.kind {
            RawKind::Text {
                id,
                source,
                path,
                bytes,
                encoding,
                detected,
            } => {
                let text = encoding::decode(encoding, bytes).map_err(|(e, bytes)| {
                    invalid_text(&path, e.line_in(&bytes), encoding, e.valid_up_to)
                })?;
                let mut doc = Document::from_string_keeping(id, text, max_line).with_source(source);
                doc.detected_encoding = detected.then(|| encoding.name());
                doc
            }
            RawKind::Json {
                path,
                line,
                bytes,
                encoding,
                detected,
            } => {
                let err = |m: String| InputError::new(&path, Some(line), m);
                let parsed = if encoding == encoding_rs::UTF_8 {
                    let parsed = serde_json::from_slice(&bytes);
                    // The record is parsed: its bytes need not wait for
                    // the document (a huge record would be held twice).
                    drop(bytes);
                    parsed
                } else {
                    let text = encoding::decode(encoding, bytes)
                        .map_err(|(e, _)| invalid_text(&path, line, encoding, e.valid_up_to))?;
                    serde_json::from_str(&text)
                };
                let value: serde_json::Value =
                    parsed.map_err(|e| err(format!("invalid JSON: {e}")))?;
                let serde_json::Value::Object(obj) = value else {
                    return Err(err("expected a JSON object".into()));
                };
                let mut text = None;
                let mut id = None;
                let mut source = None;
                let mut fields = Carried::new(opts);
                for (k, v) in obj {
                    if k == opts.text_field {
                        match v {
                            serde_json::Value::String(s) => text = Some(s),
                            _ => return Err(err(format!("field `{k}` is not a string"))),
                        }
                    } else if k == opts.id_field && value_to_id(&v).is_some() {
                        id = value_to_id(&v);
                    } else if k == opts.source_field && (v.is_string() || v.is_null()) {
                        // Null is what textclean writes for no source.
                        source = v.as_str().map(str::to_string);
                    } else {
                        fields.carry(k, v);
                    }
                }
                let fields = fields.finish();
                let text = text.ok_or_else(|| err(format!("no `{}` field", opts.text_field)))?;
                let id = id.unwrap_or_else(|| format!("{path}:{line}"));
                let mut doc = Document::from_string_keeping(id, text, max_line).with_source(source);
                doc.fields = fields;
                doc.detected_encoding = detected;
                doc
            }
            RawKind::Csv {
                path,
                line,
                id,
                source,
                text,
                fields,
                detected,
            } => {
                let id = id.unwrap_or_else(|| format!("{path}:{line}"));
                let mut doc = Document::from_string_keeping(id, text, max_line).with_source(source);
                doc.fields = fields;
                doc.detected_encoding = detected;
                doc
            }
        };
        Ok(doc)
    }
}

type Records = Box<dyn Iterator<Item = Result<RawKindSized, InputError>> + Send>;

/// A source of raw records over all inputs, in order.
pub struct Reader {
    inputs: std::vec::IntoIter<InputSpec>,
    current: Option<Records>,
    opts: InputOptions,
    position: u64,
}

pub(crate) type RawKindSized = (RawKind, usize);

fn one_error(e: InputError) -> Records {
    Box::new(std::iter::once(Err(e)))
}

impl Reader {
    /// A reader over these inputs.
    pub fn new(inputs: Vec<InputSpec>, opts: InputOptions) -> Reader {
        Reader {
            inputs: inputs.into_iter(),
            current: None,
            opts,
            position: 0,
        }
    }

    fn open(&self, spec: InputSpec) -> Records {
        let opts = &self.opts;
        match spec {
            InputSpec::Dir(dir) => {
                let opts = opts.clone();
                Box::new(
                    walk_text_files(&dir, opts.follow)
                        .into_iter()
                        .map(move |entry| read_text_file(entry?, &opts)),
                )
            }
            InputSpec::TextFile(path) => {
                let rel = path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                Box::new(std::iter::once(read_text_file((rel, path), opts)))
            }
            InputSpec::Jsonl(path) => {
                let name: Arc<str> = path.display().to_string().into();
                match open_input(&path, opts) {
                    Ok(r) => open_records(name, r, StreamFormat::Jsonl, opts),
                    Err(e) => one_error(InputError::new(&name, None, e)),
                }
            }
            InputSpec::Csv(path) => {
                let name: Arc<str> = path.display().to_string().into();
                match open_input(&path, opts) {
                    Ok(r) => open_records(name, r, StreamFormat::Csv, opts),
                    Err(e) => one_error(InputError::new(&name, None, e)),
                }
            }
            InputSpec::Parquet(path) => {
                let name: Arc<str> = path.display().to_string().into();
                let file = opts
                    .spooled
                    .get(&path)
                    .map_or(path.as_path(), PathBuf::as_path);
                match parquet::ParquetRecords::new(name, file, opts) {
                    Ok(it) => {
                        // Parquet is read by columns, not as a stream: the
                        // file counts whole when it is opened.
                        opts.read
                            .add(std::fs::metadata(file).map_or(0, |m| m.len()));
                        Box::new(it)
                    }
                    Err(e) => one_error(e),
                }
            }
            InputSpec::Stdin => {
                // Named `stdin` whether read from the process or from its
                // spooled copy, so that ids (`stdin:LINE`) and messages are
                // the same for the same input on every run.
                let name: Arc<str> = "stdin".into();
                let opened = match opts.spooled.get(Path::new("-")) {
                    Some(p) => open_counted(p, &opts.read),
                    None => decompressed(Box::new(stream::Counting::new(io::stdin(), &opts.read))),
                };
                let format = opts.format.unwrap_or(StreamFormat::Jsonl);
                match opened {
                    Err(e) => one_error(InputError::new(&name, None, e)),
                    Ok(r) if format == StreamFormat::Txt => {
                        let mut r = r;
                        Box::new(std::iter::once(read_text(
                            "stdin".into(),
                            None,
                            name,
                            &mut r,
                            opts,
                        )))
                    }
                    Ok(r) => open_records(name, r, format, opts),
                }
            }
        }
    }
}

/// Opens a named input, or its spooled copy.
fn open_input(path: &Path, opts: &InputOptions) -> io::Result<Box<dyn Read + Send>> {
    open_counted(
        opts.spooled.get(path).map_or(path, PathBuf::as_path),
        &opts.read,
    )
}

/// Records of a JSONL or CSV stream (already decompressed).
fn open_records(
    name: Arc<str>,
    r: Box<dyn Read + Send>,
    format: StreamFormat,
    opts: &InputOptions,
) -> Records {
    let mut r = BufReader::with_capacity(stream::BUF_BYTES, r);
    let start = stream::skip_bom(&mut r).and_then(|()| {
        let sample = r.fill_buf()?;
        Ok(opts
            .encoding
            .resolve(sample, sample.len() < stream::BUF_BYTES))
    });
    let (encoding, detected) = match start {
        Ok(found) => found,
        Err(e) => return one_error(InputError::new(&name, None, e)),
    };
    let detected = detected.then(|| encoding.name());
    match format {
        StreamFormat::Csv => {
            match csv::CsvRecords::new(name, Box::new(r), encoding, detected, opts) {
                Ok(it) => Box::new(it),
                Err(e) => one_error(e),
            }
        }
        _ => Box::new(JsonLines::new(
            name,
            Box::new(r),
            encoding,
            detected,
            opts.max_line_bytes,
        )),
    }
}

impl Iterator for Reader {
    type Item = Result<Raw, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(it) = &mut self.current {
                if let Some(item) = it.next() {
                    let position = self.position;
                    self.position += 1;
                    return Some(item.map(|(kind, size)| Raw {
                        position,
                        size,
                        kind,
                    }));
                }
                self.current = None;
            }
            let spec = self.inputs.next()?;
            self.current = Some(self.open(spec));
        }
    }
}

fn read_text_file(
    (rel, path): (String, PathBuf),
    opts: &InputOptions,
) -> Result<RawKindSized, InputError> {
    let name: Arc<str> = path.display().to_string().into();
    let mut r = open_input(&path, opts).map_err(|e| InputError::new(&name, None, e))?;
    let source = rel.rfind('/').map(|i| rel[..i].to_string());
    read_text(rel, source, name, &mut r, opts)
}

/// One text document: the whole of `r`, its lines under the cap.
fn read_text(
    id: String,
    source: Option<String>,
    path: Arc<str>,
    r: &mut dyn Read,
    opts: &InputOptions,
) -> Result<RawKindSized, InputError> {
    let mut bytes = stream::read_capped(r, opts.max_line_bytes).map_err(|e| match e {
        stream::CappedError::Io(e) => InputError::new(&path, None, e),
        stream::CappedError::TooLong { line } => InputError::new(
            &path,
            Some(line),
            format!(
                "line longer than {} bytes (the line cap, --max-line-bytes)",
                opts.max_line_bytes
            ),
        ),
    })?;
    let sample = &bytes[..bytes.len().min(encoding::SAMPLE_BYTES)];
    let (encoding, detected) = opts.encoding.resolve(sample, sample.len() == bytes.len());
    // A byte-order mark is not text.
    let bom = match Encoding::for_bom(&bytes) {
        Some((enc, len)) if enc == encoding => len,
        _ => 0,
    };
    bytes.drain(..bom);
    let size = bytes.len();
    Ok((
        RawKind::Text {
            id,
            source,
            path,
            bytes,
            encoding,
            detected,
        },
        size,
    ))
}

struct JsonLines {
    path: Arc<str>,
    reader: Box<dyn BufRead + Send>,
    encoding: &'static Encoding,
    detected: Option<&'static str>,
    cap: usize,
    line: u64,
    done: bool,
    /// Length of the last record read, plus one.
    last_len: usize,
}

impl JsonLines {
    fn new(
        path: Arc<str>,
        reader: Box<dyn BufRead + Send>,
        encoding: &'static Encoding,
        detected: Option<&'static str>,
        cap: usize,
    ) -> JsonLines {
        JsonLines {
            path,
            reader,
            encoding,
            detected,
            cap,
            line: 0,
            done: false,
            last_len: 0,
        }
    }
}

impl Iterator for JsonLines {
    type Item = Result<RawKindSized, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.done {
            // Sized like the last record (up to 1 MiB, so that one huge
            // record does not inflate the next): growing from empty by
            // doubling copied a 12 KB record about eight times.
            let mut buf = Vec::with_capacity(self.last_len.min(1 << 20));
            self.line += 1;
            match stream::read_line_capped(&mut self.reader, &mut buf, self.cap) {
                Ok(stream::LineRead::Eof) => self.done = true,
                Ok(stream::LineRead::TooLong(n)) => {
                    return Some(Err(InputError::new(
                        &self.path,
                        Some(self.line),
                        format!(
                            "record of {n} bytes is longer than {} bytes (the line cap, --max-line-bytes)",
                            self.cap
                        ),
                    )));
                }
                Ok(stream::LineRead::Line(n)) => {
                    self.last_len = n + 1;
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return Some(Ok((
                        RawKind::Json {
                            path: self.path.clone(),
                            line: self.line,
                            bytes: buf,
                            encoding: self.encoding,
                            detected: self.detected.take(),
                        },
                        n,
                    )));
                }
                Err(e) => {
                    // A broken stream (bad gzip data) cannot be resumed.
                    self.done = true;
                    return Some(Err(InputError::new(&self.path, Some(self.line), e)));
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(spec: InputSpec) -> Vec<Result<Document, InputError>> {
        let opts = InputOptions::default();
        Reader::new(vec![spec], opts.clone())
            .map(|r| r.and_then(|raw| raw.decode(&opts)))
            .collect()
    }

    #[test]
    fn jsonl_fields_ids_and_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.jsonl");
        std::fs::write(
            &p,
            "{\"id\":7,\"text\":\"A.\",\"url\":\"u\",\"source\":\"s\"}\n\n{broken\n{\"text\":\"B.\",\"sentences\":1}\n",
        )
        .unwrap();
        let got = read_all(InputSpec::Jsonl(p.clone()));
        assert_eq!(got.len(), 3);
        let a = got[0].as_ref().unwrap();
        assert_eq!((a.id.as_str(), a.source.as_deref()), ("7", Some("s")));
        assert_eq!(a.fields["url"], "u");
        let e = got[1].as_ref().unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.to_string().contains("in.jsonl:3: invalid JSON"), "{e}");
        let b = got[2].as_ref().unwrap();
        assert!(b.id.ends_with("in.jsonl:4"));
        // Carried as it is: the renderer replaces it when it writes sentences.
        assert_eq!(b.fields["sentences"], 1);
    }

    #[test]
    fn directory_sorted_recursive_and_bad_utf8_names_line() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("site")).unwrap();
        std::fs::write(dir.path().join("b.txt"), "B").unwrap();
        std::fs::write(dir.path().join("site/a.txt"), b"ok\nbad \xff here").unwrap();
        std::fs::write(dir.path().join("a.txt"), "A").unwrap();
        std::fs::write(dir.path().join("notes.md"), "skip").unwrap();
        let got = read_all(InputSpec::Dir(dir.path().to_path_buf()));
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].as_ref().unwrap().id, "a.txt");
        assert_eq!(got[1].as_ref().unwrap().id, "b.txt");
        let e = got[2].as_ref().unwrap_err();
        assert!(e.path.ends_with("site/a.txt") && e.line == Some(2), "{e}");
    }

    #[test]
    fn csv_with_header_and_gzip() {
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("in.csv.gz");
        let mut gz = flate2::write::GzEncoder::new(
            std::fs::File::create(&p).unwrap(),
            flate2::Compression::fast(),
        );
        gz.write_all(b"id,lang,text\nx1,en,\"Hello, world.\"\nx2,en\n")
            .unwrap();
        gz.finish().unwrap();
        let got = read_all(InputSpec::from_arg(p.to_str().unwrap()).unwrap());
        assert_eq!(got[0].as_ref().unwrap().fields["lang"], "en");
        assert_eq!(got[0].as_ref().unwrap().lines()[0].text, "Hello, world.");
        assert!(got[1]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("bad CSV record"));
    }

    #[test]
    fn unknown_extension_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("x.docx");
        std::fs::write(&p, "").unwrap();
        assert!(InputSpec::from_arg(p.to_str().unwrap()).is_err());
    }
}

#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;

    fn read_as(name: &str, bytes: &[u8], opts: &InputOptions) -> Vec<Result<Document, InputError>> {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let spec = InputSpec::from_arg_with(p.to_str().unwrap(), opts).unwrap();
        Reader::new(vec![spec], opts.clone())
            .map(|r| r.and_then(|raw| raw.decode(opts)))
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

        /// Arbitrary bytes never panic a reader, and every error of a
        /// record names its line.
        #[test]
        fn readers_survive_arbitrary_bytes(
            bytes in proptest::collection::vec(
                prop_oneof![Just(b'\n'), Just(b'"'), Just(b','), Just(b'{'), Just(b'}'), Just(0xffu8), Just(0xefu8), any::<u8>()],
                0..300,
            ),
            auto in any::<bool>(),
        ) {
            let opts = InputOptions {
                encoding: if auto { EncodingChoice::Auto } else { EncodingChoice::Utf8 },
                max_line_bytes: 64,
                ..InputOptions::default()
            };
            for name in ["in.jsonl", "in.csv", "in.txt"] {
                for r in read_as(name, &bytes, &opts) {
                    if let Err(e) = r {
                        // A CSV without a usable header fails at line 1;
                        // only an unreadable file has no line.
                        prop_assert!(e.line.is_some(), "{name}: {e}");
                    }
                }
            }
        }

        /// Valid JSONL lines with arbitrary text come back whole, whatever
        /// precedes them (a BOM or not).
        #[test]
        fn jsonl_text_round_trips(texts in proptest::collection::vec("[^\r\n\u{85}\u{2028}\u{2029}]{0,40}", 1..8), bom in any::<bool>()) {
            let mut body = if bom { stream::UTF8_BOM.to_vec() } else { Vec::new() };
            for t in &texts {
                body.extend_from_slice(serde_json::json!({"text": t}).to_string().as_bytes());
                body.push(b'\n');
            }
            let got = read_as("in.jsonl", &body, &InputOptions::default());
            prop_assert_eq!(got.len(), texts.len());
            for (doc, t) in got.iter().zip(&texts) {
                let doc = doc.as_ref().unwrap();
                let joined: Vec<&str> = doc.lines().iter().map(|l| l.text.as_str()).collect();
                prop_assert_eq!(joined.join(""), t.as_str());
            }
        }
    }
}
