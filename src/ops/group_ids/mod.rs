//! Group ids for the rows of one chunk: a hash table over the key columns'
//! values, each row looked up once, giving every row the number of its group
//! (numbered by first appearance) and every group its first row.
//!
//! polars' group-by builds a vector of row indices per group and then
//! gathers every aggregated column group by group; for an aggregation that
//! folds values into per-group accumulators, a group id per row is all that
//! is needed (as in DuckDB's and DataFusion's aggregate hash tables). Keys
//! are integers of up to 64 bits (and types stored as them: dates,
//! datetimes, booleans) and text; other key types return `None` and the
//! caller groups with polars.
//!
//! One key picks the cheapest table that holds it: integers in a small
//! range index an array ([`by_range`]); short text (held whole in its view)
//! goes to a flat table of bits ([`flat_table`]); other values to a hash
//! table that compares rows. Several keys are combined into one integer
//! code when their combinations are few.

mod across_chunks;
mod by_range;
mod flat_table;
mod join_index;

pub use across_chunks::LaneGroups;
pub use join_index::{JoinIndex, NO_ROW};

use foldhash::fast::FixedState;
use hashbrown::HashTable;
use polars::prelude::*;
use polars_arrow::array::View;
use polars_arrow::buffer::Buffer;
use std::hash::BuildHasher;

/// The grouping of one chunk's rows.
pub struct Groups {
    /// The group of each row.
    pub ids: Vec<u32>,
    /// The first row of each group, in group order.
    pub first: Vec<IdxSize>,
}

impl Groups {
    /// How many groups.
    pub fn len(&self) -> usize {
        self.first.len()
    }

    /// Whether there are no groups (no rows).
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }
}

/// polars' array of text views.
type TextArray = <StringType as PolarsDataType>::Array;

/// One key column's values, in a form that hashes and compares rows fast.
enum Key {
    /// The values as polars holds them (no copy for a one-chunk Int64).
    Int {
        values: Buffer<i64>,
        valid: Option<Vec<bool>>,
    },
    Text {
        values: TextArray,
        valid: Option<Vec<bool>>,
    },
}

impl Key {
    fn of(column: &Column) -> Option<Key> {
        let series = column.as_materialized_series();
        let physical = series.to_physical_repr();
        match physical.dtype() {
            // A column with no value (e.g. an NDJSON chunk without the
            // field) hashes as the nulls of any other type.
            DataType::Null => {
                Some(Key::Int { values: vec![0i64; series.len()].into(), valid: Some(vec![false; series.len()]) })
            }
            DataType::String => {
                let text = series.str().ok()?.rechunk();
                let values = text.downcast_iter().next()?.clone();
                Some(Key::Text { values, valid: validity(series) })
            }
            // polars' cast checks every value; these widen as they are.
            DataType::UInt32 => Some(Key::Int { values: widened(physical.u32().ok()?), valid: validity(series) }),
            DataType::Int32 => Some(Key::Int { values: widened(physical.i32().ok()?), valid: validity(series) }),
            DataType::Boolean
            | DataType::Int8
            | DataType::Int16
            | DataType::Int64
            | DataType::UInt8
            | DataType::UInt16 => {
                let ints = physical.cast(&DataType::Int64).ok()?;
                let ints = ints.i64().ok()?.rechunk();
                let values = match ints.downcast_iter().next() {
                    Some(array) => array.values().clone(),
                    None => Buffer::default(),
                };
                Some(Key::Int { values, valid: validity(series) })
            }
            _ => None,
        }
    }

    fn is_valid(&self, row: usize) -> bool {
        let (Key::Int { valid, .. } | Key::Text { valid, .. }) = self;
        valid.as_ref().is_none_or(|v| v[row])
    }

    /// Mixes this column's value of each row into `hashes`.
    fn hash_into(&self, hashes: &mut [u64]) {
        self.hash_rows_into(0, hashes);
    }

