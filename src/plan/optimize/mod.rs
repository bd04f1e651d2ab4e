//! Logical optimizer: a rule per file, applied in one fixed order.
//!
//! Order and why:
//! 1. `const_fold` — fold constant sub-expressions first, so later rules see
//!    `x > 10` rather than `x > 5 + 5`, and `filter true` disappears.
//! 2. `predicate_pushdown` — move filters towards (and into) scans, where they
//!    run on each chunk straight after parsing and prune Parquet row groups.
//! 3. `limit_pushdown` — move `head N` below projections so it meets a sort
//!    (for top-k) or a scan (for an early stop).
//! 4. `top_k` — `sort | head N` becomes a top-k.
//! 5. `projection_pushdown` — last, once filters sit in scans, so scans read
//!    exactly the columns anything above still needs.

mod const_fold;
mod limit_pushdown;
mod predicate_pushdown;
mod projection_pushdown;
mod top_k;

use super::logical::LogicalPlan;

/// One rewrite rule.
pub trait Rule {
    /// Stable name, shown by `explain`.
    fn name(&self) -> &'static str;
    /// Rewrites the plan; the flag says whether anything changed.
    fn rewrite(&self, plan: LogicalPlan) -> (LogicalPlan, bool);
}

/// The rules in the order they run.
pub fn rules() -> Vec<Box<dyn Rule>> {
    vec![
        Box::new(const_fold::ConstFold),
        Box::new(predicate_pushdown::PredicatePushdown),
        Box::new(limit_pushdown::LimitPushdown),
        Box::new(top_k::TopK),
        Box::new(projection_pushdown::ProjectionPushdown),
    ]
}

/// Applies every rule once, in order. Returns the plan and the names of
/// the rules that changed it.
pub fn optimize(mut plan: LogicalPlan) -> (LogicalPlan, Vec<&'static str>) {
    let mut applied = Vec::new();
    for rule in rules() {
        let (p, changed) = rule.rewrite(plan);
        plan = p;
        if changed {
            applied.push(rule.name());
        }
    }
    (plan, applied)
}

/// Rebuilds `plan` with `f` applied to each direct input.
pub(crate) fn map_inputs(plan: LogicalPlan, f: &mut dyn FnMut(LogicalPlan) -> LogicalPlan) -> LogicalPlan {
    use LogicalPlan as P;
    let mut b = |x: Box<P>| Box::new(f(*x));
    match plan {
        P::Scan(s) => P::Scan(s),
        P::Filter { input, predicate } => P::Filter { input: b(input), predicate },
        P::Project { input, columns, schema } => P::Project { input: b(input), columns, schema },
        P::Aggregate { input, keys, aggs, schema } => P::Aggregate { input: b(input), keys, aggs, schema },
        P::Window { input, by, order, funcs, schema } => P::Window { input: b(input), by, order, funcs, schema },
        P::Unpivot { input, ids, columns, schema } => P::Unpivot { input: b(input), ids, columns, schema },
        P::Sort { input, keys } => P::Sort { input: b(input), keys },
        P::TopK { input, keys, k } => P::TopK { input: b(input), keys, k },
        P::Limit { input, n } => P::Limit { input: b(input), n },
        P::LimitPerGroup { input, n, by } => P::LimitPerGroup { input: b(input), n, by },
        P::TopKPerGroup { input, keys, k, by } => P::TopKPerGroup { input: b(input), keys, k, by },
        P::Tail { input, n } => P::Tail { input: b(input), n },
        P::Slice { input, offset, n } => P::Slice { input: b(input), offset, n },
        P::Distinct { input } => P::Distinct { input: b(input) },
        P::Join { left, right, on, kind, asof, columns, schema } => {
            P::Join { left: b(left), right: b(right), on, kind, asof, columns, schema }
        }
        P::Union { inputs, schema } => P::Union { inputs: inputs.into_iter().map(f).collect(), schema },
        P::Sample { input, amount, seed } => P::Sample { input: b(input), amount, seed },
        P::Count { input } => P::Count { input: b(input) },
        P::Explode { input, column, separator } => P::Explode { input: b(input), column, separator },
        P::Reduce { input, stats, axis, columns, ints, schema } => {
            P::Reduce { input: b(input), stats, axis, columns, ints, schema }
        }
        P::Matrix { input, matrix, columns, schema } => P::Matrix { input: b(input), matrix, columns, schema },
        P::MatMul { input, columns, w, width, path, schema } => {
            P::MatMul { input: b(input), columns, w, width, path, schema }
        }
    }
}

#[cfg(test)]
pub(crate) mod test_util {

    use crate::plan::logical::{LogicalPlan, Scan};
    use crate::plan::types::{DType, Field, Schema};

    /// A scan of an in-test CSV with columns a:int, b:str, c:float.
    pub fn scan() -> LogicalPlan {
        // A file per call: rewriting a file another test has memory-mapped
        // would truncate it under that map (SIGBUS).
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("dq-opt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("t{n}.csv"));
        std::fs::write(&path, "a,b,c\n1,x,1.5\n").unwrap();
        let source = crate::io::Source::open(path.to_str().unwrap(), &Default::default()).unwrap();
        let schema = Schema::new(vec![
            Field { name: "a".into(), dtype: DType::Int },
            Field { name: "b".into(), dtype: DType::Str },
            Field { name: "c".into(), dtype: DType::Float },
        ]);
        let spec = crate::plan::Sources::default().add(source);
        LogicalPlan::Scan(Scan { spec, source_schema: schema, projection: None, filters: vec![] })
    }
}
