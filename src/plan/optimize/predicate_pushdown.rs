//! Predicate pushdown: each `and`-ed part of a filter moves down through
//! projections (columns substituted by their definitions), sorts,
//! distinct, unions, group keys and the preserved side of joins, and
//! finally into the scan, where it runs on every chunk right after
//! parsing and prunes Parquet row groups by their statistics.

use super::{map_inputs, Rule};
use crate::plan::expr::Expr;
use crate::plan::logical::{JoinKind, LogicalPlan};

/// The rule.
pub struct PredicatePushdown;

impl Rule for PredicatePushdown {
    fn name(&self) -> &'static str {
        "predicate_pushdown"
    }

    fn rewrite(&self, plan: LogicalPlan) -> (LogicalPlan, bool) {
        let before = plan.display_tree();
        let plan = push(plan);
        let changed = plan.display_tree() != before;
        (plan, changed)
    }
}

fn push(plan: LogicalPlan) -> LogicalPlan {
    match plan {
        LogicalPlan::Filter { input, predicate } => {
            let input = push(*input);
            let preds = predicate.conjuncts().into_iter().cloned().collect();
            place(input, preds)
        }
        other => map_inputs(other, &mut push),
    }
}

fn wrap(plan: LogicalPlan, preds: Vec<Expr>) -> LogicalPlan {
    match preds.into_iter().reduce(Expr::and) {
        Some(predicate) => LogicalPlan::Filter { input: Box::new(plan), predicate },
        None => plan,
    }
}

/// Places `preds` as deep into `plan` as they can go.
fn place(plan: LogicalPlan, preds: Vec<Expr>) -> LogicalPlan {
    if preds.is_empty() {
        return plan;
    }
    match plan {
        LogicalPlan::Scan(mut s) => {
            s.filters.extend(preds);
            LogicalPlan::Scan(s)
        }
        LogicalPlan::Filter { input, predicate } => {
            let mut all: Vec<Expr> = predicate.conjuncts().into_iter().cloned().collect();
            all.extend(preds);
            place(*input, all)
        }
        LogicalPlan::Project { input, columns, schema } => {
            let substituted = preds
                .iter()
                .map(|p| {
                    p.map_columns(&|c| {
                        columns.iter().find(|(n, _)| n == c).map_or(Expr::Column(c.into()), |(_, e)| e.clone())
                    })
                })
                .collect();
            LogicalPlan::Project { input: Box::new(place(*input, substituted)), columns, schema }
        }
        LogicalPlan::Sort { input, keys } => LogicalPlan::Sort { input: Box::new(place(*input, preds)), keys },
        LogicalPlan::Distinct { input } => LogicalPlan::Distinct { input: Box::new(place(*input, preds)) },
        LogicalPlan::Union { inputs, schema } => {
            LogicalPlan::Union { inputs: inputs.into_iter().map(|i| place(i, preds.clone())).collect(), schema }
        }
        LogicalPlan::Aggregate { input, keys, aggs, schema } => {
            // Only predicates over plain key columns commute with grouping;
            // none commute with a global aggregate, which has one row even
            // over no input (`agg n = count() | filter false` is empty).
            let (down, keep): (Vec<Expr>, Vec<Expr>) = preds.into_iter().partition(|p| {
                !keys.is_empty()
                    && p.columns().iter().all(|c| keys.iter().any(|(n, e)| n == c && *e == Expr::Column(c.clone())))
            });
            let agg = LogicalPlan::Aggregate { input: Box::new(place(*input, down)), keys, aggs, schema };
            wrap(agg, keep)
        }
        LogicalPlan::Join { left, right, on, kind, asof, columns: cols, schema } => {
            let left_ok = matches!(kind, JoinKind::Inner | JoinKind::Left | JoinKind::Semi | JoinKind::Anti);
            // An as-of join's right rows compete for each left row: filtering
            // them first would change which one wins.
            let right_ok = matches!(kind, JoinKind::Inner | JoinKind::Right) && asof.is_none();
            // A side whose rows the join may drop takes only filters that
            // cannot fail (see `Expr::may_fail`).
            let left_kept = matches!(kind, JoinKind::Left);
            let right_kept = matches!(kind, JoinKind::Right);
            let (mut to_left, mut to_right, mut keep) = (Vec::new(), Vec::new(), Vec::new());
            for p in preds {
                let used = p.columns();
                let origin = |from_left: bool| {
                    used.iter().all(|c| cols.iter().any(|jc| jc.name == *c && jc.from_left == from_left))
                };
                let fails = p.may_fail();
                if left_ok && origin(true) && (left_kept || !fails) {
                    to_left.push(p);
                } else if right_ok && origin(false) && (right_kept || !fails) {
                    to_right.push(p.map_columns(&|c| {
                        Expr::Column(cols.iter().find(|jc| jc.name == c).map_or(c.to_string(), |jc| jc.source.clone()))
                    }));
                } else {
                    keep.push(p);
                }
            }
            let join = LogicalPlan::Join {
                left: Box::new(place(*left, to_left)),
                right: Box::new(place(*right, to_right)),
                on,
                kind,
                asof,
                columns: cols,
                schema,
            };
            wrap(join, keep)
        }
        other => wrap(other, preds),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::expr::{BinOp, Value};
    use crate::plan::logical::SortKey;
    use crate::plan::optimize::test_util::scan;

    #[test]
    fn filter_moves_through_sort_and_renaming_project_into_scan() {
        let s = scan().schema();
        let project = LogicalPlan::Project {
            input: Box::new(scan()),
            columns: vec![("x".into(), Expr::Column("a".into()))],
            schema: crate::plan::types::Schema::new(vec![crate::plan::types::Field {
                name: "x".into(),
                dtype: s.fields[0].dtype.clone(),
            }]),
        };
        let sort = LogicalPlan::Sort {
            input: Box::new(project),
            keys: vec![SortKey { expr: Expr::Column("x".into()), descending: false }],
        };
        let pred = Expr::Binary {
            op: BinOp::Gt,
            left: Box::new(Expr::Column("x".into())),
            right: Box::new(Expr::Literal(Value::Int(1))),
        };
        let (plan, changed) = PredicatePushdown.rewrite(LogicalPlan::Filter { input: Box::new(sort), predicate: pred });
        assert!(changed);
        let text = plan.display_tree();
        assert!(text.starts_with("Sort x\n  Project x = a\n    Scan "), "{text}");
        assert!(text.ends_with(" columns=* filters=[(a > 1)]\n"), "{text}");
    }

    #[test]
    fn filter_stays_above_limit() {
        let pred = Expr::Binary {
            op: BinOp::Gt,
            left: Box::new(Expr::Column("a".into())),
            right: Box::new(Expr::Literal(Value::Int(1))),
        };
        let limit = LogicalPlan::Limit { input: Box::new(scan()), n: 5 };
        let (plan, _) = PredicatePushdown.rewrite(LogicalPlan::Filter { input: Box::new(limit), predicate: pred });
        assert!(plan.display_tree().starts_with("Filter (a > 1)\n  Limit 5"), "{}", plan.display_tree());
    }
}
