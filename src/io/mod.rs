//! `io`: sources split into chunks, and sinks.
//!
//! Input: a path or glob plus [`ScanOptions`]. Output: an opened [`Source`]
//! (files, unified schema, Parquet metadata) whose [`Source::chunks`] yields
//! [`ChunkJob`]s, each turned into a polars `DataFrame` by
//! [`Source::read_chunk`]. Sinks live in [`sink`].
//!
//! * CSV/TSV and NDJSON files are memory-mapped and cut at record
//!   boundaries (quote-aware, see [`records`]).
//! * `.gz` / `.zst` files and stdin are decompressed as a stream and cut
//!   into chunks as they arrive ([`stream`]).
//! * Parquet files yield one job per row group, after pruning row groups
//!   whose min/max statistics rule out a pushed-down predicate.
//!
//! This module decides nothing about what to compute.

mod background_write;
mod csv;
mod csv_fast;
mod csv_sink;
mod error;
mod key_dictionary;
mod lines;
mod ndjson;
mod parquet;
mod parquet_sink;
pub mod records;
mod sample;
pub mod sink;
mod stream;
mod unify;

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use memmap2::Mmap;
use polars::prelude::*;

pub use error::{Error, Result};
pub use key_dictionary::KeyDictionary;
pub use parquet::{RowFilter, StatValue, StatsFilter, StatsOp};
pub use sample::{ColumnMeta, FileMeta, SampleBasis};

/// File formats dq reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Delimited text (CSV, TSV).
    Csv,
    /// Newline-delimited JSON.
    Ndjson,
    /// Apache Parquet.
    Parquet,
    /// Plain text, one string column `line` per line (`.txt`, `.log`).
    Lines,
}

/// Stream compression of a text file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// Plain, memory-mapped.
    None,
    /// `.gz`
    Gzip,
    /// `.zst`
    Zstd,
}

/// CSV reading options (`scan "x.csv" (delimiter=";", ...)`).
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// Field separator; `\t` for `.tsv` files.
    pub delimiter: u8,
    /// Whether the first record names the columns.
    pub header: bool,
    /// Quote byte, `None` to turn quoting off.
    pub quote: Option<u8>,
    /// Field values read as null (an empty field always is).
    pub null_values: Vec<String>,
    /// Column types that replace the inferred ones.
    pub schema_overrides: Vec<(String, DataType)>,
    /// How many records type inference looks at.
    pub infer_rows: usize,
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: b',',
            header: true,
            quote: Some(b'"'),
            null_values: Vec::new(),
            schema_overrides: Vec::new(),
            infer_rows: 10_000,
        }
    }
}

/// Options of one `scan`.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Format; by default from the file extension.
    pub format: Option<Format>,
    /// CSV options (ignored for other formats).
    pub csv: CsvOptions,
    /// Whether `delimiter=` was given (so `.tsv` does not override it).
    pub delimiter_set: bool,
}

/// What to do with a malformed CSV record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BadRowPolicy {
    /// Stop with an error naming file, line and column.
    #[default]
    Error,
    /// Leave the record out (and count it).
    Skip,
    /// Keep the record: missing or unparsable fields become null, extra fields are dropped.
    Null,
}

/// Settings for reading chunks, shared by all tasks of a run.
#[derive(Debug, Default)]
pub struct ReadSettings {
    /// Target bytes per text chunk.
    pub chunk_size: usize,
    /// Bad-record policy.
    pub bad_rows: BadRowPolicy,
    /// Records skipped or nulled under a non-error policy.
    pub bad_rows_seen: AtomicU64,
    /// Bytes handed to parsers so far.
    pub bytes_read: AtomicU64,
    /// Bytes of the files on disk consumed so far (compressed bytes for
    /// compressed input; Parquet row groups in proportion to their rows).
    pub disk_bytes: Arc<AtomicU64>,
}

impl ReadSettings {
    /// Settings with a chunk size and policy.
    pub fn new(chunk_size: usize, bad_rows: BadRowPolicy) -> Self {
        ReadSettings { chunk_size, bad_rows, ..Default::default() }
    }

