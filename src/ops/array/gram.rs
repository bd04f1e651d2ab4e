//! `gram`, `cov`, `corr`: k x k matrices of the columns, as a tree
//! reduction over row chunks. Each chunk gives its row count, column means
//! and co-moments about those means (`Σ (x_i − m_i)(x_j − m_j)`), or its raw
//! products `Σ x_i x_j` for `gram`; chunks merge with Chan's formula for
//! co-moments, so covariances of values with a large offset stay exact. A
//! row with a null in any column is left out (listwise, as NumPy's
//! `cov` of a NaN-free array sees it).

use polars::prelude::*;

use crate::ops::{ChunkCtx, Sink, Spill};

/// Which matrix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Matrix {
    /// `XᵀX`: sums of raw products.
    Gram,
    /// Sample covariance (n − 1), as `np.cov(X, rowvar=False)`.
    Cov,
    /// Pearson correlation, as `np.corrcoef(X, rowvar=False)`.
    Corr,
}

impl Matrix {
    /// The verb's name.
    pub fn name(self) -> &'static str {
        match self {
            Matrix::Gram => "gram",
            Matrix::Cov => "cov",
            Matrix::Corr => "corr",
        }
    }
}

/// Rows, means and the k x k co-moments (row-major) of some rows.
#[derive(Debug, Clone, PartialEq)]
struct CoMoments {
    n: u64,
    mean: Vec<f64>,
    m: Vec<f64>,
}

impl CoMoments {
    fn empty(k: usize) -> Self {
        CoMoments { n: 0, mean: vec![0.0; k], m: vec![0.0; k * k] }
    }

    /// Of `n` rows of k columns stored column by column in `values` (no
    /// nulls); `raw` sums raw products instead of deviations (for `gram`).
    fn of(mut values: Vec<f64>, n: usize, raw: bool) -> Self {
        let k = values.len().checked_div(n).unwrap_or(0);
        let mut out = CoMoments::empty(k);
        if n == 0 {
            return out;
        }
        out.n = n as u64;
        if !raw {
            for (column, mean) in values.chunks_exact_mut(n).zip(&mut out.mean) {
                *mean = column.iter().sum::<f64>() / n as f64;
                column.iter_mut().for_each(|v| *v -= *mean);
            }
        }
        super::gemm::add_gram(&values, n, k, &mut out.m);
        out
    }

    /// Both sets of rows together; `raw` products simply add.
    fn merge(&self, other: &CoMoments, raw: bool) -> CoMoments {
        if other.n == 0 {
            return self.clone();
        }
        if self.n == 0 {
            return other.clone();
        }
        let k = self.mean.len();
        let n = self.n + other.n;
        if raw {
            let m = self.m.iter().zip(&other.m).map(|(a, b)| a + b).collect();
            return CoMoments { n, mean: self.mean.clone(), m };
        }
        let share = other.n as f64 / n as f64;
        let delta: Vec<f64> = other.mean.iter().zip(&self.mean).map(|(b, a)| b - a).collect();
        let mean = self.mean.iter().zip(&delta).map(|(a, d)| a + d * share).collect();
        let scale = self.n as f64 * share;
        let mut m = vec![0.0; k * k];
        for i in 0..k {
            for j in 0..k {
                m[i * k + j] = self.m[i * k + j] + other.m[i * k + j] + delta[i] * delta[j] * scale;
            }
        }
        CoMoments { n, mean, m }
    }
}

/// The `gram` / `cov` / `corr` sink.
pub struct MatrixSink {
    /// Which matrix.
    pub matrix: Matrix,
    /// The columns, in order (rows and columns of the output).
    pub columns: Vec<String>,
}

impl MatrixSink {
    /// The chunk's columns as floats, one after another, and the row
    /// count; rows with a null anywhere are left out.
    fn values(&self, df: &DataFrame) -> PolarsResult<(Vec<f64>, usize)> {
        let series: Vec<Series> = super::columns_in_order(df, &self.columns)?
            .into_iter()
            .map(|s| s.cast(&DataType::Float64))
            .collect::<PolarsResult<_>>()?;
        let mut keep: Option<BooleanChunked> = None;
        for s in &series {
            if s.null_count() > 0 {
                let valid = s.is_not_null();
                keep = Some(match keep {
                    Some(k) => &k & &valid,
                    None => valid,
                });
            }
        }
        let n = keep.as_ref().map_or(df.height(), |k| k.sum().unwrap_or(0) as usize);
        let mut values = Vec::with_capacity(n * series.len());
        for s in &series {
            let s = match &keep {
                Some(mask) => s.filter(mask)?,
                None => s.clone(),
            };
            for chunk in s.f64()?.downcast_iter() {
                values.extend_from_slice(chunk.values());
            }
        }
        Ok((values, n))
    }

