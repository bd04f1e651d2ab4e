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
        .map_err(|e| explain(path, sample, 1, e))?;
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
        .map_err(|e| explain(path, bytes, first_line(), e))?;
    if columns.is_empty() {
        return Ok(super::height_only(df.height()));
    }
    df.select(projection.iter().cloned()).map_err(|e| Error::decode(path, e))
}

/// Turns a decoder failure into an error naming the first line that is not
/// a JSON object (found with serde_json), or the decoder's own message.
fn explain(path: &Path, bytes: &[u8], first_line: u64, e: PolarsError) -> Error {
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let problem = match serde_json::from_slice::<serde_json::Value>(line) {
            Ok(serde_json::Value::Object(_)) => continue,
            Ok(other) => {
                format!("expected a JSON object, found {}", if other.is_array() { "an array" } else { "a scalar" })
            }
            Err(err) => format!("invalid JSON: {err}"),
        };
        return Error::BadRecord {
            path: path.into(),
            line: first_line + i as u64,
            column: None,
            message: problem,
            hint: "each line of an NDJSON file must be one JSON object".into(),
        };
    }
    Error::decode(path, format!("in the lines from {first_line} on: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_the_first_bad_line() {
        let err = explain(Path::new("x.ndjson"), b"{\"a\":1}\n\n[1]\n{", 10, PolarsError::NoData("x".into()));
        match err {
            Error::BadRecord { line, message, .. } => {
                assert_eq!((line, message.as_str()), (12, "expected a JSON object, found an array"))
            }
            other => panic!("{other:?}"),
        }
    }
}