    /// Counts disk bytes into a shared counter (for progress reports).
    pub fn with_disk_counter(mut self, counter: Arc<AtomicU64>) -> Self {
        self.disk_bytes = counter;
        self
    }

    /// Number of records skipped or nulled so far.
    pub fn bad_rows(&self) -> u64 {
        self.bad_rows_seen.load(Ordering::Relaxed)
    }
}

/// An opened source: its files and the schema they share.
pub struct Source {
    /// The path or glob as written.
    pub pattern: String,
    /// The format of every file.
    pub format: Format,
    /// CSV options used for every file.
    pub csv: CsvOptions,
    /// The files in glob order.
    pub files: Vec<SourceFile>,
    /// Columns of all files unified by name (first-seen order).
    pub schema: SchemaRef,
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Source").field("pattern", &self.pattern).field("files", &self.files.len()).finish()
    }
}

/// One input file.
pub struct SourceFile {
    /// Its path (`-` for stdin).
    pub path: PathBuf,
    /// Size on disk in bytes (compressed size for compressed files).
    pub size: u64,
    /// Stream compression.
    pub compression: Compression,
    /// The file's own columns, in file order.
    pub schema: SchemaRef,
    data: FileData,
}

enum FileData {
    /// Memory-mapped text; `data_start` is the offset after the header.
    Mapped { map: Option<Arc<Mmap>>, data_start: usize },
    /// Compressed text, decompressed afresh by each scan.
    Compressed,
    /// Standard input: the chunker (with the bytes read for inference) can be taken once.
    Stdin(Mutex<Option<stream::Chunker>>),
    /// Parquet with its footer.
    Parquet(parquet::Meta),
}

/// One unit of scan work.
pub enum ChunkJob {
    /// A byte range of a mapped text file.
    Bytes {
        /// Index of the file in [`Source::files`].
        file: usize,
        /// Byte range, on record boundaries.
        range: (usize, usize),
    },
    /// Decompressed bytes from a stream.
    Owned {
        /// Index of the file.
        file: usize,
        /// The bytes, on record boundaries.
        bytes: Vec<u8>,
        /// Line number of the first byte, for error messages.
        first_line: u64,
    },
    /// Rows of one Parquet row group.
    RowGroup {
        /// Index of the file.
        file: usize,
        /// First row (file-wide) and row count.
        rows: (usize, usize),
    },
}

impl ChunkJob {
    /// Bytes of text the job parses (None for Parquet row groups).
    pub fn text_bytes(&self) -> Option<usize> {
        match self {
            ChunkJob::Bytes { range, .. } => Some(range.1 - range.0),
            ChunkJob::Owned { bytes, .. } => Some(bytes.len()),
            ChunkJob::RowGroup { .. } => None,
        }
    }

