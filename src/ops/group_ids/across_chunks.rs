//! Group ids that last across chunks: the groups of every chunk one thread
//! aggregates (a lane of [`crate::ops::aggregate`]). After the first chunks
//! a row is looked up in a table that already holds its group; a table per
//! chunk inserts every group again, and its partial rows are grouped once
//! more when the partials are merged (h2o q3: 100k groups in each of 31
//! chunks). This is the per-thread table of DuckDB's and DataFusion's hash
//! aggregates.
//!
//! Each key column numbers its distinct values: integers in
//! `0..DIRECT_RANGE` (dictionary ids, codes) index an array, other integers
//! and short text (held whole in its view) go to a [`FlatTable`]; a chunk
//! with longer text is left to the per-chunk tables. Several keys' numbers
//! are combined pair by pair in further flat tables. A short-text table
//! that outgrows a core's cache (h2o q3: 100k keys, 6 MB) is split into
//! [`PARTS`] tables by hash, and each chunk's rows are looked up part by
//! part, so that every lookup hits a table in the cache (DuckDB's
//! radix-partitioned aggregate does the same). The distinct values
//! themselves are kept as small columns gathered from the chunks where they
//! first appeared, so the groups' keys come out in the chunks' own types.

use polars::prelude::*;
use polars_arrow::array::View;

use super::flat_table::{FlatTable, Lookup};
use super::{mix, short_text, Key};

/// Integers from 0 up to this index an array of ids (4 MB at most).
const DIRECT_RANGE: i64 = 1 << 20;

/// An id not handed out yet.
const UNSEEN: u32 = u32::MAX;

/// The groups of one lane's chunks.
pub struct LaneGroups {
    keys: Vec<KeyIds>,
    /// For each key after the first: the numbering of (the group of the
    /// keys before it, this key's id) pairs.
    pairs: Vec<PairIds>,
}

/// Numbers pairs of ids; each number's pair, in number order.
struct PairIds {
    /// Pairs of ids both below `1 << PAIR_BITS` (few values per key, as
    /// in most group-bys by several keys) index an array, as
    /// [`super::by_range`] does for a chunk; other pairs go to the table.
    direct: Vec<u32>,
    table: FlatTable<u64>,
    pairs: Vec<(u32, u32)>,
}

/// Bits of each id in a pair that indexes [`PairIds::direct`] (256 KB).
const PAIR_BITS: u32 = 8;

/// One key column's distinct values, numbered in order of first sight.
struct KeyIds {
    /// The type of the column (a chunk of another type is not taken).
    dtype: DataType,
    ids: Ids,
    null: Option<u32>,
    count: u32,
    /// The distinct values in id order, in pieces gathered from chunks.
    values: Vec<Column>,
    /// Bytes of `values`.
    held: usize,
}

enum Ids {
    Int {
        direct: Vec<u32>,
        table: FlatTable<i64>,
    },
    /// Short text only (see [`LaneGroups::takes`]).
    Text {
        short: ShortTable,
    },
}

/// Short texts' ids: one table, or [`PARTS`] tables by hash once one
/// outgrows [`CACHE_BYTES`].
enum ShortTable {
    One(FlatTable<[u64; 2]>),
    Parts(Vec<FlatTable<[u64; 2]>>),
}

const PART_BITS: u32 = 4;
const PARTS: usize = 1 << PART_BITS;

/// About a core's L2 cache.
const CACHE_BYTES: usize = 1 << 20;

impl ShortTable {
    fn bytes(&self) -> usize {
        match self {
            ShortTable::One(t) => t.bytes(),
            ShortTable::Parts(parts) => parts.iter().map(FlatTable::bytes).sum(),
        }
    }

    /// The part of `k`: low hash bits (a table probes from the high ones).
    fn part(k: [u64; 2]) -> usize {
        (text_hash(k) & (PARTS as u64 - 1)) as usize
    }

