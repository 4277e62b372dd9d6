//! Byte streams under the readers: decompression recognised by magic
//! bytes, the byte-order mark, lines read under a length cap, and stdin
//! spooled to disk when it must be read twice.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// The first bytes of a gzip member.
const GZIP_MAGIC: [u8; 2] = [0x1f, 0x8b];
/// The first bytes of a zstd frame.
const ZSTD_MAGIC: [u8; 4] = [0x28, 0xb5, 0x2f, 0xfd];
/// The UTF-8 byte-order mark.
pub(crate) const UTF8_BOM: [u8; 3] = [0xef, 0xbb, 0xbf];

/// Buffer size of the readers: large reads keep decompression and line
/// splitting cheap.
pub(crate) const BUF_BYTES: usize = 1 << 20;

/// Opens a file, decompressing gzip or zstd as its first bytes say.
///
/// # Errors
/// The file cannot be opened or read, or the zstd header is bad.
pub fn open_decompressed(path: &Path) -> io::Result<Box<dyn Read + Send>> {
    decompressed(Box::new(File::open(path)?))
}

/// Bytes read from the inputs as they are stored: for a compressed file,
/// its compressed bytes, counted under the decoder. The progress bar sets
/// its position from it against the inputs' sizes on disk, so that its
/// ETA holds for `.gz` and `.zst` inputs too. Clones share one count.
#[derive(Debug, Clone, Default)]
pub struct ByteCounter(Arc<AtomicU64>);

impl ByteCounter {
    /// Bytes counted so far.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }

    /// Counts `n` more bytes.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }

    /// Starts again from zero (the next pass reads the inputs again).
    pub fn reset(&self) {
        self.0.store(0, Ordering::Relaxed);
    }
}

/// A reader that adds the bytes read through it to a [`ByteCounter`]. The
/// readers above it read in large blocks, so this is one atomic add per
/// block.
pub(crate) struct Counting<R> {
    inner: R,
    counter: ByteCounter,
}

impl<R> Counting<R> {
    pub(crate) fn new(inner: R, counter: &ByteCounter) -> Counting<R> {
        Counting {
            inner,
            counter: counter.clone(),
        }
    }
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.add(n as u64);
        Ok(n)
    }
}

/// Like [`open_decompressed`], counting the file's bytes as stored
/// (before decompression) into `counter`.
///
/// # Errors
/// As [`open_decompressed`].
pub fn open_counted(path: &Path, counter: &ByteCounter) -> io::Result<Box<dyn Read + Send>> {
    decompressed(Box::new(Counting::new(File::open(path)?, counter)))
}

/// Wraps `r` in a gzip or zstd decoder when its first bytes are that
/// format's magic number, whatever the stream is called: stdin, a pipe
/// from process substitution and a file without its extension are
/// recognised as well as `x.jsonl.gz`.
///
/// # Errors
/// Reading the first bytes fails, or the zstd header is bad.
pub fn decompressed(mut r: Box<dyn Read + Send>) -> io::Result<Box<dyn Read + Send>> {
    // Read, not peeked through a buffer: a pipe may hand over fewer bytes
    // than the magic number in one read.
    let mut head = [0u8; 4];
    let mut n = 0;
    while n < head.len() {
        match r.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let head = &head[..n];
    let is_gzip = head.starts_with(&GZIP_MAGIC);
    let is_zstd = head == ZSTD_MAGIC;
    let whole = io::Cursor::new(head.to_vec()).chain(r);
    Ok(if is_gzip {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(whole)))
    } else if is_zstd {
        Box::new(zstd::stream::read::Decoder::new(whole)?)
    } else {
        Box::new(whole)
    })
}

/// Skips a UTF-8 byte-order mark at the start of `r`: it is not text, and
/// before a JSON record or a CSV header it broke the first one.
///
/// # Errors
/// Reading fails.
pub(crate) fn skip_bom(r: &mut impl BufRead) -> io::Result<()> {
    if r.fill_buf()?.starts_with(&UTF8_BOM) {
        r.consume(UTF8_BOM.len());
    }
    Ok(())
}

/// What [`read_line_capped`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LineRead {
    /// The end of the stream.
    Eof,
    /// A line of this many bytes (newline included) is in the buffer.
    Line(usize),
    /// A line of this many bytes was longer than the cap: it was read
    /// through to its end and thrown away, so the next line can be read.
    TooLong(u64),
}