    /// Index of the file the job reads, in [`Source::files`].
    pub fn file(&self) -> usize {
        match self {
            ChunkJob::Bytes { file, .. } | ChunkJob::Owned { file, .. } | ChunkJob::RowGroup { file, .. } => *file,
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
    /// Bytes on disk of all files.
    pub bytes: u64,
    /// Whether `tasks` is an estimate (text files are cut while reading).
    pub estimated: bool,
}

impl Source {
    /// Opens a path, a glob or `-` (stdin): finds the files, reads their
    /// schemas (header + type inference for text, footer for Parquet) and
    /// unifies columns by name.
    ///
    /// # Errors
    /// [`Error::NotFound`] when nothing matches; read and decode errors.
    pub fn open(pattern: &str, options: &ScanOptions) -> Result<Source> {
        Source::open_all(&[pattern.to_string()], options)
    }

    /// Opens several paths or globs as one source (files in argument order).
    ///
    /// # Errors
    /// As [`Source::open`], for the first pattern that fails.
    pub fn open_all(patterns: &[String], options: &ScanOptions) -> Result<Source> {
        let mut paths: Vec<PathBuf> = Vec::new();
        for p in patterns {
            for path in expand(p)? {
                if !paths.contains(&path) {
                    paths.push(path);
                }
            }
        }
        if paths.is_empty() {
            return Err(Error::NotFound { pattern: patterns.join(" ") });
        }
        let pattern = patterns.join(" ");
        let format = match options.format {
            Some(f) => f,
            None => format_of(&paths[0])?,
        };
        let mut csv = options.csv.clone();
        if !options.delimiter_set && paths.iter().all(|p| is_tsv(p)) {
            csv.delimiter = b'\t';
        }
        let files = paths.iter().map(|p| open_file(p, format, &csv)).collect::<Result<Vec<_>>>()?;
        let schema = unify::unify_schemas(files.iter().map(|f| f.schema.as_ref()));
        Ok(Source { pattern, format, csv, files, schema: Arc::new(schema) })
    }

    /// Plans the scan: the jobs known up front (byte ranges, row groups) and
    /// the streamed files, after pruning row groups with `filters`.
    pub fn plan(&self, chunk_size: usize, filters: &[StatsFilter]) -> (Vec<PlannedTask>, ScanSummary) {
        let mut tasks = Vec::new();
        let mut summary = ScanSummary::default();
        for (i, file) in self.files.iter().enumerate() {
            summary.bytes += file.size;
            match &file.data {
                FileData::Mapped { map: Some(map), data_start } => {
                    // Cut lazily, just ahead of parsing (see `Chunks`): planning
                    // reads nothing, so the count is an estimate.
                    let len = map.len() - data_start;
                    if len > 0 {
                        summary.tasks += len.div_ceil(chunk_size.max(1));
                        summary.estimated = true;
                        tasks.push(PlannedTask::Text(i));
                    }
                }
                FileData::Mapped { map: None, .. } => {}
                FileData::Compressed | FileData::Stdin(_) => {
                    summary.streamed_files += 1;
                    tasks.push(PlannedTask::Stream(i));
                }
                FileData::Parquet(meta) => {
                    let (groups, total, pruned) = meta.plan(filters, chunk_rows(chunk_size));
                    summary.row_groups += total;
                    summary.row_groups_pruned += pruned;
                    tasks.extend(groups.into_iter().map(|rows| PlannedTask::Job(ChunkJob::RowGroup { file: i, rows })));
                }
            }
        }
        summary.tasks += tasks.iter().filter(|t| matches!(t, PlannedTask::Job(_))).count();
        (tasks, summary)
    }

    /// An iterator over all chunk jobs in file order, expanding streams as it goes.
    pub fn chunks<'a>(&'a self, settings: &'a ReadSettings, filters: &[StatsFilter]) -> Chunks<'a> {
        let (tasks, _) = self.plan(settings.chunk_size, filters);
        Chunks {
            source: self,
            tasks: tasks.into(),
            stream: None,
            text: None,
            chunk_size: settings.chunk_size,
            disk_bytes: settings.disk_bytes.clone(),
        }
    }

    /// Reads one job into a frame with the `projection` columns (all when
    /// `None`), conformed to the unified schema.
    ///
    /// # Errors
    /// Malformed records (under [`BadRowPolicy::Error`]) and decode errors.
    /// A `filter` (the filter pushed into the scan, which still runs after
    /// it) lets a Parquet reader skip decoding rows it drops. A string
    /// column named in `dictionaries` may come back as that dictionary's
    /// ids (`UInt32`, see [`KeyDictionary`]) where the file allows.
    pub fn read_chunk(
        &self,
        job: &ChunkJob,
        projection: Option<&[String]>,
        filter: Option<&RowFilter>,
        dictionaries: &[(String, Arc<KeyDictionary>)],
        settings: &ReadSettings,
    ) -> Result<DataFrame> {
        let file = &self.files[job.file()];
        let wanted: Vec<String> = match projection {
            Some(cols) => cols.to_vec(),
            None => self.schema.iter_names().map(|n| n.to_string()).collect(),
        };
        // Only ask the reader for columns this file has; the rest become nulls.
        let present: Vec<String> = wanted.iter().filter(|c| file.schema.contains(c)).cloned().collect();
        let mut coded: Vec<Series> = Vec::new();
        let df = match (job, &file.data) {
            (ChunkJob::Bytes { range, .. }, FileData::Mapped { map: Some(map), .. }) => {
                settings.bytes_read.fetch_add((range.1 - range.0) as u64, Ordering::Relaxed);
                settings.disk_bytes.fetch_add((range.1 - range.0) as u64, Ordering::Relaxed);
                let bytes = &map[range.0..range.1];
                let line = || records::line_of(map, range.0);
                let parsed = self.parse_text(file, bytes, &present, settings, &line);
                release_pages(map, *range);
                parsed?
            }
            (ChunkJob::Owned { bytes, first_line, .. }, _) => {
                settings.bytes_read.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                self.parse_text(file, bytes, &present, settings, &|| *first_line)?
            }
            (ChunkJob::RowGroup { rows, .. }, FileData::Parquet(meta)) => {
                let share = (file.size as f64 * rows.1 as f64 / meta.num_rows().max(1) as f64) as u64;
                settings.disk_bytes.fetch_add(share, Ordering::Relaxed);
                // Only when the filter's columns are read from this file with
                // the unified types (it runs before the file's columns are
                // conformed).
                let usable = |f: &&RowFilter| {
                    f.columns.iter().all(|c| present.contains(c) && file.schema.get(c) == self.schema.get(c))
                };
                for (name, dict) in dictionaries {
                    let string = |s: &Schema| s.get(name) == Some(&DataType::String);
                    if present.contains(name) && string(&file.schema) && string(&self.schema) {
                        coded.extend(parquet::read_codes(&file.path, meta, *rows, name, dict)?);
                    }
                }
                let rest: Vec<String> =
                    present.iter().filter(|c| !coded.iter().any(|s| s.name() == c.as_str())).cloned().collect();
                // The prefiltered read would keep fewer rows than the codes.
                let filter = if coded.is_empty() { filter.filter(usable) } else { None };
                let mut df = parquet::read_rows(&file.path, meta, *rows, &rest, filter, &settings.bytes_read)?;
                for ids in &coded {
                    settings.bytes_read.fetch_add(ids.estimated_size() as u64, Ordering::Relaxed);
                    df.with_column(ids.clone()).map_err(|e| Error::decode(&file.path, e))?;
                }
                df
            }
            _ => return Err(Error::Unsupported { message: "internal: chunk job does not fit its file".into() }),
        };
        if coded.is_empty() {
            return unify::conform(df, &wanted, &self.schema).map_err(|e| Error::decode(&file.path, e));
        }
        let mut schema = self.schema.as_ref().clone();
        for ids in &coded {
            schema.with_column(ids.name().clone(), DataType::UInt32);
        }
        unify::conform(df, &wanted, &schema).map_err(|e| Error::decode(&file.path, e))
    }

    fn parse_text(
        &self,
        file: &SourceFile,
        bytes: &[u8],
        columns: &[String],
        settings: &ReadSettings,
        first_line: &dyn Fn() -> u64,
    ) -> Result<DataFrame> {
        match self.format {
            Format::Csv => csv::parse_chunk(&file.path, bytes, &file.schema, columns, &self.csv, settings, first_line),
            Format::Ndjson => ndjson::parse_chunk(&file.path, bytes, &file.schema, columns, settings, first_line),
            Format::Lines => Ok(lines::parse_chunk(bytes, columns)),
            Format::Parquet => Err(Error::Unsupported { message: "internal: parquet bytes parsed as text".into() }),
        }
    }

    /// Total bytes of all files (compressed sizes for compressed files).
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.size).sum()
    }
}