    fn raw(&self) -> bool {
        self.matrix == Matrix::Gram
    }

    fn merged(&self, partials: &[DataFrame]) -> PolarsResult<CoMoments> {
        let k = self.columns.len();
        let mut acc = CoMoments::empty(k);
        for p in partials {
            acc = acc.merge(&from_frame(p, k)?, self.raw());
        }
        Ok(acc)
    }
}

/// A partial: k rows, columns `n`, `mean` and `m0` … `m{k-1}` (row i of the co-moments).
fn to_frame(c: &CoMoments) -> PolarsResult<DataFrame> {
    let k = c.mean.len();
    let mut columns = vec![
        UInt64Chunked::from_iter_values("n".into(), std::iter::repeat_n(c.n, k)).into_column(),
        Float64Chunked::from_vec("mean".into(), c.mean.clone()).into_column(),
    ];
    for j in 0..k {
        let col: Vec<f64> = (0..k).map(|i| c.m[i * k + j]).collect();
        columns.push(Float64Chunked::from_vec(format!("m{j}").into(), col).into_column());
    }
    DataFrame::new(columns)
}

fn from_frame(df: &DataFrame, k: usize) -> PolarsResult<CoMoments> {
    let n = df.column("n")?.u64()?.get(0).unwrap_or(0);
    let mean: Vec<f64> = df.column("mean")?.f64()?.into_no_null_iter().collect();
    let mut m = vec![0.0; k * k];
    for j in 0..k {
        for (i, v) in df.column(&format!("m{j}"))?.f64()?.into_no_null_iter().enumerate() {
            m[i * k + j] = v;
        }
    }
    Ok(CoMoments { n, mean, m })
}

impl Sink for MatrixSink {
    fn name(&self) -> &'static str {
        self.matrix.name()
    }

    fn describe(&self) -> String {
        format!("{} of {} column(s) (co-moments per chunk, merged)", self.matrix.name(), self.columns.len())
    }

    fn partial(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        let (values, n) = self.values(&df)?;
        to_frame(&CoMoments::of(values, n, self.raw()))
    }

    fn spill(&self) -> Spill {
        Spill::Compact
    }

    fn can_compact(&self) -> bool {
        true
    }

    fn compact(&self, partials: Vec<DataFrame>) -> PolarsResult<DataFrame> {
        to_frame(&self.merged(&partials)?)
    }

    fn finish(&self, partials: Vec<DataFrame>, _ctx: &ChunkCtx) -> PolarsResult<Vec<DataFrame>> {
        let c = self.merged(&partials)?;
        let k = self.columns.len();
        let entry = |i: usize, j: usize| -> Option<f64> {
            match self.matrix {
                Matrix::Gram => Some(c.m[i * k + j]),
                Matrix::Cov => (c.n > 1).then(|| c.m[i * k + j] / (c.n - 1) as f64),
                Matrix::Corr => (c.n > 1).then(|| c.m[i * k + j] / (c.m[i * k + i] * c.m[j * k + j]).sqrt()),
            }
        };
        let columns = self
            .columns
            .iter()
            .enumerate()
            .map(|(j, name)| Float64Chunked::from_iter_options(name.into(), (0..k).map(|i| entry(i, j))).into_column())
            .collect();
        Ok(vec![DataFrame::new(columns)?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_chunks_give_the_co_moments_of_the_whole() {
        let a: Vec<f64> = (0..100).map(|i| 1e9 + (i * 37 % 11) as f64).collect();
        let b: Vec<f64> = (0..100).map(|i| -5.0 + (i * 13 % 7) as f64 * 0.5).collect();
        for raw in [false, true] {
            let whole = CoMoments::of([a.clone(), b.clone()].concat(), 100, raw);
            let mut merged = CoMoments::empty(2);
            for s in (0..100).step_by(7) {
                let e = (s + 7).min(100);
                merged = merged.merge(&CoMoments::of([&a[s..e], &b[s..e]].concat(), e - s, raw), raw);
            }
            assert_eq!(merged.n, 100);
            for (x, y) in whole.m.iter().zip(&merged.m) {
                assert!((x - y).abs() <= 1e-9 * x.abs().max(1.0), "{raw}: {x} vs {y}");
            }
        }
    }
}
