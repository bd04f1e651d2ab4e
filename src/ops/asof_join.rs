//! As-of joins: each left row takes, among the right rows with the same
//! keys, the one whose ordering column is nearest its own — the last at or
//! before it (`backward`), the first at or after it (`forward`), or the
//! nearest either way (`nearest`, the earlier on a tie).
//!
//! The right side is indexed once ([`AsofIndex`]): its distinct keys
//! numbered, and each key's rows sorted by the ordering column. Each left
//! chunk then finds its keys' numbers (a polars join with the distinct
//! keys, so every key type polars joins on works) and binary-searches its
//! key's rows. Left rows keep their order; a left row matches at most one
//! right row. Null keys and null (or NaN) ordering values never match.

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
    /// Group g's rows are `entries[start[g]..start[g + 1]]`.
    start: Vec<usize>,
    /// (ordering value, right row) sorted by value, then by row, per group.
    entries: Entries,
}

enum Entries {
    Int(Vec<(i64, IdxSize)>),
    Float(Vec<(f64, IdxSize)>),
}

impl AsofIndex {
    /// Indexes `right` (the renamed right side) for `spec`.
    pub fn build(spec: &JoinSpec, asof: &AsofSpec, right: &DataFrame) -> PolarsResult<AsofIndex> {
        let (keys, groups) = if spec.keys.is_empty() {
            (DataFrame::empty(), vec![Some(0); right.height()])
        } else {
            let (casts, names) = key_columns(spec);
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
        let entries = match times {
            Times::Int(t) => {
                let mut e = rows(&|r| t[r].is_some());
                e.sort_unstable_by_key(|&(g, r)| (g, t[r as usize], r));
                e.iter().for_each(|&(g, _)| start[g as usize + 1] += 1);
                Entries::Int(e.iter().map(|&(_, r)| (t[r as usize].unwrap_or_default(), r)).collect())
            }
            Times::Float(t) => {
                let mut e = rows(&|r| t[r].is_some());
                let value = |r: IdxSize| t[r as usize].unwrap_or_default();
                e.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(value(a.1).total_cmp(&value(b.1))).then(a.1.cmp(&b.1)));
                e.iter().for_each(|&(g, _)| start[g as usize + 1] += 1);
                Entries::Float(e.iter().map(|&(_, r)| (value(r), r)).collect())
            }
        };
        for g in 0..count {
            start[g + 1] += start[g];
        }
        Ok(AsofIndex { keys, start, entries })
    }
}

/// The join's keys cast to their common types under temporary names, and
/// those names.
fn key_columns(spec: &JoinSpec) -> (Vec<Expr>, Vec<Expr>) {
    let names: Vec<String> = (0..spec.keys.len()).map(|i| format!("__dq_jk{i}")).collect();
    let casts = spec.key_exprs().into_iter().zip(&names).map(|(e, n)| e.alias(n.as_str())).collect();
    (casts, names.iter().map(|n| col(n.as_str())).collect())
}

/// The group number of each row of `df` among `distinct` keys (null for a
/// key the right side does not have, or a null key).
fn group_of(spec: &JoinSpec, df: DataFrame, distinct: &DataFrame, on: &[Expr]) -> PolarsResult<Vec<Option<u32>>> {
    let (casts, _) = key_columns(spec);
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
        let (_, on) = key_columns(spec);
        group_of(spec, left.clone(), &index.keys, &on)?
    };
    let times = Times::of(left.column(&asof.left)?, &asof.dtype)?;
    let slice = |g: u32| index.start[g as usize]..index.start[g as usize + 1];
    let matches: Vec<Option<IdxSize>> = match (&times, &index.entries) {
        (Times::Int(t), Entries::Int(e)) => (0..left.height())
            .map(|r| {
                let (g, t) = (groups[r]?, t[r]?);
                let range = slice(g);
                let d = |v: i64| (v as i128 - t as i128).unsigned_abs();
                find(&e[range.clone()], t, asof.direction, |a, b| a.cmp(b), |a, b| d(a).cmp(&d(b)))
            })
            .collect(),
        (Times::Float(t), Entries::Float(e)) => (0..left.height())
            .map(|r| {
                let (g, t) = (groups[r]?, t[r]?);
                let range = slice(g);
                let d = |v: f64| (v - t).abs();
                find(&e[range.clone()], t, asof.direction, f64::total_cmp, |a, b| d(a).total_cmp(&d(b)))
            })
            .collect(),
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

/// The right row `entries` (one group's, sorted by value) holds for the
/// value `t` in `direction`.
fn find<T: Copy>(
    entries: &[(T, IdxSize)],
    t: T,
    direction: Direction,
    cmp: impl Fn(&T, &T) -> Ordering,
    by_distance: impl Fn(T, T) -> Ordering,
) -> Option<IdxSize> {
    // The last at or before t; the first at or after t.
    let after = entries.partition_point(|(v, _)| cmp(v, &t) != Ordering::Greater);
    let backward = after.checked_sub(1).map(|i| entries[i]);
    let from = entries.partition_point(|(v, _)| cmp(v, &t) == Ordering::Less);
    let forward = entries.get(from).copied();
    let pick = match direction {
        Direction::Backward => backward,
        Direction::Forward => forward,
        Direction::Nearest => match (backward, forward) {
            (Some(b), Some(f)) => Some(if by_distance(f.0, b.0) == Ordering::Less { f } else { b }),
            (b, f) => b.or(f),
        },
    };
    pick.map(|(_, row)| row)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_last_before_the_first_after_and_the_nearest() {
        let e = [(10i64, 0), (20, 1), (20, 2), (30, 3)];
        let f = |t, d| find(&e, t, d, |a: &i64, b| a.cmp(b), |a, b| (a - t).abs().cmp(&(b - t).abs()));
        assert_eq!(f(5, Direction::Backward), None);
        assert_eq!(f(20, Direction::Backward), Some(2), "the last of equal values");
        assert_eq!(f(25, Direction::Backward), Some(2));
        assert_eq!(f(20, Direction::Forward), Some(1), "the first of equal values");
        assert_eq!(f(31, Direction::Forward), None);
        assert_eq!(f(26, Direction::Nearest), Some(3));
        assert_eq!(f(25, Direction::Nearest), Some(2), "a tie takes the earlier");
        assert_eq!(f(99, Direction::Nearest), Some(3));
    }
}
