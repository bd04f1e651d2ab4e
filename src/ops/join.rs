//! Hash joins. The right side is built once (a stage of its own, already
//! renamed so that its keys carry the left key names and its other columns
//! their output names) and handed to every left chunk:
//!
//! * [`BroadcastJoin`] (inner, left, semi, anti): each left chunk joins the
//!   whole right side independently — streaming, order of left chunks kept.
//!   Keys the group-id kernel hashes (integers, dates, text) are looked up
//!   in an index of the right side built once ([`JoinIndex`]); others
//!   (floats) go through polars' join, which hashes the right side again
//!   for every chunk.
//! * [`GatherJoin`] (right, full): unmatched right rows must appear once,
//!   so the left side is gathered and joined in one go.
//!
//! Null keys never match (SQL semantics). An as-of join takes the same
//! two paths, matching with [`super::asof_join`] instead of polars.

use std::sync::OnceLock;

use polars::prelude::*;

use super::asof_join::{self, AsofIndex, AsofSpec};
use super::group_ids::{JoinIndex, NO_ROW};
use super::{concat, run_lazy, ChunkCtx, ChunkOp, Sink, Spill};

/// What both join operators need.
#[derive(Clone)]
pub struct JoinSpec {
    /// Index of the build side among the stage's side inputs.
    pub side: usize,
    /// Left key columns (the right side uses the same names).
    pub keys: Vec<String>,
    /// Common key type, both sides are cast to it.
    pub key_types: Vec<DataType>,
    /// polars join type.
    pub how: JoinType,
    /// Output columns in order.
    pub output: Vec<String>,
    /// Kind name for explain.
    pub label: String,
    /// An as-of join (`how` is then inner or left).
    pub asof: Option<AsofSpec>,
}

impl JoinSpec {
    /// The keys cast to their common type (as both sides are hashed).
    pub fn key_exprs(&self) -> Vec<Expr> {
        self.keys.iter().zip(&self.key_types).map(|(k, t)| col(k.as_str()).cast(t.clone())).collect()
    }

    /// Whether a broadcast join of this kind is done by a [`JoinIndex`] of
    /// the right side (else by polars' join of each chunk).
    pub fn indexed(&self) -> bool {
        self.asof.is_none()
            && matches!(self.how, JoinType::Inner | JoinType::Left | JoinType::Semi | JoinType::Anti)
            && self.key_types.iter().all(JoinIndex::takes)
    }

    /// The same join with another kind.
    pub fn with_how(&self, how: JoinType) -> JoinSpec {
        JoinSpec { how, ..self.clone() }
    }

    /// The distinct keys of `df` (cast to the common key types).
    pub fn distinct_keys(&self, df: DataFrame) -> PolarsResult<DataFrame> {
        let keys = self.key_exprs().into_iter().zip(&self.keys).map(|(e, k)| e.alias(k.as_str())).collect::<Vec<_>>();
        run_lazy(df, |lf| lf.select(keys).unique(None, UniqueKeepStrategy::Any))
    }

    /// `df`'s key columns cast to the common key types.
    fn cast_keys(&self, df: &DataFrame) -> PolarsResult<Vec<Column>> {
        self.keys.iter().zip(&self.key_types).map(|(k, t)| df.column(k)?.cast(t)).collect()
    }

    /// The keys cast to their common type under temporary names, so that
    /// the key columns themselves keep their own types (an int key joined
    /// with a float one stays an int).
    pub(super) fn join_keys(&self) -> (Vec<Expr>, Vec<Expr>) {
        let names: Vec<String> = (0..self.keys.len()).map(|i| format!("__dq_jk{i}")).collect();
        let casts = self.key_exprs().into_iter().zip(&names).map(|(e, n)| e.alias(n.as_str())).collect();
        (casts, names.iter().map(|n| col(n.as_str())).collect())
    }

    /// Rows of `df` whose keys are not among `keys` (null keys never match),
    /// with all of `df`'s columns.
    pub fn rows_without(&self, df: DataFrame, keys: &DataFrame) -> PolarsResult<DataFrame> {
        let (casts, on) = self.join_keys();
        let keys = keys.clone().lazy().with_columns(casts.clone());
        let columns: Vec<Expr> = df.get_column_names().iter().map(|c| col(c.as_str())).collect();
        run_lazy(df, move |lf| {
            lf.with_columns(casts).join(keys, on.clone(), on, JoinArgs::new(JoinType::Anti)).select(columns)
        })
    }

