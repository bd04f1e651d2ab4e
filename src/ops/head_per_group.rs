//! `head N by g`: the first N rows of each group, in input order; with a
//! sort spec (`sort ... | head N by g`) a per-group top-k: every chunk
//! keeps N rows per group, then the same over all chunks, so the input is
//! never sorted whole. A single numeric sort key first drops the rows past
//! their group's N-th best value (`top_candidates.rs`), so only the few
//! that may be kept are sorted; a chunk's partial is not sorted at all: it
//! keeps exactly its top N rows per group in input order, for the finish
//! to sort.

use polars::prelude::*;

use super::group_ids::group_rows;
use super::top_candidates::{top_candidates, top_rows};
use super::{concat, run_lazy, ChunkCtx, Sink, SortSpec, Spill};

/// The first `n` rows of each group (rows given their group ids, groups
/// numbered by first appearance), group after group in that order and in
/// row order within a group: what polars' `group_by_stable(..).head(n)`
/// gives, without a row-index vector per group.
fn first_rows_per_group(ids: &[u32], groups: usize, n: usize) -> Vec<IdxSize> {
    let mut start = crate::ops::filled(0usize, groups + 1);
    for &g in ids {
        let kept = &mut start[g as usize + 1];
        *kept = (*kept + 1).min(n);
    }
    for g in 0..groups {
        start[g + 1] += start[g];
    }
    let mut out = vec![0 as IdxSize; start[groups]];
    let mut next = start.clone();
    for (row, &g) in ids.iter().enumerate() {
        let g = g as usize;
        if next[g] < start[g + 1] {
            out[next[g]] = row as IdxSize;
            next[g] += 1;
        }
    }
    out
}

/// The per-group head / top-k sink.
pub struct HeadPerGroup {
    /// Rows per group.
    pub n: u64,
    /// Group keys.
    pub by: Vec<String>,
    /// Sort order for a top-k; `None` keeps input order.
    pub spec: Option<SortSpec>,
    /// Output columns in order (grouping puts the keys first).
    pub columns: Vec<String>,
}

impl HeadPerGroup {
    /// The first (or top) N rows of each group, with every input column:
    /// partials keep the keys and sort columns for the next round.
    fn keep(&self, df: DataFrame) -> PolarsResult<DataFrame> {
        let df = match &self.spec {
            Some(spec) => spec.sort(self.candidates(df, spec)?)?,
            None => df,
        };
        if df.height() == 0 {
            return Ok(df);
        }
        let keys = self.by.iter().map(|k| df.column(k)).collect::<PolarsResult<Vec<&Column>>>()?;
        if let Some(groups) = group_rows(&keys) {
            let rows = first_rows_per_group(&groups.ids, groups.len(), self.n as usize);
            return df.take(&IdxCa::from_vec(PlSmallStr::EMPTY, rows));
        }
        let by: Vec<Expr> = self.by.iter().map(|k| col(k.as_str())).collect();
        let n = self.n as usize;
        let names: Vec<Expr> = df.get_column_names().iter().map(|c| col(c.as_str())).collect();
        // polars' grouped head takes N values of each non-key column: with
        // only keys it would give one row per group, so pad with a column.
        let only_keys = df.get_column_names().iter().all(|c| self.by.iter().any(|k| k.as_str() == c.as_str()));
        // Stable grouping keeps rows in their (sorted) order within a group.
        run_lazy(df, move |lf| {
            let lf = if only_keys { lf.with_column(lit(true).alias("__dq_pad")) } else { lf };
            lf.group_by_stable(by).head(Some(n)).select(names)
        })
    }

