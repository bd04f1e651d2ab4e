//! Units of scan work and the iterator that yields them file by file.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use super::{Result, Source, StatsFilter};

/// Decoded text takes about this many times its bytes in memory (polars'
/// columns plus the parse's scratch), the figure admission under the
/// memory budget assumes for a text job.
pub const TEXT_EXPANSION: u64 = 3;

/// One unit of scan work: a part of one file.
pub struct ChunkJob {
    /// Index of the file in [`Source::files`].
    pub file: usize,
    /// Which part.
    pub part: Part,
    /// Bytes the job's frame takes in memory, when the reader knows it
    /// closely (fixed-width formats); `None` lets the scheduler assume a
    /// full chunk.
    pub memory: Option<u64>,
}

/// Which part of a file a job reads; the file's reader interprets it.
pub enum Part {
    /// A byte range `start..end` of a memory-mapped file, on record boundaries.
    Bytes(usize, usize),
    /// Decompressed bytes from a stream, on record boundaries, with the
    /// line number of their first byte (for error messages).
    Owned(Vec<u8>, u64),
    /// Rows `start..start + len` of a file with addressable rows.
    Rows(usize, usize),
}

impl ChunkJob {
    /// A byte range of a mapped text file.
    pub fn bytes(file: usize, (start, end): (usize, usize)) -> Self {
        ChunkJob { file, part: Part::Bytes(start, end), memory: Some((end - start) as u64 * TEXT_EXPANSION) }
    }

    /// Bytes read from a stream.
    pub fn owned(file: usize, bytes: Vec<u8>, first_line: u64) -> Self {
        let memory = Some(bytes.len() as u64 * TEXT_EXPANSION);
        ChunkJob { file, part: Part::Owned(bytes, first_line), memory }
    }

    /// Rows `start..start + len`; `memory` when the reader knows the size.
    pub fn rows(file: usize, (start, len): (usize, usize), memory: Option<u64>) -> Self {
        ChunkJob { file, part: Part::Rows(start, len), memory }
    }

    /// Bytes of text the job parses (`None` for row-addressed jobs).
    pub fn text_bytes(&self) -> Option<usize> {
        match &self.part {
            Part::Bytes(start, end) => Some(end - start),
            Part::Owned(bytes, _) => Some(bytes.len()),
            Part::Rows(..) => None,
        }
    }
}

/// What scan planning found, for `explain`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScanSummary {
    /// Jobs known up front (streams add theirs as they go).
    pub tasks: usize,
    /// Files streamed (compressed or stdin), whose chunk count is not known up front.
    pub streamed_files: usize,
    /// Parquet row groups in all files.
    pub row_groups: usize,
    /// Row groups ruled out by statistics.
    pub row_groups_pruned: usize,
    /// Files ruled out by their `key=value` directories.
    pub files_pruned: usize,
    /// Bytes on disk of all files.
    pub bytes: u64,
    /// Whether `tasks` is an estimate (text files are cut while reading).
    pub estimated: bool,
}

/// Bytes of text a row is assumed to take at most when a row limit sizes
/// the chunks (see [`Chunks::first_rows`]).
const PEEK_ROW_BYTES: usize = 1024;

/// The smallest chunk of text under a row limit.
const MIN_PEEK_BYTES: usize = 64 << 10;

/// Iterator over a source's chunk jobs, in file order, each file's jobs
/// made by its reader as the scan reaches them.
pub struct Chunks<'a> {
    source: &'a Source,
    next_file: usize,
    current: Option<Box<dyn Iterator<Item = Result<ChunkJob>> + 'a>>,
    chunk_size: usize,
    filters: Vec<StatsFilter>,
    disk_bytes: Arc<AtomicU64>,
    /// Rows the first job is cut to (see [`Chunks::first_rows`]).
    first_rows: Option<usize>,
    /// The chunk size of files whose jobs are not row ranges (text) under
    /// a row limit.
    peek_size: Option<usize>,
    /// The rest of a cut job, handed out next.
    rest: Option<ChunkJob>,
}

impl<'a> Chunks<'a> {
    pub(super) fn new(source: &'a Source, chunk_size: usize, filters: &[StatsFilter], disk: Arc<AtomicU64>) -> Self {
        Chunks {
            source,
            next_file: 0,
            current: None,
            chunk_size: chunk_size.max(1),
            filters: filters.to_vec(),
            disk_bytes: disk,
            first_rows: None,
            peek_size: None,
            rest: None,
        }
    }

    /// Cuts the first job to `rows` rows where its reader reads any range
    /// of rows (Parquet, `.npy`): `head 10` over Parquet then decodes ten
    /// rows of the first row group, not all of it (0.07 -> 0.03 s and 67 ->
    /// 36 MB over h2o's 330k-row groups).
    ///
    /// Text files, cut by bytes, are cut in chunks of about [`PEEK_ROW_BYTES`]
    /// a row instead (at most the chunk size): `dq head` of the 470 MB h2o
    /// CSV parsed a whole chunk for 10 rows (0.15-0.22 s, 76 MB).
    pub fn first_rows(mut self, rows: Option<usize>) -> Self {
        self.first_rows = rows.map(|r| r.max(1));
        // Never past the chunk size, which may be under the floor.
        self.peek_size = rows.map(|r| r.saturating_mul(PEEK_ROW_BYTES).max(MIN_PEEK_BYTES).min(self.chunk_size));
        self
    }

    /// `job`, or its first `first_rows` rows with the rest kept for next.
    fn cut(&mut self, job: ChunkJob) -> ChunkJob {
        let Some(rows) = self.first_rows.take() else { return job };
        let ranges = self.source.files.get(job.file).is_some_and(|f| f.reader.capabilities().row_ranges);
        match job.part {
            Part::Rows(start, len) if ranges && len > rows => {
                self.rest = Some(ChunkJob::rows(job.file, (start + rows, len - rows), None));
                ChunkJob::rows(job.file, (start, rows), None)
            }
            _ => job,
        }
    }
}

impl Iterator for Chunks<'_> {
    type Item = Result<ChunkJob>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(rest) = self.rest.take() {
            return Some(Ok(rest));
        }
        loop {
            if let Some(jobs) = &mut self.current {
                match jobs.next() {
                    Some(job) => return Some(job.map(|job| self.cut(job))),
                    None => self.current = None,
                }
            }
            let file = self.source.files.get(self.next_file)?;
            if !self.source.partitions.may_match(self.next_file, &self.filters) {
                self.next_file += 1;
                continue;
            }
            let reader = file.reader.as_ref();
            let size = match self.peek_size {
                Some(peek) if !reader.capabilities().row_ranges => peek,
                _ => self.chunk_size,
            };
            self.current = Some(reader.jobs(self.next_file, size, &self.filters, &self.disk_bytes));
            self.next_file += 1;
        }
    }
}
