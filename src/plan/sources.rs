//! What a scan reads, apart from the files opened to read it.
//!
//! The logical plan holds a [`ScanSpec`]: plain data (the files, their
//! format and options), enough for another engine on other machines to
//! read the same rows (`--workers`). The opened [`Source`]s (memory maps,
//! Parquet footers, a take-once stdin reader) stay beside the plan in a
//! [`Sources`] table, which `graph` receives to build local stages.
//! DataFusion draws the same line between a `TableSource` (planning) and a
//! `TableProvider` (execution).

use std::path::PathBuf;
use std::sync::Arc;

use crate::io::{self, Compression, CsvOptions, Format, Source};

/// Index of an opened source in its [`Sources`] table.
pub type SourceId = usize;

/// What one scan reads.
#[derive(Debug, Clone)]
pub struct ScanSpec {
    /// The opened source in the query's [`Sources`].
    pub id: SourceId,
    /// The path or glob as written.
    pub pattern: String,
    /// The format of every file.
    pub format: Format,
    /// Options of delimited text (unused for other formats).
    pub csv: CsvOptions,
    /// The files, in scan order.
    pub files: Vec<ScanFile>,
    /// Whether every file has exactly the scan's columns and types (a
    /// glob's files may differ; dq unifies them while reading).
    pub same_columns: bool,
    /// The `filename=` column, if asked for.
    pub filename: Option<String>,
    /// Columns read from `key=value` directories.
    pub partition_columns: Vec<String>,
}

/// One file of a scan.
#[derive(Debug, Clone)]
pub struct ScanFile {
    /// Absolute (made so from the working directory at planning), or `-`
    /// for standard input.
    pub path: PathBuf,
    /// Size on disk (compressed size for compressed files).
    pub bytes: u64,
    /// Stream compression.
    pub compression: Compression,
    /// The file's own column names, in file order (a glob's files may
    /// order or lack columns differently; a CSV file is read by position).
    pub columns: Vec<String>,
}

impl ScanSpec {
    /// Bytes of all files.
    pub fn total_bytes(&self) -> u64 {
        self.files.iter().map(|f| f.bytes).sum()
    }

    /// Whether the scan reads standard input.
    pub fn reads_stdin(&self) -> bool {
        self.files.iter().any(|f| io::is_stream(&f.path))
    }
}

/// The sources a query's scans read, opened once while planning.
#[derive(Debug, Default, Clone)]
pub struct Sources {
    opened: Vec<Arc<Source>>,
}

impl Sources {
    /// Keeps `source` and returns the spec that names it.
    pub fn add(&mut self, source: Source) -> ScanSpec {
        let files = source
            .files
            .iter()
            .map(|f| ScanFile {
                path: if io::is_stream(&f.path) {
                    f.path.clone()
                } else {
                    std::path::absolute(&f.path).unwrap_or_else(|_| f.path.clone())
                },
                bytes: f.size,
                compression: f.compression,
                columns: f.schema.iter_names().map(|n| n.to_string()).collect(),
            })
            .collect();
        let spec = ScanSpec {
            id: self.opened.len(),
            pattern: source.pattern.clone(),
            format: source.format,
            csv: source.csv.clone(),
            files,
            same_columns: source.files.iter().all(|f| f.schema == source.schema),
            filename: source.filename.clone(),
            partition_columns: source.partitions.columns.iter().map(|(n, _)| n.clone()).collect(),
        };
        self.opened.push(Arc::new(source));
        spec
    }

    /// Warnings about how every source was read ([`Source::warnings`]).
    pub fn warnings(&self) -> Vec<String> {
        self.opened.iter().flat_map(|s| s.warnings()).collect()
    }

    /// The opened source of `spec`. Specs come only from [`Sources::add`]
    /// on the table the plan was built with, so the index is always there.
    pub fn get(&self, spec: &ScanSpec) -> &Arc<Source> {
        &self.opened[spec.id]
    }
}
