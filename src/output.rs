//! Output: the record schema, rendering, and atomic sinks.
//!
//! Workers render each cleaned document to bytes ([`Renderer::render`]),
//! so JSON escaping and CSV quoting run in parallel; the sequential writer
//! only appends bytes. Every file is written under a temporary name and
//! renamed when complete, so a crash never leaves a truncated file that
//! looks finished.

use std::collections::HashSet;
use std::io::{self, BufWriter, Write};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::Serialize;

use crate::document::{Document, Fields, Removal};
use crate::run::{Render, Sink};

mod parquet;
pub use parquet::{FieldKinds, ParquetSink};

/// An output that could not be written.
#[derive(Debug, thiserror::Error)]
pub enum OutputError {
    /// An I/O error on a named file.
    // The I/O error is part of the message, not a `source`: as a source it
    // would be printed twice in the error chain.
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        error: io::Error,
    },
    /// An output that cannot be written as asked, found before any work.
    #[error("{0}")]
    Usage(String),
    /// A document that cannot be written in this format.
    #[error("document {id}: {message}")]
    Record {
        /// The document id.
        id: String,
        /// Why.
        message: String,
    },
}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> OutputError + '_ {
    move |error| OutputError::Io {
        path: path.display().to_string(),
        error,
    }
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// One JSON object per line.
    Jsonl,
    /// CSV with a header row.
    Csv,
    /// A directory of `.txt` files mirroring the input names.
    Txt,
    /// Apache Parquet with zstd pages (see the README for its columns).
    Parquet,
}

/// Compression of an output file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Compression {
    /// Plain bytes.
    None,
    /// gzip (`.gz`).
    Gzip,
    /// Zstandard (`.zst`).
    Zstd,
}

impl Compression {
    /// The compression a file name asks for (`.gz`, `.zst`; case does not
    /// matter), and the name without that suffix.
    pub fn of_name(name: &str) -> (Compression, &str) {
        let lower = name.to_ascii_lowercase();
        for (suffix, c) in [(".gz", Compression::Gzip), (".zst", Compression::Zstd)] {
            if lower.ends_with(suffix) {
                return (c, &name[..name.len() - suffix.len()]);
            }
        }
        (Compression::None, name)
    }

    fn suffix(self) -> &'static str {
        match self {
            Compression::None => "",
            Compression::Gzip => ".gz",
            Compression::Zstd => ".zst",
        }
    }
}

impl Format {
    /// The format a file name (without its compression suffix) asks for.
    fn of_name(name: &str) -> Option<Format> {
        let lower = name.to_ascii_lowercase();
        if [".jsonl", ".ndjson", ".json"]
            .iter()
            .any(|e| lower.ends_with(e))
        {
            Some(Format::Jsonl)
        } else if lower.ends_with(".csv") {
            Some(Format::Csv)
        } else if lower.ends_with(".parquet") {
            Some(Format::Parquet)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Format::Jsonl => "jsonl",
            Format::Csv => "csv",
            Format::Txt => "txt",
            Format::Parquet => "parquet",
        }
    }
}

/// Decides the format and compression of `-o OUT`: the name says them
/// (`.jsonl`, `.csv`, each optionally `.gz` or `.zst`; a directory for
/// txt), and `--format` / `--compression` decide where the name says
/// nothing (`-`, a device, a name without a known extension). A flag that
/// contradicts the name is an error, so that a file is always what its
/// name says and loads as such.
///
/// # Errors
/// A contradiction, a name that says nothing without `--format`, txt
/// or Parquet with compression or to stdout (Parquet compresses its own
/// pages, and its footer is written last).
pub fn resolve_output(
    out: &str,
    format: Option<Format>,
    compression: Option<Compression>,
) -> Result<(Format, Compression), OutputError> {
    let bad = |m: String| OutputError::Usage(format!("-o {out}: {m}"));
    let name = Path::new(out)
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let (named_c, stem) = Compression::of_name(&name);
    let named_f = Format::of_name(stem);
    if named_f == Some(Format::Parquet) && named_c != Compression::None {
        return Err(bad(
            "Parquet compresses its own pages (zstd); name it .parquet".into(),
        ));
    }
    let is_stdout = out == "-";
    let (format, compression) = match (named_f, named_c) {
        (Some(f), c) => {
            if let Some(flag) = format.filter(|&flag| flag != f) {
                return Err(bad(format!(
                    "--format {} contradicts the name, which says {}",
                    flag.name(),
                    f.name()
                )));
            }
            if let Some(flag) = compression.filter(|&flag| flag != c) {
                return Err(bad(format!(
                    "--compression {flag:?} contradicts the name, which says {}",
                    match c {
                        Compression::None => "uncompressed".to_string(),
                        other => format!("{other:?} (`{}`)", other.suffix()),
                    }
                )
                .to_lowercase()));
            }
            (f, c)
        }
        (None, Compression::None) => {
            let f = match format {
                Some(f) => f,
                None if is_stdout || is_special(Path::new(out)) => Format::Jsonl,
                None if out.ends_with('/') || Path::new(out).is_dir() => Format::Txt,
                None => {
                    return Err(bad(
                        "cannot tell the format from the name: end it in .jsonl or .csv (optionally .gz or .zst), give a directory (txt), or pass --format"
                            .into(),
                    ))
                }
            };
            (f, compression.unwrap_or(Compression::None))
        }
        (None, c) => {
            return Err(bad(format!(
                "the name says {} but not the format: name it .jsonl{} or .csv{}",
                c.suffix(),
                c.suffix(),
                c.suffix()
            )))
        }
    };
    if format == Format::Txt && compression != Compression::None {
        return Err(bad(
            "txt output is a directory of plain files; it cannot be compressed".into(),
        ));
    }
    if format == Format::Txt && is_stdout {
        return Err(bad(
            "txt output is a directory; give a directory with -o".into()
        ));
    }
    if format == Format::Parquet && compression != Compression::None {
        return Err(bad(
            "Parquet compresses its own pages (zstd); drop --compression".into(),
        ));
    }
    if format == Format::Parquet && is_stdout {
        return Err(bad("Parquet output needs a file; give one with -o".into()));
    }
    Ok((format, compression))
}

/// How `--unit doc` writes the `sentences` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SentenceForm {
    /// The sentence strings.
    Text,
    /// `[start, end]` UTF-8 byte offsets into `text` (about half the size).
    Spans,
}

/// What one output record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Unit {
    /// One record per document: id, source, text, sentences, carried fields.
    Doc,
    /// One record per sentence: id, doc_id, index, text.
    Sentence,
}

/// A document record (`--unit doc`).
#[derive(Serialize)]
pub struct DocRecord<'a> {
    /// Document id.
    pub id: &'a str,
    /// Source, if the input gave one.
    pub source: Option<&'a str>,
    /// Cleaned text: paragraphs separated by one blank line, no final newline.
    pub text: &'a str,
    /// Sentences, when the pipeline splits them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sentences: Option<Vec<&'a str>>,
    /// Input fields carried through.
    #[serde(flatten)]
    pub fields: &'a Fields,
}

/// A sentence record (`--unit sentence`).
#[derive(Serialize)]
pub struct SentenceRecord<'a> {
    /// `DOC_ID:INDEX`.
    pub id: String,
    /// The document's id.
    pub doc_id: &'a str,
    /// 0-based index of the sentence in the document.
    pub index: usize,
    /// The sentence.
    pub text: &'a str,
}

