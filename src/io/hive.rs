//! Hive-style partitions: `key=value` directories between a scan's files
//! and their root (`out/region=EU/year=2024/part-0.parquet`), as Hive,
//! Spark, DuckDB and Polars write them. Their values become columns of
//! every row of the file, typed from all the files' values, and a filter on
//! them rules out whole files before anything is read.
//!
//! A value is written percent-encoded where it would not be a safe path
//! segment, and null as [`NULL_VALUE`] (Hive's name for it).

use std::path::Path;

use polars::prelude::*;

use super::parquet::{StatValue, StatsFilter, StatsOp};

/// The directory value that stands for null.
pub const NULL_VALUE: &str = "__HIVE_DEFAULT_PARTITION__";

/// The partition columns of a scan's files: names in directory order, their
/// types, and each file's values.
#[derive(Debug, Clone, Default)]
pub struct Partitions {
    /// Column names and types.
    pub columns: Vec<(String, DataType)>,
    /// Per file, one value per column (`AnyValue::Null` for null).
    pub values: Vec<Vec<AnyValue<'static>>>,
}

impl Partitions {
    /// The `key=value` directories of every path, when every path has the
    /// same keys in the same order (none otherwise: a glob over unrelated
    /// directories gains no columns).
    pub fn detect(paths: &[impl AsRef<Path>]) -> Partitions {
        let per_file: Vec<Vec<(String, Option<String>)>> = paths.iter().map(|p| pairs(p.as_ref())).collect();
        let Some(first) = per_file.first() else { return Partitions::default() };
        let names: Vec<&String> = first.iter().map(|(k, _)| k).collect();
        let same = per_file.iter().all(|f| f.len() == names.len() && f.iter().zip(&names).all(|((k, _), n)| k == *n));
        if names.is_empty() || !same {
            return Partitions::default();
        }
        let columns: Vec<(String, DataType)> = names
            .iter()
            .enumerate()
            .map(|(i, name)| {
                let values = per_file.iter().filter_map(|f| f[i].1.as_deref());
                ((*name).clone(), infer_type(values))
            })
            .collect();
        let values = per_file
            .iter()
            .map(|f| f.iter().zip(&columns).map(|((_, v), (_, dtype))| typed(v.as_deref(), dtype)).collect())
            .collect();
        Partitions { columns, values }
    }

    /// Whether file `file` may hold rows passing every filter (false only
    /// when a filter on a partition column fails on the file's value).
    pub fn may_match(&self, file: usize, filters: &[StatsFilter]) -> bool {
        filters.iter().all(|f| match self.columns.iter().position(|(name, _)| *name == f.column) {
            Some(c) => self.values.get(file).is_none_or(|v| may_pass(&v[c], f)),
            None => true,
        })
    }
}

/// The `key=value` components of `path`'s directories, values decoded.
fn pairs(path: &Path) -> Vec<(String, Option<String>)> {
    let Some(dir) = path.parent() else { return Vec::new() };
    dir.components()
        .filter_map(|c| {
            let c = c.as_os_str().to_str()?;
            let (key, value) = c.split_once('=')?;
            if key.is_empty() || key.contains('=') {
                return None;
            }
            let value = (value != NULL_VALUE).then(|| decode(value));
            Some((decode(key), value))
        })
        .collect()
}

/// The narrowest type every value reads as: integer, float, date
/// (`YYYY-MM-DD`), boolean, else text.
fn infer_type<'a>(values: impl Iterator<Item = &'a str> + Clone) -> DataType {
    let all = |ok: fn(&str) -> bool| values.clone().all(ok);
    if values.clone().next().is_none() {
        DataType::String
    } else if all(|v| v.parse::<i64>().is_ok()) {
        DataType::Int64
    } else if all(|v| v.parse::<f64>().is_ok_and(f64::is_finite)) {
        DataType::Float64
    } else if all(|v| parse_date(v).is_some()) {
        DataType::Date
    } else if all(|v| v == "true" || v == "false") {
        DataType::Boolean
    } else {
        DataType::String
    }
}

/// `value` as `dtype` (which [`infer_type`] chose for it).
fn typed(value: Option<&str>, dtype: &DataType) -> AnyValue<'static> {
    let Some(v) = value else { return AnyValue::Null };
    let parsed = match dtype {
        DataType::Int64 => v.parse().ok().map(AnyValue::Int64),
        DataType::Float64 => v.parse().ok().map(AnyValue::Float64),
        DataType::Date => parse_date(v).map(AnyValue::Date),
        DataType::Boolean => Some(AnyValue::Boolean(v == "true")),
        _ => None,
    };
    parsed.unwrap_or_else(|| AnyValue::StringOwned(v.into()))
}

/// Days since 1970-01-01 of a `YYYY-MM-DD` date (exactly that spelling).
fn parse_date(v: &str) -> Option<i32> {
    (v.len() == 10).then(|| crate::temporal::parse_date(v)).flatten()
}

