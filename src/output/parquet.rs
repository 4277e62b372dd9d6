//! Parquet output.
//!
//! Workers render each document to a small framed record (length-prefixed
//! id, source, text, sentence spans and carried fields as JSON text, see
//! [`frame`]), as they render JSONL lines for other formats, so the
//! sequential writer only decodes frames into Arrow columns. Records are
//! buffered until about [`ROW_GROUP_TEXT`] bytes of text, then written as
//! one row group with zstd pages.
//!
//! Carried fields are typed over every record of the run ([`FieldKinds`],
//! gathered before the first row group is written: a look at every
//! document, or the plan of a sharded run): a field whose non-null values
//! are all booleans is `bool`, all integers `int64`, all numbers
//! `float64`, all strings `string`; any other field (objects, arrays,
//! mixed types, numbers beyond float64) is a `string` column of JSON text,
//! and a field that is null in every record is a `string` column of nulls.
//! So every record fits, and the schema is the same for any thread or
//! shard count.

use std::collections::VecDeque;
use std::io::{self, Write};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::Duration;

use arrow_array::builder::{
    BooleanBuilder, Float64Builder, Int64Builder, ListBuilder, StringBuilder,
};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowRowGroupWriterFactory};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression as PqCompression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{AtomicFile, OutputError, Unit};
use crate::document::Document;

/// Text bytes per row group: large enough that readers get long runs of
/// one column, small enough to bound the writer's memory.
pub const ROW_GROUP_TEXT: usize = 128 << 20;

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as u64).to_le_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// The layout a frame asks for: its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// One row per document or per sentence.
    pub unit: Unit,
    /// A `sentences` column (document unit).
    pub with_sentences: bool,
    /// Sentences as `[start, end]` pairs rather than strings.
    pub spans: bool,
}

impl Layout {
    fn byte(self) -> u8 {
        u8::from(self.unit == Unit::Sentence)
            | u8::from(self.with_sentences) << 1
            | u8::from(self.spans) << 2
    }

    fn of_byte(b: u8) -> Layout {
        Layout {
            unit: if b & 1 != 0 {
                Unit::Sentence
            } else {
                Unit::Doc
            },
            with_sentences: b & 2 != 0,
            spans: b & 4 != 0,
        }
    }
}

/// Appends the frame of one document: the layout byte, id, source (flag + string), text,
/// sentence spans (count, then start/end pairs; `u64::MAX` count for a
/// pipeline without sentences), carried fields (count, then key and JSON
/// text of each), skipping those `skip` says this output writes anew.
pub fn frame(layout: Layout, doc: &Document, skip: impl Fn(&str) -> bool, out: &mut Vec<u8>) {
    out.push(layout.byte());
    put_str(out, &doc.id);
    match &doc.source {
        Some(s) => {
            out.push(1);
            put_str(out, s);
        }
        None => out.push(0),
    }
    let view = doc.text_view();
    out.extend_from_slice(&(view.len() as u64).to_le_bytes());
    for piece in view.pieces(0..view.len()) {
        out.extend_from_slice(piece.as_bytes());
    }
    match doc.sentences() {
        Some(spans) => {
            out.extend_from_slice(&(spans.len() as u64).to_le_bytes());
            for r in spans {
                out.extend_from_slice(&(r.start as u64).to_le_bytes());
                out.extend_from_slice(&(r.end as u64).to_le_bytes());
            }
        }
        None => out.extend_from_slice(&u64::MAX.to_le_bytes()),
    }
    let fields: Vec<_> = doc.fields.iter().filter(|(k, _)| !skip(k)).collect();
    out.extend_from_slice(&(fields.len() as u64).to_le_bytes());
    for (k, v) in fields {
        put_str(out, k);
        put_str(out, &v.to_string());
    }
}

