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

use serde::Serialize;

use crate::document::{Document, Fields, Removal};

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
    csv_fields: Vec<String>,
}

fn field_as_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl Renderer {
    /// A renderer; `with_sentences` when the pipeline splits sentences.
    pub fn new(format: Format, unit: Unit, with_sentences: bool) -> Renderer {
        Renderer {
            format,
            unit,
            with_sentences,
            csv_fields: Vec::new(),
        }
    }

    /// CSV needs one header for the whole file: carried columns are those
    /// of the first document.
    pub fn set_csv_fields(&mut self, first: &Document) {
        self.csv_fields = first.fields.keys().cloned().collect();
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
        let text = doc.text();
        let sentences: Option<Vec<&str>> = doc
            .sentences()
            .map(|spans| spans.iter().map(|r| &text[r.clone()]).collect());
        match (self.format, self.unit) {
            (Format::Txt, Unit::Doc) => {
                out.extend_from_slice(text.as_bytes());
                if !text.is_empty() {
                    out.push(b'\n');
                }
            }
            (Format::Txt, Unit::Sentence) => {
                for s in sentences.iter().flatten() {
                    out.extend_from_slice(s.as_bytes());
                    out.push(b'\n');
                }
            }
            (Format::Jsonl, Unit::Doc) => {
                let rec = DocRecord {
                    id: &doc.id,
                    source: doc.source.as_deref(),
                    text: &text,
                    sentences: if self.with_sentences { sentences } else { None },
                    fields: &doc.fields,
                };
                write_json_line(out, &rec);
            }
            (Format::Jsonl, Unit::Sentence) => {
                for (index, s) in sentences.iter().flatten().enumerate() {
                    write_json_line(out, &self.sentence_record(doc, index, s));
                }
            }
            (Format::Csv, Unit::Doc) => {
                if let Some(extra) = doc.fields.keys().find(|k| !self.csv_fields.contains(k)) {
                    return Err(OutputError::Record {
                        id: doc.id.clone(),
                        message: format!(
                            "field `{extra}` is not a column of the CSV output (its columns come from the first document); use --format jsonl"
                        ),
                    });
                }
                let mut row: Vec<String> = vec![
                    doc.id.clone(),
                    doc.source.clone().unwrap_or_default(),
                    text.clone(),
                ];
                if self.with_sentences {
                    row.push(sentences.map(|s| s.join("\n")).unwrap_or_default());
                }
                row.extend(
                    self.csv_fields
                        .iter()
                        .map(|k| doc.fields.get(k).map(field_as_text).unwrap_or_default()),
                );
                write_csv_row(out, &row);
            }
            (Format::Csv, Unit::Sentence) => {
                for (index, s) in sentences.iter().flatten().enumerate() {
                    let rec = self.sentence_record(doc, index, s);
                    write_csv_row(
                        out,
                        &[
                            rec.id,
                            rec.doc_id.to_string(),
                            index.to_string(),
                            s.to_string(),
                        ],
                    );
                }
            }
        }
        Ok(())
    }

    fn sentence_record<'a>(
        &self,
        doc: &'a Document,
        index: usize,
        s: &'a str,
    ) -> SentenceRecord<'a> {
        SentenceRecord {
            id: format!("{}:{index}", doc.id),
            doc_id: &doc.id,
            index,
            text: s,
        }
    }
}

fn write_json_line(out: &mut Vec<u8>, value: &impl Serialize) {
    // Serialising our own records into a Vec cannot fail: no maps with
    // non-string keys, no I/O.
    serde_json::to_writer(&mut *out, value).expect("records serialise to JSON");
    out.push(b'\n');
}

