//! Window functions (`lag(v) over (by k sort t)`): a blocking sink. Rows
//! whose partition keys are equal meet in one `finish` (the executor may
//! hash-partition them by those keys and spill the parts), which sorts them
//! stably by (keys, order) and computes each function row by row.
//!
//! Rows leave in the order they came (so in input order while the input
//! fits in the memory budget and is finished whole).
//!
//! Frames, as in SQL: an aggregate over a window without `sort` covers the
//! whole partition; with `sort`, the partition up to the current row and
//! its peers (rows with equal sort keys); with `rows N`, the current row
//! and the N - 1 before it. Running `cum_*` functions cover the partition
//! up to the current row itself.

use polars::prelude::*;

use super::group_ids::group_rows;
use super::{concat, select_rows, ChunkCtx, Sink, SortSpec, Spill};

/// What a window function computes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum WindowKind {
    RowNumber,
    Rank,
    DenseRank,
    /// The value `offset` rows before, within the partition.
    Lag,
    /// The value `offset` rows after, within the partition.
    Lead,
    Sum,
    Mean,
    Min,
    Max,
    /// Non-null values in the frame.
    Count,
    /// Rows in the frame.
    CountRows,
    First,
    Last,
}

/// The rows an aggregate covers, relative to the current row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// The whole partition.
    Partition,
    /// The partition's start to the current row's last peer.
    Peers,
    /// The current row and the `n - 1` rows before it (`usize::MAX`: the
    /// partition's start to the current row).
    Rows(usize),
}

/// One window function's output column.
#[derive(Clone)]
pub struct WindowFunc {
    /// Output column.
    pub name: String,
    /// What it computes.
    pub kind: WindowKind,
    /// Its argument.
    pub arg: Option<Expr>,
    /// `lag`/`lead` distance.
    pub offset: usize,
    /// `lag`/`lead` value past the partition's edge (null when `None`).
    pub default: Option<Expr>,
    /// Rows an aggregate covers.
    pub frame: Frame,
    /// The output type.
    pub dtype: DataType,
}

/// The window sink: one partitioning and order, several functions.
pub struct Window {
    /// Partition key columns.
    pub by: Vec<String>,
    /// Order within a partition.
    pub order: SortSpec,
    /// The functions, in output order after the input's columns.
    pub funcs: Vec<WindowFunc>,
    /// dq text for explain.
    pub label: String,
}

const ARG: &str = "__window_arg";
const ORDER: &str = "__window_order";
const ROW: &str = "__window_row";
const GROUP: &str = "__window_group";

impl Window {
    /// Partition and peer boundaries of rows sorted by (keys, order).
    fn boundaries(df: &DataFrame, keys: &[String], order: &[String]) -> PolarsResult<(Vec<bool>, Vec<bool>)> {
        let n = df.height();
        let changes = |names: &[String], out: &mut Vec<bool>| -> PolarsResult<()> {
            for name in names {
                let s = df.column(name)?.as_materialized_series();
                let differs = s.not_equal_missing(&s.shift(1))?;
                for (i, d) in differs.into_iter().enumerate() {
                    out[i] |= d.unwrap_or(true);
                }
            }
            Ok(())
        };
        let mut group = vec![false; n];
        changes(keys, &mut group)?;
        if let Some(first) = group.first_mut() {
            *first = true;
        }
        let mut peer = group.clone();
        changes(order, &mut peer)?;
        Ok((group, peer))
    }

