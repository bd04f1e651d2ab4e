//! Column profiling with bounded memory: every chunk updates a
//! [`TableProfile`]; partial profiles of different chunks merge; `finish`
//! turns one into a [`ProfileReport`].
//!
//! Per column: rows, nulls, distinct (exact up to [`EXACT_DISTINCT`] values,
//! then a HyperLogLog estimate), min/max, mean and std (Chan's merge),
//! quantiles (exact up to [`EXACT_VALUES`] values, then a t-digest),
//! frequent values ([`top_values`]), string lengths and a histogram.
//! Memory per column is bounded by those limits, whatever the row count.

pub mod hll;
pub mod top_values;

use std::collections::{BTreeMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use polars::prelude::*;
use tdigest::TDigest;

use hll::{hash_bytes, mix64, HyperLogLog};
use top_values::TopValues;

/// Distinct values tracked exactly before switching to the estimate.
pub const EXACT_DISTINCT: usize = 100_000;
/// Numeric values kept for exact quantiles before switching to the t-digest.
pub const EXACT_VALUES: usize = 100_000;
/// The quantiles reported.
pub const QUANTILES: [(&str, f64); 5] = [("p1", 0.01), ("p25", 0.25), ("p50", 0.5), ("p75", 0.75), ("p99", 0.99)];
/// Histogram bins for numeric columns.
pub const BINS: usize = 16;

#[derive(Clone)]
struct Numeric {
    n: f64,
    mean: f64,
    m2: f64,
    min: f64,
    max: f64,
    /// (value, count) pairs while there are at most [`EXACT_VALUES`] distinct values.
    exact: Option<Vec<(f64, u64)>>,
    digest: TDigest,
}

impl Default for Numeric {
    fn default() -> Self {
        Numeric {
            n: 0.0,
            mean: 0.0,
            m2: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            exact: Some(Vec::new()),
            digest: TDigest::new_with_size(200),
        }
    }
}

/// Sorts (value, count) pairs by value and adds up the counts of equal values.
fn compact(pairs: &mut Vec<(f64, u64)>) {
    pairs.sort_by(|a, b| a.0.total_cmp(&b.0));
    pairs.dedup_by(|b, a| {
        if a.0 == b.0 {
            a.1 += b.1;
            true
        } else {
            false
        }
    });
}

impl Numeric {
    /// A chunk's numbers given as distinct (value, count) pairs.
    fn from_pairs(mut pairs: Vec<(f64, u64)>) -> Numeric {
        compact(&mut pairs);
        let n: f64 = pairs.iter().map(|p| p.1 as f64).sum();
        if n == 0.0 {
            return Numeric::default();
        }
        let mean = pairs.iter().map(|(v, c)| v * *c as f64).sum::<f64>() / n;
        let m2 = pairs.iter().map(|(v, c)| (v - mean) * (v - mean) * *c as f64).sum::<f64>();
        let (min, max) = (pairs[0].0, pairs[pairs.len() - 1].0);
        // The digest holds finite values only (NaN/inf have no rank); `new`
        // compresses to its size.
        let finite: Vec<&(f64, u64)> = pairs.iter().filter(|p| p.0.is_finite()).collect();
        let centroids: Vec<tdigest::Centroid> =
            finite.iter().map(|(v, c)| tdigest::Centroid::new(*v, *c as f64)).collect();
        let (fsum, fcount) = finite.iter().fold((0.0, 0.0), |(s, k), (v, c)| (s + v * *c as f64, k + *c as f64));
        let (lo, hi) = (finite.first().map(|p| p.0), finite.last().map(|p| p.0));
        let digest = TDigest::new(centroids, fsum, fcount, hi, lo, 200);
        let exact = (pairs.len() <= EXACT_VALUES).then_some(pairs);
        Numeric { n, mean, m2, min, max, exact, digest }
    }

    fn merge(&mut self, o: Numeric) {
        if o.n == 0.0 {
            return;
        }
        if self.n == 0.0 {
            *self = o;
            return;
        }
        let n = self.n + o.n;
        let delta = o.mean - self.mean;
        self.m2 += o.m2 + delta * delta * self.n * o.n / n;
        self.mean += delta * o.n / n;
        self.n = n;
        self.min = self.min.min(o.min);
        self.max = self.max.max(o.max);
        self.exact = match (self.exact.take(), o.exact) {
            (Some(mut a), Some(b)) => {
                a.extend(b);
                compact(&mut a);
                (a.len() <= EXACT_VALUES).then_some(a)
            }
            _ => None,
        };
        self.digest = TDigest::merge_digests(vec![std::mem::take(&mut self.digest), o.digest]);
    }
}

/// The values stored are already well-mixed 64-bit hashes: use them as is.
#[derive(Default, Clone, Copy)]
struct PreHashed(u64);

impl Hasher for PreHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, v: u64) {
        self.0 = v;
    }
}

