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

use polars::prelude::*;

use hashbrown::HashTable;

use std::sync::atomic::{AtomicU32, Ordering::Relaxed};

use rayon::prelude::*;

use super::flat_table::{prefetch, AHEAD};
use super::{combined_hashes, combined_hashes_par, inline_mask, Key, TextArray};
use polars_arrow::array::View;

/// The end of a chain of right rows.
pub const NO_ROW: u32 = u32::MAX;

/// The right side's rows by key.
pub struct JoinIndex {
    keys: Vec<Key>,
    /// The first right row of each distinct key.
    heads: Heads,
    /// The next right row with the same key as each row, or [`NO_ROW`]
    /// (atomic only so that the parts of the index can be built side by
    /// side: written once each, read plainly after).
    next: Vec<AtomicU32>,
}

/// The first right row of each distinct key, by the keys' hash.
enum Heads {
    /// A side of fewer than [`SMALL_SIDE`] rows: hashbrown's table, whose
    /// one control byte a slot keeps it in the nearest cache (against the
    /// [`RowTable`], j1's 10k-row side took 20% more CPU).
    Small(HashTable<u32>),
    Large(Parts),
}

/// [`RowTable`]s by the top bits of the keys' hash: each holds the keys of
/// its own rows, so the tables are built on all threads at once (one table
/// built by the first chunk while the other threads waited was a tenth of
/// j2's CPU, 10M right rows, with one core idle).
struct Parts {
    tables: Vec<RowTable>,
    /// How many top bits of a hash choose its table.
    bits: u32,
}

impl Parts {
    /// How many top hash bits choose the table for a side of `rows` rows:
    /// parts of a few thousand slots at least, at most 64 parts.
    fn bits_for(rows: usize) -> u32 {
        let slots = RowTable::for_rows_slots(rows);
        (slots / 4096).max(1).ilog2().min(6)
    }

    /// The table a key hashed to `h` is in.
    #[inline]
    fn table(&self, h: u64) -> &RowTable {
        &self.tables[part_of(h, self.bits)]
    }

    /// Probes each of `rows` in order for its key (as
    /// [`RowTable::probe_rows`], read only) and hands `visit` the row and
    /// the right row whose key it has, if any.
    #[inline]
    fn probe_rows(
        &self,
        rows: impl Iterator<Item = usize>,
        hashes: &[u64],
        same: impl Fn(u32, usize) -> bool,
        mut visit: impl FnMut(usize, u32),
    ) {
        in_blocks(rows, |block| {
            for &r in block {
                let t = self.table(hashes[r]);
                prefetch(&t.slots, t.home(hashes[r]));
            }
            for &r in block {
                let t = self.table(hashes[r]);
                let (at, found) = t.find(hashes[r], |other| same(other, r));
                if found {
                    visit(r, t.slots[at] as u32);
                }
            }
        });
    }
}

/// The part of a key hashed to `h` among `1 << bits` parts: its top bits.
#[inline]
fn part_of(h: u64, bits: u32) -> usize {
    h.checked_shr(64 - bits).unwrap_or(0) as usize
}

/// Hands `each` the rows in blocks of [`AHEAD`] (the last one shorter),
/// so that a block's slots can be prefetched before any is probed.
#[inline]
fn in_blocks(mut rows: impl Iterator<Item = usize>, mut each: impl FnMut(&[usize])) {
    let mut block = [0usize; AHEAD];
    loop {
        let n = block.iter_mut().zip(rows.by_ref()).map(|(slot, row)| *slot = row).count();
        if n == 0 {
            return;
        }
        each(&block[..n]);
    }
}

/// Right sides with fewer rows are indexed in a [`Heads::Small`] table.
const SMALL_SIDE: usize = 1 << 15;

/// An open-addressing table of rows, probed linearly from the high bits of
/// their keys' hash. Each slot holds the hash's low 32 bits beside the row,
/// so a probe compares keys only where those bits agree. Slots of a block
/// of rows are prefetched before any is probed: a 10M-row side's table is
/// far larger than the cache, and a probe that waits for each miss in turn
/// (hashbrown's `find`, the slot, then the row's key) was a third of j2.
struct RowTable {
    slots: Vec<u64>,
    /// Top bits of a hash that chose this table among [`Parts`] (the same
    /// for all its keys, so skipped).
    skip: u32,
    /// 64 minus the table's bits: a hash's slot is `(hash << skip) >> shift`.
    shift: u32,
}

/// A free slot (no row is `u32::MAX`: [`NO_ROW`]).
const FREE: u64 = u64::MAX;

impl RowTable {
    /// `slots` free slots (a power of two), in a part chosen by `skip`
    /// top bits of the hash.
    fn with_slots(slots: usize, skip: u32) -> RowTable {
        RowTable { slots: vec![FREE; slots], skip, shift: 64 - slots.trailing_zeros() }
    }

    /// Slots for `rows` distinct keys, at most three quarters full
    /// (memory: 8 to 21 bytes a row).
    fn for_rows_slots(rows: usize) -> usize {
        (rows * 4 / 3 + 1).next_power_of_two().max(16)
    }

