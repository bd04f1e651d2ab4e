//! As-of joins: each left row takes, among the right rows with the same
//! keys, the one whose ordering column is nearest its own — the last at or
//! before it (`backward`), the first at or after it (`forward`), or the
//! nearest either way (`nearest`, the earlier on a tie).
//!
//! The right side is indexed once ([`AsofIndex`]): its distinct keys
//! numbered, and each key's rows sorted by the ordering column. Each left
//! chunk then finds its keys' numbers (a polars join with the distinct
//! keys, so every key type polars joins on works) and searches its key's
//! values, galloping from where that key's previous row landed. Left rows
//! in time order (the usual time series) are probed as they come and find
//! their match in a step or two; unsorted ones are probed in (key, time)
//! order, so the searches walk the right side forward instead of missing
//! the cache at every step. Left rows keep their order in the output; a
//! left row matches at most one right row. Null keys and null (or NaN)
//! ordering values never match.

use std::cmp::Ordering;

use polars::prelude::*;

use super::{run_lazy, JoinSpec};

/// The as-of part of a [`JoinSpec`].
#[derive(Clone, Debug)]
pub struct AsofSpec {
    /// The left ordering column.
    pub left: String,
    /// The right ordering column, under its name in the renamed right side.
    pub right: String,
    /// The type both are compared as.
    pub dtype: DataType,
    /// Which right rows may match.
    pub direction: Direction,
}

/// Which right rows an as-of join may match.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Direction {
    Backward,
    Forward,
    Nearest,
}

impl Direction {
    /// The direction as written in a program.
    pub fn name(self) -> &'static str {
        match self {
            Direction::Backward => "backward",
            Direction::Forward => "forward",
            Direction::Nearest => "nearest",
        }
    }
}

/// The group number of a key in [`AsofIndex::keys`].
const GROUP: &str = "__dq_asof_group";

/// The ordering values of one side, as their physical numbers.
enum Times {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
}

impl Times {
    /// `column` cast to `dtype`, then to its physical numbers; NaN as null.
    fn of(column: &Column, dtype: &DataType) -> PolarsResult<Times> {
        let physical = column.cast(dtype)?.to_physical_repr();
        Ok(if dtype.is_float() {
            let f = physical.cast(&DataType::Float64)?;
            Times::Float(f.f64()?.into_iter().map(|v| v.filter(|x| !x.is_nan())).collect())
        } else {
            let i = physical.cast(&DataType::Int64)?;
            Times::Int(i.i64()?.into_iter().collect())
        })
    }
}

/// The right side of an as-of join, ready to probe.
pub struct AsofIndex {
    /// The distinct non-null keys (cast to the common types, under the
    /// join's temporary key names), numbered in [`GROUP`].
    keys: DataFrame,
    /// Group g's rows are `rows[start[g]..start[g + 1]]`.
    start: Vec<usize>,
    /// Right rows sorted by value, then by row, per group.
    rows: Vec<IdxSize>,
    /// Their ordering values, alone (a search reads only these).
    values: Sorted,
}

enum Sorted {
    Int(Vec<i64>),
    Float(Vec<f64>),
}

impl AsofIndex {
    /// Indexes `right` (the renamed right side) for `spec`.
    pub fn build(spec: &JoinSpec, asof: &AsofSpec, right: &DataFrame) -> PolarsResult<AsofIndex> {
        let (keys, groups) = if spec.keys.is_empty() {
            (DataFrame::empty(), vec![Some(0); right.height()])
        } else {
            let (casts, names) = spec.join_keys();
            let distinct = run_lazy(right.clone(), |lf| {
                lf.select(casts).drop_nulls(None).unique_stable(None, UniqueKeepStrategy::First)
            })?
            .with_row_index(GROUP.into(), None)?;
            let ids = group_of(spec, right.clone(), &distinct, &names)?;
            (distinct, ids)
        };
        let count = if spec.keys.is_empty() { 1 } else { keys.height() };
        let mut start = vec![0usize; count + 1];
        let times = Times::of(right.column(&asof.right)?, &asof.dtype)?;
        // Rows with a group and a value, sorted by (group, value, row).
        let rows = |valid: &dyn Fn(usize) -> bool| -> Vec<(u32, IdxSize)> {
            (0..right.height()).filter_map(|r| groups[r].filter(|_| valid(r)).map(|g| (g, r as IdxSize))).collect()
        };
        let (sorted, values) = match times {
            Times::Int(t) => {
                let mut e = rows(&|r| t[r].is_some());
                e.sort_unstable_by_key(|&(g, r)| (g, t[r as usize], r));
                let values = e.iter().map(|&(_, r)| t[r as usize].unwrap_or_default()).collect();
                (e, Sorted::Int(values))
            }
            Times::Float(t) => {
                let mut e = rows(&|r| t[r].is_some());
                let value = |r: IdxSize| t[r as usize].unwrap_or_default();
                e.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(value(a.1).total_cmp(&value(b.1))).then(a.1.cmp(&b.1)));
                let values = e.iter().map(|&(_, r)| value(r)).collect();
                (e, Sorted::Float(values))
            }
        };
        sorted.iter().for_each(|&(g, _)| start[g as usize + 1] += 1);
        for g in 0..count {
            start[g + 1] += start[g];
        }
        Ok(AsofIndex { keys, start, rows: sorted.into_iter().map(|(_, r)| r).collect(), values })
    }
}

