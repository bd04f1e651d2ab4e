//! Projection pushdown: walks down with the set of columns the parent
//! still needs, drops unused projected columns, and tells each scan to read
//! only what is needed (plus its pushed-down filters' columns).

use std::collections::HashSet;

use super::Rule;
use crate::plan::expr::Expr;
use crate::plan::logical::{JoinColumn, LogicalPlan};
use crate::plan::types::{Field, Schema};

/// The rule.
pub struct ProjectionPushdown;

impl Rule for ProjectionPushdown {
    fn name(&self) -> &'static str {
        "projection_pushdown"
    }

    fn rewrite(&self, plan: LogicalPlan) -> (LogicalPlan, bool) {
        let before = plan.display_tree();
        let plan = prune(plan, None);
        let changed = plan.display_tree() != before;
        (plan, changed)
    }
}

/// `a` then the columns of `b` not in it. Sets, not `Vec::contains`: an
/// array can have 10,000 columns.
fn union_cols(mut a: Vec<String>, b: impl IntoIterator<Item = String>) -> Vec<String> {
    let mut seen: HashSet<String> = a.iter().cloned().collect();
    for c in b {
        if seen.insert(c.clone()) {
            a.push(c);
        }
    }
    a
}

/// The names as a set, for membership tests.
fn set(names: &[String]) -> HashSet<&str> {
    names.iter().map(String::as_str).collect()
}

fn expr_cols<'a>(exprs: impl IntoIterator<Item = &'a Expr>) -> Vec<String> {
    let mut out = Vec::new();
    for e in exprs {
        e.columns_into(&mut out);
    }
    out
}

