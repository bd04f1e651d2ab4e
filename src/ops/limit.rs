//! `head N`, `tail N` and `rows A:B`: keep what may be needed of each
//! chunk, then cut the rows of all, in order.

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

/// `n` rows after the first `offset` (`rows A:B`): a chunk keeps at most
/// its first `offset + n` rows, and reading stops once that many are in,
/// as for `head`; the rows before `offset` are held until the end (at
/// most `offset + n` rows, spilled under the memory budget like `head`'s).
pub struct Slice {
    /// Rows skipped.
    pub offset: u64,
    /// Rows kept.
    pub n: u64,
}

impl Sink for Slice {
    fn name(&self) -> &'static str {
        "rows"
    }

    fn describe(&self) -> String {
        let end = self.offset + self.n;
        format!("rows {}:{end} (stops reading once {end} rows are in)", self.offset)
    }

    fn partial(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        super::detach_few(df.height(), df.head(Some((self.offset + self.n) as usize)))
    }

    fn spill(&self) -> Spill {
        Spill::Compact
    }

    fn finish(&self, partials: Vec<DataFrame>, _ctx: &ChunkCtx) -> PolarsResult<Vec<DataFrame>> {
        let all = concat(partials)?;
        let offset = (self.offset as usize).min(all.height());
        Ok(vec![all.slice(offset as i64, self.n as usize)])
    }

    fn row_limit(&self) -> Option<u64> {
        Some(self.offset + self.n)
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
