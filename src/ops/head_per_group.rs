//! `head N by g`: the first N rows of each group, in input order; with a
//! sort spec (`sort ... | head N by g`) a per-group top-k: every chunk is
//! sorted and keeps N rows per group, then the same over all chunks, so the
//! input is never sorted whole.

use polars::prelude::*;

use super::{concat, run_lazy, ChunkCtx, Sink, SortSpec, Spill};

/// The per-group head / top-k sink.
pub struct HeadPerGroup {
    /// Rows per group.
    pub n: u64,
    /// Group keys.
    pub by: Vec<String>,
    /// Sort order for a top-k; `None` keeps input order.
    pub spec: Option<SortSpec>,
    /// Output columns in order (grouping puts the keys first).
    pub columns: Vec<String>,
}

impl HeadPerGroup {
    /// The first (or top) N rows of each group, with every input column:
    /// partials keep the keys and sort columns for the next round.
    fn keep(&self, df: DataFrame) -> PolarsResult<DataFrame> {
        let df = match &self.spec {
            Some(spec) => spec.sort(df)?,
            None => df,
        };
        if df.height() == 0 {
            return Ok(df);
        }
        let by: Vec<Expr> = self.by.iter().map(|k| col(k.as_str())).collect();
        let n = self.n as usize;
        let names: Vec<Expr> = df.get_column_names().iter().map(|c| col(c.as_str())).collect();
        // polars' grouped head takes N values of each non-key column: with
        // only keys it would give one row per group, so pad with a column.
        let only_keys = df.get_column_names().iter().all(|c| self.by.iter().any(|k| k.as_str() == c.as_str()));
        // Stable grouping keeps rows in their (sorted) order within a group.
        run_lazy(df, move |lf| {
            let lf = if only_keys { lf.with_column(lit(true).alias("__dq_pad")) } else { lf };
            lf.group_by_stable(by).head(Some(n)).select(names)
        })
    }

    /// The output columns of the kept rows (none: only the row count).
    fn output(&self, df: DataFrame) -> PolarsResult<DataFrame> {
        if self.columns.is_empty() {
            return Ok(super::height_only(df.height()));
        }
        df.select(self.columns.iter().map(|c| c.as_str()))
    }
}

impl Sink for HeadPerGroup {
    fn name(&self) -> &'static str {
        if self.spec.is_some() {
            "top_k_per_group"
        } else {
            "head_per_group"
        }
    }

    fn describe(&self) -> String {
        match &self.spec {
            Some(spec) => format!(
                "top_k_per_group k={} by {} in order {} (k rows per group per chunk, then of all)",
                self.n,
                self.by.join(", "),
                spec.describe()
            ),
            None => format!(
                "head_per_group {} by {} (first rows of each group, in input order)",
                self.n,
                self.by.join(", ")
            ),
        }
    }

    fn partial(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        self.keep(df)
    }

    fn spill(&self) -> Spill {
        Spill::ByKeys { keys: self.by.iter().map(|k| col(k.as_str())).collect(), side: None }
    }

    fn finish(&self, partials: Vec<DataFrame>, _ctx: &ChunkCtx) -> PolarsResult<Vec<DataFrame>> {
        Ok(vec![self.output(self.keep(concat(partials)?)?)?])
    }
}
