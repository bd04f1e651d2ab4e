//! What `dq profile` learns without reading everything: what a sample
//! covers (`--sample`) and what file metadata alone tells (`--metadata`).
//! Each reader fills these in (see [`super::reader::FileReader::sample`]).

use polars::prelude::DataType;

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