/// The group number of each row of `df` among `distinct` keys (null for a
/// key the right side does not have, or a null key).
fn group_of(spec: &JoinSpec, df: DataFrame, distinct: &DataFrame, on: &[Expr]) -> PolarsResult<Vec<Option<u32>>> {
    let (casts, _) = spec.join_keys();
    let on = on.to_vec();
    let distinct = distinct.clone().lazy();
    let joined = run_lazy(df, move |lf| {
        lf.select(casts)
            .join_builder()
            .with(distinct)
            .left_on(on.clone())
            .right_on(on)
            .how(JoinType::Left)
            .maintain_order(MaintainOrderJoin::Left)
            .finish()
            .select([col(GROUP)])
    })?;
    let ids = joined.column(GROUP)?.cast(&DataType::UInt32)?;
    Ok(ids.u32()?.into_iter().collect())
}

/// `left` joined with the indexed right side `right`: the left columns,
/// then the right ones of `spec.output`; left rows without a match kept
/// with nulls (left join) or dropped (inner).
pub fn join(
    spec: &JoinSpec,
    asof: &AsofSpec,
    index: &AsofIndex,
    left: DataFrame,
    right: &DataFrame,
) -> PolarsResult<DataFrame> {
    let groups = if spec.keys.is_empty() {
        vec![Some(0); left.height()]
    } else {
        let (_, on) = spec.join_keys();
        group_of(spec, left.clone(), &index.keys, &on)?
    };
    let times = Times::of(left.column(&asof.left)?, &asof.dtype)?;
    let matches = match (&times, &index.values) {
        (Times::Int(t), Sorted::Int(v)) => {
            let nearer = |f: i64, b: i64, t: i64| (f as i128 - t as i128).abs() < (b as i128 - t as i128).abs();
            matches_of(&groups, t, index, v, asof.direction, (|a: i64, b| a.cmp(&b), |a| a), nearer)
        }
        (Times::Float(t), Sorted::Float(v)) => {
            let nearer = |f: f64, b: f64, t: f64| (f - t).abs() < (b - t).abs();
            // f64's total order as an i64's (sign-magnitude to two's complement).
            let ordered = |x: f64| {
                let bits = x.to_bits() as i64;
                bits ^ (((bits >> 63) as u64) >> 1) as i64
            };
            matches_of(&groups, t, index, v, asof.direction, (|a: f64, b| a.total_cmp(&b), ordered), nearer)
        }
        _ => polars_bail!(ComputeError: "as-of join: the two ordering columns were not cast alike"),
    };
    let inner = spec.how == JoinType::Inner;
    let (left, matches) = if inner {
        let keep: BooleanChunked = matches.iter().map(|m| Some(m.is_some())).collect();
        (left.filter(&keep)?, matches.into_iter().flatten().map(Some).collect())
    } else {
        (left, matches)
    };
    let names = left.get_column_names_owned();
    let right_names: Vec<PlSmallStr> =
        spec.output.iter().filter(|c| !names.iter().any(|n| n == c.as_str())).map(|c| c.as_str().into()).collect();
    let picked = right.select(right_names)?.take(&IdxCa::from_iter_options(PlSmallStr::EMPTY, matches.into_iter()))?;
    let joined = left.hstack(picked.get_columns())?;
    joined.select(spec.output.iter().map(String::as_str))
}

/// The right row each left row (group, value) takes, or none.
fn matches_of<T: Copy>(
    groups: &[Option<u32>],
    times: &[Option<T>],
    index: &AsofIndex,
    values: &[T],
    direction: Direction,
    (cmp, ordered): (impl Fn(T, T) -> Ordering, impl Fn(T) -> i64),
    nearer: impl Fn(T, T, T) -> bool,
) -> Vec<Option<IdxSize>> {
    let count = index.start.len().saturating_sub(1);
    // Where each group's previous search landed.
    let mut hints = vec![0usize; count];
    let mut out = vec![None; groups.len()];
    for row in probe_order(groups, times, count, ordered) {
        let (Some(g), Some(t)) = (groups[row], times[row]) else { continue };
        let g = g as usize;
        let (lo, hi) = (index.start[g], index.start[g + 1]);
        let found = find(&values[lo..hi], t, direction, hints[g], &cmp, &nearer);
        hints[g] = found.after;
        out[row] = found.pick.map(|i| index.rows[lo + i]);
    }
    out
}

