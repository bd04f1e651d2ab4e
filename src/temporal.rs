//! Dates and datetimes as text: the one parser and the one spelling dq uses
//! everywhere (CSV type inference and reading, `cast`, literals compared
//! with temporal columns, and every text output). A leaf with no dq
//! dependencies (polars types only), so that `io`, `ops` and `plan` can all
//! share it.
//!
//! Accepted datetimes are ISO 8601 in both common forms:
//! `2024-02-01 11:00:00`, `2024-02-01T11:00:00`, with or without seconds,
//! with a fraction of up to 9 digits, and with `Z` or an offset (`+02:00`,
//! `-0530`, `+02`), which is converted to UTC (datetimes are stored without
//! a zone, in UTC). A bare date reads as midnight. The spelling written back
//! is `2024-02-01 11:00:00`, with a fraction only when there is one
//! (`2024-02-01 11:00:00.25`).

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike};
use polars::prelude::{Column, DataType, DatetimeChunked, Int64Chunked, PolarsResult, StringChunked, TimeUnit};

/// Days from 0001-01-01 (chrono's "CE" count) to 1970-01-01.
const EPOCH_DAYS_FROM_CE: i32 = 719_163;

/// The chrono format of the canonical spelling (`%.f` prints a fraction
/// only when it is non-zero, with 3, 6 or 9 digits).
pub const DATETIME_FORMAT: &str = "%Y-%m-%d %H:%M:%S%.f";

/// Days since 1970-01-01 of `YYYY-MM-DD` (surrounding spaces ignored).
pub fn parse_date(s: &str) -> Option<i32> {
    let d = NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").ok()?;
    Some(d.num_days_from_ce() - EPOCH_DAYS_FROM_CE)
}

/// Microseconds since 1970-01-01 00:00:00 UTC of an ISO 8601 datetime (or
/// date), as described in the module docs.
pub fn parse_datetime(s: &str) -> Option<i64> {
    let s = s.trim();
    let b = s.as_bytes();
    if b.len() < 10 {
        return None;
    }
    let date = NaiveDate::parse_from_str(s.get(..10)?, "%Y-%m-%d").ok()?;
    if b.len() == 10 {
        return Some(micros(date.and_time(NaiveTime::MIN)));
    }
    if !matches!(b[10], b' ' | b'T' | b't') {
        return None;
    }
    let rest = &s[11..];
    // Split off a zone: `Z`, or a sign after the time's own digits.
    let (time, offset_secs) = if let Some(t) = rest.strip_suffix(['Z', 'z']) {
        (t, 0)
    } else if let Some(at) = rest.rfind(['+', '-']) {
        (&rest[..at], parse_offset(&rest[at..])?)
    } else {
        (rest, 0)
    };
    let time = parse_time(time)?;
    Some(micros(date.and_time(time)) - offset_secs * 1_000_000)
}

/// `HH:MM`, `HH:MM:SS` or `HH:MM:SS.fffffffff`.
fn parse_time(t: &str) -> Option<NaiveTime> {
    let fmt = match t.len() {
        5 => "%H:%M",
        8 => "%H:%M:%S",
        _ if t.len() > 9 && t.as_bytes()[8] == b'.' => "%H:%M:%S%.f",
        _ => return None,
    };
    NaiveTime::parse_from_str(t, fmt).ok()
}

/// `+HH:MM`, `+HHMM` or `+HH` (or `-`), in seconds east of UTC.
fn parse_offset(o: &str) -> Option<i64> {
    let sign = if o.starts_with('-') { -1 } else { 1 };
    let digits: String = o[1..].chars().filter(|c| *c != ':').collect();
    if !digits.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let (h, m) = match digits.len() {
        2 => (digits.parse::<i64>().ok()?, 0),
        4 => (digits[..2].parse::<i64>().ok()?, digits[2..].parse::<i64>().ok()?),
        _ => return None,
    };
    (h <= 23 && m <= 59).then_some(sign * (h * 3600 + m * 60))
}

fn micros(dt: NaiveDateTime) -> i64 {
    dt.and_utc().timestamp_micros()
}

