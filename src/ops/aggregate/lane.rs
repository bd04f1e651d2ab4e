//! One lane's aggregation: the groups of all the chunks one thread
//! aggregates ([`LaneGroups`]) and each aggregate's accumulators, folded
//! chunk after chunk, then given out as one partial frame when the pass
//! ends or memory runs short (the executor asks, [`crate::ops::Sink::take_held`]).
//!
//! The frame has the columns of a chunk's partial ([`super::accumulate::partial`]),
//! so the merge, spill and combine steps take it like any other. A chunk
//! whose types the lane does not hold (another key type than the first
//! chunk's, a narrow sum) is aggregated on its own as before.

use polars::prelude::*;

use super::accumulate::{
    co_moments_into, count_into, float_col, float_sums_into, int_col, int_sums_into, moments_into, Data, Extremes,
    Values,
};
use super::{p, parts, AggKind, AggSpec};
use crate::ops::group_ids::{validity, LaneGroups};

/// Groups and accumulators of the chunks one lane has folded.
pub(super) struct Lane {
    groups: LaneGroups,
    accs: Vec<Acc>,
    /// Rows folded so far.
    pub(super) rows: usize,
}

/// One aggregate's running parts, one entry per group.
enum Acc {
    /// `count()` and `count(x)`.
    Count(Vec<i64>),
    /// An Int64 sum: wrapping sum, count, float twin.
    IntSum(Vec<i64>, Vec<i64>, Vec<f64>),
    /// A Float64 sum (`mean`: of any numbers, as floats), count.
    FloatSum {
        s: Vec<f64>,
        n: Vec<i64>,
        floats_only: bool,
    },
    Extreme(Extremes),
    Moments([Vec<f64>; 3]),
    CoMoments([Vec<f64>; 6]),
}

/// What one aggregate reads of a chunk.
enum Input {
    Rows,
    Valid(Option<Vec<bool>>),
    One(Values),
    Two(Values, Values),
}

/// The numeric column an aggregate argument names.
fn values(df: &DataFrame, arg: &Option<Expr>) -> Option<Values> {
    match arg {
        Some(Expr::Column(name)) => Values::of(df.column(name).ok()?),
        _ => None,
    }
}

impl Acc {
    /// The accumulator for `a` over values like `x`, if a lane folds it.
    fn new(a: &AggSpec, input: &Input) -> Option<Acc> {
        Some(match (a.kind, input) {
            (AggKind::CountRows | AggKind::Count, _) => Acc::Count(Vec::new()),
            (AggKind::Sum, Input::One(x)) => match (&x.data, a.is_int_sum()) {
                (Data::Int(_), true) => Acc::IntSum(Vec::new(), Vec::new(), Vec::new()),
                (Data::Float(_), false) => Acc::FloatSum { s: Vec::new(), n: Vec::new(), floats_only: true },
                _ => return None,
            },
            (AggKind::Mean, Input::One(_)) => Acc::FloatSum { s: Vec::new(), n: Vec::new(), floats_only: false },
            (AggKind::Min | AggKind::Max, Input::One(x)) => Acc::Extreme(Extremes::new(x, a.kind == AggKind::Max)),
            (AggKind::Std | AggKind::Var | AggKind::StdPop | AggKind::VarPop, Input::One(_)) => {
                Acc::Moments(Default::default())
            }
            (AggKind::Corr | AggKind::Cov, Input::Two(..)) => Acc::CoMoments(Default::default()),
            _ => return None,
        })
    }

    /// Whether this accumulator folds `input` (values of its kind).
    fn takes(&self, input: &Input) -> bool {
        match (self, input) {
            (Acc::Count(_), Input::Rows | Input::Valid(_)) => true,
            (Acc::IntSum(..), Input::One(x)) => matches!(x.data, Data::Int(_)),
            (Acc::FloatSum { floats_only, .. }, Input::One(x)) => !floats_only || matches!(x.data, Data::Float(_)),
            (Acc::Extreme(best), Input::One(x)) => best.takes(x),
            (Acc::Moments(_), Input::One(_)) | (Acc::CoMoments(_), Input::Two(..)) => true,
            _ => false,
        }
    }

    /// Folds one chunk's rows (group `ids`) in, with room for `groups`.
    fn fold(&mut self, ids: &[u32], groups: usize, input: &Input) {
        match (self, input) {
            (Acc::Count(n), Input::Rows) => {
                n.resize(groups, 0);
                count_into(n, ids, None);
            }
            (Acc::Count(n), Input::Valid(valid)) => {
                n.resize(groups, 0);
                count_into(n, ids, valid.as_deref());
            }
            (Acc::IntSum(s, n, f), Input::One(x)) => {
                s.resize(groups, 0);
                n.resize(groups, 0);
                f.resize(groups, 0.0);
                if let Data::Int(v) = &x.data {
                    int_sums_into((s, n, f), ids, v, x.valid.as_deref());
                }
            }
            (Acc::FloatSum { s, n, .. }, Input::One(x)) => {
                s.resize(groups, 0.0);
                n.resize(groups, 0);
                float_sums_into(s, ids, x);
                count_into(n, ids, x.valid.as_deref());
            }
            (Acc::Extreme(best), Input::One(x)) => best.fold(ids, x, groups),
            (Acc::Moments(m), Input::One(x)) => {
                m.iter_mut().for_each(|v| v.resize(groups, 0.0));
                moments_into(m, ids, x);
            }
            (Acc::CoMoments(m), Input::Two(x, y)) => {
                m.iter_mut().for_each(|v| v.resize(groups, 0.0));
                co_moments_into(m, ids, x, y);
            }
            _ => unreachable!("checked by Acc::takes"),
        }
    }