/// One line of the removed-lines log.
#[derive(Serialize)]
pub struct RemovedRecord<'a> {
    /// The document's id.
    pub doc_id: &'a str,
    /// Stage that removed the line.
    pub stage: &'a str,
    /// Why (rule name, `blank`, `repeated_line`).
    pub reason: &'a str,
    /// 1-based input line number.
    pub line: u32,
    /// The line's text when it was removed.
    pub text: &'a str,
}

/// Turns cleaned documents into output bytes.
#[derive(Debug, Clone)]
pub struct Renderer {
    format: Format,
    unit: Unit,
    with_sentences: bool,
    spans: bool,
    csv_fields: Vec<String>,
}

/// Bytes a JSON string must escape: `"`, `\` and the controls below
/// 0x20. The table gives the short escape, or `u` for `\u00XX`.
const ESCAPE: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 0x20 {
        t[i] = b'u';
        i += 1;
    }
    t[b'\n' as usize] = b'n';
    t[b'\r' as usize] = b'r';
    t[b'\t' as usize] = b't';
    t[0x08] = b'b';
    t[0x0c] = b'f';
    t[b'"' as usize] = b'"';
    t[b'\\' as usize] = b'\\';
    t
};

/// True when one of the 8 bytes of `w` is below 0x20, `"` or `\`
/// (bit tricks from "Bit Twiddling Hacks": haszero and hasless).
fn needs_escape(w: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let below = w.wrapping_sub(ONES * 0x20) & !w;
    let quote = (w ^ (ONES * u64::from(b'"'))).wrapping_sub(ONES) & !(w ^ (ONES * u64::from(b'"')));
    let slash =
        (w ^ (ONES * u64::from(b'\\'))).wrapping_sub(ONES) & !(w ^ (ONES * u64::from(b'\\')));
    (below | quote | slash) & HIGH != 0
}

/// Appends `s` as a JSON string, byte for byte what serde_json writes: the
/// text is scanned 8 bytes at a time and copied in runs, since prose has
/// an escape every few hundred bytes (a paragraph break) at most.
pub fn write_json_str(out: &mut Vec<u8>, s: &str) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    escape_json(out, s.as_bytes());
    out.push(b'"');
}

/// Appends the bytes of a JSON string's body, escaped. Only ASCII bytes
/// are ever escaped, so a string may be escaped in pieces cut anywhere,
/// even inside a character.
fn escape_json(out: &mut Vec<u8>, b: &[u8]) {
    let mut start = 0;
    let mut i = 0;
    while i < b.len() {
        if i + 8 <= b.len() {
            let mut word = [0u8; 8];
            word.copy_from_slice(&b[i..i + 8]);
            if !needs_escape(u64::from_le_bytes(word)) {
                i += 8;
                continue;
            }
        }
        let esc = ESCAPE[b[i] as usize];
        if esc == 0 {
            i += 1;
            continue;
        }
        out.extend_from_slice(&b[start..i]);
        if esc == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(b"\\u00");
            out.push(HEX[usize::from(b[i] >> 4)]);
            out.push(HEX[usize::from(b[i] & 0xf)]);
        } else {
            out.push(b'\\');
            out.push(esc);
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&b[start..]);
}

/// True when sentence spans follow each other without overlap.
fn in_order(spans: &[std::ops::Range<usize>]) -> bool {
    spans.iter().all(|r| r.start <= r.end) && spans.windows(2).all(|w| w[0].end <= w[1].start)
}

/// Documents whose text is longer than this are rendered by the writer
/// straight into the output, a chunk at a time, instead of into a buffer
/// on a worker: a JSONL record with its sentences is twice the text, so
/// a buffer would hold a 1 GB document three times over.
const STREAM_ABOVE: usize = 16 << 20;

/// How much an [`Emit`] buffers before it hands bytes to its writer.
const CHUNK: usize = 1 << 20;

/// Where a rendering goes: the buffer a worker hands to the writer, or,
/// with a `spill` writer, that writer, fed whenever the buffer holds a
/// [`CHUNK`].
struct Emit<'a> {
    buf: &'a mut Vec<u8>,
    spill: Option<&'a mut dyn Write>,
}

