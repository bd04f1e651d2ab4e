//! Samples and footers for `dq profile`: random pieces spread over the
//! input (`--sample`), and what file metadata alone tells (`--metadata`).

use polars::prelude::DataType;

use super::records::{self, Dialect};
use super::{ChunkJob, FileData, Format, Source};

/// What a sample covers, for extrapolating and for saying so.
#[derive(Debug, Clone, Default)]
pub struct SampleBasis {
    /// Bytes of input the sample's pieces span, per file.
    pub sampled_bytes: Vec<u64>,
    /// Bytes of data (after headers) per file.
    pub total_bytes: Vec<u64>,
    /// Files read whole (Parquet row counts are exact; streams cannot be sampled).
    pub whole: Vec<bool>,
}

/// Per-file facts from metadata only.
#[derive(Debug, Clone)]
pub struct FileMeta {
    /// Rows (exact for Parquet, estimated for text).
    pub rows: Option<u64>,
    /// Whether `rows` is an estimate.
    pub estimated: bool,
}

/// Per-column facts from metadata only (Parquet statistics).
#[derive(Debug, Clone)]
pub struct ColumnMeta {
    /// Column name.
    pub name: String,
    /// Type.
    pub dtype: DataType,
    /// Null count, when every row group records it.
    pub nulls: Option<u64>,
    /// Smallest value.
    pub min: Option<String>,
    /// Largest value.
    pub max: Option<String>,
}

/// A small deterministic generator for piece positions.
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Source {
    /// Jobs covering about `fraction` of every file: pieces of `piece`
    /// bytes at random offsets, one per stratum so they spread over the
    /// whole file, each moved to the next record boundary (a CSV piece that
    /// does not parse as whole records moves to the next line and retries).
    /// Parquet samples evenly spaced row groups; compressed input and stdin
    /// cannot be sampled at random and are read whole.
    pub fn sample_jobs(&self, fraction: f64, piece: usize, seed: u64) -> (Vec<ChunkJob>, SampleBasis) {
        let mut jobs = Vec::new();
        let mut basis = SampleBasis::default();
        let mut rng = seed ^ 0xD1B5_4A32_D192_ED03;
        for (fi, file) in self.files.iter().enumerate() {
            match &file.data {
                FileData::Mapped { map: Some(map), data_start } => {
                    let len = map.len() - data_start;
                    basis.total_bytes.push(len as u64);
                    let want = ((len as f64) * fraction).ceil() as usize;
                    if want >= len || len <= piece {
                        jobs.extend(
                            super::records::split_records(map, *data_start, piece.max(1 << 20), self.dialect())
                                .into_iter()
                                .map(|r| ChunkJob::Bytes { file: fi, range: r }),
                        );
                        basis.sampled_bytes.push(len as u64);
                        basis.whole.push(true);
                        continue;
                    }
                    let k = want.div_ceil(piece).max(1);
                    let stride = len / k;
                    let mut sampled = 0u64;
                    for i in 0..k {
                        let jitter = if stride > piece { next(&mut rng) as usize % (stride - piece) } else { 0 };
                        let at = data_start + i * stride + jitter;
                        if let Some(range) = self.piece_at(map, *data_start, at, piece) {
                            sampled += (range.1 - range.0) as u64;
                            jobs.push(ChunkJob::Bytes { file: fi, range });
                        }
                    }
                    basis.sampled_bytes.push(sampled);
                    basis.whole.push(false);
                }
                FileData::Mapped { map: None, .. } => {
                    basis.total_bytes.push(0);
                    basis.sampled_bytes.push(0);
                    basis.whole.push(true);
                }
                FileData::Parquet(meta) => {
                    let groups: Vec<(usize, usize)> = meta.row_groups();
                    let k = ((groups.len() as f64 * fraction).ceil() as usize).clamp(1, groups.len().max(1));
                    let step = groups.len() as f64 / k as f64;
                    let mut rows = 0;
                    for i in 0..k.min(groups.len()) {
                        let g = groups[(i as f64 * step) as usize];
                        rows += g.1;
                        jobs.push(ChunkJob::RowGroup { file: fi, rows: g });
                    }
                    let total: usize = groups.iter().map(|g| g.1).sum();
                    basis.total_bytes.push(total as u64);
                    basis.sampled_bytes.push(rows as u64);
                    basis.whole.push(k >= groups.len());
                }
                FileData::Compressed | FileData::Stdin(_) => {
                    basis.total_bytes.push(file.size);
                    basis.sampled_bytes.push(file.size);
                    basis.whole.push(true);
                }
            }
        }
        (jobs, basis)
    }

    fn dialect(&self) -> Dialect {
        match self.format {
            Format::Csv => super::csv::dialect(&self.csv),
            _ => Dialect { delimiter: b'\n', quote: None },
        }
    }

    /// A range of whole records starting at the first record boundary after `at`.
    fn piece_at(&self, map: &[u8], data_start: usize, at: usize, piece: usize) -> Option<(usize, usize)> {
        let d = self.dialect();
        let n_fields = self.files.first().map_or(0, |f| f.schema.len());
        let mut start = if at <= data_start { data_start } else { at + memchr::memchr(b'\n', &map[at..])? + 1 };
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

    /// What file metadata alone tells: rows per file (exact for Parquet,
    /// estimated from the first MiB for text) and, for Parquet, null counts
    /// and min/max per column from row-group statistics.
    pub fn metadata(&self) -> (Vec<FileMeta>, Vec<ColumnMeta>) {
        let mut files = Vec::new();
        for file in &self.files {
            files.push(match &file.data {
                FileData::Mapped { map: Some(map), data_start } => {
                    let len = map.len() - data_start;
                    let sample = &map[*data_start..(*data_start + (1 << 20)).min(map.len())];
                    let lines = memchr::memchr_iter(b'\n', sample).count() as u64
                        + u64::from(!sample.ends_with(b"\n") && !sample.is_empty());
                    if sample.len() == len {
                        FileMeta { rows: Some(lines), estimated: false }
                    } else {
                        FileMeta {
                            rows: Some((lines as f64 * len as f64 / sample.len() as f64).round() as u64),
                            estimated: true,
                        }
                    }
                }
                FileData::Mapped { map: None, .. } => FileMeta { rows: Some(0), estimated: false },
                FileData::Parquet(meta) => FileMeta { rows: Some(meta.num_rows() as u64), estimated: false },
                FileData::Compressed | FileData::Stdin(_) => FileMeta { rows: None, estimated: true },
            });
        }
        let columns = self
            .schema
            .iter()
            .map(|(name, dtype)| {
                let mut col =
                    ColumnMeta { name: name.to_string(), dtype: dtype.clone(), nulls: None, min: None, max: None };
                if self.format == Format::Parquet {
                    let mut nulls = Some(0u64);
                    for file in &self.files {
                        if let FileData::Parquet(meta) = &file.data {
                            let (n, lo, hi) = meta.column_summary(name, dtype);
                            nulls = nulls.zip(n).map(|(a, b)| a + b);
                            if lo.is_some() && (col.min.is_none() || lo < col.min) {
                                col.min = lo;
                            }
                            if hi.is_some() && (col.max.is_none() || hi > col.max) {
                                col.max = hi;
                            }
                        }
                    }
                    col.nulls = nulls;
                }
                col
            })
            .collect();
        (files, columns)
    }
}
