//! dq expressions and aggregates → DataFusion's, with dq's semantics.
//!
//! Each arm either means exactly what it means locally (SQL null rules
//! match dq's: comparisons with null are null, aggregates skip nulls) or
//! is refused. Where the two engines differ the translation rewrites:
//! `/` divides as floats and gives null for a zero divisor; `//` floors
//! and `%` takes the divisor's sign (DataFusion truncates both); `median`
//! and `quantile` read their argument as floats (DataFusion keeps an
//! integer input's type); `in` lists never hold null (dq drops them at
//! planning). Integer `+ - *` check for overflow, which DataFusion's
//! logical plans would wrap silently (see [`checked`]).
//!
//! Translation needs the input's DataFusion schema: which of DataFusion's
//! integer or float arithmetic to use depends on the operands' types.

use datafusion::arrow::datatypes::DataType as ArrowType;
use datafusion::common::{DFSchema, ScalarValue};
use datafusion::functions::expr_fn as f;
use datafusion::functions_aggregate::expr_fn as a;
use datafusion::logical_expr::{cast, ident, lit, try_cast, when, Expr as DfExpr, ExprSchemable, Operator};
use std::ops::Not;

use super::Error;
use crate::plan::expr::{AggExpr, AggFunc, BinOp, Expr, Func, Value};
use crate::plan::types::DType;

/// The text a failed overflow check puts in the job's error, so the client
/// can report it as dq does locally (exit 3).
pub const OVERFLOW: &str = "dq integer overflow";

/// The DataFusion expression of `e` over an input of `schema`.
pub fn expr(e: &Expr, schema: &DFSchema) -> Result<DfExpr, Error> {
    let x = |e: &Expr| expr(e, schema);
    let ty = |e: &DfExpr| e.get_type(schema).map_err(Error::from);
    Ok(match e {
        Expr::Column(c) => ident(c),
        Expr::Literal(v) => value(v),
        Expr::Binary { op, left, right } => {
            let (l, r) = (x(left)?, x(right)?);
            let ints = ty(&l)? == ArrowType::Int64 && ty(&r)? == ArrowType::Int64;
            // Durations (datetime − datetime, interval arithmetic) are dq's own.
            let timed = |t: ArrowType| matches!(t, ArrowType::Timestamp(..) | ArrowType::Duration(_));
            let arithmetic = matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div);
            if arithmetic && (timed(ty(&l)?) || timed(ty(&r)?)) {
                return Err(Error::not_on_cluster("arithmetic on datetimes and durations"));
            }
            match op {
                BinOp::Add | BinOp::Sub | BinOp::Mul if ints => checked(*op, l, r)?,
                BinOp::Add => l + r,
                BinOp::Sub => l - r,
                BinOp::Mul => l * r,
                BinOp::Div => float(l) / nonzero(float(r), lit(0.0))?,
                BinOp::FloorDiv | BinOp::Mod => floored(*op, l, r, ints, schema)?,
                BinOp::Eq => binary(l, Operator::Eq, r),
                BinOp::NotEq => binary(l, Operator::NotEq, r),
                BinOp::Lt => binary(l, Operator::Lt, r),
                BinOp::LtEq => binary(l, Operator::LtEq, r),
                BinOp::Gt => binary(l, Operator::Gt, r),
                BinOp::GtEq => binary(l, Operator::GtEq, r),
                BinOp::And => l.and(r),
                BinOp::Or => l.or(r),
                // Only types both engines print alike (floats and
                // timestamps print differently here).
                BinOp::Concat if prints_alike(&ty(&l)?) && prints_alike(&ty(&r)?) => {
                    binary(as_text(l), Operator::StringConcat, as_text(r))
                }
                BinOp::Concat => return Err(Error::not_on_cluster("`||` of floats or datetimes")),
            }
        }
        Expr::Not(e) => x(e)?.not(),
        Expr::Neg(e) => {
            let v = x(e)?;
            if ty(&v)? == ArrowType::Int64 {
                checked(BinOp::Sub, int(0), v)?
            } else {
                DfExpr::Negative(Box::new(v))
            }
        }
        Expr::IsNull { expr: e, negated } => {
            let v = x(e)?;
            if *negated {
                v.is_not_null()
            } else {
                v.is_null()
            }
        }
        Expr::In { expr: e, list, negated } => {
            if list.iter().any(|v| matches!(v, Value::Null)) {
                return Err(Error::not_on_cluster("`in` with null in its list"));
            }
            let v = x(e)?;
            if list.is_empty() {
                // dq: null stays null; DataFusion folds `x in []` to a constant.
                return Ok(when(v.is_null(), lit(ScalarValue::Boolean(None))).otherwise(lit(*negated))?);
            }
            v.in_list(list.iter().map(value).collect(), *negated)
        }
        Expr::Cast { expr: e, to } => {
            let v = x(e)?;
            convert(v.clone(), &ty(&v)?, to)?
        }
        Expr::Call { func, args } => call(*func, args, schema)?,
    })
}