impl Emit<'_> {
    fn bytes(&mut self, b: &[u8]) {
        self.buf.extend_from_slice(b);
    }

    fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }

    /// Hands the buffer to the writer once it holds a chunk.
    fn spill(&mut self) -> io::Result<()> {
        if let Some(w) = self.spill.as_mut() {
            if self.buf.len() >= CHUNK {
                w.write_all(self.buf)?;
                self.buf.clear();
            }
        }
        Ok(())
    }

    /// A JSON string made of `pieces`, escaped a chunk at a time.
    fn json_str<'s>(&mut self, pieces: impl IntoIterator<Item = &'s str>) -> io::Result<()> {
        self.buf.push(b'"');
        for piece in pieces {
            for chunk in piece.as_bytes().chunks(CHUNK) {
                escape_json(self.buf, chunk);
                self.spill()?;
            }
        }
        self.buf.push(b'"');
        Ok(())
    }

    /// Raw `pieces` (txt output).
    fn raw<'s>(&mut self, pieces: impl IntoIterator<Item = &'s str>) -> io::Result<()> {
        for piece in pieces {
            for chunk in piece.as_bytes().chunks(CHUNK) {
                self.buf.extend_from_slice(chunk);
                self.spill()?;
            }
        }
        Ok(())
    }

    /// Everything still buffered, to the writer.
    fn finish(self) -> io::Result<()> {
        if let Some(w) = self.spill {
            w.write_all(self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

/// Appends `n` in decimal.
fn write_u64(out: &mut Vec<u8>, n: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    let mut n = n;
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

fn field_as_text(v: &serde_json::Value) -> std::borrow::Cow<'_, str> {
    match v {
        serde_json::Value::String(s) => s.as_str().into(),
        other => other.to_string().into(),
    }
}

impl Renderer {
    /// A renderer; `with_sentences` when the pipeline splits sentences.
    pub fn new(format: Format, unit: Unit, with_sentences: bool) -> Renderer {
        Renderer {
            format,
            unit,
            with_sentences,
            spans: false,
            csv_fields: Vec::new(),
        }
    }

    /// Writes each sentence as its `[start, end]` UTF-8 byte offsets in
    /// the text instead of its text (`--sentences spans`, document unit):
    /// the text is not repeated, so a JSONL output is about half the size.
    pub fn with_spans(mut self, spans: bool) -> Renderer {
        self.spans = spans;
        self
    }

    /// CSV needs one header for the whole file: carried columns are those
    /// of the first document (`keys`: its carried field names).
    pub fn set_csv_fields<'k>(&mut self, keys: impl IntoIterator<Item = &'k String>) {
        self.csv_fields = keys
            .into_iter()
            .filter(|k| !self.replaces(k))
            .cloned()
            .collect();
    }

    /// True for a carried field that this output writes anew: `sentences`
    /// when the pipeline splits sentences. It was derived from the text
    /// (an earlier textclean run wrote it), so re-cleaning a textclean
    /// output gives the same columns, not an extra `input_sentences`.
    fn replaces(&self, key: &str) -> bool {
        self.with_sentences && key == "sentences"
    }

    /// Adds `doc`'s carried fields, as this renderer frames them, to the
    /// Parquet columns.
    pub fn observe_fields(&self, kinds: &mut FieldKinds, doc: &Document) {
        kinds.observe(doc.fields.iter().filter(|(k, _)| !self.replaces(k)));
    }

    /// The Parquet columns from every carried field's kinds: those this
    /// renderer frames.
    pub fn carried_kinds(&self, all: &FieldKinds) -> FieldKinds {
        all.without(|k| self.replaces(k))
    }

    /// True when the output takes its columns from the first document
    /// (CSV): rendering must wait until [`Renderer::set_csv_fields`].
    pub fn needs_fields(&self) -> bool {
        self.format == Format::Csv
    }

    /// The header row, for CSV.
    pub fn header(&self) -> Option<Vec<u8>> {
        if self.format != Format::Csv {
            return None;
        }
        let cols: Vec<&str> = match self.unit {
            Unit::Doc => {
                let mut c = vec!["id", "source", "text"];
                if self.with_sentences {
                    c.push("sentences");
                }
                c.extend(self.csv_fields.iter().map(String::as_str));
                c
            }
            Unit::Sentence => vec!["id", "doc_id", "index", "text"],
        };
        let mut w = csv::Writer::from_writer(Vec::new());
        w.write_record(&cols).ok()?;
        w.into_inner().ok()
    }

    /// Renders one document (all its sentence records, for `--unit sentence`).
    ///
    /// # Errors
    /// A CSV document with a carried field that is not in the header.
    pub fn render(&self, doc: &Document, out: &mut Vec<u8>) -> Result<(), OutputError> {
        self.render_into(
            doc,
            Emit {
                buf: out,
                spill: None,
            },
        )
        .map_err(|error| OutputError::Io {
            path: "<memory>".into(),
            error,
        })?
    }

    /// True when `doc` is rendered by the writer, straight into the output
    /// ([`STREAM_ABOVE`]). Parquet buffers a row group anyway, and CSV
    /// quoting needs the field whole.
    fn streams(&self, doc: &Document) -> bool {
        matches!(self.format, Format::Jsonl | Format::Txt) && doc.text_len() > STREAM_ABOVE
    }

    /// Renders `doc` into `to`, a chunk at a time.
    ///
    /// # Errors
    /// As [`Renderer::render`], and `to`'s I/O errors (the outer result).
    fn render_to(&self, doc: &Document, to: &mut dyn Write) -> io::Result<Result<(), OutputError>> {
        let mut buf = Vec::with_capacity(CHUNK + CHUNK / 4);
        self.render_into(
            doc,
            Emit {
                buf: &mut buf,
                spill: Some(to),
            },
        )
    }

    fn render_into(
        &self,
        doc: &Document,
        mut out: Emit<'_>,
    ) -> io::Result<Result<(), OutputError>> {
        let spans = doc.sentences().filter(|_| self.with_sentences);
        let text = doc.text_view();
        let whole = 0..text.len();
        match (self.format, self.unit) {
            (Format::Parquet, unit) => parquet::frame(
                parquet::Layout {
                    unit,
                    with_sentences: self.with_sentences,
                    spans: self.spans,
                },
                doc,
                |k| self.replaces(k),
                out.buf,
            ),
            (Format::Txt, Unit::Doc) => {
                out.raw(text.pieces(whole.clone()))?;
                if !whole.is_empty() {
                    out.byte(b'\n');
                }
            }
            (Format::Txt, Unit::Sentence) => {
                for r in doc.sentences().into_iter().flatten() {
                    out.raw(text.pieces(r.clone()))?;
                    out.byte(b'\n');
                }
            }
            (Format::Jsonl, Unit::Doc) => {
                // The `DocRecord` layout, written straight into `out`.
                out.bytes(b"{\"id\":");
                write_json_str(out.buf, &doc.id);
                out.bytes(b",\"source\":");
                match &doc.source {
                    Some(s) => write_json_str(out.buf, s),
                    None => out.bytes(b"null"),
                }
                out.bytes(b",\"text\":");
                // Escaping is byte by byte, so a sentence's escape is the
                // slice of the text's escape between its ends: the text is
                // escaped once, cut at the sentence ends, and each
                // sentence copied (in a buffer; a streamed document is
                // gone from it by then).
                let ends = spans.filter(|s| !self.spans && out.spill.is_none() && in_order(s));
                let mut marks = Vec::new();
                match ends {
                    Some(spans) => {
                        // Marks after each sentence end, and one after the
                        // text's end (never read).
                        marks.reserve(2 * spans.len() + 1);
                        out.byte(b'"');
                        let mut at = 0;
                        let cuts = spans.iter().flat_map(|r| [r.start, r.end]);
                        for b in cuts.chain(std::iter::once(whole.end)) {
                            for piece in text.pieces(at..b) {
                                escape_json(out.buf, piece.as_bytes());
                            }
                            marks.push(out.buf.len());
                            at = b;
                        }
                        out.byte(b'"');
                    }
                    None => out.json_str(text.pieces(whole))?,
                }
                if let Some(spans) = spans {
                    out.bytes(b",\"sentences\":[");
                    for (i, r) in spans.iter().enumerate() {
                        if i > 0 {
                            out.byte(b',');
                        }
                        if self.spans {
                            out.byte(b'[');
                            write_u64(out.buf, r.start as u64);
                            out.byte(b',');
                            write_u64(out.buf, r.end as u64);
                            out.byte(b']');
                        } else if let [from, to] = marks.get(2 * i..2 * i + 2).unwrap_or_default() {
                            out.byte(b'"');
                            out.buf.extend_from_within(*from..*to);
                            out.byte(b'"');
                        } else {
                            out.json_str(text.pieces(r.clone()))?;
                        }
                    }
                    out.byte(b']');
                }
                for (k, v) in &doc.fields {
                    if self.replaces(k) {
                        continue;
                    }
                    out.byte(b',');
                    write_json_str(out.buf, k);
                    out.byte(b':');
                    // Writing a JSON value into a Vec cannot fail.
                    serde_json::to_writer(&mut *out.buf, v).expect("JSON values serialise");
                }
                out.bytes(b"}\n");
            }
            (Format::Jsonl, Unit::Sentence) => {
                for (index, r) in doc.sentences().into_iter().flatten().enumerate() {
                    // The `SentenceRecord` layout. `:` and digits need no
                    // escaping, so the id is the doc id's escape + `:N`.
                    out.bytes(b"{\"id\":");
                    write_json_str(out.buf, &doc.id);
                    out.buf.pop();
                    out.byte(b':');
                    write_u64(out.buf, index as u64);
                    out.bytes(b"\",\"doc_id\":");
                    write_json_str(out.buf, &doc.id);
                    out.bytes(b",\"index\":");
                    write_u64(out.buf, index as u64);
                    out.bytes(b",\"text\":");
                    out.json_str(text.pieces(r.clone()))?;
                    out.bytes(b"}\n");
                    out.spill()?;
                }
            }
            (Format::Csv, Unit::Doc) => {
                if let Some(extra) = doc
                    .fields
                    .keys()
                    .find(|k| !self.replaces(k) && !self.csv_fields.contains(k))
                {
                    return Ok(Err(OutputError::Record {
                        id: doc.id.clone(),
                        message: format!(
                            "field `{extra}` is not a column of the CSV output (its columns come from the first document); use --format jsonl"
                        ),
                    }));
                }
                // CSV quoting needs each field whole.
                let text = doc.text();
                let sentences = spans.map(|spans| match self.spans {
                    true => {
                        let pairs: Vec<[usize; 2]> =
                            spans.iter().map(|r| [r.start, r.end]).collect();
                        serde_json::to_string(&pairs).unwrap_or_default()
                    }
                    false => {
                        let strs: Vec<&str> = spans.iter().map(|r| &text[r.clone()]).collect();
                        strs.join("\n")
                    }
                });
                let carried: Vec<std::borrow::Cow<'_, str>> = self
                    .csv_fields
                    .iter()
                    .map(|k| doc.fields.get(k).map_or("".into(), field_as_text))
                    .collect();
                let mut row: Vec<&[u8]> = vec![
                    doc.id.as_bytes(),
                    doc.source.as_deref().unwrap_or_default().as_bytes(),
                    text.as_bytes(),
                ];
                if self.with_sentences {
                    row.push(sentences.as_deref().unwrap_or_default().as_bytes());
                }
                row.extend(carried.iter().map(|c| c.as_bytes()));
                write_csv_row(out.buf, &row);
            }
            (Format::Csv, Unit::Sentence) => {
                let text = doc.text();
                for (index, r) in doc.sentences().into_iter().flatten().enumerate() {
                    let id = format!("{}:{index}", doc.id);
                    let index = index.to_string();
                    let row: [&[u8]; 4] = [
                        id.as_bytes(),
                        doc.id.as_bytes(),
                        index.as_bytes(),
                        text[r.clone()].as_bytes(),
                    ];
                    write_csv_row(out.buf, &row);
                }
            }
        }
        out.finish()?;
        Ok(Ok(()))
    }
}

fn write_json_line(out: &mut Vec<u8>, value: &impl Serialize) {
    // Serialising our own records into a Vec cannot fail: no maps with
    // non-string keys, no I/O.
    serde_json::to_writer(&mut *out, value).expect("records serialise to JSON");
    out.push(b'\n');
}

fn write_csv_row(out: &mut Vec<u8>, row: &[&[u8]]) {
    let mut w = csv::Writer::from_writer(&mut *out);
    // Writing to a Vec cannot fail.
    let _ = w.write_record(row);
    let _ = w.flush();
}

/// Renders a document's removals as removed-lines log records.
pub fn render_removals(doc_id: &str, removals: &[Removal], out: &mut Vec<u8>) {
    for r in removals {
        write_json_line(
            out,
            &RemovedRecord {
                doc_id,
                stage: r.stage,
                reason: r.reason.as_str(),
                line: r.origin,
                text: &r.text,
            },
        );
    }
}

/// A file written under a temporary name in the same directory and renamed
/// into place by [`AtomicFile::commit`]; dropped uncommitted, it vanishes,
/// and so it does when the process gets SIGINT, SIGTERM or SIGHUP (see
/// [`crate::cleanup`]). A target that exists and is not a regular file
/// (`/dev/null`, a FIFO, a terminal) is written in place: renaming over it
/// would replace the device with a file.
///
/// Files are created with mode 0666 less the process umask (0644 with the
/// usual 022), as any tool's output is, so colleagues on a shared
/// filesystem can read a run's results; tempfile's own default is 0600.
///
/// The temporary name is `.NAME.HOST.PID.RANDOM.tmp`, so that a run can
/// tell the leftovers of a crashed one (`kill -9`, a node lost) by their
/// name: [`AtomicFile::create`] removes those of a process of this host
/// that no longer runs, and names on stderr those of other hosts.
pub struct AtomicFile {
    target: PathBuf,
    writer: Encoder<BufWriter<Target>>,
    _live: Option<crate::cleanup::Live>,
}

/// True for a path that exists and is neither a regular file nor a
/// directory: a device, a FIFO, a socket.
fn is_special(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

/// What an [`AtomicFile`] writes to.
enum Target {
    Temp(tempfile::NamedTempFile),
    Special(std::fs::File),
}

impl Write for Target {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Target::Temp(f) => f.write(buf),
            Target::Special(f) => f.write(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Target::Temp(f) => f.flush(),
            Target::Special(f) => f.flush(),
        }
    }
}

/// A writer that compresses (or not) into `W`.
pub enum Encoder<W: Write> {
    /// No compression.
    Plain(W),
    /// gzip.
    Gzip(flate2::write::GzEncoder<W>),
    /// Zstandard.
    Zstd(zstd::stream::write::Encoder<'static, W>),
}

impl<W: Write> Encoder<W> {
    fn new(inner: W, compression: Compression) -> io::Result<Encoder<W>> {
        Ok(match compression {
            Compression::None => Encoder::Plain(inner),
            Compression::Gzip => Encoder::Gzip(flate2::write::GzEncoder::new(
                inner,
                flate2::Compression::default(),
            )),
            // Level 3, zstd's default: several times faster than gzip's
            // default and smaller.
            Compression::Zstd => Encoder::Zstd(zstd::stream::write::Encoder::new(inner, 3)?),
        })
    }

    /// Ends the stream (gzip trailer, zstd epilogue) and returns the writer.
    fn finish(self) -> io::Result<W> {
        match self {
            Encoder::Plain(w) => Ok(w),
            Encoder::Gzip(e) => e.finish(),
            Encoder::Zstd(e) => e.finish(),
        }
    }
}

impl<W: Write> Write for Encoder<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Encoder::Plain(w) => w.write(buf),
            Encoder::Gzip(w) => w.write(buf),
            Encoder::Zstd(w) => w.write(buf),
        }
    }
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Encoder::Plain(w) => w.write_all(buf),
            Encoder::Gzip(w) => w.write_all(buf),
            Encoder::Zstd(w) => w.write_all(buf),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match self {
            Encoder::Plain(w) => w.flush(),
            Encoder::Gzip(w) => w.flush(),
            Encoder::Zstd(w) => w.flush(),
        }
    }
}