/// A job known up front, or a file to stream.
pub enum PlannedTask {
    /// Ready to read.
    Job(ChunkJob),
    /// A compressed file or stdin, index into [`Source::files`].
    Stream(usize),
    /// A memory-mapped text file, cut into record-aligned ranges as it is read.
    Text(usize),
}

/// Cuts a mapped text file into ranges of about `target` bytes on record
/// boundaries, a region of [`CUT_AHEAD`] ranges at a time, just before they
/// are parsed (so a file larger than memory is read from disk once). A
/// region starts outside quotes, so the quote parity at each cut follows
/// from the quotes between the region's start and the cut.
struct TextCutter {
    file: usize,
    pos: usize,
    target: usize,
    dialect: records::Dialect,
    ready: VecDeque<(usize, usize)>,
}

/// Ranges cut at once: the region just ahead of the scan's window, its
/// quote parity counted in parallel.
const CUT_AHEAD: usize = 16;

impl TextCutter {
    fn new(file: usize, pos: usize, target: usize, dialect: records::Dialect) -> Self {
        TextCutter { file, pos, target, dialect, ready: VecDeque::new() }
    }

    fn next_range(&mut self, bytes: &[u8]) -> Option<(usize, usize)> {
        if self.ready.is_empty() {
            let ranges = records::split_region(bytes, self.pos, self.target, CUT_AHEAD, self.dialect);
            self.pos = ranges.last().map_or(bytes.len(), |r| r.1);
            self.ready.extend(ranges);
        }
        self.ready.pop_front()
    }
}

