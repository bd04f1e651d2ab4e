//! Calendar kernels: truncating, moving and differencing dates and
//! datetimes by units of time. Dates are days since 1970-01-01, datetimes
//! microseconds since 1970-01-01 00:00:00 UTC (read as UTC throughout).
//! Months and years move by the calendar (Jan 31 + 1 month is the last day
//! of February, as in DuckDB and PostgreSQL); shorter units by their length.

use chrono::{DateTime, Datelike, Months, NaiveDate, NaiveDateTime};
use polars::prelude::*;

use crate::temporal::Zone;

const US_PER_DAY: i64 = 86_400_000_000;

/// A unit of time (`date_trunc`, `date_diff`, `date_add`).
#[allow(missing_docs)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Year,
    Quarter,
    Month,
    Week,
    Day,
    Hour,
    Minute,
    Second,
}

impl Unit {
    /// The unit by its dq name.
    pub fn from_name(name: &str) -> Option<Unit> {
        Some(match name {
            "year" => Unit::Year,
            "quarter" => Unit::Quarter,
            "month" => Unit::Month,
            "week" => Unit::Week,
            "day" => Unit::Day,
            "hour" => Unit::Hour,
            "minute" => Unit::Minute,
            "second" => Unit::Second,
            _ => return None,
        })
    }

    /// Calendar months in one unit, for the units measured in months.
    fn months(self) -> Option<u32> {
        match self {
            Unit::Year => Some(12),
            Unit::Quarter => Some(3),
            Unit::Month => Some(1),
            _ => None,
        }
    }

    /// Microseconds in one unit, for the units of fixed length.
    fn micros(self) -> i64 {
        match self {
            Unit::Week => 7 * US_PER_DAY,
            Unit::Day => US_PER_DAY,
            Unit::Hour => 3_600_000_000,
            Unit::Minute => 60_000_000,
            _ => 1_000_000,
        }
    }
}

fn to_datetime(us: i64) -> Option<NaiveDateTime> {
    DateTime::from_timestamp_micros(us).map(|d| d.naive_utc())
}

fn to_micros(dt: NaiveDateTime) -> i64 {
    dt.and_utc().timestamp_micros()
}

/// Months since year 0 (a month index that differences count boundaries with).
fn month_index(dt: NaiveDateTime) -> i64 {
    dt.year() as i64 * 12 + dt.month0() as i64
}

/// The start of the unit `us` falls in. Weeks start on Monday (ISO).
fn trunc_micros(us: i64, unit: Unit) -> Option<i64> {
    if let Some(m) = unit.months() {
        let dt = to_datetime(us)?;
        let month0 = dt.month0() / m * m;
        return NaiveDate::from_ymd_opt(dt.year(), month0 + 1, 1).map(|d| to_micros(d.and_time(Default::default())));
    }
    if unit == Unit::Week {
        let day = us.div_euclid(US_PER_DAY);
        // 1970-01-01 was a Thursday: day 0 is 3 days after a Monday.
        let monday = day - (day + 3).rem_euclid(7);
        return Some(monday * US_PER_DAY);
    }
    Some(us - us.rem_euclid(unit.micros()))
}

/// `us` moved by `n` units.
fn add_micros(us: i64, n: i64, unit: Unit) -> Option<i64> {
    match unit.months() {
        Some(m) => {
            let months = n.checked_mul(m as i64)?;
            let dt = to_datetime(us)?;
            let moved = if months >= 0 {
                dt.checked_add_months(Months::new(u32::try_from(months).ok()?))
            } else {
                dt.checked_sub_months(Months::new(u32::try_from(months.unsigned_abs()).ok()?))
            };
            moved.map(to_micros)
        }
        None => us.checked_add(n.checked_mul(unit.micros())?),
    }
}

/// Unit boundaries crossed from `a` to `b` (negative when `b` is earlier):
/// `date_diff("month", Jan 31, Feb 1)` is 1, as in DuckDB.
fn diff_micros(a: i64, b: i64, unit: Unit) -> Option<i64> {
    match unit.months() {
        Some(m) => {
            let (a, b) = (to_datetime(a)?, to_datetime(b)?);
            let m = m as i64;
            Some(month_index(b).div_euclid(m) - month_index(a).div_euclid(m))
        }
        None => {
            Some(trunc_micros(b, unit)?.div_euclid(unit.micros()) - trunc_micros(a, unit)?.div_euclid(unit.micros()))
        }
    }
}