    /// Splits one table larger than the cache into parts.
    fn split_if_large(&mut self) {
        let ShortTable::One(one) = self else {
            return;
        };
        if one.bytes() <= CACHE_BYTES {
            return;
        }
        let each = one.entries().count() / PARTS;
        let mut parts: Vec<FlatTable<[u64; 2]>> = (0..PARTS).map(|_| FlatTable::for_groups(each)).collect();
        for (k, g) in one.entries() {
            parts[Self::part(k)].get_or_insert(k, &text_hash, || Some(g));
        }
        *self = ShortTable::Parts(parts);
    }
}

/// `direct` grown (doubling, up to [`DIRECT_RANGE`]) to index `v`.
fn grow_to_hold(direct: &mut Vec<u32>, v: usize) {
    if v >= direct.len() {
        direct.resize((v + 1).max(direct.len() * 2).min(DIRECT_RANGE as usize), UNSEEN);
    }
}

/// The next id (`count`, then counted) for a new value first seen at
/// `row`; `None` past `u32::MAX` values.
fn new_id(count: &mut u32, new_rows: &mut Vec<IdxSize>, row: usize) -> Option<u32> {
    let id = *count;
    *count = count.checked_add(1).filter(|&c| c != UNSEEN)?;
    new_rows.push(row as IdxSize);
    Some(id)
}

/// The id of each of `values`, every one of which indexes `direct`
/// through `index` (the caller checked): no test per row but the new-value
/// one, which `next` numbers.
fn direct_ids<T: Copy>(
    direct: &mut [u32],
    values: &[T],
    index: impl Fn(T) -> usize,
    mut next: impl FnMut(usize) -> Option<u32>,
) -> Option<Vec<u32>> {
    let mut out = vec![0u32; values.len()];
    for (row, (id, &v)) in out.iter_mut().zip(values).enumerate() {
        let slot = &mut direct[index(v)];
        if *slot == UNSEEN {
            *slot = next(row)?;
        }
        *id = *slot;
    }
    Some(out)
}

/// Whether every valid value of a text column (other types: true) is
/// short enough to be held whole in its view.
fn all_short(column: &Column) -> bool {
    let Ok(text) = column.str() else {
        return true;
    };
    text.downcast_iter().all(|a| {
        let valid = |i: usize| polars_arrow::array::Array::is_valid(a, i);
        a.views().iter().enumerate().all(|(i, v)| v.length <= View::MAX_INLINE_SIZE || !valid(i))
    })
}

fn int_hash(v: i64) -> u64 {
    mix(0x9E37_79B9_7F4A_7C15, v as u64)
}

fn text_hash([lo, hi]: [u64; 2]) -> u64 {
    mix(lo, hi)
}

fn pair_hash(v: u64) -> u64 {
    mix(0x2545_F491_4F6C_DD1D, v)
}

impl LaneGroups {
    /// Empty groups for key columns like `keys`, or `None` when a key's
    /// type is not one these tables hold.
    pub fn new(keys: &[&Column]) -> Option<LaneGroups> {
        if !keys.iter().all(|c| all_short(c)) {
            return None;
        }
        let keys: Vec<KeyIds> = keys.iter().map(|c| KeyIds::new(c)).collect::<Option<_>>()?;
        let pairs = (1..keys.len())
            .map(|_| PairIds { direct: Vec::new(), table: FlatTable::for_groups(0), pairs: Vec::new() })
            .collect();
        Some(LaneGroups { keys, pairs })
    }

    /// Whether `keys` (a chunk's key columns) have the types of the first,
    /// and their text is all short. Long texts are left to the per-chunk
    /// tables: held across chunks (in boxes or one buffer) they took several
    /// times their accounted size (317-432 MB of RSS under a 64 MiB limit).
    pub fn takes(&self, keys: &[&Column]) -> bool {
        keys.len() == self.keys.len() && self.keys.iter().zip(keys).all(|(k, c)| &k.dtype == c.dtype() && all_short(c))
    }

