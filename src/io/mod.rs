//! `io`: sources split into chunks, and sinks.
//!
//! Input: a path or glob plus [`ScanOptions`]. Output: an opened [`Source`]
//! (files, unified schema) whose [`Source::chunks`] yields [`ChunkJob`]s,
//! each turned into a polars `DataFrame` by [`Source::read_chunk`]. Every
//! format is one [`reader::FileReader`] in its own module:
//!
//! * [`text`]: CSV/TSV, NDJSON and plain lines, memory-mapped and cut at
//!   record boundaries (quote-aware), or streamed from `.gz` / `.zst` files
//!   and stdin and cut as they arrive.
//! * [`parquet`]: one job per row-group slice, after pruning row groups
//!   whose min/max statistics rule out a pushed-down predicate.
//! * [`npy`]: NumPy arrays, memory-mapped, one job per range of rows.
//! * [`ipc`]: Arrow IPC files, memory-mapped, one job per record batch.
//!
//! Sinks live in [`sink`]. This module decides nothing about what to compute.

mod chunks;
mod error;
pub mod hive;
mod ipc;
mod npy;
mod options;
mod parquet;
mod paths;
mod piped;
pub mod reader;
mod sample;
pub mod sink;
mod source;
pub mod text;
mod unify;

use polars::prelude::*;

pub use chunks::{ChunkJob, Chunks, Part, ScanSummary, TEXT_EXPANSION};
pub use error::{Error, Result};
pub use options::{BadRowPolicy, CsvOptions, ReadSettings, ScanOptions};
pub use parquet::{KeyDictionary, RowFilter, StatValue, StatsFilter, StatsOp, TopBound};
pub use paths::{format_of, is_stream, Compression};
pub use sample::{ColumnMeta, FileMeta, SampleBasis};
pub use source::{Source, SourceFile};

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
    /// A NumPy array (`.npy`): 1-D as one column, 2-D as one column per
    /// array column.
    Npy,
    /// An Arrow IPC file (`.arrow`, `.ipc`, `.feather`).
    Ipc,
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
pub(crate) fn release_pages(map: &memmap2::Mmap, (start, end): (usize, usize)) {
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
    use std::path::Path;

    #[test]
    fn format_follows_extension_through_compression() {
        assert_eq!(format_of(Path::new("a/b.csv.zst")).unwrap(), Format::Csv);
        assert_eq!(format_of(Path::new("x.PARQUET")).unwrap(), Format::Parquet);
        assert_eq!(format_of(Path::new("x.jsonl.gz")).unwrap(), Format::Ndjson);
        assert_eq!(format_of(Path::new("x.npy")).unwrap(), Format::Npy);
        assert_eq!(format_of(Path::new("x.feather")).unwrap(), Format::Ipc);
        assert!(format_of(Path::new("x.xlsx")).is_err());
    }

    #[test]
    fn missing_file_is_not_found() {
        assert!(matches!(paths::expand("/nonexistent/dq/x.csv"), Err(Error::NotFound { .. })));
        assert!(matches!(paths::expand("/nonexistent/dq/*.csv"), Err(Error::NotFound { .. })));
    }
}