fn binary(l: DfExpr, op: Operator, r: DfExpr) -> DfExpr {
    datafusion::logical_expr::binary_expr(l, op, r)
}

fn float(e: DfExpr) -> DfExpr {
    cast(e, ArrowType::Float64)
}

fn int(i: i64) -> DfExpr {
    lit(ScalarValue::Int64(Some(i)))
}

/// Integer `l op r` that fails the job on overflow, as dq does locally:
/// DataFusion's logical `+ - *` wrap around (its overflow-checked kernels
/// cannot be asked for through a logical plan). The wrapped result is
/// checked and, where it overflowed, replaced by a cast that must fail at
/// run time (it depends on the row, so the planner cannot fold it) and
/// whose message names the operation. CASE evaluates a branch only on the
/// rows that take it.
fn checked(op: BinOp, l: DfExpr, r: DfExpr) -> Result<DfExpr, Error> {
    let wrapped = match op {
        BinOp::Add => l.clone() + r.clone(),
        BinOp::Sub => l.clone() - r.clone(),
        _ => l.clone() * r.clone(),
    };
    let sign = |e: &DfExpr| e.clone().gt_eq(int(0));
    let overflowed = match op {
        // Same signs in, another sign out.
        BinOp::Add => sign(&l).eq(sign(&r)).and(sign(&wrapped).not_eq(sign(&l))),
        BinOp::Sub => sign(&l).not_eq(sign(&r)).and(sign(&wrapped).not_eq(sign(&l))),
        // l * r overflowed iff dividing back does not give r; -1 is the one
        // divisor whose division itself overflows.
        _ => when(l.clone().eq(int(-1)), r.clone().eq(int(i64::MIN))).otherwise(binary(
            wrapped.clone() / f::nullif(l.clone(), int(0)),
            Operator::NotEq,
            r.clone(),
        ))?,
    };
    let message = vec![cast(l, ArrowType::Utf8), lit(format!(" {} ", op.symbol())), cast(r, ArrowType::Utf8)];
    Ok(when(overflowed, overflow_error(message)).otherwise(wrapped)?)
}

/// An Int64 expression that fails the task with dq's overflow message
/// (the pieces of `operation` describe it) wherever it is evaluated. The
/// empty tail is volatile (random), so the planner never evaluates it,
/// even when every piece is a constant.
fn overflow_error(operation: Vec<DfExpr>) -> DfExpr {
    let never_folded = f::left(cast(datafusion::functions::math::expr_fn::random(), ArrowType::Utf8), int(0));
    let mut pieces = vec![lit(format!("{OVERFLOW}: "))];
    pieces.extend(operation);
    pieces.push(never_folded);
    cast(f::concat(pieces), ArrowType::Int64)
}

/// Whether `ag` sums integers: DataFusion's Int64 sum wraps around, so it
/// is summed as a 38-digit decimal and narrowed by [`finish`].
fn sums_integers(ag: &AggExpr, schema: &DFSchema) -> Result<bool, Error> {
    Ok(match (&ag.func, &ag.arg) {
        (AggFunc::Sum, Some(arg)) => expr(arg, schema)?.get_type(schema)? == ArrowType::Int64,
        _ => false,
    })
}

