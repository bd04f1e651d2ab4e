//! A top-k's bound, pushed into the scan (`sort -v3 | head 10` over
//! Parquet).
//!
//! Once k rows have been seen, the k-th best key among them is a bound: a
//! row whose key is worse has k rows ahead of it and is never in the
//! answer. The top-k sink offers each chunk's best keys; the scan's
//! prefiltered read ([`super::RowFilter`]) decodes a row group's key column
//! first and the other columns only for the rows at least as good as the
//! bound. (Reading the key alone first, to skip row groups where no row
//! is, took 140 MB more peak RSS for `sort -v3 | head 10` over the 10M h2o
//! table and little time: a row group past the first few still has a row
//! or two as good as the bound.) This is the
//! dynamic filter DuckDB and DataFusion push from a top-k into their scans;
//! the first chunks read every row, the rest next to none.
//!
//! Keys compare by their order bits ([`crate::ops::ascending_bits`]:
//! numbers, dates and times; NaN above every number, -0.0 equal to 0.0),
//! the order the sort itself uses. Ties with the bound are kept (which of
//! them is in the answer depends on row order), and so is every row while
//! no bound is known.

use std::sync::Mutex;

use polars::prelude::*;
use polars_arrow::array::BooleanArray;
use polars_arrow::bitmap::Bitmap;

/// The k best keys the scan's chunks have had so far; the k-th of them is
/// the bound.
#[derive(Debug)]
pub struct TopBound {
    /// The first sort key, a column the scan reads.
    pub column: String,
    descending: bool,
    k: usize,
    /// The best keys' order bits, best first, at most k.
    best: Mutex<Vec<u64>>,
}

impl TopBound {
    /// No bound yet for the `k` best rows by `column`, sorted
    /// `descending` or not.
    pub fn new(column: String, descending: bool, k: usize) -> TopBound {
        TopBound { column, descending, k, best: Mutex::new(Vec::new()) }
    }

    /// Whether `a` comes before `b` in the sort order.
    fn before(&self, a: u64, b: u64) -> bool {
        if self.descending {
            a > b
        } else {
            a < b
        }
    }

    /// The bound: the k-th best key so far, once k keys were offered.
    fn bound(&self) -> Option<u64> {
        let best = self.best.lock().unwrap_or_else(|e| e.into_inner());
        best.get(self.k.checked_sub(1)?).copied()
    }

    /// Offers the valid keys of `top` (a chunk's best rows): the k best of
    /// all keys offered are kept.
    pub fn offer(&self, top: &DataFrame) {
        let Some(column) = top.column(&self.column).ok().map(Column::as_materialized_series) else { return };
        let Some(bits) = crate::ops::ascending_bits(column) else { return };
        let valid = column.is_not_null();
        let mut best = self.best.lock().unwrap_or_else(|e| e.into_inner());
        best.extend(bits.iter().zip(valid.into_no_null_iter()).filter(|(_, ok)| *ok).map(|(&b, _)| b));
        if self.descending {
            best.sort_unstable_by(|a, b| b.cmp(a));
        } else {
            best.sort_unstable();
        }
        best.truncate(self.k);
    }

    /// Which rows of `key` (the column) are no worse than the bound:
    /// every row while there is none; nulls (sorted last) not once there
    /// is. `None` when the column's type has no order bits.
    pub fn keeps(&self, key: &Series) -> Option<BooleanChunked> {
        let Some(bound) = self.bound() else {
            return Some(BooleanChunked::full(PlSmallStr::EMPTY, true, key.len()));
        };
        let bits = crate::ops::ascending_bits(key)?;
        // Packed straight into a bitmap (a `Vec<bool>` first, then a
        // boolean column from it, was a sixth of `sort -v3 | head 10`).
        let keep = Bitmap::from_trusted_len_iter(bits.iter().map(|&b| !self.before(bound, b)));
        let keep = BooleanArray::new(ArrowDataType::Boolean, keep, None);
        let mut keep = BooleanChunked::with_chunk(PlSmallStr::EMPTY, keep);
        if key.null_count() > 0 {
            keep = &keep & &key.is_not_null();
        }
        Some(keep)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kept(bound: &TopBound, values: &[Option<f64>]) -> Vec<bool> {
        let s = Series::new("v".into(), values);
        bound.keeps(&s).unwrap().into_no_null_iter().collect()
    }

    #[test]
    fn rows_worse_than_the_kth_best_key_so_far_are_dropped_ties_kept() {
        let values = [Some(1.0), Some(5.0), None, Some(f64::NAN), Some(-0.0), Some(3.0)];
        let chunk = |v: &[Option<f64>]| DataFrame::new(vec![Column::new("v".into(), v)]).unwrap();
        let down = TopBound::new("v".into(), true, 3);
        assert_eq!(kept(&down, &values), [true; 6], "no bound yet: every row");
        // Two valid keys (a null is no key) are no bound for k = 3.
        down.offer(&chunk(&[Some(9.0), Some(2.0), None]));
        assert_eq!(kept(&down, &values), [true; 6]);
        down.offer(&chunk(&[Some(8.0), Some(1.0)]));
        // The 3rd best of 9, 8, 2, 1 is 2; NaN sorts above every number, so
        // it leads a descending sort.
        assert_eq!(kept(&down, &values), [false, true, false, true, false, true]);
        // Worse keys later do not loosen it; better ones tighten it.
        down.offer(&chunk(&[Some(0.5)]));
        assert_eq!(kept(&down, &values), [false, true, false, true, false, true]);
        down.offer(&chunk(&[Some(5.0)]));
        assert_eq!(kept(&down, &values), [false, true, false, true, false, false]);

        let up = TopBound::new("v".into(), false, 2);
        up.offer(&chunk(&[Some(-1.0), Some(0.0)]));
        // -0.0 ties with 0.0 and is kept; NaN sorts last.
        assert_eq!(kept(&up, &values), [false, false, false, false, true, false]);
    }
}
