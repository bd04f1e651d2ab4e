//! Most frequent values with counts, mergeable with a known error bound.
//!
//! Each chunk contributes its exact value counts truncated to the top
//! `CAPACITY`; a value cut from a chunk could have had at most that chunk's
//! cut-off count there, so the sum of cut-offs bounds how much any reported
//! count may be short (and how large an unreported value's count can be).
//! With few distinct values nothing is cut and the counts are exact.

use std::collections::HashMap;

/// Values kept per summary.
pub const CAPACITY: usize = 256;

/// The summary.
#[derive(Clone, Default)]
pub struct TopValues {
    counts: HashMap<String, u64>,
    /// Upper bound on the count any value may be missing.
    pub error: u64,
}

impl TopValues {
    /// Adds a chunk's (value, count) pairs, sorted by count descending,
    /// with the count of the first value left out (0 if none was).
    pub fn add_chunk(&mut self, pairs: impl IntoIterator<Item = (String, u64)>, cut_off: u64) {
        for (v, c) in pairs {
            *self.counts.entry(v).or_default() += c;
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

    fn prune(&mut self) {
        if self.counts.len() <= CAPACITY {
            return;
        }
        let mut all: Vec<(String, u64)> = self.counts.drain().collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        self.error += all[CAPACITY].1;
        all.truncate(CAPACITY);
        self.counts = all.into_iter().collect();
    }

    /// The `n` most frequent values, count descending (ties by value).
    pub fn top(&self, n: usize) -> Vec<(String, u64)> {
        let mut all: Vec<(String, u64)> = self.counts.iter().map(|(v, c)| (v.clone(), *c)).collect();
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
        t.add_chunk([("a".to_string(), 3), ("b".to_string(), 1)], 0);
        let mut u = TopValues::default();
        u.add_chunk([("b".to_string(), 5)], 0);
        t.merge(u);
        assert_eq!(t.top(5), vec![("b".to_string(), 6), ("a".to_string(), 3)]);
        assert_eq!(t.error, 0);
    }

    #[test]
    fn heavy_hitter_survives_pruning_with_a_bound() {
        let mut t = TopValues::default();
        for chunk in 0..10u64 {
            let mut pairs = vec![("hot".to_string(), 1000)];
            pairs.extend((0..CAPACITY as u64).map(|i| (format!("cold-{chunk}-{i}"), 1)));
            t.add_chunk(pairs, 0);
        }
        let top = t.top(1);
        assert_eq!(top[0], ("hot".to_string(), 10_000));
        assert!(t.error > 0 && t.error <= 10);
    }
}
