//! `reduce … axis=1`: the statistics of each row across the columns, as
//! NumPy's `x.sum(axis=1)`. Values are folded column by column into per-row
//! accumulators, a tile of rows at a time: every inner loop is a straight
//! sweep over a slice (it vectorizes), and the accumulators of a tile stay
//! in cache however many columns there are. Only what the requested
//! statistics need is accumulated (no extremes for a sum, no second pass
//! without a variance).

use polars::prelude::*;
use polars_arrow::bitmap::Bitmap;

use super::reduce::Stat;
use crate::ops::{ChunkCtx, ChunkOp};

/// Rows folded together; their accumulators (a few arrays of this length)
/// fit in L1/L2 cache.
const TILE: usize = 2048;

/// `reduce … axis=1`: a streaming operator, one output row per input row.
pub struct RowReduce {
    /// The statistics, one output column each.
    pub stats: Vec<Stat>,
    /// The columns reduced.
    pub columns: Vec<String>,
    /// Whether every reduced column holds integers (exact sums and extremes).
    pub ints: bool,
}

impl ChunkOp for RowReduce {
    fn name(&self) -> &'static str {
        "reduce"
    }

    fn describe(&self) -> String {
        let stats: Vec<String> = self.stats.iter().map(|s| s.name()).collect();
        format!("reduce {} axis=1 over {} column(s)", stats.join(", "), self.columns.len())
    }

    fn apply(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        let target = if self.ints { DataType::Int64 } else { DataType::Float64 };
        let columns: Vec<Series> = super::columns_in_order(&df, &self.columns)?
            .into_iter()
            .map(|s| Ok(s.cast(&target)?.rechunk()))
            .collect::<PolarsResult<_>>()?;
        let out: Vec<Column> = if self.ints {
            let lanes: Vec<Lane<i64>> = columns.iter().map(|s| Ok(lane(s.i64()?))).collect::<PolarsResult<_>>()?;
            let rows = fold(&lanes, df.height(), self.needs());
            self.stats.iter().map(|&s| rows.column(s, s.integral(true), &lanes)).collect::<PolarsResult<_>>()?
        } else {
            let lanes: Vec<Lane<f64>> = columns.iter().map(|s| Ok(lane(s.f64()?))).collect::<PolarsResult<_>>()?;
            let rows = fold(&lanes, df.height(), self.needs());
            self.stats.iter().map(|&s| rows.column(s, s.integral(false), &lanes)).collect::<PolarsResult<_>>()?
        };
        DataFrame::new(out)
    }
}

impl RowReduce {
    fn needs(&self) -> Needs {
        let any = |wanted: &[Stat]| self.stats.iter().any(|s| wanted.contains(s));
        Needs {
            extremes: any(&[Stat::Min, Stat::Max]),
            spread: any(&[Stat::Var, Stat::Std, Stat::VarPop, Stat::StdPop]),
        }
    }
}

/// Which accumulators the statistics need beyond count and sum.
#[derive(Clone, Copy)]
struct Needs {
    extremes: bool,
    spread: bool,
}

/// One column's values and, when it has nulls, its validity.
struct Lane<'a, T> {
    values: &'a [T],
    valid: Option<&'a Bitmap>,
}

/// The lane of a single-chunk column.
fn lane<T: PolarsNumericType>(ca: &ChunkedArray<T>) -> Lane<'_, T::Native> {
    match ca.downcast_iter().next() {
        Some(a) => Lane { values: a.values().as_slice(), valid: a.validity().filter(|v| v.unset_bits() > 0) },
        None => Lane { values: &[], valid: None },
    }
}

/// A number type rows are folded over: its exact sum and its float view.
trait Number: Copy + PartialOrd {
    /// The exact running sum (i128 for integers).
    type Sum: Copy + Default + std::ops::AddAssign;
    fn widen(self) -> Self::Sum;
    fn float(self) -> f64;
    fn sum_float(sum: Self::Sum) -> f64;
    /// The exact sum as an i64, if it fits.
    fn sum_int(sum: Self::Sum) -> Option<i64>;
    /// The value as an i64 (only asked of integers).
    fn int(self) -> i64;
    const LOWEST: Self;
    const HIGHEST: Self;
    fn is_nan(self) -> bool;
}

impl Number for f64 {
    type Sum = f64;
    fn widen(self) -> f64 {
        self
    }
    fn float(self) -> f64 {
        self
    }
    fn sum_float(sum: f64) -> f64 {
        sum
    }
    fn sum_int(sum: f64) -> Option<i64> {
        Some(sum as i64)
    }
    fn int(self) -> i64 {
        self as i64
    }
    const LOWEST: f64 = f64::NEG_INFINITY;
    const HIGHEST: f64 = f64::INFINITY;
    fn is_nan(self) -> bool {
        self.is_nan()
    }
}

impl Number for i64 {
    type Sum = i128;
    fn widen(self) -> i128 {
        self as i128
    }
    fn float(self) -> f64 {
        self as f64
    }
    fn sum_float(sum: i128) -> f64 {
        sum as f64
    }
    fn sum_int(sum: i128) -> Option<i64> {
        i64::try_from(sum).ok()
    }
    fn int(self) -> i64 {
        self
    }
    const LOWEST: i64 = i64::MIN;
    const HIGHEST: i64 = i64::MAX;
    fn is_nan(self) -> bool {
        false
    }
}

/// The folded rows of a chunk.
struct Rows<N: Number> {
    count: Vec<u32>,
    sum: Vec<N::Sum>,
    min: Vec<N>,
    max: Vec<N>,
    nan: Vec<bool>,
    m2: Vec<f64>,
}