    /// Mixes this column's values of rows `start..start + hashes.len()`
    /// into `hashes`.
    fn hash_rows_into(&self, start: usize, hashes: &mut [u64]) {
        const NULL: u64 = 0x5851_F42D_4C95_7F2D;
        match self {
            Key::Int { values, valid } => {
                for (i, (h, &v)) in hashes.iter_mut().zip(&values[start..]).enumerate() {
                    let v = if valid.as_ref().is_none_or(|m| m[start + i]) { v as u64 } else { NULL };
                    *h = mix(*h, v);
                }
            }
            Key::Text { values, valid } => {
                let state = FixedState::with_seed(0x2545_F491_4F6C_DD1D);
                for (i, (h, view)) in hashes.iter_mut().zip(&values.views()[start..]).enumerate() {
                    let i = start + i;
                    let v = if !valid.as_ref().is_none_or(|m| m[i]) {
                        NULL
                    } else if view.length <= View::MAX_INLINE_SIZE {
                        let [lo, hi] = short_text(view);
                        mix(lo, hi)
                    } else {
                        state.hash_one(values.value(i))
                    };
                    *h = mix(*h, v);
                }
            }
        }
    }

    fn rows_equal(&self, a: usize, b: usize) -> bool {
        match (self.is_valid(a), self.is_valid(b)) {
            (true, true) => match self {
                Key::Int { values, .. } => values[a] == values[b],
                Key::Text { values, .. } => values.value(a) == values.value(b),
            },
            (false, false) => true,
            _ => false,
        }
    }
}

/// The values of `ca` as `i64` (whatever a null row holds, too).
fn widened<T>(ca: &ChunkedArray<T>) -> Buffer<i64>
where
    T: PolarsNumericType,
    T::Native: Into<i64>,
{
    let mut out = Vec::with_capacity(ca.len());
    for array in ca.downcast_iter() {
        out.extend(array.values().iter().map(|&v| v.into()));
    }
    out.into()
}

/// Which rows are valid, when any is not.
pub fn validity(series: &Series) -> Option<Vec<bool>> {
    (series.null_count() > 0).then(|| series.is_not_null().into_iter().map(|v| v == Some(true)).collect())
}

/// A folded 128-bit multiply: every input bit reaches the high bits that
/// the hash table uses for its control bytes.
#[inline]
fn mix(h: u64, v: u64) -> u64 {
    let m = u128::from(h ^ v) * 0x9E37_79B9_7F4A_7C15_u128;
    (m as u64) ^ ((m >> 64) as u64)
}

/// A hash of each row's `keys` (columns of one frame) that depends only on
/// the values: integers of any width, dates and booleans hash as the same
/// integer, null as null; `None` when a key type is not one this handles.
pub fn key_hashes(keys: &[&Column], seed: u64) -> Option<Vec<u64>> {
    let rows = keys.first()?.len();
    let keys: Vec<Key> = keys.iter().map(|c| Key::of(c)).collect::<Option<_>>()?;
    Some(combined_hashes(&keys, rows, seed))
}

/// Each row's hash of all `keys`, starting from `seed`.
fn combined_hashes(keys: &[Key], rows: usize, seed: u64) -> Vec<u64> {
    let mut hashes = crate::ops::filled(seed, rows);
    for k in keys {
        k.hash_into(&mut hashes);
    }
    hashes
}

/// [`combined_hashes`] of blocks of rows side by side on the pool.
fn combined_hashes_par(keys: &[Key], rows: usize, seed: u64) -> Vec<u64> {
    use rayon::prelude::*;
    const BLOCK: usize = 1 << 16;
    let mut hashes = crate::ops::filled(seed, rows);
    hashes.par_chunks_mut(BLOCK).enumerate().for_each(|(i, block)| {
        for k in keys {
            k.hash_rows_into(i * BLOCK, block);
        }
    });
    hashes
}

