//! CSV records: a header, then one document per record.
//!
//! The `csv` crate ends a quoted field silently at the end of the file, so
//! one stray quote swallowed every row after it. A [`QuoteScanner`]
//! between the file and the parser follows the quoting too: when the file
//! ends inside a quote, the last record (the one that swallowed the rest)
//! is an error naming the line where the quote opened. The scanner also
//! refuses a record longer than the line cap before the parser buffers it.

use std::io::{self, Read};
use std::sync::Arc;

use encoding_rs::Encoding;

use super::{Carried, InputError, InputOptions, RawKind, RawKindSized};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    /// At the start of a field.
    Start,
    /// In a field that did not start with a quote.
    Unquoted,
    /// Inside quotes.
    Quoted,
    /// A quote inside quotes: the end of the quoted part, or the first of
    /// a doubled quote.
    QuotedEnd,
}

/// Follows the quoting of the bytes the CSV parser reads (the same rules:
/// a quote opens a field only at its start, `""` inside quotes is a
/// quote).
pub(crate) struct QuoteScanner<R> {
    inner: R,
    delimiter: u8,
    cap: usize,
    state: Quoting,
    /// The 1-based line being read.
    line: u64,
    /// The line where the open quote (if `state` is inside one) opened.
    opened: u64,
    /// Bytes of the current record so far.
    record_bytes: usize,
    /// The line where the current record started.
    record_line: u64,
    eof: bool,
    /// The record over the cap, when the read was stopped for it.
    too_long: Option<u64>,
}

impl<R: Read> QuoteScanner<R> {
    pub(crate) fn new(inner: R, delimiter: u8, cap: usize) -> Self {
        QuoteScanner {
            inner,
            delimiter,
            cap,
            state: Quoting::Start,
            line: 1,
            opened: 0,
            record_bytes: 0,
            record_line: 1,
            eof: false,
            too_long: None,
        }
    }

    /// Follows `bytes`; `Err(k)` when byte `k` takes a record over the cap.
    fn scan(&mut self, bytes: &[u8]) -> Result<(), usize> {
        for (k, &b) in bytes.iter().enumerate() {
            let end_of_record = matches!(b, b'\n' | b'\r');
            if b == b'\n' {
                self.line += 1;
            }
            self.state = match self.state {
                Quoting::Quoted if b == b'"' => Quoting::QuotedEnd,
                Quoting::Quoted => Quoting::Quoted,
                Quoting::QuotedEnd if b == b'"' => Quoting::Quoted,
                Quoting::Start if b == b'"' => {
                    self.opened = self.line;
                    Quoting::Quoted
                }
                _ if b == self.delimiter => Quoting::Start,
                _ if end_of_record => {
                    self.record_bytes = 0;
                    self.record_line = self.line;
                    Quoting::Start
                }
                _ => Quoting::Unquoted,
            };
            if self.state != Quoting::Start || !end_of_record {
                self.record_bytes += 1;
                if self.record_bytes > self.cap {
                    self.too_long = Some(self.record_line);
                    return Err(k);
                }
            }
        }
        Ok(())
    }

    /// The line where a quote opened that the end of the file left open.
    fn open_at_eof(&self) -> Option<u64> {
        (self.eof && self.state == Quoting::Quoted).then_some(self.opened)
    }
}

impl<R: Read> Read for QuoteScanner<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.too_long.is_some() {
            return Err(io::Error::other(format!(
                "record longer than {} bytes (the line cap, --max-line-bytes)",
                self.cap
            )));
        }
        let n = self.inner.read(buf)?;
        if n == 0 {
            self.eof = true;
        }
        match self.scan(&buf[..n]) {
            Ok(()) => Ok(n),
            // The records before this one are handed over whole; the next
            // read fails.
            Err(0) => self.read(buf),
            Err(k) => Ok(k),
        }
    }
}

type Parser = csv::Reader<QuoteScanner<Box<dyn Read + Send>>>;

pub(crate) struct CsvRecords {
    path: Arc<str>,
    reader: Parser,
    encoding: &'static Encoding,
    /// The file's detected encoding, for its first record.
    detected: Option<&'static str>,
    headers: Vec<String>,
    text_col: usize,
    id_col: Option<usize>,
    source_col: Option<usize>,
    /// The field names, for renaming carried columns (see `Carried`).
    opts: InputOptions,
    record: csv::ByteRecord,
    /// A record read ahead (see [`CsvRecords::next`]).
    ahead: Option<csv::ByteRecord>,
    done: bool,
}