    /// The slot a key hashed to `h` is probed from.
    #[inline]
    fn home(&self, h: u64) -> usize {
        ((h << self.skip) >> self.shift) as usize
    }

    /// The slot of a row whose key `same` says equals the one hashed to `h`
    /// (`true`), or the free slot its probe ended at (`false`).
    #[inline]
    fn find(&self, h: u64, same: impl Fn(u32) -> bool) -> (usize, bool) {
        let mask = self.slots.len() - 1;
        let tag = h << 32;
        let mut at = self.home(h);
        loop {
            let s = self.slots[at];
            if s == FREE {
                return (at, false);
            }
            if s & !u64::from(u32::MAX) == tag && same(s as u32) {
                return (at, true);
            }
            at = (at + 1) & mask;
        }
    }

    /// Probes each of `rows` in order for its key (hashed in `hashes`,
    /// compared by `same(row in the table, row)`), the home slots of a
    /// block of [`AHEAD`] rows asked for before the block is probed, and
    /// hands `visit` the table, the row, the slot its probe ended at and
    /// whether that slot holds the key; `visit` may fill the slot.
    #[inline]
    fn probe_rows(
        &mut self,
        rows: impl Iterator<Item = usize>,
        hashes: &[u64],
        same: impl Fn(u32, usize) -> bool,
        mut visit: impl FnMut(&mut Self, usize, usize, bool),
    ) {
        in_blocks(rows, |block| {
            for &r in block {
                prefetch(&self.slots, self.home(hashes[r]));
            }
            for &r in block {
                let (at, found) = self.find(hashes[r], |other| same(other, r));
                visit(self, r, at, found);
            }
        });
    }
}

impl JoinIndex {
    /// Indexes the rows of `keys` (the right side's key columns, already
    /// of the join's key types); `None` when a key type is not one the
    /// group-id keys handle (floats, nested types) or there are too many rows.
    pub fn build(keys: &[&Column]) -> Option<JoinIndex> {
        Self::build_as(keys, keys.first()?.len() < SMALL_SIDE)
    }

    /// [`JoinIndex::build`] into a [`Heads::Small`] table or a large one.
    fn build_as(keys: &[&Column], small: bool) -> Option<JoinIndex> {
        let rows = keys.first()?.len();
        u32::try_from(rows).ok().filter(|&r| r != NO_ROW)?;
        let keys: Vec<Key> = keys.iter().map(|c| Key::of(c)).collect::<Option<_>>()?;
        let hashes = if small { combined_hashes(&keys, rows, 0) } else { combined_hashes_par(&keys, rows, 0) };
        let next: Vec<AtomicU32> = (0..rows).map(|_| AtomicU32::new(NO_ROW)).collect();
        // Backwards, so that each chain comes out in row order. Tables are
        // sized for every row up front: growing re-hashes the rows again
        // and again (a tenth of the time of a 10M-row side).
        let valid = (0..rows).rev().filter(|&r| keys.iter().all(|k| k.is_valid(r)));
        let same = |other: u32, r: usize| same_row(&keys, other as usize, &keys, r);
        let heads = if small {
            let mut table: HashTable<u32> = HashTable::with_capacity(rows);
            for r in valid {
                match table.find_mut(hashes[r], |&other| same(other, r)) {
                    Some(head) => {
                        next[r].store(*head, Relaxed);
                        *head = r as u32;
                    }
                    None => {
                        table.insert_unique(hashes[r], r as u32, |&other| hashes[other as usize]);
                    }
                }
            }
            Heads::Small(table)
        } else {
            Heads::Large(Self::parts(rows, valid, &hashes, same, &next))
        };
        Some(JoinIndex { keys, heads, next })
    }

    /// The [`Parts`] of the `valid` rows (backwards) of a large side,
    /// built side by side, each right row's successor in `next`.
    fn parts(
        rows: usize,
        valid: impl Iterator<Item = usize>,
        hashes: &[u64],
        same: impl Fn(u32, usize) -> bool + Sync,
        next: &[AtomicU32],
    ) -> Parts {
        let bits = Parts::bits_for(rows);
        let mut lists: Vec<Vec<u32>> = (0..1usize << bits).map(|_| Vec::with_capacity((rows >> bits) + 64)).collect();
        for r in valid {
            lists[part_of(hashes[r], bits)].push(r as u32);
        }
        // Every part has the same share of the slots one table would have;
        // a part that drew many more rows than the others gets more.
        let share = (RowTable::for_rows_slots(rows) >> bits).max(16);
        let tables = lists
            .into_par_iter()
            .map(|list| {
                let mut slots = share;
                while list.len() * 8 > slots * 7 {
                    slots *= 2;
                }
                let mut table = RowTable::with_slots(slots, bits);
                table.probe_rows(list.iter().map(|&r| r as usize), hashes, &same, |t, r, at, found| {
                    if found {
                        next[r].store(t.slots[at] as u32, Relaxed);
                    }
                    t.slots[at] = hashes[r] << 32 | r as u64;
                });
                table
            })
            .collect();
        Parts { tables, bits }
    }