/// A date or datetime column as microseconds since the epoch (UTC).
fn micros_of(c: &Column) -> PolarsResult<Int64Chunked> {
    match c.dtype() {
        DataType::Date => {
            let days = c.as_materialized_series().date()?.physical().clone();
            Ok(days.into_iter().map(|d| d.map(|d| d as i64 * US_PER_DAY)).collect())
        }
        DataType::Datetime(_, tz) => {
            let c = c.cast(&DataType::Datetime(TimeUnit::Microseconds, tz.clone()))?;
            Ok(c.as_materialized_series().datetime()?.physical().clone())
        }
        _ => Ok(Int64Chunked::full_null(c.name().clone(), c.len())),
    }
}

/// Microseconds back into the type of `like` (a date keeps whole days).
fn as_type_of(us: Int64Chunked, like: &DataType, name: PlSmallStr) -> PolarsResult<Column> {
    let series = match like {
        DataType::Date => {
            let days: Int32Chunked = us.into_iter().map(|v| v.map(|v| v.div_euclid(US_PER_DAY) as i32)).collect();
            days.into_date().into_series()
        }
        DataType::Datetime(_, tz) => us.into_datetime(TimeUnit::Microseconds, tz.clone()).into_series().cast(like)?,
        other => Series::full_null(name.clone(), us.len(), other),
    };
    Ok(series.with_name(name).into_column())
}

/// Rows of the result of two inputs, one of which may be a constant (one
/// value): none when either has none.
fn rows_of(a: usize, b: usize) -> usize {
    if a == 0 || b == 0 {
        0
    } else {
        a.max(b)
    }
}

/// The value at row `i` of a column of length `len` or 1 (a constant).
fn at<T: Copy>(values: &[Option<T>], i: usize) -> Option<T> {
    if values.len() == 1 {
        values[0]
    } else {
        values[i]
    }
}

/// `date_trunc(unit, t)`, of t's type.
pub fn trunc(t: Expr, unit: Unit) -> Expr {
    t.map(
        move |c| {
            let us: Int64Chunked = micros_of(&c)?.into_iter().map(|v| v.and_then(|v| trunc_micros(v, unit))).collect();
            as_type_of(us, c.dtype(), c.name().clone()).map(Some)
        },
        GetOutput::same_type(),
    )
}

/// `in_tz(t, zone)` (`to_local`) or `from_tz(t, zone)`: a datetime moved
/// between UTC and the wall clock of `zone` ([`Zone`]).
pub fn in_zone(t: Expr, zone: Zone, to_local: bool) -> Expr {
    t.map(
        move |c| {
            let us: Int64Chunked = micros_of(&c)?
                .into_iter()
                .map(|v| v.and_then(|v| if to_local { zone.to_local(v) } else { zone.from_local(v) }))
                .collect();
            let out = us.into_datetime(TimeUnit::Microseconds, None).into_series();
            Ok(Some(out.with_name(c.name().clone()).into_column()))
        },
        GetOutput::from_type(DataType::Datetime(TimeUnit::Microseconds, None)),
    )
}

/// `date_add(t, n, unit)`, of t's type: an error where the result leaves
/// the calendar (as an integer overflow is).
pub fn add(t: Expr, n: Expr, unit: Unit) -> Expr {
    polars::lazy::dsl::map_multiple(
        move |cols: &mut [Column]| {
            let us: Vec<Option<i64>> = micros_of(&cols[0])?.into_iter().collect();
            let n: Vec<Option<i64>> = cols[1].cast(&DataType::Int64)?.i64()?.into_iter().collect();
            let len = rows_of(us.len(), n.len());
            let moved = (0..len)
                .map(|i| match (at(&us, i), at(&n, i)) {
                    (Some(v), Some(k)) => add_micros(v, k, unit).map(Some).ok_or_else(|| {
                        let from = to_datetime(v).map_or(v.to_string(), |t| t.to_string());
                        polars_err!(ComputeError: "date overflow: {from} moved by {k} {}s is outside the calendar", format!("{unit:?}").to_lowercase())
                    }),
                    _ => Ok(None),
                })
                .collect::<PolarsResult<Int64Chunked>>()?;
            as_type_of(moved, cols[0].dtype(), cols[0].name().clone()).map(Some)
        },
        [t, n],
        GetOutput::same_type(),
    )
}

