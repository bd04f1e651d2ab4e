//! The order of a frame's rows by numeric sort keys without nulls.
//!
//! Each key becomes an unsigned integer that orders as the key does
//! (inverted when descending); the rows are sorted once, unstably, as
//! (first key, row) pairs, and each run of equal first keys is then sorted
//! by the other keys. The row number ends every comparison, so the
//! unstable sort gives the stable order. polars' stable arg-sort, one key
//! after another (the other way to sort several plain keys), sorted twice
//! and gathered a key between: `sort -v3, id6 | count` over 10M rows took
//! 2.5 s against 1.2 s for `sort -v3` alone.

use polars::prelude::*;
use rayon::prelude::*;
use std::cmp::Ordering;

const SIGN: u64 = 1 << 63;

/// Runs of equal first keys longer than this are sorted on every thread.
const PARALLEL_RUN: usize = 1 << 16;

/// The order of the rows by `columns` (each ascending unless its
/// `descending` flag says otherwise, ties in row order), or `None` when a
/// column has nulls or is not of a numeric type.
pub fn numeric_order(columns: &[&Series], descending: &[bool]) -> Option<Vec<IdxSize>> {
    let keys: Vec<Vec<u64>> =
        columns.iter().zip(descending).map(|(c, &d)| ordered_bits(c, d)).collect::<Option<_>>()?;
    let (first, rest) = keys.split_first()?;
    let mut pairs: Vec<(u64, IdxSize)> = first.iter().enumerate().map(|(row, &k)| (k, row as IdxSize)).collect();
    pairs.par_sort_unstable();
    if !rest.is_empty() {
        let by_rest = |a: &(u64, IdxSize), b: &(u64, IdxSize)| {
            let (a, b) = (a.1 as usize, b.1 as usize);
            rest.iter().map(|k| k[a].cmp(&k[b])).find(|o| o.is_ne()).unwrap_or(Ordering::Equal).then(a.cmp(&b))
        };
        pairs.par_chunk_by_mut(|a, b| a.0 == b.0).for_each(|run| match run.len() {
            0 | 1 => {}
            n if n > PARALLEL_RUN => run.par_sort_unstable_by(by_rest),
            _ => run.sort_unstable_by(by_rest),
        });
    }
    Some(pairs.into_iter().map(|(_, row)| row).collect())
}

/// Each value of `column` as a `u64` that orders as the value does, or
/// `None` for nulls and non-numeric types.
fn ordered_bits(column: &Series, descending: bool) -> Option<Vec<u64>> {
    if column.null_count() > 0 {
        return None;
    }
    let physical = column.to_physical_repr();
    let flip = if descending { u64::MAX } else { 0 };
    let bits: Vec<u64> = match physical.dtype() {
        DataType::Float64 => physical.f64().ok()?.into_no_null_iter().map(|v| float_bits(v) ^ flip).collect(),
        DataType::Float32 => {
            physical.f32().ok()?.into_no_null_iter().map(|v| float_bits(f64::from(v)) ^ flip).collect()
        }
        DataType::UInt64 => physical.u64().ok()?.into_no_null_iter().map(|v| v ^ flip).collect(),
        DataType::Int64
        | DataType::Int32
        | DataType::Int16
        | DataType::Int8
        | DataType::UInt32
        | DataType::UInt16
        | DataType::UInt8 => {
            let ints = physical.cast(&DataType::Int64).ok()?;
            ints.i64().ok()?.into_no_null_iter().map(|v| (v as u64 ^ SIGN) ^ flip).collect()
        }
        _ => return None,
    };
    Some(bits)
}

/// `v`'s bits reordered so that unsigned order is numeric order, with
/// polars' conventions: NaN above every number, and -0.0 equal to 0.0
/// (their ties keep row order).
fn float_bits(v: f64) -> u64 {
    let v = if v.is_nan() { f64::NAN } else { v + 0.0 };
    let b = v.to_bits();
    if b & SIGN != 0 {
        !b
    } else {
        b | SIGN
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Against a comparison sort of the rows by the keys' own order (NaN
    /// largest, -0.0 = 0.0), then row: ints of several widths and floats
    /// with NaN, infinities and signed zeros, both directions, one key and
    /// several, with long runs of equal first keys.
    #[test]
    fn the_order_is_a_stable_sort_by_the_keys() {
        let n = 200_000usize;
        let specials = [f64::NAN, -f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 0.0, -1.5, 2.5];
        let a: Vec<i64> = (0..n).map(|i| ((i * 7919) % 5) as i64 - 2).collect();
        let f: Vec<f64> = (0..n).map(|i| specials[(i * 31) % specials.len()]).collect();
        let b: Vec<i32> = (0..n).map(|i| ((i * 104_729) % 1_000) as i32 - 500).collect();
        let (sa, sf, sb) = (Series::new("a".into(), &a), Series::new("f".into(), &f), Series::new("b".into(), &b));
        let float_cmp = |x: f64, y: f64| match (x.is_nan(), y.is_nan()) {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Greater,
            (false, true) => Ordering::Less,
            _ => x.partial_cmp(&y).unwrap(),
        };
        let dir = |o: Ordering, d: bool| if d { o.reverse() } else { o };
        for (da, df, db) in [(false, false, false), (true, false, true), (false, true, false), (true, true, true)] {
            let got = numeric_order(&[&sa, &sf, &sb], &[da, df, db]).unwrap();
            let mut want: Vec<IdxSize> = (0..n as IdxSize).collect();
            want.sort_by(|&x, &y| {
                let (x, y) = (x as usize, y as usize);
                dir(a[x].cmp(&a[y]), da)
                    .then(dir(float_cmp(f[x], f[y]), df))
                    .then(dir(b[x].cmp(&b[y]), db))
                    .then(x.cmp(&y))
            });
            assert!(got == want, "a desc={da}, f desc={df}, b desc={db}");
            let got = numeric_order(&[&sf], &[df]).unwrap();
            let mut want: Vec<IdxSize> = (0..n as IdxSize).collect();
            want.sort_by(|&x, &y| dir(float_cmp(f[x as usize], f[y as usize]), df).then(x.cmp(&y)));
            assert!(got == want, "f desc={df}");
        }
    }

    #[test]
    fn nulls_and_other_types_are_left_to_polars() {
        let nulls = Series::new("n".into(), &[Some(1i64), None]);
        let text = Series::new("t".into(), &["a", "b"]);
        let ints = Series::new("i".into(), &[2i64, 1]);
        assert_eq!(numeric_order(&[&ints], &[false]), Some(vec![1, 0]));
        assert_eq!(numeric_order(&[&ints, &nulls], &[false, false]), None);
        assert_eq!(numeric_order(&[&text], &[false]), None);
    }
}