/// Iterator over a source's chunk jobs, in file order.
pub struct Chunks<'a> {
    source: &'a Source,
    tasks: VecDeque<PlannedTask>,
    stream: Option<(usize, stream::Chunker)>,
    text: Option<TextCutter>,
    chunk_size: usize,
    disk_bytes: Arc<AtomicU64>,
}

impl Iterator for Chunks<'_> {
    type Item = Result<ChunkJob>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(cutter) = &mut self.text {
                let file = cutter.file;
                if let FileData::Mapped { map: Some(map), .. } = &self.source.files[file].data {
                    if let Some(range) = cutter.next_range(map) {
                        return Some(Ok(ChunkJob::Bytes { file, range }));
                    }
                }
                self.text = None;
                continue;
            }
            if let Some((file, chunker)) = &mut self.stream {
                match chunker.next_chunk() {
                    Ok(Some((bytes, first_line))) => {
                        return Some(Ok(ChunkJob::Owned { file: *file, bytes, first_line }))
                    }
                    Ok(None) => self.stream = None,
                    Err(e) => {
                        self.stream = None;
                        return Some(Err(e));
                    }
                }
                continue;
            }
            match self.tasks.pop_front()? {
                PlannedTask::Job(job) => return Some(Ok(job)),
                PlannedTask::Text(i) => {
                    if let FileData::Mapped { data_start, .. } = &self.source.files[i].data {
                        let dialect = match self.source.format {
                            Format::Csv => csv::dialect(&self.source.csv),
                            _ => records::Dialect { delimiter: b'\n', quote: None },
                        };
                        self.text = Some(TextCutter::new(i, *data_start, self.chunk_size.max(1), dialect));
                    }
                }
                PlannedTask::Stream(i) => {
                    let file = &self.source.files[i];
                    let chunker = match &file.data {
                        FileData::Stdin(slot) => match slot.lock().ok().and_then(|mut s| s.take()) {
                            Some(c) => Ok(c),
                            None => Err(Error::Unsupported {
                                message: "standard input can be scanned only once per program".into(),
                            }),
                        },
                        _ => stream::Chunker::open_file(
                            &file.path,
                            file.compression,
                            self.source.format,
                            &self.source.csv,
                            self.chunk_size,
                        )
                        .map(|c| c.counting(self.disk_bytes.clone())),
                    };
                    match chunker {
                        Ok(c) => self.stream = Some((i, c)),
                        Err(e) => return Some(Err(e)),
                    }
                }
            }
        }
    }
}

/// Rows per Parquet slice so that a slice holds roughly `chunk_size` bytes
/// of decoded data (assuming ~64 bytes a row); very large row groups are
/// sliced so both cores get work.
fn chunk_rows(chunk_size: usize) -> usize {
    // No large floor: under a small memory budget the chunk size shrinks,
    // and Parquet chunks must shrink with it (adjacent row groups are no
    // longer merged into one chunk the budget cannot hold).
    (chunk_size / 64).max(1024)
}