type HashSetOfHashes = HashSet<u64, BuildHasherDefault<PreHashed>>;

#[derive(Clone)]
struct Distinct {
    exact: Option<HashSetOfHashes>,
    hll: HyperLogLog,
}

impl Default for Distinct {
    fn default() -> Self {
        Distinct { exact: Some(HashSetOfHashes::default()), hll: HyperLogLog::default() }
    }
}

impl Distinct {
    fn add(&mut self, h: u64) {
        self.hll.add_hash(h);
        if let Some(set) = &mut self.exact {
            set.insert(h);
            if set.len() > EXACT_DISTINCT {
                self.exact = None;
            }
        }
    }

    fn merge(&mut self, o: Distinct) {
        self.hll.merge(&o.hll);
        self.exact = match (self.exact.take(), o.exact) {
            (Some(mut a), Some(b)) => {
                a.extend(b);
                (a.len() <= EXACT_DISTINCT).then_some(a)
            }
            _ => None,
        };
    }
}

#[derive(Clone, Default)]
struct Lengths {
    n: u64,
    sum: u64,
    min: u64,
    max: u64,
}

/// The running profile of one column.
#[derive(Clone)]
pub struct ColumnState {
    name: String,
    dtype: DataType,
    rows: u64,
    nulls: u64,
    numeric: Option<Numeric>,
    min_text: Option<String>,
    max_text: Option<String>,
    lengths: Option<Lengths>,
    distinct: Distinct,
    top: TopValues,
    /// Shared by all chunks' states of this column: set once a chunk shows
    /// the column is near-unique.
    near_unique: Arc<AtomicBool>,
}

fn keep_min(a: &mut Option<String>, b: Option<String>) {
    if let Some(b) = b {
        if a.as_ref().is_none_or(|x| b < *x) {
            *a = Some(b);
        }
    }
}

fn keep_max(a: &mut Option<String>, b: Option<String>) {
    if let Some(b) = b {
        if a.as_ref().is_none_or(|x| b > *x) {
            *a = Some(b);
        }
    }
}

fn text(v: AnyValue) -> Option<String> {
    match v {
        AnyValue::Null => None,
        AnyValue::String(s) => Some(s.to_string()),
        AnyValue::StringOwned(s) => Some(s.to_string()),
        other => Some(other.to_string()),
    }
}

impl ColumnState {
    fn new(name: &str, dtype: &DataType, near_unique: Arc<AtomicBool>) -> Self {
        let numeric = dtype.is_primitive_numeric().then(Numeric::default);
        ColumnState {
            name: name.to_string(),
            dtype: dtype.clone(),
            rows: 0,
            nulls: 0,
            numeric,
            min_text: None,
            max_text: None,
            lengths: (*dtype == DataType::String).then(Lengths::default),
            distinct: Distinct::default(),
            top: TopValues::default(),
            near_unique,
        }
    }