/// A decoded frame, borrowing the buffer.
struct Frame<'a> {
    layout: Layout,
    id: &'a str,
    source: Option<&'a str>,
    text: &'a str,
    spans: Option<Vec<(usize, usize)>>,
    fields: Vec<(&'a str, &'a str)>,
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn u64(&mut self) -> u64 {
        let (head, rest) = self.0.split_at(8);
        self.0 = rest;
        let mut b = [0u8; 8];
        b.copy_from_slice(head);
        u64::from_le_bytes(b)
    }
    fn str(&mut self) -> &'a str {
        let n = self.u64() as usize;
        let (head, rest) = self.0.split_at(n);
        self.0 = rest;
        // Frames are written by `frame` from `&str`s.
        std::str::from_utf8(head).unwrap_or_default()
    }
    fn byte(&mut self) -> u8 {
        let b = self.0[0];
        self.0 = &self.0[1..];
        b
    }
}

fn decode(bytes: &[u8]) -> Frame<'_> {
    let mut c = Cursor(bytes);
    let layout = Layout::of_byte(c.byte());
    let id = c.str();
    let source = (c.byte() == 1).then(|| c.str());
    let text = c.str();
    let n = c.u64();
    let spans = (n != u64::MAX).then(|| {
        (0..n)
            .map(|_| (c.u64() as usize, c.u64() as usize))
            .collect()
    });
    let nf = c.u64();
    let fields = (0..nf).map(|_| (c.str(), c.str())).collect();
    Frame {
        layout,
        id,
        source,
        text,
        spans,
        fields,
    }
}

/// The column type of a carried field.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Kind {
    Bool,
    Int,
    Float,
    Str,
    Json,
}

impl Kind {
    fn of(v: &Value) -> Option<Kind> {
        match v {
            Value::Null => None,
            Value::Bool(_) => Some(Kind::Bool),
            Value::Number(n) if n.as_i64().is_some() => Some(Kind::Int),
            // An integer beyond int64 would lose digits as float64, and a
            // number beyond float64 (`1e400`) is lost: kept whole as JSON text.
            Value::Number(n) if !n.to_string().contains(['.', 'e', 'E']) => Some(Kind::Json),
            Value::Number(n) if n.as_f64().is_some_and(f64::is_finite) => Some(Kind::Float),
            Value::Number(_) => Some(Kind::Json),
            Value::String(_) => Some(Kind::Str),
            _ => Some(Kind::Json),
        }
    }

    /// The kind of a column holding values of `self` and `other`.
    fn join(self, other: Kind) -> Kind {
        match (self, other) {
            (a, b) if a == b => a,
            (Kind::Int, Kind::Float) | (Kind::Float, Kind::Int) => Kind::Float,
            _ => Kind::Json,
        }
    }

    /// True when a value of kind `v` can be written in a column of `self`.
    fn fits(self, v: Kind) -> bool {
        self == v || self == Kind::Json || (self == Kind::Float && v == Kind::Int)
    }

    fn data_type(self) -> DataType {
        match self {
            Kind::Bool => DataType::Boolean,
            Kind::Int => DataType::Int64,
            Kind::Float => DataType::Float64,
            Kind::Str | Kind::Json => DataType::Utf8,
        }
    }
}

/// The carried fields of a run and the kind of their values, in order of
/// first appearance: the Parquet columns after `id`, `source`, `text` and
/// `sentences`. Observed in input order, so the same records give the same
/// columns.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldKinds(Vec<(String, Option<Kind>)>);

impl FieldKinds {
    /// Adds one record's carried fields.
    pub fn observe<'a>(&mut self, fields: impl IntoIterator<Item = (&'a String, &'a Value)>) {
        for (k, v) in fields {
            self.add(k, Kind::of(v));
        }
    }

    /// Adds the fields of the records that `later` saw, which come after
    /// those seen here: kinds join in any order, and columns keep the
    /// order of first appearance, so observing batches apart and merging
    /// them in input order gives what observing every record in turn does.
    pub fn merge(&mut self, later: &FieldKinds) {
        for (k, kind) in &later.0 {
            self.add(k, *kind);
        }
    }

    /// Leaves out the fields that `drop` names (those an output writes
    /// anew).
    pub fn without(&self, drop: impl Fn(&str) -> bool) -> FieldKinds {
        FieldKinds(self.0.iter().filter(|(k, _)| !drop(k)).cloned().collect())
    }

    fn add(&mut self, k: &String, kind: Option<Kind>) {
        match self.0.iter_mut().find(|(c, _)| c == k) {
            Some((_, col)) => {
                *col = match (*col, kind) {
                    (Some(a), Some(b)) => Some(a.join(b)),
                    (a, b) => a.or(b),
                }
            }
            None => self.0.push((k.clone(), kind)),
        }
    }

    /// The columns: a field that is null throughout is a string column.
    fn columns(&self) -> Vec<(String, Kind)> {
        self.0
            .iter()
            .map(|(k, kind)| (k.clone(), kind.unwrap_or(Kind::Str)))
            .collect()
    }
}