/// Reads one line (through `\n`) into `buf`, holding at most `cap` bytes
/// of it: a longer line is skipped to its end without being kept, so one
/// huge record (or `/dev/zero` read as text) costs at most `cap` bytes of
/// memory, not an out-of-memory kill.
///
/// # Errors
/// Reading fails.
pub(crate) fn read_line_capped(
    r: &mut impl BufRead,
    buf: &mut Vec<u8>,
    cap: usize,
) -> io::Result<LineRead> {
    let mut total = 0u64;
    let mut too_long = false;
    loop {
        let avail = match r.fill_buf() {
            Ok(b) => b,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if avail.is_empty() {
            break;
        }
        let (take, done) = match memchr::memchr(b'\n', avail) {
            Some(i) => (i + 1, true),
            None => (avail.len(), false),
        };
        total += take as u64;
        if !too_long {
            let content = buf.len() + take - usize::from(done);
            if content > cap {
                too_long = true;
                *buf = Vec::new();
            } else {
                buf.extend_from_slice(&avail[..take]);
            }
        }
        r.consume(take);
        if done {
            break;
        }
    }
    Ok(match (total, too_long) {
        (0, _) => LineRead::Eof,
        (n, true) => LineRead::TooLong(n),
        (n, false) => LineRead::Line(n as usize),
    })
}

/// Why [`read_capped`] stopped.
#[derive(Debug)]
pub(crate) enum CappedError {
    /// Reading failed.
    Io(io::Error),
    /// Line `line` (1-based) is longer than the cap.
    TooLong {
        /// The line.
        line: u64,
    },
}

/// Reads all of `r`, refusing a line longer than `cap` bytes as soon as it
/// is seen, so that a text "file" without line breaks (a device, a stream
/// that never ends a line) stops at the cap instead of filling memory.
pub(crate) fn read_capped(r: &mut dyn Read, cap: usize) -> Result<Vec<u8>, CappedError> {
    let mut bytes = Vec::new();
    let mut lines_before = 0u64;
    // Bytes of the current (unfinished) line.
    let mut run = 0usize;
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let n = match r.read(&mut chunk) {
            Ok(0) => return Ok(bytes),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(CappedError::Io(e)),
        };
        let part = &chunk[..n];
        let mut start = 0;
        for i in memchr::memchr_iter(b'\n', part) {
            if run + (i - start) > cap {
                return Err(CappedError::TooLong {
                    line: lines_before + 1,
                });
            }
            lines_before += 1;
            run = 0;
            start = i + 1;
        }
        run += n - start;
        if run > cap {
            return Err(CappedError::TooLong {
                line: lines_before + 1,
            });
        }
        bytes.extend_from_slice(part);
    }
}

/// A reader that fails on a line longer than `cap` bytes.
struct LineCapped<R> {
    inner: R,
    cap: usize,
    /// Bytes of the current line so far.
    run: usize,
    /// The 1-based line being read.
    line: u64,
}

impl<R: Read> Read for LineCapped<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut start = 0;
        for i in memchr::memchr_iter(b'\n', &buf[..n]) {
            self.run += i - start;
            if self.run > self.cap {
                break;
            }
            self.line += 1;
            self.run = 0;
            start = i + 1;
        }
        if self.run <= self.cap {
            self.run += n - start;
        }
        if self.run > self.cap {
            return Err(io::Error::other(format!(
                "line longer than {} bytes (the line cap, --max-line-bytes)",
                self.cap
            )));
        }
        Ok(n)
    }
}

/// Streams (stdin, pipes, `/dev/fd/N`) copied into a temporary directory
/// of the run's own, so that they can be read twice (pass 1 and pass 2).
/// The directory and the copies are removed when this is dropped, at the
/// end of the run.
#[derive(Debug)]
pub struct Spool {
    dir: tempfile::TempDir,
    // Removes the directory on SIGINT/SIGTERM too; dropped after `dir`
    // is, so the window where a signal finds it unregistered is empty.
    _live: crate::cleanup::Live,
}

