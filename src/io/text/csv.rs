//! CSV/TSV: header and type inference, and parsing one chunk with polars'
//! CSV parser under a fixed schema. Every chunk's field counts are checked
//! first (polars silently pads short rows), and a chunk that fails is
//! re-scanned record by record to name the exact line and column.

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use polars::prelude::*;

use super::csv_filtered::Prefilter;
use super::records::{self, Dialect, Record};
use crate::io::{BadRowPolicy, CsvOptions, Error, ReadSettings, Result};
use crate::temporal;

pub(super) fn dialect(opts: &CsvOptions) -> Dialect {
    Dialect { delimiter: opts.delimiter, quote: opts.quote }
}

const COUNT_HINT: &str = "pass --on-bad-rows skip (or null) to get past malformed records";
const VALUE_HINT: &str = "pass --on-bad-rows skip (or null) to get past malformed records, or read the column as text with scan \"...\" (schema=(col: str))";

/// Reads the header and infers column types from the first `infer_rows`
/// records. Returns the schema and the offset where data starts.
pub(super) fn read_schema(path: &Path, bytes: &[u8], opts: &CsvOptions) -> Result<(Schema, usize)> {
    let d = dialect(opts);
    let mut start = if bytes.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    // Skip leading blank lines.
    while start < bytes.len() && (bytes[start] == b'\n' || bytes[start] == b'\r') {
        start += 1;
    }
    if start >= bytes.len() {
        return Ok((Schema::default(), bytes.len()));
    }
    let first = records::parse_record(bytes, start, d);
    let (mut names, data_start) = if opts.header {
        (header_names(&first.fields), first.end)
    } else {
        ((1..=first.fields.len()).map(|i| format!("column_{i}")).collect::<Vec<_>>(), start)
    };
    if opts.names.len() > names.len() {
        return Err(Error::Unsupported {
            message: format!(
                "{}: names= gives {} names, but the file has {} column{}",
                path.display(),
                opts.names.len(),
                names.len(),
                if names.len() == 1 { "" } else { "s" }
            ),
        });
    }
    names.splice(..opts.names.len(), opts.names.iter().cloned());
    // The sample: up to infer_rows records or 8 MiB, ending on a record boundary.
    let mut end = data_start;
    let mut n = 0;
    while end < bytes.len() && n < opts.infer_rows && end - data_start < (8 << 20) {
        end = records::record_end(bytes, end, d);
        n += 1;
    }
    let schema = infer_types(path, &bytes[data_start..end], &names, opts)?;
    Ok((schema, data_start))
}

/// Unique, non-empty column names from a header record.
fn header_names(fields: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(fields.len());
    for (i, f) in fields.iter().enumerate() {
        let base = if f.trim().is_empty() { format!("column_{}", i + 1) } else { f.clone() };
        let mut name = base.clone();
        let mut k = 2;
        while out.contains(&name) {
            name = format!("{base}_{k}");
            k += 1;
        }
        out.push(name);
    }
    out
}