/// This host's name, for temporary file names (`unknown` if it has none
/// that fits a file name).
fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at
    // most that many bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    match std::str::from_utf8(&buf[..end]) {
        Ok(h) if rc == 0 && !h.is_empty() && !h.contains('/') => h.to_string(),
        _ => "unknown".to_string(),
    }
}

/// True when process `pid` exists on this host.
fn process_alive(pid: i32) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let rc = unsafe { libc::kill(pid, 0) };
    rc == 0 || io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

/// Removes the temporary files of `name` in `dir` that a process of this
/// host left when it died (they are named `.NAME.HOST.PID.RANDOM.tmp`),
/// and names on stderr those of other hosts, which this one cannot judge.
fn sweep_stale(dir: &Path, name: &str, host: &str) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let prefix = format!(".{name}.");
    for entry in entries.flatten() {
        let file = entry.file_name().to_string_lossy().to_string();
        let Some(rest) = file
            .strip_prefix(&prefix)
            .and_then(|r| r.strip_suffix(".tmp"))
        else {
            continue;
        };
        // HOST.PID.RANDOM, where HOST may hold dots.
        let mut parts = rest.rsplitn(3, '.');
        let (Some(_random), Some(pid), Some(their_host)) =
            (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let Ok(pid) = pid.parse::<i32>() else {
            continue;
        };
        let path = entry.path();
        if their_host != host {
            eprintln!(
                "textclean: {} is a temporary file of process {pid} on host {their_host}; remove it if that run is over",
                path.display()
            );
        } else if !process_alive(pid) && std::fs::remove_file(&path).is_ok() {
            eprintln!(
                "textclean: removed {}, left by process {pid}, which no longer runs",
                path.display()
            );
        }
    }
}

