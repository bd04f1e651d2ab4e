//! Unique rows, keeping first occurrences in input order.
//!
//! Per chunk, then over all chunks. Adaptive like aggregation: once a chunk
//! of at least 50k rows shows that de-duplicating it keeps more than half of
//! its rows, later chunks are passed on as they are and only the final
//! pass removes duplicates (the result is the same; the wasted pass is not).

use std::sync::atomic::{AtomicBool, Ordering};

use polars::prelude::*;

use super::{concat, ChunkCtx, Sink, Spill};

/// Chunks smaller than this never switch off per-chunk de-duplication.
const ADAPT_MIN_ROWS: usize = 50_000;

/// The distinct sink.
#[derive(Default)]
pub struct Distinct {
    /// Set once per-chunk de-duplication was seen not to pay off.
    pass_through: AtomicBool,
}

impl Sink for Distinct {
    fn name(&self) -> &'static str {
        "distinct"
    }

    fn describe(&self) -> String {
        "distinct (unique per chunk, then unique of all)".into()
    }

    fn partial(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        if self.pass_through.load(Ordering::Relaxed) {
            return Ok(df);
        }
        let rows = df.height();
        let out = df.unique_stable(None, UniqueKeepStrategy::First, None)?;
        if rows >= ADAPT_MIN_ROWS && out.height() * 2 > rows {
            self.pass_through.store(true, Ordering::Relaxed);
        }
        Ok(out)
    }

    fn can_compact(&self) -> bool {
        true
    }

    fn compact(&self, partials: Vec<DataFrame>) -> PolarsResult<DataFrame> {
        concat(partials)?.unique_stable(None, UniqueKeepStrategy::First, None)
    }

    fn spill(&self) -> Spill {
        Spill::ByKeys { keys: vec![all()], side: None }
    }

    fn finish(&self, partials: Vec<DataFrame>, _ctx: &ChunkCtx) -> PolarsResult<Vec<DataFrame>> {
        let all = concat(partials)?;
        Ok(vec![all.unique_stable(None, UniqueKeepStrategy::First, None)?])
    }
}