pub(super) fn infer_types(path: &Path, sample: &[u8], names: &[String], opts: &CsvOptions) -> Result<Schema> {
    let mut schema = Schema::default();
    // Invalid UTF-8 must not stop inference: its record is reported (or
    // skipped) with its line when the chunk is read.
    let lossy;
    let sample = match std::str::from_utf8(sample) {
        Ok(_) => sample,
        Err(_) => {
            lossy = String::from_utf8_lossy(sample).into_owned();
            lossy.as_bytes()
        }
    };
    let inferred = if sample.iter().all(|b| b.is_ascii_whitespace()) {
        Schema::default()
    } else {
        let read = |schema: Option<SchemaRef>| {
            CsvReadOptions::default()
                .with_has_header(false)
                .with_infer_schema_length(Some(opts.infer_rows))
                .with_schema(schema)
                .with_n_threads(Some(1))
                .with_parse_options(parse_options(opts).with_truncate_ragged_lines(true))
                .into_reader_with_file_handle(std::io::Cursor::new(sample))
                .finish()
        };
        let df = match read(None) {
            Ok(df) => df,
            // polars inferred a type some sampled value does not fit (an
            // integer beyond 64 bits): read the sample as text and type each
            // column by the rule every value is checked with later.
            Err(_) => {
                let width = names.len().max(1);
                let text: Schema =
                    (1..=width).map(|i| Field::new(format!("column_{i}").into(), DataType::String)).collect();
                let df = read(Some(Arc::new(text))).map_err(|e| Error::decode(path, e))?;
                let columns = df.get_columns().iter().map(retype).collect::<PolarsResult<Vec<Column>>>();
                DataFrame::new(columns.map_err(|e| Error::decode(path, e))?).map_err(|e| Error::decode(path, e))?
            }
        };
        let mut schema = df.schema().as_ref().clone();
        detect_temporal(&df, &mut schema);
        schema
    };
    for (i, name) in names.iter().enumerate() {
        let dtype = inferred.get_at_index(i).map(|(_, dt)| dt.clone()).unwrap_or(DataType::String);
        // All-null sample columns come back as String, which is the safe choice.
        schema.with_column(name.as_str().into(), dtype);
    }
    for (name, dtype) in &opts.schema_overrides {
        if !schema.contains(name) {
            let have: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
            return Err(Error::Unsupported {
                message: format!(
                    "schema override names column `{name}`, which {} does not have (columns: {})",
                    path.display(),
                    have.join(", ")
                ),
            });
        }
        schema.with_column(name.as_str().into(), dtype.clone());
    }
    Ok(schema)
}

/// A text column as the narrowest of int, float and bool that all its
/// values parse as (by [`value_parses`]), else as it is.
fn retype(col: &Column) -> PolarsResult<Column> {
    let values: Vec<&str> = col.str()?.into_iter().flatten().collect();
    // An integer too large for 64 bits stays text rather than become an
    // approximate float.
    let too_big = |v: &&str| {
        let t = v.trim().trim_start_matches(['+', '-']);
        !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit())
    };
    for dtype in [DataType::Int64, DataType::Float64, DataType::Boolean] {
        let fits = |v: &&str| value_parses(v, &dtype) && !(dtype == DataType::Float64 && too_big(v));
        if !values.is_empty() && values.iter().all(fits) {
            return col.cast(&dtype);
        }
    }
    Ok(col.clone())
}

/// Marks string columns whose sampled values are all ISO dates
/// (`2024-01-31`) or all ISO datetimes (`2024-01-31 12:00:00`, `T`, a
/// fraction, `Z` or an offset: [`crate::temporal`]) as such.
///
/// polars' own `try_parse_dates` tries many formats on every string of the
/// sample, which took most of the start-up time on wide files; one ISO
/// parser over the sampled values is enough.
fn detect_temporal(df: &DataFrame, schema: &mut Schema) {
    for col in df.get_columns() {
        if col.dtype() != &DataType::String {
            continue;
        }
        let Ok(ca) = col.str() else { continue };
        let Some(first) = ca.into_iter().flatten().next() else { continue };
        let target = if first.trim().len() == 10 && temporal::parse_date(first).is_some() {
            DataType::Date
        } else if temporal::is_datetime(first) {
            DataType::Datetime(TimeUnit::Microseconds, None)
        } else {
            continue;
        };
        let all = if target == DataType::Date {
            ca.into_iter().flatten().all(|v| v.trim().len() == 10 && temporal::parse_date(v).is_some())
        } else {
            ca.into_iter().flatten().all(temporal::is_datetime)
        };
        if all {
            schema.with_column(col.name().clone(), target);
        }
    }
}

fn parse_options(opts: &CsvOptions) -> CsvParseOptions {
    let nulls = if opts.null_values.is_empty() {
        None
    } else {
        Some(NullValues::AllColumns(opts.null_values.iter().map(|s| s.as_str().into()).collect()))
    };
    CsvParseOptions::default()
        .with_separator(opts.delimiter)
        .with_quote_char(opts.quote)
        .with_null_values(nulls)
        .with_truncate_ragged_lines(false)
}

