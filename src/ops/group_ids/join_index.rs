//! A hash index of a join's build side, made once and probed by every
//! chunk of the other side.
//!
//! polars' join hashes both of its inputs on every call: called once per
//! left chunk with the whole right side, it hashed the right side's rows
//! again for every chunk (a 10M-row right side joined with 31 chunks was
//! 5× DuckDB's time). Here the right side's keys are hashed once into a
//! table of their distinct values, each pointing at the first right row
//! with that value and the rows chained after it in row order; a chunk
//! then costs one hash and one lookup per left row. Rows with a null in
//! any key never match (SQL semantics), on either side.

use hashbrown::HashTable;
use polars::prelude::*;

use super::{combined_hashes, inline_mask, Key, TextArray};
use polars_arrow::array::View;

/// The end of a chain of right rows.
pub const NO_ROW: u32 = u32::MAX;

/// The right side's rows by key.
pub struct JoinIndex {
    keys: Vec<Key>,
    /// The first right row of each distinct key, by the keys' hash.
    table: HashTable<u32>,
    /// The next right row with the same key as each row, or [`NO_ROW`].
    next: Vec<u32>,
}

impl JoinIndex {
    /// Indexes the rows of `keys` (the right side's key columns, already
    /// of the join's key types); `None` when a key type is not one the
    /// group-id keys handle (floats, nested types) or there are too many rows.
    pub fn build(keys: &[&Column]) -> Option<JoinIndex> {
        let rows = keys.first()?.len();
        let rows_u32 = u32::try_from(rows).ok().filter(|&r| r != NO_ROW)?;
        let keys: Vec<Key> = keys.iter().map(|c| Key::of(c)).collect::<Option<_>>()?;
        let hashes = combined_hashes(&keys, rows, 0);
        // Room for every row up front (at most 5 bytes a row): growing it
        // re-hashed the table's rows again and again (a tenth of the time
        // of a 10M-row side).
        let mut table: HashTable<u32> = HashTable::with_capacity(rows);
        let mut next = vec![NO_ROW; rows];
        // Backwards, so that each chain comes out in row order.
        for row in (0..rows_u32).rev() {
            let r = row as usize;
            if !keys.iter().all(|k| k.is_valid(r)) {
                continue;
            }
            let hash = hashes[r];
            match table.find_mut(hash, |&other| same_row(&keys, other as usize, &keys, r)) {
                Some(head) => {
                    next[r] = *head;
                    *head = row;
                }
                None => {
                    table.insert_unique(hash, row, |&other| hashes[other as usize]);
                }
            }
        }
        Some(JoinIndex { keys, table, next })
    }

    /// Whether keys of type `dtype` can be indexed (the group-id kernel's
    /// key types).
    pub fn takes(dtype: &DataType) -> bool {
        Key::of(&Column::new_empty(PlSmallStr::EMPTY, dtype)).is_some()
    }

    /// The first matching right row of each row of `keys` (a left chunk's
    /// key columns, of the same types as the index's), or [`NO_ROW`];
    /// `None` when their types are not the index's.
    pub fn first_matches(&self, keys: &[&Column]) -> Option<Vec<u32>> {
        let rows = keys.first()?.len();
        let keys: Vec<Key> = keys.iter().map(|c| Key::of(c)).collect::<Option<_>>()?;
        let same_kinds = keys.len() == self.keys.len()
            && keys.iter().zip(&self.keys).all(|(a, b)| std::mem::discriminant(a) == std::mem::discriminant(b));
        if !same_kinds {
            return None;
        }
        let hashes = combined_hashes(&keys, rows, 0);
        let first = (0..rows)
            .map(|row| {
                if !keys.iter().all(|k| k.is_valid(row)) {
                    return NO_ROW;
                }
                let found = self.table.find(hashes[row], |&r| same_row(&self.keys, r as usize, &keys, row));
                found.copied().unwrap_or(NO_ROW)
            })
            .collect();
        Some(first)
    }

    /// The right row after `row` with the same key, or [`NO_ROW`].
    #[inline]
    pub fn next_match(&self, row: u32) -> u32 {
        self.next[row as usize]
    }
}

