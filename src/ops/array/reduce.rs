//! `reduce`: statistics of numeric columns along an axis, the way NumPy
//! reduces a 2-D array — per column (axis 0: one partial of moments per
//! chunk, merged), per row (axis 1: `row_reduce.rs`) or over every
//! value (axis `all`). Partials hold one row per column, so a 10,000-column
//! array costs a dozen small columns per chunk, not 10,000 expressions.

use polars::prelude::*;
use rayon::prelude::*;

use super::moments::{IntMoments, Moments};
use crate::ops::{ChunkCtx, Sink, Spill};

/// A statistic `reduce` computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stat {
    /// Non-null values.
    Count,
    /// Sum (exact for integers).
    Sum,
    /// Mean.
    Mean,
    /// Sample variance (n − 1), as `agg var`.
    Var,
    /// Sample standard deviation (n − 1), as `agg std`.
    Std,
    /// Population variance (n), NumPy's default `var`.
    VarPop,
    /// Population standard deviation (n), NumPy's default `std`.
    StdPop,
    /// Smallest value (NaN if any value is NaN, as NumPy's `min`).
    Min,
    /// Largest value (NaN if any value is NaN).
    Max,
    /// Median, as `np.median` (holistic: the values are gathered).
    Median,
    /// A percentile 0–100, `pNN` in the language, as `np.percentile`
    /// (linear interpolation; holistic).
    Percentile(u8),
}

impl Stat {
    /// Every statistic with a fixed name in the language (besides `pNN`).
    pub const ALL: [(&'static str, Stat); 10] = [
        ("count", Stat::Count),
        ("sum", Stat::Sum),
        ("mean", Stat::Mean),
        ("var", Stat::Var),
        ("std", Stat::Std),
        ("var_pop", Stat::VarPop),
        ("std_pop", Stat::StdPop),
        ("min", Stat::Min),
        ("max", Stat::Max),
        ("median", Stat::Median),
    ];

    /// The statistic called `name`: one of [`Stat::ALL`] or `p0` … `p100`.
    pub fn parse(name: &str) -> Option<Stat> {
        if let Some(&(_, stat)) = Stat::ALL.iter().find(|(n, _)| *n == name) {
            return Some(stat);
        }
        let digits = name.strip_prefix('p')?;
        let valid = !digits.is_empty() && digits.len() <= 3 && digits.bytes().all(|b| b.is_ascii_digit());
        digits.parse::<u8>().ok().filter(|p| valid && *p <= 100).map(Stat::Percentile)
    }

    /// The statistic's name.
    pub fn name(self) -> String {
        match self {
            Stat::Percentile(p) => format!("p{p}"),
            _ => Stat::ALL.iter().find(|(_, s)| *s == self).map_or("?", |(n, _)| n).to_string(),
        }
    }

    /// The quantile (0–1) of a holistic statistic.
    pub fn quantile(self) -> Option<f64> {
        match self {
            Stat::Median => Some(0.5),
            Stat::Percentile(p) => Some(f64::from(p) / 100.0),
            _ => None,
        }
    }

    /// Whether the statistic of integers is an integer (count, sum, min, max).
    pub fn integral(self, ints: bool) -> bool {
        self == Stat::Count || (ints && matches!(self, Stat::Sum | Stat::Min | Stat::Max))
    }
}

/// Along which axis `reduce` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Axis 0: one value per column (a row per statistic).
    Columns,
    /// Axis 1: one value per row (a column per statistic).
    Rows,
    /// Every value of every column (one row, a column per statistic).
    All,
}

/// Whether a column is read as integers (exact sums) rather than floats.
fn is_int(dtype: &DataType) -> bool {
    (dtype.is_integer() && *dtype != DataType::UInt64) || *dtype == DataType::Boolean
}