/// Writes framed documents to a Parquet file.
///
/// A full row group is encoded (Arrow arrays, then each leaf column's
/// pages and their zstd compression, the columns in parallel) as a job on
/// the run's pool while the writer buffers the next ones, so the one
/// sequential writer does not cap a many-threaded run at one core's
/// encoding speed. Up to one row group per four threads is encoded at
/// once (each holds its frames and its encoding in memory). Row groups are
/// appended in order, so the bytes do not depend on the thread count.
pub struct ParquetSink {
    file: Option<AtomicFile>,
    writer: Option<Open>,
    /// From the first frame; a file without documents has the document
    /// unit and no `sentences` column.
    layout: Option<Layout>,
    /// Carried columns and their kinds (see [`ParquetSink::set_columns`]).
    columns: Vec<(String, Kind)>,
    /// The row group's frames, each as rendered: kept apart, since
    /// gathering them into one buffer copied every byte and grew (and
    /// faulted in) a buffer of the row group's size by doubling.
    frames: Vec<Vec<u8>>,
    text_bytes: usize,
    row_group_text: usize,
    /// Where row groups are encoded; without one, on the calling thread.
    pool: Option<crate::par::Pool>,
    /// The row groups being encoded on the pool, oldest first.
    pending: VecDeque<Receiver<Encoded>>,
    /// Most row groups encoded at once.
    max_pending: usize,
    /// CPU time spent encoding on the pool's threads.
    encode_time: Duration,
}

/// The file once its schema is known (at the first row group).
struct Open {
    file: SerializedFileWriter<FileWrite>,
    factory: Arc<ArrowRowGroupWriterFactory>,
    schema: SchemaRef,
    groups: usize,
}

/// A row group's encoded column chunks, and the CPU time they took.
type Encoded = Result<(Vec<ArrowColumnChunk>, Duration), OutputError>;

/// One buffered row group, handed to an encoding job.
struct Group {
    frames: Vec<Vec<u8>>,
    layout: Layout,
    columns: Vec<(String, Kind)>,
    schema: SchemaRef,
    factory: Arc<ArrowRowGroupWriterFactory>,
    index: usize,
}

impl Group {
    /// Encodes the row group; its leaf columns in parallel when this runs
    /// on a pool.
    fn encode(self) -> Encoded {
        let t = crate::par::thread_cpu();
        let frames: Vec<Frame<'_>> = self.frames.iter().map(|f| decode(f)).collect();
        let arrays = match self.layout.unit {
            Unit::Doc => doc_arrays(self.layout, &frames, &self.columns),
            Unit::Sentence => sentence_arrays(&frames),
        };
        let batch = RecordBatch::try_new(self.schema.clone(), arrays)
            .map_err(|e| OutputError::Usage(format!("Parquet: {e}")))?;
        drop(frames);
        let mut leaves = Vec::new();
        for (field, column) in self.schema.fields().iter().zip(batch.columns()) {
            leaves.extend(compute_leaves(field, column).map_err(pq_err)?);
        }
        let writers = self
            .factory
            .create_column_writers(self.index)
            .map_err(pq_err)?;
        let mut time = crate::par::thread_cpu().saturating_sub(t);
        let encode_one = |(mut w, leaf): (parquet::arrow::arrow_writer::ArrowColumnWriter, _)| {
            let t = crate::par::thread_cpu();
            w.write(&leaf)?;
            let chunk = w.close()?;
            Ok((chunk, crate::par::thread_cpu().saturating_sub(t)))
        };
        let pairs: Vec<_> = writers.into_iter().zip(leaves).collect();
        let done: Result<Vec<(ArrowColumnChunk, Duration)>, parquet::errors::ParquetError> =
            crate::par::par_map_owned(pairs, encode_one)
                .into_iter()
                .collect();
        let mut chunks = Vec::new();
        for (chunk, t) in done.map_err(pq_err)? {
            chunks.push(chunk);
            time += t;
        }
        Ok((chunks, time))
    }
}

