//! dq's own partial aggregation of one chunk: group ids from
//! [`super::group_ids`], then one pass per aggregate that folds each row's
//! value into its group's accumulator.
//!
//! The output has exactly the columns (names, order and types) of the
//! polars expressions in [`super::HashAggregate::partial_exprs`], so the
//! merge, spill and combine steps do not know which one made it. Anything
//! outside what this kernel handles (key types [`group_rows`] refuses,
//! sums over other than int64/float64, min/max over non-numbers) returns
//! `None` and the chunk is aggregated by polars.

use polars::prelude::*;
use polars_arrow::buffer::Buffer;

use super::{p, parts, AggKind, AggSpec};
use crate::ops::filled;
use crate::ops::group_ids::{group_rows, validity, Groups};

/// A numeric argument column: values and which are valid.
pub(super) struct Values {
    pub(super) data: Data,
    pub(super) valid: Option<Vec<bool>>,
}

/// The values as polars holds them (no copy for a one-chunk column; the
/// slots of nulls hold anything).
pub(super) enum Data {
    Int(Buffer<i64>),
    Float(Buffer<f64>),
}

impl Values {
    /// Int64 and Float64 columns only: other types sum, average and compare
    /// differently (narrow sums wrap at their width), so polars keeps them.
    pub(super) fn of(column: &Column) -> Option<Values> {
        let series = column.as_materialized_series();
        let valid = validity(series);
        let data = match series.dtype() {
            DataType::Int64 => Data::Int(values_of(&series.i64().ok()?.rechunk())),
            DataType::Float64 => Data::Float(values_of(&series.f64().ok()?.rechunk())),
            _ => return None,
        };
        Some(Values { data, valid })
    }

    #[inline]
    pub(super) fn is_valid(&self, row: usize) -> bool {
        self.valid.as_ref().is_none_or(|v| v[row])
    }

    #[inline]
    pub(super) fn f(&self, row: usize) -> f64 {
        match &self.data {
            Data::Int(v) => v[row] as f64,
            Data::Float(v) => v[row],
        }
    }
}

fn values_of<T: PolarsNumericType>(ca: &ChunkedArray<T>) -> Buffer<T::Native> {
    ca.downcast_iter().next().map(|a| a.values().clone()).unwrap_or_default()
}

/// Count of valid rows per group (every row without `valid`).
fn counts(ids: &[u32], groups: usize, valid: Option<&[bool]>) -> Vec<i64> {
    let mut n = filled(0i64, groups);
    count_into(&mut n, ids, valid);
    n
}

/// Adds each valid row to its group's count.
pub(super) fn count_into(n: &mut [i64], ids: &[u32], valid: Option<&[bool]>) {
    match valid {
        None => ids.iter().for_each(|&g| n[g as usize] += 1),
        Some(valid) => {
            for (&g, &ok) in ids.iter().zip(valid) {
                n[g as usize] += i64::from(ok);
            }
        }
    }
}

/// Sums of valid values per group: wrapping for Int64 (as polars sums; a
/// float twin finds an overflow), in floats for Float64.
fn sums(ids: &[u32], groups: usize, x: &Values) -> Column {
    match &x.data {
        Data::Int(v) => {
            let mut s = filled(0i64, groups);
            for (row, &g) in ids.iter().enumerate() {
                if x.is_valid(row) {
                    s[g as usize] = s[g as usize].wrapping_add(v[row]);
                }
            }
            int_col(s)
        }
        Data::Float(_) => float_col(float_sums(ids, groups, x)),
    }
}

/// The parts of an Int64 sum in one pass: the wrapping sum, the count and
/// the float twin of the valid values per group.
fn int_sums(ids: &[u32], groups: usize, v: &[i64], valid: Option<&[bool]>) -> (Vec<i64>, Vec<i64>, Vec<f64>) {
    let (mut sum, mut count, mut float_sum) = (filled(0i64, groups), filled(0i64, groups), filled(0.0f64, groups));
    int_sums_into((&mut sum, &mut count, &mut float_sum), ids, v, valid);
    (sum, count, float_sum)
}

/// [`int_sums`] added to running sums, counts and float twins.
pub(super) fn int_sums_into(
    (sum, count, float_sum): (&mut [i64], &mut [i64], &mut [f64]),
    ids: &[u32],
    v: &[i64],
    valid: Option<&[bool]>,
) {
    let mut add = |g: u32, x: i64| {
        let g = g as usize;
        sum[g] = sum[g].wrapping_add(x);
        count[g] += 1;
        float_sum[g] += x as f64;
    };
    match valid {
        // Two loops, so the common null-free one has no test per row.
        None => ids.iter().zip(v).for_each(|(&g, &x)| add(g, x)),
        Some(valid) => {
            for ((&g, &x), _) in ids.iter().zip(v).zip(valid).filter(|(_, &ok)| ok) {
                add(g, x);
            }
        }
    }
}

