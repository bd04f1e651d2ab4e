//! Keeps the rows where a predicate is true; null counts as false.

use polars::prelude::*;

use super::{run_lazy, ChunkCtx, ChunkOp};

/// The filter operator.
pub struct Filter {
    predicate: Expr,
    label: String,
}

impl Filter {
    /// A filter on `predicate`; `label` is its dq text for explain.
    pub fn new(predicate: Expr, label: String) -> Self {
        Filter { predicate, label }
    }
}

impl ChunkOp for Filter {
    fn name(&self) -> &'static str {
        "filter"
    }

    fn describe(&self) -> String {
        format!("filter {}", self.label)
    }

    fn apply(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        if df.width() == 0 {
            // No column was read, so the predicate is a constant (`filter
            // false`): it keeps every row or none.
            let p = self.predicate.clone();
            let one = run_lazy(super::height_only(1), |lf| lf.select([p]))?;
            let keep = one.get_columns().first().and_then(|c| c.bool().ok()?.get(0)).unwrap_or(false);
            return Ok(if keep { df } else { super::height_only(0) });
        }
        let p = self.predicate.clone();
        run_lazy(df, |lf| lf.filter(p))
    }
}