    /// Joins `left` with `right` (the right side already renamed).
    pub fn join(&self, left: DataFrame, right: &DataFrame) -> PolarsResult<DataFrame> {
        if let Some(asof) = &self.asof {
            let index = AsofIndex::build(self, asof, right)?;
            return asof_join::join(self, asof, &index, left, right);
        }
        let output: Vec<Expr> = self.output.iter().map(|c| col(c.as_str())).collect();
        let how = self.how.clone();
        // Left rows in their order (polars may otherwise pick either side to
        // build); the matches of one left row come in no defined order.
        // (`LazyFrame::join` would drop `maintain_order`: the builder keeps it.)
        let joined = move |lf: LazyFrame, right: LazyFrame, on: Vec<Expr>| {
            lf.join_builder()
                .with(right)
                .left_on(on.clone())
                .right_on(on)
                .how(how)
                .coalesce(JoinCoalesce::CoalesceColumns)
                .maintain_order(MaintainOrderJoin::Left)
                .finish()
        };
        if matches!(self.how, JoinType::Right | JoinType::Full) {
            // The output key comes from either side: both are cast in place.
            let casts = self.key_exprs();
            let on: Vec<Expr> = self.keys.iter().map(|k| col(k.as_str())).collect();
            let right = right.clone().lazy().with_columns(casts.clone());
            return run_lazy(left, move |lf| joined(lf.with_columns(casts), right, on).select(output));
        }
        let (casts, on) = self.join_keys();
        let keys: Vec<PlSmallStr> = self.keys.iter().map(|k| PlSmallStr::from(k.as_str())).collect();
        let right = right.clone().lazy().with_columns(casts.clone()).select([all().exclude(keys)]);
        run_lazy(left, move |lf| joined(lf.with_columns(casts), right, on).select(output))
    }
}

/// Joins each left chunk with the whole right side.
pub struct BroadcastJoin {
    spec: JoinSpec,
    /// An as-of join's index of the right side, built by the first chunk.
    asof_index: OnceLock<AsofIndex>,
    /// The right side indexed by key, built by the first chunk (`None`:
    /// keys the index does not take, joined by polars).
    index: OnceLock<Option<Indexed>>,
}

/// The right side of a hash join, indexed.
struct Indexed {
    index: JoinIndex,
    /// Rows of the right side indexed (a guard: a stage's side input is
    /// one frame for all its chunks).
    rows: usize,
    /// The right side's columns that reach the output, one chunk each.
    columns: DataFrame,
}

impl BroadcastJoin {
    /// Joins every chunk with side input `spec.side`.
    pub fn new(spec: JoinSpec) -> Self {
        BroadcastJoin { spec, asof_index: OnceLock::new(), index: OnceLock::new() }
    }
}

impl Indexed {
    /// `right`'s keys indexed, or `None` when the index does not take
    /// their types (or a cast fails: polars' join then reports it).
    fn build(spec: &JoinSpec, right: &DataFrame) -> Option<Indexed> {
        let keys: Vec<Column> = spec.cast_keys(right).ok()?;
        let index = JoinIndex::build(&keys.iter().collect::<Vec<_>>())?;
        let outputs: Vec<Column> = right
            .get_columns()
            .iter()
            .filter(|c| {
                spec.output.iter().any(|o| o == c.name().as_str()) && !spec.keys.iter().any(|k| k == c.name().as_str())
            })
            .cloned()
            .collect();
        let mut columns = DataFrame::new(outputs).ok()?;
        columns.as_single_chunk_par();
        Some(Indexed { index, rows: right.height(), columns })
    }

    /// Joins `left` with the indexed right side as `spec` says (inner,
    /// left, semi or anti), left rows in order; `None` when `left`'s key
    /// types are not the index's.
    fn join(&self, spec: &JoinSpec, left: DataFrame) -> PolarsResult<Option<DataFrame>> {
        let keys = spec.cast_keys(&left)?;
        let Some(first) = self.index.first_matches(&keys.iter().collect::<Vec<_>>()) else {
            return Ok(None);
        };
        let (mut lefts, mut rights): (Vec<IdxSize>, Vec<IdxSize>) = (Vec::new(), Vec::new());
        let mut unmatched: Vec<usize> = Vec::new();
        for (row, &f) in first.iter().enumerate() {
            match spec.how {
                JoinType::Semi if f != NO_ROW => lefts.push(row as IdxSize),
                JoinType::Anti if f == NO_ROW => lefts.push(row as IdxSize),
                JoinType::Left if f == NO_ROW => {
                    // No right row: nulls on the right (marked after).
                    unmatched.push(rights.len());
                    lefts.push(row as IdxSize);
                    rights.push(0);
                }
                JoinType::Inner | JoinType::Left => {
                    let mut m = f;
                    while m != NO_ROW {
                        lefts.push(row as IdxSize);
                        rights.push(m as IdxSize);
                        m = self.index.next_match(m);
                    }
                }
                _ => {}
            }
        }
        let lefts = IdxCa::from_vec(PlSmallStr::EMPTY, lefts);
        let rights = if unmatched.is_empty() {
            IdxCa::from_vec(PlSmallStr::EMPTY, rights)
        } else {
            let mut valid = vec![true; rights.len()];
            unmatched.iter().for_each(|&i| valid[i] = false);
            IdxCa::from_iter_options(PlSmallStr::EMPTY, rights.into_iter().zip(valid).map(|(r, ok)| ok.then_some(r)))
        };
        let columns = spec
            .output
            .iter()
            .map(|name| match left.column(name) {
                Ok(c) => c.take(&lefts),
                Err(_) => self.columns.column(name)?.take(&rights),
            })
            .collect::<PolarsResult<Vec<_>>>()?;
        DataFrame::new(columns).map(Some)
    }
}

