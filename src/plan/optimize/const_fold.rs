//! Constant folding: arithmetic, comparisons and boolean logic on literals
//! are computed at plan time; `filter true` is removed.

use super::{map_inputs, Rule};
use crate::plan::expr::{BinOp, Expr, Value};
use crate::plan::logical::LogicalPlan;

/// The rule.
pub struct ConstFold;

impl Rule for ConstFold {
    fn name(&self) -> &'static str {
        "const_fold"
    }

    fn rewrite(&self, plan: LogicalPlan) -> (LogicalPlan, bool) {
        let mut changed = false;
        let plan = fold_plan(plan, &mut changed);
        (plan, changed)
    }
}

fn fold_plan(plan: LogicalPlan, changed: &mut bool) -> LogicalPlan {
    let plan = map_inputs(plan, &mut |p| fold_plan(p, changed));
    match plan {
        LogicalPlan::Filter { input, predicate } => {
            let predicate = fold(predicate, changed);
            if predicate == Expr::Literal(Value::Bool(true)) {
                *changed = true;
                return *input;
            }
            LogicalPlan::Filter { input, predicate }
        }
        LogicalPlan::Project { input, columns, schema } => LogicalPlan::Project {
            input,
            columns: columns.into_iter().map(|(n, e)| (n, fold(e, changed))).collect(),
            schema,
        },
        other => other,
    }
}

/// Folds constant sub-expressions of `e`.
pub fn fold(e: Expr, changed: &mut bool) -> Expr {
    match e {
        Expr::Binary { op, left, right } => {
            let l = fold(*left, changed);
            let r = fold(*right, changed);
            if let (Expr::Literal(a), Expr::Literal(b)) = (&l, &r) {
                if let Some(v) = eval(op, a, b) {
                    *changed = true;
                    return Expr::Literal(v);
                }
            }
            // `true and x` → x, `false or x` → x.
            match (op, &l, &r) {
                (BinOp::And, Expr::Literal(Value::Bool(true)), _)
                | (BinOp::Or, Expr::Literal(Value::Bool(false)), _) => {
                    *changed = true;
                    return r;
                }
                (BinOp::And, _, Expr::Literal(Value::Bool(true)))
                | (BinOp::Or, _, Expr::Literal(Value::Bool(false))) => {
                    *changed = true;
                    return l;
                }
                _ => {}
            }
            Expr::Binary { op, left: Box::new(l), right: Box::new(r) }
        }
        Expr::Not(x) => match fold(*x, changed) {
            Expr::Literal(Value::Bool(b)) => {
                *changed = true;
                Expr::Literal(Value::Bool(!b))
            }
            x => Expr::Not(Box::new(x)),
        },
        Expr::Neg(x) => match fold(*x, changed) {
            // -i64::MIN does not fit: left to run time, which reports the overflow.
            Expr::Literal(Value::Int(i)) if i != i64::MIN => {
                *changed = true;
                Expr::Literal(Value::Int(-i))
            }
            Expr::Literal(Value::Float(f)) => {
                *changed = true;
                Expr::Literal(Value::Float(-f))
            }
            x => Expr::Neg(Box::new(x)),
        },
        Expr::IsNull { expr, negated } => Expr::IsNull { expr: Box::new(fold(*expr, changed)), negated },
        Expr::In { expr, list, negated } => Expr::In { expr: Box::new(fold(*expr, changed)), list, negated },
        Expr::Call { func, args } => Expr::Call { func, args: args.into_iter().map(|a| fold(a, changed)).collect() },
        Expr::Cast { expr, to } => Expr::Cast { expr: Box::new(fold(*expr, changed)), to },
        e => e,
    }
}

fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// Evaluates `a op b` for literals where the result is certain; nulls and
/// anything unusual are left to run time.
fn eval(op: BinOp, a: &Value, b: &Value) -> Option<Value> {
    use Value::*;
    Some(match (op, a, b) {
        (BinOp::Add, Int(x), Int(y)) => Int(x.checked_add(*y)?),
        (BinOp::Sub, Int(x), Int(y)) => Int(x.checked_sub(*y)?),
        (BinOp::Mul, Int(x), Int(y)) => Int(x.checked_mul(*y)?),
        (BinOp::Add | BinOp::Sub | BinOp::Mul, Float(_) | Int(_), Float(_) | Int(_)) => {
            let (x, y) = (num(a)?, num(b)?);
            Float(match op {
                BinOp::Add => x + y,
                BinOp::Sub => x - y,
                _ => x * y,
            })
        }
        (BinOp::Div, _, _) => {
            let (x, y) = (num(a)?, num(b)?);
            if y == 0.0 {
                return None;
            }
            Float(x / y)
        }
        (BinOp::And, Bool(x), Bool(y)) => Bool(*x && *y),
        (BinOp::Or, Bool(x), Bool(y)) => Bool(*x || *y),
        (BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq, _, _) => {
            let ord = match (a, b) {
                (Str(x), Str(y)) => x.partial_cmp(y)?,
                (Bool(x), Bool(y)) => x.partial_cmp(y)?,
                (Date(x), Date(y)) => x.partial_cmp(y)?,
                (Datetime(x), Datetime(y)) => x.partial_cmp(y)?,
                // Exactly: as floats, 2^53 + 1 would equal 2^53.
                (Int(x), Int(y)) => x.partial_cmp(y)?,
                _ => num(a)?.partial_cmp(&num(b)?)?,
            };
            use std::cmp::Ordering::*;
            Bool(match op {
                BinOp::Eq => ord == Equal,
                BinOp::NotEq => ord != Equal,
                BinOp::Lt => ord == Less,
                BinOp::LtEq => ord != Greater,
                BinOp::Gt => ord == Greater,
                _ => ord != Less,
            })
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::optimize::test_util::scan;

    fn lit_i(i: i64) -> Expr {
        Expr::Literal(Value::Int(i))
    }

    #[test]
    fn folds_arithmetic_inside_comparisons() {
        let e = Expr::Binary {
            op: BinOp::Gt,
            left: Box::new(Expr::Column("a".into())),
            right: Box::new(Expr::Binary { op: BinOp::Add, left: Box::new(lit_i(5)), right: Box::new(lit_i(5)) }),
        };
        let mut changed = false;
        assert_eq!(fold(e, &mut changed).to_string(), "(a > 10)");
        assert!(changed);
    }

    #[test]
    fn filter_true_disappears() {
        let plan = LogicalPlan::Filter {
            input: Box::new(scan()),
            predicate: Expr::Binary { op: BinOp::Lt, left: Box::new(lit_i(1)), right: Box::new(lit_i(2)) },
        };
        let (plan, changed) = ConstFold.rewrite(plan);
        assert!(changed);
        assert!(plan.display_tree().starts_with("Scan"), "{}", plan.display_tree());
    }

    #[test]
    fn division_by_zero_is_left_to_run_time() {
        let e = Expr::Binary { op: BinOp::Div, left: Box::new(lit_i(1)), right: Box::new(lit_i(0)) };
        let mut changed = false;
        assert_eq!(fold(e, &mut changed).to_string(), "(1 / 0)");
        assert!(!changed);
    }
}