/// A hint for a header that did not split: the file may use another
/// delimiter.
fn delimiter_hint(header: &[u8], delimiter: u8) -> String {
    let count = |b: u8| header.iter().filter(|&&c| c == b).count();
    let mut options = Vec::new();
    for (b, name, flag) in [
        (b'\t', "tabs", "'\\t'"),
        (b';', "semicolons", "';'"),
        (b'|', "bars", "'|'"),
        (b',', "commas", "','"),
    ] {
        if b != delimiter && count(b) > 0 {
            options.push(format!("{name} (--delimiter {flag})"));
        }
    }
    if options.is_empty() {
        String::new()
    } else {
        format!(
            "; the header has no `{}` but has {}",
            char::from(delimiter).escape_default(),
            options.join(", ")
        )
    }
}

impl CsvRecords {
    pub(crate) fn new(
        path: Arc<str>,
        r: Box<dyn Read + Send>,
        encoding: &'static Encoding,
        detected: Option<&'static str>,
        opts: &InputOptions,
    ) -> Result<CsvRecords, InputError> {
        let scanner = QuoteScanner::new(r, opts.delimiter, opts.max_line_bytes);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(opts.delimiter)
            .flexible(false)
            .has_headers(false)
            .from_reader(scanner);
        let mut header = csv::ByteRecord::new();
        let header_err =
            |e: csv::Error| InputError::new(&path, Some(1), format!("bad CSV header: {e}"));
        if !reader.read_byte_record(&mut header).map_err(header_err)? {
            return Err(InputError::new(&path, Some(1), "empty CSV file: no header"));
        }
        let mut headers = Vec::with_capacity(header.len());
        for raw in &header {
            headers.push(decode_field(encoding, raw).ok_or_else(|| {
                InputError::new(
                    &path,
                    Some(1),
                    format!("the header is not valid {}", encoding.name()),
                )
            })?);
        }
        let col = |name: &str| headers.iter().position(|h| h == name);
        let text_col = col(&opts.text_field).ok_or_else(|| {
            let hint = if headers.len() == 1 {
                delimiter_hint(header.as_slice(), opts.delimiter)
            } else {
                String::new()
            };
            InputError::new(
                &path,
                Some(1),
                format!("no `{}` column in the header{hint}", opts.text_field),
            )
        })?;
        Ok(CsvRecords {
            id_col: col(&opts.id_field),
            source_col: col(&opts.source_field),
            opts: opts.clone(),
            path,
            reader,
            encoding,
            detected,
            headers,
            text_col,
            record: csv::ByteRecord::new(),
            ahead: None,
            done: false,
        })
    }

    fn error(&mut self, e: &csv::Error) -> InputError {
        if let Some(line) = self.reader.get_ref().too_long {
            self.done = true;
            return InputError::new(&self.path, Some(line), e);
        }
        let line = e.position().map(csv::Position::line);
        // After an I/O error the stream is gone; a malformed record (wrong
        // field count) can be skipped.
        if !matches!(e.kind(), csv::ErrorKind::UnequalLengths { .. }) {
            self.done = true;
        }
        InputError::new(&self.path, line, format!("bad CSV record: {e}"))
    }

    /// The next record into `self.record`: `Ok(false)` at the end.
    fn read(&mut self) -> Result<bool, InputError> {
        if let Some(ahead) = self.ahead.take() {
            self.record = ahead;
        } else {
            match self.reader.read_byte_record(&mut self.record) {
                Ok(true) => {}
                Ok(false) => return Ok(false),
                Err(e) => return Err(self.error(&e)),
            }
        }
        // When the file ended inside a quote, the record that holds the
        // open quote is the last one: it swallowed every row after it.
        // Only then is a record read ahead to find out whether this is it.
        if let Some(opened) = self.reader.get_ref().open_at_eof() {
            let mut next = csv::ByteRecord::new();
            match self.reader.read_byte_record(&mut next) {
                Ok(true) => self.ahead = Some(next),
                Ok(false) => {
                    self.done = true;
                    let start = self.record.position().map_or(opened, csv::Position::line);
                    return Err(InputError::new(
                        &self.path,
                        Some(opened),
                        format!(
                            "unterminated quote: the field opened on line {opened} (record of line {start}) runs to the end of the file"
                        ),
                    ));
                }
                Err(e) => {
                    // Report the record in hand; the error comes next.
                    self.ahead = None;
                    let err = self.error(&e);
                    self.done = true;
                    return Err(err);
                }
            }
        }
        Ok(true)
    }
}