/// The moments of one column of a chunk (nulls skipped).
fn column_moments(s: &Series) -> PolarsResult<Moments> {
    if is_int(s.dtype()) {
        let s = s.cast(&DataType::Int64)?;
        let ca = s.i64()?;
        return Ok(match ca.cont_slice() {
            Ok(values) => Moments::of_ints(values),
            Err(_) => Moments::of_ints(&ca.iter().flatten().collect::<Vec<_>>()),
        });
    }
    let s = s.cast(&DataType::Float64)?;
    let ca = s.f64()?;
    Ok(match ca.cont_slice() {
        Ok(values) => Moments::of_floats(values),
        Err(_) => Moments::of_floats(&ca.iter().flatten().collect::<Vec<_>>()),
    })
}

/// A statistic of some moments (or, for a median or percentile, the
/// quantile `q` computed from the values), as an integer (for
/// [`Stat::integral`] ones) or a float; `None` when there is no value (no
/// rows, too few for a variance).
enum Value {
    Int(Option<i64>),
    Float(Option<f64>),
}

fn value(stat: Stat, m: &Moments, integral: bool, q: Option<f64>) -> PolarsResult<Value> {
    let some = m.n > 0;
    if integral {
        let i = m.ints.unwrap_or(IntMoments { sum: 0, min: 0, max: 0 });
        return Ok(Value::Int(match stat {
            Stat::Count => Some(m.n as i64),
            Stat::Sum => Some(i64::try_from(i.sum).map_err(|_| {
                polars_err!(ComputeError: "the sum {} does not fit a 64-bit integer; cast the column to float first", i.sum)
            })?),
            Stat::Min => some.then_some(i.min),
            Stat::Max => some.then_some(i.max),
            _ => None,
        }));
    }
    let extreme = |v: f64| if m.nan { f64::NAN } else { v };
    Ok(Value::Float(match stat {
        Stat::Count => Some(m.n as f64),
        Stat::Sum => Some(m.ints.map_or(m.sum, |i| i.sum as f64)),
        Stat::Mean => some.then(|| m.ints.map_or(m.mean, |i| i.sum as f64 / m.n as f64)),
        Stat::Var => m.variance(1),
        Stat::Std => m.variance(1).map(f64::sqrt),
        Stat::VarPop => m.variance(0),
        Stat::StdPop => m.variance(0).map(f64::sqrt),
        Stat::Min => some.then(|| extreme(m.ints.map_or(m.min, |i| i.min as f64))),
        Stat::Max => some.then(|| extreme(m.ints.map_or(m.max, |i| i.max as f64))),
        Stat::Median | Stat::Percentile(_) => q,
    }))
}

/// A column named `name` of `values` (all of one kind).
fn column_of(name: &str, values: Vec<Value>, integral: bool) -> Column {
    if integral {
        let v: Vec<Option<i64>> = values.into_iter().map(|v| if let Value::Int(i) = v { i } else { None }).collect();
        Int64Chunked::from_iter_options(name.into(), v.into_iter()).into_column()
    } else {
        let v: Vec<Option<f64>> = values.into_iter().map(|v| if let Value::Float(f) = v { f } else { None }).collect();
        Float64Chunked::from_iter_options(name.into(), v.into_iter()).into_column()
    }
}

/// Moments as a partial frame, one row per entry.
fn to_frame(moments: &[Moments]) -> PolarsResult<DataFrame> {
    let f = |get: fn(&Moments) -> f64| Float64Chunked::from_iter_values("".into(), moments.iter().map(get));
    let i = |get: fn(&IntMoments) -> i64| {
        Int64Chunked::from_iter_options("".into(), moments.iter().map(|m| m.ints.as_ref().map(get)))
    };
    DataFrame::new(vec![
        UInt64Chunked::from_iter_values("n".into(), moments.iter().map(|m| m.n)).into_column(),
        f(|m| m.mean).with_name("mean".into()).into_column(),
        f(|m| m.m2).with_name("m2".into()).into_column(),
        f(|m| m.sum).with_name("sum".into()).into_column(),
        f(|m| m.min).with_name("min".into()).into_column(),
        f(|m| m.max).with_name("max".into()).into_column(),
        BooleanChunked::from_iter_values("nan".into(), moments.iter().map(|m| m.nan)).into_column(),
        // The exact integer sum as high and low 64 bits.
        i(|m| (m.sum >> 64) as i64).with_name("sum_hi".into()).into_column(),
        i(|m| m.sum as u64 as i64).with_name("sum_lo".into()).into_column(),
        i(|m| m.min).with_name("imin".into()).into_column(),
        i(|m| m.max).with_name("imax".into()).into_column(),
    ])
}

