//! What a scan is told: format and CSV options from the program, and the
//! settings every chunk read of a run shares (chunk size, bad-record policy,
//! byte counters for progress).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use polars::prelude::DataType;

use super::Format;

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
    /// `names=[...]`: names for the first columns, in order (a headerless
    /// file's columns are otherwise `column_1`, `column_2`, ...).
    pub names: Vec<String>,
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
            names: Vec::new(),
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
    /// `filename=NAME`: a text column NAME holding each row's file path.
    pub filename: Option<String>,
    /// `hive=false`: `key=value` directories are not read as columns.
    pub no_hive: bool,
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
