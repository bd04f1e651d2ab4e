//! Rows that may be among the top `n` of their group, found without
//! sorting: each group's n-th best value of a single numeric sort key
//! becomes a threshold, and only rows at or past it are kept (in input
//! order). Sorting the survivors stably and taking each group's first `n`
//! rows gives exactly what sorting everything would: every true top-n row
//! is at or past its group's threshold. `sort -v3 | head 2 by id6` sorted
//! 6M gathered rows to keep 200k.

use polars::prelude::*;
use polars_arrow::array::BooleanArray;
use polars_arrow::bitmap::{Bitmap, MutableBitmap};

use super::group_ids::Groups;

/// The rows of `df` that may be in their group's top `n` by `key`
/// (descending or not), or `None` when this does not apply: a key that is
/// not an Int64/Float64 column, has nulls or NaN, or a large `n`.
pub fn top_candidates(
    df: &DataFrame,
    groups: &Groups,
    key: &str,
    descending: bool,
    n: usize,
) -> Option<BooleanChunked> {
    let mask = with_values(df, key, n, |values| match values {
        Values::Int(v) => candidates(v, groups, descending, n),
        Values::Float(v) => candidates(v, groups, descending, n),
    })?;
    let bits: Bitmap = mask.into();
    Some(BooleanChunked::with_chunk(PlSmallStr::EMPTY, BooleanArray::new(ArrowDataType::Boolean, bits, None)))
}

/// Exactly the rows a stable sort by `key` followed by each group's first
/// `n` rows keeps, in input order (ties at a group's n-th value go to the
/// earliest rows), or `None` where [`top_candidates`] does not apply.
pub fn top_rows(df: &DataFrame, groups: &Groups, key: &str, descending: bool, n: usize) -> Option<Vec<IdxSize>> {
    with_values(df, key, n, |values| match values {
        Values::Int(v) => exact(v, groups, descending, n),
        Values::Float(v) => exact(v, groups, descending, n),
    })
}

enum Values<'a> {
    Int(&'a [i64]),
    Float(&'a [f64]),
}

/// Runs `f` on the key's values when they are Int64 or Float64 without
/// nulls or NaN and `n` is small.
fn with_values<R>(df: &DataFrame, key: &str, n: usize, f: impl FnOnce(Values) -> R) -> Option<R> {
    if n == 0 || n > 16 {
        return None;
    }
    let column = df.column(key).ok()?.as_materialized_series();
    if column.null_count() > 0 {
        return None;
    }
    match column.dtype() {
        DataType::Int64 => {
            let values = column.i64().ok()?.rechunk();
            Some(f(Values::Int(values.cont_slice().ok()?)))
        }
        DataType::Float64 => {
            let values = column.f64().ok()?.rechunk();
            let values = values.cont_slice().ok()?;
            // NaN has no place in `<`; polars' sort orders it by its own rule.
            if values.iter().any(|v| v.is_nan()) {
                return None;
            }
            Some(f(Values::Float(values)))
        }
        _ => None,
    }
}

/// Whether `a` ranks before `b` in the sort order.
fn ranks_before<T: PartialOrd>(descending: bool) -> impl Fn(T, T) -> bool {
    move |a, b| if descending { a > b } else { a < b }
}

/// Each group's best `n` values, best first (ties in input order), as
/// `(best, len)`: `len[g]` of them in `best[g * n..]`, the slots past them
/// unused. Every group has a row, so `len[g] >= 1`.
fn best_values<T: PartialOrd + Copy + Default>(
    values: &[T],
    groups: &Groups,
    descending: bool,
    n: usize,
) -> (Vec<T>, Vec<usize>) {
    let before = ranks_before(descending);
    let mut best: Vec<T> = crate::ops::filled(T::default(), groups.len() * n);
    let mut len = crate::ops::filled(0usize, groups.len());
    for (&g, &v) in groups.ids.iter().zip(values) {
        let g = g as usize;
        let slots = &mut best[g * n..(g + 1) * n];
        let filled = len[g];
        if filled == n && !before(v, slots[n - 1]) {
            continue;
        }
        // Insert `v` after the values that rank before it or tie with it.
        let mut at = filled.min(n - 1);
        while at > 0 && before(v, slots[at - 1]) {
            slots[at] = slots[at - 1];
            at -= 1;
        }
        slots[at] = v;
        len[g] = (filled + 1).min(n);
    }
    (best, len)
}

/// Whether each row is at or past its group's n-th best value (a bitmap,
/// packed eight rows a byte: collecting a BooleanChunked row by row took a
/// quarter of q8's time).
fn candidates<T: PartialOrd + Copy + Default>(
    values: &[T],
    groups: &Groups,
    descending: bool,
    n: usize,
) -> MutableBitmap {
    let before = ranks_before(descending);
    let (best, len) = best_values(values, groups, descending, n);
    groups
        .ids
        .iter()
        .zip(values)
        .map(|(&g, &v)| {
            let g = g as usize;
            // The group's n-th best, or (fewer rows than n) its worst.
            !before(best[g * n + len[g] - 1], v)
        })
        .collect()
}

/// The rows strictly better than their group's n-th best value, and of the
/// rows tied with it the earliest ones that fill the group's `n`.
fn exact<T: PartialOrd + Copy + Default>(values: &[T], groups: &Groups, descending: bool, n: usize) -> Vec<IdxSize> {
    let before = ranks_before(descending);
    let (best, len) = best_values(values, groups, descending, n);
    // Ties each group may keep: its kept values equal to its threshold
    // (every row strictly better than the threshold is among the kept ones).
    let mut ties: Vec<usize> = (0..groups.len())
        .map(|g| {
            let kept = &best[g * n..g * n + len[g]];
            let threshold = kept[kept.len() - 1];
            kept.iter().filter(|&&v| !before(v, threshold)).count()
        })
        .collect();
    let mut out = Vec::new();
    for (row, (&g, &v)) in groups.ids.iter().zip(values).enumerate() {
        let g = g as usize;
        let threshold = best[g * n + len[g] - 1];
        if before(v, threshold) {
            out.push(row as IdxSize);
        } else if !before(threshold, v) && ties[g] > 0 {
            ties[g] -= 1;
            out.push(row as IdxSize);
        }
    }
    out
}
