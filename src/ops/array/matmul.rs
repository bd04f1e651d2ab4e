//! `matmul "W.npy"`: each chunk of rows times a small matrix W (k x m),
//! streamed: the output row i is `Σ_j x_ij W_j·`, built column by column
//! with vectorized multiply-adds.

use std::sync::Arc;

use polars::prelude::*;

use crate::ops::{ChunkCtx, ChunkOp};

/// The product of the rows with `w`.
pub struct MatMul {
    /// The k input columns, in order.
    pub columns: Vec<String>,
    /// W in row-major order, k x `width`.
    pub w: Arc<Vec<f64>>,
    /// Columns of W (and of the output, named `c0` …).
    pub width: usize,
}

impl ChunkOp for MatMul {
    fn name(&self) -> &'static str {
        "matmul"
    }

    fn describe(&self) -> String {
        format!("matmul by a {} x {} matrix", self.columns.len(), self.width)
    }

    fn apply(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        let n = df.height();
        let mut out = vec![vec![0.0f64; n]; self.width];
        for (i, s) in super::columns_in_order(&df, &self.columns)?.into_iter().enumerate() {
            let s = s.cast(&DataType::Float64)?;
            let s = s.f64()?;
            // A null takes part as NaN, so its row's products are NaN.
            let x: Vec<f64> = s.iter().map(|v| v.unwrap_or(f64::NAN)).collect();
            for (j, acc) in out.iter_mut().enumerate() {
                let w = self.w[i * self.width + j];
                for (a, v) in acc.iter_mut().zip(&x) {
                    *a += v * w;
                }
            }
        }
        let columns = out
            .into_iter()
            .enumerate()
            .map(|(j, v)| Float64Chunked::from_vec(format!("c{j}").into(), v).into_column())
            .collect();
        DataFrame::new(columns)
    }
}
