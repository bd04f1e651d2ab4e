//! Counts rows: per-chunk heights, summed.

use polars::prelude::*;

use super::{ChunkCtx, Sink, Spill};

/// The row-count sink.
pub struct Count;

impl Sink for Count {
    fn name(&self) -> &'static str {
        "count"
    }

    fn describe(&self) -> String {
        "count (per-chunk row counts, summed)".into()
    }

    fn partial(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        df!("count" => [df.height() as i64])
    }

    fn spill(&self) -> Spill {
        Spill::Compact
    }

    fn finish(&self, partials: Vec<DataFrame>, _ctx: &ChunkCtx) -> PolarsResult<Vec<DataFrame>> {
        let mut total = 0i64;
        for p in &partials {
            total += p.column("count")?.i64()?.sum().unwrap_or(0);
        }
        Ok(vec![df!("count" => [total])?])
    }
}