    /// Bytes the index of a side of `rows` rows takes at most, the keys'
    /// hashes held while it is built included.
    pub fn bytes_for(rows: usize) -> u64 {
        let table = if rows < SMALL_SIDE {
            // hashbrown: a control byte beside each 4-byte slot, 7/8 full.
            (rows * 8 / 7 + 1).next_power_of_two() * 5
        } else {
            RowTable::for_rows_slots(rows) * 8
        };
        // Successors and hashes, and the rows listed by part while built.
        (table + rows * (4 + 8 + 4)) as u64
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
        let mut first = vec![NO_ROW; rows];
        let valid = (0..rows).filter(|&r| keys.iter().all(|k| k.is_valid(r)));
        let same = |other: u32, r: usize| same_row(&self.keys, other as usize, &keys, r);
        match &self.heads {
            Heads::Small(table) => {
                for r in valid {
                    first[r] = table.find(hashes[r], |&other| same(other, r)).copied().unwrap_or(NO_ROW);
                }
            }
            Heads::Large(parts) => parts.probe_rows(valid, &hashes, same, |r, right| first[r] = right),
        }
        Some(first)
    }

    /// The right row after `row` with the same key, or [`NO_ROW`].
    #[inline]
    pub fn next_match(&self, row: u32) -> u32 {
        self.next[row as usize].load(Relaxed)
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
    /// order, against a nested loop; nulls match nothing. Both kinds of
    /// table.
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
        for small in [true, false] {
            let index = JoinIndex::build_as(&[&rk_c, &rt_c], small).unwrap();
            let got = matches(&index, &[&lk_c, &lt_c]);
            for (l, rows) in got.iter().enumerate() {
                let want: Vec<u32> = (0..500u32)
                    .filter(|&r| {
                        let r = r as usize;
                        lk[l].is_some() && lt[l].is_some() && lk[l] == rk[r] && lt[l] == rt[r]
                    })
                    .collect();
                assert_eq!(rows, &want, "left row {l}, small table {small}");
            }
            assert!(got.iter().any(|m| m.len() > 1), "some keys repeat on the right");
            // One key alone, too: an int, a long text, a short text.
            let index = JoinIndex::build_as(&[&rk_c], small).unwrap();
            for (l, rows) in matches(&index, &[&lk_c]).iter().enumerate() {
                let want: Vec<u32> = (0..500u32).filter(|&r| lk[l].is_some() && lk[l] == rk[r as usize]).collect();
                assert_eq!(rows, &want, "left row {l}, small table {small}");
            }
            let short = |t: &[Option<String>]| -> Vec<Option<String>> {
                t.iter().map(|t| t.as_ref().map(|t| t.replace("text number ", "n"))).collect()
            };
            for (rt, lt) in [(rt.clone(), lt.clone()), (short(&rt), short(&lt))] {
                let index = JoinIndex::build_as(&[&Column::new("t".into(), &rt)], small).unwrap();
                for (l, rows) in matches(&index, &[&Column::new("t".into(), &lt)]).iter().enumerate() {
                    let want: Vec<u32> = (0..500u32).filter(|&r| lt[l].is_some() && lt[l] == rt[r as usize]).collect();
                    assert_eq!(rows, &want, "left row {l}, small table {small}, {:?}", lt[l]);
                }
            }
        }
    }

    /// A side large enough for the prefetched table (its probes wrap
    /// around its end, run through clusters and meet many keys), checked
    /// against a HashMap of key to rows.
    #[test]
    fn a_large_side_finds_what_a_hash_map_finds() {
        let mut rng = crate::test_rng::Rng(7);
        let mut value = |n: u64| (rng.below(50) != 0).then(|| rng.below(n) as i64);
        let right: Vec<Option<i64>> = (0..SMALL_SIDE * 3).map(|_| value(60_000)).collect();
        let left: Vec<Option<i64>> = (0..20_000).map(|_| value(90_000)).collect();
        let mut want: std::collections::HashMap<i64, Vec<u32>> = std::collections::HashMap::new();
        for (r, k) in right.iter().enumerate() {
            if let Some(k) = k {
                want.entry(*k).or_default().push(r as u32);
            }
        }
        let index = JoinIndex::build(&[&Column::new("k".into(), &right)]).unwrap();
        // Several parts, built side by side.
        assert!(matches!(&index.heads, Heads::Large(parts) if parts.tables.len() > 1));
        let got = matches(&index, &[&Column::new("k".into(), &left)]);
        for (l, rows) in got.iter().enumerate() {
            let expected = left[l].and_then(|k| want.get(&k)).cloned().unwrap_or_default();
            assert_eq!(rows, &expected, "left row {l}");
        }
        assert!(got.iter().filter(|m| !m.is_empty()).count() > 5_000, "many left rows match");
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