impl AtomicFile {
    /// Starts writing `target`, plain.
    ///
    /// # Errors
    /// The directory cannot be created or written.
    pub fn create(target: &Path) -> Result<AtomicFile, OutputError> {
        AtomicFile::create_with(target, Compression::None)
    }

    /// Starts writing `target`, compressed as asked.
    ///
    /// # Errors
    /// The directory cannot be created or written.
    pub fn create_with(target: &Path, compression: Compression) -> Result<AtomicFile, OutputError> {
        AtomicFile::create_in(target, compression, true)
    }

    /// `sweep`: look for the stale temporary files of `target` first (a
    /// txt output sweeps its whole tree once instead, see [`sweep_tree`]).
    fn create_in(
        target: &Path,
        compression: Compression,
        sweep: bool,
    ) -> Result<AtomicFile, OutputError> {
        if is_special(target) {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(target)
                .map_err(io_err(target))?;
            let buffered = BufWriter::with_capacity(1 << 20, Target::Special(file));
            return Ok(AtomicFile {
                target: target.to_path_buf(),
                writer: Encoder::new(buffered, compression).map_err(io_err(target))?,
                _live: None,
            });
        }
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&dir).map_err(io_err(&dir))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        let host = host_name();
        if sweep {
            sweep_stale(&dir, &name, &host);
        }
        let prefix = format!(".{name}.{host}.{}.", std::process::id());
        let mut builder = tempfile::Builder::new();
        builder.prefix(&prefix).suffix(".tmp");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            builder.permissions(std::fs::Permissions::from_mode(0o666));
        }
        let tmp = builder.tempfile_in(&dir).map_err(io_err(&dir))?;
        let live = crate::cleanup::Live::register(tmp.path());
        let buffered = BufWriter::with_capacity(1 << 20, Target::Temp(tmp));
        Ok(AtomicFile {
            target: target.to_path_buf(),
            writer: Encoder::new(buffered, compression).map_err(io_err(target))?,
            _live: Some(live),
        })
    }

    /// Appends bytes.
    ///
    /// # Errors
    /// Any write error.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), OutputError> {
        self.writer.write_all(bytes).map_err(io_err(&self.target))
    }

    /// Hands the writer to `render` (see [`Destination::write_with`]).
    fn write_with(
        &mut self,
        render: impl FnOnce(&mut dyn Write) -> Rendering,
    ) -> Result<(), OutputError> {
        render(&mut self.writer).map_err(io_err(&self.target))?
    }

    /// Flushes, syncs and renames into place.
    ///
    /// # Errors
    /// Any flush, sync or rename error.
    pub fn commit(self) -> Result<(), OutputError> {
        self.commit_with(true)
    }

    /// Flushes and renames into place; syncs to disk when `sync` (a
    /// directory of small files is synced once at the end instead).
    fn commit_with(self, sync: bool) -> Result<(), OutputError> {
        let target = self.target;
        let buffered = self.writer.finish().map_err(io_err(&target))?;
        match buffered
            .into_inner()
            .map_err(|e| io_err(&target)(e.into_error()))?
        {
            Target::Temp(tmp) => {
                if sync {
                    tmp.as_file().sync_all().map_err(io_err(&target))?;
                }
                tmp.persist(&target).map_err(|e| io_err(&target)(e.error))?;
            }
            Target::Special(mut f) => f.flush().map_err(io_err(&target))?,
        }
        Ok(())
    }
}

/// Removes the temporary files under `root` that a process of this host
/// left when it died: once per txt output, rather than once per file.
fn sweep_tree(root: &Path, host: &str) {
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if entry.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
                continue;
            }
            let file = entry.file_name().to_string_lossy().to_string();
            // .NAME.HOST.PID.RANDOM.tmp, of this host only: another
            // host's name cannot be told apart from NAME here.
            let pid = file
                .strip_prefix('.')
                .and_then(|r| r.strip_suffix(".tmp"))
                .and_then(|r| r.rsplit_once('.'))
                .and_then(|(r, _random)| r.rsplit_once('.'))
                .filter(|(r, _)| r.ends_with(&format!(".{host}")))
                .and_then(|(_, pid)| pid.parse::<i32>().ok());
            if let Some(pid) = pid.filter(|&p| !process_alive(p)) {
                if std::fs::remove_file(&path).is_ok() {
                    eprintln!(
                        "textclean: removed {}, left by process {pid}, which no longer runs",
                        path.display()
                    );
                }
            }
        }
    }
}

/// Flushes every file of the filesystem holding `root` to disk: one
/// `syncfs` for a whole directory of `.txt` files, instead of one `fsync`
/// per file (100,000 small documents took 30 to 70 s to sync one by one).
fn sync_tree(root: &Path) -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        let dir = std::fs::File::open(root)?;
        // SAFETY: the descriptor is open for the duration of the call.
        if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = root;
        // SAFETY: sync takes no arguments and cannot fail.
        unsafe { libc::sync() };
    }
    Ok(())
}

/// Where a dataset's bytes go.
pub enum Destination {
    /// Standard output.
    Stdout(Encoder<BufWriter<io::Stdout>>),
    /// One JSONL or CSV file.
    File(AtomicFile),
    /// One Parquet file.
    Parquet(Box<ParquetSink>),
    /// A directory of `.txt` files.
    Dir {
        /// The output directory.
        root: PathBuf,
        /// Names taken so far (see [`TxtNames`]).
        names: TxtNames,
    },
}

/// The relative output path for a document id: the id itself when it is a
/// safe relative path, with `.txt` added when missing.
///
/// # Errors
/// An id that is empty, absolute or climbs out with `..`.
pub fn txt_path(id: &str) -> Result<PathBuf, OutputError> {
    let bad = |m: &str| OutputError::Record {
        id: id.to_string(),
        message: m.to_string(),
    };
    let p = Path::new(id);
    if id.is_empty() || id.contains('\0') {
        return Err(bad("an empty id cannot name a .txt file"));
    }
    if !p.components().all(|c| matches!(c, Component::Normal(_))) {
        return Err(bad("id is not a plain relative path (absolute, `.` or `..`), so it cannot name a .txt file; use --format jsonl"));
    }
    Ok(if id.ends_with(".txt") {
        p.to_path_buf()
    } else {
        PathBuf::from(format!("{id}.txt"))
    })
}

/// The names a txt output has given out, so that no document overwrites
/// or blocks another. A document whose path is taken by an earlier one of
/// the run (the same file, a file where it needs a directory, or a
/// directory where it needs a file) gets `~N` added to the first name that
/// collides, the smallest `N` from 2 that is free: before `.txt` for the
/// file (`x~2.txt`), at the end for a directory (`x.txt~2/inner.txt`).
/// The names depend only on the documents before, in input order, so they
/// are the same for any thread count.
#[derive(Debug, Default)]
pub struct TxtNames {
    files: HashSet<PathBuf>,
    dirs: HashSet<PathBuf>,
}

impl TxtNames {
    /// The path for `rel` (from [`txt_path`]), now taken.
    pub fn take(&mut self, rel: &Path) -> PathBuf {
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().to_string())
            .collect();
        let mut out = PathBuf::new();
        for (i, part) in parts.iter().enumerate() {
            let last = i + 1 == parts.len();
            let free = |p: &PathBuf| {
                if last {
                    !self.files.contains(p) && !self.dirs.contains(p)
                } else {
                    !self.files.contains(p)
                }
            };
            let mut candidate = out.join(part);
            let mut n = 1;
            while !free(&candidate) {
                n += 1;
                let renamed = match (last, part.strip_suffix(".txt")) {
                    (true, Some(stem)) => format!("{stem}~{n}.txt"),
                    _ => format!("{part}~{n}"),
                };
                candidate = out.join(renamed);
            }
            out = candidate;
            if !last {
                self.dirs.insert(out.clone());
            }
        }
        self.files.insert(out.clone());
        out
    }
}

