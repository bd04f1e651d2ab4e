//! Full sort: every chunk is sorted in parallel (runs), then the runs are
//! stacked in chunk order and sorted once more, stably, with nulls last.
//! Sorting presorted runs is cheap for polars' merge-based sort. When the
//! runs do not fit in the memory budget, the executor spills them and
//! merges them from disk (`exec/runs.rs`).

use polars::prelude::*;

use super::{concat, run_lazy, ChunkCtx, Sink, Spill};

/// Sort keys as polars expressions.
#[derive(Clone)]
pub struct SortSpec {
    /// Key expressions.
    pub exprs: Vec<Expr>,
    /// Descending flags, one per key.
    pub descending: Vec<bool>,
    /// dq text of each key, for explain.
    pub labels: Vec<String>,
}

impl SortSpec {
    /// Sorts one frame: stable, nulls last in both directions.
    pub fn sort(&self, df: DataFrame) -> PolarsResult<DataFrame> {
        if df.height() <= 1 || self.exprs.is_empty() {
            return Ok(df);
        }
        let (exprs, descending) = self.stable_keys();
        let opts = SortMultipleOptions::default()
            .with_order_descending_multi(descending)
            .with_nulls_last(true)
            .with_maintain_order(true);
        run_lazy(df, |lf| lf.sort_by_exprs(exprs, opts))
    }

    /// The keys polars sorts by: a descending key is preceded by its
    /// `is_null()` (ascending), because polars' descending sort with nulls
    /// last reverses the order of the null rows (not stable).
    pub fn stable_keys(&self) -> (Vec<Expr>, Vec<bool>) {
        let mut exprs = Vec::with_capacity(self.exprs.len() * 2);
        let mut descending = Vec::with_capacity(self.exprs.len() * 2);
        for (e, &d) in self.exprs.iter().zip(&self.descending) {
            if d {
                exprs.push(e.clone().is_null());
                descending.push(false);
            }
            exprs.push(e.clone());
            descending.push(d);
        }
        (exprs, descending)
    }

    /// Keys for explain.
    pub fn describe(&self) -> String {
        let keys: Vec<String> = self
            .labels
            .iter()
            .zip(&self.descending)
            .map(|(e, d)| format!("{e}{}", if *d { " desc" } else { "" }))
            .collect();
        keys.join(", ")
    }
}

/// The sort sink.
pub struct Sort(pub SortSpec);

impl Sink for Sort {
    fn name(&self) -> &'static str {
        "sort"
    }

    fn describe(&self) -> String {
        format!("sort {} (sorted runs per chunk, then merged)", self.0.describe())
    }

    fn partial(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        self.0.sort(df)
    }

    fn spill(&self) -> Spill {
        Spill::SortedRuns(self.0.clone())
    }

    fn finish(&self, partials: Vec<DataFrame>, _ctx: &ChunkCtx) -> PolarsResult<Vec<DataFrame>> {
        Ok(vec![self.0.sort(concat(partials)?)?])
    }
}