fn expand(pattern: &str) -> Result<Vec<PathBuf>> {
    if pattern == "-" {
        return Ok(vec![PathBuf::from("-")]);
    }
    let has_glob = pattern.contains(['*', '?', '[']);
    if !has_glob {
        let p = PathBuf::from(pattern);
        return match std::fs::metadata(&p) {
            // A FIFO, /dev/stdin or a `<(...)` path is read as a stream.
            Ok(m) if !m.is_dir() => Ok(vec![p]),
            Ok(_) => Err(Error::Unsupported {
                message: format!("`{pattern}` is a directory; scan a glob such as \"{pattern}/*.csv\""),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NotFound { pattern: pattern.into() }),
            Err(e) => Err(Error::read(p, e)),
        };
    }
    let entries =
        glob::glob(pattern).map_err(|e| Error::Unsupported { message: format!("bad glob `{pattern}`: {e}") })?;
    let mut paths = Vec::new();
    for entry in entries {
        match entry {
            Ok(p) if p.is_file() => paths.push(p),
            Ok(_) => {}
            Err(e) => return Err(Error::read(e.path().to_path_buf(), std::io::Error::other(e.to_string()))),
        }
    }
    paths.sort();
    if paths.is_empty() {
        return Err(Error::NotFound { pattern: pattern.into() });
    }
    Ok(paths)
}

fn strip_compression(path: &Path) -> (String, Compression) {
    let name = path.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
    if let Some(stem) = name.strip_suffix(".gz") {
        (stem.to_string(), Compression::Gzip)
    } else if let Some(stem) = name.strip_suffix(".zst") {
        (stem.to_string(), Compression::Zstd)
    } else {
        (name, Compression::None)
    }
}

fn is_tsv(path: &Path) -> bool {
    let (name, _) = strip_compression(path);
    name.ends_with(".tsv") || name.ends_with(".tab")
}

/// The format a file name implies.
///
/// # Errors
/// [`Error::Unsupported`] for an unknown extension.
pub fn format_of(path: &Path) -> Result<Format> {
    if path.as_os_str() == "-" {
        return Ok(Format::Csv);
    }
    let (name, _) = strip_compression(path);
    let ext = if name.contains('.') { name.rsplit('.').next().unwrap_or("") } else { "" };
    match ext {
        // A stream without a telling name (/dev/stdin, `<(...)`) is CSV, like `-`.
        "" if is_stream(path) || path.starts_with("/dev") || path.starts_with("/proc") => Ok(Format::Csv),
        "csv" | "tsv" | "tab" => Ok(Format::Csv),
        "txt" | "log" | "text" => Ok(Format::Lines),
        "ndjson" | "jsonl" | "json" => Ok(Format::Ndjson),
        "parquet" | "pq" => Ok(Format::Parquet),
        _ => Err(Error::Unsupported {
            message: format!(
                "cannot tell the format of {} from its extension; add (format=csv|ndjson|parquet) to the scan",
                path.display()
            ),
        }),
    }
}

/// Whether `path` is stdin (`-`) or an existing file that is not a regular
/// file (a FIFO, a character device, `/dev/fd/N` of a pipe): read once, as
/// a stream.
pub fn is_stream(path: &Path) -> bool {
    path.as_os_str() == "-" || std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir())
}