/// Groups the rows of `keys` (columns of one frame), or `None` when a key
/// type is not one this table handles.
pub fn group_rows(keys: &[&Column]) -> Option<Groups> {
    let rows = keys.first()?.len();
    let keys: Vec<Key> = keys.iter().map(|c| Key::of(c)).collect::<Option<_>>()?;
    if let [key] = keys.as_slice() {
        return Some(group_one(key, rows));
    }
    // Integer keys (dictionary ids among them) whose ranges multiply to a
    // small one: the combined value indexes an array in one pass.
    let ints: Option<Vec<_>> = keys
        .iter()
        .map(|k| match k {
            Key::Int { values, valid } => Some((&values[..], valid.as_deref())),
            Key::Text { .. } => None,
        })
        .collect();
    if let Some(groups) = ints.and_then(|ints| by_range::group_by_ranges(&ints, rows)) {
        return Some(groups);
    }
    // Several keys: each key's own group ids combined into one integer
    // (mixed radix) and grouped as a single key, when there are at most
    // COMBINED_CODES combinations: each pass's table then stays in cache
    // (h2o q2, by two text keys: 0.61 s -> about 0.5 s). With more (q10's
    // six keys, 10M groups) the last table is as large as the generic one
    // and the per-key passes only add work; a key nearly unique in the
    // first rows (q10's) rules the combination out before any full pass.
    let sample = rows.min(4096);
    let nearly_unique = |k: &Key| sample >= 64 && group_one(k, sample).len() * 2 > sample;
    let mut each: Vec<Groups> = Vec::with_capacity(keys.len());
    if !keys.iter().any(nearly_unique) {
        let mut product = 1u64;
        for k in &keys {
            let g = group_one(k, rows);
            product = product.saturating_mul(g.len().max(1) as u64);
            if product > COMBINED_CODES {
                break;
            }
            each.push(g);
        }
    }
    if each.len() == keys.len() {
        let mut code = crate::ops::filled(0i64, rows);
        let mut stride = 1i64;
        for g in &each {
            for (c, &id) in code.iter_mut().zip(&g.ids) {
                *c += i64::from(id) * stride;
            }
            stride *= g.len().max(1) as i64;
        }
        return Some(group_one(&Key::Int { values: code.into(), valid: None }, rows));
    }
    if let Some(groups) = packed_pair(&keys, rows) {
        return Some(groups);
    }
    let hashes = combined_hashes(&keys, rows, 0);
    // Entries without a fingerprint (16 bytes: half the memory traffic when
    // nearly every row is a new group).
    assign(&hashes, None, |_| (), |(), first, row| keys.iter().all(|k| k.rows_equal(first, row)))
}

/// Two keys without nulls, each an integer or a short text (held whole in
/// its view), but not two texts: both values' bits as one key of the flat
/// table, so a lookup compares 24 bytes in its slot instead of reading the
/// rows of both columns (`distinct id3, v1` over 10M h2o rows, 500k pairs
/// found again and again). `None` for other keys.
fn packed_pair(keys: &[Key], rows: usize) -> Option<Groups> {
    let [a, b] = keys else { return None };
    let hash = |[w0, w1, w2]: [u64; 3]| mix(mix(w0, w1), w2);
    // One call per shape, so the key is inlined into the probe loop.
    match (Words::of(a, rows)?, Words::of(b, rows)?) {
        (Words::Int(x), Words::Int(y)) => {
            flat_table::group_by_bits(rows, None, |row| [x[row] as u64, y[row] as u64, 0], hash)
        }
        (Words::Text(t), Words::Int(x)) | (Words::Int(x), Words::Text(t)) => {
            let key = |row: usize| {
                let [lo, hi] = short_text(&t[row]);
                [lo, hi, x[row] as u64]
            };
            flat_table::group_by_bits(rows, None, key, hash)
        }
        (Words::Text(_), Words::Text(_)) => None,
    }
}

/// A key column's values as [`packed_pair`] reads them.
enum Words<'a> {
    Int(&'a [i64]),
    Text(&'a [View]),
}

impl Words<'_> {
    /// The first `rows` values of `k`, when it has no nulls and its text is short.
    fn of(k: &Key, rows: usize) -> Option<Words<'_>> {
        match k {
            Key::Int { values, valid: None } => Some(Words::Int(&values[..rows])),
            Key::Text { values, valid: None } => {
                let views = &values.views()[..rows];
                views.iter().all(|v| v.length <= View::MAX_INLINE_SIZE).then_some(Words::Text(views))
            }
            _ => None,
        }
    }
}

/// The most key combinations grouped through one combined code.
const COMBINED_CODES: u64 = 1 << 24;

