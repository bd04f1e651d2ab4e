//! Grouped aggregation in one pass over gathered rows, for a group-by with
//! a median or quantile (which needs every value of its group at once).
//!
//! polars' group-by builds a list of row indices per group and gathers the
//! values group by group. Here the rows get group ids ([`group_rows`]), the
//! valid values of each median or quantile are bucketed by group with a
//! counting sort (two linear passes), and each group's bucket is
//! quick-selected in place. The other aggregates of the same `agg` fold
//! into their partial form by the same ids ([`super::accumulate`]), to be
//! finished like a two-phase aggregate's. `n_unique(x)` numbers x's
//! values with the same kernel and marks each (group, value) pair once.
//!
//! Results equal polars' `median` / `quantile(q, Linear)` exactly: values
//! as floats, NaN ordered above every number, interpolated as polars does.

use std::cmp::Ordering;

use polars::prelude::*;
use rayon::prelude::*;

use super::accumulate::{gather, partial_columns, Values};
use super::{p, parts, AggKind, AggSpec};
use crate::ops::group_ids::{group_rows, validity, Groups};

/// One row per group: the keys, each median or quantile under its output
/// name, every other aggregate in its partial form (`p(i, part)` columns).
/// `None` when a key or argument type is one this kernel does not handle
/// (the caller then groups with polars).
pub fn aggregate(df: &mut DataFrame, keys: &[&str], aggs: &[AggSpec]) -> Option<PolarsResult<DataFrame>> {
    // approx_n_unique and the collections are polars' alone: refuse before any work.
    if aggs.iter().any(|a| a.kind.collects() || a.kind == AggKind::ApproxNUnique) {
        return None;
    }
    // One buffer per column first, on all threads: every kernel below reads
    // a column as one slice, and would otherwise copy it on one thread (v3
    // twice in `median(v3), std(v3)`); q6 1.5 -> 0.8 s, mostly page faults.
    df.as_single_chunk_par();
    let df = &*df;
    let key_cols: Vec<&Column> = keys.iter().map(|k| df.column(k).ok()).collect::<Option<_>>()?;
    let groups = group_rows(&key_cols)?;
    let mut out: Vec<Column> = Vec::new();
    for (k, name) in key_cols.iter().zip(keys) {
        match gather(k, &groups.first) {
            Ok(c) => out.push(c.with_name((*name).into())),
            Err(e) => return Some(Err(e)),
        }
    }
    for (i, a) in aggs.iter().enumerate() {
        match a.kind {
            AggKind::Median | AggKind::Quantile => {
                let q = if a.kind == AggKind::Median { 0.5 } else { a.quantile };
                let x = match &a.arg {
                    Some(Expr::Column(name)) => Values::of(df.column(name).ok()?)?,
                    _ => return None,
                };
                let column = Float64Chunked::from_iter_options(
                    a.name.as_str().into(),
                    quantiles(&groups.ids, groups.len(), &x, q).into_iter(),
                );
                out.push(column.into_column());
            }
            AggKind::NUnique => {
                let x = match &a.arg {
                    Some(Expr::Column(name)) => df.column(name).ok()?,
                    _ => return None,
                };
                let counts = distinct_counts(&groups, x)?;
                out.push(Int64Chunked::from_vec(a.name.as_str().into(), counts).into_column());
            }
            _ => match partial_columns(df, a, &groups)? {
                Ok(cols) => out.extend(cols.into_iter().zip(parts(a)).map(|(c, part)| c.with_name(p(i, part).into()))),
                Err(e) => return Some(Err(e)),
            },
        }
    }
    Some(DataFrame::new(out))
}

