//! Top-k (`sort | head k`): each chunk keeps only its k best rows, so
//! memory holds at most k rows per chunk in flight, never the whole input.

use polars::prelude::*;

use super::{concat, ChunkCtx, Sink, SortSpec, Spill};

/// The top-k sink.
pub struct TopK {
    /// Sort order.
    pub spec: SortSpec,
    /// Rows to keep.
    pub k: u64,
}

impl Sink for TopK {
    fn name(&self) -> &'static str {
        "top_k"
    }

    fn describe(&self) -> String {
        format!("top_k k={} by {} (k rows per chunk, then k of all)", self.k, self.spec.describe())
    }

    fn partial(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        let rows = df.height();
        super::detach_few(rows, self.spec.sort(df)?.head(Some(self.k as usize)))
    }

    fn spill(&self) -> Spill {
        Spill::Compact
    }

    fn finish(&self, partials: Vec<DataFrame>, _ctx: &ChunkCtx) -> PolarsResult<Vec<DataFrame>> {
        Ok(vec![self.spec.sort(concat(partials)?)?.head(Some(self.k as usize))])
    }
}
