//! Hash aggregation, Dask style.
//!
//! Two-phase when every aggregate decomposes (count, sum, mean, min, max,
//! std, var, first, last):
//!
//! ```text
//!  chunk ─▶ partials by keys ─┐
//!  chunk ─▶ partials by keys ─┼─▶ concat ─▶ merge by keys (one row per group) ─▶ finish row by row
//!  chunk ─▶ partials by keys ─┘
//! ```
//!
//! Partials and merges run on dq's own kernel ([`accumulate`]) where the
//! key and value types allow, else as polars group-bys with the same
//! columns; without keys, the merge is one polars aggregate row.
//!
//! `mean` carries (sum, count); `std`/`var` carry (count, mean, M2) and
//! combine with Chan et al.'s parallel formula, which stays accurate where
//! sum-of-squares cancels. Holistic aggregates (median, quantile,
//! n_unique, approx_n_unique) need all values of a group, so with any of
//! them each chunk only projects keys and arguments, and the aggregation
//! runs once over the gathered columns ([`holistic`]: medians and
//! quantiles quick-selected per group, the rest folded by group ids).
//!
//! Lanes: where dq's kernel handles the types (and no `first`/`last`
//! needs the chunks' order), each thread keeps one partial aggregate across
//! all the chunks it folds ([`lane`]), so a row is grouped once in a table
//! that already holds its group, and the merge sees one partial per thread
//! instead of one per chunk. The executor charges what the lanes hold and
//! takes them out as partials when the budget runs short and at the end.
//!
//! Adaptive: when a chunk's rows nearly all make new groups (keys nearly
//! unique, e.g. h2o q10), grouping per chunk only costs time, so later
//! chunks skip it and emit each row in partial form (count 1, sum x, ...)
//! for the merge to aggregate once.
//!
//! SQL semantics: aggregates skip nulls; `sum`/`mean` of no values is null;
//! null keys form their own group.

mod accumulate;
mod collection;
mod holistic;
#[cfg(test)]
mod kernel_tests;
mod lane;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use polars::prelude::*;

use super::{concat, run_lazy, select_rows, ChunkCtx, Sink, Spill};
use crate::io::KeyDictionary;
use lane::Lane;

/// Which aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum AggKind {
    /// `count()`: rows.
    CountRows,
    /// `count(x)`: non-null values.
    Count,
    Sum,
    Mean,
    Min,
    Max,
    Std,
    Var,
    /// Population standard deviation (n, NumPy's default).
    StdPop,
    /// Population variance (n).
    VarPop,
    Median,
    Quantile,
    NUnique,
    ApproxNUnique,
    First,
    Last,
    /// `corr(x, y)`: Pearson correlation of the pairs where both are non-null.
    Corr,
    /// `cov(x, y)`: sample covariance of the pairs where both are non-null.
    Cov,
    /// `string_agg(s, sep)`: the non-null values joined, in input order.
    StringAgg,
    /// `list(x)`: every value (nulls too), in input order.
    List,
    /// `mode(x)`: the most frequent non-null value, the smallest on a tie.
    Mode,
}

impl AggKind {
    /// Aggregates that need every value of a group at once (no partial form).
    pub fn is_holistic(self) -> bool {
        self.collects()
            || matches!(self, AggKind::Median | AggKind::Quantile | AggKind::NUnique | AggKind::ApproxNUnique)
    }

    /// Aggregates finished from the list of each group's values ([`collection`]).
    pub fn collects(self) -> bool {
        matches!(self, AggKind::StringAgg | AggKind::List | AggKind::Mode)
    }
}

/// One aggregate output.
#[derive(Clone)]
pub struct AggSpec {
    /// Output column name.
    pub name: String,
    /// The aggregate.
    pub kind: AggKind,
    /// Its argument (None for `count()`).
    pub arg: Option<Expr>,
    /// The second argument of `corr` and `cov`.
    pub arg2: Option<Expr>,
    /// Quantile for [`AggKind::Quantile`].
    pub quantile: f64,
    /// Separator for [`AggKind::StringAgg`].
    pub separator: String,
    /// The output type.
    pub dtype: DataType,
    /// dq text for explain.
    pub label: String,
}

impl AggSpec {
    /// An integer `sum`: polars' sum wraps around, so a float sum is
    /// carried beside it to detect overflow ([`check_overflow`]).
    fn is_int_sum(&self) -> bool {
        self.kind == AggKind::Sum && self.dtype.is_integer()
    }
}

