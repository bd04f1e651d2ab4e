//! dq expressions and aggregates → DataFusion's, with dq's semantics.
//!
//! Each arm either means exactly what it means locally (SQL null rules
//! match dq's: comparisons with null are null, aggregates skip nulls) or
//! is refused. Where the two engines differ the translation rewrites:
//! `/` divides as floats and gives null for a zero divisor; `median` and
//! `quantile` read their argument as floats (DataFusion keeps an integer
//! input's type); `in` lists never hold null (dq drops them at planning).

use datafusion::common::ScalarValue;
use datafusion::functions::expr_fn as f;
use datafusion::functions_aggregate::expr_fn as a;
use std::ops::Not;

use datafusion::logical_expr::{cast, ident, lit, when, Expr as DfExpr, Operator};

use super::translate::arrow_type;
use super::Error;
use crate::plan::expr::{AggExpr, AggFunc, BinOp, Expr, Func, Value};
use crate::plan::types::DType;

/// The DataFusion expression of `e`.
pub fn expr(e: &Expr) -> Result<DfExpr, Error> {
    Ok(match e {
        Expr::Column(c) => ident(c),
        Expr::Literal(v) => value(v),
        Expr::Binary { op, left, right } => {
            let (l, r) = (expr(left)?, expr(right)?);
            match op {
                BinOp::Add => l + r,
                BinOp::Sub => l - r,
                BinOp::Mul => l * r,
                BinOp::Div => {
                    let float = |x| cast(x, datafusion::arrow::datatypes::DataType::Float64);
                    float(l) / f::nullif(float(r), lit(0.0))
                }
                BinOp::FloorDiv | BinOp::Mod => {
                    return Err(Error::not_on_cluster(format!("the operator `{}`", op.symbol())))
                }
                BinOp::Eq => binary(l, Operator::Eq, r),
                BinOp::NotEq => binary(l, Operator::NotEq, r),
                BinOp::Lt => binary(l, Operator::Lt, r),
                BinOp::LtEq => binary(l, Operator::LtEq, r),
                BinOp::Gt => binary(l, Operator::Gt, r),
                BinOp::GtEq => binary(l, Operator::GtEq, r),
                BinOp::And => l.and(r),
                BinOp::Or => l.or(r),
            }
        }
        Expr::Not(x) => expr(x)?.not(),
        Expr::Neg(x) => DfExpr::Negative(Box::new(expr(x)?)),
        Expr::IsNull { expr: x, negated } => {
            let x = expr(x)?;
            if *negated {
                x.is_not_null()
            } else {
                x.is_null()
            }
        }
        Expr::In { expr: x, list, negated } => {
            if list.iter().any(|v| matches!(v, Value::Null)) {
                return Err(Error::not_on_cluster("`in` with null in its list"));
            }
            let x = expr(x)?;
            if list.is_empty() {
                // dq: null stays null; DataFusion folds `x in []` to a constant.
                return Ok(when(x.is_null(), lit(ScalarValue::Boolean(None))).otherwise(lit(*negated))?);
            }
            x.in_list(list.iter().map(value).collect(), *negated)
        }
        Expr::Cast { expr: x, to: DType::Float } => cast(expr(x)?, arrow_type(&DType::Float)?),
        Expr::Cast { to, .. } => return Err(Error::not_on_cluster(format!("`cast(…, {to})`"))),
        Expr::Call { func, args } => call(*func, args)?,
    })
}

fn binary(l: DfExpr, op: Operator, r: DfExpr) -> DfExpr {
    datafusion::logical_expr::binary_expr(l, op, r)
}

fn value(v: &Value) -> DfExpr {
    lit(match v {
        Value::Null => ScalarValue::Null,
        Value::Bool(b) => ScalarValue::Boolean(Some(*b)),
        Value::Int(i) => ScalarValue::Int64(Some(*i)),
        Value::Float(x) => ScalarValue::Float64(Some(*x)),
        Value::Str(s) => ScalarValue::Utf8(Some(s.clone())),
        Value::Date(d) => ScalarValue::Date32(Some(*d)),
        Value::Datetime(t) => ScalarValue::TimestampMicrosecond(Some(*t), None),
    })
}

fn call(func: Func, args: &[Expr]) -> Result<DfExpr, Error> {
    let mut x: Vec<DfExpr> = args.iter().map(expr).collect::<Result<_, _>>()?;
    let arg = |x: &mut Vec<DfExpr>| x.remove(0);
    Ok(match func {
        Func::If => {
            let (c, t, e) = (arg(&mut x), arg(&mut x), arg(&mut x));
            // A null condition takes the else branch, as locally.
            when(c, t).otherwise(e)?
        }
        Func::Coalesce => f::coalesce(x),
        Func::Abs => f::abs(arg(&mut x)),
        Func::Exp => f::exp(arg(&mut x)),
        Func::Lower => f::lower(arg(&mut x)),
        Func::Upper => f::upper(arg(&mut x)),
        Func::StartsWith => {
            let s = arg(&mut x);
            f::starts_with(s, arg(&mut x))
        }
        Func::EndsWith => {
            let s = arg(&mut x);
            f::ends_with(s, arg(&mut x))
        }
        Func::Year | Func::Month | Func::Day | Func::Hour => {
            let part = match func {
                Func::Year => "year",
                Func::Month => "month",
                Func::Day => "day",
                _ => "hour",
            };
            cast(f::date_part(lit(part), arg(&mut x)), arrow_type(&DType::Int)?)
        }
        other => return Err(Error::not_on_cluster(format!("the function `{}`", other.name()))),
    })
}

/// The DataFusion aggregate of `a`.
pub fn agg(ag: &AggExpr) -> Result<DfExpr, Error> {
    let x = || ag.arg.as_ref().map(expr).transpose();
    let one = |x: Option<DfExpr>| x.ok_or_else(|| Error::not_on_cluster(format!("`{ag}`")));
    let float =
        |e: DfExpr| cast(e, arrow_type(&DType::Float).unwrap_or(datafusion::arrow::datatypes::DataType::Float64));
    Ok(match ag.func {
        AggFunc::CountRows => a::count(lit(1)),
        AggFunc::Count => a::count(one(x()?)?),
        AggFunc::Sum => a::sum(one(x()?)?),
        AggFunc::Mean => a::avg(one(x()?)?),
        AggFunc::Min => a::min(one(x()?)?),
        AggFunc::Max => a::max(one(x()?)?),
        AggFunc::Std => a::stddev(float(one(x()?)?)),
        AggFunc::Var => a::var_sample(float(one(x()?)?)),
        AggFunc::Median => a::median(float(one(x()?)?)),
        AggFunc::NUnique => a::count_distinct(one(x()?)?),
        AggFunc::Corr | AggFunc::Cov => {
            let y = ag.arg2.as_ref().map(expr).transpose()?;
            let (x, y) = (float(one(x()?)?), float(one(y)?));
            if ag.func == AggFunc::Corr {
                a::corr(x, y)
            } else {
                a::covar_samp(x, y)
            }
        }
        AggFunc::Quantile | AggFunc::ApproxNUnique | AggFunc::First | AggFunc::Last => {
            return Err(Error::not_on_cluster(format!("the aggregate `{}`", ag.func.name())))
        }
    })
}
