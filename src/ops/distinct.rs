//! Unique rows, keeping first occurrences in input order.

use polars::prelude::*;

use super::{concat, ChunkCtx, Sink};

/// The distinct sink: unique per chunk, then unique of the union.
pub struct Distinct;

impl Sink for Distinct {
    fn name(&self) -> &'static str {
        "distinct"
    }

    fn describe(&self) -> String {
        "distinct (unique per chunk, then unique of all)".into()
    }

    fn partial(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        df.unique_stable(None, UniqueKeepStrategy::First, None)
    }

    fn finish(&self, partials: Vec<DataFrame>, _ctx: &ChunkCtx) -> PolarsResult<Vec<DataFrame>> {
        let all = concat(partials)?;
        Ok(vec![all.unique_stable(None, UniqueKeepStrategy::First, None)?])
    }
}