/// Float sums at or beyond this are taken as overflowing 64 bits. A float
/// sum is within a few ulps per addition of the exact one, so the margin
/// (one part in a million below 2^63) leaves no wrapped result unreported;
/// an exact sum inside the margin is reported as an overflow too.
const OVERFLOW_BOUND: f64 = 9_223_372_036_854_775_808.0 * (1.0 - 1e-6);

fn check_name(i: usize) -> String {
    format!("__dq_overflow{i}")
}

/// The aggregation sink.
pub struct HashAggregate {
    keys: Vec<(String, Expr)>,
    aggs: Vec<AggSpec>,
    /// Arguments that are not a plain column (`count(1)`, `max("x")`,
    /// `min(substr(s, 0, 1))`), computed over each chunk as columns first: a
    /// bare literal is one value, not one per row, and polars 0.46 evaluates
    /// some functions of literals wrongly inside a group-by (`str.slice`
    /// with literal bounds fails there). Aggregates then read plain columns.
    computed: Vec<Expr>,
    two_phase: bool,
    /// Set once a chunk showed that per-chunk grouping does not reduce.
    rowwise: AtomicBool,
    /// String keys that may arrive as dictionary ids (`UInt32`; see
    /// [`KeyDictionary`]): grouped as ids, turned back into strings in the
    /// partial's groups (or in every row where rows are not grouped).
    dictionaries: Vec<(String, Arc<KeyDictionary>)>,
    /// Whether chunks may be folded into per-thread lanes ([`lane`]):
    /// two-phase, with keys, no `first`/`last`.
    folds_in_lanes: bool,
    /// The lanes' state, by lane (taken out while a chunk folds in).
    lanes: Mutex<Vec<Option<Lane>>>,
}

/// A key column as strings: dictionary ids (`UInt32`) decoded by `dict`,
/// strings as they are.
fn decode_ids(dict: &KeyDictionary, key: Column) -> PolarsResult<Column> {
    match key.dtype() {
        DataType::UInt32 => dict.decode(&key),
        _ => Ok(key),
    }
}

/// Chunks smaller than this never switch the aggregate to row-wise partials.
const ADAPT_MIN_ROWS: usize = 50_000;

fn arg_name(i: usize) -> String {
    format!("__dq_a{i}")
}

fn arg2_name(i: usize) -> String {
    format!("__dq_b{i}")
}

fn const_name(i: usize, which: char) -> String {
    format!("__dq_c{i}{which}")
}

/// The parts of an aggregate's partial form, in column order (the same
/// in [`HashAggregate::partial_exprs`], [`HashAggregate::rowwise_exprs`],
/// [`HashAggregate::merge_exprs`] and [`accumulate`]).
fn parts(a: &AggSpec) -> &'static [&'static str] {
    match a.kind {
        AggKind::CountRows | AggKind::Count => &["n"],
        AggKind::Sum if a.is_int_sum() => &["s", "n", "f"],
        AggKind::Sum | AggKind::Mean => &["s", "n"],
        AggKind::Min | AggKind::Max | AggKind::First | AggKind::Last => &["v"],
        AggKind::Std | AggKind::Var | AggKind::StdPop | AggKind::VarPop => &["n", "mean", "m2"],
        AggKind::Corr | AggKind::Cov => &["n", "mx", "my", "m2x", "m2y", "c"],
        _ => &[],
    }
}

fn p(i: usize, part: &str) -> String {
    format!("__dq_p{i}_{part}")
}

fn pcol(i: usize, part: &str) -> Expr {
    col(p(i, part).as_str())
}

/// `x` and `y` as floats where both are non-null, else null (pairs only).
fn pair(x: Expr, y: Expr) -> (Expr, Expr, Expr) {
    let both = x.clone().is_not_null().and(y.clone().is_not_null());
    let xm = when(both.clone()).then(x.cast(DataType::Float64)).otherwise(lit(Null {}));
    let ym = when(both.clone()).then(y.cast(DataType::Float64)).otherwise(lit(Null {}));
    (xm, ym, both)
}

/// `value`, or 0.0 for a group with no values (a partial mean of nothing).
fn zero_if_empty(n: Expr, value: Expr) -> Expr {
    when(n.eq(lit(0.0))).then(lit(0.0)).otherwise(value)
}

fn null_if(cond: Expr, value: Expr) -> Expr {
    when(cond).then(lit(Null {})).otherwise(value)
}