    fn compute(&self, df: DataFrame) -> PolarsResult<DataFrame> {
        let height = df.height();
        // Only what the windows read is sorted (the arguments, sort keys and
        // partition ids); the input's columns stay where they are and the
        // results are gathered back to them once.
        let mut exprs: Vec<Expr> = Vec::new();
        for (i, f) in self.funcs.iter().enumerate() {
            if let Some(a) = &f.arg {
                exprs.push(a.clone().alias(format!("{ARG}{i}")));
            }
        }
        let order_names: Vec<String> = (0..self.order.exprs.len()).map(|i| format!("{ORDER}{i}")).collect();
        for (e, name) in self.order.exprs.iter().zip(&order_names) {
            exprs.push(e.clone().alias(name.as_str()));
        }
        let mut work = if exprs.is_empty() { crate::ops::height_only(height) } else { select_rows(df.clone(), exprs)? };
        // Partitions only need to be together, not in key order: sorting by
        // a group id (numbered by first appearance) instead of the keys
        // themselves avoids comparing text (a third of the time over h2o's
        // string keys went to memcmp).
        let key_cols: Vec<&Column> = self.by.iter().map(|k| df.column(k)).collect::<PolarsResult<_>>()?;
        let partition: Vec<String> = match group_rows(&key_cols) {
            Some(groups) if !self.by.is_empty() => {
                work.with_column(UInt32Chunked::from_vec(GROUP.into(), groups.ids).into_column())?;
                vec![GROUP.to_string()]
            }
            _ => {
                for k in &key_cols {
                    work.with_column((*k).clone().with_name(format!("{GROUP}{}", k.name()).into()))?;
                }
                key_cols.iter().map(|k| format!("{GROUP}{}", k.name())).collect()
            }
        };
        let mut sort_names: Vec<String> = partition.clone();
        sort_names.extend(order_names.iter().cloned());
        let spec = SortSpec {
            exprs: sort_names.iter().map(|n| col(n.as_str())).collect(),
            descending: partition.iter().map(|_| false).chain(self.order.descending.iter().copied()).collect(),
            labels: sort_names.clone(),
        };
        // Where each sorted row came from, to put the results back in input order.
        let sorted = spec.sort(work.with_row_index(ROW.into(), None)?)?;
        let (group, peer) = Self::boundaries(&sorted, &partition, &order_names)?;
        let rows = Rows::new(&group, &peer);
        let mut back = vec![0 as IdxSize; height];
        for (at, from) in sorted.column(ROW)?.idx()?.into_no_null_iter().enumerate() {
            back[from as usize] = at as IdxSize;
        }
        let back = IdxCa::from_vec("".into(), back);
        let mut out = df;
        for (i, f) in self.funcs.iter().enumerate() {
            let arg = match f.arg {
                Some(_) => Some(sorted.column(&format!("{ARG}{i}"))?.as_materialized_series().clone()),
                None => None,
            };
            let values = Self::function(f, arg.as_ref(), &rows)?.take(&back)?;
            out.with_column(values.cast(&f.dtype)?.with_name(f.name.as_str().into()).into_column())?;
        }
        Ok(out)
    }