/// [`AtomicFile`] as a `Write`, for the Arrow writer.
struct FileWrite(AtomicFile);

impl Write for FileWrite {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .write_all(buf)
            .map(|()| buf.len())
            .map_err(io::Error::other)
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

fn pq_err(e: parquet::errors::ParquetError) -> OutputError {
    OutputError::Usage(format!("Parquet: {e}"))
}

impl ParquetSink {
    /// A sink writing into `file`.
    pub fn new(file: AtomicFile) -> ParquetSink {
        ParquetSink {
            file: Some(file),
            writer: None,
            layout: None,
            columns: Vec::new(),
            frames: Vec::new(),
            text_bytes: 0,
            row_group_text: ROW_GROUP_TEXT,
            pool: None,
            pending: VecDeque::new(),
            max_pending: 1,
            encode_time: Duration::ZERO,
        }
    }

    /// Encodes row groups on `pool` (the run's) while the next are
    /// buffered.
    pub fn set_pool(&mut self, pool: crate::par::Pool) {
        self.max_pending = (pool.threads() / 4).max(1);
        self.pool = Some(pool);
    }

    /// CPU time spent encoding on the pool's threads (not the caller's).
    pub fn encode_time(&self) -> Duration {
        self.encode_time
    }

    /// Sets the carried columns, typed over every record of the run;
    /// before the first write. Without it the file has no carried columns.
    pub fn set_columns(&mut self, kinds: &FieldKinds) {
        self.columns = kinds.columns();
    }

    /// Sets the text bytes per row group (tests use small ones).
    pub fn with_row_group_text(mut self, bytes: usize) -> ParquetSink {
        self.row_group_text = bytes.max(1);
        self
    }

    /// Buffers one framed document, writing a row group when enough text
    /// is buffered.
    ///
    /// # Errors
    /// A carried field that is not a column or does not fit its type: the
    /// columns were typed from other records than the run writes (a bug,
    /// or a frame from another run); write errors.
    pub fn write(&mut self, bytes: Vec<u8>) -> Result<(), OutputError> {
        let f = decode(&bytes);
        self.layout.get_or_insert(f.layout);
        for (k, v) in &f.fields {
            let value: Value = serde_json::from_str(v).unwrap_or(Value::Null);
            let Some(kind) = Kind::of(&value) else {
                continue;
            };
            let fits = self
                .columns
                .iter()
                .find(|(c, _)| c == k)
                .is_some_and(|(_, col)| col.fits(kind));
            if !fits {
                return Err(OutputError::Record {
                    id: f.id.to_string(),
                    message: format!(
                        "field `{k}` ({kind:?}) does not fit the Parquet columns, which were typed from other records"
                    ),
                });
            }
        }
        self.text_bytes += f.text.len();
        self.frames.push(bytes);
        if self.text_bytes >= self.row_group_text {
            self.flush_group()?;
        }
        Ok(())
    }

    fn layout(&self) -> Layout {
        self.layout.unwrap_or(Layout {
            unit: Unit::Doc,
            with_sentences: false,
            spans: false,
        })
    }

    fn schema(&self, cols: &[(String, Kind)]) -> SchemaRef {
        let layout = self.layout();
        let mut fields = match layout.unit {
            Unit::Doc => {
                let mut f = vec![
                    Field::new("id", DataType::Utf8, false),
                    Field::new("source", DataType::Utf8, true),
                    Field::new("text", DataType::Utf8, false),
                ];
                if layout.with_sentences {
                    let item = if layout.spans {
                        DataType::List(Arc::new(Field::new_list_field(DataType::Int64, true)))
                    } else {
                        DataType::Utf8
                    };
                    f.push(Field::new(
                        "sentences",
                        DataType::List(Arc::new(Field::new_list_field(item, true))),
                        true,
                    ));
                }
                f
            }
            Unit::Sentence => vec![
                Field::new("id", DataType::Utf8, false),
                Field::new("doc_id", DataType::Utf8, false),
                Field::new("index", DataType::Int64, false),
                Field::new("text", DataType::Utf8, false),
            ],
        };
        if layout.unit == Unit::Doc {
            fields.extend(
                cols.iter()
                    .map(|(k, kind)| Field::new(k, kind.data_type(), true)),
            );
        }
        Arc::new(Schema::new(fields))
    }