/// Float sum of valid values per group.
fn float_sums(ids: &[u32], groups: usize, x: &Values) -> Vec<f64> {
    let mut s = filled(0.0f64, groups);
    float_sums_into(&mut s, ids, x);
    s
}

/// Adds each valid value to its group's float sum.
pub(super) fn float_sums_into(s: &mut [f64], ids: &[u32], x: &Values) {
    for (row, &g) in ids.iter().enumerate() {
        if x.is_valid(row) {
            s[g as usize] += x.f(row);
        }
    }
}

/// Per group: count, mean and sum of squared deviations (Welford), as
/// `(n, mean, m2)` with mean 0 for an empty group.
fn moments(ids: &[u32], groups: usize, x: &Values) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let [n, mean, m2] = {
        let mut m: [Vec<f64>; 3] = std::array::from_fn(|_| filled(0.0f64, groups));
        moments_into(&mut m, ids, x);
        m
    };
    (n, mean, m2)
}

/// [`moments`] carried on from running `[n, mean, m2]`.
pub(super) fn moments_into([n, mean, m2]: &mut [Vec<f64>; 3], ids: &[u32], x: &Values) {
    for (row, &g) in ids.iter().enumerate() {
        if !x.is_valid(row) {
            continue;
        }
        let g = g as usize;
        let v = x.f(row);
        n[g] += 1.0;
        let d = v - mean[g];
        mean[g] += d / n[g];
        m2[g] += d * (v - mean[g]);
    }
}

/// The six co-moments of the pairs where both are valid (Welford for two
/// variables): n, mean x, mean y, M2 x, M2 y, co-moment.
fn co_moments(ids: &[u32], groups: usize, x: &Values, y: &Values) -> [Vec<f64>; 6] {
    let mut out: [Vec<f64>; 6] = std::array::from_fn(|_| filled(0.0f64, groups));
    co_moments_into(&mut out, ids, x, y);
    out
}

/// [`co_moments`] carried on from running ones.
pub(super) fn co_moments_into(out: &mut [Vec<f64>; 6], ids: &[u32], x: &Values, y: &Values) {
    let [n, mx, my, m2x, m2y, c] = out;
    for (row, &g) in ids.iter().enumerate() {
        if !(x.is_valid(row) && y.is_valid(row)) {
            continue;
        }
        let g = g as usize;
        let (vx, vy) = (x.f(row), y.f(row));
        n[g] += 1.0;
        let dx = vx - mx[g];
        mx[g] += dx / n[g];
        let dy = vy - my[g];
        my[g] += dy / n[g];
        m2x[g] += dx * (vx - mx[g]);
        m2y[g] += dy * (vy - my[g]);
        c[g] += dx * (vy - my[g]);
    }
}

/// Smallest (or largest) valid value per group, null for none.
fn extremes(ids: &[u32], groups: usize, x: &Values, max: bool) -> Column {
    let mut best = Extremes::new(x, max);
    best.fold(ids, x, groups);
    best.into_column(groups)
}

/// The smallest (or largest) value of each group so far. A group starts
/// at the identity of the fold (the type's least value for a maximum, its
/// greatest for a minimum, NaN for floats), so the fold is one compare
/// per row on 8 bytes a group; which groups have a value at all is kept
/// only once a null has been seen (before that, every group came from a
/// row with a value).
pub(super) struct Extremes {
    max: bool,
    best: Best,
    /// Whether each group has a valid value; `None` while all have.
    seen: Option<Vec<bool>>,
}

enum Best {
    Int(Vec<i64>),
    Float(Vec<f64>),
}

impl Extremes {
    /// Extremes for `x`'s kind of values, none for any group yet.
    pub(super) fn new(x: &Values, max: bool) -> Extremes {
        let best = match x.data {
            Data::Int(_) => Best::Int(Vec::new()),
            Data::Float(_) => Best::Float(Vec::new()),
        };
        Extremes { max, best, seen: None }
    }

    /// Whether `x` holds this kind of values.
    pub(super) fn takes(&self, x: &Values) -> bool {
        matches!((&self.best, &x.data), (Best::Int(_), Data::Int(_)) | (Best::Float(_), Data::Float(_)))
    }

    /// Groups held (bytes are 8 per group, 9 once a null was seen).
    pub(super) fn capacity(&self) -> usize {
        match &self.best {
            Best::Int(v) => v.capacity(),
            Best::Float(v) => v.capacity(),
        }
    }