    /// Adds one chunk of the column. Everything is computed from the
    /// chunk's distinct values and their counts (one hash group-by), so no
    /// per-row hashing, sorting or formatting is needed — except for
    /// near-unique columns, where grouping saves nothing: once a chunk of at
    /// least 50k rows is over 90% distinct, later chunks hash values
    /// directly ([`Self::update_near_unique`]).
    fn update(&mut self, col: &Column) -> PolarsResult<()> {
        let s = col.as_materialized_series();
        self.rows += s.len() as u64;
        self.nulls += s.null_count() as u64;
        let non_null = s.drop_nulls();
        if non_null.is_empty() {
            return Ok(());
        }
        if self.near_unique.load(Ordering::Relaxed) {
            return self.update_near_unique(&non_null);
        }
        let (values, counts) = value_counts(&non_null)?;
        // Only truly near-unique columns (ids, measurements) switch: a
        // lower ratio would depend on the chunk size.
        if non_null.len() >= 50_000 && values.len() * 10 > non_null.len() * 9 {
            self.near_unique.store(true, Ordering::Relaxed);
        }
        let hashes = if let Some(num) = &mut self.numeric {
            let f = values.cast(&DataType::Float64)?;
            let f = f.f64()?;
            num.merge(Numeric::from_pairs(f.into_no_null_iter().zip(counts.iter().copied()).collect()));
            hash_numeric(&mut self.distinct, &values)?
        } else {
            let as_text =
                if values.dtype() == &DataType::String { values.clone() } else { values.cast(&DataType::String)? };
            let ca = as_text.str()?;
            let hashes: Vec<u64> = ca.into_no_null_iter().map(|v| hash_bytes(v.as_bytes())).collect();
            for h in &hashes {
                self.distinct.add(*h);
            }
            keep_min(&mut self.min_text, text(values.min_reduce()?.as_any_value()));
            keep_max(&mut self.max_text, text(values.max_reduce()?.as_any_value()));
            if let Some(l) = &mut self.lengths {
                for (v, c) in ca.into_no_null_iter().zip(&counts) {
                    let len = v.chars().count() as u64;
                    l.min = if l.n == 0 { len } else { l.min.min(len) };
                    l.max = l.max.max(len);
                    l.sum += len * c;
                    l.n += c;
                }
            }
            hashes
        };
        // Frequent values: the chunk's exact counts, cut to the summary's
        // capacity by a partial selection (no full sort). Ties are broken
        // by the value's hash, so the same input keeps the same values
        // whatever order the hash table listed them in.
        let cap = self.top.capacity();
        let mut order: Vec<usize> = (0..counts.len()).collect();
        let cut_off = if order.len() > cap {
            order.select_nth_unstable_by(cap, |a, b| counts[*b].cmp(&counts[*a]).then(hashes[*a].cmp(&hashes[*b])));
            let cut = counts[order[cap]];
            order.truncate(cap);
            cut
        } else {
            0
        };
        let idx = IdxCa::from_vec("idx".into(), order.iter().map(|i| *i as IdxSize).collect());
        let head = values.take(&idx)?.cast(&DataType::String)?;
        let pairs = head.str()?.into_iter().zip(order.iter().map(|i| counts[*i])).filter_map(|(v, c)| Some((v?, c)));
        self.top.add_chunk(pairs, cut_off);
        Ok(())
    }

    /// A chunk of a near-unique column: values hashed one by one, numbers
    /// sorted for the digest; frequent values are not counted (no value
    /// repeats much), so the error bound of the summary grows by the rows.
    fn update_near_unique(&mut self, non_null: &Series) -> PolarsResult<()> {
        if let Some(num) = &mut self.numeric {
            let f = non_null.cast(&DataType::Float64)?;
            let pairs: Vec<(f64, u64)> = f.f64()?.into_no_null_iter().map(|v| (v, 1)).collect();
            hash_numeric(&mut self.distinct, non_null)?;
            num.merge(Numeric::from_pairs(pairs));
        } else {
            let as_text = if non_null.dtype() == &DataType::String {
                non_null.clone()
            } else {
                non_null.cast(&DataType::String)?
            };
            let ca = as_text.str()?;
            for v in ca.into_no_null_iter() {
                self.distinct.add(hash_bytes(v.as_bytes()));
            }
            keep_min(&mut self.min_text, text(non_null.min_reduce()?.as_any_value()));
            keep_max(&mut self.max_text, text(non_null.max_reduce()?.as_any_value()));
            if let Some(l) = &mut self.lengths {
                let lens = ca.str_len_chars();
                if let (Some(lo), Some(hi)) = (lens.min(), lens.max()) {
                    l.min = if l.n == 0 { lo as u64 } else { l.min.min(lo as u64) };
                    l.max = l.max.max(hi as u64);
                    l.sum += lens.sum().unwrap_or(0) as u64;
                    l.n += lens.len() as u64;
                }
            }
        }
        self.top.error += non_null.len() as u64;
        Ok(())
    }

