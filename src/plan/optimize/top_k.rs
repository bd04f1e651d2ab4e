//! Top-k: `sort keys | head N` becomes one `TopK` node, which keeps at most
//! N rows per chunk instead of sorting everything; `sort keys | head N by g`
//! likewise becomes `TopKPerGroup` (N rows per group per chunk).

use super::{map_inputs, Rule};
use crate::plan::logical::LogicalPlan;

/// The rule.
pub struct TopK;

impl Rule for TopK {
    fn name(&self) -> &'static str {
        "top_k"
    }

    fn rewrite(&self, plan: LogicalPlan) -> (LogicalPlan, bool) {
        let mut changed = false;
        let plan = apply(plan, &mut changed);
        (plan, changed)
    }
}

fn apply(plan: LogicalPlan, changed: &mut bool) -> LogicalPlan {
    let plan = map_inputs(plan, &mut |p| apply(p, changed));
    match plan {
        LogicalPlan::Limit { input, n } => match *input {
            LogicalPlan::Sort { input, keys } => {
                *changed = true;
                LogicalPlan::TopK { input, keys, k: n }
            }
            other => LogicalPlan::Limit { input: Box::new(other), n },
        },
        LogicalPlan::LimitPerGroup { input, n, by } => match *input {
            LogicalPlan::Sort { input, keys } => {
                *changed = true;
                LogicalPlan::TopKPerGroup { input, keys, k: n, by }
            }
            other => LogicalPlan::LimitPerGroup { input: Box::new(other), n, by },
        },
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::expr::Expr;
    use crate::plan::logical::SortKey;
    use crate::plan::optimize::test_util::scan;

    #[test]
    fn sort_then_head_is_top_k() {
        let sort = LogicalPlan::Sort {
            input: Box::new(scan()),
            keys: vec![SortKey { expr: Expr::Column("c".into()), descending: true }],
        };
        let (plan, changed) = TopK.rewrite(LogicalPlan::Limit { input: Box::new(sort), n: 3 });
        assert!(changed);
        assert!(plan.display_tree().starts_with("TopK k=3 c desc\n  Scan"), "{}", plan.display_tree());
    }
}