    /// How many groups so far.
    pub fn groups(&self) -> usize {
        match self.pairs.last() {
            Some(p) => p.pairs.len(),
            None => self.keys.first().map_or(0, |k| k.count as usize),
        }
    }

    /// Bytes held.
    pub fn bytes(&self) -> usize {
        let keys: usize = self.keys.iter().map(KeyIds::bytes).sum();
        let pairs: usize = self.pairs.iter().map(PairIds::bytes).sum();
        keys + pairs
    }

    /// The group of each row of `keys` (which [`Self::takes`]), new groups
    /// numbered on from the ones before; `None` past `u32::MAX` groups.
    pub fn ids(&mut self, keys: &[&Column]) -> Option<PolarsResult<Vec<u32>>> {
        let mut each = self.keys.iter_mut().zip(keys).map(|(k, c)| k.ids(c));
        let mut code = match each.next()? {
            Some(Ok(ids)) => ids,
            other => return other,
        };
        for (ids, pair) in each.zip(&mut self.pairs) {
            let ids = match ids? {
                Ok(ids) => ids,
                Err(e) => return Some(Err(e)),
            };
            code = pair.ids(&code, &ids)?;
        }
        Some(Ok(code))
    }

    /// Each group's key values, one column per key (groups in id order).
    pub fn key_columns(&self) -> PolarsResult<Vec<Column>> {
        let values: Vec<Column> = self.keys.iter().map(KeyIds::distinct).collect::<PolarsResult<_>>()?;
        let Some(last) = self.pairs.last() else {
            return Ok(values);
        };
        // Walk each group's pairs back to the ids of every key.
        let mut parts: Vec<Vec<IdxSize>> = vec![Vec::with_capacity(last.pairs.len()); self.keys.len()];
        for g in 0..last.pairs.len() {
            let mut at = g as u32;
            for (k, pair) in self.pairs.iter().enumerate().rev() {
                let (left, id) = pair.pairs[at as usize];
                parts[k + 1].push(id as IdxSize);
                at = left;
            }
            parts[0].push(at as IdxSize);
        }
        values.iter().zip(parts).map(|(v, ids)| v.take(&IdxCa::from_vec(PlSmallStr::EMPTY, ids))).collect()
    }
}

impl PairIds {
    /// The number of each row's pair (`left[row]`, `right[row]`), new pairs
    /// numbered on; `None` past `u32::MAX` pairs.
    fn ids(&mut self, left: &[u32], right: &[u32]) -> Option<Vec<u32>> {
        let PairIds { direct, table, pairs } = self;
        let mut new_pair = |l: u32, r: u32| {
            let g = u32::try_from(pairs.len()).ok().filter(|&g| g != UNSEEN)?;
            pairs.push((l, r));
            Some(g)
        };
        if direct.is_empty() {
            direct.resize(1 << (2 * PAIR_BITS), UNSEEN);
        }
        let mut out = Vec::with_capacity(left.len());
        for (&l, &r) in left.iter().zip(right) {
            let id = if (l | r) >> PAIR_BITS == 0 {
                let slot = &mut direct[((l << PAIR_BITS) | r) as usize];
                if *slot == UNSEEN {
                    *slot = new_pair(l, r)?;
                }
                *slot
            } else {
                let pair = (u64::from(l) << 32) | u64::from(r);
                table.get_or_insert(pair, &pair_hash, || new_pair(l, r))?
            };
            out.push(id);
        }
        Some(out)
    }

    fn bytes(&self) -> usize {
        self.direct.capacity() * 4 + self.table.bytes() + self.pairs.capacity() * 8
    }
}

impl KeyIds {
    fn new(column: &Column) -> Option<KeyIds> {
        let ids = match Key::of(column)? {
            Key::Int { .. } => Ids::Int { direct: Vec::new(), table: FlatTable::for_groups(0) },
            Key::Text { .. } => Ids::Text { short: ShortTable::One(FlatTable::for_groups(0)) },
        };
        Some(KeyIds { dtype: column.dtype().clone(), ids, null: None, count: 0, values: Vec::new(), held: 0 })
    }