fn write_csv_row(out: &mut Vec<u8>, row: &[String]) {
    let mut w = csv::Writer::from_writer(std::mem::take(out));
    // Writing to a Vec cannot fail.
    let _ = w.write_record(row);
    *out = w.into_inner().unwrap_or_default();
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
/// into place by [`AtomicFile::commit`]; dropped uncommitted, it vanishes.
/// A target that exists and is not a regular file (`/dev/null`, a FIFO, a
/// terminal) is written in place: renaming over it would replace the
/// device with a file.
pub struct AtomicFile {
    target: PathBuf,
    writer: BufWriter<Target>,
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

impl AtomicFile {
    /// Starts writing `target`.
    ///
    /// # Errors
    /// The directory cannot be created or written.
    pub fn create(target: &Path) -> Result<AtomicFile, OutputError> {
        if is_special(target) {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(target)
                .map_err(io_err(target))?;
            return Ok(AtomicFile {
                target: target.to_path_buf(),
                writer: BufWriter::with_capacity(1 << 20, Target::Special(file)),
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
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(io_err(&dir))?;
        Ok(AtomicFile {
            target: target.to_path_buf(),
            writer: BufWriter::with_capacity(1 << 20, Target::Temp(tmp)),
        })
    }

    /// Appends bytes.
    ///
    /// # Errors
    /// Any write error.
    pub fn write_all(&mut self, bytes: &[u8]) -> Result<(), OutputError> {
        self.writer.write_all(bytes).map_err(io_err(&self.target))
    }

    /// Flushes, syncs and renames into place.
    ///
    /// # Errors
    /// Any flush, sync or rename error.
    pub fn commit(self) -> Result<(), OutputError> {
        let target = self.target;
        match self
            .writer
            .into_inner()
            .map_err(|e| io_err(&target)(e.into_error()))?
        {
            Target::Temp(tmp) => {
                tmp.as_file().sync_all().map_err(io_err(&target))?;
                tmp.persist(&target).map_err(|e| io_err(&target)(e.error))?;
            }
            Target::Special(_) => {}
        }
        Ok(())
    }
}

/// Where records go.
pub enum Sink {
    /// Standard output.
    Stdout(BufWriter<io::Stdout>),
    /// One JSONL or CSV file.
    File(AtomicFile),
    /// A directory of `.txt` files.
    Dir {
        /// The output directory.
        root: PathBuf,
        /// Relative paths written so far, to refuse collisions.
        written: HashSet<PathBuf>,
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

impl Sink {
    /// Opens the output: `-` is stdout; for `txt`, `out` is a directory.
    ///
    /// # Errors
    /// The file or directory cannot be created.
    pub fn create(out: &str, format: Format) -> Result<Sink, OutputError> {
        if out == "-" {
            if format == Format::Txt {
                return Err(OutputError::Record {
                    id: "-".into(),
                    message: "--format txt writes a directory; give a directory with -o".into(),
                });
            }
            return Ok(Sink::Stdout(BufWriter::new(io::stdout())));
        }
        let path = PathBuf::from(out);
        if format == Format::Txt {
            std::fs::create_dir_all(&path).map_err(io_err(&path))?;
            return Ok(Sink::Dir {
                root: path,
                written: HashSet::new(),
            });
        }
        Ok(Sink::File(AtomicFile::create(&path)?))
    }

    /// Writes one document's rendered bytes.
    ///
    /// # Errors
    /// I/O errors; for a directory, an id that cannot be a path or that
    /// collides with an earlier document.
    pub fn write(&mut self, id: &str, bytes: &[u8]) -> Result<(), OutputError> {
        match self {
            Sink::Stdout(w) => w.write_all(bytes).map_err(io_err(Path::new("<stdout>"))),
            Sink::File(f) => f.write_all(bytes),
            Sink::Dir { root, written } => {
                let rel = txt_path(id)?;
                if !written.insert(rel.clone()) {
                    return Err(OutputError::Record {
                        id: id.to_string(),
                        message: format!(
                            "{} was already written by an earlier document",
                            rel.display()
                        ),
                    });
                }
                let mut f = AtomicFile::create(&root.join(rel))?;
                f.write_all(bytes)?;
                f.commit()
            }
        }
    }

    /// Completes the output (flush; rename into place).
    ///
    /// # Errors
    /// Any flush or rename error.
    pub fn finish(self) -> Result<(), OutputError> {
        match self {
            Sink::Stdout(mut w) => w.flush().map_err(io_err(Path::new("<stdout>"))),
            Sink::File(f) => f.commit(),
            Sink::Dir { .. } => Ok(()),
        }
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
        r.set_csv_fields(&doc);
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