/// Moments back from a partial frame.
fn from_frame(df: &DataFrame) -> PolarsResult<Vec<Moments>> {
    let f = |name: &str| -> PolarsResult<Vec<f64>> { Ok(df.column(name)?.f64()?.into_no_null_iter().collect()) };
    let i = |name: &str| -> PolarsResult<Vec<Option<i64>>> { Ok(df.column(name)?.i64()?.iter().collect()) };
    let n: Vec<u64> = df.column("n")?.u64()?.into_no_null_iter().collect();
    let (mean, m2, sum, min, max) = (f("mean")?, f("m2")?, f("sum")?, f("min")?, f("max")?);
    let nan: Vec<bool> = df.column("nan")?.bool()?.into_no_null_iter().collect();
    let (hi, lo, imin, imax) = (i("sum_hi")?, i("sum_lo")?, i("imin")?, i("imax")?);
    Ok((0..df.height())
        .map(|r| Moments {
            n: n[r],
            mean: mean[r],
            m2: m2[r],
            sum: sum[r],
            min: min[r],
            max: max[r],
            nan: nan[r],
            ints: match (hi[r], lo[r], imin[r], imax[r]) {
                (Some(h), Some(l), Some(a), Some(b)) => {
                    Some(IntMoments { sum: ((h as i128) << 64) | (l as u64 as i128), min: a, max: b })
                }
                _ => None,
            },
        })
        .collect())
}

/// `reduce` per column or over everything: a blocking sink.
pub struct ColumnReduce {
    /// The statistics, in output order.
    pub stats: Vec<Stat>,
    /// The columns reduced.
    pub columns: Vec<String>,
    /// [`Axis::Columns`] or [`Axis::All`].
    pub axis: Axis,
    /// Whether every reduced column holds integers.
    pub ints: bool,
}

impl ColumnReduce {
    fn moments(&self, df: &DataFrame) -> PolarsResult<Vec<Moments>> {
        let per_column = super::columns_in_order(df, &self.columns)?
            .into_iter()
            .map(column_moments)
            .collect::<PolarsResult<Vec<_>>>()?;
        Ok(match self.axis {
            Axis::All => vec![per_column.iter().fold(Moments::empty(self.ints), |a, b| a.merge(b))],
            _ => per_column,
        })
    }

    /// Whether a median or percentile is asked for: then every value is
    /// gathered (NumPy, Dask and DuckDB hold a column whole for a median
    /// too), and the other statistics come from the same values.
    fn holistic(&self) -> bool {
        self.stats.iter().any(|s| s.quantile().is_some())
    }

    fn merged(&self, partials: &[DataFrame]) -> PolarsResult<Vec<Moments>> {
        let width = if self.axis == Axis::All { 1 } else { self.columns.len() };
        let mut out = vec![Moments::empty(self.ints); width];
        for p in partials {
            for (acc, m) in out.iter_mut().zip(from_frame(p)?) {
                *acc = acc.merge(&m);
            }
        }
        Ok(out)
    }

    /// Moments and the quantiles of each statistic (None for the others)
    /// per column, or over everything, from the gathered values.
    fn of_gathered(&self, partials: Vec<DataFrame>) -> PolarsResult<Vec<(Moments, Vec<Option<f64>>)>> {
        let quantiles = |values: &mut Vec<f64>| -> Vec<Option<f64>> {
            self.stats.iter().map(|s| s.quantile().and_then(|q| super::quantile::quantile(values, q))).collect()
        };
        // Column j of every partial (each partial holds the reduced columns
        // in order): its moments merged, its values in one buffer. No
        // frame is stacked or rechunked, so the values are copied once.
        let gather = |columns: &[usize]| -> PolarsResult<(Moments, Vec<f64>)> {
            let mut m = Moments::empty(self.ints);
            let mut values = Vec::new();
            for p in &partials {
                for &j in columns {
                    let s = p.get_columns()[j].as_materialized_series();
                    m = m.merge(&column_moments(s)?);
                    extend_floats(&mut values, s)?;
                }
            }
            Ok((m, values))
        };
        let width = self.columns.len();
        if self.axis == Axis::All {
            let (m, mut values) = gather(&(0..width).collect::<Vec<_>>())?;
            return Ok(vec![(m, quantiles(&mut values))]);
        }
        (0..width)
            .into_par_iter()
            .map(|j| {
                let (m, mut values) = gather(&[j])?;
                Ok((m, quantiles(&mut values)))
            })
            .collect()
    }
}

