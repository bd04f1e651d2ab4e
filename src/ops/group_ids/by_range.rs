//! Grouping integer keys whose values span a small range: each row's value,
//! less the smallest, indexes an array of group ids directly, with no hash
//! and no comparison (DuckDB's "perfect hash" aggregate does the same).
//! Dictionary-like keys (h2o's id4..id6, codes combined from several keys)
//! nearly always qualify.

use super::Groups;
use polars::prelude::IdxSize;

/// The widest range grouped through an array: a few rows' worth of group
/// ids, or 64k slots (256 KB) for short chunks.
fn widest_range(rows: usize) -> u64 {
    (rows as u64).max(1 << 16)
}

/// Groups `values` (the rows not `valid` share one group) when their range
/// is small enough, or `None`.
pub(super) fn group_by_range(values: &[i64], valid: Option<&[bool]>) -> Option<Groups> {
    let (lo, hi) = min_max(values, valid);
    let range = (hi as i128 - lo as i128 + 1) as u128;
    if range > u128::from(widest_range(values.len())) {
        return None;
    }
    let mut slots = vec![UNSEEN; range as usize];
    let mut first: Vec<IdxSize> = Vec::new();
    let mut ids = Vec::with_capacity(values.len());
    let mut null_group = UNSEEN;
    for (row, &v) in values.iter().enumerate() {
        let slot = if valid.is_some_and(|m| !m[row]) {
            &mut null_group
        } else {
            // In range: lo <= v <= hi for every valid row.
            &mut slots[v.wrapping_sub(lo) as u64 as usize]
        };
        if *slot == UNSEEN {
            *slot = u32::try_from(first.len()).ok()?;
            first.push(row as IdxSize);
        }
        ids.push(*slot);
    }
    Some(Groups { ids, first })
}

const UNSEEN: u32 = u32::MAX;

/// Groups the first `rows` rows of several integer keys (values, valid
/// rows) when the product of their ranges (each with a slot for null) is
/// small enough: each row's combined value (mixed radix) indexes an array.
pub(super) fn group_by_ranges(keys: &[(&[i64], Option<&[bool]>)], rows: usize) -> Option<Groups> {
    let mut code = crate::ops::filled(0u32, rows);
    let mut stride = 1u64;
    for &(values, valid) in keys {
        let (values, valid) = (&values[..rows], valid.map(|v| &v[..rows]));
        let (lo, hi) = min_max(values, valid);
        // The slot after the largest value is null's.
        let range = (hi as i128 - lo as i128 + 2) as u128;
        let total = u128::from(stride) * range;
        if total > u128::from(widest_range(rows)) {
            return None;
        }
        let s = stride as u32;
        match valid {
            None => code.iter_mut().zip(values).for_each(|(c, &v)| *c += v.wrapping_sub(lo) as u32 * s),
            Some(ok) => {
                let null = (range - 1) as u32;
                for ((c, &v), &ok) in code.iter_mut().zip(values).zip(ok) {
                    *c += if ok { v.wrapping_sub(lo) as u32 } else { null } * s;
                }
            }
        }
        stride = total as u64;
    }
    let mut slots = vec![UNSEEN; stride as usize];
    let mut first: Vec<IdxSize> = Vec::new();
    let mut ids = Vec::with_capacity(rows);
    for (row, &c) in code.iter().enumerate() {
        let slot = &mut slots[c as usize];
        if *slot == UNSEEN {
            *slot = first.len() as u32;
            first.push(row as IdxSize);
        }
        ids.push(*slot);
    }
    Some(Groups { ids, first })
}

/// The smallest and largest valid value; with no valid row, any range.
pub(super) fn min_max(values: &[i64], valid: Option<&[bool]>) -> (i64, i64) {
    let (mut lo, mut hi) = (i64::MAX, i64::MIN);
    match valid {
        None => {
            for &v in values {
                lo = lo.min(v);
                hi = hi.max(v);
            }
        }
        Some(mask) => {
            for (&v, &ok) in values.iter().zip(mask) {
                if ok {
                    lo = lo.min(v);
                    hi = hi.max(v);
                }
            }
        }
    }
    if lo > hi {
        (0, 0)
    } else {
        (lo, hi)
    }
}