/// `date_diff(unit, a, b)`: boundaries of `unit` crossed from a to b.
pub fn diff(a: Expr, b: Expr, unit: Unit) -> Expr {
    polars::lazy::dsl::map_multiple(
        move |cols: &mut [Column]| {
            let a: Vec<Option<i64>> = micros_of(&cols[0])?.into_iter().collect();
            let b: Vec<Option<i64>> = micros_of(&cols[1])?.into_iter().collect();
            let len = rows_of(a.len(), b.len());
            let out: Int64Chunked = (0..len)
                .map(|i| match (at(&a, i), at(&b, i)) {
                    (Some(x), Some(y)) => diff_micros(x, y, unit),
                    _ => None,
                })
                .collect();
            Ok(Some(out.with_name(cols[0].name().clone()).into_column()))
        },
        [a, b],
        GetOutput::from_type(DataType::Int64),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn us(s: &str) -> i64 {
        crate::temporal::parse_datetime(s).unwrap()
    }

    #[test]
    fn truncation_finds_the_start_of_each_unit() {
        let t = us("2024-05-15 13:45:30.250");
        let cases = [
            (Unit::Year, "2024-01-01 00:00:00"),
            (Unit::Quarter, "2024-04-01 00:00:00"),
            (Unit::Month, "2024-05-01 00:00:00"),
            (Unit::Week, "2024-05-13 00:00:00"),
            (Unit::Day, "2024-05-15 00:00:00"),
            (Unit::Hour, "2024-05-15 13:00:00"),
            (Unit::Minute, "2024-05-15 13:45:00"),
            (Unit::Second, "2024-05-15 13:45:30"),
        ];
        for (unit, want) in cases {
            assert_eq!(trunc_micros(t, unit), Some(us(want)), "{unit:?}");
        }
        // Before 1970 too: a Sunday's week started the Monday before.
        assert_eq!(trunc_micros(us("1969-12-28 10:00:00"), Unit::Week), Some(us("1969-12-22 00:00:00")));
    }

    #[test]
    fn adding_months_clamps_to_the_end_of_the_month() {
        assert_eq!(add_micros(us("2024-01-31 08:00:00"), 1, Unit::Month), Some(us("2024-02-29 08:00:00")));
        assert_eq!(add_micros(us("2024-03-31 00:00:00"), -1, Unit::Quarter), Some(us("2023-12-31 00:00:00")));
        assert_eq!(add_micros(us("2024-02-29 00:00:00"), 1, Unit::Year), Some(us("2025-02-28 00:00:00")));
        assert_eq!(add_micros(us("2024-02-28 23:00:00"), 2, Unit::Hour), Some(us("2024-02-29 01:00:00")));
        assert_eq!(add_micros(0, i64::MAX, Unit::Day), None);
    }

    #[test]
    fn differences_count_boundaries_crossed() {
        let d = |unit, a, b| diff_micros(us(a), us(b), unit);
        assert_eq!(d(Unit::Month, "2024-01-31 00:00:00", "2024-02-01 00:00:00"), Some(1));
        assert_eq!(d(Unit::Year, "2024-12-31 23:59:59", "2023-01-01 00:00:00"), Some(-1));
        assert_eq!(d(Unit::Day, "2024-01-01 23:00:00", "2024-01-02 01:00:00"), Some(1));
        assert_eq!(d(Unit::Hour, "2024-01-01 10:59:00", "2024-01-01 10:01:00"), Some(0));
        // Monday to Sunday is the same week; Sunday to Monday crosses one.
        assert_eq!(d(Unit::Week, "2024-05-13 00:00:00", "2024-05-19 00:00:00"), Some(0));
        assert_eq!(d(Unit::Week, "2024-05-19 00:00:00", "2024-05-20 00:00:00"), Some(1));
        assert_eq!(d(Unit::Quarter, "2024-03-31 00:00:00", "2024-04-01 00:00:00"), Some(1));
    }
}
