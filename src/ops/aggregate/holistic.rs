//! Grouped aggregation in one pass over gathered rows, for a group-by with
//! a median or quantile (which needs every value of its group at once).
//!
//! polars' group-by builds a list of row indices per group and gathers the
//! values group by group. Here the rows get group ids ([`LaneGroups`]), the
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

use super::accumulate::{partial_columns, Values};
use super::{p, parts, AggKind, AggSpec};
use crate::ops::concat;
use crate::ops::group_ids::{group_rows, validity, Groups, LaneGroups};

/// One row per group of the gathered `frames`: the keys, each median or
/// quantile under its output name, every other aggregate in its partial
/// form (`p(i, part)` columns). `Err(frames)` gives the rows back, as one
/// frame, when a key or argument type is one this kernel does not handle
/// (the caller then groups with polars).
///
/// The rows get their group ids frame by frame ([`LaneGroups`], the
/// lanes' table across chunks), and each frame's keys are dropped once
/// numbered: the keys are never copied into one buffer, nor grouped over
/// all rows at once (h2o q6 by two integer keys: 160 MB of keys copied,
/// a tenth of its CPU in `group_rows`).
pub fn aggregate(
    mut frames: Vec<DataFrame>,
    keys: &[&str],
    aggs: &[AggSpec],
) -> Result<PolarsResult<DataFrame>, DataFrame> {
    // approx_n_unique and the collections are polars' alone: refuse before any work.
    let refused = aggs.iter().any(|a| a.kind.collects() || a.kind == AggKind::ApproxNUnique);
    // A frame without columns or rows is an empty input's placeholder.
    frames.retain(|f| f.width() > 0 || f.height() > 0);
    let Some(mut table) = lane_groups(&frames, keys).filter(|_| !refused) else {
        return concat(frames).map_or_else(|e| Ok(Err(e)), Err);
    };
    let rows = frames.iter().map(DataFrame::height).sum();
    let mut ids: Vec<u32> = Vec::with_capacity(rows);
    let mut rest = Vec::with_capacity(frames.len());
    for frame in frames {
        let key_cols = key_columns(&frame, keys).unwrap_or_default();
        match table.ids(&key_cols) {
            Some(Ok(frame_ids)) => ids.extend(frame_ids),
            Some(Err(e)) => return Ok(Err(e)),
            None => return Ok(Err(polars_err!(ComputeError: "more than {} groups", u32::MAX - 1))),
        }
        rest.push(frame.drop_many(keys.iter().copied()));
    }
    let key_values = match table.key_columns() {
        Ok(columns) => columns,
        Err(e) => return Ok(Err(e)),
    };
    let groups = Groups { first: first_rows(&ids, table.groups()), ids };
    let mut df = match concat(rest) {
        Ok(df) => df,
        Err(e) => return Ok(Err(e)),
    };
    // One buffer per argument column first, on all threads: every kernel
    // below reads a column as one slice, and would otherwise copy it on one
    // thread (v3 twice in `median(v3), std(v3)`).
    df.as_single_chunk_par();
    let named = key_values.into_iter().zip(keys).map(|(c, name)| c.with_name((*name).into()));
    match grouped(&df, &groups, aggs) {
        Some(out) => Ok(out.and_then(|out| DataFrame::new(named.chain(out).collect()))),
        // A type refused late: the rows back with their keys, gathered by id.
        None => {
            let ids = IdxCa::from_vec(PlSmallStr::EMPTY, groups.ids.iter().map(|&g| g as IdxSize).collect());
            let keyed = named.map(|k| k.take(&ids)).collect::<PolarsResult<Vec<Column>>>();
            match keyed.and_then(|k| df.hstack(&k)) {
                Ok(all) => Err(all),
                Err(e) => Ok(Err(e)),
            }
        }
    }
}

/// A table for the group ids of `frames` by `keys`, when every frame's
/// keys are of types it numbers (integers, short text) and the same types.
fn lane_groups(frames: &[DataFrame], keys: &[&str]) -> Option<LaneGroups> {
    let table = LaneGroups::new(&key_columns(frames.first()?, keys)?)?;
    frames.iter().all(|f| key_columns(f, keys).is_some_and(|k| table.takes(&k))).then_some(table)
}

fn key_columns<'a>(df: &'a DataFrame, keys: &[&str]) -> Option<Vec<&'a Column>> {
    keys.iter().map(|k| df.column(k).ok()).collect()
}

/// The first row of each of `groups` groups. Not simply the rows where
/// the ids count up: a large short-text table hands out ids part by part,
/// not in row order.
fn first_rows(ids: &[u32], groups: usize) -> Vec<IdxSize> {
    const UNSET: IdxSize = IdxSize::MAX;
    let mut first = vec![UNSET; groups];
    for (row, &g) in ids.iter().enumerate() {
        let f = &mut first[g as usize];
        if *f == UNSET {
            *f = row as IdxSize;
        }
    }
    first
}

