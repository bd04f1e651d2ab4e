//! The collection aggregates — `string_agg`, `list` and `mode` — finished
//! from each group's values, which the gathered (one-phase) aggregation
//! hands over as one list per group, in input order (polars keeps a
//! group's rows in the order they came).

use polars::prelude::*;

use super::{AggKind, AggSpec};

/// `grouped` with each collection aggregate's list column replaced by its
/// result; other columns pass through.
pub fn finish(mut grouped: DataFrame, aggs: &[AggSpec]) -> PolarsResult<DataFrame> {
    for a in aggs.iter().filter(|a| a.kind.collects()) {
        let name = a.name.as_str();
        let lists = grouped.column(name)?.as_materialized_series().list()?.clone();
        let done = match a.kind {
            AggKind::StringAgg => joined(&lists, &a.separator)?.into_series(),
            AggKind::Mode => modes(&lists, &a.dtype)?,
            _ => nulls_for_empty(&lists).cast(&a.dtype)?,
        };
        grouped.with_column(done.with_name(name.into()))?;
    }
    Ok(grouped)
}

/// Each list's non-null values joined by `sep`; null when there are none
/// (as SQL's `string_agg`).
fn joined(lists: &ListChunked, sep: &str) -> PolarsResult<StringChunked> {
    let mut out = Vec::with_capacity(lists.len());
    for values in lists.into_iter() {
        let mut text: Option<String> = None;
        if let Some(values) = values {
            for v in values.str()?.into_iter().flatten() {
                match &mut text {
                    Some(t) => {
                        t.push_str(sep);
                        t.push_str(v);
                    }
                    None => text = Some(v.to_string()),
                }
            }
        }
        out.push(text);
    }
    Ok(StringChunked::from_iter_options(PlSmallStr::EMPTY, out.into_iter()))
}

/// Each list's most frequent non-null value, the smallest of those tied;
/// null when there is none.
fn modes(lists: &ListChunked, dtype: &DataType) -> PolarsResult<Series> {
    let mut out: Vec<AnyValue<'static>> = Vec::with_capacity(lists.len());
    for values in lists.into_iter() {
        out.push(match values {
            Some(values) => mode_of(&values)?,
            None => AnyValue::Null,
        });
    }
    Series::from_any_values_and_dtype(PlSmallStr::EMPTY, &out, dtype, true)
}

/// The longest run of equal values once sorted: its first value.
fn mode_of(values: &Series) -> PolarsResult<AnyValue<'static>> {
    let sorted = values.drop_nulls().sort(SortOptions::default())?;
    let n = sorted.len();
    if n == 0 {
        return Ok(AnyValue::Null);
    }
    // same[i]: sorted[i + 1] equals sorted[i].
    let same = sorted.slice(1, n - 1).equal_missing(&sorted.slice(0, n - 1))?;
    let (mut best, mut best_len, mut start) = (0usize, 1usize, 0usize);
    for (i, eq) in same.into_iter().enumerate() {
        if eq != Some(true) {
            start = i + 1;
        } else if i + 2 - start > best_len {
            best_len = i + 2 - start;
            best = start;
        }
    }
    Ok(sorted.get(best)?.into_static())
}

/// Lists with no values become null: only the one group of an aggregate
/// without keys over no rows has none (a keyed group has a row), and SQL
/// aggregates of no rows are null.
fn nulls_for_empty(lists: &ListChunked) -> Series {
    let out: ListChunked = lists.into_iter().map(|l| l.filter(|l| !l.is_empty())).collect();
    out.into_series()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mode_takes_the_longest_run_and_the_smallest_on_a_tie() {
        let s = Series::new("x".into(), [Some(3i64), None, Some(1), Some(3), Some(1), Some(2)]);
        assert_eq!(mode_of(&s).unwrap(), AnyValue::Int64(1));
        let s = Series::new("x".into(), [Some(5i64), Some(3), Some(5), None, None]);
        assert_eq!(mode_of(&s).unwrap(), AnyValue::Int64(5));
        let s = Series::new("x".into(), [Option::<i64>::None, None]);
        assert_eq!(mode_of(&s).unwrap(), AnyValue::Null);
        let s = Series::new("x".into(), ["b", "a", "b"]);
        assert_eq!(mode_of(&s).unwrap().get_str(), Some("b"));
    }
}