impl Spool {
    /// Copies stdin (when `-` is among `inputs`) and every input that is a
    /// stream into a new temporary directory beside `near` (the run's
    /// output, so the copies go to the disk the output goes to), or in the
    /// system's temporary directory when `near` is `None`, and records in
    /// `opts` where each copy is. Bytes are copied as they came
    /// (compressed stays compressed). `None` when there is nothing to copy.
    ///
    /// # Errors
    /// The directory cannot be made or a copy fails.
    pub fn streams(
        inputs: &[super::InputSpec],
        opts: &mut super::InputOptions,
        near: Option<&Path>,
    ) -> io::Result<Option<Spool>> {
        let streams: Vec<PathBuf> = inputs
            .iter()
            .filter_map(|spec| match spec.path() {
                None => Some(PathBuf::from("-")),
                Some(p) if super::is_stream(p) => Some(p.to_path_buf()),
                Some(_) => None,
            })
            .collect();
        if streams.is_empty() {
            return Ok(None);
        }
        let mut builder = tempfile::Builder::new();
        builder.prefix(".textclean-run-");
        let dir = match near.and_then(Path::parent) {
            Some(p) if !p.as_os_str().is_empty() => builder.tempdir_in(p)?,
            _ => builder.tempdir()?,
        };
        let live = crate::cleanup::Live::register(dir.path());
        for (i, original) in streams.into_iter().enumerate() {
            if opts.spooled.contains_key(&original) {
                continue;
            }
            let copy = dir.path().join(format!("stream-{i}"));
            let mut file = io::BufWriter::new(File::create(&copy)?);
            let from: Box<dyn Read + Send> = if original.as_os_str() == "-" {
                Box::new(io::stdin())
            } else {
                Box::new(File::open(&original)?)
            };
            // Decompressed and under the line cap, so that a stream that
            // never ends a line (`/dev/zero`) stops at the cap instead of
            // filling the disk.
            let mut capped = LineCapped {
                inner: decompressed(from)?,
                cap: opts.max_line_bytes,
                run: 0,
                line: 1,
            };
            io::copy(&mut capped, &mut file).map_err(|e| {
                let name = if original.as_os_str() == "-" {
                    "stdin".to_string()
                } else {
                    original.display().to_string()
                };
                io::Error::new(e.kind(), format!("{name}:{}: {e}", capped.line))
            })?;
            file.flush()?;
            opts.spooled.insert(original, copy);
        }
        Ok(Some(Spool { dir, _live: live }))
    }

    /// The temporary directory that holds the copies.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn progress_counts_compressed_bytes_as_stored() {
        // Text that compresses well: the decoder hands out many more bytes
        // than it reads, and the count must follow what it reads.
        let text = "A line of text that repeats.\n".repeat(20_000);
        let dir = tempfile::tempdir().unwrap();
        let gz = dir.path().join("x.jsonl.gz");
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        enc.write_all(text.as_bytes()).unwrap();
        std::fs::write(&gz, enc.finish().unwrap()).unwrap();
        let zst = dir.path().join("x.jsonl.zst");
        std::fs::write(&zst, zstd::encode_all(text.as_bytes(), 3).unwrap()).unwrap();
        let plain = dir.path().join("x.jsonl");
        std::fs::write(&plain, &text).unwrap();
        for path in [&gz, &zst, &plain] {
            let counter = ByteCounter::default();
            let mut out = Vec::new();
            open_counted(path, &counter)
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, text.as_bytes(), "{}", path.display());
            let on_disk = std::fs::metadata(path).unwrap().len();
            assert_eq!(counter.get(), on_disk, "{}", path.display());
        }
        let counter = ByteCounter::default();
        counter.add(5);
        counter.clone().add(2);
        assert_eq!(counter.get(), 7, "clones share the count");
        counter.reset();
        assert_eq!(counter.get(), 0);
    }

    #[test]
    fn compression_is_recognised_by_magic_bytes() {
        let text = b"{\"text\":\"A.\"}\n";
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(text).unwrap();
        let gz = gz.finish().unwrap();
        let zst = zstd::encode_all(&text[..], 1).unwrap();
        for (name, bytes) in [("gzip", gz), ("zstd", zst), ("plain", text.to_vec())] {
            let mut out = Vec::new();
            decompressed(Box::new(io::Cursor::new(bytes)))
                .unwrap()
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, text, "{name}");
        }
        // Shorter than a magic number.
        let mut out = Vec::new();
        decompressed(Box::new(io::Cursor::new(b"x".to_vec())))
            .unwrap()
            .read_to_end(&mut out)
            .unwrap();
        assert_eq!(out, b"x");
    }

    #[test]
    fn capped_lines_skip_what_is_too_long_and_go_on() {
        let mut r = BufReader::with_capacity(4, &b"short\nthis one is long\nok\nlast"[..]);
        let mut buf = Vec::new();
        let mut got = Vec::new();
        loop {
            buf.clear();
            match read_line_capped(&mut r, &mut buf, 8).unwrap() {
                LineRead::Eof => break,
                LineRead::Line(_) => got.push(String::from_utf8(buf.clone()).unwrap()),
                LineRead::TooLong(n) => got.push(format!("<{n}>")),
            }
        }
        assert_eq!(got, ["short\n", "<17>", "ok\n", "last"]);
    }

    #[test]
    fn read_capped_names_the_long_line_and_stops() {
        let ok = read_capped(&mut &b"ab\ncd\n"[..], 2).unwrap();
        assert_eq!(ok, b"ab\ncd\n");
        let Err(CappedError::TooLong { line }) = read_capped(&mut &b"ab\ncde\nf"[..], 2) else {
            panic!("accepted a long line");
        };
        assert_eq!(line, 2);
        // An endless line stops at the cap.
        let Err(CappedError::TooLong { line }) = read_capped(&mut io::repeat(0), 1 << 20) else {
            panic!("read forever");
        };
        assert_eq!(line, 1);
    }
}