    /// The rows that may be in their group's top N (see
    /// [`top_candidates`]), in input order; all of them when that does not
    /// apply (several sort keys, an expression, other types).
    fn candidates(&self, df: DataFrame, spec: &SortSpec) -> PolarsResult<DataFrame> {
        let ([Expr::Column(key)], [descending]) = (spec.exprs.as_slice(), spec.descending.as_slice()) else {
            return Ok(df);
        };
        let keys = self.by.iter().map(|k| df.column(k)).collect::<PolarsResult<Vec<&Column>>>()?;
        let Some(groups) = group_rows(&keys) else {
            return Ok(df);
        };
        match top_candidates(&df, &groups, key, *descending, self.n as usize) {
            Some(mask) => df.filter(&mask),
            None => Ok(df),
        }
    }

    /// The rows [`Self::keep`] keeps, in input order instead of sorted,
    /// when the sort is by one numeric column ([`top_rows`]).
    fn top_rows_in_input_order(&self, df: &DataFrame) -> Option<Vec<IdxSize>> {
        let spec = self.spec.as_ref()?;
        let ([Expr::Column(key)], [descending]) = (spec.exprs.as_slice(), spec.descending.as_slice()) else {
            return None;
        };
        let keys = self.by.iter().map(|k| df.column(k).ok()).collect::<Option<Vec<&Column>>>()?;
        let groups = group_rows(&keys)?;
        top_rows(df, &groups, key, *descending, self.n as usize)
    }

    /// The output columns of the kept rows (none: only the row count).
    fn output(&self, df: DataFrame) -> PolarsResult<DataFrame> {
        if self.columns.is_empty() {
            return Ok(super::height_only(df.height()));
        }
        df.select(self.columns.iter().map(|c| c.as_str()))
    }
}

