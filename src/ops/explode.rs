//! One row per piece of a string column split on a separator, or per item
//! of a list column; the other columns repeat. Empty pieces are kept
//! (filter them if unwanted); an empty or null list gives one row with a
//! null, so no row disappears.

use polars::prelude::*;

use super::{run_lazy, ChunkCtx, ChunkOp};

/// The explode operator.
pub struct Explode {
    /// The string column.
    pub column: String,
    /// The separator; `None` for a list column.
    pub separator: Option<String>,
}

impl ChunkOp for Explode {
    fn name(&self) -> &'static str {
        "explode"
    }

    fn describe(&self) -> String {
        match &self.separator {
            Some(sep) => format!("explode {} on {sep:?}", self.column),
            None => format!("explode {}", self.column),
        }
    }

    fn apply(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        let c = self.column.as_str();
        match self.separator.clone() {
            Some(sep) => run_lazy(df, move |lf| lf.with_column(col(c).str().split(lit(sep))).explode([col(c)])),
            None => run_lazy(df, move |lf| lf.explode([col(c)])),
        }
    }
}