fn decode_field(encoding: &'static Encoding, raw: &[u8]) -> Option<String> {
    if encoding == encoding_rs::UTF_8 {
        return std::str::from_utf8(raw).ok().map(str::to_string);
    }
    encoding
        .decode_without_bom_handling_and_without_replacement(raw)
        .map(std::borrow::Cow::into_owned)
}

impl Iterator for CsvRecords {
    type Item = Result<RawKindSized, InputError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.read() {
            Ok(false) => {
                self.done = true;
                return None;
            }
            Err(e) => return Some(Err(e)),
            Ok(true) => {}
        }
        let line = self.record.position().map_or(0, csv::Position::line);
        let size = self.record.as_slice().len();
        let mut fields = Carried::new(&self.opts);
        let mut text = String::new();
        let mut id = None;
        let mut source = None;
        for (i, raw) in self.record.iter().enumerate() {
            let Some(value) = decode_field(self.encoding, raw) else {
                return Some(Err(InputError::new(
                    &self.path,
                    Some(line),
                    format!(
                        "invalid {} in column `{}`",
                        self.encoding.name(),
                        self.headers[i]
                    ),
                )));
            };
            if i == self.text_col {
                text = value;
            } else if Some(i) == self.id_col {
                id = Some(value);
            } else if Some(i) == self.source_col {
                // Empty is what textclean writes for no source.
                source = (!value.is_empty()).then_some(value);
            } else {
                fields.carry(self.headers[i].clone(), serde_json::Value::String(value));
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
                detected: self.detected.take(),
            },
            size,
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(body: &[u8], delimiter: u8) -> Vec<Result<(u64, String), String>> {
        let opts = InputOptions {
            delimiter,
            ..InputOptions::default()
        };
        let it = match CsvRecords::new(
            "in.csv".into(),
            Box::new(io::Cursor::new(body.to_vec())),
            encoding_rs::UTF_8,
            None,
            &opts,
        ) {
            Ok(it) => it,
            Err(e) => return vec![Err(e.to_string())],
        };
        it.map(|r| match r {
            Ok((RawKind::Csv { line, text, .. }, _)) => Ok((line, text)),
            Ok(_) => unreachable!("CSV records only"),
            Err(e) => Err(e.to_string()),
        })
        .collect()
    }

    #[test]
    fn an_open_quote_at_the_end_names_its_line() {
        let got = records(
            b"id,text\na,\"Fine.\"\nb,\"Opens here\nc,Swallowed.\nd,Also.\n",
            b',',
        );
        assert_eq!(got[0], Ok((2, "Fine.".into())));
        assert_eq!(got.len(), 2, "{got:?}");
        let e = got[1].as_ref().unwrap_err();
        assert!(e.starts_with("in.csv:3: unterminated quote"), "{e}");
        // Quotes closed, doubled, or inside an unquoted field are fine.
        let got = records(
            b"id,text\na,\"Say \"\"hi\"\".\"\nb,5\" tall\nc,\"multi\nline\"\n",
            b',',
        );
        let texts: Vec<_> = got.into_iter().map(|r| r.unwrap().1).collect();
        assert_eq!(texts, ["Say \"hi\".", "5\" tall", "multi\nline"]);
    }

    #[test]
    fn delimiters_and_the_hint_for_a_header_that_did_not_split() {
        let tsv = b"id\ttext\nx\tA tab-separated row.\n";
        let e = records(tsv, b',');
        let e = e[0].as_ref().unwrap_err();
        assert!(
            e.contains("no `text` column") && e.contains("--delimiter '\\t'"),
            "{e}"
        );
        assert_eq!(
            records(tsv, b'\t')[0],
            Ok((2, "A tab-separated row.".into()))
        );
        let e = records(b"id;text\nx;Semi.\n", b',');
        assert!(e[0].as_ref().unwrap_err().contains("--delimiter ';'"));
    }

    #[test]
    fn a_record_over_the_cap_is_an_error_naming_its_line() {
        let opts = InputOptions {
            max_line_bytes: 16,
            ..InputOptions::default()
        };
        let body = b"id,text\na,short\nb,this record is far too long\n".to_vec();
        let got: Vec<_> = CsvRecords::new(
            "in.csv".into(),
            Box::new(io::Cursor::new(body)),
            encoding_rs::UTF_8,
            None,
            &opts,
        )
        .unwrap()
        .map(|r| r.map(|_| ()).map_err(|e| e.to_string()))
        .collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(
            got[1].as_ref().unwrap_err().starts_with("in.csv:3: "),
            "{got:?}"
        );
    }
}