    fn merge(&mut self, o: ColumnState) {
        self.rows += o.rows;
        self.nulls += o.nulls;
        if let (Some(a), Some(b)) = (&mut self.numeric, o.numeric) {
            a.merge(b);
        }
        keep_min(&mut self.min_text, o.min_text);
        keep_max(&mut self.max_text, o.max_text);
        if let (Some(a), Some(b)) = (&mut self.lengths, o.lengths) {
            if b.n > 0 {
                a.min = if a.n == 0 { b.min } else { a.min.min(b.min) };
                a.max = a.max.max(b.max);
                a.sum += b.sum;
                a.n += b.n;
            }
        }
        self.distinct.merge(o.distinct);
        self.top.merge(o.top);
    }
}

/// Adds hashes of numeric values: integers by value (exact beyond 2^53),
/// floats by bit pattern.
fn hash_numeric(distinct: &mut Distinct, values: &Series) -> PolarsResult<Vec<u64>> {
    let hashes: Vec<u64> = if values.dtype().is_integer() {
        let ints = values.cast(&DataType::Int64)?;
        ints.i64()?.into_no_null_iter().map(|v| mix64(v as u64 ^ 0x5851_F42D_4C95_7F2D)).collect()
    } else {
        let f = values.cast(&DataType::Float64)?;
        f.f64()?.into_no_null_iter().map(|v| mix64(v.to_bits())).collect()
    };
    for h in &hashes {
        distinct.add(*h);
    }
    Ok(hashes)
}

/// The running profile of a table: its columns, and rows per file.
#[derive(Clone)]
pub struct TableProfile {
    columns: Vec<ColumnState>,
    hints: Arc<Vec<Arc<AtomicBool>>>,
    /// Rows seen per file index.
    pub rows_per_file: BTreeMap<usize, u64>,
}

impl TableProfile {
    /// An empty profile for `schema`.
    pub fn new(schema: &Schema) -> Self {
        let hints: Arc<Vec<Arc<AtomicBool>>> =
            Arc::new(schema.iter().map(|_| Arc::new(AtomicBool::new(false))).collect());
        TableProfile::sharing(schema, hints)
    }

    /// An empty profile sharing `self`'s per-column hints (what earlier
    /// chunks learned about the columns); use one per chunk.
    pub fn fresh(&self, schema: &Schema) -> Self {
        TableProfile::sharing(schema, self.hints.clone())
    }

    fn sharing(schema: &Schema, hints: Arc<Vec<Arc<AtomicBool>>>) -> Self {
        let columns = schema.iter().zip(hints.iter()).map(|((n, dt), h)| ColumnState::new(n, dt, h.clone())).collect();
        TableProfile { columns, hints, rows_per_file: BTreeMap::new() }
    }

    /// Adds one chunk read from file `file`.
    ///
    /// # Errors
    /// polars errors from casting or counting.
    pub fn update(&mut self, df: &DataFrame, file: usize) -> PolarsResult<()> {
        *self.rows_per_file.entry(file).or_default() += df.height() as u64;
        for state in &mut self.columns {
            if let Ok(col) = df.column(&state.name) {
                state.update(col)?;
            }
        }
        Ok(())
    }

    /// Merges a profile of other chunks of the same table.
    pub fn merge(&mut self, other: TableProfile) {
        for (a, b) in self.columns.iter_mut().zip(other.columns) {
            a.merge(b);
        }
        for (f, n) in other.rows_per_file {
            *self.rows_per_file.entry(f).or_default() += n;
        }
    }

    /// The finished report.
    pub fn finish(&self) -> Vec<ColumnReport> {
        self.columns.iter().map(finish_column).collect()
    }
}

/// A distinct count and how it was obtained.
#[derive(Debug, Clone, PartialEq)]
pub struct DistinctCount {
    /// The count (or estimate).
    pub value: u64,
    /// Counted exactly.
    pub exact: bool,
    /// Relative standard error of an estimate (0 when exact).
    pub error: f64,
}