    fn len(&self) -> usize {
        match &self.best {
            Best::Int(v) => v.len(),
            Best::Float(v) => v.len(),
        }
    }

    /// Room for `groups` groups, the new ones without a value.
    fn grow(&mut self, groups: usize) {
        let len = self.len();
        if groups <= len {
            return;
        }
        match &mut self.best {
            Best::Int(v) => v.resize(groups, if self.max { i64::MIN } else { i64::MAX }),
            Best::Float(v) => v.resize(groups, f64::NAN),
        }
        if let Some(seen) = &mut self.seen {
            seen.resize(groups, false);
        }
    }

    /// Folds each valid value of `x` (of this kind) into its group's
    /// extreme; `ids` are below `groups`, and every group numbered from
    /// the ones held so far up to `groups` is in `ids`.
    pub(super) fn fold(&mut self, ids: &[u32], x: &Values, groups: usize) {
        if x.valid.is_some() && self.seen.is_none() {
            self.seen = Some(vec![true; self.len()]);
        }
        self.grow(groups);
        let max = self.max;
        match (&mut self.best, &x.data, &mut self.seen) {
            (Best::Int(best), Data::Int(v), None) => {
                for (&g, &value) in ids.iter().zip(v.iter()) {
                    let slot = &mut best[g as usize];
                    *slot = if max { (*slot).max(value) } else { (*slot).min(value) };
                }
            }
            (Best::Int(best), Data::Int(v), Some(seen)) => {
                for (row, &g) in ids.iter().enumerate() {
                    if x.is_valid(row) {
                        let slot = &mut best[g as usize];
                        *slot = if max { (*slot).max(v[row]) } else { (*slot).min(v[row]) };
                        seen[g as usize] = true;
                    }
                }
            }
            (Best::Float(best), Data::Float(v), seen) => {
                // NaN is neither smaller nor larger than anything: it stays
                // only in a group with nothing else (as polars' kernels do);
                // of equal values (-0.0 and 0.0) the first stays.
                for (row, &g) in ids.iter().enumerate() {
                    if x.is_valid(row) {
                        let (slot, new) = (&mut best[g as usize], v[row]);
                        if slot.is_nan() || (max && new > *slot) || (!max && new < *slot) {
                            *slot = new;
                        }
                        if let Some(seen) = seen {
                            seen[g as usize] = true;
                        }
                    }
                }
            }
            _ => unreachable!("extremes fold values of their own kind"),
        }
    }

    /// The extremes of `groups` groups (those never folded are null).
    pub(super) fn into_column(mut self, groups: usize) -> Column {
        if groups > self.len() && self.seen.is_none() {
            self.seen = Some(vec![true; self.len()]);
        }
        self.grow(groups);
        match (self.best, self.seen) {
            (Best::Int(v), None) => int_col(v),
            (Best::Float(v), None) => float_col(v),
            (Best::Int(v), Some(seen)) => {
                Int64Chunked::from_iter_options(PlSmallStr::EMPTY, v.into_iter().zip(seen).map(|(v, s)| s.then_some(v)))
                    .into_column()
            }
            (Best::Float(v), Some(seen)) => Float64Chunked::from_iter_options(
                PlSmallStr::EMPTY,
                v.into_iter().zip(seen).map(|(v, s)| s.then_some(v)),
            )
            .into_column(),
        }
    }
}

pub(super) fn int_col(v: Vec<i64>) -> Column {
    Int64Chunked::from_vec(PlSmallStr::EMPTY, v).into_column()
}

pub(super) fn float_col(v: Vec<f64>) -> Column {
    Float64Chunked::from_vec(PlSmallStr::EMPTY, v).into_column()
}

/// The last row of each group.
fn last_rows(ids: &[u32], groups: usize) -> Vec<IdxSize> {
    let mut last = filled(0 as IdxSize, groups);
    for (row, &g) in ids.iter().enumerate() {
        last[g as usize] = row as IdxSize;
    }
    last
}

pub(super) fn gather(column: &Column, rows: &[IdxSize]) -> PolarsResult<Column> {
    let idx = IdxCa::from_vec(PlSmallStr::EMPTY, rows.to_vec());
    column.take(&idx)
}