impl Destination {
    /// Opens the output: `-` is stdout; for `txt`, `out` is a directory.
    ///
    /// # Errors
    /// The file or directory cannot be created.
    pub fn create(
        out: &str,
        format: Format,
        compression: Compression,
    ) -> Result<Destination, OutputError> {
        if out == "-" {
            if format == Format::Txt {
                return Err(OutputError::Usage(
                    "--format txt writes a directory; give a directory with -o".into(),
                ));
            }
            let stdout = BufWriter::with_capacity(1 << 20, io::stdout());
            let enc = Encoder::new(stdout, compression).map_err(io_err(Path::new("<stdout>")))?;
            return Ok(Destination::Stdout(enc));
        }
        let path = PathBuf::from(out);
        if format == Format::Txt {
            std::fs::create_dir_all(&path).map_err(io_err(&path))?;
            sweep_tree(&path, &host_name());
            return Ok(Destination::Dir {
                root: path,
                names: TxtNames::default(),
            });
        }
        if format == Format::Parquet {
            let file = AtomicFile::create(&path)?;
            return Ok(Destination::Parquet(Box::new(ParquetSink::new(file))));
        }
        Ok(Destination::File(AtomicFile::create_with(
            &path,
            compression,
        )?))
    }

    /// Writes one document's rendered bytes. For a directory, returns the
    /// path written when it is not the one the id asks for (see
    /// [`TxtNames`]).
    ///
    /// # Errors
    /// I/O errors; for a directory, an id that cannot be a path.
    pub fn write(&mut self, id: &str, bytes: &[u8]) -> Result<Option<PathBuf>, OutputError> {
        if let Destination::Parquet(p) = self {
            return p.write(bytes.to_vec()).map(|()| None);
        }
        self.write_with(id, |w| w.write_all(bytes).map(Ok))
    }

    /// Writes one document by handing the writer to `render` (a document
    /// too large to buffer: [`Rendered::Streamed`]); returns as
    /// [`Destination::write`].
    ///
    /// # Errors
    /// As [`Destination::write`], and `render`'s own error.
    fn write_with(
        &mut self,
        id: &str,
        render: impl FnOnce(&mut dyn Write) -> Rendering,
    ) -> Result<Option<PathBuf>, OutputError> {
        match self {
            Destination::Stdout(w) => render(w)
                .map_err(io_err(Path::new("<stdout>")))?
                .map(|()| None),
            Destination::File(f) => f.write_with(render).map(|()| None),
            Destination::Parquet(_) => Err(OutputError::Usage(
                "a Parquet row is written from its frame, never streamed".into(),
            )),
            Destination::Dir { root, names } => {
                let asked = txt_path(id)?;
                let rel = names.take(&asked);
                let mut f = AtomicFile::create_in(&root.join(&rel), Compression::None, false)?;
                f.write_with(render)?;
                f.commit_with(false)?;
                Ok((rel != asked).then_some(rel))
            }
        }
    }

    /// Completes the output (flush; rename into place; for a directory,
    /// one sync of everything written).
    ///
    /// # Errors
    /// Any flush, sync or rename error.
    pub fn finish(self) -> Result<(), OutputError> {
        match self {
            Destination::Stdout(w) => {
                let stdout = Path::new("<stdout>");
                w.finish()
                    .and_then(|mut w| w.flush())
                    .map_err(io_err(stdout))
            }
            Destination::File(f) => f.commit(),
            Destination::Parquet(mut p) => p.finish(),
            Destination::Dir { root, .. } => sync_tree(&root).map_err(io_err(&root)),
        }
    }
}

/// Where a run's records go, and how (see [`DatasetSink`]).
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

/// A rendering into a writer: its I/O error, or the document's own error.
type Rendering = io::Result<Result<(), OutputError>>;

/// One document's rendering, as the sequential writer gets it.
#[derive(Debug)]
pub enum Rendered {
    /// The bytes, rendered on a worker.
    Bytes(Vec<u8>),
    /// Left to the writer, which renders it straight into the output: a
    /// document too large to hold twice ([`STREAM_ABOVE`]).
    Streamed,
}

impl Render for Renderer {
    type Out = Rendered;
    fn render(&self, doc: &Document) -> Result<Rendered, OutputError> {
        if self.streams(doc) {
            return Ok(Rendered::Streamed);
        }
        // Sized for the text, and its copy in the sentences: growing by
        // doubling would copy a record several times over. A Parquet
        // frame holds the text once, and 16 bytes a sentence.
        let size = match self.format {
            Format::Parquet => {
                let spans = doc.sentences().map_or(0, <[_]>::len);
                doc.text_len() + 16 * spans + 256
            }
            _ => {
                let text = doc.text_len() * if self.with_sentences { 2 } else { 1 };
                text + text / 32 + 256
            }
        };
        let mut out = Vec::with_capacity(size);
        Renderer::render(self, doc, &mut out)?;
        Ok(Rendered::Bytes(out))
    }
}

/// The dataset: JSONL, CSV, Parquet or txt, to a file, stdout or a
/// directory, as an [`OutputSpec`] says. Opened when the engine begins (so
/// a config error leaves nothing behind).
pub struct DatasetSink {
    spec: OutputSpec,
    renderer: Renderer,
    /// Columns known before the run (a shard's part): CSV columns, and
    /// then no header is written (`merge` writes it once); for Parquet,
    /// the part holds length-prefixed frames that `merge` encodes.
    preset: Option<Vec<String>>,
    /// Parquet: the carried fields seen in the preview.
    kinds: FieldKinds,
    /// Parquet: where row groups are encoded, and the CPU time it took.
    pool: Option<crate::par::Pool>,
    pool_time: Duration,
    dest: Option<Destination>,
}

impl DatasetSink {
    /// The dataset of one process; `with_sentences` when the pipeline
    /// splits sentences.
    pub fn new(spec: &OutputSpec, with_sentences: bool) -> DatasetSink {
        DatasetSink {
            renderer: Renderer::new(spec.format, spec.unit, with_sentences).with_spans(spec.spans),
            spec: spec.clone(),
            preset: None,
            kinds: FieldKinds::default(),
            pool: None,
            pool_time: Duration::ZERO,
            dest: None,
        }
    }

    /// A part of a sharded run: CSV columns given (found at plan time),
    /// no header; Parquet as frames (see [`read_frame`]).
    pub fn part(spec: &OutputSpec, with_sentences: bool, columns: Vec<String>) -> DatasetSink {
        DatasetSink {
            preset: Some(columns),
            ..DatasetSink::new(spec, with_sentences)
        }
    }

    fn frames_part(&self) -> bool {
        self.preset.is_some() && self.spec.format == Format::Parquet
    }
}