/// The output of aggregate `ag` (named `name`) from its computed column:
/// an integer sum back in 64 bits, failing as dq does where it does not fit.
pub fn finish(ag: &AggExpr, name: &str, computed: DfExpr, schema: &DFSchema) -> Result<DfExpr, Error> {
    if !sums_integers(ag, schema)? {
        return Ok(computed);
    }
    let outside = computed.clone().gt(int(i64::MAX)).or(computed.clone().lt(int(i64::MIN)));
    let error = overflow_error(vec![lit(format!("`{name}` = {ag}"))]);
    Ok(when(outside, error).otherwise(cast(computed, ArrowType::Int64))?)
}

/// `r`, or null where it is zero. Not `nullif`: DataFusion's compares
/// floats by their bits, so a divisor of -0.0 would get through.
fn nonzero(r: DfExpr, zero: DfExpr) -> Result<DfExpr, Error> {
    Ok(when(r.clone().eq(zero), lit(ScalarValue::Null)).otherwise(r)?)
}

/// `//` and `%` as dq defines them: floor division, and the remainder whose
/// sign follows the divisor; null for a zero divisor.
fn floored(op: BinOp, l: DfExpr, r: DfExpr, ints: bool, schema: &DFSchema) -> Result<DfExpr, Error> {
    let numeric = |e: &DfExpr| e.get_type(schema).map(|t| t.is_numeric()).unwrap_or(false);
    let numbers = ints || (numeric(&l) && numeric(&r));
    if !numbers {
        return Err(Error::not_on_cluster(format!("the operator `{}` on non-numbers", op.symbol())));
    }
    let (l, r, zero) = if ints { (l, r, int(0)) } else { (float(l), float(r), lit(0.0)) };
    let divisor = nonzero(r.clone(), zero.clone())?;
    Ok(match op {
        // DataFusion's integer `/` truncates: one less where the signs differ
        // and something remains. Floats floor the quotient.
        BinOp::FloorDiv if ints => {
            let q = l.clone() / divisor.clone();
            let inexact = binary(l.clone() % divisor, Operator::NotEq, zero.clone());
            let signs_differ = binary(l.lt(zero.clone()), Operator::NotEq, r.lt(zero));
            when(inexact.and(signs_differ), q.clone() - int(1)).otherwise(q)?
        }
        BinOp::FloorDiv => f::floor(l / divisor),
        _ => {
            // DataFusion's `%` keeps the dividend's sign (as Rust's does).
            let rem = l % divisor;
            let moved = binary(rem.clone(), Operator::NotEq, zero.clone()).and(binary(
                rem.clone().lt(zero.clone()),
                Operator::NotEq,
                r.clone().lt(zero),
            ));
            when(moved, rem.clone() + r).otherwise(rem)?
        }
    })
}