/// The partial-aggregate columns of one aggregate, in `partial_exprs` order.
pub(super) fn partial_columns(df: &DataFrame, a: &AggSpec, g: &Groups) -> Option<PolarsResult<Vec<Column>>> {
    let (ids, n) = (&g.ids[..], g.len());
    let column = |e: &Option<Expr>| match e {
        Some(Expr::Column(name)) => df.column(name).ok(),
        _ => None,
    };
    let values = |e: &Option<Expr>| column(e).and_then(Values::of);
    Some(Ok(match a.kind {
        AggKind::CountRows => vec![int_col(counts(ids, n, None))],
        AggKind::Count => {
            let valid = validity(column(&a.arg)?.as_materialized_series());
            vec![int_col(counts(ids, n, valid.as_deref()))]
        }
        AggKind::Sum => {
            let x = values(&a.arg)?;
            match (&x.data, a.is_int_sum()) {
                (Data::Int(v), true) => {
                    let (sum, count, float_sum) = int_sums(ids, n, v, x.valid.as_deref());
                    vec![int_col(sum), int_col(count), float_col(float_sum)]
                }
                (Data::Float(_), false) => vec![sums(ids, n, &x), int_col(counts(ids, n, x.valid.as_deref()))],
                _ => return None,
            }
        }
        AggKind::Mean => {
            let x = values(&a.arg)?;
            vec![float_col(float_sums(ids, n, &x)), int_col(counts(ids, n, x.valid.as_deref()))]
        }
        AggKind::Min | AggKind::Max => vec![extremes(ids, n, &values(&a.arg)?, a.kind == AggKind::Max)],
        AggKind::First => vec![match gather(column(&a.arg)?, &g.first) {
            Ok(c) => c,
            Err(e) => return Some(Err(e)),
        }],
        AggKind::Last => vec![match gather(column(&a.arg)?, &last_rows(ids, n)) {
            Ok(c) => c,
            Err(e) => return Some(Err(e)),
        }],
        AggKind::Std | AggKind::Var | AggKind::StdPop | AggKind::VarPop => {
            let (count, mean, m2) = moments(ids, n, &values(&a.arg)?);
            vec![float_col(count), float_col(mean), float_col(m2)]
        }
        AggKind::Corr | AggKind::Cov => {
            co_moments(ids, n, &values(&a.arg)?, &values(&a.arg2)?).into_iter().map(float_col).collect()
        }
        _ => return None,
    }))
}

/// The partial aggregate of one chunk (keys, then each aggregate's
/// [`parts`]), or `None` when this kernel does not handle it.
pub fn partial(df: &DataFrame, keys: &[&str], aggs: &[AggSpec]) -> Option<PolarsResult<DataFrame>> {
    let key_cols: Vec<&Column> = keys.iter().map(|k| df.column(k).ok()).collect::<Option<_>>()?;
    let groups = group_rows(&key_cols)?;
    let mut out: Vec<Column> = Vec::new();
    for k in &key_cols {
        match gather(k, &groups.first) {
            Ok(c) => out.push(c),
            Err(e) => return Some(Err(e)),
        }
    }
    for a in aggs {
        match partial_columns(df, a, &groups)? {
            Ok(cols) => out.extend(cols),
            Err(e) => return Some(Err(e)),
        }
    }
    let names = keys
        .iter()
        .map(|k| k.to_string())
        .chain(aggs.iter().enumerate().flat_map(|(i, a)| parts(a).iter().map(move |part| p(i, part))));
    let named: Vec<Column> = out.into_iter().zip(names).map(|(c, name)| c.with_name(name.into())).collect();
    Some(DataFrame::new(named))
}

/// Merges per-part moments `(n, means..., m2s..., co-moment)` of rows into
/// their groups (Chan et al.'s pairwise update). `means` and `m2s` have one
/// entry per variable; `co` is the co-moment of two variables, if any.
fn merge_moments(ids: &[u32], groups: usize, parts: &[Values]) -> Vec<Vec<f64>> {
    let vars = if parts.len() == 3 { 1 } else { 2 };
    let mut out: Vec<Vec<f64>> = vec![filled(0.0f64, groups); parts.len()];
    for (row, &g) in ids.iter().enumerate() {
        let g = g as usize;
        let nb = parts[0].f(row);
        if nb == 0.0 || !parts[0].is_valid(row) {
            continue;
        }
        let na = out[0][g];
        let n = na + nb;
        let w = na * nb / n;
        let mut deltas = [0.0f64; 2];
        for (v, delta) in deltas.iter_mut().enumerate().take(vars) {
            let (ma, mb) = (out[1 + v][g], parts[1 + v].f(row));
            *delta = mb - ma;
            out[1 + v][g] = ma + *delta * nb / n;
            out[1 + vars + v][g] += parts[1 + vars + v].f(row) + *delta * *delta * w;
        }
        if vars == 2 {
            out[5][g] += parts[5].f(row) + deltas[0] * deltas[1] * w;
        }
        out[0][g] = n;
    }
    out
}

