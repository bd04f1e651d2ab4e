//! `head N` and `tail N`: keep N rows per chunk, then N of all, in order.

use polars::prelude::*;

use super::{concat, ChunkCtx, Sink, Spill};

/// The first N rows.
pub struct Head(pub u64);

impl Sink for Head {
    fn name(&self) -> &'static str {
        "head"
    }

    fn describe(&self) -> String {
        format!("head {} (stops reading once {} rows are in)", self.0, self.0)
    }

    fn partial(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        super::detach_few(df.height(), df.head(Some(self.0 as usize)))
    }

    fn spill(&self) -> Spill {
        Spill::Compact
    }

    fn finish(&self, partials: Vec<DataFrame>, _ctx: &ChunkCtx) -> PolarsResult<Vec<DataFrame>> {
        Ok(vec![concat(partials)?.head(Some(self.0 as usize))])
    }

    fn row_limit(&self) -> Option<u64> {
        Some(self.0)
    }
}

/// The last N rows.
pub struct Tail(pub u64);

impl Sink for Tail {
    fn name(&self) -> &'static str {
        "tail"
    }

    fn describe(&self) -> String {
        format!("tail {}", self.0)
    }

    fn partial(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        super::detach_few(df.height(), df.tail(Some(self.0 as usize)))
    }

    fn spill(&self) -> Spill {
        Spill::Compact
    }

    fn finish(&self, partials: Vec<DataFrame>, _ctx: &ChunkCtx) -> PolarsResult<Vec<DataFrame>> {
        Ok(vec![concat(partials)?.tail(Some(self.0 as usize))])
    }
}
