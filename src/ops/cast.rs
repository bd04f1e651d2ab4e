//! `cast(x, type)` with one meaning for columns and literals alike (polars
//! folds casts of literals its own way: a date literal became "19727", `true`
//! became "1"). A value that does not convert becomes null (like SQL's
//! `TRY_CAST`):
//!
//! * text → int / float: surrounding whitespace is ignored; `"1.5"` is not
//!   an int (null); floats accept `NaN` and `inf`;
//! * text → bool: `true`/`false`/`1`/`0`, any case, trimmed;
//! * text → date / datetime: ISO 8601 ([`crate::temporal`]: `T` or a space,
//!   a fraction, `Z` or an offset, converted to UTC);
//! * bool → text: `true`/`false`; date → text: `YYYY-MM-DD`; datetime →
//!   text: `YYYY-MM-DD HH:MM:SS` with a fraction only when there is one;
//! * float → int truncates toward zero; out of range is null.

use polars::prelude::*;

/// `e` cast to `to`.
pub fn cast(e: Expr, to: DataType) -> Expr {
    let out = to.clone();
    e.map(move |c| cast_column(&c, &to).map(Some), GetOutput::from_type(out))
}

/// `to_datetime(s, format)`: text parsed with a strftime `format` (a format
/// without a time reads midnight); null where it does not parse.
pub fn parse_datetime_with(e: Expr, format: String) -> Expr {
    let dtype = DataType::Datetime(TimeUnit::Microseconds, None);
    e.map(
        move |c| {
            let parse = |s: &str| {
                let s = s.trim();
                chrono::NaiveDateTime::parse_from_str(s, &format)
                    .ok()
                    .or_else(|| chrono::NaiveDate::parse_from_str(s, &format).ok()?.and_hms_opt(0, 0, 0))
                    .map(|dt| dt.and_utc().timestamp_micros())
            };
            let us: Int64Chunked = c.str()?.into_iter().map(|v| v.and_then(parse)).collect();
            Ok(Some(
                us.into_datetime(TimeUnit::Microseconds, None).into_series().with_name(c.name().clone()).into_column(),
            ))
        },
        GetOutput::from_type(dtype),
    )
}

fn cast_column(c: &Column, to: &DataType) -> PolarsResult<Column> {
    let name = c.name().clone();
    match (c.dtype(), to) {
        (from, to) if from == to => Ok(c.clone()),
        (DataType::String, DataType::Boolean) => {
            let out: BooleanChunked = c.str()?.into_iter().map(|v| v.and_then(parse_bool)).collect();
            Ok(out.with_name(name).into_column())
        }
        (DataType::String, DataType::Int64) => {
            let out: Int64Chunked = c.str()?.into_iter().map(|v| v.and_then(|s| s.trim().parse().ok())).collect();
            Ok(out.with_name(name).into_column())
        }
        (DataType::String, DataType::Float64) => {
            let out: Float64Chunked =
                c.str()?.into_iter().map(|v| v.and_then(|s| s.trim().parse::<f64>().ok())).collect();
            Ok(out.with_name(name).into_column())
        }
        (DataType::Boolean, DataType::String) => {
            let out: StringChunked =
                c.bool()?.into_iter().map(|v| v.map(|b| if b { "true" } else { "false" })).collect();
            Ok(out.with_name(name).into_column())
        }
        (DataType::String, DataType::Datetime(..)) => {
            Ok(crate::temporal::text_to_datetimes(c.str()?).into_series().with_name(name).into_column())
        }
        (DataType::String, DataType::Date) => {
            let days: Int32Chunked = c.str()?.into_iter().map(|v| v.and_then(crate::temporal::parse_date)).collect();
            Ok(days.into_date().into_series().with_name(name).into_column())
        }
        (DataType::String, DataType::Duration(_)) => {
            let us: Int64Chunked =
                c.str()?.into_iter().map(|v| v.and_then(|s| crate::duration::parse_interval(s).ok())).collect();
            Ok(us.into_duration(TimeUnit::Microseconds).into_series().with_name(name).into_column())
        }
        (DataType::Duration(_), DataType::String) => {
            Ok(crate::duration::durations_to_text(c)?.with_name(name).into_column())
        }
        (DataType::Datetime(..), DataType::String) => {
            Ok(crate::temporal::datetimes_to_text(c)?.with_name(name).into_column())
        }
        (DataType::Date, DataType::String) => {
            let out = c.as_materialized_series().date()?.to_string("%Y-%m-%d")?;
            Ok(out.into_series().with_name(name).into_column())
        }
        _ => c.cast_with_options(to, polars_core::chunked_array::cast::CastOptions::NonStrict),
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    let t = s.trim();
    if t.eq_ignore_ascii_case("true") || t == "1" {
        Some(true)
    } else if t.eq_ignore_ascii_case("false") || t == "0" {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_converts_or_becomes_null() {
        let c = Column::new("s".into(), [" 12", "1.5", "x", "TRUE", "0"]);
        let ints = cast_column(&c, &DataType::Int64).unwrap();
        assert_eq!(ints.i64().unwrap().into_iter().collect::<Vec<_>>(), vec![Some(12), None, None, None, Some(0)]);
        let bools = cast_column(&c, &DataType::Boolean).unwrap();
        assert_eq!(
            bools.bool().unwrap().into_iter().collect::<Vec<_>>(),
            vec![None, None, None, Some(true), Some(false)]
        );
        let floats = cast_column(&Column::new("s".into(), ["NaN", "-inf", "2"]), &DataType::Float64).unwrap();
        let f: Vec<f64> = floats.f64().unwrap().into_no_null_iter().collect();
        assert!(f[0].is_nan() && f[1] == f64::NEG_INFINITY && f[2] == 2.0);
    }

    #[test]
    fn bools_and_dates_print_as_they_read() {
        let b = cast_column(&Column::new("b".into(), [true, false]), &DataType::String).unwrap();
        assert_eq!(b.str().unwrap().into_no_null_iter().collect::<Vec<_>>(), vec!["true", "false"]);
        let d = Column::new("d".into(), [19727i32]).cast(&DataType::Date).unwrap();
        let s = cast_column(&d, &DataType::String).unwrap();
        assert_eq!(s.str().unwrap().get(0), Some("2024-01-05"));
    }
}
