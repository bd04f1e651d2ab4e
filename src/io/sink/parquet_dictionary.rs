//! Dictionary encoding of a column for the Parquet writer.
//!
//! A Parquet column chunk is dictionary-encoded when its values repeat:
//! each distinct value is stored once and every row as an index into them.
//! polars 0.46 finds the distinct values of a text column (and of an
//! integer column whose range is too wide for its bitmap) by casting it
//! to a dictionary array through a general hash map that hashes and
//! compares every row's bytes: that cast was a third of the CPU time of
//! writing the 10M-row h2o table. Numbering a column's distinct values
//! is what grouping by it does, so dq's own group-id kernel
//! ([`crate::ops::group_rows`], which compares a short text as the two
//! words of its view) builds the dictionary here, and polars' writer only
//! encodes it. Values are numbered in order of first appearance, as
//! polars numbers them, so the pages are the same.

use polars::prelude::*;
use polars_arrow::array::{Array, DictionaryArray, PrimitiveArray};
use polars_arrow::datatypes::IntegerType;

/// How to write one column chunk.
pub enum Choice {
    /// As this dictionary (values in order of first appearance, no nulls).
    Dictionary(DictionaryArray<u32>),
    /// Plain: its values barely repeat.
    Plain,
    /// As polars decides (the types this module leaves to it).
    Polars,
}

/// Rows of a column grouped first, to tell a column that may barely
/// repeat.
const SAMPLE_ROWS: usize = 4096;

/// Whether `distinct` values among `rows` are too many for a dictionary:
/// polars' rule (more than three quarters of the rows distinct).
fn too_many(distinct: usize, rows: usize) -> bool {
    rows > 128 && distinct * 4 > rows * 3
}

/// How `column` (one row group's slice, one chunk) is best written.
pub fn choose(column: &Column) -> PolarsResult<Choice> {
    let rows = column.len();
    let handled = match column.dtype() {
        DataType::String => true,
        // polars' own path for integers in a range of up to 2^16 values
        // (a bitmap of the values seen) is as fast as this one.
        DataType::Int64 | DataType::Int32 => wider_than_u16(column)?,
        _ => false,
    };
    if !handled || rows == 0 || column.null_count() == rows {
        return Ok(Choice::Polars);
    }
    let sample = rows.min(SAMPLE_ROWS);
    let Some(first) = crate::ops::group_rows(&[&column.slice(0, sample)]) else {
        return Ok(Choice::Polars);
    };
    // A sample this varied is what a unique column looks like, and also
    // one of 100k values in 300k rows: an estimate of the distinct values
    // of every row (polars' HyperLogLog) tells them apart before a full
    // grouping is spent on the first.
    if too_many(first.len(), sample) {
        let estimate = polars_compute::cardinality::estimate_cardinality(&*arrow_of(column));
        if too_many(estimate, rows) {
            return Ok(Choice::Plain);
        }
    }
    let Some(groups) = crate::ops::group_rows(&[column]) else {
        return Ok(Choice::Polars);
    };
    if too_many(groups.len(), rows) {
        return Ok(Choice::Plain);
    }
    dictionary(column, groups).map(Choice::Dictionary)
}

/// `column` (one chunk) as the arrow array polars' writer takes.
pub fn arrow_of(column: &Column) -> Box<dyn Array> {
    column.as_materialized_series().to_arrow(0, CompatLevel::newest())
}

/// Whether `column`'s values span more than 2^16 values.
fn wider_than_u16(column: &Column) -> PolarsResult<bool> {
    let series = column.as_materialized_series().cast(&DataType::Int64)?;
    let ints = series.i64()?;
    Ok(match (ints.min(), ints.max()) {
        (Some(lo), Some(hi)) => i128::from(hi) - i128::from(lo) > i128::from(u16::MAX),
        _ => false,
    })
}

