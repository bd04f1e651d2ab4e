//! The one interface every input format implements.
//!
//! A [`FileReader`] is one opened file: it knows its columns, cuts itself
//! into [`ChunkJob`]s (pruning what statistics rule out), reads a job into a
//! frame with only the asked-for columns, samples itself for `profile`, and
//! says what it can do ([`Capabilities`]). [`super::Source`] holds one per
//! file and does the format-independent rest: globs, schema unification,
//! conforming each chunk to the unified schema. Modelled on Polars'
//! `FileReader` (polars-stream `reader_interface`) and DataFusion's
//! `FileFormat`: adding a format is one new reader, with no match arms
//! elsewhere.

use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use polars::prelude::*;

use super::chunks::{ChunkJob, ScanSummary};
use super::{KeyDictionary, ReadSettings, Result, RowFilter, StatsFilter};

/// What a reader can do beyond reading its jobs in order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Capabilities {
    /// Min/max statistics rule out jobs for a pushed-down predicate.
    pub prunes_by_statistics: bool,
    /// A pushed-down [`RowFilter`] skips decoding rows it drops.
    pub filters_rows: bool,
    /// String columns can be read as [`KeyDictionary`] ids.
    pub dictionary_codes: bool,
    /// Any part can be read without what precedes it, so `profile
    /// --sample` reads pieces spread over the file (otherwise it reads the
    /// file whole).
    pub random_access: bool,
    /// Row counts are exact without reading the data (a footer or header says).
    pub exact_row_count: bool,
    /// A [`Part::Rows`](super::chunks::Part::Rows) job may be any range of
    /// rows (not a batch number), so a job can be cut in two.
    pub row_ranges: bool,
}

/// What a read asks of a reader besides the job.
pub struct ReadRequest<'a> {
    /// Columns to read, all present in the file.
    pub columns: &'a [String],
    /// The pushed-down filter, when its columns have the same types in this
    /// file as in the unified schema (it still runs after the read).
    pub filter: Option<&'a RowFilter>,
    /// String key columns the reader may return as dictionary ids (`UInt32`)
    /// where the file allows it.
    pub dictionaries: &'a [(String, Arc<KeyDictionary>)],
    /// Counters and policies of the run.
    pub settings: &'a ReadSettings,
}

/// What `profile --sample` read of one file, for extrapolating.
pub struct FileSample {
    /// The jobs covering the sample.
    pub jobs: Vec<ChunkJob>,
    /// Units (bytes, or rows for row-addressed formats) the sample spans.
    pub sampled: u64,
    /// Units of data in the whole file.
    pub total: u64,
    /// Whether the file is read whole.
    pub whole: bool,
}

/// Null count, minimum and maximum of a column from file metadata alone.
pub type ColumnSummary = (Option<u64>, Option<String>, Option<String>);

/// One opened input file of some format.
pub trait FileReader: Send + Sync {
    /// The file's columns, in file order.
    fn schema(&self) -> &SchemaRef;

    /// What the reader can do.
    fn capabilities(&self) -> Capabilities;

    /// Counts this file's jobs into `summary` (for `explain`), after pruning
    /// with `filters`. Reads no data.
    fn plan(&self, chunk_size: usize, filters: &[StatsFilter], summary: &mut ScanSummary);

    /// This file's jobs in order. Readers that cut as they go (text, streams)
    /// do so lazily, just ahead of parsing. `file` is the file's index in
    /// its source; `disk_bytes` counts bytes consumed from disk.
    fn jobs<'a>(
        &'a self,
        file: usize,
        chunk_size: usize,
        filters: &[StatsFilter],
        disk_bytes: &Arc<AtomicU64>,
    ) -> Box<dyn Iterator<Item = Result<ChunkJob>> + 'a>;

    /// Reads one of this file's jobs: a frame with `request.columns` in the
    /// file's own types (dictionary-coded columns as `UInt32`).
    ///
    /// # Errors
    /// Malformed records (under the error policy) and decode errors.
    fn read(&self, job: &ChunkJob, request: &ReadRequest) -> Result<DataFrame>;

    /// Jobs covering about `fraction` of the file in pieces of about `piece`
    /// bytes, spread by `rng` (see [`super::Source::sample_jobs`]).
    fn sample(&self, file: usize, fraction: f64, piece: usize, rng: &mut u64) -> FileSample;

    /// Row count from metadata or an estimate from the first MiB; `None`
    /// when unknown (streams). The flag says whether it is an estimate.
    fn row_count(&self) -> (Option<u64>, bool);

    /// A column's null count, minimum and maximum from metadata alone, when
    /// the format records them.
    fn column_summary(&self, _name: &str, _dtype: &DataType) -> Option<ColumnSummary> {
        None
    }
}

/// A small deterministic generator for sample positions.
pub(crate) fn next_random(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// `k` of `n` evenly spaced indices for a fraction of the units (row
/// groups, row ranges) of a row-addressed file.
pub(crate) fn evenly_spaced(n: usize, fraction: f64) -> Vec<usize> {
    let k = ((n as f64 * fraction).ceil() as usize).clamp(1, n.max(1)).min(n);
    let step = n as f64 / k.max(1) as f64;
    (0..k).map(|i| (i as f64 * step) as usize).collect()
}