    fn bytes(&self) -> usize {
        let table = match &self.ids {
            Ids::Int { direct, table } => direct.capacity() * 4 + table.bytes(),
            Ids::Text { short } => short.bytes(),
        };
        table + self.held
    }

    /// The id of each row's value, new values numbered on.
    fn ids(&mut self, column: &Column) -> Option<PolarsResult<Vec<u32>>> {
        if let Some(out) = self.code_ids(column) {
            return Some(out);
        }
        let key = Key::of(column)?;
        let rows = column.len();
        let KeyIds { ids, null, count, .. } = self;
        let mut new_rows: Vec<IdxSize> = Vec::new();
        let mut next = |row: usize| new_id(count, &mut new_rows, row);
        let mut out = Vec::with_capacity(rows);
        match (ids, &key) {
            (Ids::Int { direct, table }, Key::Int { values, valid }) => {
                let (lo, hi) = super::by_range::min_max(values, valid.as_deref());
                if valid.is_none() && lo >= 0 && hi < DIRECT_RANGE {
                    grow_to_hold(direct, hi as usize);
                    out = direct_ids(direct, values, |v| v as usize, next)?;
                } else {
                    for (row, &v) in values.iter().enumerate() {
                        let id = if valid.as_ref().is_some_and(|m| !m[row]) {
                            match *null {
                                Some(id) => id,
                                None => *null.insert(next(row)?),
                            }
                        } else if (0..DIRECT_RANGE).contains(&v) {
                            grow_to_hold(direct, v as usize);
                            let slot = &mut direct[v as usize];
                            if *slot == UNSEEN {
                                *slot = next(row)?;
                            }
                            *slot
                        } else {
                            table.get_or_insert(v, &int_hash, || next(row))?
                        };
                        out.push(id);
                    }
                }
            }
            (Ids::Text { short }, Key::Text { values, valid }) => {
                let views = values.views();
                let is_null = |row: usize| valid.as_ref().is_some_and(|m| !m[row]);
                let key = |row: usize| short_text(&views[row]);
                // Rows are visited in order, or part by part (ids are
                // handed out in visit order).
                out.resize(rows, 0);
                let mut visit = |row: usize, found: Lookup<'_, [u64; 2]>| -> Option<()> {
                    out[row] = if is_null(row) {
                        match *null {
                            Some(id) => id,
                            None => *null.insert(next(row)?),
                        }
                    } else {
                        match found {
                            Lookup::Found(g) => g,
                            Lookup::Vacant(slot) => slot.insert(next(row)?, &text_hash),
                        }
                    };
                    Some(())
                };
                match short {
                    ShortTable::One(table) => table.lookup_rows(0..rows, &key, &text_hash, &mut visit)?,
                    ShortTable::Parts(parts) => {
                        // Each part's keys copied out in one pass, then read
                        // in order (reading the views part by part missed
                        // the cache on nearly every row).
                        let mut lists: Vec<Vec<(u32, [u64; 2])>> =
                            (0..PARTS).map(|_| Vec::with_capacity(rows / PARTS * 5 / 4 + 8)).collect();
                        for row in 0..rows {
                            let k = key(row);
                            lists[ShortTable::part(k)].push((row as u32, k));
                        }
                        for (table, list) in parts.iter_mut().zip(&lists) {
                            let key = |i: usize| list[i].1;
                            table.lookup_rows(0..list.len(), &key, &text_hash, |i, found| {
                                visit(list[i].0 as usize, found)
                            })?;
                        }
                    }
                }
                short.split_if_large();
            }
            _ => return None,
        }
        Some(self.keep_new_values(column, new_rows).map(|()| out))
    }

    /// [`Self::ids`] of dictionary ids as the Parquet reader gives them
    /// (UInt32 without nulls, all below [`DIRECT_RANGE`]): they index the
    /// array as they are, without being widened to i64 first (h2o q1 over
    /// Parquet spent 8% of its time widening). `None` for other columns.
    fn code_ids(&mut self, column: &Column) -> Option<PolarsResult<Vec<u32>>> {
        let Ids::Int { direct, .. } = &mut self.ids else { return None };
        let codes = column.as_materialized_series().u32().ok().filter(|c| c.null_count() == 0)?.rechunk();
        let codes = codes.downcast_iter().next().map(|a| a.values().as_slice()).unwrap_or(&[]);
        let hi = codes.iter().copied().max().unwrap_or(0);
        if i64::from(hi) >= DIRECT_RANGE {
            return None;
        }
        grow_to_hold(direct, hi as usize);
        let (count, mut new_rows) = (&mut self.count, Vec::new());
        let out = direct_ids(direct, codes, |v| v as usize, |row| new_id(count, &mut new_rows, row))?;
        Some(self.keep_new_values(column, new_rows).map(|()| out))
    }

    /// Keeps the values of `column` at `new_rows` (the rows that gave new
    /// ids), so [`Self::distinct`] can give every id's value.
    fn keep_new_values(&mut self, column: &Column, new_rows: Vec<IdxSize>) -> PolarsResult<()> {
        if new_rows.is_empty() {
            return Ok(());
        }
        let piece = column.take(&IdxCa::from_vec(PlSmallStr::EMPTY, new_rows))?;
        // Its own text, not views pinning the whole chunk's buffers.
        let piece = crate::ops::detach_text(piece.into_frame()).take_columns().remove(0);
        self.held += piece.as_materialized_series().estimated_size();
        self.values.push(piece);
        Ok(())
    }

    /// The distinct values in id order.
    fn distinct(&self) -> PolarsResult<Column> {
        let mut pieces = self.values.iter();
        let Some(first) = pieces.next() else {
            return Ok(Column::new_empty(PlSmallStr::EMPTY, &self.dtype));
        };
        let mut all = first.clone();
        for piece in pieces {
            all.append(piece)?;
        }
        Ok(all)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap as StdMap;

    /// Rows of several chunks grouped in one lane: equal key values (nulls
    /// included) share a group across chunks and only they do, and the
    /// groups' key columns give back each group's values.
    fn check_chunks(chunks: &[Vec<Column>]) -> LaneGroups {
        let first: Vec<&Column> = chunks[0].iter().collect();
        let mut lane = LaneGroups::new(&first).unwrap();
        let mut seen: StdMap<Vec<String>, u32> = StdMap::new();
        let mut rows_of: Vec<(usize, usize)> = Vec::new();
        for (c, chunk) in chunks.iter().enumerate() {
            let refs: Vec<&Column> = chunk.iter().collect();
            assert!(lane.takes(&refs));
            let ids = lane.ids(&refs).unwrap().unwrap();
            for (row, &g) in ids.iter().enumerate() {
                let key: Vec<String> = chunk.iter().map(|k| format!("{:?}", k.get(row).unwrap())).collect();
                let expected = *seen.entry(key).or_insert(g);
                assert_eq!(g, expected, "chunk {c} row {row}");
                if g as usize == rows_of.len() {
                    rows_of.push((c, row));
                }
            }
        }
        assert_eq!(lane.groups(), seen.len());
        let keys = lane.key_columns().unwrap();
        for (g, &(c, row)) in rows_of.iter().enumerate() {
            for (k, column) in keys.iter().enumerate() {
                assert_eq!(column.get(g).unwrap(), chunks[c][k].get(row).unwrap(), "group {g} key {k}");
            }
        }
        lane
    }

    /// Keys of every shape the lane tables take, over chunks that share
    /// values: integers in and out of the direct range (negative, huge),
    /// short text of every length, nulls in each, one key and three.
    #[test]
    fn equal_keys_share_a_group_across_chunks() {
        let mut rng = crate::test_rng::Rng(0x6A09_E667_F3BC_C908);
        // `wide`: some integers among 600 more values, so that pairs of ids
        // past the direct array's range mix with small ones.
        let mut chunk = |rows: usize, wide: bool| -> Vec<Column> {
            let mut ints = Vec::new();
            let mut texts = Vec::new();
            let mut small = Vec::new();
            let mut codes = Vec::new();
            for _ in 0..rows {
                let r = rng.next();
                ints.push((!r.is_multiple_of(7)).then(|| match r % 4 {
                    0 => (r % 50) as i64,
                    1 => -((r % 40) as i64),
                    2 if wide => 1000 + (r % 600) as i64,
                    _ => i64::MAX - (r % 30) as i64,
                }));
                texts.push((!r.is_multiple_of(11)).then(|| {
                    if r.is_multiple_of(2) {
                        format!("k{}", r % 90)
                    } else {
                        format!("twelve_{}", r % 60)
                    }
                }));
                small.push((r % 5) as i32);
                // Dictionary ids (indexed as they are) in narrow chunks;
                // nulls and ids past the direct array in wide ones.
                codes.push(match r % 13 {
                    0 if wide => None,
                    1 if wide => Some((1u32 << 21) + (r % 9) as u32),
                    _ => Some((r % 70) as u32),
                });
            }
            vec![
                Column::new("i".into(), ints),
                Column::new("t".into(), texts),
                Column::new("s".into(), small),
                Column::new("c".into(), codes),
            ]
        };
        let chunks: Vec<Vec<Column>> = [(500, false), (0, false), (1, true), (3000, true), (300, false), (2000, true)]
            .iter()
            .map(|&(n, wide)| chunk(n, wide))
            .collect();
        let _ = check_chunks(&chunks);
        for k in 0..4 {
            let one: Vec<Vec<Column>> = chunks.iter().map(|c| vec![c[k].clone()]).collect();
            let _ = check_chunks(&one);
        }
    }

    /// Short texts past the cache-sized table (split into parts and looked
    /// up part by part), then a chunk with nulls and the empty text.
    #[test]
    fn short_texts_split_into_parts_keep_their_groups() {
        let mut rng = crate::test_rng::Rng(0xBB67_AE85_84CA_A73B);
        let mut chunk = |rows: usize, mixed: bool| -> Vec<Column> {
            let texts: Vec<Option<String>> = (0..rows)
                .map(|_| {
                    let r = rng.next();
                    match r % 10 {
                        0 if mixed => None,
                        1 if mixed => Some(String::new()),
                        _ => Some(format!("k{}", r % 40_000)),
                    }
                })
                .collect();
            vec![Column::new("t".into(), texts)]
        };
        let chunks: Vec<Vec<Column>> = [(30_000, false), (30_000, false), (5_000, true), (20_000, false)]
            .iter()
            .map(|&(n, m)| chunk(n, m))
            .collect();
        let lane = check_chunks(&chunks);
        assert!(matches!(lane.keys[0].ids, Ids::Text { short: ShortTable::Parts(_), .. }));
    }

    #[test]
    fn a_chunk_of_another_type_is_not_taken() {
        let a = Column::new("k".into(), [1i64, 2]);
        let b = Column::new("k".into(), ["x", "y"]);
        let lane = LaneGroups::new(&[&a]).unwrap();
        assert!(lane.takes(&[&a]));
        assert!(!lane.takes(&[&b]));
        assert!(LaneGroups::new(&[&Column::new("f".into(), [1.0f64])]).is_none());
        // Text longer than a view holds is left to the per-chunk tables.
        let short = Column::new("t".into(), [Some("twelve bytes"), None]);
        let long = Column::new("t".into(), [Some("thirteen byte"), None]);
        let lane = LaneGroups::new(&[&short]).unwrap();
        assert!(lane.takes(&[&short]));
        assert!(!lane.takes(&[&long]));
        assert!(LaneGroups::new(&[&long]).is_none());
    }
}
