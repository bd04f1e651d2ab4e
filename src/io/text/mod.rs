//! Text formats (CSV/TSV, NDJSON, plain lines): two readers that differ in
//! how bytes arrive — [`MappedText`] (a memory-mapped file cut at record
//! boundaries) and [`StreamedText`] (gzip/zstd files and stdin, cut as they
//! are decompressed) — and one parser per format for a chunk of whole
//! records.

pub(crate) mod csv;
mod csv_fast;
mod csv_filtered;
mod lines;
mod mapped;
mod ndjson;
pub mod records;
mod stream;
mod streamed;

use std::path::Path;

use polars::prelude::*;

pub(crate) use csv::sniff_delimiter;
pub(crate) use mapped::MappedText;
pub(crate) use streamed::StreamedText;

use super::{CsvOptions, Error, Format, ReadSettings, Result};

/// The record dialect of a text format: CSV's delimiter and quote, or one
/// record per line.
fn dialect(format: Format, csv: &CsvOptions) -> records::Dialect {
    match format {
        Format::Csv => csv::dialect(csv),
        _ => records::Dialect { delimiter: b'\n', quote: None },
    }
}

/// The schema of a text file from its first bytes, and where its data starts
/// (after a CSV header).
fn read_schema(path: &Path, format: Format, bytes: &[u8], csv: &CsvOptions) -> Result<(Schema, usize)> {
    match format {
        Format::Csv => csv::read_schema(path, bytes, csv),
        Format::Lines => Ok((lines::schema(), 0)),
        _ => Ok((ndjson::infer_schema(path, bytes)?, 0)),
    }
}

/// Parses whole records into `columns` of `schema`; `first_line` numbers
/// the first byte for error messages (computed only when needed).
#[allow(clippy::too_many_arguments)]
fn parse(
    format: Format,
    path: &Path,
    bytes: &[u8],
    schema: &SchemaRef,
    columns: &[String],
    csv: &CsvOptions,
    settings: &ReadSettings,
    first_line: &dyn Fn() -> u64,
    prefilter: Option<csv_filtered::Prefilter>,
) -> Result<DataFrame> {
    match format {
        Format::Csv => csv::parse_chunk(path, bytes, schema, columns, csv, settings, first_line, prefilter),
        Format::Ndjson => ndjson::parse_chunk(path, bytes, schema, columns, settings, first_line),
        Format::Lines => Ok(lines::parse_chunk(bytes, columns)),
        other => Err(Error::Unsupported { message: format!("internal: {other:?} parsed as text") }),
    }
}
