//! Newline-delimited JSON: schema inference from the first lines and
//! parsing one chunk of whole lines with polars' JSON-lines reader.

use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::Arc;

use polars::prelude::*;

use super::{Error, Result};

/// Infers a schema from up to the first 8 MiB (whole lines) of `bytes`.
pub(super) fn infer_schema(path: &Path, bytes: &[u8]) -> Result<Schema> {
    let mut end = bytes.len().min(8 << 20);
    if end < bytes.len() {
        end = memchr::memrchr(b'\n', &bytes[..end]).map_or(bytes.len(), |i| i + 1);
    }
    let sample = &bytes[..end];
    if sample.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Schema::default());
    }
    let df = JsonLineReader::new(std::io::Cursor::new(sample))
        .infer_schema_len(NonZeroUsize::new(10_000))
        .with_n_rows(Some(10_000))
        .finish()
        .map_err(|e| Error::decode(path, e))?;
    Ok(df.schema().as_ref().clone())
}

/// Parses whole lines into the `columns` of `schema`.
pub(super) fn parse_chunk(
    path: &Path,
    bytes: &[u8],
    schema: &SchemaRef,
    columns: &[String],
    first_line: &dyn Fn() -> u64,
) -> Result<DataFrame> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(DataFrame::empty());
    }
    let projection: Arc<[PlSmallStr]> = columns.iter().map(|c| PlSmallStr::from(c.as_str())).collect();
    let df = JsonLineReader::new(std::io::Cursor::new(bytes))
        .with_schema(schema.clone())
        .with_n_threads(Some(1))
        .with_rechunk(false)
        .finish()
        .map_err(|e| Error::decode(path, format!("in the lines from {} on: {e}", first_line())))?;
    if columns.is_empty() {
        return Ok(super::height_only(df.height()));
    }
    df.select(projection.iter().cloned()).map_err(|e| Error::decode(path, e))
}