/// Groups the first `rows` rows by one key, through the cheapest table
/// that holds it: an array for integers in a small range, a flat table of
/// bits for short text, else a hash table whose entries keep the key's
/// value (or a text's view), so most probes never touch the rows.
fn group_one(key: &Key, rows: usize) -> Groups {
    let groups = match key {
        Key::Int { values, valid } => {
            let valid = valid.as_deref().map(|v| &v[..rows]);
            if let Some(groups) = by_range::group_by_range(&values[..rows], valid) {
                return groups;
            }
            let mut hashes = crate::ops::filled(0u64, rows);
            key.hash_into(&mut hashes);
            assign(&hashes, valid, |row| values[row], |fp, _, row| fp == values[row])
        }
        Key::Text { values, valid } => {
            let views = &values.views()[..rows];
            let valid = valid.as_deref().map(|v| &v[..rows]);
            if views.iter().all(|v| v.length <= View::MAX_INLINE_SIZE) {
                let key = |row: usize| short_text(&views[row]);
                let hash = |[lo, hi]: [u64; 2]| mix(lo, hi);
                if let Some(groups) = flat_table::group_by_bits(rows, valid, key, hash) {
                    return groups;
                }
            }
            let mut hashes = crate::ops::filled(0u64, rows);
            key.hash_into(&mut hashes);
            let fingerprint = |row: usize| views[row].as_u128();
            assign(&hashes, valid, fingerprint, |fp, first, row| same_text(values, fp, first, row))
        }
    };
    // More than u32::MAX groups cannot come from one frame's rows.
    groups.unwrap_or(Groups { ids: Vec::new(), first: Vec::new() })
}

/// A short text (at most [`View::MAX_INLINE_SIZE`] bytes) as the bits of
/// its view that hold its length and bytes: the whole value, padding masked.
#[inline]
fn short_text(view: &View) -> [u64; 2] {
    let bits = view.as_u128() & inline_mask(view.length);
    [bits as u64, (bits >> 64) as u64]
}

/// The bits of an inline view that hold its length and its `len` bytes.
#[inline]
fn inline_mask(len: u32) -> u128 {
    INLINE_MASKS[len as usize]
}

/// [`inline_mask`] by length: a load, not a variable 128-bit shift.
const INLINE_MASKS: [u128; View::MAX_INLINE_SIZE as usize + 1] = {
    let mut masks = [0u128; View::MAX_INLINE_SIZE as usize + 1];
    let mut len = 0;
    while len < masks.len() {
        masks[len] = ((1u128 << (8 * len)) - 1) << 32 | u32::MAX as u128;
        len += 1;
    }
    masks
};

/// Whether `row` holds the text whose view is `fp` (the view of row `first`).
fn same_text(values: &TextArray, fp: u128, first: usize, row: usize) -> bool {
    let (a, b) = (fp, values.views()[row].as_u128());
    if a == b {
        return true;
    }
    let len = a as u32;
    if len <= View::MAX_INLINE_SIZE {
        // Length and inline bytes (never the padding after them).
        (a ^ b) & inline_mask(len) == 0
    } else {
        // Length and prefix first, then the bytes.
        (a ^ b) & u128::from(u64::MAX) == 0 && values.value(first) == values.value(row)
    }
}

/// Assigns group ids by hash, `fingerprint` and `same` (which sees an
/// entry's fingerprint, its group's first row and the row). Rows not
/// `valid` (a single key's nulls) share one group.
fn assign<F: Copy>(
    hashes: &[u64],
    valid: Option<&[bool]>,
    fingerprint: impl Fn(usize) -> F,
    same: impl Fn(F, usize, usize) -> bool,
) -> Option<Groups> {
    // Each entry keeps its hash and fingerprint beside its group, so a probe
    // compares them without touching the rows (cache misses at 100k+ groups).
    // Sized for as many groups as this thread's previous table held (at
    // most one a row): a table grown to millions of groups moves every
    // entry about twice and clears twice the memory it ends with (h2o q10).
    let hint = TABLE_GROUPS_BEFORE.get().min(hashes.len());
    let mut table: HashTable<(u64, u32, F)> = HashTable::with_capacity(hint);
    let mut first: Vec<IdxSize> = Vec::with_capacity(hint);
    let mut ids = Vec::with_capacity(hashes.len());
    let mut null_group = None;
    for (row, &h) in hashes.iter().enumerate() {
        let new_group = |first: &mut Vec<IdxSize>| {
            let g = u32::try_from(first.len()).ok()?;
            first.push(row as IdxSize);
            Some(g)
        };
        if valid.is_some_and(|v| !v[row]) {
            let g = match null_group {
                Some(g) => g,
                None => *null_group.insert(new_group(&mut first)?),
            };
            ids.push(g);
            continue;
        }
        let fp = fingerprint(row);
        let found = table.find(h, |&(eh, g, efp)| eh == h && same(efp, first[g as usize] as usize, row));
        let id = match found {
            Some(&(_, g, _)) => g,
            None => {
                let g = new_group(&mut first)?;
                table.insert_unique(h, (h, g, fp), |&(eh, _, _)| eh);
                g
            }
        };
        ids.push(id);
    }
    TABLE_GROUPS_BEFORE.set(first.len());
    Some(Groups { ids, first })
}