/// `cast(v, to)` for the conversions whose results are the same as dq's;
/// the others (text to int, bool, date or datetime; floats to text) parse
/// or print differently and are refused.
fn convert(v: DfExpr, from: &ArrowType, to: &DType) -> Result<DfExpr, Error> {
    use ArrowType as A;
    let refuse = || Error::not_on_cluster(format!("`cast` from {from} to {to}"));
    Ok(match (from, to) {
        (A::Null, _) => cast(v, super::translate::arrow_type(to)?),
        (A::Int64 | A::Boolean | A::Float64, DType::Float) => float(v),
        (A::Int64, DType::Int) | (A::Utf8, DType::Str) => v,
        (A::Date32, DType::Date) | (A::Timestamp(..), DType::Datetime) | (A::Boolean, DType::Bool) => v,
        // Truncation toward zero; NaN and out-of-range values become null.
        (A::Float64, DType::Int) => try_cast(v, A::Int64),
        (A::Boolean, DType::Int) => cast(v, A::Int64),
        (A::Int64 | A::Boolean | A::Date32, DType::Str) => cast(v, A::Utf8),
        _ => return Err(refuse()),
    })
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

/// The constant string argument `i` (the planner checked it is one).
fn constant(args: &[Expr], i: usize) -> Option<&str> {
    match args.get(i) {
        Some(Expr::Literal(Value::Str(s))) => Some(s),
        _ => None,
    }
}

fn call(func: Func, args: &[Expr], schema: &DFSchema) -> Result<DfExpr, Error> {
    let mut x: Vec<DfExpr> = args.iter().map(|e| expr(e, schema)).collect::<Result<_, _>>()?;
    let is_int = |e: &DfExpr| e.get_type(schema).map(|t| t == ArrowType::Int64).unwrap_or(false);
    let arg = |x: &mut Vec<DfExpr>| x.remove(0);
    let refuse = || Error::not_on_cluster(format!("the function `{}`", func.name()));
    Ok(match func {
        Func::If => {
            let (c, t, e) = (arg(&mut x), arg(&mut x), arg(&mut x));
            // A null condition takes the else branch, as locally.
            when(c, t).otherwise(e)?
        }
        Func::Case => {
            let otherwise = x.pop().unwrap_or(lit(ScalarValue::Null));
            let mut pairs = x.chunks_exact(2);
            let Some([c, v]) = pairs.next() else { return Err(refuse()) };
            let mut case = when(c.clone(), v.clone());
            for pair in pairs {
                case = case.when(pair[0].clone(), pair[1].clone());
            }
            case.otherwise(otherwise)?
        }
        Func::Coalesce => f::coalesce(x),
        Func::NullIf => {
            let a = arg(&mut x);
            f::nullif(a, arg(&mut x))
        }
        // Nulls skipped in both.
        Func::Concat if all_print_alike(&x, schema) => f::concat(x.into_iter().map(as_text).collect()),
        // Null when an argument is: `||` of the pieces.
        Func::Format if all_print_alike(&x[1..], schema) => {
            let pieces = crate::plan::format_pieces(constant(args, 0).unwrap_or_default()).map_err(|_| refuse())?;
            let mut out = lit(pieces[0].clone());
            for (value, piece) in x.into_iter().skip(1).zip(&pieces[1..]) {
                out = binary(
                    binary(out, Operator::StringConcat, as_text(value)),
                    Operator::StringConcat,
                    lit(piece.clone()),
                );
            }
            out
        }
        Func::Reverse => f::reverse(arg(&mut x)),
        // Both cut to n characters or fill by repeating the fill string.
        Func::Lpad | Func::Rpad => {
            let pad = if func == Func::Lpad { f::lpad } else { f::rpad };
            if x.len() == 2 {
                x.push(lit(" "));
            }
            pad(x)
        }
        Func::Repeat => {
            let s = arg(&mut x);
            f::repeat(s, arg(&mut x))
        }
        // Any of the given characters, from one or both ends.
        Func::Trim if args.len() == 2 => f::btrim(x),
        Func::Ltrim | Func::Rtrim if args.len() == 2 => {
            if func == Func::Ltrim {
                f::ltrim(x)
            } else {
                f::rtrim(x)
            }
        }
        Func::Quarter | Func::Week | Func::DayOfYear | Func::Minute | Func::Second => {
            let part = match func {
                Func::Quarter => "quarter",
                Func::Week => "week",
                Func::DayOfYear => "doy",
                Func::Minute => "minute",
                _ => "second",
            };
            cast(f::date_part(lit(part), arg(&mut x)), ArrowType::Int64)
        }
        // DataFusion's dow counts from Sunday = 0; dq's from Monday = 1.
        Func::Weekday => {
            let dow = cast(f::date_part(lit("dow"), arg(&mut x)), ArrowType::Int64);
            binary(binary(binary(dow, Operator::Plus, int(6)), Operator::Modulo, int(7)), Operator::Plus, int(1))
        }
        // Of t's type again (DataFusion gives a timestamp).
        Func::DateTrunc => {
            let t = x.remove(1);
            let back = t.get_type(schema)?;
            cast(f::date_trunc(x.remove(0), t), back)
        }
        // Days between two dates; calendar months, quarters and years.
        Func::DateDiff if is_date(&x[1], schema) && is_date(&x[2], schema) && constant(args, 0) == Some("day") => {
            let days = |e: DfExpr| cast(cast(e, ArrowType::Int32), ArrowType::Int64);
            let (a, b) = (x.remove(1), x.remove(1));
            days(b) - days(a)
        }
        Func::DateDiff if matches!(constant(args, 0), Some("month" | "quarter" | "year")) => {
            let per = match constant(args, 0) {
                Some("year") => 12,
                Some("quarter") => 3,
                _ => 1,
            };
            let index = |e: DfExpr| {
                let year = cast(f::date_part(lit("year"), e.clone()), ArrowType::Int64);
                let month = cast(f::date_part(lit("month"), e), ArrowType::Int64);
                // Floor division of a non-negative month index (years after 0).
                (year * int(12) + month - int(1)) / int(per)
            };
            let (a, b) = (x.remove(1), x.remove(1));
            index(b) - index(a)
        }
        // A date moved by whole days or weeks.
        Func::DateAdd if is_date(&x[0], schema) && matches!(constant(args, 2), Some("day" | "week")) => {
            let per = if constant(args, 2) == Some("week") { 7 } else { 1 };
            let (d, n) = (x.remove(0), x.remove(0));
            let days = cast(cast(d, ArrowType::Int32), ArrowType::Int64) + n * int(per);
            cast(cast(days, ArrowType::Int32), ArrowType::Date32)
        }
        Func::Abs => f::abs(arg(&mut x)),
        // dq keeps an integer as it is; floats round half away from zero in both.
        Func::Round | Func::Floor | Func::Ceil if is_int(&x[0]) => arg(&mut x),
        Func::Round => {
            let v = arg(&mut x);
            let digits = x.pop().unwrap_or_else(|| int(0));
            f::round(vec![v, digits])
        }
        Func::Floor => f::floor(arg(&mut x)),
        Func::Ceil => f::ceil(arg(&mut x)),
        // DataFusion 55 fails the query on a negative input; dq gives NaN.
        Func::Sqrt => {
            let v = float(arg(&mut x));
            when(v.clone().lt(lit(0.0)), lit(f64::NAN)).otherwise(f::sqrt(v))?
        }
        Func::Log => f::ln(float(arg(&mut x))),
        Func::Exp => f::exp(float(arg(&mut x))),
        Func::Pow => {
            let base = float(arg(&mut x));
            f::power(base, float(arg(&mut x)))
        }
        Func::Lower => f::lower(arg(&mut x)),
        Func::Upper => f::upper(arg(&mut x)),
        Func::Len => cast(f::character_length(arg(&mut x)), ArrowType::Int64),
        // Unicode whitespace at both ends, as polars strips it (DataFusion's
        // btrim strips spaces only).
        Func::Trim if args.len() == 2 => return Err(refuse()),
        Func::Trim => f::regexp_replace(arg(&mut x), lit(r"^\s+|\s+$"), lit(""), Some(lit("g"))),
        Func::Contains => {
            let s = arg(&mut x);
            f::contains(s, arg(&mut x))
        }
        Func::StartsWith => {
            let s = arg(&mut x);
            f::starts_with(s, arg(&mut x))
        }
        Func::EndsWith => {
            let s = arg(&mut x);
            f::ends_with(s, arg(&mut x))
        }
        Func::RegexMatch => {
            let s = arg(&mut x);
            f::regexp_like(s, arg(&mut x), None)
        }
        // An empty pattern inserts between characters in one engine only.
        Func::Replace if constant(args, 1).is_none_or(str::is_empty) => return Err(refuse()),
        Func::Replace => {
            let (s, old) = (arg(&mut x), arg(&mut x));
            f::replace(s, old, arg(&mut x))
        }
        Func::Substr => substr(x)?,
        Func::Year | Func::Month | Func::Day | Func::Hour => {
            let part = match func {
                Func::Year => "year",
                Func::Month => "month",
                Func::Day => "day",
                _ => "hour",
            };
            cast(f::date_part(lit(part), arg(&mut x)), ArrowType::Int64)
        }
        // DataFusion's parsers fail the query on text that does not parse;
        // dq gives null.
        Func::ToDate | Func::ToDatetime => return Err(refuse()),
        // Not translated (yet): where DataFusion's semantics differ (regex
        // replacement syntax, out-of-range parts, time units) or nested data.
        Func::Concat
        | Func::Format
        | Func::Field
        | Func::Get
        | Func::Split
        | Func::Ltrim
        | Func::Rtrim
        | Func::RegexExtract
        | Func::RegexReplace
        | Func::SplitPart
        | Func::DateDiff
        | Func::DateAdd
        | Func::Strftime
        | Func::FromUnixtime
        | Func::ToUnixtime
        | Func::InTz
        | Func::FromTz
        | Func::Interval
        | Func::TotalSeconds => return Err(refuse()),
    })
}

/// Types both engines write as the same text (`cast(x, str)`).
fn prints_alike(t: &ArrowType) -> bool {
    matches!(t, ArrowType::Utf8 | ArrowType::Int64 | ArrowType::Date32 | ArrowType::Boolean | ArrowType::Null)
}

fn all_print_alike(x: &[DfExpr], schema: &DFSchema) -> bool {
    x.iter().all(|e| e.get_type(schema).is_ok_and(|t| prints_alike(&t)))
}

fn as_text(e: DfExpr) -> DfExpr {
    cast(e, ArrowType::Utf8)
}

fn is_date(e: &DfExpr, schema: &DFSchema) -> bool {
    e.get_type(schema).is_ok_and(|t| t == ArrowType::Date32)
}

/// dq's `substr(s, start[, length])`: `start` counts from 1, a negative one
/// from the end, 0 lies just before the string; a negative length is 0.
/// As a 0-based window [begin, begin + length) clipped to the string,
/// which is exactly what SQL's `substr(s, begin + 1, length)` returns.
fn substr(mut x: Vec<DfExpr>) -> Result<DfExpr, Error> {
    let s = x.remove(0);
    let start = x.remove(0);
    let begin = when(start.clone().gt(int(0)), start.clone() - int(1))
        .when(start.clone().eq(int(0)), int(-1))
        .otherwise(cast(f::character_length(s.clone()), ArrowType::Int64) + start)?;
    let from = begin + int(1);
    Ok(match x.pop() {
        Some(n) => f::substring(s, from, when(n.clone().lt(int(0)), int(0)).otherwise(n)?),
        None => f::substr(s, from),
    })
}

/// The DataFusion aggregate of `ag` over an input of `schema`.
pub fn agg(ag: &AggExpr, schema: &DFSchema) -> Result<DfExpr, Error> {
    let x = || ag.arg.as_ref().map(|e| expr(e, schema)).transpose();
    let one = |x: Option<DfExpr>| x.ok_or_else(|| Error::not_on_cluster(format!("`{ag}`")));
    Ok(match ag.func {
        AggFunc::CountRows => a::count(lit(1)),
        AggFunc::Count => a::count(one(x()?)?),
        AggFunc::Sum if sums_integers(ag, schema)? => a::sum(cast(one(x()?)?, ArrowType::Decimal128(38, 0))),
        AggFunc::Sum => a::sum(one(x()?)?),
        AggFunc::Mean => a::avg(one(x()?)?),
        AggFunc::Min => a::min(one(x()?)?),
        AggFunc::Max => a::max(one(x()?)?),
        AggFunc::Std => a::stddev(float(one(x()?)?)),
        AggFunc::Var => a::var_sample(float(one(x()?)?)),
        AggFunc::StdPop => a::stddev_pop(float(one(x()?)?)),
        AggFunc::VarPop => a::var_pop(float(one(x()?)?)),
        AggFunc::Median => a::median(float(one(x()?)?)),
        AggFunc::NUnique => a::count_distinct(one(x()?)?),
        AggFunc::Corr | AggFunc::Cov => {
            let y = ag.arg2.as_ref().map(|e| expr(e, schema)).transpose()?;
            let (x, y) = (float(one(x()?)?), float(one(y)?));
            if ag.func == AggFunc::Corr {
                a::corr(x, y)
            } else {
                a::covar_samp(x, y)
            }
        }
        AggFunc::Quantile
        | AggFunc::ApproxNUnique
        | AggFunc::First
        | AggFunc::Last
        | AggFunc::StringAgg
        | AggFunc::List
        | AggFunc::Mode => return Err(Error::not_on_cluster(format!("the aggregate `{}`", ag.func.name()))),
    })
}
