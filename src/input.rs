//! Readers: a directory of `.txt` files, JSONL, CSV (optionally `.gz` or
//! `.zst`), or JSONL on stdin, turned into a stream of raw records.
//!
//! Reading is sequential and cheap (bytes and line splitting); decoding a
//! record into a [`Document`] (UTF-8 checks, JSON parsing) is done by the
//! workers with [`Raw::decode`], so it runs in parallel. Every error names
//! the file and the line or record.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::document::{Document, Fields};

/// A record that could not be read or decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct InputError {
    /// The input file (or `<stdin>`).
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

/// How records name their fields.
#[derive(Debug, Clone)]
pub struct InputOptions {
    /// Field holding the text (JSONL and CSV).
    pub text_field: String,
    /// Field holding the document id (JSONL and CSV).
    pub id_field: String,
    /// Field holding the document's source (site, collection), if any.
    pub source_field: String,
}

impl Default for InputOptions {
    fn default() -> Self {
        InputOptions {
            text_field: "text".into(),
            id_field: "id".into(),
            source_field: "source".into(),
        }
    }
}

/// Kinds of input, decided from the path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSpec {
    /// A directory of `.txt` files (recursive, sorted), one document each.
    Dir(PathBuf),
    /// One `.txt` file, one document.
    TextFile(PathBuf),
    /// A JSONL file, one document per line.
    Jsonl(PathBuf),
    /// A CSV file with a header, one document per record.
    Csv(PathBuf),
    /// JSONL on standard input.
    Stdin,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

fn compression_of(path: &Path) -> (Compression, String) {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_lowercase())
        .unwrap_or_default();
    if let Some(stem) = name.strip_suffix(".gz") {
        (Compression::Gzip, stem.to_string())
    } else if let Some(stem) = name.strip_suffix(".zst") {
        (Compression::Zstd, stem.to_string())
    } else {
        (Compression::None, name)
    }
}

fn is_text_file(name: &str) -> bool {
    name.ends_with(".txt")
}

impl InputSpec {
    /// Decides the kind of input from a command-line argument.
    ///
    /// # Errors
    /// A path that does not exist or has an unknown extension.
    pub fn from_arg(arg: &str) -> Result<InputSpec, InputError> {
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
        let (_, name) = compression_of(&path);
        if name.ends_with(".jsonl") || name.ends_with(".ndjson") || name.ends_with(".json") {
            Ok(InputSpec::Jsonl(path))
        } else if name.ends_with(".csv") {
            Ok(InputSpec::Csv(path))
        } else if is_text_file(&name) {
            Ok(InputSpec::TextFile(path))
        } else {
            Err(InputError::new(
                arg,
                None,
                "unknown input type: expected a directory, .txt, .jsonl or .csv (optionally .gz or .zst), or - for JSONL on stdin",
            ))
        }
    }

    /// The file or directory, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            InputSpec::Dir(p)
            | InputSpec::TextFile(p)
            | InputSpec::Jsonl(p)
            | InputSpec::Csv(p) => Some(p),
            InputSpec::Stdin => None,
        }
    }
}

/// Opens a file, decompressing by extension.
///
/// # Errors
/// The file cannot be opened or the zstd header is bad.
pub fn open_decompressed(path: &Path) -> io::Result<Box<dyn Read + Send>> {
    let file = File::open(path)?;
    Ok(match compression_of(path).0 {
        Compression::None => Box::new(file),
        Compression::Gzip => Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(file))),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::new(file)?),
    })
}

