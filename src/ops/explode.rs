//! One row per piece of a string column split on a separator; the other
//! columns repeat. Empty pieces are kept (filter them if unwanted).

use polars::prelude::*;

use super::{run_lazy, ChunkCtx, ChunkOp};

/// The explode operator.
pub struct Explode {
    /// The string column.
    pub column: String,
    /// The separator.
    pub separator: String,
}

impl ChunkOp for Explode {
    fn name(&self) -> &'static str {
        "explode"
    }

    fn describe(&self) -> String {
        format!("explode {} on {:?}", self.column, self.separator)
    }

    fn apply(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        let c = self.column.as_str();
        let sep = self.separator.clone();
        run_lazy(df, move |lf| lf.with_column(col(c).str().split(lit(sep))).explode([col(c)]))
    }
}