/// The `q` quantile of each group's valid values (null for a group without
/// any).
fn quantiles(ids: &[u32], groups: usize, x: &Values, q: f64) -> Vec<Option<f64>> {
    // Counting sort: `start[g]..start[g + 1]` will hold group g's values.
    let mut start = crate::ops::filled(0usize, groups + 1);
    for (row, &g) in ids.iter().enumerate() {
        start[g as usize + 1] += usize::from(x.is_valid(row));
    }
    for g in 0..groups {
        start[g + 1] += start[g];
    }
    let mut next = start.clone();
    let mut bucketed = vec![0.0f64; start[groups]];
    for (row, &g) in ids.iter().enumerate() {
        if x.is_valid(row) {
            let slot = &mut next[g as usize];
            bucketed[*slot] = x.f(row);
            *slot += 1;
        }
    }
    // Each group's bucket selected on its own, the buckets spread over threads.
    let mut buckets: Vec<&mut [f64]> = Vec::with_capacity(groups);
    let mut rest = &mut bucketed[..];
    for g in 0..groups {
        let (bucket, tail) = std::mem::take(&mut rest).split_at_mut(start[g + 1] - start[g]);
        buckets.push(bucket);
        rest = tail;
    }
    buckets.into_par_iter().map(|bucket| quantile_of(bucket, q)).collect()
}

/// The number of distinct valid values of `x` in each group: `x`'s values
/// numbered by the same kernel, and a bit per (group, value) pair set on
/// first sight. `None` (polars then aggregates) for a type that kernel does
/// not group (floats) or pairs too many for [`MAX_PAIR_BITS`].
fn distinct_counts(groups: &Groups, x: &Column) -> Option<Vec<i64>> {
    let values = group_rows(&[x])?;
    let per_group = values.len();
    let cells = groups.len().checked_mul(per_group).filter(|&c| c <= MAX_PAIR_BITS)?;
    let valid = validity(x.as_materialized_series());
    let mut seen = vec![0u64; cells.div_ceil(64)];
    let mut counts = vec![0i64; groups.len()];
    for (row, (&g, &v)) in groups.ids.iter().zip(&values.ids).enumerate() {
        if valid.as_ref().is_some_and(|valid| !valid[row]) {
            continue;
        }
        let cell = g as usize * per_group + v as usize;
        let (word, bit) = (cell / 64, 1u64 << (cell % 64));
        if seen[word] & bit == 0 {
            seen[word] |= bit;
            counts[g as usize] += 1;
        }
    }
    Some(counts)
}

/// The most (group, value) pairs [`distinct_counts`] marks (32 MiB of
/// bits; h2o's `n_unique(id3) by id1`, 100 x 100k pairs, takes 1.2 MiB).
const MAX_PAIR_BITS: usize = 1 << 28;

/// polars' float order: NaN above every number, all NaNs equal.
fn total_cmp(a: &f64, b: &f64) -> Ordering {
    a.partial_cmp(b).unwrap_or_else(|| a.is_nan().cmp(&b.is_nan()))
}

/// The linearly interpolated `q` quantile of `values`, reordering them
/// (polars' `quantile_slice` with `QuantileMethod::Linear`).
fn quantile_of(values: &mut [f64], q: f64) -> Option<f64> {
    match values.len() {
        0 => return None,
        1 => return Some(values[0]),
        _ => {}
    }
    let float_idx = (values.len() - 1) as f64 * q;
    let idx = (float_idx as usize).min(values.len() - 1);
    let top = float_idx.ceil() as usize;
    let (_, lower, above) = values.select_nth_unstable_by(idx, total_cmp);
    let lower = *lower;
    if idx == top {
        return Some(lower);
    }
    let upper = above.iter().copied().min_by(total_cmp).unwrap_or(lower);
    Some(if lower == upper { lower } else { (float_idx - idx as f64) * (upper - lower) + lower })
}

#[cfg(test)]
mod tests {
    use super::quantile_of;

    #[test]
    fn quantiles_interpolate_between_neighbours_as_polars_does() {
        assert_eq!(quantile_of(&mut [], 0.5), None);
        assert_eq!(quantile_of(&mut [7.0], 0.9), Some(7.0));
        assert_eq!(quantile_of(&mut [4.0, 1.0, 3.0, 2.0], 0.5), Some(2.5));
        assert_eq!(quantile_of(&mut [5.0, 1.0, 3.0], 0.5), Some(3.0));
        // (4 - 1) * 0.25 = 0.75 of the way from 1 to 2.
        assert_eq!(quantile_of(&mut [4.0, 2.0, 1.0, 3.0], 0.25), Some(1.75));
        // NaN sorts above every number.
        assert_eq!(quantile_of(&mut [f64::NAN, 1.0, 2.0], 0.5), Some(2.0));
        assert!(quantile_of(&mut [f64::NAN, 1.0], 1.0).is_some_and(f64::is_nan));
    }
}
