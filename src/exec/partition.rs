//! Hash partitioning: rows with equal keys always land in the same part.
//!
//! Integer and text keys are hashed by value with a seed
//! ([`crate::ops::key_hashes`]); other key types are row-encoded
//! (polars' unordered row format, so equal values of equal types give equal
//! bytes) and the bytes hashed. A different seed splits a part that is still
//! too large differently.

use polars::prelude::*;
use polars_core::chunked_array::ops::row_encode::_get_rows_encoded_unordered;
use rayon::prelude::*;

use crate::ops::select_rows;

/// Splits `df` into `parts` frames by the hash of `keys` (evaluated on `df`),
/// keeping the order of rows within each part.
pub fn split(df: &DataFrame, keys: &[Expr], parts: usize, seed: u64) -> PolarsResult<Vec<DataFrame>> {
    let key_frame = select_rows(df.clone(), keys.to_vec())?;
    let columns: Vec<&Column> = key_frame.get_columns().iter().collect();
    let mut idx: Vec<Vec<IdxSize>> = vec![Vec::new(); parts];
    // Row encoding every key (q10's six) cost more than the rest of a split.
    if let Some(hashes) = crate::ops::key_hashes(&columns, seed) {
        for (i, &h) in hashes.iter().enumerate() {
            idx[(finish(h) % parts as u64) as usize].push(i as IdxSize);
        }
    } else {
        let rows = _get_rows_encoded_unordered(key_frame.get_columns())?;
        for (i, row) in rows.iter().enumerate() {
            idx[(hash(row, seed) % parts as u64) as usize].push(i as IdxSize);
        }
    }
    idx.into_iter()
        .map(|v| {
            if v.len() == df.height() {
                return Ok(df.clone());
            }
            df.take(&IdxCa::from_vec("".into(), v))
        })
        .collect()
}

/// Splits frames into `parts` key-disjoint groups of frames (no key value
/// is in two groups), each frame dropped once it is split. The pieces'
/// text columns still point into the frames' text buffers.
pub fn split_frames(
    frames: Vec<DataFrame>,
    keys: &[Expr],
    parts: usize,
    seed: u64,
) -> PolarsResult<Vec<Vec<DataFrame>>> {
    let mut groups: Vec<Vec<DataFrame>> = (0..parts).map(|_| Vec::with_capacity(frames.len())).collect();
    // Frames split side by side (one thread splitting 10M rows of partials
    // left the other idle for a second of h2o q10).
    let split: Vec<Vec<DataFrame>> =
        frames.into_par_iter().map(|df| split(&df, keys, parts, seed)).collect::<PolarsResult<_>>()?;
    for pieces in split {
        for (group, piece) in groups.iter_mut().zip(pieces) {
            if piece.height() > 0 {
                group.push(piece);
            }
        }
    }
    Ok(groups)
}

/// A seeded 64-bit hash of a byte string (word-at-a-time multiply-xor,
/// then the splitmix64 finalizer so that every bit feeds the modulus).
fn hash(bytes: &[u8], seed: u64) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut h = seed ^ (bytes.len() as u64).wrapping_mul(K);
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let v = u64::from_le_bytes([w[0], w[1], w[2], w[3], w[4], w[5], w[6], w[7]]);
        h = (h ^ v).wrapping_mul(K).rotate_left(29);
    }
    let mut last = 0u64;
    for (i, b) in words.remainder().iter().enumerate() {
        last |= (*b as u64) << (8 * i);
    }
    finish((h ^ last).wrapping_mul(K))
}

