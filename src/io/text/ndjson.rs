//! Newline-delimited JSON: schema inference from the first lines and
//! parsing one chunk of whole lines with polars' JSON-lines reader.
//!
//! polars' reader turns a value that does not fit its column's type into
//! null, a scalar line into a row of nulls, and drops keys it was not told
//! about. So every chunk is first checked line by line (serde_json): a line
//! that is not an object, a value of the wrong type, or a key first seen
//! after the inference sample is a bad record — an error naming the line,
//! or under `--on-bad-rows skip|null` a line left out or kept with the
//! offending values as null.

use std::num::NonZeroUsize;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use polars::prelude::*;

use crate::io::{BadRowPolicy, Error, ReadSettings, Result};

/// Lines read to infer the columns and their types.
const INFER_LINES: usize = 10_000;

const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Infers a schema from up to the first 8 MiB (whole lines) of `bytes`.
pub(super) fn infer_schema(path: &Path, bytes: &[u8]) -> Result<Schema> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    let mut end = bytes.len().min(8 << 20);
    if end < bytes.len() {
        end = memchr::memrchr(b'\n', &bytes[..end]).map_or(bytes.len(), |i| i + 1);
    }
    // Only lines that are JSON objects inform the columns (polars' inference
    // fails on others); they are bad records when the chunks are read.
    let mut sample = Vec::with_capacity(end);
    for line in bytes[..end].split(|b| *b == b'\n').take(INFER_LINES) {
        if matches!(serde_json::from_slice::<serde_json::Value>(line), Ok(serde_json::Value::Object(_))) {
            sample.extend_from_slice(line);
            sample.push(b'\n');
        }
    }
    let sample = &sample[..];
    if sample.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(Schema::default());
    }
    let df = JsonLineReader::new(std::io::Cursor::new(sample))
        .infer_schema_len(NonZeroUsize::new(INFER_LINES))
        .with_n_rows(Some(INFER_LINES))
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
    settings: &ReadSettings,
    first_line: &dyn Fn() -> u64,
) -> Result<DataFrame> {
    let bytes = bytes.strip_prefix(BOM).unwrap_or(bytes);
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(DataFrame::empty_with_schema(schema));
    }
    let fixed;
    let bytes = match check_lines(path, bytes, schema, settings, first_line)? {
        Some(rewritten) => {
            fixed = rewritten;
            if fixed.is_empty() {
                return Ok(DataFrame::empty_with_schema(schema));
            }
            &fixed[..]
        }
        None => bytes,
    };
    let projection: Arc<[PlSmallStr]> = columns.iter().map(|c| PlSmallStr::from(c.as_str())).collect();
    let df = JsonLineReader::new(std::io::Cursor::new(bytes))
        .with_schema(schema.clone())
        .with_n_threads(Some(1))
        .with_rechunk(false)
        .finish()
        .map_err(|e| explain(path, bytes, first_line(), e))?;
    if columns.is_empty() {
        return Ok(crate::io::height_only(df.height()));
    }
    df.select(projection.iter().cloned()).map_err(|e| Error::decode(path, e))
}

/// What one line needs.
enum Check {
    Fine,
    /// Numbers or bools in text columns: the line rewritten with them as text
    /// (polars would read them as null).
    AsText(Vec<u8>),
    /// A bad record: the message, and the keys to null under `--on-bad-rows null`.
    Bad(String, Vec<String>),
}