impl Sink for HeadPerGroup {
    fn name(&self) -> &'static str {
        if self.spec.is_some() {
            "top_k_per_group"
        } else {
            "head_per_group"
        }
    }

    fn describe(&self) -> String {
        match &self.spec {
            Some(spec) => format!(
                "top_k_per_group k={} by {} in order {} (k rows per group per chunk, then of all)",
                self.n,
                self.by.join(", "),
                spec.describe()
            ),
            None => format!(
                "head_per_group {} by {} (first rows of each group, in input order)",
                self.n,
                self.by.join(", ")
            ),
        }
    }

    fn partial(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        // A chunk's top rows need not be in order (the finish sorts what
        // the chunks kept): pick them without sorting where the key allows.
        if let Some(rows) = self.top_rows_in_input_order(&df) {
            return df.take(&IdxCa::from_vec(PlSmallStr::EMPTY, rows));
        }
        self.keep(df)
    }

    fn spill(&self) -> Spill {
        Spill::ByKeys { keys: self.by.iter().map(|k| col(k.as_str())).collect(), side: None }
    }

    fn finish(&self, partials: Vec<DataFrame>, _ctx: &ChunkCtx) -> PolarsResult<Vec<DataFrame>> {
        Ok(vec![self.output(self.keep(concat(partials)?)?)?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The kernel's rows are polars' `group_by_stable(..).head(n)` rows, in
    /// the same order, nulls forming their own group.
    #[test]
    fn first_rows_per_group_match_a_stable_grouped_head() {
        let mut rng = crate::test_rng::Rng(0x2545_F491_4F6C_DD1D);
        let keys: Vec<Option<i64>> = (0..3000)
            .map(|_| {
                let x = rng.next();
                (!x.is_multiple_of(11)).then_some((x % 97) as i64)
            })
            .collect();
        let row: Vec<u32> = (0..3000).collect();
        let df = df!("k" => &keys, "row" => &row).unwrap();
        for n in [1usize, 2, 5, 100] {
            let groups = group_rows(&[df.column("k").unwrap()]).unwrap();
            let ours =
                df.take(&IdxCa::from_vec("".into(), first_rows_per_group(&groups.ids, groups.len(), n))).unwrap();
            let polars = df
                .clone()
                .lazy()
                .group_by_stable([col("k")])
                .head(Some(n))
                .select([col("k"), col("row")])
                .collect()
                .unwrap();
            assert!(ours.equals_missing(&polars), "n={n}\nours {ours}\npolars {polars}");
        }
    }

    /// `sort key | head n by g` keeps the rows a full stable sort and a
    /// per-group head keep (computed here directly), in the same order,
    /// whether or not the threshold filter applies: ties (int keys from a
    /// few values), -0.0 and 0.0, groups shorter than n, both directions,
    /// and a key with nulls (no filter).
    #[test]
    fn top_rows_per_group_match_a_full_sort_and_head() {
        let mut rng = crate::test_rng::Rng(0x9E37_79B9_7F4A_7C15);
        let rows = 4000;
        let g: Vec<i64> = (0..rows).map(|_| rng.below(300) as i64).collect();
        let x: Vec<i64> = (0..rows).map(|_| rng.below(6) as i64).collect();
        let floats = [0.0, -0.0, 1.5, -2.25, 1e300];
        let f: Vec<f64> = (0..rows).map(|_| floats[rng.below(5) as usize]).collect();
        let xn: Vec<Option<i64>> = x.iter().map(|&v| (v != 3).then_some(v)).collect();
        let row: Vec<u32> = (0..rows as u32).collect();
        let df = df!("g" => &g, "x" => &x, "f" => &f, "xn" => &xn, "row" => &row).unwrap();
        for key in ["x", "f", "xn"] {
            for descending in [false, true] {
                for n in [1usize, 2, 3, 40] {
                    let spec = SortSpec { exprs: vec![col(key)], descending: vec![descending], labels: vec![] };
                    let sink = HeadPerGroup { n: n as u64, by: vec!["g".into()], spec: Some(spec), columns: vec![] };
                    let got: Vec<u32> = sink
                        .keep(df.clone())
                        .unwrap()
                        .column("row")
                        .unwrap()
                        .u32()
                        .unwrap()
                        .into_no_null_iter()
                        .collect();
                    // Stable sort by the key (nulls last), then each group's first n rows, groups in order of appearance.
                    let value = |r: usize| df.column(key).unwrap().get(r).unwrap().extract::<f64>();
                    let mut order: Vec<usize> = (0..rows).collect();
                    order.sort_by(|&a, &b| match (value(a), value(b)) {
                        (Some(va), Some(vb)) => {
                            let o = va.partial_cmp(&vb).unwrap();
                            if descending {
                                o.reverse()
                            } else {
                                o
                            }
                        }
                        (None, Some(_)) => std::cmp::Ordering::Greater,
                        (Some(_), None) => std::cmp::Ordering::Less,
                        (None, None) => std::cmp::Ordering::Equal,
                    });
                    let mut taken: std::collections::HashMap<i64, usize> = Default::default();
                    let mut group_order: Vec<i64> = Vec::new();
                    let mut by_group: std::collections::HashMap<i64, Vec<u32>> = Default::default();
                    for r in order {
                        let t = taken.entry(g[r]).or_insert_with(|| {
                            group_order.push(g[r]);
                            0
                        });
                        if *t < n {
                            *t += 1;
                            by_group.entry(g[r]).or_default().push(r as u32);
                        }
                    }
                    let want: Vec<u32> = group_order.iter().flat_map(|k| by_group[k].clone()).collect();
                    assert_eq!(got, want, "sort {key} desc={descending} | head {n} by g");
                    // A chunk's partial: the same rows picked without a sort, in input order.
                    let groups = group_rows(&[df.column("g").unwrap()]).unwrap();
                    let picked = top_rows(&df, &groups, key, descending, n);
                    assert_eq!(picked.is_some(), key != "xn" && n <= 16, "when {key} n={n} is picked unsorted");
                    if let Some(picked) = picked {
                        let mut in_order = want.clone();
                        in_order.sort_unstable();
                        assert_eq!(picked, in_order, "unsorted pick of sort {key} desc={descending} | head {n} by g");
                    }
                }
            }
        }
    }
}
