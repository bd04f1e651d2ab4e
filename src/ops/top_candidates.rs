//! Rows that may be among the top `n` of their group, found without
//! sorting: each group's n-th best value of a single numeric sort key
//! becomes a threshold, and only rows at or past it are kept (in input
//! order). Sorting the survivors stably and taking each group's first `n`
//! rows gives exactly what sorting everything would: every true top-n row
//! is at or past its group's threshold. `sort -v3 | head 2 by id6` sorted
//! 6M gathered rows to keep 200k.

use polars::prelude::*;

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
            Some(keep(values.cont_slice().ok()?, groups, descending, n))
        }
        DataType::Float64 => {
            let values = column.f64().ok()?.rechunk();
            let values = values.cont_slice().ok()?;
            // NaN has no place in `<`; polars' sort orders it by its own rule.
            if values.iter().any(|v| v.is_nan()) {
                return None;
            }
            Some(keep(values, groups, descending, n))
        }
        _ => None,
    }
}

/// The mask of rows at or past their group's n-th best value.
fn keep<T: PartialOrd + Copy>(values: &[T], groups: &Groups, descending: bool, n: usize) -> BooleanChunked {
    // `a` ranks before `b`.
    let before = |a: T, b: T| if descending { a > b } else { a < b };
    // Each group's best values so far, best first: `len[g]` of them in
    // `best[g * n..]`.
    let mut best: Vec<Option<T>> = vec![None; groups.len() * n];
    let mut len = vec![0usize; groups.len()];
    for (&g, &v) in groups.ids.iter().zip(values) {
        let g = g as usize;
        let slots = &mut best[g * n..(g + 1) * n];
        let filled = len[g];
        if filled == n && !slots[n - 1].is_some_and(|last| before(v, last)) {
            continue;
        }
        // Insert `v` after the values that rank before it or tie with it.
        let mut at = filled.min(n - 1);
        while at > 0 && slots[at - 1].is_some_and(|prev| before(v, prev)) {
            slots[at] = slots[at - 1];
            at -= 1;
        }
        slots[at] = Some(v);
        len[g] = (filled + 1).min(n);
    }
    groups
        .ids
        .iter()
        .zip(values)
        .map(|(&g, &v)| {
            let g = g as usize;
            // The group's n-th best, or (fewer rows than n) its worst.
            match best[g * n + len[g] - 1] {
                Some(threshold) => !before(threshold, v),
                None => true,
            }
        })
        .collect()
}