thread_local! {
    /// Groups in the last hash table this thread built (a size hint only).
    static TABLE_GROUPS_BEFORE: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    /// Group ids agree with a HashMap over the rows' values, nulls included.
    #[test]
    fn rows_with_equal_keys_share_a_group_and_only_they_do() {
        let a = Column::new("a".into(), [Some(1i64), None, Some(1), Some(2), None, Some(1)]);
        let b = Column::new("b".into(), [Some("x"), Some("x"), Some("x"), None, Some("x"), Some("y")]);
        let d = Column::new("d".into(), [1i32, 1, 1, 1, 1, 1]).cast(&DataType::Date).unwrap();
        let groups = group_rows(&[&a, &b, &d]).unwrap();
        let mut seen: HashMap<(Option<i64>, Option<String>), u32> = HashMap::new();
        let av: Vec<Option<i64>> = a.i64().unwrap().iter().collect();
        let bv: Vec<Option<String>> = b.str().unwrap().iter().map(|s| s.map(str::to_string)).collect();
        for row in 0..6 {
            let g = *seen.entry((av[row], bv[row].clone())).or_insert(groups.ids[row]);
            assert_eq!(g, groups.ids[row], "row {row}");
        }
        assert_eq!(groups.len(), seen.len());
        assert_eq!(groups.first, vec![0, 1, 3, 5]);
    }

    /// Every row's group id agrees with a HashMap over its key values, and
    /// every group's first row is the first row with its values.
    fn check_against_hashmap(columns: &[Column]) {
        let refs: Vec<&Column> = columns.iter().collect();
        let groups = group_rows(&refs).unwrap();
        let rows = columns[0].len();
        let mut seen: HashMap<Vec<String>, (u32, usize)> = HashMap::new();
        for row in 0..rows {
            let key: Vec<String> = columns.iter().map(|c| format!("{:?}", c.get(row).unwrap())).collect();
            let (g, first) = *seen.entry(key).or_insert((groups.ids[row], row));
            assert_eq!(g, groups.ids[row], "row {row}");
            assert_eq!(groups.first[g as usize] as usize, first, "first row of group {g}");
        }
        assert_eq!(groups.len(), seen.len());
    }

    /// Few combinations (one combined code) and nearly unique keys (the
    /// generic table), nulls in both.
    #[test]
    fn several_keys_group_by_their_combined_values() {
        let mut rng = crate::test_rng::Rng(0x9E37_79B9_7F4A_7C15);
        let mut next = || rng.next();
        let rows = 20_000;
        for distinct in [7u64, 50_000] {
            let a: Vec<Option<i64>> =
                (0..rows).map(|_| (next() % 9 != 0).then(|| (next() % distinct) as i64)).collect();
            let b: Vec<Option<String>> =
                (0..rows).map(|_| (next() % 9 != 0).then(|| format!("text number {}", next() % distinct))).collect();
            let c: Vec<i32> = (0..rows).map(|_| (next() % distinct) as i32).collect();
            check_against_hashmap(&[
                Column::new("a".into(), a),
                Column::new("b".into(), b),
                Column::new("c".into(), c),
            ]);
        }
    }

    /// Two keys without nulls whose values are nearly unique: an integer and
    /// a short text, either order, or two integers (one flat table of both
    /// values' bits), and a text past the inline length (the generic table).
    #[test]
    fn two_keys_without_nulls_group_by_both_values() {
        let mut rng = crate::test_rng::Rng(0x9E37_79B9_7F4A_7C15);
        let rows = 30_000;
        let ints: Vec<i64> = (0..rows).map(|_| rng.below(5) as i64 - 2).collect();
        let wide: Vec<i64> = (0..rows).map(|_| (rng.next() % 20_000) as i64 * 1_000_003).collect();
        let short: Vec<String> = (0..rows).map(|_| format!("id{:09}", rng.below(8_000))).collect();
        let long: Vec<String> = (0..rows).map(|_| format!("a longer text {}", rng.below(8_000))).collect();
        let column = |name: &str, i: &Vec<i64>| Column::new(name.into(), i);
        let text = |name: &str, t: &Vec<String>| Column::new(name.into(), t);
        check_against_hashmap(&[text("s", &short), column("i", &ints)]);
        check_against_hashmap(&[column("i", &ints), text("s", &short)]);
        check_against_hashmap(&[column("w", &wide), column("i", &ints)]);
        check_against_hashmap(&[text("l", &long), column("i", &ints)]);
        // The same text and integer in other combinations are other groups.
        let t = text("t", &vec!["a".to_string(), "a".into(), "b".into(), "a".into()]);
        let i = column("i", &vec![1, 2, 1, 1]);
        assert_eq!(group_rows(&[&t, &i]).unwrap().ids, vec![0, 1, 2, 0]);
    }

    /// Several integer keys: ranges whose product indexes one array
    /// (negative values and nulls included, a UInt32 key like dictionary
    /// ids), and ranges whose product is too large for it.
    #[test]
    fn several_integer_keys_group_by_their_values() {
        let mut rng = crate::test_rng::Rng(0x5851_F42D_4C95_7F2D);
        let rows = 30_000;
        for (a_spread, b_spread) in [(7u64, 40u64), (3000, 5000)] {
            let a: Vec<Option<i64>> =
                (0..rows).map(|_| (rng.below(13) != 0).then(|| rng.below(a_spread) as i64 - 3)).collect();
            let b: Vec<Option<u32>> =
                (0..rows).map(|_| (rng.below(5) != 0).then(|| rng.below(b_spread) as u32)).collect();
            let c: Vec<i32> = (0..rows).map(|_| rng.below(3) as i32).collect();
            check_against_hashmap(&[
                Column::new("a".into(), a),
                Column::new("b".into(), b),
                Column::new("c".into(), c),
            ]);
        }
    }

    /// One key of each shape that picks a different table: integers in a
    /// small range (an array), in a wide one and at the extremes of i64
    /// (hashed), short text (a flat table grown many times), text with long
    /// values (hashed with a text comparison); nulls in each.
    #[test]
    fn one_key_of_any_shape_groups_by_its_values() {
        let mut rng = crate::test_rng::Rng(0x2545_F491_4F6C_DD1D);
        let rows = 60_000;
        let mut column = |name: &str, value: &mut dyn FnMut(u64) -> AnyValue<'static>| {
            let values: Vec<AnyValue> =
                (0..rows).map(|_| if rng.below(11) == 0 { AnyValue::Null } else { value(rng.next()) }).collect();
            Column::new(name.into(), Series::from_any_values(name.into(), &values, true).unwrap())
        };
        let shapes = [
            column("narrow", &mut |r| AnyValue::Int64((r % 300) as i64 - 150)),
            column("wide", &mut |r| AnyValue::Int64((r % 5000) as i64 * 1_000_003)),
            column("extremes", &mut |r| AnyValue::Int64([i64::MIN, i64::MAX, 0, -1][(r % 4) as usize])),
            column("short", &mut |r| AnyValue::StringOwned(format!("k{}", r % 40_000).into())),
            column("long", &mut |r| AnyValue::StringOwned(format!("a longer text value {}", r % 3000).into())),
        ];
        for shape in shapes {
            check_against_hashmap(&[shape]);
        }
    }

    /// The text comparison behind a hash match (collisions are too rare for
    /// random data to reach it).
    #[test]
    fn text_rows_compare_by_length_and_every_byte() {
        let words = [
            "",
            "a",
            "b",
            "ab",
            "abcdefghijkl",
            "abcdefghijkm",
            "abcdefghijklm",
            "abcdefghijkln",
            "abcdX",
            "ab",
            "abcdefghijklm",
        ];
        let column = Column::new("t".into(), words);
        let text = column.str().unwrap().rechunk();
        let values = text.downcast_iter().next().unwrap();
        for i in 0..words.len() {
            for j in 0..words.len() {
                let fp = values.views()[i].as_u128();
                assert_eq!(same_text(values, fp, i, j), words[i] == words[j], "{:?} vs {:?}", words[i], words[j]);
            }
        }
    }

    #[test]
    fn float_keys_are_left_to_polars() {
        let f = Column::new("f".into(), [1.0f64, 2.0]);
        assert!(group_rows(&[&f]).is_none());
    }
}