/// Whether row `i` of keys `a` equals row `j` of keys `b` (both valid).
fn same_row(a: &[Key], i: usize, b: &[Key], j: usize) -> bool {
    a.iter().zip(b).all(|(x, y)| match (x, y) {
        (Key::Int { values: x, .. }, Key::Int { values: y, .. }) => x[i] == y[j],
        (Key::Text { values: x, .. }, Key::Text { values: y, .. }) => same_text_across(x, i, y, j),
        _ => false,
    })
}

/// Whether text `i` of `x` equals text `j` of `y`: a short text (held
/// whole in its view) compares as the view's bits, a long one by its
/// length and prefix first, then its bytes.
#[inline]
fn same_text_across(x: &TextArray, i: usize, y: &TextArray, j: usize) -> bool {
    let (a, b) = (x.views()[i].as_u128(), y.views()[j].as_u128());
    let len = a as u32;
    if len <= View::MAX_INLINE_SIZE {
        (a ^ b) & inline_mask(len) == 0
    } else {
        (a ^ b) & u128::from(u64::MAX) == 0 && x.value(i) == y.value(j)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(index: &JoinIndex, keys: &[&Column]) -> Vec<Vec<u32>> {
        let first = index.first_matches(keys).unwrap();
        first
            .into_iter()
            .map(|mut r| {
                let mut rows = Vec::new();
                while r != NO_ROW {
                    rows.push(r);
                    r = index.next_match(r);
                }
                rows
            })
            .collect()
    }

    /// Every left row finds exactly the right rows with its key, in row
    /// order, against a nested loop; nulls match nothing.
    #[test]
    fn each_left_row_finds_the_right_rows_of_its_key() {
        let rk: Vec<Option<i64>> = (0..500).map(|i| (i % 17 != 0).then_some(i % 40 - 5)).collect();
        let rt: Vec<Option<String>> =
            (0..500).map(|i| (i % 23 != 0).then(|| format!("text number {}", i % 3))).collect();
        let lk: Vec<Option<i64>> = (0..300).map(|i| (i % 13 != 0).then_some(i % 60 - 10)).collect();
        let lt: Vec<Option<String>> =
            (0..300).map(|i| (i % 7 != 0).then(|| format!("text number {}", i % 4))).collect();
        let (rk_c, rt_c) = (Column::new("k".into(), &rk), Column::new("t".into(), &rt));
        let (lk_c, lt_c) = (Column::new("k".into(), &lk), Column::new("t".into(), &lt));
        let index = JoinIndex::build(&[&rk_c, &rt_c]).unwrap();
        let got = matches(&index, &[&lk_c, &lt_c]);
        for (l, rows) in got.iter().enumerate() {
            let want: Vec<u32> = (0..500u32)
                .filter(|&r| {
                    let r = r as usize;
                    lk[l].is_some() && lt[l].is_some() && lk[l] == rk[r] && lt[l] == rt[r]
                })
                .collect();
            assert_eq!(rows, &want, "left row {l}");
        }
        assert!(got.iter().any(|m| m.len() > 1), "some keys repeat on the right");
        // One key alone, too.
        let index = JoinIndex::build(&[&rk_c]).unwrap();
        for (l, rows) in matches(&index, &[&lk_c]).iter().enumerate() {
            let want: Vec<u32> = (0..500u32).filter(|&r| lk[l].is_some() && lk[l] == rk[r as usize]).collect();
            assert_eq!(rows, &want, "left row {l}");
        }
    }

    #[test]
    fn keys_of_other_kinds_are_refused() {
        let ints = Column::new("k".into(), [1i64, 2]);
        let floats = Column::new("k".into(), [1.0f64, 2.0]);
        let text = Column::new("k".into(), ["1", "2"]);
        assert!(JoinIndex::build(&[&floats]).is_none());
        assert!(!JoinIndex::takes(&DataType::Float64));
        assert!(JoinIndex::takes(&DataType::String) && JoinIndex::takes(&DataType::Date));
        let index = JoinIndex::build(&[&ints]).unwrap();
        assert!(index.first_matches(&[&text]).is_none());
    }
}