/// Reads the next frame of a Parquet part ([`DatasetSink::part`]) into
/// `buf`; false at the end of the part.
///
/// # Errors
/// Read errors, and a part cut short.
pub fn read_frame(r: &mut impl io::Read, buf: &mut Vec<u8>) -> io::Result<bool> {
    let mut len = [0u8; 8];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(false),
        Err(e) => return Err(e),
    }
    let len = usize::try_from(u64::from_le_bytes(len))
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "frame too long"))?;
    buf.clear();
    buf.resize(len, 0);
    r.read_exact(buf)?;
    Ok(true)
}

impl Sink for DatasetSink {
    type Render = Renderer;

    fn wants_first(&self) -> bool {
        self.renderer.needs_fields() && self.preset.is_none()
    }

    fn wants_preview(&self) -> bool {
        self.spec.format == Format::Parquet && self.preset.is_none()
    }

    fn set_preview(&mut self, kinds: &FieldKinds) {
        self.kinds = self.renderer.carried_kinds(kinds);
    }

    fn set_pool(&mut self, pool: &crate::par::Pool) {
        self.pool = Some(pool.clone());
    }

    fn pool_time(&self) -> Duration {
        self.pool_time
    }

    fn begin(&mut self, first: Option<&Document>) -> Result<Renderer, OutputError> {
        let mut dest = if self.frames_part() {
            Destination::File(AtomicFile::create(Path::new(&self.spec.path))?)
        } else {
            Destination::create(&self.spec.path, self.spec.format, self.spec.compression)?
        };
        if let Destination::Parquet(p) = &mut dest {
            p.set_columns(&self.kinds);
            if let Some(pool) = &self.pool {
                p.set_pool(pool.clone());
            }
        }
        if let Some(cols) = &self.preset {
            self.renderer.set_csv_fields(cols);
        } else if let Some(first) = first.filter(|_| self.renderer.needs_fields()) {
            self.renderer.set_csv_fields(first.fields.keys());
            if let Some(h) = self.renderer.header() {
                dest.write("", &h)?;
            }
        }
        self.dest = Some(dest);
        Ok(self.renderer.clone())
    }

    fn write(&mut self, doc: &Document, out: Rendered) -> Result<Option<String>, OutputError> {
        if doc.lines().is_empty() && !self.spec.keep_empty {
            return Ok(None);
        }
        let frames = self.frames_part();
        let Some(dest) = self.dest.as_mut() else {
            return Ok(None);
        };
        let written = match out {
            Rendered::Bytes(bytes) if frames => {
                dest.write(&doc.id, &(bytes.len() as u64).to_le_bytes())?;
                dest.write(&doc.id, &bytes)?
            }
            Rendered::Bytes(bytes) => match dest {
                Destination::Parquet(p) => p.write(bytes).map(|()| None)?,
                _ => dest.write(&doc.id, &bytes)?,
            },
            Rendered::Streamed => {
                let renderer = &self.renderer;
                dest.write_with(&doc.id, |w| renderer.render_to(doc, w))?
            }
        };
        Ok(written.map(|renamed| {
            format!(
                "document {}: written as {}, since an earlier document took its name",
                doc.id,
                renamed.display()
            )
        }))
    }

    fn finish(&mut self) -> Result<(), OutputError> {
        match self.dest.take() {
            Some(Destination::Parquet(mut p)) => {
                p.finish()?;
                self.pool_time = p.encode_time();
                Ok(())
            }
            Some(dest) => dest.finish(),
            None => Ok(()),
        }
    }
}

/// The removed-lines log: each removed line with its stage and reason, as
/// JSONL (compressed when the name ends in `.gz` or `.zst`).
pub struct RemovedLog {
    path: PathBuf,
    file: Option<AtomicFile>,
}

impl RemovedLog {
    /// The log to write at `path`.
    pub fn new(path: &Path) -> RemovedLog {
        RemovedLog {
            path: path.to_path_buf(),
            file: None,
        }
    }
}

/// Renders a document's removed-lines log records.
#[derive(Debug, Clone, Copy)]
pub struct RemovalsRender;

impl Render for RemovalsRender {
    type Out = Vec<u8>;
    fn render(&self, doc: &Document) -> Result<Vec<u8>, OutputError> {
        let mut out = Vec::new();
        render_removals(&doc.id, doc.removals(), &mut out);
        Ok(out)
    }
}

impl Sink for RemovedLog {
    type Render = RemovalsRender;

    fn begin(&mut self, _: Option<&Document>) -> Result<RemovalsRender, OutputError> {
        let name = self.path.file_name().unwrap_or_default().to_string_lossy();
        let compression = Compression::of_name(&name).0;
        self.file = Some(AtomicFile::create_with(&self.path, compression)?);
        Ok(RemovalsRender)
    }

    fn write(&mut self, _: &Document, bytes: Vec<u8>) -> Result<Option<String>, OutputError> {
        if let Some(f) = self.file.as_mut() {
            f.write_all(&bytes)?;
        }
        Ok(None)
    }

    fn finish(&mut self) -> Result<(), OutputError> {
        self.file.take().map_or(Ok(()), AtomicFile::commit)
    }
}

