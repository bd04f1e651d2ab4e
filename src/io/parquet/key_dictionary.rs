//! Group keys read as dictionary codes.
//!
//! A Parquet string column is usually dictionary-encoded: each row group
//! stores its distinct values once and every row as a small index into
//! them. When such a column is only a group key, hashing every row's
//! string again (as grouping a decoded column does) repeats work the
//! writer already did. Instead, each row group's dictionary is mapped once
//! onto ids shared by the whole scan (a [`KeyDictionary`]), the rows are
//! read as those ids (a `UInt32` column), and the aggregation groups the
//! ids and turns only the groups' ids back into strings. This is what
//! Polars' global string cache and DuckDB's dictionary vectors do.
//!
//! The dictionary is bounded ([`MAX_ENTRIES`], [`MAX_BYTES`]) so that its
//! memory stays small beside the memory budget: a row group whose values
//! do not fit any more is read as plain strings, which the aggregation
//! accepts as well.

use std::sync::Mutex;

use hashbrown::HashMap;
use polars::prelude::*;
use polars_arrow::array::{PrimitiveArray, Utf8ViewArray};

/// Most distinct values one dictionary holds.
pub const MAX_ENTRIES: usize = 1 << 18;
/// Most bytes of distinct values one dictionary holds.
pub const MAX_BYTES: usize = 16 << 20;

/// The id a row gets when its code points outside its row group's
/// dictionary (a corrupt file); [`KeyDictionary::decode`] refuses it.
const INVALID: u32 = u32::MAX;

/// Distinct strings of one column across a scan, numbered in order of
/// first sight.
pub struct KeyDictionary {
    inner: Mutex<Interned>,
    /// A row group is read as ids when its rows hold at least this many
    /// per distinct value.
    min_repeats: usize,
}

#[derive(Default)]
struct Interned {
    ids: HashMap<PlSmallStr, u32, foldhash::fast::RandomState>,
    values: Vec<PlSmallStr>,
    bytes: usize,
    /// `values` as one column, for [`KeyDictionary::decode`].
    strings: Option<StringChunked>,
}

impl std::fmt::Debug for KeyDictionary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyDictionary")
    }
}

impl KeyDictionary {
    /// Repeats that pay off for the only key of an aggregation: its ids
    /// index the lane's array, no hashing at all, while each distinct value
    /// costs a lookup here and its group a decode at the end (h2o's id3,
    /// 96k values in 329k rows: q7 Parquet 13% less CPU than as strings).
    pub const ONE_KEY: usize = 2;
    /// Repeats that pay off for one of several keys, whose ids are paired
    /// with the others' in tables anyway (q10's six keys, 10M groups: no
    /// less CPU at [`Self::ONE_KEY`], and more memory).
    pub const SEVERAL_KEYS: usize = 16;

    /// An empty dictionary for row groups that repeat each value
    /// `min_repeats` times or more on average.
    pub fn new(min_repeats: usize) -> KeyDictionary {
        KeyDictionary { inner: Mutex::default(), min_repeats: min_repeats.max(1) }
    }

    /// Whether a row group of `rows` rows and `distinct` dictionary values
    /// is read as ids.
    pub fn takes(&self, distinct: usize, rows: usize) -> bool {
        distinct.saturating_mul(self.min_repeats) <= rows
    }

    /// The shared ids of a row group's dictionary `values` (non-null), or
    /// `None` when adding the new ones would pass the bounds.
    pub fn ids_of(&self, values: &Utf8ViewArray) -> Option<Vec<u32>> {
        let mut d = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let mut out = Vec::with_capacity(values.len());
        for v in values.values_iter() {
            if let Some(&id) = d.ids.get(v) {
                out.push(id);
                continue;
            }
            if d.values.len() >= MAX_ENTRIES || d.bytes + v.len() > MAX_BYTES {
                // Values added for this row group so far stay (ids handed
                // out are final); they are merely unused.
                return None;
            }
            let id = d.values.len() as u32;
            let v = PlSmallStr::from(v);
            d.bytes += v.len();
            d.ids.insert(v.clone(), id);
            d.values.push(v);
            out.push(id);
        }
        Some(out)
    }