fn fold<N: Number>(lanes: &[Lane<N>], height: usize, needs: Needs) -> Rows<N> {
    let mut rows = Rows::<N> {
        count: vec![0; height],
        sum: vec![N::Sum::default(); height],
        min: if needs.extremes { vec![N::HIGHEST; height] } else { Vec::new() },
        max: if needs.extremes { vec![N::LOWEST; height] } else { Vec::new() },
        nan: if needs.extremes { vec![false; height] } else { Vec::new() },
        m2: if needs.spread { vec![0.0; height] } else { Vec::new() },
    };
    let mut mean = vec![0.0; TILE.min(height)];
    for start in (0..height).step_by(TILE) {
        let end = (start + TILE).min(height);
        let (count, sum) = (&mut rows.count[start..end], &mut rows.sum[start..end]);
        for lane in lanes {
            let values = &lane.values[start..end];
            match lane.valid {
                None => {
                    count.iter_mut().for_each(|c| *c += 1);
                    sum.iter_mut().zip(values).for_each(|(s, &v)| *s += v.widen());
                }
                Some(valid) => {
                    for (i, &v) in values.iter().enumerate() {
                        if valid.get_bit(start + i) {
                            count[i] += 1;
                            sum[i] += v.widen();
                        }
                    }
                }
            }
        }
        if needs.extremes {
            let (min, max, nan) = (&mut rows.min[start..end], &mut rows.max[start..end], &mut rows.nan[start..end]);
            for lane in lanes {
                for (i, &v) in lane.values[start..end].iter().enumerate() {
                    if lane.valid.is_none_or(|valid| valid.get_bit(start + i)) {
                        min[i] = if v < min[i] { v } else { min[i] };
                        max[i] = if v > max[i] { v } else { max[i] };
                        nan[i] |= v.is_nan();
                    }
                }
            }
        }
        if needs.spread {
            // Second pass over the tile: squared deviations from each row's
            // mean (exact for values with a large offset, where a sum of
            // squares would cancel).
            let mean = &mut mean[..end - start];
            for ((m, &s), &c) in mean.iter_mut().zip(sum.iter()).zip(count.iter()) {
                *m = N::sum_float(s) / c.max(1) as f64;
            }
            let m2 = &mut rows.m2[start..end];
            for lane in lanes {
                for (i, &v) in lane.values[start..end].iter().enumerate() {
                    if lane.valid.is_none_or(|valid| valid.get_bit(start + i)) {
                        let d = v.float() - mean[i];
                        m2[i] += d * d;
                    }
                }
            }
        }
    }
    rows
}

impl<N: Number> Rows<N> {
    /// The column of statistic `stat`: integers for [`Stat::integral`] ones.
    /// A median or percentile is selected from each row's values in `lanes`.
    fn column(&self, stat: Stat, integral: bool, lanes: &[Lane<N>]) -> PolarsResult<Column> {
        let name = stat.name().into();
        let n = self.count.len();
        let some = |r: usize| self.count[r] > 0;
        if integral {
            let values: Vec<Option<i64>> = match stat {
                Stat::Count => self.count.iter().map(|&c| Some(c as i64)).collect(),
                Stat::Sum => self
                    .sum
                    .iter()
                    .map(|&s| {
                        N::sum_int(s).map(Some).ok_or_else(|| {
                            polars_err!(ComputeError: "a row's sum {} does not fit a 64-bit integer; cast the columns to float first", N::sum_float(s))
                        })
                    })
                    .collect::<PolarsResult<_>>()?,
                Stat::Min => (0..n).map(|r| if some(r) { Some(self.min[r].int()) } else { None }).collect(),
                Stat::Max => (0..n).map(|r| if some(r) { Some(self.max[r].int()) } else { None }).collect(),
                _ => vec![None; n],
            };
            return Ok(Int64Chunked::from_iter_options(name, values.into_iter()).into_column());
        }
        if let Some(q) = stat.quantile() {
            return Ok(Float64Chunked::from_iter_options(name, row_quantiles(lanes, n, q).into_iter()).into_column());
        }
        let mean = |r: usize| N::sum_float(self.sum[r]) / self.count[r] as f64;
        let variance = |r: usize, ddof: u32| (self.count[r] > ddof).then(|| self.m2[r] / (self.count[r] - ddof) as f64);
        let extreme = |r: usize, v: N| some(r).then(|| if self.nan[r] { f64::NAN } else { v.float() });
        let values = (0..n).map(|r| match stat {
            Stat::Count => Some(self.count[r] as f64),
            Stat::Sum => Some(N::sum_float(self.sum[r])),
            Stat::Mean => some(r).then(|| mean(r)),
            Stat::Var => variance(r, 1),
            Stat::Std => variance(r, 1).map(f64::sqrt),
            Stat::VarPop => variance(r, 0),
            Stat::StdPop => variance(r, 0).map(f64::sqrt),
            Stat::Min => extreme(r, self.min[r]),
            Stat::Max => extreme(r, self.max[r]),
            Stat::Median | Stat::Percentile(_) => None,
        });
        Ok(Float64Chunked::from_iter_options(name, values).into_column())
    }
}

/// The `q` quantile of each row's values (nulls skipped).
fn row_quantiles<N: Number>(lanes: &[Lane<N>], height: usize, q: f64) -> Vec<Option<f64>> {
    let mut row = Vec::with_capacity(lanes.len());
    (0..height)
        .map(|r| {
            row.clear();
            for lane in lanes {
                if lane.valid.is_none_or(|valid| valid.get_bit(r)) {
                    row.push(lane.values[r].float());
                }
            }
            super::quantile::quantile(&mut row, q)
        })
        .collect()
}
