//! Streamed text input: gzip/zstd files and stdin are read through a
//! decoder and cut into chunks at record boundaries as bytes arrive, so a
//! compressed file is never decompressed whole into memory.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use polars::prelude::Schema;

use super::records::{self, Dialect};
use super::{csv, ndjson};
use crate::io::{Compression, CsvOptions, Error, Format, Result};

/// Cuts a byte stream into chunks of whole records.
pub(crate) struct Chunker {
    reader: Box<dyn Read + Send>,
    path: PathBuf,
    pending: Vec<u8>,
    eof: bool,
    target: usize,
    dialect: Dialect,
    skip_header: bool,
    /// Line number of the first byte of `pending`.
    line: u64,
    /// Compressed bytes consumed by this chunker.
    counter: Arc<AtomicU64>,
    /// Where consumed bytes are reported too, and how many were reported.
    forward: Option<Arc<AtomicU64>>,
    forwarded: u64,
    /// Whether a decoder sits between the file and the bytes.
    compressed: bool,
}

/// Counts the bytes that pass through a reader.
struct Counting<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R: Read> Read for Counting<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.counter.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl Chunker {
    pub fn new(reader: Box<dyn Read + Send>, format: Format, csv_opts: &CsvOptions, target: usize) -> Self {
        let dialect = match format {
            Format::Csv => csv::dialect(csv_opts),
            _ => Dialect { delimiter: b'\n', quote: None },
        };
        Chunker {
            reader,
            path: PathBuf::from("-"),
            pending: Vec::new(),
            eof: false,
            target: target.max(1 << 16),
            dialect,
            skip_header: format == Format::Csv && csv_opts.header,
            line: 1,
            counter: Arc::new(AtomicU64::new(0)),
            forward: None,
            forwarded: 0,
            compressed: false,
        }
    }

    pub fn open_file(
        path: &Path,
        compression: Compression,
        format: Format,
        csv_opts: &CsvOptions,
        target: usize,
    ) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
        let counter = Arc::new(AtomicU64::new(0));
        let counted = Counting { inner: file, counter: counter.clone() };
        let buffered = std::io::BufReader::with_capacity(1 << 20, counted);
        let reader = crate::io::paths::decompressed(buffered, compression, path)?;
        let mut c = Chunker::new(reader, format, csv_opts, target);
        c.path = path.to_path_buf();
        c.counter = counter;
        c.compressed = compression != Compression::None;
        Ok(c)
    }

    /// Names the stream in error messages.
    pub fn named(mut self, path: &Path) -> Self {
        self.path = path.to_path_buf();
        self
    }

    /// Adds the compressed bytes this chunker consumes to `total` as well.
    pub fn counting(mut self, total: Arc<AtomicU64>) -> Self {
        self.forward = Some(total);
        self
    }

    fn fill(&mut self, want: usize) -> Result<()> {
        let mut buf = vec![0u8; 1 << 20];
        while !self.eof && self.pending.len() < want {
            let room = (want - self.pending.len()).min(buf.len());
            match self.reader.read(&mut buf[..room]) {
                Ok(0) => self.eof = true,
                Ok(n) => self.pending.extend_from_slice(&buf[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                // A decoder's complaint is about the data (corrupt or cut
                // short), not about reading the file: bad data, exit 3.
                Err(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::InvalidData
                            | std::io::ErrorKind::InvalidInput
                            | std::io::ErrorKind::UnexpectedEof
                    ) || e.kind() == std::io::ErrorKind::Other && self.compressed =>
                {
                    return Err(Error::decode(&self.path, format!("corrupt or truncated compressed data: {e}")))
                }
                Err(e) => return Err(Error::read(&self.path, e)),
            }
        }
        Ok(())
    }

    /// Infers the schema from the first few MiB, keeping them for the scan.
    pub fn infer_schema(&mut self, path: &Path, format: Format, csv_opts: &CsvOptions) -> Result<Schema> {
        self.fill(4 << 20)?;
        let cut = self.last_boundary().unwrap_or(self.pending.len());
        let sample = &self.pending[..cut];
        match format {
            Format::Csv => Ok(csv::read_schema(path, sample, csv_opts)?.0),
            Format::Lines => Ok(super::lines::schema()),
            _ => ndjson::infer_schema(path, sample),
        }
    }

    /// Offset after the last record end in `pending` (None if there is none).
    fn last_boundary(&self) -> Option<usize> {
        if self.eof {
            return Some(self.pending.len());
        }
        records::last_record_end(&self.pending, self.dialect)
    }

    /// The next chunk and the line number it starts at, or `None` at the end.
    pub fn next_chunk(&mut self) -> Result<Option<(Vec<u8>, u64)>> {
        self.fill(self.target)?;
        if self.skip_header {
            self.skip_header = false;
            let mut start = if self.pending.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
            while start < self.pending.len() && matches!(self.pending[start], b'\n' | b'\r') {
                start += 1;
            }
            let end = records::record_end(&self.pending, start, self.dialect);
            self.line += memchr::memchr_iter(b'\n', &self.pending[..end]).count() as u64;
            self.pending.drain(..end);
            self.fill(self.target)?;
        }
        if self.pending.is_empty() {
            return Ok(None);
        }
        let mut want = self.target;
        let cut = loop {
            match self.last_boundary() {
                Some(c) if c > 0 => break c,
                _ => {
                    // One record is longer than the target: read more.
                    want *= 2;
                    self.fill(want)?;
                }
            }
        };
        let rest = self.pending.split_off(cut);
        let chunk = std::mem::replace(&mut self.pending, rest);
        let first_line = self.line;
        self.line += memchr::memchr_iter(b'\n', &chunk).count() as u64;
        if let Some(total) = &self.forward {
            let now = self.counter.load(Ordering::Relaxed);
            total.fetch_add(now - self.forwarded, Ordering::Relaxed);
            self.forwarded = now;
        }
        Ok(Some((chunk, first_line)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_keep_quoted_newlines_together_and_skip_the_header() {
        let mut data = b"a,b\n".to_vec();
        for i in 0..50_000 {
            data.extend_from_slice(format!("{i},\"x\ny\"\n").as_bytes());
        }
        let opts = CsvOptions::default();
        let mut c = Chunker::new(Box::new(std::io::Cursor::new(data)), Format::Csv, &opts, 1);
        let mut rows = 0;
        let mut lines = vec![];
        while let Some((chunk, line)) = c.next_chunk().unwrap() {
            lines.push(line);
            rows += records::records(&chunk, csv::dialect(&opts)).inspect(|r| assert_eq!(r.fields.len(), 2)).count();
        }
        assert_eq!(rows, 50_000);
        assert_eq!(lines[0], 2);
        assert!(lines.len() > 1);
    }
}