/// Parses one chunk (whole records, no header) into `columns`; with a
/// `prefilter`, plain chunks keep only the rows its filter may keep
/// (see [`super::csv_filtered`]).
#[allow(clippy::too_many_arguments)]
pub(super) fn parse_chunk(
    path: &Path,
    bytes: &[u8],
    schema: &SchemaRef,
    columns: &[String],
    opts: &CsvOptions,
    settings: &ReadSettings,
    first_line: &dyn Fn() -> u64,
    prefilter: Option<Prefilter>,
) -> Result<DataFrame> {
    let d = dialect(opts);
    let n_fields = schema.len();
    if n_fields == 0 {
        return Ok(DataFrame::empty());
    }
    let fast = match prefilter.filter(|p| p.applies(columns)) {
        Some(p) => super::csv_filtered::parse(bytes, schema, columns, opts, p),
        None => super::csv_fast::parse(bytes, schema, columns, opts),
    };
    if let Some(df) = fast {
        return Ok(df);
    }
    let counted = records::check_field_counts(bytes, n_fields, d);
    if columns.is_empty() {
        // Nothing to parse (`count`): the field-count check counted the
        // records. Under `--on-bad-rows skip|null` the typed columns are
        // parsed too, so that a record with a bad value counts the same as in
        // every other verb (skipped, or kept with nulls); under `error` the
        // fast count stands (only reading a value can fail on one).
        let typed: Vec<String> =
            schema.iter().filter(|(_, t)| **t != DataType::String).map(|(n, _)| n.to_string()).collect();
        let fast = settings.bad_rows == BadRowPolicy::Error || typed.is_empty();
        if let (Ok(c), true) = (&counted, fast) {
            return Ok(crate::io::height_only(c.records));
        }
        // (All columns when none is typed: a bad field count is then found and reported.)
        let wanted = if typed.is_empty() { schema.iter_names().map(|n| n.to_string()).collect() } else { typed };
        let df = parse_chunk(path, bytes, schema, &wanted, opts, settings, first_line, None)?;
        return Ok(crate::io::height_only(df.height()));
    }
    // polars reads an empty line as a row of nulls, and its line splitter
    // misreads a quote inside an unquoted field: fix such chunks first (rare,
    // so only chunks that need it are copied).
    let rewritten;
    let bytes = match &counted {
        Ok(c) if c.literal_quotes => {
            rewritten = records::normalize(bytes, d);
            &rewritten[..]
        }
        Ok(c) if c.blank_lines > 0 => {
            rewritten = records::strip_blank_lines(bytes, d);
            &rewritten[..]
        }
        _ => bytes,
    };
    if counted.is_ok() {
        match polars_parse(bytes, schema, columns, opts) {
            Ok(df) => return Ok(df),
            Err(polars_err) => {
                let fixed = repair(path, bytes, schema, opts, settings, first_line, Some(polars_err.to_string()))?;
                return polars_parse(&fixed, schema, columns, opts).map_err(|e| Error::decode(path, e));
            }
        }
    }
    let fixed = repair(path, bytes, schema, opts, settings, first_line, None)?;
    polars_parse(&fixed, schema, columns, opts).map_err(|e| Error::decode(path, e))
}

pub(super) fn polars_parse(
    bytes: &[u8],
    schema: &SchemaRef,
    columns: &[String],
    opts: &CsvOptions,
) -> PolarsResult<DataFrame> {
    if bytes.is_empty() || columns.is_empty() {
        // polars needs at least one column; count rows for a column-less frame.
        let rows = records::records(bytes, dialect(opts)).count();
        return Ok(crate::io::height_only(rows));
    }
    let cols: Arc<[PlSmallStr]> = columns.iter().map(|c| PlSmallStr::from(c.as_str())).collect();
    // Datetimes are read as text and parsed by dq's one ISO parser (polars'
    // accepts fewer forms and no offsets).
    let datetimes: Vec<PlSmallStr> =
        schema.iter().filter(|(_, t)| matches!(t, DataType::Datetime(..))).map(|(n, _)| n.clone()).collect();
    let read_schema = if datetimes.is_empty() {
        schema.clone()
    } else {
        let mut s = schema.as_ref().clone();
        for n in &datetimes {
            s.with_column(n.clone(), DataType::String);
        }
        Arc::new(s)
    };
    let mut df = CsvReadOptions::default()
        .with_has_header(false)
        .with_schema(Some(read_schema))
        .with_columns(Some(cols))
        .with_n_threads(Some(1))
        .with_rechunk(false)
        .with_parse_options(parse_options(opts))
        .into_reader_with_file_handle(std::io::Cursor::new(bytes))
        .finish()?;
    for name in &datetimes {
        if df.get_column_index(name).is_none() {
            continue;
        }
        let text = df.column(name)?.str()?.clone();
        let parsed = temporal::text_to_datetimes(&text);
        if parsed.null_count() != text.null_count() {
            // A value that is not a datetime: the caller finds and reports it.
            polars_bail!(ComputeError: "a value of column `{name}` is not a datetime");
        }
        df.replace(name, parsed.into_series().with_name(name.clone()))?;
    }
    Ok(df)
}

