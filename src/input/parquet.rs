//! Parquet records: one document per row, read a batch of rows at a time
//! (the reader holds one row group's pages at most), so memory stays
//! bounded for any file size.
//!
//! The text, id and source columns are those `--text-field`, `--id-field`
//! and `--source-field` name; every other column is carried as a JSON
//! value (numbers, strings, booleans, lists as arrays, structs and maps as
//! objects, anything else as its display text). Errors name the file and
//! the 1-based row.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int16Type, Int32Type, Int64Type, Int8Type, UInt16Type, UInt32Type,
    UInt64Type, UInt8Type,
};
use arrow_array::{Array, RecordBatch};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use serde_json::Value;

use super::{Carried, InputError, InputOptions, RawKind, RawKindSized};

/// Rows decoded per batch: small enough to bound memory with long
/// documents, large enough that per-batch costs vanish.
const BATCH_ROWS: usize = 1024;

/// The rows of one Parquet file.
pub(crate) struct ParquetRecords {
    path: Arc<str>,
    reader: Option<ParquetRecordBatchReader>,
    batch: Option<RecordBatch>,
    /// Next row of `batch`.
    next: usize,
    /// Rows before `batch`.
    row: u64,
    opts: InputOptions,
}

impl ParquetRecords {
    /// Opens `path` (named `name` in messages).
    ///
    /// # Errors
    /// A file that cannot be opened, is not Parquet, or has no text column.
    pub(crate) fn new(
        name: Arc<str>,
        path: &Path,
        opts: &InputOptions,
    ) -> Result<ParquetRecords, InputError> {
        let err = |m: String| InputError::new(&name, None, m);
        let file = File::open(path).map_err(|e| err(e.to_string()))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)
            .map_err(|e| err(format!("not a readable Parquet file: {e}")))?;
        let schema = builder.schema().clone();
        match schema.field_with_name(&opts.text_field) {
            Err(_) => {
                return Err(err(format!(
                    "no `{}` column (columns: {})",
                    opts.text_field,
                    schema
                        .fields()
                        .iter()
                        .map(|f| f.name().as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
            Ok(f)
                if !matches!(
                    f.data_type(),
                    DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View
                ) =>
            {
                return Err(err(format!(
                    "column `{}` is {}, not a string",
                    opts.text_field,
                    f.data_type()
                )))
            }
            Ok(_) => {}
        }
        let reader = builder
            .with_batch_size(BATCH_ROWS)
            .build()
            .map_err(|e| err(format!("not a readable Parquet file: {e}")))?;
        Ok(ParquetRecords {
            path: name,
            reader: Some(reader),
            batch: None,
            next: 0,
            row: 0,
            opts: opts.clone(),
        })
    }

    fn record(&self, batch: &RecordBatch, i: usize) -> Result<RawKindSized, InputError> {
        let line = self.row + i as u64 + 1;
        let err = |m: String| InputError::new(&self.path, Some(line), m);
        let opts = &self.opts;
        let schema = batch.schema();
        let mut text = None;
        let mut id = None;
        let mut source = None;
        let mut fields = Carried::new(opts);
        for (f, col) in schema.fields().iter().zip(batch.columns()) {
            let k = f.name();
            let v = cell(col.as_ref(), i);
            if *k == opts.text_field {
                match v {
                    Value::String(s) => text = Some(s),
                    Value::Null => return Err(err(format!("column `{k}` is null"))),
                    _ => return Err(err(format!("column `{k}` is not a string"))),
                }
            } else if *k == opts.id_field && super::value_to_id(&v).is_some() {
                id = super::value_to_id(&v);
            } else if *k == opts.source_field && (v.is_string() || v.is_null()) {
                source = v.as_str().map(str::to_string);
            } else {
                fields.carry(k.clone(), v);
            }
        }
        let text = text.ok_or_else(|| err(format!("no `{}` column", opts.text_field)))?;
        let size = text.len();
        Ok((
            RawKind::Csv {
                path: self.path.clone(),
                line,
                id,
                source,
                text,
                fields: fields.finish(),
                detected: None,
            },
            size,
        ))
    }
}

impl Iterator for ParquetRecords {
    type Item = Result<RawKindSized, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(batch) = &self.batch {
                if self.next < batch.num_rows() {
                    let item = self.record(batch, self.next);
                    self.next += 1;
                    return Some(item);
                }
                self.row += batch.num_rows() as u64;
                self.batch = None;
            }
            match self.reader.as_mut()?.next()? {
                Ok(b) => {
                    self.batch = Some(b);
                    self.next = 0;
                }
                Err(e) => {
                    // The rest of the file cannot be trusted to decode.
                    self.reader = None;
                    return Some(Err(InputError::new(
                        &self.path,
                        Some(self.row + 1),
                        format!("unreadable Parquet data: {e}"),
                    )));
                }
            }
        }
    }
}

/// Row `i` of `a` as a JSON value.
fn cell(a: &dyn Array, i: usize) -> Value {
    if a.is_null(i) {
        return Value::Null;
    }
    macro_rules! num {
        ($t:ty) => {
            Value::from(a.as_primitive::<$t>().value(i))
        };
    }
    match a.data_type() {
        DataType::Utf8 => a.as_string::<i32>().value(i).into(),
        DataType::LargeUtf8 => a.as_string::<i64>().value(i).into(),
        DataType::Utf8View => a.as_string_view().value(i).into(),
        DataType::Boolean => a.as_boolean().value(i).into(),
        DataType::Int8 => num!(Int8Type),
        DataType::Int16 => num!(Int16Type),
        DataType::Int32 => num!(Int32Type),
        DataType::Int64 => num!(Int64Type),
        DataType::UInt8 => num!(UInt8Type),
        DataType::UInt16 => num!(UInt16Type),
        DataType::UInt32 => num!(UInt32Type),
        DataType::UInt64 => num!(UInt64Type),
        DataType::Float32 => num!(Float32Type),
        DataType::Float64 => num!(Float64Type),
        DataType::List(_) => {
            let l = a.as_list::<i32>().value(i);
            (0..l.len()).map(|j| cell(&l, j)).collect()
        }
        DataType::LargeList(_) => {
            let l = a.as_list::<i64>().value(i);
            (0..l.len()).map(|j| cell(&l, j)).collect()
        }
        DataType::Struct(fields) => {
            let s = a.as_struct();
            Value::Object(
                fields
                    .iter()
                    .zip(s.columns())
                    .map(|(f, c)| (f.name().clone(), cell(c.as_ref(), i)))
                    .collect(),
            )
        }
        // Dates, times, decimals, binary, maps, dictionaries: their
        // display text, as pandas prints them.
        _ => arrow_cast::display::ArrayFormatter::try_new(a, &Default::default())
            .map(|f| Value::String(f.value(i).to_string()))
            .unwrap_or(Value::Null),
    }
}