/// Everything reported about one column.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnReport {
    /// Column name.
    pub name: String,
    /// polars type.
    pub dtype: DataType,
    /// Rows seen.
    pub rows: u64,
    /// Nulls seen; `None` when unknown (the metadata tier of a text file,
    /// whose nulls are not recorded anywhere).
    pub nulls: Option<u64>,
    /// Distinct non-null values.
    pub distinct: DistinctCount,
    /// Smallest value, as text.
    pub min: Option<String>,
    /// Largest value, as text.
    pub max: Option<String>,
    /// Mean (numeric columns).
    pub mean: Option<f64>,
    /// Sample standard deviation (numeric columns, ≥ 2 values).
    pub std: Option<f64>,
    /// (name, value) for p1, p25, p50, p75, p99 (numeric columns).
    pub quantiles: Vec<(&'static str, f64)>,
    /// Whether the quantiles are exact (else t-digest estimates).
    pub quantiles_exact: bool,
    /// Most frequent values with counts.
    pub top: Vec<(String, u64)>,
    /// Upper bound on how much a top count may be short (0: exact).
    pub top_error: u64,
    /// (min, max, mean) string length in characters.
    pub lengths: Option<(u64, u64, f64)>,
    /// Equal-width bin counts between min and max (numeric columns).
    pub histogram: Vec<u64>,
}

/// The linear-interpolated quantile of the multiset given by sorted
/// (value, count) pairs: the value at position q·(n−1).
fn exact_quantile(pairs: &[(f64, u64)], n: u64, q: f64) -> f64 {
    let pos = q * (n - 1) as f64;
    let (lo, hi) = (pos.floor() as u64, pos.ceil() as u64);
    let at = |rank: u64| {
        let mut seen = 0;
        for (v, c) in pairs {
            seen += c;
            if rank < seen {
                return *v;
            }
        }
        pairs[pairs.len() - 1].0
    };
    let (a, b) = (at(lo), at(hi));
    a + (b - a) * (pos - lo as f64)
}