/// The canonical spelling of a datetime given in microseconds since the epoch.
pub fn format_datetime(us: i64) -> String {
    match chrono::DateTime::from_timestamp_micros(us) {
        Some(dt) => {
            let dt = dt.naive_utc();
            let mut s = format!(
                "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
                dt.year(),
                dt.month(),
                dt.day(),
                dt.hour(),
                dt.minute(),
                dt.second()
            );
            let frac = dt.nanosecond() / 1000;
            if frac > 0 {
                let digits = format!("{frac:06}");
                s.push('.');
                s.push_str(digits.trim_end_matches('0'));
            }
            s
        }
        None => us.to_string(),
    }
}

/// A text column as datetimes (microseconds, UTC); null where a value is
/// not a datetime.
pub fn text_to_datetimes(text: &StringChunked) -> DatetimeChunked {
    let us: Int64Chunked = text.into_iter().map(|v| v.and_then(parse_datetime)).collect();
    us.into_datetime(TimeUnit::Microseconds, None)
}

/// A datetime column (any unit) in the canonical spelling.
pub fn datetimes_to_text(col: &Column) -> PolarsResult<StringChunked> {
    let us = col.cast(&DataType::Datetime(TimeUnit::Microseconds, None))?.to_physical_repr();
    Ok(us.i64()?.into_iter().map(|v| v.map(format_datetime)).collect())
}

/// Whether `s` looks like a datetime dq reads (for type inference).
pub fn is_datetime(s: &str) -> bool {
    s.trim().len() > 10 && parse_datetime(s).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOON: i64 = 1_706_788_800_000_000; // 2024-02-01 12:00:00 UTC

    #[test]
    fn both_iso_forms_fractions_and_zones() {
        for s in [
            "2024-02-01 12:00:00",
            "2024-02-01T12:00:00",
            "2024-02-01 12:00",
            "2024-02-01T12:00:00Z",
            "2024-02-01T13:00:00+01:00",
            "2024-02-01T13:30:00+0130",
            "2024-02-01 07:00:00-05",
            " 2024-02-01 12:00:00.000 ",
        ] {
            assert_eq!(parse_datetime(s), Some(NOON), "{s}");
        }
        assert_eq!(parse_datetime("2024-02-01 12:00:00.25"), Some(NOON + 250_000));
        assert_eq!(parse_datetime("2024-02-01"), Some(NOON - 12 * 3_600_000_000));
        for bad in ["2024-02-30 10:00:00", "2024-02-01 25:00:00", "2024-02-01X12:00", "noon", "2024-02-01 12:00+5"] {
            assert_eq!(parse_datetime(bad), None, "{bad}");
        }
    }

    #[test]
    fn one_spelling_with_a_fraction_only_when_present() {
        assert_eq!(format_datetime(NOON), "2024-02-01 12:00:00");
        assert_eq!(format_datetime(NOON + 250_000), "2024-02-01 12:00:00.25");
        assert_eq!(format_datetime(NOON + 1), "2024-02-01 12:00:00.000001");
        assert_eq!(parse_datetime(&format_datetime(NOON + 123_456)), Some(NOON + 123_456));
    }

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-02"), Some(1));
        assert_eq!(parse_date("2024-02-30"), None);
    }
}

/// A time zone for `in_tz` / `from_tz`: a fixed offset (`UTC`, `Z`,
/// `+02:00`, `-0530`, `+02`) or an IANA name (`Europe/Berlin`), whose
/// offset follows its daylight-saving rules.
#[derive(Debug, Clone, Copy)]
pub enum Zone {
    /// Seconds east of UTC.
    Fixed(chrono::FixedOffset),
    /// A zone of the tz database.
    Named(chrono_tz::Tz),
}

impl Zone {
    /// The zone `name` spells, if any.
    pub fn parse(name: &str) -> Option<Zone> {
        let name = name.trim();
        if name.eq_ignore_ascii_case("utc") || name == "Z" {
            return chrono::FixedOffset::east_opt(0).map(Zone::Fixed);
        }
        if let Some(sign) = name.strip_prefix('+').map(|r| (1, r)).or_else(|| name.strip_prefix('-').map(|r| (-1, r))) {
            let (sign, rest) = sign;
            // HH, HHMM or HH:MM.
            let digits: String = match rest.len() {
                2 | 4 => rest.to_string(),
                5 if rest.as_bytes()[2] == b':' => rest.replacen(':', "", 1),
                _ => return None,
            };
            if !digits.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            let hours: i32 = digits[..2].parse().ok()?;
            let minutes: i32 = if digits.len() == 4 { digits[2..].parse().ok()? } else { 0 };
            if hours > 23 || minutes > 59 {
                return None;
            }
            return chrono::FixedOffset::east_opt(sign * (hours * 3600 + minutes * 60)).map(Zone::Fixed);
        }
        name.parse::<chrono_tz::Tz>().ok().map(Zone::Named)
    }

