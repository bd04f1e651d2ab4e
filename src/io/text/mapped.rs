//! A memory-mapped text file, cut into record-aligned byte ranges just
//! before they are parsed, its pages released once parsed.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use memmap2::Mmap;
use polars::prelude::*;

use super::csv_filtered::{Kept, Prefilter};
use super::records::{self, Dialect};
use crate::io::chunks::{ChunkJob, Part, ScanSummary};
use crate::io::reader::{next_random, Capabilities, FileReader, FileSample, ReadRequest};
use crate::io::{release_pages, CsvOptions, Error, Format, Result, StatsFilter};

/// A CSV, NDJSON or lines file read through a memory map.
pub(crate) struct MappedText {
    path: PathBuf,
    format: Format,
    csv: CsvOptions,
    schema: SchemaRef,
    /// `None` for an empty file (which cannot be mapped).
    map: Option<Arc<Mmap>>,
    /// Offset after the header.
    data_start: usize,
    /// What a filter pushed into the scan has kept of this file.
    kept: Kept,
}

impl MappedText {
    /// Maps the file and reads its schema (header and type inference).
    ///
    /// # Errors
    /// Read errors and undecodable headers.
    pub fn open(path: &Path, format: Format, csv: &CsvOptions) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
        let size = file.metadata().map_err(|e| Error::read(path, e))?.len();
        let map = if size == 0 {
            None
        } else {
            // SAFETY: the map is read-only; dq documents that input files must
            // not be modified while a pipeline reads them (as every mmap-based
            // reader requires).
            Some(Arc::new(unsafe { Mmap::map(&file) }.map_err(|e| Error::read(path, e))?))
        };
        let bytes: &[u8] = map.as_deref().map_or(&[], |m| &m[..]);
        let (schema, data_start) = super::read_schema(path, format, bytes, csv)?;
        Ok(MappedText {
            path: path.into(),
            format,
            csv: csv.clone(),
            schema: Arc::new(schema),
            map,
            data_start,
            kept: Kept::default(),
        })
    }

    fn bytes(&self) -> &[u8] {
        self.map.as_deref().map_or(&[], |m| &m[..])
    }

    fn dialect(&self) -> Dialect {
        super::dialect(self.format, &self.csv)
    }

    /// A range of whole records starting at the first record boundary after `at`.
    fn piece_at(&self, at: usize, piece: usize) -> Option<(usize, usize)> {
        let (map, d) = (self.bytes(), self.dialect());
        let n_fields = self.schema.len();
        let mut start =
            if at <= self.data_start { self.data_start } else { at + memchr::memchr(b'\n', &map[at..])? + 1 };
        for _ in 0..8 {
            if start >= map.len() {
                return None;
            }
            let end_at = (start + piece).min(map.len());
            let end = if end_at == map.len() {
                end_at
            } else {
                end_at + memchr::memchr(b'\n', &map[end_at..]).map_or(map.len() - end_at, |i| i + 1)
            };
            let ok = self.format != Format::Csv || records::check_field_counts(&map[start..end], n_fields, d).is_ok();
            if ok {
                return Some((start, end));
            }
            // Probably inside a quoted field: try the next line.
            start += memchr::memchr(b'\n', &map[start..])? + 1;
        }
        None
    }
}