fn fmt_num(v: f64, integer: bool) -> String {
    if integer && v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn finish_column(c: &ColumnState) -> ColumnReport {
    let distinct = match &c.distinct.exact {
        Some(set) => DistinctCount { value: set.len() as u64, exact: true, error: 0.0 },
        None => DistinctCount {
            value: c.distinct.hll.estimate().round() as u64,
            exact: false,
            error: HyperLogLog::STANDARD_ERROR,
        },
    };
    let (mut min, mut max) = (c.min_text.clone(), c.max_text.clone());
    let (mut mean, mut std, mut quantiles, mut quantiles_exact, mut histogram) =
        (None, None, Vec::new(), false, Vec::new());
    if let Some(num) = c.numeric.as_ref().filter(|n| n.n > 0.0) {
        let integer = c.dtype.is_integer();
        min = Some(fmt_num(num.min, integer));
        max = Some(fmt_num(num.max, integer));
        mean = Some(num.mean);
        std = (num.n > 1.0).then(|| (num.m2 / (num.n - 1.0)).sqrt());
        let width = (num.max - num.min) / BINS as f64;
        histogram = vec![0u64; BINS];
        match &num.exact {
            Some(pairs) => {
                let n: u64 = pairs.iter().map(|p| p.1).sum();
                quantiles = QUANTILES.iter().map(|(k, q)| (*k, exact_quantile(pairs, n, *q))).collect();
                quantiles_exact = true;
                for (v, c) in pairs {
                    let b = if width > 0.0 { (((v - num.min) / width) as usize).min(BINS - 1) } else { 0 };
                    histogram[b] += c;
                }
            }
            None => {
                quantiles =
                    QUANTILES.iter().map(|(k, q)| (*k, num.digest.estimate_quantile(*q).unwrap_or(f64::NAN))).collect();
                // Bin counts from the digest's rank estimates at the bin edges.
                let rank = |x: f64| num.digest.estimate_rank(x).unwrap_or(0.0).clamp(0.0, 1.0);
                let mut prev = 0.0;
                for (b, slot) in histogram.iter_mut().enumerate() {
                    let edge = if b + 1 == BINS { 1.0 } else { rank(num.min + width * (b + 1) as f64) };
                    *slot = ((edge - prev).max(0.0) * num.n).round() as u64;
                    prev = edge;
                }
            }
        }
    }
    let lengths = c.lengths.as_ref().filter(|l| l.n > 0).map(|l| (l.min, l.max, l.sum as f64 / l.n as f64));
    ColumnReport {
        name: c.name.clone(),
        dtype: c.dtype.clone(),
        rows: c.rows,
        nulls: Some(c.nulls),
        distinct,
        min,
        max,
        mean,
        std,
        quantiles,
        quantiles_exact,
        top: c.top.top(5),
        top_error: c.top.error,
        lengths,
        histogram,
    }
}

/// A sparkline of bin counts (▁▂▃▄▅▆▇█).
pub fn sparkline(bins: &[u64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let max = bins.iter().copied().max().unwrap_or(0);
    if max == 0 {
        return String::new();
    }
    bins.iter().map(|&b| if b == 0 { ' ' } else { BARS[((b as f64 / max as f64) * 7.0).round() as usize] }).collect()
}

/// The distinct values of `s` (no nulls) and how often each occurs, in no
/// particular order: integer and text values through the group-id tables
/// of `ops::group_ids` (a count per group, where polars' `value_counts`
/// built a vector of row indices per group: a third of a profile's time),
/// other types through polars.
fn value_counts(s: &Series) -> PolarsResult<(Series, Vec<u64>)> {
    let column = Column::from(s.clone());
    if let Some(groups) = crate::ops::group_rows(&[&column]) {
        let mut counts = vec![0u64; groups.len()];
        for &id in &groups.ids {
            counts[id as usize] += 1;
        }
        let values = s.take(&IdxCa::from_vec("".into(), groups.first))?;
        return Ok((values, counts));
    }
    let vc = s.value_counts(false, false, "count".into(), false)?;
    let values = vc.column(s.name())?.as_materialized_series().clone();
    let counts = vc.column("count")?.cast(&DataType::UInt64)?.u64()?.into_no_null_iter().collect();
    Ok((values, counts))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_stats_on_a_small_column() {
        let df =
            df!("x" => [Some(1i64), Some(2), None, Some(4), Some(10)], "s" => ["a", "bb", "a", "ccc", "a"]).unwrap();
        let mut p = TableProfile::new(df.schema());
        // Two chunks, merged, must equal one pass.
        let (a, b) = (df.slice(0, 2), df.slice(2, 3));
        let mut q = TableProfile::new(df.schema());
        p.update(&a, 0).unwrap();
        q.update(&b, 0).unwrap();
        p.merge(q);
        let r = p.finish();
        let x = &r[0];
        assert_eq!((x.rows, x.nulls, x.distinct.value, x.distinct.exact), (5, Some(1), 4, true));
        assert_eq!((x.min.as_deref(), x.max.as_deref()), (Some("1"), Some("10")));
        assert!((x.mean.unwrap() - 4.25).abs() < 1e-12);
        // Sample std of 1, 2, 4, 10: mean 4.25, squares 10.5625+5.0625+0.0625+33.0625 = 48.75, /3.
        assert!((x.std.unwrap() - (48.75f64 / 3.0).sqrt()).abs() < 1e-12);
        assert_eq!(x.quantiles[2], ("p50", 3.0));
        assert!(x.quantiles_exact);
        assert_eq!(x.histogram.iter().sum::<u64>(), 4);
        let s = &r[1];
        assert_eq!(s.top[0], ("a".to_string(), 3));
        assert_eq!(s.lengths, Some((1, 3, 8.0 / 5.0)));
        assert_eq!((s.min.as_deref(), s.max.as_deref()), (Some("a"), Some("ccc")));
    }

    #[test]
    fn sketches_take_over_past_the_exact_limits() {
        let n = 300_000i64;
        let df = df!("x" => (0..n).map(|i| (i * 7919) % 250_000).collect::<Vec<i64>>()).unwrap();
        let mut p = TableProfile::new(df.schema());
        for start in (0..n).step_by(50_000) {
            // Chunk states share hints: after the first (all-distinct) chunk
            // the column is treated as near-unique.
            let mut q = p.fresh(df.schema());
            q.update(&df.slice(start, 50_000), 0).unwrap();
            p.merge(q);
        }
        let x = &p.finish()[0];
        assert!(!x.distinct.exact && !x.quantiles_exact);
        assert!(x.top_error >= 250_000, "later chunks skipped counting: {}", x.top_error);
        assert_eq!(x.rows, 300_000);
        assert_eq!((x.min.as_deref(), x.max.as_deref()), (Some("0"), Some("249999")));
        let err = (x.distinct.value as f64 - 250_000.0).abs() / 250_000.0;
        assert!(err < 3.0 * x.distinct.error, "estimate {} for 250000", x.distinct.value);
        let p50 = x.quantiles[2].1;
        assert!((p50 - 125_000.0).abs() < 2_500.0, "median estimate {p50}");
    }
}