/// Merges partial-aggregate rows (the output of [`partial`], concatenated)
/// into one row per group, with the same columns; `None` when this kernel
/// does not handle the key or value types.
pub fn merge(df: &DataFrame, keys: &[&str], aggs: &[AggSpec]) -> Option<PolarsResult<DataFrame>> {
    let key_cols: Vec<&Column> = keys.iter().map(|k| df.column(k).ok()).collect::<Option<_>>()?;
    let g = group_rows(&key_cols)?;
    let (ids, n) = (&g.ids[..], g.len());
    let columns = df.get_columns();
    let mut at = keys.len();
    let mut out: Vec<Column> = Vec::with_capacity(columns.len());
    let mut gathers: Vec<(usize, bool)> = Vec::new();
    for k in &key_cols {
        gathers.push((out.len(), true));
        out.push((*k).clone());
    }
    for a in aggs {
        let width = parts(a).len();
        if width == 0 {
            return None;
        }
        let parts = columns.get(at..at + width)?;
        at += width;
        match a.kind {
            AggKind::CountRows | AggKind::Count | AggKind::Sum | AggKind::Mean => {
                for part in parts {
                    out.push(sums(ids, n, &Values::of(part)?));
                }
            }
            AggKind::Min | AggKind::Max => out.push(extremes(ids, n, &Values::of(&parts[0])?, a.kind == AggKind::Max)),
            AggKind::First => {
                gathers.push((out.len(), true));
                out.push(parts[0].clone());
            }
            AggKind::Last => {
                gathers.push((out.len(), false));
                out.push(parts[0].clone());
            }
            _ => {
                let values: Vec<Values> = parts.iter().map(Values::of).collect::<Option<_>>()?;
                out.extend(merge_moments(ids, n, &values).into_iter().map(float_col));
            }
        }
    }
    let last = last_rows(ids, n);
    for (i, first) in gathers {
        out[i] = match gather(&out[i], if first { &g.first } else { &last }) {
            Ok(c) => c,
            Err(e) => return Some(Err(e)),
        };
    }
    let named = out.into_iter().zip(columns).map(|(c, like)| {
        let c = if c.dtype() == like.dtype() { c } else { c.cast(like.dtype())? };
        Ok(c.with_name(like.name().clone()))
    });
    Some(named.collect::<PolarsResult<Vec<Column>>>().and_then(DataFrame::new))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(column: Column) -> Values {
        Values::of(&column).unwrap()
    }

    fn ints(c: &Column) -> Vec<Option<i64>> {
        c.as_materialized_series().i64().unwrap().into_iter().collect()
    }

    /// Folded chunk by chunk: a first chunk without nulls (no "seen"
    /// flags yet), then one with nulls and a group that has only nulls,
    /// then groups never folded; against values worked out by hand.
    #[test]
    fn integer_extremes_across_chunks_keep_groups_without_values_null() {
        for max in [false, true] {
            let mut best = Extremes::new(&values(Column::new("x".into(), [i64::MIN, 5])), max);
            best.fold(&[0, 1, 0], &values(Column::new("x".into(), [7i64, i64::MIN, -3])), 2);
            best.fold(&[1, 2, 2, 0], &values(Column::new("x".into(), [Some(9i64), None, None, Some(4)])), 3);
            let got = ints(&best.into_column(4));
            let want = if max { [Some(7), Some(9), None, None] } else { [Some(-3), Some(i64::MIN), None, None] };
            assert_eq!(got, want, "max={max}");
        }
    }

    /// NaN stays only where a group has nothing else; of -0.0 and 0.0 the
    /// first folded stays; a null-only group is null, not NaN.
    #[test]
    fn float_extremes_keep_nan_only_alone_and_the_first_of_equal_values() {
        for max in [false, true] {
            let x = values(Column::new(
                "x".into(),
                [Some(f64::NAN), Some(-0.0), Some(0.0), Some(f64::NAN), None, Some(2.0)],
            ));
            let mut best = Extremes::new(&x, max);
            best.fold(&[0, 1, 1, 2, 3, 0], &x, 4);
            let got: Vec<Option<f64>> =
                best.into_column(4).as_materialized_series().f64().unwrap().into_iter().collect();
            assert_eq!(got[0], Some(2.0));
            assert_eq!(got[1].map(|v| (v, v.is_sign_negative())), Some((0.0, true)), "max={max}: -0.0 came first");
            assert!(got[2].is_some_and(f64::is_nan));
            assert_eq!(got[3], None);
        }
    }
}