/// Slow path for a chunk that failed: finds every bad record. Under
/// [`BadRowPolicy::Error`] the first one becomes the error; otherwise the
/// chunk is rewritten without (or with nulled) bad records.
fn repair(
    path: &Path,
    bytes: &[u8],
    schema: &SchemaRef,
    opts: &CsvOptions,
    settings: &ReadSettings,
    first_line: &dyn Fn() -> u64,
    polars_message: Option<String>,
) -> Result<Vec<u8>> {
    let d = dialect(opts);
    let dtypes: Vec<DataType> = schema.iter_values().cloned().collect();
    let names: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
    let mut out = Vec::with_capacity(bytes.len());
    let mut bad = 0u64;
    for rec in records::records(bytes, d) {
        let bad_text = std::str::from_utf8(&bytes[rec.start..rec.end]).is_err();
        let problem = if bad_text {
            // The parser read it lossily: the field holding U+FFFD is the one.
            let at = rec.fields.iter().position(|f| f.contains('\u{FFFD}'));
            let name =
                at.map_or(String::new(), |i| format!(" in column `{}`", names.get(i).map_or("", |n| n.as_str())));
            Some((at.map(|i| i + 1), format!("invalid UTF-8{name}")))
        } else {
            check_record(&rec, &dtypes, &names, opts)
        };
        let Some((column, message)) = problem else {
            // Written back normalized, so polars reads it as this parser did.
            for (i, (field, &quoted)) in rec.fields.iter().zip(&rec.quoted).enumerate() {
                if i > 0 {
                    out.push(d.delimiter);
                }
                records::write_field(&mut out, field, quoted, d);
            }
            out.push(b'\n');
            continue;
        };
        bad += 1;
        match settings.bad_rows {
            BadRowPolicy::Error => {
                let line = first_line() + records::line_of(bytes, rec.start) - 1;
                let hint = if column.is_some() && !bad_text { VALUE_HINT } else { COUNT_HINT };
                return Err(Error::BadRecord { path: path.into(), line, column, message, hint: hint.into() });
            }
            BadRowPolicy::Skip => {}
            BadRowPolicy::Null => write_nulled(&mut out, &rec, &dtypes, opts, bad_text),
        }
    }
    if bad == 0 {
        // Nothing we can point at: report polars' own complaint with the chunk's first line.
        let line = first_line();
        let message = polars_message.unwrap_or_else(|| "malformed CSV".into());
        return Err(Error::BadRecord {
            path: path.into(),
            line,
            column: None,
            message: format!("in the records from here on: {message}"),
            hint: VALUE_HINT.into(),
        });
    }
    settings.bad_rows_seen.fetch_add(bad, Ordering::Relaxed);
    Ok(out)
}

/// The first problem of a record: (1-based field, message).
fn check_record(
    rec: &Record,
    dtypes: &[DataType],
    names: &[String],
    opts: &CsvOptions,
) -> Option<(Option<usize>, String)> {
    if rec.fields.len() != dtypes.len() {
        return Some((None, format!("expected {} fields, found {}", dtypes.len(), rec.fields.len())));
    }
    for (i, (field, dtype)) in rec.fields.iter().zip(dtypes).enumerate() {
        if field.is_empty() || opts.null_values.iter().any(|n| n == field) {
            continue;
        }
        if !value_parses(field, dtype) {
            return Some((
                Some(i + 1),
                format!(
                    "cannot read \"{field}\" as {} in column `{}` (field {})",
                    crate::io::type_name(dtype),
                    names[i],
                    i + 1
                ),
            ));
        }
    }
    None
}

