//! Limit pushdown: `head N` moves below projections (which keep row
//! counts) so that it meets a sort (→ top-k) or a scan (→ early stop);
//! nested limits merge.

use super::{map_inputs, Rule};
use crate::plan::logical::LogicalPlan;

/// The rule.
pub struct LimitPushdown;

impl Rule for LimitPushdown {
    fn name(&self) -> &'static str {
        "limit_pushdown"
    }

    fn rewrite(&self, plan: LogicalPlan) -> (LogicalPlan, bool) {
        let mut changed = false;
        let plan = push(plan, &mut changed);
        (plan, changed)
    }
}

fn push(plan: LogicalPlan, changed: &mut bool) -> LogicalPlan {
    match plan {
        LogicalPlan::Limit { input, n } => match *input {
            LogicalPlan::Project { input: inner, columns, schema } => {
                *changed = true;
                let limited = push(LogicalPlan::Limit { input: inner, n }, changed);
                LogicalPlan::Project { input: Box::new(limited), columns, schema }
            }
            LogicalPlan::Limit { input: inner, n: m } => {
                *changed = true;
                push(LogicalPlan::Limit { input: inner, n: n.min(m) }, changed)
            }
            other => LogicalPlan::Limit { input: Box::new(push(other, changed)), n },
        },
        other => map_inputs(other, &mut |p| push(p, changed)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::expr::Expr;
    use crate::plan::optimize::test_util::scan;

    #[test]
    fn limit_moves_below_projection_and_merges() {
        let s = scan().schema();
        let project = LogicalPlan::Project {
            input: Box::new(scan()),
            columns: vec![("a".into(), Expr::Column("a".into()))],
            schema: crate::plan::types::Schema::new(vec![s.fields[0].clone()]),
        };
        let plan = LogicalPlan::Limit { input: Box::new(LogicalPlan::Limit { input: Box::new(project), n: 3 }), n: 5 };
        let (plan, changed) = LimitPushdown.rewrite(plan);
        assert!(changed);
        let text = plan.display_tree();
        assert!(text.starts_with("Project a\n  Limit 3\n    Scan"), "{text}");
    }
}