/// The dictionary array of `column` grouped as `groups`: the null group
/// (if any) is left out of the values, its rows masked by the validity.
fn dictionary(column: &Column, groups: crate::ops::Groups) -> PolarsResult<DictionaryArray<u32>> {
    let series = column.as_materialized_series().rechunk();
    let validity = series.chunks()[0].validity().cloned();
    let crate::ops::Groups { mut ids, mut first } = groups;
    if let Some(valid) = &validity {
        if let Some(null_row) = valid.iter().position(|v| !v) {
            let null_id = ids[null_row];
            first.remove(null_id as usize);
            for id in &mut ids {
                // Null rows point at any value (0): the validity hides them.
                *id = match (*id).cmp(&null_id) {
                    std::cmp::Ordering::Less => *id,
                    std::cmp::Ordering::Equal => 0,
                    std::cmp::Ordering::Greater => *id - 1,
                };
            }
        }
    }
    let values = series.take(&IdxCa::from_vec(PlSmallStr::EMPTY, first))?.rechunk();
    let values = values.to_arrow(0, CompatLevel::newest());
    let keys = PrimitiveArray::new(ArrowDataType::UInt32, ids.into(), validity);
    let dtype = ArrowDataType::Dictionary(IntegerType::UInt32, Box::new(values.dtype().clone()), false);
    DictionaryArray::try_new(dtype, keys, values)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dictionary_of(column: Column) -> DictionaryArray<u32> {
        match choose(&column).unwrap() {
            Choice::Dictionary(d) => d,
            Choice::Plain => panic!("plain"),
            Choice::Polars => panic!("left to polars"),
        }
    }

    /// Each row's key points at its own value; values are distinct, in
    /// order of first appearance, without the null.
    #[test]
    fn text_with_nulls_becomes_its_distinct_values_and_a_key_per_row() {
        let rows: Vec<Option<&str>> = (0..1000)
            .map(|i| match i % 7 {
                0 => None,
                k => Some(["b", "a", "a long value past twelve bytes", "c", "b", "a"][k - 1]),
            })
            .collect();
        let d = dictionary_of(Column::new("s".into(), &rows));
        let values: Vec<&str> =
            d.values().as_any().downcast_ref::<polars_arrow::array::Utf8ViewArray>().unwrap().values_iter().collect();
        assert_eq!(values, ["b", "a", "a long value past twelve bytes", "c"]);
        for (row, want) in rows.iter().enumerate() {
            let got = d.keys().get(row).map(|k| values[k as usize]);
            assert_eq!(got, *want, "row {row}");
        }
    }

    #[test]
    fn wide_integers_repeating_get_a_dictionary_narrow_ones_stay_with_polars() {
        let wide: Vec<i64> = (0..5000).map(|i| (i % 50) * 1_000_000 - 7).collect();
        let d = dictionary_of(Column::new("i".into(), &wide));
        let values = d.values().as_any().downcast_ref::<PrimitiveArray<i64>>().unwrap();
        assert_eq!(values.len(), 50);
        for (row, &v) in wide.iter().enumerate() {
            assert_eq!(values.value(d.keys().value(row) as usize), v, "row {row}");
        }
        let narrow: Vec<i64> = (0..5000).map(|i| i % 50).collect();
        assert!(matches!(choose(&Column::new("i".into(), &narrow)).unwrap(), Choice::Polars));
        let floats: Vec<f64> = (0..5000).map(|i| (i % 50) as f64).collect();
        assert!(matches!(choose(&Column::new("f".into(), &floats)).unwrap(), Choice::Polars));
    }

    /// Distinct in the first rows but repeating over all of them (h2o's
    /// id3: 100k values in a row group of 328k rows).
    #[test]
    fn values_repeating_only_beyond_the_sample_get_a_dictionary() {
        let rows: Vec<String> = (0..60_000).map(|i| format!("id{:010}", (i * 7919) % 20_000)).collect();
        let d = dictionary_of(Column::new("s".into(), &rows));
        assert_eq!(d.values().len(), 20_000);
    }

    #[test]
    fn values_that_barely_repeat_are_written_plain() {
        let unique: Vec<String> = (0..5000).map(|i| format!("value {i}")).collect();
        assert!(matches!(choose(&Column::new("s".into(), &unique)).unwrap(), Choice::Plain));
        // Repeating in the first rows, unique after them: decided on all rows.
        let later: Vec<String> = (0..20000).map(|i| format!("v{}", if i < 5000 { i % 3 } else { i })).collect();
        assert!(matches!(choose(&Column::new("s".into(), &later)).unwrap(), Choice::Plain));
    }
}
