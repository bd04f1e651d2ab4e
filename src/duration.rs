//! Durations as text: the one spelling dq writes (CSV, JSON, the table,
//! `cast(d, str)`) and the forms `interval("…")` reads. A leaf like
//! [`crate::temporal`]: durations are microseconds (polars'
//! `Duration(µs)`).
//!
//! Written as `[-][N day[s] ]HH:MM:SS[.ffffff]`, the sign applying to the
//! whole: `01:30:00`, `1 day 02:00:00`, `-00:00:01.5` (PostgreSQL and
//! DuckDB spell intervals this way, without their month part).

use polars::prelude::{Column, DataType, PolarsResult, StringChunked, TimeUnit};

const US_PER_SECOND: i64 = 1_000_000;
const US_PER_DAY: i64 = 86_400 * US_PER_SECOND;

/// `us` microseconds in dq's spelling.
pub fn format_duration(us: i64) -> String {
    let sign = if us < 0 { "-" } else { "" };
    let us = us.unsigned_abs();
    let day = US_PER_DAY as u64;
    let (days, rest) = (us / day, us % day);
    let secs = rest / US_PER_SECOND as u64;
    let frac = rest % US_PER_SECOND as u64;
    let mut out = String::from(sign);
    if days > 0 {
        out += &format!("{days} day{} ", if days == 1 { "" } else { "s" });
    }
    out += &format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if frac > 0 {
        out += format!(".{frac:06}").trim_end_matches('0');
    }
    out
}

/// A duration column as text in dq's spelling.
pub fn durations_to_text(col: &Column) -> PolarsResult<StringChunked> {
    let us = col.cast(&DataType::Duration(TimeUnit::Microseconds))?.to_physical_repr();
    Ok(us.i64()?.into_iter().map(|v| v.map(format_duration)).collect())
}

/// The microseconds `text` spells, or what is wrong with it. Accepted: the
/// written form (`1 day 02:03:04.5`, `-00:30:00`) and amounts with units
/// (`3 days 4 hours`, `90 minutes`, `1.5h`, `2w`, `250ms`), each with an
/// optional sign. Months and years have no fixed length: they are refused
/// (use `date_add`).
pub fn parse_interval(text: &str) -> Result<i64, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("an interval needs an amount, e.g. \"3 days\" or \"01:30:00\"".into());
    }
    let (negative, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, s.strip_prefix('+').unwrap_or(s).trim_start()),
    };
    let mut total: f64 = 0.0;
    let mut rest = body;
    while !rest.is_empty() {
        // An amount: digits with an optional fraction, or a clock time.
        let end = rest.find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':')).unwrap_or(rest.len());
        let (amount, after) = rest.split_at(end);
        if amount.is_empty() {
            return Err(format!("expected a number at `{rest}`"));
        }
        if amount.contains(':') {
            total += clock(amount)?;
            rest = after.trim_start();
            continue;
        }
        let n: f64 = amount.parse().map_err(|_| format!("`{amount}` is not a number"))?;
        let after = after.trim_start();
        let unit_end = after.find(|c: char| !c.is_ascii_alphabetic()).unwrap_or(after.len());
        let (unit, next) = after.split_at(unit_end);
        total += n * unit_micros(unit)? as f64;
        rest = next.trim_start().trim_start_matches(',').trim_start();
    }
    if total.abs() >= i64::MAX as f64 {
        return Err("the interval is too long".into());
    }
    let us = total.round() as i64;
    Ok(if negative { -us } else { us })
}

/// `HH:MM[:SS[.f]]` in microseconds.
fn clock(text: &str) -> Result<f64, String> {
    let parts: Vec<&str> = text.split(':').collect();
    let bad = || format!("`{text}` is not a time of the form HH:MM:SS");
    if !(2..=3).contains(&parts.len()) || parts.iter().any(|p| p.is_empty()) {
        return Err(bad());
    }
    let hours: u64 = parts[0].parse().map_err(|_| bad())?;
    let minutes: u64 = parts[1].parse().map_err(|_| bad())?;
    let seconds: f64 = match parts.get(2) {
        Some(s) => s.parse().map_err(|_| bad())?,
        None => 0.0,
    };
    if minutes > 59 || seconds >= 60.0 {
        return Err(bad());
    }
    Ok(((hours * 3600 + minutes * 60) as f64 + seconds) * US_PER_SECOND as f64)
}

/// The length of one `unit`, in microseconds.
fn unit_micros(unit: &str) -> Result<i64, String> {
    Ok(match unit.to_ascii_lowercase().as_str() {
        "w" | "week" | "weeks" => 7 * US_PER_DAY,
        "d" | "day" | "days" => US_PER_DAY,
        "h" | "hour" | "hours" => 3600 * US_PER_SECOND,
        "m" | "min" | "mins" | "minute" | "minutes" => 60 * US_PER_SECOND,
        "s" | "sec" | "secs" | "second" | "seconds" => US_PER_SECOND,
        "ms" | "millisecond" | "milliseconds" => 1000,
        "us" | "microsecond" | "microseconds" => 1,
        "" => return Err("a number needs a unit, e.g. \"3 days\" or \"90 minutes\"".into()),
        "mo" | "mon" | "month" | "months" | "y" | "year" | "years" | "quarter" | "quarters" => {
            return Err(format!("`{unit}` has no fixed length; move by the calendar with date_add(t, n, \"month\")"))
        }
        other => return Err(format!("unknown unit `{other}` (units: weeks, days, hours, minutes, seconds, ms, us)")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3600 * US_PER_SECOND;

    #[test]
    fn written_form_is_read_back() {
        for us in
            [0, 1, 1_500_000, 90 * 60 * US_PER_SECOND, US_PER_DAY, 3 * US_PER_DAY + 2 * H, -1_500_000, -US_PER_DAY - H]
        {
            assert_eq!(parse_interval(&format_duration(us)), Ok(us), "{}", format_duration(us));
        }
        assert_eq!(format_duration(90 * 60 * US_PER_SECOND), "01:30:00");
        assert_eq!(format_duration(US_PER_DAY + 2 * H), "1 day 02:00:00");
        assert_eq!(format_duration(-1_500_000), "-00:00:01.5");
        assert_eq!(format_duration(2 * US_PER_DAY), "2 days 00:00:00");
    }

    #[test]
    fn amounts_with_units() {
        assert_eq!(parse_interval("3 days 4 hours"), Ok(3 * US_PER_DAY + 4 * H));
        assert_eq!(parse_interval("1.5h"), Ok(H * 3 / 2));
        assert_eq!(parse_interval("2w"), Ok(14 * US_PER_DAY));
        assert_eq!(parse_interval("90 minutes, 30 s"), Ok(5430 * US_PER_SECOND));
        assert_eq!(parse_interval("250ms"), Ok(250_000));
        assert_eq!(parse_interval("- 2 days"), Ok(-2 * US_PER_DAY));
        assert!(parse_interval("1 month").unwrap_err().contains("date_add"));
        assert!(parse_interval("3").unwrap_err().contains("needs a unit"));
        assert!(parse_interval("3 fortnights").unwrap_err().contains("unknown unit"));
        assert!(parse_interval("").is_err());
        assert!(parse_interval("10:75:00").is_err());
    }
}