/// Whether a row with `value` may pass `filter` (nulls never do).
fn may_pass(value: &AnyValue, filter: &StatsFilter) -> bool {
    use std::cmp::Ordering;
    let order: Option<Ordering> = match (value, &filter.value) {
        (AnyValue::Null, _) => return false,
        (AnyValue::Int64(a), StatValue::Int(b)) => Some(a.cmp(b)),
        (AnyValue::Int64(a), StatValue::Float(b)) => (*a as f64).partial_cmp(b),
        (AnyValue::Float64(a), StatValue::Float(b)) => a.partial_cmp(b),
        (AnyValue::Float64(a), StatValue::Int(b)) => a.partial_cmp(&(*b as f64)),
        (AnyValue::Date(a), StatValue::Int(b)) => Some(i64::from(*a).cmp(b)),
        (AnyValue::StringOwned(a), StatValue::Str(b)) => Some(a.as_str().cmp(b.as_str())),
        _ => None,
    };
    let Some(order) = order else { return true };
    match filter.op {
        StatsOp::Eq => order == Ordering::Equal,
        StatsOp::Lt => order == Ordering::Less,
        StatsOp::LtEq => order != Ordering::Greater,
        StatsOp::Gt => order == Ordering::Greater,
        StatsOp::GtEq => order != Ordering::Less,
    }
}

/// Bytes kept as they are in a path segment; everything else is `%XX`.
fn is_plain(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b' ' | b'+' | b',' | b'@' | b'~')
}

/// `value` as a directory name's value: percent-encoded outside a safe set,
/// so `/`, `=`, `%` and control bytes never reach the path (the whole
/// segment is `key=value`, never `.` or `..`).
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for &b in value.as_bytes() {
        if is_plain(b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `%XX` decoded (an invalid escape is kept as written).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let hex = |b: u8| (b as char).to_digit(16);
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if let (b'%', Some(&hi), Some(&lo)) = (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            if let (Some(hi), Some(lo)) = (hex(hi), hex(lo)) {
                out.push((hi * 16 + lo) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_survive_encoding_and_decoding() {
        for v in ["EU", "a/b", "x=y", "100%", "", "é ü", "..", "tab\there", "%41"] {
            let e = encode(v);
            assert!(!e.contains(['/', '=', '\t']), "{v:?} -> {e:?}");
            assert_eq!(decode(&e), v);
        }
    }

    #[test]
    fn keys_types_and_nulls_come_from_the_directories() {
        let paths = [
            "d/year=2024/day=2024-01-02/region=EU/n=1.5/part-0.parquet",
            "d/year=2023/day=2023-12-31/region=__HIVE_DEFAULT_PARTITION__/n=2/part-0.parquet",
        ];
        let p = Partitions::detect(&paths);
        let types: Vec<(&str, &DataType)> = p.columns.iter().map(|(n, t)| (n.as_str(), t)).collect();
        assert_eq!(
            types,
            [
                ("year", &DataType::Int64),
                ("day", &DataType::Date),
                ("region", &DataType::String),
                ("n", &DataType::Float64)
            ]
        );
        assert_eq!(p.values[0][0], AnyValue::Int64(2024));
        assert_eq!(p.values[0][1], AnyValue::Date(19724));
        assert_eq!(p.values[1][2], AnyValue::Null);
        assert_eq!(p.values[1][3], AnyValue::Float64(2.0));
    }

    #[test]
    fn files_with_other_keys_give_no_columns() {
        assert!(Partitions::detect(&["a/x=1/f.csv", "a/y=1/f.csv"]).columns.is_empty());
        assert!(Partitions::detect(&["a/x=1/f.csv", "a/f.csv"]).columns.is_empty());
        assert!(Partitions::detect(&["a/b/f.csv"]).columns.is_empty());
    }

    #[test]
    fn filters_rule_out_files_by_their_values() {
        let p = Partitions::detect(&[
            "d/year=2023/r=EU/f.csv",
            "d/year=2024/r=US/f.csv",
            "d/year=2025/r=__HIVE_DEFAULT_PARTITION__/f.csv",
        ]);
        let f = |column: &str, op, value| StatsFilter { column: column.into(), op, value };
        let keep = |filters: &[StatsFilter]| (0..3).filter(|&i| p.may_match(i, filters)).collect::<Vec<_>>();
        assert_eq!(keep(&[f("year", StatsOp::GtEq, StatValue::Int(2024))]), [1, 2]);
        assert_eq!(keep(&[f("year", StatsOp::Lt, StatValue::Float(2024.5))]), [0, 1]);
        assert_eq!(keep(&[f("r", StatsOp::Eq, StatValue::Str("US".into()))]), [1]);
        // A filter of another type, or on another column, rules nothing out.
        assert_eq!(keep(&[f("r", StatsOp::Eq, StatValue::Int(1))]), [0, 1]);
        assert_eq!(keep(&[f("other", StatsOp::Eq, StatValue::Int(1))]), [0, 1, 2]);
    }
}