/// The splitmix64 finalizer: every bit of `h` feeds the low bits the
/// modulus reads.
fn finish(mut h: u64) -> u64 {
    h ^= h >> 30;
    h = h.wrapping_mul(0xBF58_476D_1CE4_E5B9);
    h ^= h >> 27;
    h = h.wrapping_mul(0x94D0_49BB_1331_11EB);
    h ^ (h >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn equal_keys_meet_and_every_row_lands_once() {
        let df = df!(
            "k" => [Some("a"), Some("b"), None, Some("a"), Some("c"), None],
            "v" => [1i64, 2, 3, 4, 5, 6]
        )
        .unwrap();
        for seed in 0..4 {
            let parts = split(&df, &[col("k")], 3, seed).unwrap();
            assert_eq!(parts.iter().map(|p| p.height()).sum::<usize>(), 6);
            for key in [Some("a"), None] {
                let holding: Vec<usize> = parts
                    .iter()
                    .enumerate()
                    .filter(|(_, p)| p.column("k").unwrap().str().unwrap().into_iter().any(|v| v == key))
                    .map(|(i, _)| i)
                    .collect();
                assert_eq!(holding.len(), 1, "key {key:?} in parts {holding:?}");
            }
        }
    }

    #[test]
    fn split_frames_keeps_every_row_once_and_keys_together() {
        let a = df!("k" => ["x", "y", "z", "x"], "v" => [1i64, 2, 3, 4]).unwrap();
        let b = df!("k" => ["z", "w", "x"], "v" => [5i64, 6, 7]).unwrap();
        let groups = split_frames(vec![a, b], &[col("k")], 3, 9).unwrap();
        let rows: usize = groups.iter().flatten().map(|f| f.height()).sum();
        assert_eq!(rows, 7);
        for key in ["x", "y", "z", "w"] {
            let holding = groups
                .iter()
                .filter(|g| g.iter().any(|f| f.column("k").unwrap().str().unwrap().into_iter().any(|v| v == Some(key))))
                .count();
            assert_eq!(holding, 1, "key {key}");
        }
    }

    /// The part a frame's row with key `k == value` went to.
    fn part_of(parts: &[DataFrame], matches: impl Fn(&Column, usize) -> bool) -> Vec<usize> {
        let mut at = Vec::new();
        for (i, p) in parts.iter().enumerate() {
            let k = p.column("k").unwrap();
            if (0..p.height()).any(|row| matches(k, row)) {
                at.push(i);
            }
        }
        at
    }

    #[test]
    fn equal_values_of_different_widths_and_nulls_of_any_type_meet() {
        // Keys hashed by value: an Int32 and an Int64 frame (or a text and a
        // null-typed one) must send equal keys to the same part, as one
        // side of a join and a later chunk of a scan may hold them.
        let narrow = df!("k" => [Some(1i32), Some(2), None, Some(40_000)]).unwrap();
        let wide = df!("k" => [Some(1i64), Some(2), None, Some(40_000)]).unwrap();
        let text = df!("k" => [Some("a"), None]).unwrap();
        let null = DataFrame::new(vec![Column::full_null("k".into(), 3, &DataType::Null)]).unwrap();
        for seed in [0, 5] {
            let (a, b) = (split(&narrow, &[col("k")], 7, seed).unwrap(), split(&wide, &[col("k")], 7, seed).unwrap());
            for v in [1i64, 2, 40_000] {
                let in_a = part_of(&a, |k, row| k.get(row).unwrap().extract::<i64>() == Some(v));
                let in_b = part_of(&b, |k, row| k.get(row).unwrap().extract::<i64>() == Some(v));
                assert_eq!(in_a, in_b, "key {v}");
            }
            let nulls = |parts: &[DataFrame]| part_of(parts, |k, row| k.get(row).unwrap().is_null());
            assert_eq!(nulls(&a), nulls(&b));
            let (t, n) = (split(&text, &[col("k")], 7, seed).unwrap(), split(&null, &[col("k")], 7, seed).unwrap());
            assert_eq!(nulls(&t), nulls(&n));
            assert_eq!(nulls(&t), nulls(&a));
        }
    }

    #[test]
    fn hashes_spread() {
        let mut counts = [0usize; 8];
        for i in 0..8000u64 {
            counts[(hash(&i.to_le_bytes(), 7) % 8) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| (800..1200).contains(&c)), "{counts:?}");
    }
}