    /// Every IANA zone name (for suggestions).
    pub fn names() -> impl Iterator<Item = &'static str> {
        chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())
    }

    /// The wall-clock time in this zone of the UTC instant `us`
    /// (microseconds since 1970-01-01), as microseconds.
    pub fn to_local(self, us: i64) -> Option<i64> {
        use chrono::{Offset, TimeZone};
        let utc = chrono::DateTime::from_timestamp_micros(us)?.naive_utc();
        let offset = match self {
            Zone::Fixed(f) => f.fix(),
            Zone::Named(tz) => tz.offset_from_utc_datetime(&utc).fix(),
        };
        us.checked_add(i64::from(offset.local_minus_utc()) * 1_000_000)
    }

    /// The UTC instant of the wall-clock time `us` in this zone. A time
    /// that occurs twice (clocks turned back) is the later instant, in the
    /// offset after the change; a time that never occurs (clocks turned
    /// forward) is read with the offset before the change, so 02:30 in a
    /// one-hour gap is 03:30 after it. Both as DuckDB (ICU) does.
    pub fn from_local(self, us: i64) -> Option<i64> {
        use chrono::{LocalResult, Offset, TimeZone};
        let local = chrono::DateTime::from_timestamp_micros(us)?.naive_utc();
        let offset = match self {
            Zone::Fixed(f) => f.fix(),
            Zone::Named(tz) => match tz.offset_from_local_datetime(&local) {
                LocalResult::Single(o) | LocalResult::Ambiguous(_, o) => o.fix(),
                LocalResult::None => {
                    let before = local - chrono::Duration::hours(3);
                    tz.offset_from_local_datetime(&before).earliest()?.fix()
                }
            },
        };
        us.checked_sub(i64::from(offset.local_minus_utc()) * 1_000_000)
    }
}

#[cfg(test)]
mod zone_tests {
    use super::{parse_datetime, Zone};

    fn us(s: &str) -> i64 {
        parse_datetime(s).unwrap()
    }

    #[test]
    fn zones_follow_daylight_saving_and_fixed_offsets() {
        let berlin = Zone::parse("Europe/Berlin").unwrap();
        assert_eq!(berlin.to_local(us("2024-01-15 12:00:00")), Some(us("2024-01-15 13:00:00")));
        assert_eq!(berlin.to_local(us("2024-07-15 12:00:00")), Some(us("2024-07-15 14:00:00")));
        assert_eq!(berlin.from_local(us("2024-07-15 14:00:00")), Some(us("2024-07-15 12:00:00")));
        // 2024-03-31 02:30 never happens in Berlin: read as 01:30 UTC (03:30 CEST).
        assert_eq!(berlin.from_local(us("2024-03-31 02:30:00")), Some(us("2024-03-31 01:30:00")));
        // 2024-10-27 02:30 happens twice: the later (CET, 01:30 UTC), as DuckDB.
        assert_eq!(berlin.from_local(us("2024-10-27 02:30:00")), Some(us("2024-10-27 01:30:00")));
        let india = Zone::parse("+05:30").unwrap();
        assert_eq!(india.to_local(us("2024-01-01 00:00:00")), Some(us("2024-01-01 05:30:00")));
        assert_eq!(Zone::parse("-0800").unwrap().to_local(us("2024-01-01 08:00:00")), Some(us("2024-01-01 00:00:00")));
        assert!(Zone::parse("utc").is_some() && Zone::parse("+02").is_some());
        for bad in ["Europe/Nowhere", "+25:00", "+2:0", "", "+02:00:00"] {
            assert!(Zone::parse(bad).is_none(), "{bad}");
        }
    }
}