impl ChunkOp for BroadcastJoin {
    fn name(&self) -> &'static str {
        "broadcast_join"
    }

    fn describe(&self) -> String {
        let asof = match &self.spec.asof {
            Some(a) => format!(" asof {} = {} {}", a.left, a.right, a.direction.name()),
            None => String::new(),
        };
        let how = if self.spec.asof.is_some() {
            "right side built once, probed per chunk"
        } else if self.spec.indexed() {
            "right side indexed once, probed per chunk; both sides partitioned to disk if it and its index pass 2/3 of the memory budget"
        } else {
            "polars' join of each chunk with the right side; both sides partitioned to disk if three times it passes 1/4 of the memory budget"
        };
        format!("broadcast_join {} on {}{asof} ({how})", self.spec.label, self.spec.keys.join(", "))
    }

    fn prepare(&self, sides: &[DataFrame]) -> PolarsResult<()> {
        if let Some(right) = sides.get(self.spec.side).filter(|_| self.spec.indexed()) {
            self.index.get_or_init(|| Indexed::build(&self.spec, right));
        }
        Ok(())
    }

    fn apply(&self, df: DataFrame, ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        let right = &ctx.side[self.spec.side];
        let Some(asof) = &self.spec.asof else {
            if self.spec.indexed() {
                // Built by `prepare`, or else by the first chunk while the
                // others wait for it.
                let indexed = self.index.get_or_init(|| Indexed::build(&self.spec, right));
                if let Some(indexed) = indexed.as_ref().filter(|i| i.rows == right.height()) {
                    if let Some(joined) = indexed.join(&self.spec, df.clone())? {
                        return Ok(joined);
                    }
                }
            }
            return self.spec.join(df, right);
        };
        // Every chunk probes the same right side: indexed once (two
        // threads may both build it at the start; one index is kept).
        let index = match self.asof_index.get() {
            Some(index) => index,
            None => {
                let built = AsofIndex::build(&self.spec, asof, right)?;
                self.asof_index.get_or_init(|| built)
            }
        };
        asof_join::join(&self.spec, asof, index, df, right)
    }

    fn as_join(&self) -> Option<&JoinSpec> {
        Some(&self.spec)
    }
}

/// Gathers the left side, then joins once (right and full joins).
pub struct GatherJoin(pub JoinSpec);

impl Sink for GatherJoin {
    fn name(&self) -> &'static str {
        "gather_join"
    }

    fn describe(&self) -> String {
        format!("gather_join {} on {} (left gathered, joined once)", self.0.label, self.0.keys.join(", "))
    }

    fn partial(&self, df: DataFrame, _ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        Ok(df)
    }

    fn spill(&self) -> Spill {
        Spill::ByKeys { keys: self.0.key_exprs(), side: Some(self.0.side) }
    }

    fn as_join(&self) -> Option<&JoinSpec> {
        Some(&self.0)
    }

    fn finish(&self, partials: Vec<DataFrame>, ctx: &ChunkCtx) -> PolarsResult<Vec<DataFrame>> {
        Ok(vec![self.0.join(concat(partials)?, &ctx.side[self.0.side])?])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `prepare` builds the index of the side input before any chunk, and
    /// chunks then join through it: every left row with each right row of
    /// its key, in left order, as a nested loop finds them.
    #[test]
    fn prepare_indexes_the_side_and_chunks_join_through_it() {
        let right = df!("k" => (0..50_000i64).map(|i| i % 40_000).collect::<Vec<_>>(), "r" => (0..50_000i64).collect::<Vec<_>>()).unwrap();
        let left = df!("k" => [39_999i64, 5, -1, 12_345]).unwrap();
        let spec = JoinSpec {
            side: 0,
            keys: vec!["k".into()],
            key_types: vec![DataType::Int64],
            how: JoinType::Inner,
            output: vec!["k".into(), "r".into()],
            label: "inner".into(),
            asof: None,
        };
        let join = BroadcastJoin::new(spec);
        let sides = [right];
        join.prepare(&sides).unwrap();
        assert!(join.index.get().is_some_and(Option::is_some), "indexed before the first chunk");
        let ctx = ChunkCtx { index: 0, side: &sides, lane: None };
        let out = join.apply(left, &ctx).unwrap();
        let pairs: Vec<(i64, i64)> = out
            .column("k")
            .unwrap()
            .i64()
            .unwrap()
            .into_no_null_iter()
            .zip(out.column("r").unwrap().i64().unwrap().into_no_null_iter())
            .collect();
        let mut want = Vec::new();
        for k in [39_999i64, 5, -1, 12_345] {
            want.extend((0..50_000i64).filter(|r| r % 40_000 == k).map(|r| (k, r)));
        }
        assert_eq!(pairs, want);
    }
}
