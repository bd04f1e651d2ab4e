//! Most frequent values with counts, mergeable with a known error bound.
//!
//! Counts are exact while the column has at most [`EXACT`] distinct values
//! (as the profile's distinct count is). Beyond, each chunk contributes its
//! value counts truncated to the top [`KEPT`]; a value cut from a chunk
//! could have had at most that chunk's cut-off count there, so the sum of
//! cut-offs bounds how much any reported count may be short (and how large
//! an unreported value's count can be). Only values whose count exceeds
//! that bound are reported then: the others may not be frequent at all.

use std::collections::HashMap;

use foldhash::fast::FixedState;

/// Distinct values counted exactly.
pub const EXACT: usize = super::EXACT_DISTINCT;
/// Values kept per summary once counts are no longer exact.
pub const KEPT: usize = 256;

/// The summary.
#[derive(Clone, Default)]
pub struct TopValues {
    /// foldhash, not SipHash: about 100k values merged per chunk and column.
    counts: HashMap<String, u64, FixedState>,
    /// Upper bound on the count any value may be missing.
    pub error: u64,
}

impl TopValues {
    /// Adds a chunk's (value, count) pairs, sorted by count descending,
    /// with the count of the first value left out (0 if none was).
    pub fn add_chunk<'a>(&mut self, pairs: impl IntoIterator<Item = (&'a str, u64)>, cut_off: u64) {
        for (v, c) in pairs {
            // A value seen before costs no allocation.
            match self.counts.get_mut(v) {
                Some(n) => *n += c,
                None => {
                    self.counts.insert(v.to_string(), c);
                }
            }
        }
        self.error += cut_off;
        self.prune();
    }

    /// Merges another summary.
    pub fn merge(&mut self, other: TopValues) {
        for (v, c) in other.counts {
            *self.counts.entry(v).or_default() += c;
        }
        self.error += other.error;
        self.prune();
    }

    /// Values a chunk may contribute: all of them (up to [`EXACT`]) while
    /// the counts are exact, the top [`KEPT`] after.
    pub fn capacity(&self) -> usize {
        if self.error == 0 {
            EXACT
        } else {
            KEPT
        }
    }

    fn prune(&mut self) {
        if self.counts.len() <= self.capacity() {
            return;
        }
        let mut all: Vec<(String, u64)> = self.counts.drain().collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        self.error += all[KEPT].1;
        all.truncate(KEPT);
        self.counts = all.into_iter().collect();
    }

    /// The `n` most frequent values, count descending (ties by value); when
    /// counts are bounds, only values counted more often than the bound.
    pub fn top(&self, n: usize) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> =
            self.counts.iter().filter(|(_, c)| **c > self.error).map(|(v, c)| (v.clone(), *c)).collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        all.truncate(n);
        all
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_when_nothing_is_cut() {
        let mut t = TopValues::default();
        t.add_chunk([("a", 3), ("b", 1)], 0);
        let mut u = TopValues::default();
        u.add_chunk([("b", 5)], 0);
        t.merge(u);
        assert_eq!(t.top(5), vec![("b".to_string(), 6), ("a".to_string(), 3)]);
        assert_eq!(t.error, 0);
    }

    #[test]
    fn heavy_hitter_survives_pruning_with_a_bound() {
        let mut t = TopValues::default();
        for chunk in 0..10u64 {
            let mut pairs = vec![("hot".to_string(), 1000)];
            pairs.extend((0..EXACT as u64 / 4).map(|i| (format!("cold-{chunk}-{i}"), 1)));
            t.add_chunk(pairs.iter().map(|(v, c)| (v.as_str(), *c)), 0);
        }
        let top = t.top(1);
        assert_eq!(top[0], ("hot".to_string(), 10_000));
        assert!(t.error > 0 && t.error <= 10);
        // Nothing at or below the bound is reported.
        assert!(t.top(KEPT).iter().all(|(_, c)| *c > t.error));
    }

    #[test]
    fn counts_stay_exact_up_to_the_exact_limit() {
        let mut t = TopValues::default();
        // 1,000 chunks, each with 90 of the same 90,000 values, counts 1..
        for chunk in 0..1000u64 {
            let pairs: Vec<(String, u64)> =
                (0..90).map(|i| (format!("v{}", (chunk * 90 + i) % 90_000), 1 + i % 3)).collect();
            t.add_chunk(pairs.iter().map(|(v, c)| (v.as_str(), *c)), 0);
        }
        assert_eq!(t.error, 0);
        let want: u64 = (0..1000u64)
            .flat_map(|c| (0..90).map(move |i| (c, i)))
            .filter(|(c, i)| (c * 90 + i) % 90_000 == 0)
            .map(|(_, i)| 1 + i % 3)
            .sum();
        let got = t.counts.get("v0").copied();
        assert_eq!(got, Some(want));
    }
}