fn value_parses(field: &str, dtype: &DataType) -> bool {
    let f = field.trim();
    match dtype {
        DataType::Int64 | DataType::Int32 | DataType::Int16 | DataType::Int8 => f.parse::<i64>().is_ok(),
        DataType::UInt64 | DataType::UInt32 | DataType::UInt16 | DataType::UInt8 => f.parse::<u64>().is_ok(),
        DataType::Float64 | DataType::Float32 => f.parse::<f64>().is_ok(),
        DataType::Boolean => f.eq_ignore_ascii_case("true") || f.eq_ignore_ascii_case("false"),
        DataType::Date => f.len() == 10 && temporal::parse_date(f).is_some(),
        DataType::Datetime(..) => temporal::parse_datetime(f).is_some(),
        _ => true,
    }
}

/// Writes `rec` with the expected field count, bad values emptied (null).
fn write_nulled(out: &mut Vec<u8>, rec: &Record, dtypes: &[DataType], opts: &CsvOptions, bad_text: bool) {
    for (i, dtype) in dtypes.iter().enumerate() {
        if i > 0 {
            out.push(opts.delimiter);
        }
        let Some(field) = rec.fields.get(i) else { continue };
        let unreadable = bad_text && field.contains('\u{FFFD}');
        if unreadable
            || !field.is_empty() && !opts.null_values.iter().any(|n| n == field) && !value_parses(field, dtype)
        {
            continue;
        }
        records::write_field(out, field, rec.quoted[i], dialect(opts));
    }
    out.push(b'\n');
}

/// Delimiters tried when a scan names none, in order of preference.
const SNIFFED: [u8; 4] = [b',', b'\t', b';', b'|'];

/// The delimiter the first records of `head` (a file's first bytes) use:
/// the candidate that splits every one of up to 20 records into the same
/// number of fields, more than one; the most fields wins, a tie goes to the
/// earlier candidate (`,` first). `None` when no candidate is consistent.
/// `whole`: `head` is the whole file (its last record is complete).
pub(crate) fn sniff_delimiter(head: &[u8], quote: Option<u8>, whole: bool) -> Option<u8> {
    let mut best: Option<(u8, usize)> = None;
    for delimiter in SNIFFED {
        let dialect = Dialect { delimiter, quote };
        let mut counts = Vec::new();
        let mut at = if head.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
        // Only whole records: the last one in `head` may be cut short.
        while counts.len() < 20 {
            let record = records::parse_record(head, at, dialect);
            let cut = record.end > head.len() || (record.end == head.len() && !whole);
            if cut || record.end <= at {
                break;
            }
            if !record.fields.iter().all(String::is_empty) {
                counts.push(record.fields.len());
            }
            at = record.end;
        }
        let consistent = counts.first().filter(|&&n| n > 1 && counts.iter().all(|c| c == &n));
        if let Some(&n) = consistent {
            if best.is_none_or(|(_, m)| n > m) {
                best = Some((delimiter, n));
            }
        }
    }
    best.map(|(d, _)| d)
}

#[cfg(test)]
mod sniff_tests {
    use super::sniff_delimiter;

    #[test]
    fn the_consistent_delimiter_with_most_fields_wins() {
        let q = Some(b'"');
        assert_eq!(sniff_delimiter(b"a;b;c\n1;2,5;3\n4;5;6\n", q, true), Some(b';'));
        assert_eq!(sniff_delimiter(b"a\tb\n1\t2\n", q, true), Some(b'\t'));
        assert_eq!(sniff_delimiter(b"a|b\n1|2\n", q, true), Some(b'|'));
        assert_eq!(sniff_delimiter(b"a,b\n1,2\n", q, true), Some(b','));
        // A quoted comma does not count; `;` is consistent.
        assert_eq!(sniff_delimiter(b"a;b\n\"x,y\";2\n", q, true), Some(b';'));
        // One column: no guess; a record cut short at the end is not counted.
        assert_eq!(sniff_delimiter(b"a\n1\n2\n", q, true), None);
        assert_eq!(sniff_delimiter(b"a;b\n1;2\n3;", q, false), Some(b';'));
    }
}