    /// Hands the buffered row group to an encoding job, after appending
    /// the oldest ones while too many are in flight.
    fn flush_group(&mut self) -> Result<(), OutputError> {
        let schema = self.schema(&self.columns);
        if self.writer.is_none() {
            self.open(schema.clone())?;
        }
        while self.pending.len() >= self.max_pending {
            self.collect()?;
        }
        let layout = self.layout();
        let Some(open) = self.writer.as_mut() else {
            return Ok(());
        };
        let group = Group {
            frames: std::mem::take(&mut self.frames),
            layout,
            columns: self.columns.clone(),
            schema: open.schema.clone(),
            factory: open.factory.clone(),
            index: open.groups,
        };
        open.groups += 1;
        self.text_bytes = 0;
        match &self.pool {
            Some(pool) => {
                let (tx, rx) = mpsc::channel();
                pool.spawn(move || {
                    // The sink is gone only when the run stopped early.
                    let _ = tx.send(group.encode());
                });
                self.pending.push_back(rx);
            }
            None => {
                let (chunks, _) = group.encode()?;
                Self::append(open, chunks)?;
            }
        }
        Ok(())
    }

    /// Waits for the oldest row group being encoded, and appends it.
    fn collect(&mut self) -> Result<(), OutputError> {
        let Some(rx) = self.pending.pop_front() else {
            return Ok(());
        };
        let (chunks, time) = rx.recv().map_err(|_| {
            OutputError::Usage("Parquet: a row group's encoding job did not finish".into())
        })??;
        self.encode_time += time;
        match self.writer.as_mut() {
            Some(open) => Self::append(open, chunks),
            None => Ok(()),
        }
    }

    fn append(open: &mut Open, chunks: Vec<ArrowColumnChunk>) -> Result<(), OutputError> {
        let mut rg = open.file.next_row_group().map_err(pq_err)?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut rg).map_err(pq_err)?;
        }
        rg.close().map_err(pq_err)?;
        Ok(())
    }

    fn open(&mut self, schema: SchemaRef) -> Result<(), OutputError> {
        let Some(file) = self.file.take() else {
            return Ok(());
        };
        // Dictionaries and statistics pay for short repeated values (ids,
        // sources), not for document text: off for the long columns.
        let mut props = WriterProperties::builder()
            .set_compression(PqCompression::ZSTD(ZstdLevel::default()))
            .set_max_row_group_size(usize::MAX);
        for col in ["text", "sentences"] {
            for path in [
                vec![col],
                vec![col, "list", "element"],
                vec![col, "list", "element", "list", "element"],
            ] {
                let p = ColumnPath::new(path.iter().map(|s| s.to_string()).collect());
                props = props
                    .set_column_dictionary_enabled(p.clone(), false)
                    .set_column_statistics_enabled(p, EnabledStatistics::None);
            }
        }
        // The Arrow writer converts the schema and records it in the
        // footer; its lower half takes column chunks encoded elsewhere.
        let (file, factory) =
            ArrowWriter::try_new(FileWrite(file), schema.clone(), Some(props.build()))
                .and_then(ArrowWriter::into_serialized_writer)
                .map_err(pq_err)?;
        self.writer = Some(Open {
            file,
            factory: Arc::new(factory),
            schema,
            groups: 0,
        });
        Ok(())
    }
}