/// Creates `path` atomically with `bytes`.
///
/// # Errors
/// Any I/O error.
pub fn write_file_atomic(path: &Path, bytes: &[u8]) -> Result<(), OutputError> {
    let mut f = AtomicFile::create(path)?;
    f.write_all(bytes)?;
    f.commit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_names_say_format_and_compression() {
        let ok = |out: &str, f: Option<Format>, c: Option<Compression>| {
            resolve_output(out, f, c).unwrap()
        };
        use Compression as C;
        use Format as F;
        assert_eq!(ok("a.jsonl", None, None), (F::Jsonl, C::None));
        assert_eq!(ok("a.ndjson.GZ", None, None), (F::Jsonl, C::Gzip));
        assert_eq!(ok("a.csv.zst", None, None), (F::Csv, C::Zstd));
        assert_eq!(
            ok("d/a.csv", Some(F::Csv), Some(C::None)),
            (F::Csv, C::None)
        );
        assert_eq!(ok("-", None, None), (F::Jsonl, C::None));
        assert_eq!(ok("-", Some(F::Csv), Some(C::Zstd)), (F::Csv, C::Zstd));
        assert_eq!(ok("out/", None, None), (F::Txt, C::None));
        assert_eq!(ok("out", Some(F::Txt), None), (F::Txt, C::None));
        assert_eq!(ok("/dev/null", None, None), (F::Jsonl, C::None));
        assert_eq!(ok("a.parquet", None, None), (F::Parquet, C::None));
        for (out, f, c) in [
            ("a.csv", Some(F::Jsonl), None),
            ("a.jsonl", None, Some(C::Gzip)),
            ("a.jsonl.gz", None, Some(C::Zstd)),
            ("a.jsonl.gz", Some(F::Txt), None),
            ("a.gz", None, None),
            ("a", None, None),
            ("a.parquet.zst", None, None),
            ("a.parquet", None, Some(C::Zstd)),
            ("-", Some(F::Parquet), None),
            ("out/", None, Some(C::Gzip)),
            ("-", Some(F::Txt), None),
        ] {
            assert!(resolve_output(out, f, c).is_err(), "{out} {f:?} {c:?}");
        }
    }

    #[test]
    fn txt_names_never_overwrite_or_block_each_other() {
        let mut names = TxtNames::default();
        let mut take = |id: &str| names.take(&txt_path(id).unwrap());
        assert_eq!(take("x"), PathBuf::from("x.txt"));
        // x.txt is a file: the directory gets the mark.
        assert_eq!(take("x.txt/inner"), PathBuf::from("x.txt~2/inner.txt"));
        assert_eq!(take("x"), PathBuf::from("x~2.txt"));
        assert_eq!(take("x~2"), PathBuf::from("x~2~2.txt"));
        assert_eq!(take("d.txt/a"), PathBuf::from("d.txt/a.txt"));
        // d.txt is a directory: the file gets the mark.
        assert_eq!(take("d"), PathBuf::from("d~2.txt"));
        assert_eq!(take("d.txt/b"), PathBuf::from("d.txt/b.txt"));
    }

    #[test]
    fn json_strings_are_what_serde_json_writes() {
        let mut cases: Vec<String> = (0u8..0x80).map(|b| char::from(b).to_string()).collect();
        cases.extend(
            [
                "",
                "plain words only",
                "ab\"cdefgh\\ijk\nlmnopq\u{1}r",
                "é«»—\u{2028}\u{7f}\u{85} 12345678\t",
                "0123456\"",
            ]
            .map(String::from),
        );
        // Every position of an escape in and across the 8-byte words.
        for at in 0..20 {
            for c in ['"', '\\', '\n', '\u{1f}', 'é'] {
                let mut s: String = "x".repeat(at);
                s.push(c);
                s.push_str(&"y".repeat(19 - at));
                cases.push(s);
            }
        }
        for s in cases {
            let mut ours = Vec::new();
            write_json_str(&mut ours, &s);
            assert_eq!(ours, serde_json::to_vec(&s).unwrap(), "{s:?}");
        }
        let mut n = Vec::new();
        for k in [0u64, 7, 10, 12345, u64::MAX] {
            n.clear();
            write_u64(&mut n, k);
            assert_eq!(n, k.to_string().as_bytes());
        }
    }

    #[test]
    fn a_streamed_document_is_rendered_as_a_buffered_one() {
        // Longer than a chunk, with escapes and multi-byte characters cut
        // by chunk ends, and sentences across the paragraph break.
        let para = "Il a dit \"oui\"\tà l'été. ".repeat(60_000);
        let raw = format!("{para}\n{para}");
        let mut doc = Document::new("big", &raw);
        let n = doc.text_len();
        let mid = para.len() + 1;
        doc.set_sentences(vec![0..9, 9..mid, mid..n]);
        assert!(n > 2 * CHUNK);
        for (format, unit) in [
            (Format::Jsonl, Unit::Doc),
            (Format::Jsonl, Unit::Sentence),
            (Format::Txt, Unit::Doc),
            (Format::Txt, Unit::Sentence),
        ] {
            for spans in [false, true] {
                let r = Renderer::new(format, unit, true).with_spans(spans);
                let mut buffered = Vec::new();
                r.render(&doc, &mut buffered).unwrap();
                let mut streamed = Vec::new();
                r.render_to(&doc, &mut streamed).unwrap().unwrap();
                assert!(buffered == streamed, "{format:?} {unit:?} spans={spans}");
            }
        }
    }

    #[test]
    fn jsonl_records_are_what_the_serde_records_give() {
        let mut doc = Document::new("d\"1", "One \"two\".\nThree.");
        doc.source = Some("site/a".into());
        doc.fields
            .insert("n".into(), serde_json::json!([1, {"a": null}]));
        doc.fields
            .insert("sentences".into(), serde_json::json!("old"));
        doc.set_sentences(vec![0..10, 12..18]);
        let text = doc.text();
        let sentences: Vec<&str> = vec![&text[0..10], &text[12..18]];
        let mut fields = doc.fields.clone();
        fields.shift_remove("sentences");
        let mut want = Vec::new();
        write_json_line(
            &mut want,
            &DocRecord {
                id: &doc.id,
                source: doc.source.as_deref(),
                text: &text,
                sentences: Some(sentences.clone()),
                fields: &fields,
            },
        );
        let mut got = Vec::new();
        let r = Renderer::new(Format::Jsonl, Unit::Doc, true);
        r.render(&doc, &mut got).unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            String::from_utf8(want).unwrap()
        );
        // Spans instead of strings.
        let mut got = Vec::new();
        r.clone().with_spans(true).render(&doc, &mut got).unwrap();
        let v: serde_json::Value = serde_json::from_slice(&got).unwrap();
        assert_eq!(v["sentences"], serde_json::json!([[0, 10], [12, 18]]));
        // Sentence records.
        let mut want = Vec::new();
        for (i, s) in sentences.iter().enumerate() {
            let rec = SentenceRecord {
                id: format!("{}:{i}", doc.id),
                doc_id: &doc.id,
                index: i,
                text: s,
            };
            write_json_line(&mut want, &rec);
        }
        let mut got = Vec::new();
        Renderer::new(Format::Jsonl, Unit::Sentence, true)
            .render(&doc, &mut got)
            .unwrap();
        assert_eq!(
            String::from_utf8(got).unwrap(),
            String::from_utf8(want).unwrap()
        );
    }

    #[test]
    fn txt_paths_are_safe() {
        assert_eq!(txt_path("a/b.txt").unwrap(), PathBuf::from("a/b.txt"));
        assert_eq!(txt_path("doc-7").unwrap(), PathBuf::from("doc-7.txt"));
        for bad in ["", "../x", "/etc/passwd", "a/../../b"] {
            assert!(txt_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn jsonl_doc_record_has_schema_and_carried_fields() {
        let mut doc = Document::new("d1", "One. Two.");
        doc.fields.insert("url".into(), "http://x".into());
        doc.set_sentences(vec![0..4, 5..9]);
        let mut out = Vec::new();
        Renderer::new(Format::Jsonl, Unit::Doc, true)
            .render(&doc, &mut out)
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["text"], "One. Two.");
        assert_eq!(v["sentences"], serde_json::json!(["One.", "Two."]));
        assert_eq!(v["url"], "http://x");
        assert!(v["source"].is_null());
        let keys: Vec<&String> = v.as_object().unwrap().keys().collect();
        assert_eq!(keys, ["id", "source", "text", "sentences", "url"]);
    }

    #[test]
    fn csv_rows_quote_and_join_sentences() {
        let mut doc = Document::new("d1", "A, \"b\".\nC.");
        doc.set_sentences(vec![0..7, 9..11]);
        let mut r = Renderer::new(Format::Csv, Unit::Doc, true);
        r.set_csv_fields(doc.fields.keys());
        let mut out = r.header().unwrap();
        r.render(&doc, &mut out).unwrap();
        let mut rd = csv::Reader::from_reader(&out[..]);
        let rec = rd.records().next().unwrap().unwrap();
        assert_eq!(&rec[2], "A, \"b\".\n\nC.");
        assert_eq!(&rec[3], "A, \"b\".\nC.");
    }

    #[test]
    fn devices_are_written_in_place_not_replaced() {
        // `-o /dev/null` once renamed a temporary file over the device.
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("f");
        std::fs::write(&file, b"").unwrap();
        assert!(is_special(Path::new("/dev/null")));
        assert!(!is_special(&file));
        assert!(!is_special(dir.path()));
        assert!(!is_special(&dir.path().join("missing")));
    }

    #[test]
    fn atomic_file_appears_only_on_commit() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("out.jsonl");
        let mut f = AtomicFile::create(&target).unwrap();
        f.write_all(b"x").unwrap();
        assert!(!target.exists());
        drop(f);
        assert!(!target.exists());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
        write_file_atomic(&target, b"y").unwrap();
        assert_eq!(std::fs::read(&target).unwrap(), b"y");
    }
}