    /// A row group's rows as shared ids: `codes` index its dictionary,
    /// whose shared ids are `ids`; nulls stay null.
    pub fn remap(name: &str, codes: &PrimitiveArray<u32>, ids: &[u32]) -> Series {
        let values: Vec<u32> =
            codes.values().iter().map(|&c| ids.get(c as usize).copied().unwrap_or(INVALID)).collect();
        let array = PrimitiveArray::new(ArrowDataType::UInt32, values.into(), codes.validity().cloned());
        UInt32Chunked::with_chunk(name.into(), array).into_series()
    }

    /// The strings of `ids` (a column of this dictionary's ids).
    ///
    /// # Errors
    /// An id this dictionary never gave out (a code outside its row
    /// group's dictionary in the file).
    pub fn decode(&self, ids: &Column) -> PolarsResult<Column> {
        let ids = ids.as_materialized_series();
        let strings = self.strings();
        let codes = ids.u32()?;
        polars_ensure!(
            codes.max().is_none_or(|id| (id as usize) < strings.len()),
            ComputeError: "column `{}`: a dictionary index in the file is out of range (corrupt file?)", ids.name()
        );
        // A gather of 16-byte views sharing the dictionary's buffers: no
        // string is copied (q10's 10M rows of three keys, a third of its
        // page faults when each row's string was pushed anew).
        Ok(strings.take(codes)?.with_name(ids.name().clone()).into_column())
    }

    /// Every value so far as one string column, rebuilt only when values
    /// were added since the last call.
    fn strings(&self) -> StringChunked {
        let mut d = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        match &d.strings {
            Some(strings) if strings.len() == d.values.len() => strings.clone(),
            _ => {
                let strings = StringChunked::from_iter_values(PlSmallStr::EMPTY, d.values.iter().map(|v| v.as_str()));
                d.strings = Some(strings.clone());
                strings
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Utf8ViewArray {
        Utf8ViewArray::from_slice_values(v)
    }

    #[test]
    fn ids_are_shared_across_row_groups_and_decode_back() {
        let d = KeyDictionary::new(KeyDictionary::SEVERAL_KEYS);
        assert_eq!(d.ids_of(&strings(&["b", "a"])), Some(vec![0, 1]));
        assert_eq!(d.ids_of(&strings(&["a", "c", "a long value past twelve bytes"])), Some(vec![1, 2, 3]));
        let codes = PrimitiveArray::<u32>::from([Some(2), None, Some(0), Some(1)]);
        let rows = KeyDictionary::remap("k", &codes, &[1, 2, 3]);
        assert_eq!(rows.u32().unwrap().iter().collect::<Vec<_>>(), [Some(3), None, Some(1), Some(2)]);
        let back = d.decode(&rows.into_column()).unwrap();
        let back: Vec<Option<&str>> = back.str().unwrap().iter().collect();
        assert_eq!(back, [Some("a long value past twelve bytes"), None, Some("a"), Some("c")]);
        // A value added after a decode decodes too (the cached column grows).
        assert_eq!(d.ids_of(&strings(&["d"])), Some(vec![4]));
        let rows = KeyDictionary::remap("k", &PrimitiveArray::<u32>::from([Some(0), Some(1)]), &[4, 0]);
        let back = d.decode(&rows.into_column()).unwrap();
        assert_eq!(back.str().unwrap().iter().collect::<Vec<_>>(), [Some("d"), Some("b")]);
    }

    #[test]
    fn a_code_outside_the_dictionary_is_an_error_not_a_wrong_value() {
        let d = KeyDictionary::new(KeyDictionary::SEVERAL_KEYS);
        let ids = d.ids_of(&strings(&["x"])).unwrap();
        let rows = KeyDictionary::remap("k", &PrimitiveArray::<u32>::from([Some(0), Some(5)]), &ids);
        let err = d.decode(&rows.into_column()).unwrap_err().to_string();
        assert!(err.contains("out of range"), "{err}");
    }

    #[test]
    fn a_dictionary_past_its_bounds_refuses_new_values_but_keeps_old_ones() {
        let d = KeyDictionary::new(KeyDictionary::SEVERAL_KEYS);
        let big: Vec<String> = (0..MAX_ENTRIES).map(|i| i.to_string()).collect();
        let big: Vec<&str> = big.iter().map(|s| s.as_str()).collect();
        assert!(d.ids_of(&strings(&big)).is_some());
        assert_eq!(d.ids_of(&strings(&["new"])), None);
        assert_eq!(d.ids_of(&strings(&["7", "0"])), Some(vec![7, 0]));
    }
}