fn doc_arrays(layout: Layout, frames: &[Frame<'_>], cols: &[(String, Kind)]) -> Vec<ArrayRef> {
    let text_len: usize = frames.iter().map(|f| f.text.len()).sum();
    let mut id = StringBuilder::new();
    let mut source = StringBuilder::new();
    let mut text = StringBuilder::with_capacity(frames.len(), text_len);
    for f in frames {
        id.append_value(f.id);
        source.append_option(f.source);
        text.append_value(f.text);
    }
    let mut out: Vec<ArrayRef> = vec![
        Arc::new(id.finish()),
        Arc::new(source.finish()),
        Arc::new(text.finish()),
    ];
    if layout.with_sentences {
        if layout.spans {
            let mut b = ListBuilder::new(ListBuilder::new(Int64Builder::new()));
            for f in frames {
                for &(s, e) in f.spans.iter().flatten() {
                    let pair = b.values();
                    pair.values().append_value(s as i64);
                    pair.values().append_value(e as i64);
                    pair.append(true);
                }
                b.append(f.spans.is_some());
            }
            out.push(Arc::new(b.finish()));
        } else {
            let mut b = ListBuilder::new(StringBuilder::with_capacity(0, text_len));
            for f in frames {
                for &(s, e) in f.spans.iter().flatten() {
                    b.values()
                        .append_value(f.text.get(s..e).unwrap_or_default());
                }
                b.append(f.spans.is_some());
            }
            out.push(Arc::new(b.finish()));
        }
    }
    for (k, kind) in cols {
        let values = frames.iter().map(|f| {
            f.fields
                .iter()
                .find(|(fk, _)| fk == k)
                .map(|(_, v)| (*v, serde_json::from_str::<Value>(v).unwrap_or(Value::Null)))
        });
        let arr: ArrayRef = match kind {
            Kind::Bool => {
                let mut b = BooleanBuilder::new();
                values.for_each(|v| b.append_option(v.and_then(|(_, v)| v.as_bool())));
                Arc::new(b.finish())
            }
            Kind::Int => {
                let mut b = Int64Builder::new();
                values.for_each(|v| b.append_option(v.and_then(|(_, v)| v.as_i64())));
                Arc::new(b.finish())
            }
            Kind::Float => {
                let mut b = Float64Builder::new();
                values.for_each(|v| b.append_option(v.and_then(|(_, v)| v.as_f64())));
                Arc::new(b.finish())
            }
            Kind::Str => {
                let mut b = StringBuilder::new();
                values.for_each(|v| {
                    b.append_option(v.and_then(|(_, v)| v.as_str().map(str::to_string)))
                });
                Arc::new(b.finish())
            }
            Kind::Json => {
                let mut b = StringBuilder::new();
                values.for_each(|v| {
                    b.append_option(v.filter(|(_, v)| !v.is_null()).map(|(raw, _)| raw))
                });
                Arc::new(b.finish())
            }
        };
        out.push(arr);
    }
    out
}

impl ParquetSink {
    /// Writes the buffered row group and the footer, and renames the file
    /// into place.
    ///
    /// # Errors
    /// Write, sync or rename errors.
    pub fn finish(&mut self) -> Result<(), OutputError> {
        if !self.frames.is_empty() || self.writer.is_none() {
            self.flush_group()?;
        }
        while !self.pending.is_empty() {
            self.collect()?;
        }
        let Some(open) = self.writer.take() else {
            return Ok(());
        };
        let FileWrite(file) = open.file.into_inner().map_err(pq_err)?;
        file.commit()
    }
}

fn sentence_arrays(frames: &[Frame<'_>]) -> Vec<ArrayRef> {
    let mut id = StringBuilder::new();
    let mut doc_id = StringBuilder::new();
    let mut index = Int64Builder::new();
    let mut text = StringBuilder::new();
    for f in frames {
        for (i, &(s, e)) in f.spans.iter().flatten().enumerate() {
            id.append_value(format!("{}:{i}", f.id));
            doc_id.append_value(f.id);
            index.append_value(i as i64);
            text.append_value(f.text.get(s..e).unwrap_or_default());
        }
    }
    vec![
        Arc::new(id.finish()),
        Arc::new(doc_id.finish()),
        Arc::new(index.finish()),
        Arc::new(text.finish()),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::cast::AsArray;
    use arrow_array::types::{Float64Type, Int64Type};
    use arrow_array::Array;
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn doc(id: &str, text: &str, fields: serde_json::Value) -> Document {
        let mut d = Document::new(id, text).with_source(Some("web".into()));
        if let Value::Object(m) = fields {
            d.fields = m;
        }
        d
    }

    fn write(
        docs: &[Document],
        layout: Layout,
        group: usize,
    ) -> (tempfile::TempDir, Vec<RecordBatch>, Vec<Result<(), String>>) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.parquet");
        let mut sink =
            ParquetSink::new(AtomicFile::create(&path).unwrap()).with_row_group_text(group);
        let mut kinds = FieldKinds::default();
        for d in docs {
            kinds.observe(&d.fields);
        }
        sink.set_columns(&kinds);
        let mut results = Vec::new();
        for d in docs {
            let mut bytes = Vec::new();
            frame(
                layout,
                d,
                |k| k == "sentences" && layout.with_sentences,
                &mut bytes,
            );
            results.push(sink.write(bytes.clone()).map_err(|e| e.to_string()));
        }
        sink.finish().unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let reader = ParquetRecordBatchReaderBuilder::try_new(file)
            .unwrap()
            .build()
            .unwrap();
        let batches = reader.map(|b| b.unwrap()).collect();
        (dir, batches, results)
    }

    const DOC: Layout = Layout {
        unit: Unit::Doc,
        with_sentences: true,
        spans: false,
    };

    #[test]
    fn documents_round_trip_with_typed_fields() {
        let mut a = doc(
            "a",
            "One. Two.",
            serde_json::json!({"n": 1, "x": 1.5, "ok": true, "tag": "t", "meta": {"k": [1]}}),
        );
        a.set_sentences(vec![0..4, 5..9]);
        let mut b = doc(
            "b",
            "Three.",
            serde_json::json!({"n": 2, "x": 2, "ok": null, "tag": "u", "meta": 3}),
        );
        b.set_sentences(std::iter::once(0..6).collect());
        let (_dir, batches, results) = write(&[a, b], DOC, usize::MAX);
        assert!(results.iter().all(Result::is_ok));
        let batch = arrow_select_concat(&batches);
        let schema = batch.schema();
        let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
        assert_eq!(
            names,
            [
                "id",
                "source",
                "text",
                "sentences",
                "n",
                "x",
                "ok",
                "tag",
                "meta"
            ]
        );
        assert_eq!(batch.num_rows(), 2);
        let col = |n: &str| batch.column_by_name(n).unwrap().clone();
        assert_eq!(col("text").as_string::<i32>().value(0), "One. Two.");
        let sents = col("sentences");
        let first = sents.as_list::<i32>().value(0);
        let first = first.as_string::<i32>();
        assert_eq!((first.value(0), first.value(1)), ("One.", "Two."));
        assert_eq!(col("n").as_primitive::<Int64Type>().value(1), 2);
        assert_eq!(col("x").data_type(), &DataType::Float64);
        assert_eq!(col("ok").data_type(), &DataType::Boolean);
        assert!(col("ok").is_null(1));
        assert_eq!(col("tag").as_string::<i32>().value(1), "u");
        let meta = col("meta");
        assert_eq!(meta.as_string::<i32>().value(0), r#"{"k":[1]}"#);
        assert_eq!(meta.as_string::<i32>().value(1), "3");
    }

    /// All batches of a small file are one row group here, or are checked
    /// one by one.
    fn arrow_select_concat(batches: &[RecordBatch]) -> RecordBatch {
        assert_eq!(batches.len(), 1);
        batches[0].clone()
    }

    #[test]
    fn columns_are_typed_over_every_record_not_the_first_row_group() {
        let docs = [
            doc(
                "a",
                "aaaa",
                serde_json::json!({"n": 1, "f": 1, "z": null, "u": u64::MAX}),
            ),
            doc("b", "bbbb", serde_json::json!({"n": 2, "f": 2.5})),
            doc("c", "cccc", serde_json::json!({"n": "three"})),
            doc("d", "dddd", serde_json::json!({"m": 4})),
            doc("e", "eeee", serde_json::json!({})),
        ];
        let layout = Layout {
            with_sentences: false,
            ..DOC
        };
        // A row group per document: each later group has the same columns.
        let (dir, batches, results) = write(&docs, layout, 1);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let file = std::fs::File::open(dir.path().join("x.parquet")).unwrap();
        let meta = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        assert_eq!(meta.metadata().num_row_groups(), 5);
        let b = arrow_select_concat(&batches);
        let col = |n: &str| b.column_by_name(n).unwrap().clone();
        // Integers and a string: JSON text, each value as it went in.
        assert_eq!(col("n").as_string::<i32>().value(0), "1");
        assert_eq!(col("n").as_string::<i32>().value(2), r#""three""#);
        assert_eq!(col("f").as_primitive::<Float64Type>().value(1), 2.5);
        assert_eq!(col("m").as_primitive::<Int64Type>().value(3), 4);
        assert!(col("m").is_null(0));
        assert_eq!(col("z").data_type(), &DataType::Utf8);
        // Beyond int64: whole, as JSON text, never rounded to float64.
        assert_eq!(col("u").as_string::<i32>().value(0), u64::MAX.to_string());
        // A frame whose field the columns do not hold is refused.
        let dir = tempfile::tempdir().unwrap();
        let mut sink = ParquetSink::new(AtomicFile::create(&dir.path().join("y.parquet")).unwrap());
        let mut bytes = Vec::new();
        frame(layout, &docs[3], |_| false, &mut bytes);
        let err = sink.write(bytes.clone()).unwrap_err().to_string();
        assert!(err.contains("field `m`"), "{err}");
    }

    #[test]
    fn row_groups_encoded_on_a_pool_give_the_same_bytes() {
        let docs: Vec<Document> = (0..9)
            .map(|i| {
                let mut d = doc(
                    &format!("d{i}"),
                    &format!("Sentence {i} of the text. And another one."),
                    serde_json::json!({"n": i, "tag": format!("t{i}")}),
                );
                d.set_sentences(vec![0..26, 27..43]);
                d
            })
            .collect();
        let mut kinds = FieldKinds::default();
        for d in &docs {
            kinds.observe(&d.fields);
        }
        let dir = tempfile::tempdir().unwrap();
        let bytes_with = |pool: Option<usize>, group: usize| {
            let path = dir.path().join(format!("{pool:?}-{group}.parquet"));
            let mut sink =
                ParquetSink::new(AtomicFile::create(&path).unwrap()).with_row_group_text(group);
            sink.set_columns(&kinds);
            if let Some(n) = pool {
                sink.set_pool(crate::par::Pool::with_threads(n).unwrap());
            }
            for d in &docs {
                let mut bytes = Vec::new();
                frame(DOC, d, |_| false, &mut bytes);
                sink.write(bytes.clone()).unwrap();
            }
            sink.finish().unwrap();
            assert!(pool.is_none() || sink.encode_time() > Duration::ZERO);
            std::fs::read(&path).unwrap()
        };
        // Three documents per row group: three groups, each encoded while
        // the next is buffered.
        let serial = bytes_with(None, 100);
        assert_eq!(bytes_with(Some(1), 100), serial);
        assert_eq!(bytes_with(Some(3), 100), serial);
        // Two row groups encoded at once.
        assert_eq!(bytes_with(Some(8), 100), serial);
        let file = std::fs::File::open(dir.path().join("None-100.parquet")).unwrap();
        let meta = ParquetRecordBatchReaderBuilder::try_new(file).unwrap();
        assert_eq!(meta.metadata().num_row_groups(), 3);
    }

    #[test]
    fn spans_and_sentence_rows() {
        let mut a = doc("a", "One. Two.", serde_json::json!({}));
        a.set_sentences(vec![0..4, 5..9]);
        let spans = Layout { spans: true, ..DOC };
        let (_dir, batches, _) = write(std::slice::from_ref(&a), spans, usize::MAX);
        let s = batches[0]
            .column_by_name("sentences")
            .unwrap()
            .as_list::<i32>()
            .value(0);
        let pair = s.as_list::<i32>().value(1);
        let pair = pair.as_primitive::<Int64Type>();
        assert_eq!((pair.value(0), pair.value(1)), (5, 9));
        let unit = Layout {
            unit: Unit::Sentence,
            ..DOC
        };
        let (_dir, batches, _) = write(&[a], unit, usize::MAX);
        let b = &batches[0];
        assert_eq!(b.num_rows(), 2);
        assert_eq!(
            b.column_by_name("id").unwrap().as_string::<i32>().value(1),
            "a:1"
        );
        assert_eq!(
            b.column_by_name("text")
                .unwrap()
                .as_string::<i32>()
                .value(1),
            "Two."
        );
    }
}
