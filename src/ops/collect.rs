//! Keeps chunks as they are, in order: the sink of a stage whose output
//! another stage (or the writer) reads.

use polars::prelude::*;

use super::{ChunkCtx, Sink, Spill};

/// The pass-through sink.
pub struct Collect;

impl Sink for Collect {
    fn name(&self) -> &'static str {
        "collect"
    }

    fn describe(&self) -> String {
        "collect (chunks in order)".into()
    }

    fn partial(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        Ok(df)
    }

    fn finish(&self, partials: Vec<DataFrame>, _ctx: &ChunkCtx) -> PolarsResult<Vec<DataFrame>> {
        Ok(partials.into_iter().filter(|df| df.height() > 0).collect())
    }

    fn passes_through(&self) -> bool {
        true
    }

    fn spill(&self) -> Spill {
        Spill::InOrder
    }
}