/// The order to probe the left rows in: as they come when each group's
/// values mostly rise already (a time series), else sorted by (group,
/// value), so that the searches walk the right side forward instead of
/// jumping about it (10M unsorted rows against 1M: 3.8 -> 2.0 s).
fn probe_order<T: Copy>(
    groups: &[Option<u32>],
    times: &[Option<T>],
    count: usize,
    ordered: impl Fn(T) -> i64,
) -> Vec<usize> {
    let mut last: Vec<Option<i64>> = vec![None; count];
    let mut descents = 0usize;
    for (g, t) in groups.iter().zip(times) {
        if let (Some(g), Some(t)) = (g, t) {
            let (prev, t) = (&mut last[*g as usize], ordered(*t));
            descents += usize::from(prev.is_some_and(|p| t < p));
            *prev = Some(t);
        }
    }
    if descents * 8 <= groups.len() {
        return (0..groups.len()).collect();
    }
    // The keys side by side (no lookups while sorting).
    let mut keyed: Vec<(u32, i64, u32)> = groups
        .iter()
        .zip(times)
        .enumerate()
        .filter_map(|(r, (g, t))| Some(((*g)?, ordered((*t)?), r as u32)))
        .collect();
    keyed.sort_unstable();
    keyed.into_iter().map(|(_, _, r)| r as usize).collect()
}

/// Where a search landed: the index of the match, if any, and the number
/// of values at or before the searched one (the next search's start).
struct Found {
    pick: Option<usize>,
    after: usize,
}

/// The index among `values` (sorted) that `t` matches in `direction`,
/// searched from `hint`.
fn find<T: Copy>(
    values: &[T],
    t: T,
    direction: Direction,
    hint: usize,
    cmp: &impl Fn(T, T) -> Ordering,
    nearer: &impl Fn(T, T, T) -> bool,
) -> Found {
    // The last at or before t; the first at or after t.
    let after = gallop(values, hint, |v| cmp(v, t) != Ordering::Greater);
    let backward = after.checked_sub(1);
    let forward = || {
        let from = gallop(values, after, |v| cmp(v, t) == Ordering::Less);
        (from < values.len()).then_some(from)
    };
    let pick = match direction {
        Direction::Backward => backward,
        Direction::Forward => forward(),
        Direction::Nearest => match (backward, forward()) {
            (Some(b), Some(f)) => Some(if nearer(values[f], values[b], t) { f } else { b }),
            (b, f) => b.or(f),
        },
    };
    Found { pick, after }
}

/// The first index of `values` where `pred` stops holding (it holds on a
/// prefix), found by galloping out from `hint` and then bisecting: a few
/// steps when the answer is near the hint, a binary search's otherwise.
fn gallop<T: Copy>(values: &[T], hint: usize, pred: impl Fn(T) -> bool) -> usize {
    let n = values.len();
    let hint = hint.min(n);
    let (mut lo, mut hi, mut step) = (hint, hint, 1);
    if hint < n && pred(values[hint]) {
        // The answer is past the hint.
        lo = hint + 1;
        hi = lo;
        while hi < n && pred(values[hi]) {
            lo = hi + 1;
            hi = lo + step;
            step *= 2;
        }
        hi = hi.min(n);
    } else {
        // At or before it.
        while lo > 0 && !pred(values[lo - 1]) {
            hi = lo - 1;
            lo = hi.saturating_sub(step);
            step *= 2;
        }
    }
    lo + values[lo..hi].partition_point(|&v| pred(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_last_before_the_first_after_and_the_nearest_from_any_hint() {
        let v = [10i64, 20, 20, 30];
        let nearer = |f: i64, b: i64, t: i64| (f - t).abs() < (b - t).abs();
        for hint in 0..=4 {
            let f = |t, d| find(&v, t, d, hint, &|a: i64, b| a.cmp(&b), &nearer).pick;
            assert_eq!(f(5, Direction::Backward), None);
            assert_eq!(f(20, Direction::Backward), Some(2), "the last of equal values");
            assert_eq!(f(25, Direction::Backward), Some(2));
            assert_eq!(f(99, Direction::Backward), Some(3));
            assert_eq!(f(20, Direction::Forward), Some(1), "the first of equal values");
            assert_eq!(f(31, Direction::Forward), None);
            assert_eq!(f(26, Direction::Nearest), Some(3));
            assert_eq!(f(25, Direction::Nearest), Some(2), "a tie takes the earlier");
            assert_eq!(f(99, Direction::Nearest), Some(3));
        }
    }

    #[test]
    fn galloping_equals_a_partition_point_from_every_hint() {
        let v: Vec<i64> = (0..200).map(|i| i / 3).collect();
        for t in -1..70 {
            let want = v.partition_point(|&x| x <= t);
            for hint in 0..=v.len() + 2 {
                assert_eq!(gallop(&v, hint, |x| x <= t), want, "t {t} hint {hint}");
            }
        }
        assert_eq!(gallop(&[] as &[i64], 3, |x| x <= 0), 0);
    }
}