/// Aggregate `i` finished from its merged partial form (and, for an
/// integer sum, its float twin for [`HashAggregate::check_overflow`]).
fn final_expr(i: usize, a: &AggSpec) -> Vec<Expr> {
    let n = || pcol(i, "n");
    let e = match a.kind {
        AggKind::CountRows | AggKind::Count => n(),
        AggKind::Sum => null_if(n().eq(lit(0)), pcol(i, "s")),
        AggKind::Mean => null_if(n().eq(lit(0)), pcol(i, "s") / n().cast(DataType::Float64)),
        AggKind::Min | AggKind::Max | AggKind::First | AggKind::Last => pcol(i, "v"),
        AggKind::Std | AggKind::Var | AggKind::StdPop | AggKind::VarPop => {
            let var = if matches!(a.kind, AggKind::Std | AggKind::Var) {
                null_if(n().lt_eq(lit(1.0)), pcol(i, "m2") / (n() - lit(1.0)))
            } else {
                null_if(n().lt_eq(lit(0.0)), pcol(i, "m2") / n())
            };
            if matches!(a.kind, AggKind::Std | AggKind::StdPop) {
                var.sqrt()
            } else {
                var
            }
        }
        AggKind::Cov => null_if(n().lt_eq(lit(1.0)), pcol(i, "c") / (n() - lit(1.0))),
        AggKind::Corr => {
            let denom = (pcol(i, "m2x") * pcol(i, "m2y")).sqrt();
            null_if(n().lt_eq(lit(1.0)).or(denom.clone().eq(lit(0.0))), pcol(i, "c") / denom)
        }
        // Computed whole by the holistic kernel, under the output's name.
        AggKind::Median | AggKind::Quantile | AggKind::NUnique => col(a.name.as_str()),
        AggKind::ApproxNUnique => unreachable!("approx_n_unique is aggregated by polars"),
        AggKind::StringAgg | AggKind::List | AggKind::Mode => unreachable!("collections are aggregated by polars"),
    };
    let mut out = vec![e.cast(a.dtype.clone()).alias(a.name.as_str())];
    if a.is_int_sum() {
        out.push(pcol(i, "f").alias(check_name(i)));
    }
    out
}

impl HashAggregate {
    /// Groups by `keys` (name, expression) and computes `aggs`.
    pub fn new(keys: Vec<(String, Expr)>, mut aggs: Vec<AggSpec>) -> Self {
        let two_phase = !aggs.iter().any(|a| a.kind.is_holistic());
        let mut computed = Vec::new();
        let is_column = |e: &Expr| matches!(e, Expr::Column(_));
        for (i, a) in aggs.iter_mut().enumerate() {
            if let Some(x) = a.arg.take_if(|x| !is_column(x)) {
                computed.push(x.alias(const_name(i, 'a')));
                a.arg = Some(col(const_name(i, 'a')));
            }
            if let Some(y) = a.arg2.take_if(|y| !is_column(y)) {
                computed.push(y.alias(const_name(i, 'b')));
                a.arg2 = Some(col(const_name(i, 'b')));
            }
        }
        let folds_in_lanes = two_phase && !keys.is_empty() && Lane::folds(&aggs);
        HashAggregate {
            keys,
            aggs,
            computed,
            two_phase,
            rowwise: AtomicBool::new(false),
            dictionaries: vec![],
            folds_in_lanes,
            lanes: Mutex::new(Vec::new()),
        }
    }

    /// Key columns that may arrive as ids of these dictionaries.
    pub fn with_dictionaries(mut self, dictionaries: Vec<(String, Arc<KeyDictionary>)>) -> Self {
        self.dictionaries = dictionaries;
        self
    }

    /// `df` with every key that came as dictionary ids turned back into strings.
    fn decoded(&self, mut df: DataFrame) -> PolarsResult<DataFrame> {
        for (name, dict) in &self.dictionaries {
            if let Ok(key) = df.column(name) {
                let strings = decode_ids(dict, key.clone())?;
                df.with_column(strings)?;
            }
        }
        Ok(df)
    }

    fn key_cols(&self) -> Vec<Expr> {
        self.keys.iter().map(|(n, _)| col(n.as_str())).collect()
    }

    /// The keys as strings whether a frame holds them as strings or as
    /// dictionary ids: gathered rows (holistic aggregates) keep their ids,
    /// and a value must land in the same spill part either way.
    fn decoded_key_cols(&self) -> Vec<Expr> {
        self.keys
            .iter()
            .map(|(n, _)| match self.dictionaries.iter().find(|(d, _)| d == n) {
                Some((_, dict)) => {
                    let dict = dict.clone();
                    let decode = move |c: Column| decode_ids(&dict, c).map(Some);
                    col(n.as_str()).map(decode, GetOutput::from_type(DataType::String))
                }
                None => col(n.as_str()),
            })
            .collect()
    }