    fn function(f: &WindowFunc, arg: Option<&Series>, rows: &Rows) -> PolarsResult<Series> {
        let n = rows.len();
        let ints = |v: Vec<i64>| Series::new("".into(), v);
        Ok(match f.kind {
            WindowKind::RowNumber => ints((0..n).map(|i| (i - rows.group_start[i] + 1) as i64).collect()),
            WindowKind::Rank => ints((0..n).map(|i| (rows.peer_start[i] - rows.group_start[i] + 1) as i64).collect()),
            WindowKind::DenseRank => ints(rows.dense_rank.clone()),
            WindowKind::CountRows => {
                ints((0..n).map(|i| rows.frame(i, f.frame)).map(|(lo, hi)| (hi + 1 - lo) as i64).collect())
            }
            WindowKind::Lag | WindowKind::Lead => {
                let arg = arg.ok_or_else(|| polars_err!(ComputeError: "lag/lead without a value"))?;
                let source: IdxCa = (0..n)
                    .map(|i| {
                        let j =
                            if f.kind == WindowKind::Lag { i.checked_sub(f.offset) } else { i.checked_add(f.offset) };
                        j.filter(|&j| j < n && rows.group_start[j] == rows.group_start[i]).map(|j| j as IdxSize)
                    })
                    .collect();
                let taken = arg.take(&source)?;
                match &f.default {
                    None => taken,
                    Some(default) => {
                        let one = select_rows(crate::ops::height_only(1), vec![default.clone().alias("d")])?;
                        let fill = one.column("d")?.cast(taken.dtype())?.new_from_index(0, n);
                        let inside = source.is_not_null();
                        taken.zip_with(&inside, fill.as_materialized_series())?
                    }
                }
            }
            WindowKind::First | WindowKind::Last => {
                let arg = arg.ok_or_else(|| polars_err!(ComputeError: "first/last without a value"))?;
                let source: IdxCa = (0..n)
                    .map(|i| {
                        let (lo, hi) = rows.frame(i, f.frame);
                        Some(if f.kind == WindowKind::First { lo } else { hi } as IdxSize)
                    })
                    .collect();
                arg.take(&source)?
            }
            WindowKind::Count => {
                let arg = arg.ok_or_else(|| polars_err!(ComputeError: "count without a value"))?;
                let valid: Vec<bool> = arg.is_not_null().into_iter().map(|v| v.unwrap_or(false)).collect();
                let counts = rows.fold(f.frame, || 0i64, |c, j| *c += i64::from(valid[j]), |c| Ok(Some(*c)))?;
                counts.into_iter().collect::<Int64Chunked>().into_series()
            }
            WindowKind::Min | WindowKind::Max => {
                let arg = arg.ok_or_else(|| polars_err!(ComputeError: "min/max without a value"))?;
                let keys = Keys::of(arg)?;
                let want =
                    if f.kind == WindowKind::Min { std::cmp::Ordering::Less } else { std::cmp::Ordering::Greater };
                let best = rows.fold(
                    f.frame,
                    || None::<usize>,
                    |b, j| {
                        if keys.present(j) && b.is_none_or(|k| keys.cmp(j, k) == want) {
                            *b = Some(j);
                        }
                    },
                    |b| Ok(Some(*b)),
                )?;
                let source: IdxCa = best.into_iter().map(|b| b.flatten().map(|j| j as IdxSize)).collect();
                arg.take(&source)?
            }
            WindowKind::Sum | WindowKind::Mean => {
                let arg = arg.ok_or_else(|| polars_err!(ComputeError: "sum/mean without a value"))?;
                let mean = f.kind == WindowKind::Mean;
                if arg.dtype().is_integer() && !mean {
                    let v: Vec<Option<i64>> = arg.cast(&DataType::Int64)?.i64()?.into_iter().collect();
                    let sums = rows.fold(
                        f.frame,
                        || (0i128, 0usize),
                        |(s, c), j| {
                            if let Some(x) = v[j] {
                                *s += x as i128;
                                *c += 1;
                            }
                        },
                        |(s, c)| {
                            if *c == 0 {
                                return Ok(None);
                            }
                            i64::try_from(*s).map(Some).map_err(|_| {
                                polars_err!(ComputeError: "integer overflow: a window sum of {s} does not fit in a 64-bit integer (sum cast(x, float) to compute it approximately)")
                            })
                        },
                    )?;
                    sums.into_iter().collect::<Int64Chunked>().into_series()
                } else {
                    let v: Vec<Option<f64>> = arg.cast(&DataType::Float64)?.f64()?.into_iter().collect();
                    let sums = rows.fold(
                        f.frame,
                        || (0f64, 0usize),
                        |(s, c), j| {
                            if let Some(x) = v[j] {
                                *s += x;
                                *c += 1;
                            }
                        },
                        |(s, c)| Ok((*c > 0).then(|| if mean { *s / *c as f64 } else { *s })),
                    )?;
                    sums.into_iter().collect::<Float64Chunked>().into_series()
                }
            }
        })
    }
}

/// Where each sorted row's partition and peer group start and end.
struct Rows {
    group_start: Vec<usize>,
    group_end: Vec<usize>,
    peer_start: Vec<usize>,
    peer_end: Vec<usize>,
    dense_rank: Vec<i64>,
}

impl Rows {
    fn new(group: &[bool], peer: &[bool]) -> Rows {
        let n = group.len();
        let (mut group_start, mut peer_start, mut dense_rank) = (vec![0; n], vec![0; n], vec![0i64; n]);
        for i in 0..n {
            group_start[i] = if group[i] { i } else { group_start[i - 1] };
            peer_start[i] = if peer[i] { i } else { peer_start[i - 1] };
            dense_rank[i] = match (group[i], peer[i]) {
                (true, _) => 1,
                (false, true) => dense_rank[i - 1] + 1,
                (false, false) => dense_rank[i - 1],
            };
        }
        let (mut group_end, mut peer_end) = (vec![n; n], vec![n; n]);
        for i in (0..n.saturating_sub(1)).rev() {
            group_end[i] = if group[i + 1] { i + 1 } else { group_end[i + 1] };
            peer_end[i] = if peer[i + 1] { i + 1 } else { peer_end[i + 1] };
        }
        Rows { group_start, group_end, peer_start, peer_end, dense_rank }
    }

    fn len(&self) -> usize {
        self.group_start.len()
    }

    /// The first and last row (inclusive) of row i's frame.
    fn frame(&self, i: usize, frame: Frame) -> (usize, usize) {
        match frame {
            Frame::Partition => (self.group_start[i], self.group_end[i] - 1),
            Frame::Peers => (self.group_start[i], self.peer_end[i] - 1),
            Frame::Rows(n) => ((i + 1).saturating_sub(n).max(self.group_start[i]), i),
        }
    }