/// Lists the text files under `dir`, recursively, sorted by relative path
/// (with `/` separators, so the order is the same on every system).
///
/// # Errors
/// A directory that cannot be read.
pub fn list_text_files(dir: &Path) -> Result<Vec<(String, PathBuf)>, InputError> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let entries = std::fs::read_dir(&d)
            .map_err(|e| InputError::new(&d.display().to_string(), None, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| InputError::new(&d.display().to_string(), None, e))?;
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().to_string();
            if name.starts_with('.') {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else if is_text_file(&compression_of(&path).1) {
                let rel = path
                    .strip_prefix(dir)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((rel, path));
            }
        }
    }
    out.sort();
    Ok(out)
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
enum RawKind {
    Text {
        id: String,
        source: Option<String>,
        path: Arc<str>,
        bytes: Vec<u8>,
    },
    Json {
        path: Arc<str>,
        line: u64,
        bytes: Vec<u8>,
    },
    Csv {
        path: Arc<str>,
        line: u64,
        id: Option<String>,
        source: Option<String>,
        text: String,
        fields: Fields,
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
struct Carried<'a> {
    fields: Fields,
    held: Vec<(String, serde_json::Value)>,
    opts: &'a InputOptions,
}

impl<'a> Carried<'a> {
    fn new(opts: &'a InputOptions) -> Carried<'a> {
        Carried {
            fields: Fields::new(),
            held: Vec::new(),
            opts,
        }
    }

    fn carry(&mut self, key: String, value: serde_json::Value) {
        if RESERVED.contains(&key.as_str()) {
            self.held.push((key, value));
        } else {
            self.fields.insert(key, value);
        }
    }

    /// The fields, renamed ones last (see [`RESERVED`]).
    fn finish(mut self) -> Fields {
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

impl Raw {
    /// Decodes the record into a document.
    ///
    /// # Errors
    /// Invalid UTF-8, broken JSON, a record without the text field.
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
            } => {
                let text = String::from_utf8(bytes).map_err(|e| {
                    let at = e.utf8_error().valid_up_to();
                    let line = 1 + memchr::memchr_iter(b'\n', &e.as_bytes()[..at]).count() as u64;
                    InputError::new(&path, Some(line), format!("invalid UTF-8 at byte {at}"))
                })?;
                Document::new_keeping(id, &text, max_line).with_source(source)
            }
            RawKind::Json { path, line, bytes } => {
                let err = |m: String| InputError::new(&path, Some(line), m);
                let value: serde_json::Value = serde_json::from_slice(&bytes)
                    .map_err(|e| err(format!("invalid JSON: {e}")))?;
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
                let mut doc = Document::new_keeping(id, &text, max_line).with_source(source);
                doc.fields = fields;
                doc
            }
            RawKind::Csv {
                path,
                line,
                id,
                source,
                text,
                fields,
            } => {
                let id = id.unwrap_or_else(|| format!("{path}:{line}"));
                let mut doc = Document::new_keeping(id, &text, max_line).with_source(source);
                doc.fields = fields;
                doc
            }
        };
        Ok(doc)
    }
}

/// A source of raw records over all inputs, in order.
pub struct Reader {
    inputs: std::vec::IntoIter<InputSpec>,
    current: Option<Box<dyn Iterator<Item = Result<RawKindSized, InputError>> + Send>>,
    opts: InputOptions,
    position: u64,
}

type RawKindSized = (RawKind, usize);

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

