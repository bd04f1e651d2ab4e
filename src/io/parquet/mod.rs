//! Parquet: the footer read once at open, one job per row-group slice after
//! min/max pruning, columns decoded by polars (or a string key column as
//! dictionary ids, see [`key_dictionary`]).

mod key_dictionary;
mod meta;
mod top_bound;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use polars::prelude::*;

pub use key_dictionary::KeyDictionary;
pub use meta::{RowFilter, StatValue, StatsFilter, StatsOp};
pub use top_bound::TopBound;

use super::chunks::{ChunkJob, Part, ScanSummary};
use super::reader::{evenly_spaced, Capabilities, ColumnSummary, FileReader, FileSample, ReadRequest};
use super::{Error, Result};

/// An opened Parquet file and its footer.
pub(crate) struct ParquetFile {
    path: PathBuf,
    size: u64,
    meta: meta::Meta,
}

impl ParquetFile {
    /// Reads the footer.
    ///
    /// # Errors
    /// Read errors and a footer that does not decode.
    pub fn open(path: &Path) -> Result<Self> {
        let file = std::fs::File::open(path).map_err(|e| Error::read(path, e))?;
        let size = file.metadata().map_err(|e| Error::read(path, e))?.len();
        Ok(ParquetFile { path: path.into(), size, meta: meta::Meta::read(path, file)? })
    }

    /// [`FileReader::read`] of one job, unguarded.
    fn read_rows(&self, job: &ChunkJob, request: &ReadRequest) -> Result<DataFrame> {
        let Part::Rows(start, len) = job.part else {
            return Err(Error::Unsupported { message: "internal: a Parquet job that is not a row range".into() });
        };
        let rows = (start, len);
        let settings = request.settings;
        let share = (self.size as f64 * len as f64 / self.meta.num_rows().max(1) as f64) as u64;
        settings.disk_bytes.fetch_add(share, Ordering::Relaxed);
        let coded: Vec<&(String, Arc<KeyDictionary>)> =
            request.dictionaries.iter().filter(|(name, _)| request.columns.contains(name)).collect();
        let plain: Vec<String> =
            request.columns.iter().filter(|c| !coded.iter().any(|(name, _)| name == *c)).cloned().collect();
        // The other columns are read first, with the filter: the codes are
        // then decoded and remapped only for the rows it kept (`filter id1
        // == "id001" | agg … by id2`: 1% of the rows). A filter reading a
        // coded column is left to run after the scan.
        let filter = request.filter.filter(|f| f.columns.iter().all(|c| plain.contains(c)));
        let want_mask = !coded.is_empty();
        let read = |columns: &[String]| {
            meta::read_rows(&self.path, &self.meta, rows, columns, filter, want_mask, &settings.bytes_read)
        };
        let (mut df, mask) = read(&plain)?;
        let kept = mask.as_ref().map(kept_rows);
        for (name, dict) in &coded {
            let column = match meta::read_codes(&self.path, &self.meta, rows, name, dict, kept.as_ref())? {
                // Codes of every row where the mask could not be used in
                // the decode (it is, for the one row group a mask comes from).
                Some(ids) => match &mask {
                    Some(mask) if ids.len() != df.height() => {
                        ids.filter(mask).map_err(|e| Error::decode(&self.path, e))?
                    }
                    _ => ids,
                },
                // Not dictionary-encoded throughout: read as strings, with
                // the same filter (its columns decoded again), so that the
                // same rows are kept.
                None => {
                    let mut columns = vec![name.clone()];
                    columns.extend(filter.iter().flat_map(|f| f.columns.iter()).filter(|c| *c != name).cloned());
                    let (strings, _) = read(&columns)?;
                    strings.column(name).map_err(|e| Error::decode(&self.path, e))?.as_materialized_series().clone()
                }
            };
            settings.bytes_read.fetch_add(column.estimated_size() as u64, Ordering::Relaxed);
            df.with_column(column).map_err(|e| Error::decode(&self.path, e))?;
        }
        df.select(request.columns.iter().map(|c| c.as_str())).map_err(|e| Error::decode(&self.path, e))
    }
}

/// The rows a filter's mask keeps (null: not kept) as a bitmap.
fn kept_rows(mask: &BooleanChunked) -> polars_arrow::bitmap::Bitmap {
    let mask = mask.rechunk();
    let bits = mask.downcast_iter().next().map(|a| match a.validity() {
        Some(valid) => a.values() & valid,
        None => a.values().clone(),
    });
    bits.unwrap_or_default()
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

impl FileReader for ParquetFile {
    fn schema(&self) -> &SchemaRef {
        &self.meta.schema
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            prunes_by_statistics: true,
            filters_rows: true,
            dictionary_codes: true,
            random_access: true,
            exact_row_count: true,
            row_ranges: true,
        }
    }

    fn plan(&self, chunk_size: usize, filters: &[StatsFilter], summary: &mut ScanSummary) {
        let (slices, total, pruned) = self.meta.plan(filters, chunk_rows(chunk_size));
        summary.tasks += slices.len();
        summary.row_groups += total;
        summary.row_groups_pruned += pruned;
    }

    fn jobs<'a>(
        &'a self,
        file: usize,
        chunk_size: usize,
        filters: &[StatsFilter],
        _disk_bytes: &Arc<AtomicU64>,
    ) -> Box<dyn Iterator<Item = Result<ChunkJob>> + 'a> {
        let (slices, _, _) = self.meta.plan(filters, chunk_rows(chunk_size));
        Box::new(slices.into_iter().map(move |rows| Ok(ChunkJob::rows(file, rows, None))))
    }

    fn read(&self, job: &ChunkJob, request: &ReadRequest) -> Result<DataFrame> {
        // polars' Parquet decoders assert on some corrupt pages instead of
        // returning an error (a validity bitmap shorter than its page
        // says): a panic while decoding this file is the file's fault,
        // reported as bad data (exit 3), not as a bug in dq (exit 1).
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.read_rows(job, request))).unwrap_or_else(
            |panic| {
                let why = crate::error::panic_text(&*panic).unwrap_or_else(|| "the decoder stopped".into());
                Err(Error::decode(&self.path, format!("the file's pages could not be decoded (corrupt file?): {why}")))
            },
        )
    }

    fn sample(&self, file: usize, fraction: f64, _piece: usize, _rng: &mut u64) -> FileSample {
        let groups = self.meta.row_groups();
        let picked = evenly_spaced(groups.len(), fraction);
        let jobs: Vec<ChunkJob> = picked.iter().map(|&i| ChunkJob::rows(file, groups[i], None)).collect();
        let sampled: usize = picked.iter().map(|&i| groups[i].1).sum();
        let total: usize = groups.iter().map(|g| g.1).sum();
        FileSample { jobs, sampled: sampled as u64, total: total as u64, whole: picked.len() >= groups.len() }
    }

    fn row_count(&self) -> (Option<u64>, bool) {
        (Some(self.meta.num_rows() as u64), false)
    }

    fn column_summary(&self, name: &str, dtype: &DataType) -> Option<ColumnSummary> {
        Some(self.meta.column_summary(name, dtype))
    }
}