/// Each aggregate's columns for `groups` of the rows of `df` (arguments
/// only), or `None` when a type is one this kernel does not handle.
fn grouped(df: &DataFrame, groups: &Groups, aggs: &[AggSpec]) -> Option<PolarsResult<Vec<Column>>> {
    let mut out: Vec<Column> = Vec::new();
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
                let counts = distinct_counts(groups, x)?;
                out.push(Int64Chunked::from_vec(a.name.as_str().into(), counts).into_column());
            }
            _ => match partial_columns(df, a, groups)? {
                Ok(cols) => out.extend(cols.into_iter().zip(parts(a)).map(|(c, part)| c.with_name(p(i, part).into()))),
                Err(e) => return Some(Err(e)),
            },
        }
    }
    Some(Ok(out))
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
    use super::*;

    fn median(name: &str, arg: &str) -> AggSpec {
        AggSpec {
            name: name.into(),
            kind: AggKind::Median,
            arg: Some(col(arg)),
            arg2: None,
            quantile: 0.5,
            separator: String::new(),
            dtype: DataType::Float64,
            label: String::new(),
        }
    }

    /// Gathered frames of keys `k` (int) and `t` (text), values `x` and texts `s`;
    /// `long` makes every text too long to be held in its view.
    fn frames(long: bool) -> Vec<DataFrame> {
        let text =
            |i: i64| if long { format!("a text longer than a view holds {}", i % 3) } else { format!("t{}", i % 3) };
        (0..4i64)
            .map(|f| {
                let rows = 0..f * 5;
                df!(
                    "k" => rows.clone().map(|i| (i % 4 != 3).then_some(i % 2)).collect::<Vec<_>>(),
                    "t" => rows.clone().map(text).collect::<Vec<_>>(),
                    "x" => rows.clone().map(|i| (i * 7 % 10) as f64).collect::<Vec<_>>(),
                    "s" => rows.map(|i| format!("{i}")).collect::<Vec<_>>(),
                )
                .unwrap()
            })
            .collect()
    }

    /// Each group's median, by a plain sort of the group's values.
    fn medians_by_hand(frames: &[DataFrame]) -> std::collections::BTreeMap<(Option<i64>, String), f64> {
        let mut groups: std::collections::BTreeMap<(Option<i64>, String), Vec<f64>> = Default::default();
        for f in frames {
            let (k, t, x) = (
                f.column("k").unwrap().i64().unwrap(),
                f.column("t").unwrap().str().unwrap(),
                f.column("x").unwrap().f64().unwrap(),
            );
            for r in 0..f.height() {
                groups.entry((k.get(r), t.get(r).unwrap().to_string())).or_default().push(x.get(r).unwrap());
            }
        }
        groups
            .into_iter()
            .map(|(key, mut v)| {
                v.sort_by(f64::total_cmp);
                let m = if v.len() % 2 == 1 { v[v.len() / 2] } else { (v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0 };
                (key, m)
            })
            .collect()
    }

    /// Integer and short-text keys are numbered frame by frame; the groups
    /// and medians are those computed by hand.
    #[test]
    fn gathered_frames_are_grouped_frame_by_frame() {
        let input = frames(false);
        let want = medians_by_hand(&input);
        let out = aggregate(input, &["k", "t"], &[median("m", "x")]).expect("the kernel takes these keys").unwrap();
        assert_medians(&out, &want);
    }

    /// `out`'s groups and medians are `want`'s (an output without `k` is
    /// grouped by `t` alone, over input whose `k` is always 0).
    fn assert_medians(out: &DataFrame, want: &std::collections::BTreeMap<(Option<i64>, String), f64>) {
        assert_eq!(out.height(), want.len());
        let k = out.column("k").ok().map(|c| c.i64().unwrap().clone());
        let (t, m) = (out.column("t").unwrap().str().unwrap(), out.column("m").unwrap().f64().unwrap());
        for r in 0..out.height() {
            let key = (k.as_ref().map_or(Some(0), |k| k.get(r)), t.get(r).unwrap().to_string());
            assert_eq!(Some(want[&key]), m.get(r), "row {r}");
        }
    }

    /// Many short-text groups: the table splits into parts and numbers
    /// the groups part by part, not in row order.
    #[test]
    fn many_short_text_groups_are_grouped_as_by_hand() {
        let input: Vec<DataFrame> = (0..3i64)
            .map(|f| {
                let rows = f * 40_000..(f + 1) * 40_000;
                df!(
                    "k" => rows.clone().map(|_| 0i64).collect::<Vec<_>>(),
                    "t" => rows.clone().map(|i| format!("t{}", i * 7 % 90_001)).collect::<Vec<_>>(),
                    "x" => rows.map(|i| (i % 13) as f64).collect::<Vec<_>>(),
                )
                .unwrap()
            })
            .collect();
        let want = medians_by_hand(&input);
        // By the text alone: its ids are the groups' ids.
        let out = aggregate(input, &["t"], &[median("m", "x")]).expect("the kernel takes these keys").unwrap();
        assert_medians(&out, &want);
    }

    /// A refused key type (long text) or argument type (text) gives every
    /// row back, with its key values, for polars to group.
    #[test]
    fn refused_types_give_every_row_back() {
        for (long, arg) in [(true, "x"), (false, "s")] {
            let input = frames(long);
            let rows: usize = input.iter().map(DataFrame::height).sum();
            let want = medians_by_hand(&input);
            let all = aggregate(input, &["k", "t"], &[median("m", arg)]).expect_err("refused");
            assert_eq!(all.height(), rows, "long text {long}, median of {arg}");
            // The rows' key values and x are those of the input.
            assert_eq!(medians_by_hand(&[all]), want, "long text {long}, median of {arg}");
        }
    }

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