    /// Gathered frames whose keys all came either as ids or as strings: a
    /// key that came both ways (a row group read as strings, another as
    /// ids) is turned back into strings in every frame.
    fn same_key_types(&self, frames: Vec<DataFrame>) -> PolarsResult<Vec<DataFrame>> {
        let mixed = self.dictionaries.iter().any(|(name, _)| {
            let is_ids = |df: &DataFrame| df.column(name).is_ok_and(|c| c.dtype() == &DataType::UInt32);
            frames.iter().any(is_ids) && !frames.iter().all(is_ids)
        });
        if !mixed {
            return Ok(frames);
        }
        frames.into_iter().map(|df| self.decoded(df)).collect()
    }

    /// Runs `aggs` grouped by the keys (or globally when there are none).
    fn group(&self, df: DataFrame, aggs: Vec<Expr>) -> PolarsResult<DataFrame> {
        let keys = self.key_cols();
        if keys.is_empty() {
            run_lazy(df, |lf| lf.select(aggs))
        } else {
            run_lazy(df, |lf| lf.group_by(keys).agg(aggs))
        }
    }

    fn key_names(&self) -> Vec<&str> {
        self.keys.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The lanes, locked (a lane is taken out while it folds a chunk, so no
    /// lock is held during the work).
    fn lanes(&self) -> std::sync::MutexGuard<'_, Vec<Option<Lane>>> {
        self.lanes.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Folds a keyed chunk into lane `at`: a frame without columns when the
    /// lane holds it, the lane's partial when it is given out (see below),
    /// `None` when the lane does not take the chunk's types (the chunk is
    /// then aggregated on its own).
    fn fold_into_lane(&self, keyed: &DataFrame, at: usize) -> PolarsResult<Option<DataFrame>> {
        let keys = self.key_names();
        let taken = self.lanes().get_mut(at).and_then(Option::take);
        let mut lane = match taken.or_else(|| Lane::new(keyed, &keys, &self.aggs)) {
            Some(lane) => lane,
            None => return Ok(None),
        };
        let folded = lane.fold(keyed, &keys, &self.aggs);
        // Nearly every row a new group: the keys are nearly unique (h2o
        // q10), a lane would hold every row, and later chunks go row-wise
        // (see `rowwise`). A lower share only says that the groups are many
        // beside the rows seen so far (1M groups of 100M rows: 85% of a
        // first chunk's rows are new): the lane reduces over the chunks
        // that follow, where a chunk's own partial would not.
        if folded.is_some() && lane.rows >= ADAPT_MIN_ROWS && lane.groups() * 10 > lane.rows * 9 {
            self.rowwise.store(true, Ordering::Relaxed);
            // Nothing more folds into it: given out now, its tables (100 MB
            // for h2o q10's first chunk) not held to the end of the pass.
            folded.unwrap_or(Ok(()))?;
            return Ok(Some(self.decoded(lane.into_frame(&keys, &self.aggs)?)?));
        }
        let mut lanes = self.lanes();
        if lanes.len() <= at {
            lanes.resize_with(at + 1, || None);
        }
        lanes[at] = Some(lane);
        match folded {
            Some(result) => result.map(|()| Some(DataFrame::empty())),
            None => Ok(None),
        }
    }

    /// The partial aggregate of one keyed chunk: dq's own kernel where it
    /// handles the key and argument types, else polars.
    fn grouped_partial(&self, keyed: DataFrame) -> PolarsResult<DataFrame> {
        let keys = self.key_names();
        match accumulate::partial(&keyed, &keys, &self.aggs) {
            Some(out) => out,
            None => self.group(keyed, self.partial_exprs()),
        }
    }

    /// Partials merged to one row per group, in the partial form: dq's
    /// kernel where it handles the types, else polars.
    fn merged(&self, partials: DataFrame) -> PolarsResult<DataFrame> {
        let keys = self.key_names();
        match accumulate::merge(&partials, &keys, &self.aggs) {
            Some(out) => out,
            None => self.group(partials, self.merge_exprs()),
        }
    }

    /// Per-chunk partial aggregates (two-phase).
    fn partial_exprs(&self) -> Vec<Expr> {
        let mut out = Vec::new();
        for (i, a) in self.aggs.iter().enumerate() {
            let x = || a.arg.clone().unwrap_or_else(|| lit(1));
            let f = || x().cast(DataType::Float64);
            match a.kind {
                AggKind::CountRows => out.push(len().cast(DataType::Int64).alias(p(i, "n"))),
                AggKind::Count => out.push(x().count().cast(DataType::Int64).alias(p(i, "n"))),
                AggKind::Sum => {
                    out.push(x().sum().cast(a.dtype.clone()).alias(p(i, "s")));
                    out.push(x().count().cast(DataType::Int64).alias(p(i, "n")));
                    if a.is_int_sum() {
                        out.push(f().sum().alias(p(i, "f")));
                    }
                }
                AggKind::Mean => {
                    out.push(f().sum().alias(p(i, "s")));
                    out.push(x().count().cast(DataType::Int64).alias(p(i, "n")));
                }
                AggKind::Min => out.push(x().min().alias(p(i, "v"))),
                AggKind::Max => out.push(x().max().alias(p(i, "v"))),
                AggKind::First => out.push(x().first().alias(p(i, "v"))),
                AggKind::Last => out.push(x().last().alias(p(i, "v"))),
                AggKind::Std | AggKind::Var | AggKind::StdPop | AggKind::VarPop => {
                    let n = x().count().cast(DataType::Float64);
                    out.push(n.clone().alias(p(i, "n")));
                    out.push(f().mean().fill_null(lit(0.0)).alias(p(i, "mean")));
                    out.push((f().var(0).fill_null(lit(0.0)) * n).alias(p(i, "m2")));
                }
                AggKind::Corr | AggKind::Cov => {
                    let (xm, ym, both) = pair(x(), a.arg2.clone().unwrap_or_else(|| lit(1)));
                    let n = both.cast(DataType::Float64).sum();
                    out.push(n.clone().alias(p(i, "n")));
                    out.push(xm.clone().mean().fill_null(lit(0.0)).alias(p(i, "mx")));
                    out.push(ym.clone().mean().fill_null(lit(0.0)).alias(p(i, "my")));
                    out.push((xm.clone().var(0).fill_null(lit(0.0)) * n.clone()).alias(p(i, "m2x")));
                    out.push((ym.clone().var(0).fill_null(lit(0.0)) * n).alias(p(i, "m2y")));
                    let c = ((xm.clone() - xm.mean()) * (ym.clone() - ym.mean())).sum().fill_null(lit(0.0));
                    out.push(c.alias(p(i, "c")));
                }
                _ => unreachable!("holistic aggregates are never two-phase"),
            }
        }
        out
    }

    /// Each row in the partial form of a one-row group (same columns and
    /// types as [`Self::partial_exprs`]).
    fn rowwise_exprs(&self) -> Vec<Expr> {
        let mut out: Vec<Expr> = self.key_cols();
        for (i, a) in self.aggs.iter().enumerate() {
            let x = || a.arg.clone().unwrap_or_else(|| lit(1));
            let n = || x().is_not_null().cast(DataType::Int64);
            let f = || x().cast(DataType::Float64);
            match a.kind {
                AggKind::CountRows => out.push(lit(1i64).cast(DataType::Int64).alias(p(i, "n"))),
                AggKind::Count => out.push(n().alias(p(i, "n"))),
                AggKind::Sum => {
                    out.push(x().cast(a.dtype.clone()).alias(p(i, "s")));
                    out.push(n().alias(p(i, "n")));
                    if a.is_int_sum() {
                        out.push(f().alias(p(i, "f")));
                    }
                }
                AggKind::Mean => {
                    out.push(f().alias(p(i, "s")));
                    out.push(n().alias(p(i, "n")));
                }
                AggKind::Min | AggKind::Max | AggKind::First | AggKind::Last => out.push(x().alias(p(i, "v"))),
                AggKind::Std | AggKind::Var | AggKind::StdPop | AggKind::VarPop => {
                    out.push(n().cast(DataType::Float64).alias(p(i, "n")));
                    out.push(f().fill_null(lit(0.0)).alias(p(i, "mean")));
                    out.push(lit(0.0).alias(p(i, "m2")));
                }
                AggKind::Corr | AggKind::Cov => {
                    let (xm, ym, both) = pair(x(), a.arg2.clone().unwrap_or_else(|| lit(1)));
                    out.push(both.cast(DataType::Float64).alias(p(i, "n")));
                    out.push(xm.fill_null(lit(0.0)).alias(p(i, "mx")));
                    out.push(ym.fill_null(lit(0.0)).alias(p(i, "my")));
                    for part in ["m2x", "m2y", "c"] {
                        out.push(lit(0.0).alias(p(i, part)));
                    }
                }
                _ => unreachable!("holistic aggregates are never two-phase"),
            }
        }
        out
    }

    /// Finishes merged partials (one row per group, or one row in all
    /// without keys) row by row.
    fn final_exprs(&self) -> Vec<Expr> {
        let mut out = self.key_cols();
        for (i, a) in self.aggs.iter().enumerate() {
            out.extend(final_expr(i, a));
        }
        out
    }

    /// Combines partials into the partial form again (same columns), for
    /// folding many partials into one before they would spill.
    fn merge_exprs(&self) -> Vec<Expr> {
        let mut out = Vec::new();
        for (i, a) in self.aggs.iter().enumerate() {
            let sum = |part: &str| pcol(i, part).sum().alias(p(i, part));
            match a.kind {
                AggKind::CountRows | AggKind::Count => out.push(sum("n")),
                AggKind::Sum => {
                    out.push(pcol(i, "s").sum().cast(a.dtype.clone()).alias(p(i, "s")));
                    out.push(sum("n"));
                    if a.is_int_sum() {
                        out.push(sum("f"));
                    }
                }
                AggKind::Mean => {
                    out.push(sum("s"));
                    out.push(sum("n"));
                }
                AggKind::Min => out.push(pcol(i, "v").min().alias(p(i, "v"))),
                AggKind::Max => out.push(pcol(i, "v").max().alias(p(i, "v"))),
                AggKind::First => out.push(pcol(i, "v").first().alias(p(i, "v"))),
                AggKind::Last => out.push(pcol(i, "v").last().alias(p(i, "v"))),
                AggKind::Std | AggKind::Var | AggKind::StdPop | AggKind::VarPop => {
                    // Chan et al.: M2 = Σ m2_i + Σ n_i (mean_i − mean)².
                    let n = pcol(i, "n").sum();
                    let mean = zero_if_empty(n.clone(), (pcol(i, "n") * pcol(i, "mean")).sum() / n.clone());
                    let m2 = (pcol(i, "m2") + pcol(i, "n") * (pcol(i, "mean") - mean.clone()).pow(2)).sum();
                    out.push(n.alias(p(i, "n")));
                    out.push(mean.alias(p(i, "mean")));
                    out.push(m2.alias(p(i, "m2")));
                }
                AggKind::Corr | AggKind::Cov => {
                    // Chan et al. for two variables: the co-moment merges
                    // like M2, with (mx_i − MX)(my_i − MY) as the cross term.
                    let n = pcol(i, "n").sum();
                    let mx = zero_if_empty(n.clone(), (pcol(i, "n") * pcol(i, "mx")).sum() / n.clone());
                    let my = zero_if_empty(n.clone(), (pcol(i, "n") * pcol(i, "my")).sum() / n.clone());
                    let dx = pcol(i, "mx") - mx.clone();
                    let dy = pcol(i, "my") - my.clone();
                    out.push(n.alias(p(i, "n")));
                    out.push(mx.alias(p(i, "mx")));
                    out.push(my.alias(p(i, "my")));
                    out.push((pcol(i, "m2x") + pcol(i, "n") * dx.clone().pow(2)).sum().alias(p(i, "m2x")));
                    out.push((pcol(i, "m2y") + pcol(i, "n") * dy.clone().pow(2)).sum().alias(p(i, "m2y")));
                    out.push((pcol(i, "c") + pcol(i, "n") * dx * dy).sum().alias(p(i, "c")));
                }
                _ => unreachable!("holistic aggregates are never two-phase"),
            }
        }
        out
    }

    /// The aggregates as they read the gathered columns (one-phase): each
    /// argument is the column [`Self::with_keys`] put it in.
    fn gathered_specs(&self) -> Vec<AggSpec> {
        let mut specs = self.aggs.clone();
        for (i, a) in specs.iter_mut().enumerate() {
            a.arg = a.arg.as_ref().map(|_| col(arg_name(self.same_arg(i)).as_str()));
            a.arg2 = a.arg2.as_ref().map(|_| col(arg2_name(self.same_arg2(i)).as_str()));
        }
        specs
    }

    /// The first aggregate whose argument is aggregate `i`'s: gathered rows
    /// hold each distinct argument once (`median(v3), std(v3)` gathers one
    /// v3 column, not two: 80 MB less for 10M rows).
    fn same_arg(&self, i: usize) -> usize {
        self.aggs.iter().position(|a| a.arg == self.aggs[i].arg).unwrap_or(i)
    }

    /// The same for the second argument (of `corr` and `cov`).
    fn same_arg2(&self, i: usize) -> usize {
        self.aggs.iter().position(|a| a.arg2.is_some() && a.arg2 == self.aggs[i].arg2).unwrap_or(i)
    }

    /// Aggregates over gathered argument columns (one-phase).
    fn gathered_exprs(&self) -> Vec<Expr> {
        self.aggs
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let x = || col(arg_name(self.same_arg(i)).as_str());
                let e = match a.kind {
                    AggKind::CountRows => len(),
                    AggKind::Count => x().count(),
                    AggKind::Sum => null_if(x().count().eq(lit(0)), x().sum()),
                    AggKind::Mean => x().cast(DataType::Float64).mean(),
                    AggKind::Min => x().min(),
                    AggKind::Max => x().max(),
                    AggKind::First => x().first(),
                    AggKind::Last => x().last(),
                    AggKind::Std => x().cast(DataType::Float64).std(1),
                    AggKind::Var => x().cast(DataType::Float64).var(1),
                    AggKind::StdPop => x().cast(DataType::Float64).std(0),
                    AggKind::VarPop => x().cast(DataType::Float64).var(0),
                    AggKind::Median => x().cast(DataType::Float64).median(),
                    AggKind::Quantile => x().cast(DataType::Float64).quantile(lit(a.quantile), QuantileMethod::Linear),
                    AggKind::NUnique => x().drop_nulls().n_unique(),
                    // On the physical values: polars has no HyperLogLog for dates.
                    AggKind::ApproxNUnique => x().to_physical().drop_nulls().approx_n_unique(),
                    // Each group's values as a list, finished by [`collection::finish`].
                    AggKind::StringAgg | AggKind::List | AggKind::Mode if self.keys.is_empty() => {
                        return x().implode().alias(a.name.as_str())
                    }
                    AggKind::StringAgg | AggKind::List | AggKind::Mode => return x().alias(a.name.as_str()),
                    AggKind::Corr | AggKind::Cov => {
                        let (xm, ym, both) = pair(x(), col(arg2_name(self.same_arg2(i)).as_str()));
                        let n = both.cast(DataType::Float64).sum();
                        let dx = xm.clone() - xm.mean();
                        let dy = ym.clone() - ym.mean();
                        let c = (dx.clone() * dy.clone()).sum();
                        if a.kind == AggKind::Cov {
                            null_if(n.clone().lt_eq(lit(1.0)), c / (n - lit(1.0)))
                        } else {
                            let denom = (dx.pow(2).sum() * dy.pow(2).sum()).sqrt();
                            null_if(n.lt_eq(lit(1.0)).or(denom.clone().eq(lit(0.0))), c / denom)
                        }
                    }
                };
                e.cast(a.dtype.clone()).alias(a.name.as_str())
            })
            .collect()
    }