    /// Folds each row's frame: a state grows from the frame's first row and
    /// is carried to the next row while that frame starts at the same row
    /// (frames then only grow), else started afresh.
    fn fold<S, T>(
        &self,
        frame: Frame,
        init: impl Fn() -> S,
        add: impl Fn(&mut S, usize),
        out: impl Fn(&S) -> PolarsResult<T>,
    ) -> PolarsResult<Vec<T>> {
        let mut result = Vec::with_capacity(self.len());
        let (mut state, mut from, mut next) = (init(), usize::MAX, 0);
        for i in 0..self.len() {
            let (lo, hi) = self.frame(i, frame);
            if lo != from || next > hi + 1 {
                state = init();
                from = lo;
                next = lo;
            }
            while next <= hi {
                add(&mut state, next);
                next += 1;
            }
            result.push(out(&state)?);
        }
        Ok(result)
    }
}

/// Values compared by `min`/`max` (NaN skipped, as the aggregates do).
enum Keys {
    Int(Vec<Option<i64>>),
    Float(Vec<Option<f64>>),
    Text(Vec<Option<String>>),
}

impl Keys {
    fn of(s: &Series) -> PolarsResult<Keys> {
        Ok(match s.dtype() {
            DataType::String => Keys::Text(s.str()?.into_iter().map(|v| v.map(str::to_string)).collect()),
            d if d.is_float() => Keys::Float(s.cast(&DataType::Float64)?.f64()?.into_iter().collect()),
            _ => Keys::Int(s.to_physical_repr().cast(&DataType::Int64)?.i64()?.into_iter().collect()),
        })
    }

    fn present(&self, i: usize) -> bool {
        match self {
            Keys::Int(v) => v[i].is_some(),
            Keys::Float(v) => v[i].is_some_and(|x| !x.is_nan()),
            Keys::Text(v) => v[i].is_some(),
        }
    }

    fn cmp(&self, a: usize, b: usize) -> std::cmp::Ordering {
        match self {
            Keys::Int(v) => v[a].cmp(&v[b]),
            Keys::Float(v) => v[a].partial_cmp(&v[b]).unwrap_or(std::cmp::Ordering::Equal),
            Keys::Text(v) => v[a].cmp(&v[b]),
        }
    }
}

impl Sink for Window {
    fn name(&self) -> &'static str {
        "window"
    }

    fn describe(&self) -> String {
        format!("window {}", self.label)
    }

    fn partial(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        Ok(df)
    }

    fn finish(&self, partials: Vec<DataFrame>, _ctx: &ChunkCtx) -> PolarsResult<Vec<DataFrame>> {
        let df = concat(partials)?;
        if df.width() == 0 {
            return Ok(vec![df]);
        }
        Ok(vec![self.compute(df)?])
    }

    // Not `finishes_on_one_thread`: the executor would then finish
    // key-disjoint pieces side by side, and the rows would come out grouped
    // by piece instead of in input order. (polars' sort in `finish` uses
    // every thread already.)

    fn spill(&self) -> Spill {
        if self.by.is_empty() {
            Spill::InMemory
        } else {
            Spill::ByKeys { keys: self.by.iter().map(|k| col(k.as_str())).collect(), side: None }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_follow_partitions_peers_and_row_counts() {
        // Two partitions: rows 0-3 (peers 1-2 share a sort key) and 4-5.
        let group = [true, false, false, false, true, false];
        let peer = [true, true, false, true, true, true];
        let rows = Rows::new(&group, &peer);
        assert_eq!(rows.frame(2, Frame::Partition), (0, 3));
        assert_eq!(rows.frame(1, Frame::Peers), (0, 2));
        assert_eq!(rows.frame(3, Frame::Rows(2)), (2, 3));
        assert_eq!(rows.frame(4, Frame::Rows(3)), (4, 4));
        assert_eq!(rows.frame(5, Frame::Rows(usize::MAX)), (4, 5));
        assert_eq!(rows.dense_rank, vec![1, 2, 2, 3, 1, 2]);
        let sums = rows.fold(Frame::Rows(2), || 0usize, |s, j| *s += j, |s| Ok(*s)).unwrap();
        assert_eq!(sums, vec![0, 1, 3, 5, 4, 9]);
        let running = rows.fold(Frame::Peers, || 0usize, |s, j| *s += j, |s| Ok(*s)).unwrap();
        assert_eq!(running, vec![0, 3, 3, 6, 4, 9]);
    }
}