    fn bytes(&self) -> usize {
        let per_group = match self {
            Acc::Count(_) => 8,
            Acc::IntSum(..) => 24,
            Acc::FloatSum { .. } => 16,
            Acc::Extreme(..) => 9,
            Acc::Moments(_) => 24,
            Acc::CoMoments(_) => 48,
        };
        per_group * self.capacity()
    }

    fn capacity(&self) -> usize {
        match self {
            Acc::Count(n) | Acc::IntSum(_, n, _) | Acc::FloatSum { n, .. } => n.capacity(),
            Acc::Extreme(best) => best.capacity(),
            Acc::Moments(m) => m[0].capacity(),
            Acc::CoMoments(m) => m[0].capacity(),
        }
    }

    /// The partial-aggregate columns, in [`parts`] order, for `groups`
    /// groups (an aggregate folded in no chunk yet has none of them).
    fn into_columns(self, groups: usize) -> Vec<Column> {
        let floats = |v: Vec<f64>| {
            let mut v = v;
            v.resize(groups, 0.0);
            float_col(v)
        };
        let ints = |v: Vec<i64>| {
            let mut v = v;
            v.resize(groups, 0);
            int_col(v)
        };
        match self {
            Acc::Count(n) => vec![ints(n)],
            Acc::IntSum(s, n, f) => vec![ints(s), ints(n), floats(f)],
            Acc::FloatSum { s, n, .. } => vec![floats(s), ints(n)],
            Acc::Extreme(best) => vec![best.into_column(groups)],
            Acc::Moments(m) => m.into_iter().map(floats).collect(),
            Acc::CoMoments(m) => m.into_iter().map(floats).collect(),
        }
    }
}

/// What each aggregate reads of `df`, or `None` for an argument that is
/// not an Int64 or Float64 column.
fn inputs(df: &DataFrame, aggs: &[AggSpec]) -> Option<Vec<Input>> {
    aggs.iter()
        .map(|a| {
            Some(match a.kind {
                AggKind::CountRows => Input::Rows,
                AggKind::Count => match &a.arg {
                    Some(Expr::Column(name)) => Input::Valid(validity(df.column(name).ok()?.as_materialized_series())),
                    _ => return None,
                },
                AggKind::Corr | AggKind::Cov => Input::Two(values(df, &a.arg)?, values(df, &a.arg2)?),
                _ => Input::One(values(df, &a.arg)?),
            })
        })
        .collect()
}

fn key_columns<'a>(df: &'a DataFrame, keys: &[&str]) -> Option<Vec<&'a Column>> {
    keys.iter().map(|k| df.column(k).ok()).collect()
}

impl Lane {
    /// An empty lane for chunks like `df`, or `None` when a key, an
    /// aggregate or an argument type is not one a lane folds.
    pub(super) fn new(df: &DataFrame, keys: &[&str], aggs: &[AggSpec]) -> Option<Lane> {
        let groups = LaneGroups::new(&key_columns(df, keys)?)?;
        let inputs = inputs(df, aggs)?;
        let accs = aggs.iter().zip(&inputs).map(|(a, input)| Acc::new(a, input)).collect::<Option<_>>()?;
        Some(Lane { groups, accs, rows: 0 })
    }

    /// Whether a lane can fold these two-phase aggregates at all (`first`
    /// and `last` depend on the order of chunks, which a lane's do not keep).
    pub(super) fn folds(aggs: &[AggSpec]) -> bool {
        aggs.iter().all(|a| !matches!(a.kind, AggKind::First | AggKind::Last))
    }

    /// Folds `df` in; `None` (nothing changed) when its types are not the
    /// lane's.
    pub(super) fn fold(&mut self, df: &DataFrame, keys: &[&str], aggs: &[AggSpec]) -> Option<PolarsResult<()>> {
        let key_cols = key_columns(df, keys)?;
        if !self.groups.takes(&key_cols) {
            return None;
        }
        let inputs = inputs(df, aggs)?;
        if !self.accs.iter().zip(&inputs).all(|(acc, input)| acc.takes(input)) {
            return None;
        }
        let ids = match self.groups.ids(&key_cols)? {
            Ok(ids) => ids,
            Err(e) => return Some(Err(e)),
        };
        let groups = self.groups.groups();
        for (acc, input) in self.accs.iter_mut().zip(&inputs) {
            acc.fold(&ids, groups, input);
        }
        self.rows += df.height();
        Some(Ok(()))
    }

    /// Groups so far.
    pub(super) fn groups(&self) -> usize {
        self.groups.groups()
    }

    /// Bytes held.
    pub(super) fn bytes(&self) -> usize {
        self.groups.bytes() + self.accs.iter().map(Acc::bytes).sum::<usize>()
    }

    /// The partial aggregate of everything folded: keys, then each
    /// aggregate's parts, named as [`super::accumulate::partial`] names them.
    pub(super) fn into_frame(self, keys: &[&str], aggs: &[AggSpec]) -> PolarsResult<DataFrame> {
        let groups = self.groups.groups();
        let mut columns: Vec<Column> = Vec::new();
        for (column, name) in self.groups.key_columns()?.into_iter().zip(keys) {
            columns.push(column.with_name((*name).into()));
        }
        for (i, (acc, a)) in self.accs.into_iter().zip(aggs).enumerate() {
            for (column, part) in acc.into_columns(groups).into_iter().zip(parts(a)) {
                columns.push(column.with_name(p(i, part).into()));
            }
        }
        DataFrame::new(columns)
    }
}