    /// Fails when an integer sum left the 64-bit range (its float twin says
    /// so), and drops the twins.
    fn check_overflow(&self, mut out: DataFrame) -> PolarsResult<DataFrame> {
        for (i, a) in self.aggs.iter().enumerate() {
            if !a.is_int_sum() {
                continue;
            }
            let twin = out.drop_in_place(&check_name(i))?;
            let f = twin.cast(&DataType::Float64)?;
            if f.f64()?.into_iter().flatten().any(|v| v.abs() >= OVERFLOW_BOUND) {
                polars_bail!(
                    ComputeError: "integer overflow: `{}` = {} does not fit in a 64-bit integer (sum cast(x, float) to compute it approximately)",
                    a.name, a.label
                );
            }
        }
        Ok(out)
    }

    /// Adds computed key columns (two-phase), or projects keys and
    /// aggregate arguments (one-phase).
    fn with_keys(&self, df: DataFrame) -> PolarsResult<DataFrame> {
        let df = if self.computed.is_empty() {
            df
        } else {
            let computed = select_rows(df.clone(), self.computed.clone())?;
            df.hstack(computed.get_columns())?
        };
        let keys: Vec<Expr> = self.keys.iter().map(|(n, e)| e.clone().alias(n.as_str())).collect();
        if self.two_phase {
            // Plain column keys (`by city`) are already there: no extra pass.
            let plain = self.keys.iter().all(|(n, e)| matches!(e, Expr::Column(c) if c.as_str() == n));
            if keys.is_empty() || plain {
                return Ok(df);
            }
            return run_lazy(df, |lf| lf.with_columns(keys));
        }
        let mut exprs = keys;
        for (i, a) in self.aggs.iter().enumerate() {
            if self.same_arg(i) == i {
                exprs.push(a.arg.clone().unwrap_or_else(|| lit(1)).alias(arg_name(i)));
            }
            if let Some(b) = a.arg2.as_ref().filter(|_| self.same_arg2(i) == i) {
                exprs.push(b.clone().alias(arg2_name(i)));
            }
        }
        select_rows(df, exprs)
    }
}