fn open_file(path: &Path, format: Format, csv: &CsvOptions) -> Result<SourceFile> {
    let (_, compression) = strip_compression(path);
    if is_stream(path) {
        let reader: Box<dyn std::io::Read + Send> = if path.as_os_str() == "-" {
            Box::new(std::io::stdin())
        } else {
            Box::new(std::fs::File::open(path).map_err(|e| Error::read(path, e))?)
        };
        if format == Format::Parquet {
            return Err(Error::Unsupported {
                message: format!("{} is a stream; Parquet needs a file it can seek in", path.display()),
            });
        }
        let mut chunker = stream::Chunker::new(reader, format, csv, 16 << 20).named(path);
        let schema = chunker.infer_schema(path, format, csv)?;
        return Ok(SourceFile {
            path: path.to_path_buf(),
            size: 0,
            compression: Compression::None,
            schema: Arc::new(schema),
            data: FileData::Stdin(Mutex::new(Some(chunker))),
        });
    }
    let file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
    let size = file.metadata().map_err(|e| Error::read(path, e))?.len();
    if format == Format::Parquet {
        let meta = parquet::Meta::read(path, file)?;
        let schema = meta.schema.clone();
        return Ok(SourceFile { path: path.into(), size, compression, schema, data: FileData::Parquet(meta) });
    }
    if compression != Compression::None {
        let mut chunker = stream::Chunker::open_file(path, compression, format, csv, 4 << 20)?;
        let schema = chunker.infer_schema(path, format, csv)?;
        return Ok(SourceFile {
            path: path.into(),
            size,
            compression,
            schema: Arc::new(schema),
            data: FileData::Compressed,
        });
    }
    let map = if size == 0 {
        None
    } else {
        // SAFETY: the map is read-only; dq documents that input files must
        // not be modified while a pipeline reads them (as every mmap-based
        // reader requires).
        Some(Arc::new(unsafe { Mmap::map(&file) }.map_err(|e| Error::read(path, e))?))
    };
    let bytes: &[u8] = map.as_deref().map_or(&[], |m| &m[..]);
    let (schema, data_start) = match format {
        Format::Csv => csv::read_schema(path, bytes, csv)?,
        Format::Lines => (lines::schema(), 0),
        _ => (ndjson::infer_schema(path, bytes)?, 0),
    };
    Ok(SourceFile {
        path: path.into(),
        size,
        compression,
        schema: Arc::new(schema),
        data: FileData::Mapped { map, data_start },
    })
}

/// dq's name for a polars type (`int`, `float`, `str`, ...), as in messages and table headers.
pub fn type_name(dtype: &DataType) -> String {
    match dtype {
        d if d.is_integer() => "int".into(),
        d if d.is_float() => "float".into(),
        DataType::Boolean => "bool".into(),
        DataType::Date => "date".into(),
        DataType::Datetime(..) => "datetime".into(),
        DataType::String => "str".into(),
        other => other.to_string(),
    }
}

/// Drops the whole pages inside `range` from this process's memory once a
/// chunk is parsed: they stay in the page cache, but no longer count as
/// dq's resident memory, so a scan's RSS does not grow with the file.
fn release_pages(map: &Mmap, (start, end): (usize, usize)) {
    const PAGE: usize = 4096;
    let first = start.div_ceil(PAGE) * PAGE;
    let last = end / PAGE * PAGE;
    if last > first {
        // SAFETY: the map is a read-only shared mapping of a file; MADV_DONTNEED
        // only unmaps the pages, and any later read faults the same bytes back
        // in from the file. No reference into the range is used after this.
        let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, first, last - first) };
    }
}

/// A frame with no columns and `height` rows (what a scan that needs no
/// columns, such as `count`, produces).
pub(crate) fn height_only(height: usize) -> DataFrame {
    // SAFETY: with no columns there is no column length to disagree with `height`.
    unsafe { DataFrame::new_no_checks(height, Vec::new()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_follows_extension_through_compression() {
        assert_eq!(format_of(Path::new("a/b.csv.zst")).unwrap(), Format::Csv);
        assert_eq!(format_of(Path::new("x.PARQUET")).unwrap(), Format::Parquet);
        assert_eq!(format_of(Path::new("x.jsonl.gz")).unwrap(), Format::Ndjson);
        assert!(format_of(Path::new("x.xlsx")).is_err());
    }

    #[test]
    fn text_cutter_tiles_the_data_without_cutting_quoted_records() {
        let data = b"1,\"x\ny\nz\"\n2,\"p\"\n3,q\n4,\"\"\"a\"\"\n\"\n";
        let d = records::Dialect { delimiter: b',', quote: Some(b'"') };
        for target in 1..=data.len() + 1 {
            let mut cutter = TextCutter::new(0, 0, target, d);
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

    #[test]
    fn missing_file_is_not_found() {
        assert!(matches!(expand("/nonexistent/dq/x.csv"), Err(Error::NotFound { .. })));
        assert!(matches!(expand("/nonexistent/dq/*.csv"), Err(Error::NotFound { .. })));
    }
}
