//! Top-k (`sort | head k`): each chunk keeps only its k best rows, so
//! memory holds at most k rows per chunk in flight, never the whole input.

use std::sync::Arc;

use polars::prelude::*;

use crate::io::TopBound;

use super::{concat, ChunkCtx, Sink, SortSpec, Spill};

/// A chunk's best rows are copied out of it when there are at most this
/// many (a copy of them is cheap; their chunk's buffers may be large).
const ALWAYS_DETACHED: usize = 1 << 16;

/// The top-k sink.
pub struct TopK {
    /// Sort order.
    pub spec: SortSpec,
    /// Rows to keep.
    pub k: u64,
    /// The bound this top-k offers its scan (each chunk's best keys).
    pub bound: Option<Arc<TopBound>>,
}

impl Sink for TopK {
    fn name(&self) -> &'static str {
        "top_k"
    }

    fn describe(&self) -> String {
        let bound = match &self.bound {
            Some(b) => format!("; rows past the k-th best `{}` so far skipped while the scan decodes", b.column),
            None => String::new(),
        };
        format!("top_k k={} by {} (k rows per chunk, then k of all{bound})", self.k, self.spec.describe())
    }

    fn partial(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        let rows = df.height();
        let top = self.spec.head(df, self.k as usize)?;
        if let Some(bound) = &self.bound {
            bound.offer(&top);
        }
        if top.height() <= ALWAYS_DETACHED {
            // A chunk the scan filtered by the bound has few rows, which may
            // still sit in buffers sized for the whole row group (31 row
            // groups held 200 MB for `sort -v3 | head 10`).
            return super::detach(top);
        }
        super::detach_few(rows, top)
    }

    fn spill(&self) -> Spill {
        Spill::Compact
    }

    fn finish(&self, partials: Vec<DataFrame>, _ctx: &ChunkCtx) -> PolarsResult<Vec<DataFrame>> {
        Ok(vec![self.spec.head(concat(partials)?, self.k as usize)?])
    }
}
