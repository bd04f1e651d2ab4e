//! Computes exactly the listed output columns (select, derive, drop, rename).

use polars::prelude::*;

use super::{select_rows, ChunkCtx, ChunkOp};

/// The projection operator.
pub struct Project {
    exprs: Vec<Expr>,
    label: String,
}

impl Project {
    /// Outputs `exprs` (each aliased to its output name).
    pub fn new(exprs: Vec<Expr>, label: String) -> Self {
        Project { exprs, label }
    }
}

impl ChunkOp for Project {
    fn name(&self) -> &'static str {
        "project"
    }

    fn keeps_every_row(&self) -> bool {
        true
    }

    fn describe(&self) -> String {
        format!("project {}", self.label)
    }

    fn apply(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        let height = df.height();
        if self.exprs.is_empty() {
            // Only the row count is needed downstream (e.g. `count`); polars'
            // select of nothing would drop it.
            // SAFETY: with no columns there is no column length to disagree with `height`.
            return Ok(unsafe { DataFrame::new_no_checks(height, Vec::new()) });
        }
        select_rows(df, self.exprs.clone())
    }
}
