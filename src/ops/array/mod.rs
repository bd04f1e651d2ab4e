//! Array operations: a table's numeric columns as the columns of a 2-D
//! array (a `.npy` file reads as exactly that) — reduced along an axis,
//! multiplied by a small matrix, or turned into its Gram, covariance or
//! correlation matrix.

mod gemm;
mod gram;
mod matmul;
mod moments;
mod quantile;
mod reduce;
mod row_reduce;

pub use gram::{Matrix, MatrixSink};
pub use matmul::MatMul;
pub use reduce::{Axis, ColumnReduce, Stat};
pub use row_reduce::RowReduce;

/// The frame's columns named `names`, in that order: the frame's own
/// order when it matches (no lookups: `DataFrame::column` scans the
/// columns, which for 10,000 columns would cost 10^8 comparisons a chunk).
fn columns_in_order<'a>(
    df: &'a polars::prelude::DataFrame,
    names: &[String],
) -> polars::prelude::PolarsResult<Vec<&'a polars::prelude::Series>> {
    let own = df.get_columns();
    if own.len() == names.len() && own.iter().zip(names).all(|(c, n)| c.name() == n) {
        return Ok(own.iter().map(|c| c.as_materialized_series()).collect());
    }
    names.iter().map(|n| Ok(df.column(n)?.as_materialized_series())).collect()
}