    fn open(
        &self,
        spec: InputSpec,
    ) -> Box<dyn Iterator<Item = Result<RawKindSized, InputError>> + Send> {
        match spec {
            InputSpec::Dir(dir) => match list_text_files(&dir) {
                Err(e) => Box::new(std::iter::once(Err(e))),
                Ok(files) => Box::new(
                    files
                        .into_iter()
                        .map(|(rel, path)| read_text_file(rel, &path)),
                ),
            },
            InputSpec::TextFile(path) => {
                let rel = path
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_default();
                Box::new(std::iter::once(read_text_file(rel, &path)))
            }
            InputSpec::Jsonl(path) => {
                let name: Arc<str> = path.display().to_string().into();
                match open_decompressed(&path) {
                    Ok(r) => Box::new(JsonLines::new(
                        name,
                        Box::new(BufReader::with_capacity(1 << 20, r)),
                    )),
                    Err(e) => Box::new(std::iter::once(Err(InputError::new(&name, None, e)))),
                }
            }
            InputSpec::Stdin => Box::new(JsonLines::new(
                "<stdin>".into(),
                Box::new(BufReader::with_capacity(1 << 20, io::stdin())),
            )),
            InputSpec::Csv(path) => {
                let name: Arc<str> = path.display().to_string().into();
                match open_decompressed(&path) {
                    Ok(r) => match CsvRecords::new(name.clone(), r, &self.opts) {
                        Ok(it) => Box::new(it),
                        Err(e) => Box::new(std::iter::once(Err(e))),
                    },
                    Err(e) => Box::new(std::iter::once(Err(InputError::new(&name, None, e)))),
                }
            }
        }
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

fn read_text_file(rel: String, path: &Path) -> Result<RawKindSized, InputError> {
    let name: Arc<str> = path.display().to_string().into();
    let mut bytes = Vec::new();
    open_decompressed(path)
        .and_then(|mut r| r.read_to_end(&mut bytes))
        .map_err(|e| InputError::new(&name, None, e))?;
    let source = rel.rfind('/').map(|i| rel[..i].to_string());
    let size = bytes.len();
    Ok((
        RawKind::Text {
            id: rel,
            source,
            path: name,
            bytes,
        },
        size,
    ))
}

struct JsonLines {
    path: Arc<str>,
    reader: Box<dyn BufRead + Send>,
    line: u64,
    done: bool,
    /// Length of the last record read, plus one.
    last_len: usize,
}

impl JsonLines {
    fn new(path: Arc<str>, reader: Box<dyn BufRead + Send>) -> JsonLines {
        JsonLines {
            path,
            reader,
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
            match self.reader.read_until(b'\n', &mut buf) {
                Ok(0) => self.done = true,
                Ok(n) => {
                    self.last_len = n + 1;
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    return Some(Ok((
                        RawKind::Json {
                            path: self.path.clone(),
                            line: self.line,
                            bytes: buf,
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

struct CsvRecords {
    path: Arc<str>,
    opts: InputOptions,
    reader: csv::Reader<Box<dyn Read + Send>>,
    headers: Vec<String>,
    text_col: usize,
    id_col: Option<usize>,
    source_col: Option<usize>,
    record: csv::ByteRecord,
    done: bool,
}

impl CsvRecords {
    fn new(
        path: Arc<str>,
        r: Box<dyn Read + Send>,
        opts: &InputOptions,
    ) -> Result<CsvRecords, InputError> {
        let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(r);
        let headers: Vec<String> = reader
            .headers()
            .map_err(|e| InputError::new(&path, Some(1), format!("bad CSV header: {e}")))?
            .iter()
            .map(str::to_string)
            .collect();
        let col = |name: &str| headers.iter().position(|h| h == name);
        let text_col = col(&opts.text_field).ok_or_else(|| {
            InputError::new(
                &path,
                Some(1),
                format!("no `{}` column in the header", opts.text_field),
            )
        })?;
        Ok(CsvRecords {
            id_col: col(&opts.id_field),
            source_col: col(&opts.source_field),
            opts: opts.clone(),
            path,
            reader,
            headers,
            text_col,
            record: csv::ByteRecord::new(),
            done: false,
        })
    }
}

impl Iterator for CsvRecords {
    type Item = Result<RawKindSized, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.reader.read_byte_record(&mut self.record) {
            Ok(false) => {
                self.done = true;
                None
            }
            Err(e) => {
                let line = e.position().map(csv::Position::line);
                // After an I/O error the stream is gone; a malformed
                // record (wrong field count) can be skipped.
                if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
                    self.done = true;
                }
                Some(Err(InputError::new(
                    &self.path,
                    line,
                    format!("bad CSV record: {e}"),
                )))
            }
            Ok(true) => {
                let line = self.record.position().map_or(0, csv::Position::line);
                let size = self.record.as_slice().len();
                let mut fields = Carried::new(&self.opts);
                let mut text = String::new();
                let mut id = None;
                let mut source = None;
                for (i, raw) in self.record.iter().enumerate() {
                    let Ok(value) = std::str::from_utf8(raw) else {
                        return Some(Err(InputError::new(
                            &self.path,
                            Some(line),
                            format!("invalid UTF-8 in column `{}`", self.headers[i]),
                        )));
                    };
                    if i == self.text_col {
                        text = value.to_string();
                    } else if Some(i) == self.id_col {
                        id = Some(value.to_string());
                    } else if Some(i) == self.source_col {
                        // Empty is what textclean writes for no source.
                        source = (!value.is_empty()).then(|| value.to_string());
                    } else {
                        fields.carry(
                            self.headers[i].clone(),
                            serde_json::Value::String(value.to_string()),
                        );
                    }
                }
                let fields = fields.finish();
                Some(Ok((
                    RawKind::Csv {
                        path: self.path.clone(),
                        line,
                        id,
                        source,
                        text,
                        fields,
                    },
                    size,
                )))
            }
        }
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
        let mut gz =
            flate2::write::GzEncoder::new(File::create(&p).unwrap(), flate2::Compression::fast());
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
        let p = dir.path().join("x.parquet");
        std::fs::write(&p, "").unwrap();
        assert!(InputSpec::from_arg(p.to_str().unwrap()).is_err());
    }
}