/// Appends the valid values of `s` as floats.
fn extend_floats(values: &mut Vec<f64>, s: &Series) -> PolarsResult<()> {
    let s = s.cast(&DataType::Float64)?;
    for chunk in s.f64()?.downcast_iter() {
        if polars_arrow::array::Array::null_count(chunk) == 0 {
            values.extend_from_slice(chunk.values());
        } else {
            values.extend(chunk.iter().flatten().copied());
        }
    }
    Ok(())
}

impl Sink for ColumnReduce {
    fn name(&self) -> &'static str {
        "reduce"
    }

    fn describe(&self) -> String {
        let stats: Vec<String> = self.stats.iter().map(|s| s.name()).collect();
        let axis = if self.axis == Axis::All { "all" } else { "0" };
        let how = if self.holistic() { "values gathered, quantiles selected" } else { "moments per chunk, merged" };
        format!("reduce {} axis={axis} over {} column(s) ({how})", stats.join(", "), self.columns.len())
    }

    fn partial(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        if self.holistic() {
            // The values themselves, integers kept exact for sums.
            let target = if self.ints { DataType::Int64 } else { DataType::Float64 };
            let columns = super::columns_in_order(&df, &self.columns)?
                .into_iter()
                .map(|s| Ok(s.cast(&target)?.into_column()))
                .collect::<PolarsResult<Vec<_>>>()?;
            return DataFrame::new(columns);
        }
        to_frame(&self.moments(&df)?)
    }

    fn spill(&self) -> Spill {
        if self.holistic() {
            Spill::InMemory
        } else {
            Spill::Compact
        }
    }

    fn can_compact(&self) -> bool {
        !self.holistic()
    }

    fn compact(&self, partials: Vec<DataFrame>) -> PolarsResult<DataFrame> {
        to_frame(&self.merged(&partials)?)
    }

    fn finish(&self, partials: Vec<DataFrame>, _ctx: &ChunkCtx) -> PolarsResult<Vec<DataFrame>> {
        let merged: Vec<(Moments, Vec<Option<f64>>)> = if self.holistic() {
            self.of_gathered(partials)?
        } else {
            self.merged(&partials)?.into_iter().map(|m| (m, vec![None; self.stats.len()])).collect()
        };
        let df = match self.axis {
            Axis::All => {
                let (m, q) =
                    merged.into_iter().next().unwrap_or((Moments::empty(self.ints), vec![None; self.stats.len()]));
                let columns = self
                    .stats
                    .iter()
                    .zip(q)
                    .map(|(&s, q)| {
                        let integral = s.integral(self.ints);
                        Ok(column_of(&s.name(), vec![value(s, &m, integral, q)?], integral))
                    })
                    .collect::<PolarsResult<Vec<_>>>()?;
                DataFrame::new(columns)?
            }
            _ => {
                let integral = self.stats.iter().all(|s| s.integral(self.ints));
                let mut columns =
                    vec![StringChunked::from_iter_values("stat".into(), self.stats.iter().map(|s| s.name()))
                        .into_column()];
                for (name, (m, q)) in self.columns.iter().zip(&merged) {
                    let values = self
                        .stats
                        .iter()
                        .zip(q)
                        .map(|(&s, &q)| value(s, m, integral, q))
                        .collect::<PolarsResult<_>>()?;
                    columns.push(column_of(name, values, integral));
                }
                DataFrame::new(columns)?
            }
        };
        Ok(vec![df])
    }
}