/// `required`: the output columns the parent reads (`None`: all of them).
fn prune(plan: LogicalPlan, required: Option<Vec<String>>) -> LogicalPlan {
    let extend = |extra: Vec<String>| required.clone().map(|r| union_cols(r, extra));
    match plan {
        LogicalPlan::Scan(mut s) => {
            let mut need = required.unwrap_or_else(|| s.source_schema.names());
            need = union_cols(need, expr_cols(&s.filters));
            // Keep the source's column order.
            let need = set(&need);
            s.projection = Some(s.source_schema.names().into_iter().filter(|c| need.contains(c.as_str())).collect());
            LogicalPlan::Scan(s)
        }
        LogicalPlan::Filter { input, predicate } => {
            let need = extend(predicate.columns());
            LogicalPlan::Filter { input: Box::new(prune(*input, need)), predicate }
        }
        LogicalPlan::Project { input, columns, schema } => {
            let (columns, schema) = match &required {
                None => (columns, schema),
                Some(req) => {
                    let req = set(req);
                    let kept: Vec<(String, Expr)> =
                        columns.into_iter().filter(|(n, _)| req.contains(n.as_str())).collect();
                    let fields = schema.fields.into_iter().filter(|f| req.contains(f.name.as_str())).collect();
                    (kept, Schema::new(fields))
                }
            };
            let need = expr_cols(columns.iter().map(|(_, e)| e));
            LogicalPlan::Project { input: Box::new(prune(*input, Some(need))), columns, schema }
        }
        LogicalPlan::Aggregate { input, keys, aggs, schema } => {
            let mut need = expr_cols(keys.iter().map(|(_, e)| e));
            need = union_cols(need, expr_cols(aggs.iter().flat_map(|(_, a)| a.arg.iter().chain(a.arg2.iter()))));
            LogicalPlan::Aggregate { input: Box::new(prune(*input, Some(need))), keys, aggs, schema }
        }
        LogicalPlan::Window { input, by, order, funcs, schema } => {
            // The input's columns the parent reads, the keys and arguments.
            let made: HashSet<&str> = funcs.iter().map(|f| f.name.as_str()).collect();
            let need = required.map(|r| {
                let passed: Vec<String> = r.into_iter().filter(|c| !made.contains(c.as_str())).collect();
                let used = expr_cols(order.iter().map(|k| &k.expr).chain(funcs.iter().flat_map(|f| f.arg.iter())));
                union_cols(union_cols(passed, by.clone()), used)
            });
            let input = prune(*input, need);
            let mut fields = input.schema().fields;
            fields.extend(schema.fields.into_iter().filter(|f| made.contains(f.name.as_str())));
            LogicalPlan::Window { input: Box::new(input), by, order, funcs, schema: Schema::new(fields) }
        }
        // Every row multiplies: all columns below are read as they are.
        LogicalPlan::Unpivot { input, ids, columns, schema } => {
            let need = Some(union_cols(ids.clone(), columns.clone()));
            LogicalPlan::Unpivot { input: Box::new(prune(*input, need)), ids, columns, schema }
        }
        LogicalPlan::Sort { input, keys } => {
            let need = extend(expr_cols(keys.iter().map(|k| &k.expr)));
            LogicalPlan::Sort { input: Box::new(prune(*input, need)), keys }
        }
        LogicalPlan::TopK { input, keys, k } => {
            let need = extend(expr_cols(keys.iter().map(|k| &k.expr)));
            LogicalPlan::TopK { input: Box::new(prune(*input, need)), keys, k }
        }
        LogicalPlan::Limit { input, n } => LogicalPlan::Limit { input: Box::new(prune(*input, required)), n },
        LogicalPlan::LimitPerGroup { input, n, by } => {
            let need = extend(by.clone());
            LogicalPlan::LimitPerGroup { input: Box::new(prune(*input, need)), n, by }
        }
        LogicalPlan::TopKPerGroup { input, keys, k, by } => {
            let need = extend(union_cols(expr_cols(keys.iter().map(|k| &k.expr)), by.clone()));
            LogicalPlan::TopKPerGroup { input: Box::new(prune(*input, need)), keys, k, by }
        }
        LogicalPlan::Tail { input, n } => LogicalPlan::Tail { input: Box::new(prune(*input, required)), n },
        LogicalPlan::Slice { input, offset, n } => {
            LogicalPlan::Slice { input: Box::new(prune(*input, required)), offset, n }
        }
        LogicalPlan::Sample { input, amount, seed } => {
            LogicalPlan::Sample { input: Box::new(prune(*input, required)), amount, seed }
        }
        // Distinct compares whole rows: everything below is needed.
        LogicalPlan::Distinct { input } => LogicalPlan::Distinct { input: Box::new(prune(*input, None)) },
        LogicalPlan::Explode { input, column, separator } => {
            let need = extend(vec![column.clone()]);
            LogicalPlan::Explode { input: Box::new(prune(*input, need)), column, separator }
        }
        LogicalPlan::Count { input } => LogicalPlan::Count { input: Box::new(prune(*input, Some(Vec::new()))) },
        LogicalPlan::Matrix { input, matrix, columns, schema } => {
            let need = Some(columns.clone());
            LogicalPlan::Matrix { input: Box::new(prune(*input, need)), matrix, columns, schema }
        }
        LogicalPlan::MatMul { input, columns, w, width, path, schema } => {
            let need = Some(columns.clone());
            LogicalPlan::MatMul { input: Box::new(prune(*input, need)), columns, w, width, path, schema }
        }
        // Every column below is reduced (axis 1 and all need them all too).
        LogicalPlan::Reduce { input, stats, axis, columns, ints, schema } => {
            let need = Some(columns.clone());
            LogicalPlan::Reduce { input: Box::new(prune(*input, need)), stats, axis, columns, ints, schema }
        }
        LogicalPlan::Union { inputs, schema } => {
            let schema = match &required {
                None => schema,
                Some(req) => {
                    let req = set(req);
                    Schema::new(schema.fields.into_iter().filter(|f| req.contains(f.name.as_str())).collect())
                }
            };
            let inputs = inputs.into_iter().map(|i| prune(i, required.clone())).collect();
            LogicalPlan::Union { inputs, schema }
        }
        LogicalPlan::Join { left, right, on, kind, asof, columns: cols, schema } => {
            let wanted = |from_left: bool| -> Option<Vec<String>> {
                let req = set(required.as_ref()?);
                let mut v: Vec<String> = cols
                    .iter()
                    .filter(|c| c.from_left == from_left && req.contains(c.name.as_str()))
                    .map(|c| c.source.clone())
                    .collect();
                let keys = on.iter().map(|(l, r)| (l, r)).chain(asof.as_ref().map(|a| (&a.left, &a.right)));
                v = union_cols(v, keys.map(|(l, r)| if from_left { l.clone() } else { r.clone() }));
                Some(v)
            };
            let left = prune(*left, wanted(true));
            let right = prune(*right, wanted(false));
            // Keep the output columns whose source survived below, under the
            // names the join was given (the left keys always survive).
            let (ls, rs) = (left.schema(), right.schema());
            let (cols, schema) = match &required {
                Some(_) => {
                    let cols: Vec<JoinColumn> = cols
                        .into_iter()
                        .filter(|c| if c.from_left { ls.contains(&c.source) } else { rs.contains(&c.source) })
                        .collect();
                    let schema = Schema::new(
                        cols.iter().map(|c| Field { name: c.name.clone(), dtype: c.dtype.clone() }).collect(),
                    );
                    (cols, schema)
                }
                None => (cols, schema),
            };
            LogicalPlan::Join { left: Box::new(left), right: Box::new(right), on, kind, asof, columns: cols, schema }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::expr::{AggExpr, AggFunc};
    use crate::plan::optimize::test_util::scan;
    use crate::plan::types::DType;

    #[test]
    fn aggregate_reads_only_its_columns() {
        let plan = LogicalPlan::Aggregate {
            input: Box::new(scan()),
            keys: vec![("b".into(), Expr::Column("b".into()))],
            aggs: vec![(
                "s".into(),
                AggExpr {
                    func: AggFunc::Sum,
                    arg: Some(Expr::Column("c".into())),
                    quantile: None,
                    arg2: None,
                    separator: None,
                },
            )],
            schema: Schema::new(vec![
                Field { name: "b".into(), dtype: DType::Str },
                Field { name: "s".into(), dtype: DType::Float },
            ]),
        };
        let (plan, changed) = ProjectionPushdown.rewrite(plan);
        assert!(changed);
        assert!(plan.display_tree().contains("columns=[b, c]"), "{}", plan.display_tree());
    }

    #[test]
    fn count_reads_no_columns() {
        let (plan, _) = ProjectionPushdown.rewrite(LogicalPlan::Count { input: Box::new(scan()) });
        assert!(plan.display_tree().contains("columns=[]"), "{}", plan.display_tree());
    }
}