fn check_line(line: &[u8], schema: &Schema) -> Check {
    let value: serde_json::Value = match serde_json::from_slice(line) {
        Ok(v) => v,
        Err(err) => return Check::Bad(format!("invalid JSON: {err}"), Vec::new()),
    };
    let serde_json::Value::Object(mut map) = value else {
        let what = if value.is_array() { "an array" } else { "a scalar" };
        return Check::Bad(format!("expected a JSON object, found {what}"), Vec::new());
    };
    let mut first = None;
    let mut bad = Vec::new();
    let mut as_text = false;
    for (key, v) in map.iter_mut() {
        let message = match schema.get(key) {
            None => Some(format!("key `{key}` is not among the columns inferred from the first {INFER_LINES} lines")),
            Some(DataType::String) if v.is_number() || v.is_boolean() => {
                *v = serde_json::Value::String(v.to_string());
                as_text = true;
                None
            }
            Some(dtype) if !fits(v, dtype) => {
                Some(format!("value {v} of key `{key}` is not {}", crate::io::type_name(dtype)))
            }
            Some(_) => None,
        };
        if let Some(m) = message {
            first.get_or_insert(m);
            bad.push(key.clone());
        }
    }
    match first {
        Some(m) => Check::Bad(m, bad),
        None if as_text => Check::AsText(serde_json::Value::Object(map).to_string().into_bytes()),
        None => Check::Fine,
    }
}

/// Whether polars reads `v` as a value of `dtype` (not as a null).
fn fits(v: &serde_json::Value, dtype: &DataType) -> bool {
    use serde_json::Value as J;
    match (v, dtype) {
        (J::Null, _) => true,
        (J::Bool(_), DataType::Boolean) => true,
        (J::Number(n), d) if d.is_integer() => n.is_i64() || n.is_u64() && dtype == &DataType::UInt64,
        (J::Number(_), d) if d.is_float() => true,
        (J::String(_), DataType::String) => true,
        (J::Array(_), DataType::List(_)) => true,
        (J::Object(_), DataType::Struct(_)) => true,
        _ => false,
    }
}

/// Checks every line; `None` when all are fine, else the chunk rewritten
/// under the bad-row policy (or the error naming the first bad line).
fn check_lines(
    path: &Path,
    bytes: &[u8],
    schema: &Schema,
    settings: &ReadSettings,
    first_line: &dyn Fn() -> u64,
) -> Result<Option<Vec<u8>>> {
    let mut out: Option<Vec<u8>> = None;
    let mut bad_lines = 0u64;
    let mut start = 0;
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        let this = start;
        start += line.len() + 1;
        let text = line.strip_suffix(b"\r").unwrap_or(line);
        let check = if text.iter().all(u8::is_ascii_whitespace) { Check::Fine } else { check_line(text, schema) };
        let (message, keys) = match check {
            Check::Fine => {
                if let Some(o) = out.as_mut() {
                    o.extend_from_slice(line);
                    o.push(b'\n');
                }
                continue;
            }
            Check::AsText(fixed) => {
                let o = out.get_or_insert_with(|| bytes[..this].to_vec());
                o.extend_from_slice(&fixed);
                o.push(b'\n');
                continue;
            }
            Check::Bad(message, keys) => (message, keys),
        };
        bad_lines += 1;
        let out = out.get_or_insert_with(|| bytes[..this].to_vec());
        match settings.bad_rows {
            BadRowPolicy::Error => {
                return Err(Error::BadRecord {
                    path: path.into(),
                    line: first_line() + i as u64,
                    column: None,
                    message,
                    hint: "pass --on-bad-rows skip (or null) to get past malformed records".into(),
                });
            }
            BadRowPolicy::Skip => {}
            BadRowPolicy::Null => {
                // The line with the offending keys nulled (unknown ones dropped);
                // a line that is no object becomes a row of nulls.
                let mut kept = serde_json::Map::new();
                if let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(text) {
                    for (k, v) in map {
                        let v = match (schema.get(&k), v) {
                            _ if keys.contains(&k) => serde_json::Value::Null,
                            (Some(DataType::String), v) if v.is_number() || v.is_boolean() => {
                                serde_json::Value::String(v.to_string())
                            }
                            (Some(_), v) => v,
                            (None, _) => continue,
                        };
                        kept.insert(k, v);
                    }
                }
                out.extend_from_slice(serde_json::Value::Object(kept).to_string().as_bytes());
                out.push(b'\n');
            }
        }
    }
    if bad_lines > 0 {
        settings.bad_rows_seen.fetch_add(bad_lines, Ordering::Relaxed);
    }
    Ok(out)
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