impl Sink for HashAggregate {
    fn name(&self) -> &'static str {
        "hash_aggregate"
    }

    fn describe(&self) -> String {
        let aggs: Vec<String> = self.aggs.iter().map(|a| format!("{} = {}", a.name, a.label)).collect();
        let keys: Vec<&str> = self.keys.iter().map(|(n, _)| n.as_str()).collect();
        let by = if keys.is_empty() { String::new() } else { format!(" by {}", keys.join(", ")) };
        let how = if self.folds_in_lanes {
            "partial aggregate per thread across its chunks, then combine"
        } else if self.two_phase {
            "partial aggregate per chunk, then combine"
        } else {
            "gather keys and arguments, then aggregate once (holistic aggregates)"
        };
        format!("hash_aggregate {}{by} ({how})", aggs.join(", "))
    }

    fn partial(&self, df: DataFrame, ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        let keyed = self.with_keys(df)?;
        if !self.two_phase {
            // Rows are grouped once, at the finish: ids stay ids until then.
            return Ok(keyed);
        }
        if self.keys.is_empty() {
            return self.group(keyed, self.partial_exprs());
        }
        if self.rowwise.load(Ordering::Relaxed) {
            let exprs = self.rowwise_exprs();
            return run_lazy(self.decoded(keyed)?, |lf| lf.select(exprs));
        }
        if let Some(at) = ctx.lane.filter(|_| self.folds_in_lanes) {
            if let Some(out) = self.fold_into_lane(&keyed, at)? {
                return Ok(out);
            }
        }
        let rows = keyed.height();
        let out = self.decoded(self.grouped_partial(keyed)?)?;
        if rows >= ADAPT_MIN_ROWS && out.height() * 2 > rows {
            self.rowwise.store(true, Ordering::Relaxed);
        }
        Ok(out)
    }

    fn can_compact(&self) -> bool {
        self.two_phase && !self.keys.is_empty()
    }

    fn holds_lanes(&self) -> bool {
        self.folds_in_lanes
    }

    fn held_bytes(&self) -> u64 {
        self.lanes().iter().flatten().map(|lane| lane.bytes() as u64).sum()
    }

    fn take_held(&self) -> PolarsResult<Vec<DataFrame>> {
        let held: Vec<Lane> = self.lanes().iter_mut().filter_map(Option::take).collect();
        let keys = self.key_names();
        held.into_iter().map(|lane| self.decoded(lane.into_frame(&keys, &self.aggs)?)).collect()
    }

    fn finishes_on_one_thread(&self) -> bool {
        // dq's merge kernel (polars' group-by only for types it refuses).
        self.two_phase && !self.keys.is_empty()
    }

    fn compact(&self, partials: Vec<DataFrame>) -> PolarsResult<DataFrame> {
        self.merged(concat(partials)?)
    }

    fn spill(&self) -> Spill {
        if self.keys.is_empty() {
            // One partial row per chunk, or (holistic) the values of the one group.
            return Spill::InMemory;
        }
        Spill::ByKeys { keys: self.decoded_key_cols(), side: None }
    }

    fn finish(&self, partials: Vec<DataFrame>, _ctx: &ChunkCtx) -> PolarsResult<Vec<DataFrame>> {
        let partials = self.same_key_types(partials)?;
        if !self.two_phase && !self.keys.is_empty() {
            // dq's kernel where it handles the types: the median or quantile
            // whole, the other aggregates in partial form, finished as above.
            let all = match holistic::aggregate(partials, &self.key_names(), &self.gathered_specs()) {
                Ok(grouped) => {
                    let out = select_rows(self.decoded(grouped?)?, self.final_exprs())?;
                    return Ok(vec![self.check_overflow(out)?]);
                }
                Err(all) => all,
            };
            return self.finish_with_polars(all);
        }
        let all = concat(partials)?;
        if self.two_phase {
            // One row per group first, then each row finished on its own.
            let merged = self.merged(all)?;
            let out = select_rows(merged, self.final_exprs())?;
            return Ok(vec![self.check_overflow(out)?]);
        }
        self.finish_with_polars(all)
    }
}

impl HashAggregate {
    /// Gathered rows aggregated by polars' group-by (types dq's holistic
    /// kernel refuses, or no keys).
    fn finish_with_polars(&self, all: DataFrame) -> PolarsResult<Vec<DataFrame>> {
        let mut exprs = self.gathered_exprs();
        for (i, a) in self.aggs.iter().enumerate() {
            if a.is_int_sum() {
                exprs.push(col(arg_name(self.same_arg(i)).as_str()).cast(DataType::Float64).sum().alias(check_name(i)));
            }
        }
        let out = collection::finish(self.decoded(self.group(all, exprs)?)?, &self.aggs)?;
        Ok(vec![self.check_overflow(out)?])
    }
}
