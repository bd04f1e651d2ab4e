//! `matmul "W.npy"`: each chunk of rows times a small matrix W (k x m),
//! streamed: each chunk is one GEMM (`gemm.rs`), its output columns
//! slices of one buffer.

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
        let k = self.columns.len();
        let mut x = Vec::with_capacity(n * k);
        for s in super::columns_in_order(&df, &self.columns)? {
            let s = s.cast(&DataType::Float64)?;
            let ca = s.f64()?;
            if ca.null_count() == 0 {
                ca.downcast_iter().for_each(|a| x.extend_from_slice(a.values()));
            } else {
                // A null takes part as NaN, so its row's products are NaN.
                x.extend(ca.iter().map(|v| v.unwrap_or(f64::NAN)));
            }
        }
        let mut out = vec![0.0; n * self.width];
        super::gemm::matmul(&x, n, k, &self.w, self.width, &mut out);
        let out = polars_arrow::buffer::Buffer::from(out);
        let columns = (0..self.width)
            .map(|j| {
                let values = out.clone().sliced(j * n, n);
                let array = polars_arrow::array::PrimitiveArray::new(ArrowDataType::Float64, values, None);
                Float64Chunked::with_chunk(format!("c{j}").into(), array).into_column()
            })
            .collect();
        DataFrame::new(columns)
    }
}