impl FileReader for MappedText {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities { random_access: true, ..Default::default() }
    }

    fn plan(&self, chunk_size: usize, _filters: &[StatsFilter], summary: &mut ScanSummary) {
        // Cut lazily, just ahead of parsing (see `TextCutter`): planning
        // reads nothing, so the count is an estimate.
        let len = self.bytes().len().saturating_sub(self.data_start);
        if len > 0 {
            summary.tasks += len.div_ceil(chunk_size);
            summary.estimated = true;
        }
    }

    fn jobs<'a>(
        &'a self,
        file: usize,
        chunk_size: usize,
        _filters: &[StatsFilter],
        _disk_bytes: &Arc<AtomicU64>,
    ) -> Box<dyn Iterator<Item = Result<ChunkJob>> + 'a> {
        let mut cutter = TextCutter::new(self.data_start, chunk_size, self.dialect());
        let bytes = self.bytes();
        Box::new(std::iter::from_fn(move || cutter.next_range(bytes).map(|r| Ok(ChunkJob::bytes(file, r)))))
    }

    fn read(&self, job: &ChunkJob, request: &ReadRequest) -> Result<DataFrame> {
        let (Part::Bytes(start, end), Some(map)) = (&job.part, &self.map) else {
            return Err(Error::Unsupported { message: "internal: a text job that is not a byte range".into() });
        };
        let settings = request.settings;
        settings.bytes_read.fetch_add((end - start) as u64, Ordering::Relaxed);
        settings.disk_bytes.fetch_add((end - start) as u64, Ordering::Relaxed);
        let line = || records::line_of(map, *start);
        let bytes = &map[*start..*end];
        let prefilter = request.filter.map(|filter| Prefilter { filter, kept: &self.kept });
        let parsed = super::parse(
            self.format,
            &self.path,
            bytes,
            &self.schema,
            request.columns,
            &self.csv,
            settings,
            &line,
            prefilter,
        );
        release_pages(map, (*start, *end));
        parsed
    }

    fn sample(&self, file: usize, fraction: f64, piece: usize, rng: &mut u64) -> FileSample {
        let map = self.bytes();
        let len = map.len().saturating_sub(self.data_start);
        let want = ((len as f64) * fraction).ceil() as usize;
        if want >= len || len <= piece {
            let jobs = records::split_records(map, self.data_start, piece.max(1 << 20), self.dialect())
                .into_iter()
                .map(|r| ChunkJob::bytes(file, r))
                .collect();
            return FileSample { jobs, sampled: len as u64, total: len as u64, whole: true };
        }
        let k = want.div_ceil(piece).max(1);
        let stride = len / k;
        let (mut jobs, mut sampled) = (Vec::new(), 0u64);
        for i in 0..k {
            let jitter = if stride > piece { next_random(rng) as usize % (stride - piece) } else { 0 };
            if let Some(range) = self.piece_at(self.data_start + i * stride + jitter, piece) {
                sampled += (range.1 - range.0) as u64;
                jobs.push(ChunkJob::bytes(file, range));
            }
        }
        FileSample { jobs, sampled, total: len as u64, whole: false }
    }

    fn row_count(&self) -> (Option<u64>, bool) {
        let map = self.bytes();
        let len = map.len().saturating_sub(self.data_start);
        let sample = &map[self.data_start.min(map.len())..(self.data_start + (1 << 20)).min(map.len())];
        let lines = memchr::memchr_iter(b'\n', sample).count() as u64
            + u64::from(!sample.ends_with(b"\n") && !sample.is_empty());
        if sample.len() == len {
            (Some(lines), false)
        } else {
            (Some((lines as f64 * len as f64 / sample.len() as f64).round() as u64), true)
        }
    }
}

/// Cuts a mapped text file into ranges of about `target` bytes on record
/// boundaries, a region of [`CUT_AHEAD`] ranges at a time, just before they
/// are parsed (so a file larger than memory is read from disk once). A
/// region starts outside quotes, so the quote parity at each cut follows
/// from the quotes between the region's start and the cut.
struct TextCutter {
    pos: usize,
    target: usize,
    dialect: Dialect,
    ready: VecDeque<(usize, usize)>,
    /// Ranges the next region holds: one at first, doubling to
    /// [`CUT_AHEAD`], so a quick look (`head 2`) reads one chunk's bytes,
    /// not sixteen (282 MB of a 487 MB CSV were resident for two rows).
    ahead: usize,
}

/// The most ranges cut at once, just ahead of the scan's window. Cutting
/// reads a region's bytes (quote parity), and they stay resident until
/// parsed: 16 ranges held 256 MB of a CSV in memory ahead of the parse
/// (`scan | count` of the 487 MB h2o CSV: 528 -> 341 MB peak at 4, in the
/// same time; a memchr pass over 64 MB is a few milliseconds).
const CUT_AHEAD: usize = 4;

impl TextCutter {
    fn new(pos: usize, target: usize, dialect: Dialect) -> Self {
        TextCutter { pos, target: target.max(1), dialect, ready: VecDeque::new(), ahead: 1 }
    }

    fn next_range(&mut self, bytes: &[u8]) -> Option<(usize, usize)> {
        if self.ready.is_empty() && self.pos < bytes.len() {
            let ranges = records::split_region(bytes, self.pos, self.target, self.ahead, self.dialect);
            self.ahead = (self.ahead * 2).min(CUT_AHEAD);
            self.pos = ranges.last().map_or(bytes.len(), |r| r.1);
            self.ready.extend(ranges);
        }
        self.ready.pop_front()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_cutter_tiles_the_data_without_cutting_quoted_records() {
        let data = b"1,\"x\ny\nz\"\n2,\"p\"\n3,q\n4,\"\"\"a\"\"\n\"\n";
        let d = Dialect { delimiter: b',', quote: Some(b'"') };
        for target in 1..=data.len() + 1 {
            let mut cutter = TextCutter::new(0, target, d);
            let mut joined = Vec::new();
            while let Some((a, b)) = cutter.next_range(data) {
                assert!(b > a, "target {target}: empty range");
                let recs: Vec<_> = records::records(&data[a..b], d).collect();
                assert!(recs.iter().all(|r| r.fields.len() == 2), "target {target}: {:?}", &data[a..b]);
                joined.extend_from_slice(&data[a..b]);
            }
            assert_eq!(joined, data.to_vec(), "target {target}");
        }
    }
}
