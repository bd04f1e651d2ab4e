//! dq expressions → polars expressions. Semantics that differ from polars'
//! defaults are made explicit here: arithmetic goes through
//! [`crate::ops::arith`] (no integer wraparound, IEEE float division, null
//! for a zero divisor), `substr` starts at 1, `x [not] in [..]` is null when
//! x is null, string functions are literal unless named `regex_*`.

use polars::prelude::*;

use crate::ops::calendar::{self, Unit};
use crate::ops::{arith, nested, text, Arith};
use crate::plan::expr::{BinOp, Expr as DqExpr, Func, Value};
use crate::temporal::Zone;

fn null() -> Expr {
    lit(Null {})
}

/// A dq literal as a polars literal.
pub fn value(v: &Value) -> Expr {
    match v {
        Value::Null => null(),
        Value::Bool(b) => lit(*b),
        // Typed: a bare `lit(i64)` is a "dynamic" literal that polars
        // materializes as 32-bit when it fits, and 32-bit arithmetic wraps.
        Value::Int(i) => Expr::Literal(LiteralValue::Int64(*i)),
        Value::Float(f) => Expr::Literal(LiteralValue::Float64(*f)),
        Value::Str(s) => lit(s.as_str()),
        Value::Date(d) => lit(*d).cast(DataType::Date),
        Value::Datetime(us) => {
            Expr::Literal(LiteralValue::Int64(*us)).cast(DataType::Datetime(TimeUnit::Microseconds, None))
        }
    }
}

fn str_arg(e: &DqExpr) -> String {
    match e {
        DqExpr::Literal(Value::Str(s)) => s.clone(),
        _ => String::new(),
    }
}

fn series_of(values: &[Value]) -> Series {
    let vals: Vec<&Value> = values.iter().filter(|v| **v != Value::Null).collect();
    let name = PlSmallStr::from("in");
    if vals.iter().all(|v| matches!(v, Value::Int(_))) {
        Series::new(name, vals.iter().map(|v| if let Value::Int(i) = v { *i } else { 0 }).collect::<Vec<i64>>())
    } else if vals.iter().all(|v| matches!(v, Value::Int(_) | Value::Float(_))) {
        let f: Vec<f64> = vals
            .iter()
            .map(|v| match v {
                Value::Int(i) => *i as f64,
                Value::Float(x) => *x,
                _ => 0.0,
            })
            .collect();
        Series::new(name, f)
    } else if vals.iter().all(|v| matches!(v, Value::Date(_))) {
        let d: Vec<i32> = vals.iter().map(|v| if let Value::Date(d) = v { *d } else { 0 }).collect();
        Series::new(name, d)
            .cast(&DataType::Date)
            .unwrap_or_else(|_| Series::new_empty(PlSmallStr::from("in"), &DataType::Date))
    } else if vals.iter().all(|v| matches!(v, Value::Datetime(_))) {
        let t: Vec<i64> = vals.iter().map(|v| if let Value::Datetime(t) = v { *t } else { 0 }).collect();
        let dtype = DataType::Datetime(TimeUnit::Microseconds, None);
        Series::new(name, t).cast(&dtype).unwrap_or_else(|_| Series::new_empty(PlSmallStr::from("in"), &dtype))
    } else if vals.iter().all(|v| matches!(v, Value::Bool(_))) {
        Series::new(name, vals.iter().map(|v| matches!(v, Value::Bool(true))).collect::<Vec<bool>>())
    } else {
        Series::new(
            name,
            vals.iter()
                .map(|v| match v {
                    Value::Str(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect::<Vec<String>>(),
        )
    }
}

/// Lowers one expression.
///
/// A constant expression that is not a plain literal (`"b" in ["b"]`) gives
/// polars a one-value column, which it will not stretch next to full ones:
/// it is marked as a scalar with `first()`.
pub fn lower(e: &DqExpr) -> Expr {
    let out = lower_rec(e);
    if !matches!(e, DqExpr::Literal(_)) && e.columns().is_empty() {
        out.first()
    } else {
        out
    }
}

fn lower_rec(e: &DqExpr) -> Expr {
    match e {
        DqExpr::Column(c) => col(c.as_str()),
        DqExpr::Literal(v) => value(v),
        DqExpr::Binary { op, left, right } => {
            let (l, r) = (lower_rec(left), lower_rec(right));
            match op {
                BinOp::Add => arith(Arith::Add, l, r),
                BinOp::Sub => arith(Arith::Sub, l, r),
                BinOp::Mul => arith(Arith::Mul, l, r),
                BinOp::Div => arith(Arith::Div, l, r),
                BinOp::FloorDiv => arith(Arith::FloorDiv, l, r),
                BinOp::Mod => arith(Arith::Mod, l, r),
                BinOp::Eq => l.eq(r),
                BinOp::NotEq => l.neq(r),
                BinOp::Lt => l.lt(r),
                BinOp::LtEq => l.lt_eq(r),
                BinOp::Gt => l.gt(r),
                BinOp::GtEq => l.gt_eq(r),
                BinOp::And => l.and(r),
                BinOp::Or => l.or(r),
                // polars' `+` on text concatenates, null when either side is.
                BinOp::Concat => text(l) + text(r),
            }
        }
        DqExpr::Not(x) => lower_rec(x).not(),
        DqExpr::Neg(x) => arith(Arith::Mul, lower_rec(x), Expr::Literal(LiteralValue::Int64(-1))),
        DqExpr::IsNull { expr, negated } => {
            if *negated {
                lower_rec(expr).is_not_null()
            } else {
                lower_rec(expr).is_null()
            }
        }
        DqExpr::In { expr, list, negated } => {
            // SQL: null when x is null, or when x is not found and the list
            // holds a null (`1 not in [2, null]` is null, not true).
            let x = lower_rec(expr);
            let null_bool = || lit(Null {}).cast(DataType::Boolean);
            let items: Vec<Value> = list.iter().filter(|v| **v != Value::Null).cloned().collect();
            let found = if items.is_empty() { lit(false) } else { x.clone().is_in(lit(series_of(&items))) };
            let has_null = items.len() < list.len();
            let test = match (*negated, has_null) {
                (false, false) => found,
                (true, false) => found.not(),
                (false, true) => when(found).then(lit(true)).otherwise(null_bool()),
                (true, true) => when(found).then(lit(false)).otherwise(null_bool()),
            };
            when(x.is_null()).then(null_bool()).otherwise(test)
        }
        DqExpr::Cast { expr, to } => crate::ops::cast(lower_rec(expr), to.to_polars()),
        DqExpr::Call { func, args } => call(*func, args),
    }
}

/// Any value as text, as `cast(x, str)` writes it.
fn text(e: Expr) -> Expr {
    crate::ops::cast(e, DataType::String)
}

fn int_arg(e: &DqExpr) -> i64 {
    match e {
        DqExpr::Literal(Value::Int(i)) => *i,
        _ => 0,
    }
}

fn unit_arg(e: &DqExpr) -> Unit {
    Unit::from_name(&str_arg(e)).unwrap_or(Unit::Day)
}

/// A zone the plan checked (UTC should it not parse after all).
fn zone_arg(e: &DqExpr) -> Zone {
    Zone::parse(&str_arg(e)).unwrap_or(Zone::Named(chrono_tz::Tz::UTC))
}

fn call(func: Func, args: &[DqExpr]) -> Expr {
    let a = |i: usize| lower_rec(&args[i]);
    match func {
        Func::If => when(a(0)).then(a(1)).otherwise(a(2)),
        Func::Case => {
            // Built from the last branch back: each `when` falls through to
            // the rest (a null condition too).
            let n = args.len();
            (0..n - 1).step_by(2).rev().fold(a(n - 1), |rest, i| when(a(i)).then(a(i + 1)).otherwise(rest))
        }
        Func::Coalesce => coalesce(&args.iter().map(lower).collect::<Vec<_>>()),
        Func::NullIf => when(a(0).eq(a(1))).then(null()).otherwise(a(0)),
        // Nulls are skipped, as in DuckDB and PostgreSQL.
        Func::Concat => {
            args.iter().map(|x| coalesce(&[text(lower_rec(x)), lit("")])).reduce(|l, r| l + r).unwrap_or(lit(""))
        }
        Func::Format => {
            let pieces = crate::plan::format_pieces(&str_arg(&args[0])).unwrap_or_default();
            let mut out = lit(pieces.first().cloned().unwrap_or_default());
            for (value, piece) in args[1..].iter().zip(&pieces[1..]) {
                out = out + text(lower_rec(value)) + lit(piece.as_str());
            }
            out
        }
        Func::Abs => a(0).abs(),
        Func::Round => {
            let digits = match args.get(1) {
                Some(DqExpr::Literal(Value::Int(d))) => *d as u32,
                _ => 0,
            };
            a(0).round(digits)
        }
        Func::Floor => a(0).floor(),
        Func::Ceil => a(0).ceil(),
        Func::Sqrt => a(0).cast(DataType::Float64).sqrt(),
        Func::Log => a(0).cast(DataType::Float64).log(std::f64::consts::E),
        Func::Exp => a(0).cast(DataType::Float64).exp(),
        Func::Pow => a(0).cast(DataType::Float64).pow(a(1).cast(DataType::Float64)),
        Func::Lower => a(0).str().to_lowercase(),
        Func::Upper => a(0).str().to_uppercase(),
        Func::Len => nested::len(a(0)),
        Func::Field => nested::field(a(0), str_arg(&args[1])),
        Func::Get => nested::get(a(0), int_arg(&args[1])),
        Func::Split => a(0).str().split(lit(str_arg(&args[1]))),
        Func::Trim | Func::Ltrim | Func::Rtrim => {
            let chars = args.get(1).map_or_else(null, |c| lit(str_arg(c)));
            match func {
                Func::Trim => a(0).str().strip_chars(chars),
                Func::Ltrim => a(0).str().strip_chars_start(chars),
                _ => a(0).str().strip_chars_end(chars),
            }
        }
        Func::RegexExtract => {
            let group = args.get(2).map_or(0, int_arg) as usize;
            a(0).str().extract(lit(str_arg(&args[1])), group)
        }
        Func::RegexReplace => a(0).str().replace_all(lit(str_arg(&args[1])), lit(str_arg(&args[2])), false),
        Func::SplitPart => text::split_part(a(0), str_arg(&args[1]), int_arg(&args[2])),
        Func::Lpad | Func::Rpad => {
            let fill = args.get(2).map_or_else(|| " ".to_string(), str_arg);
            text::pad(a(0), int_arg(&args[1]) as usize, fill, func == Func::Lpad)
        }
        Func::Repeat => text::repeat(a(0), int_arg(&args[1]) as usize),
        Func::Reverse => text::reverse(a(0)),
        Func::Contains => text::contains(a(0), str_arg(&args[1])),
        Func::StartsWith => a(0).str().starts_with(lit(str_arg(&args[1]))),
        Func::EndsWith => a(0).str().ends_with(lit(str_arg(&args[1]))),
        Func::RegexMatch => a(0).str().contains(lit(str_arg(&args[1])), true),
        Func::Replace => a(0).str().replace_all(lit(str_arg(&args[1])), lit(str_arg(&args[2])), true),
        Func::Substr => {
            let start = a(1);
            // 1-based like SQL; a negative start counts from the end.
            let offset = when(start.clone().gt(lit(0))).then(start.clone() - lit(1)).otherwise(start.clone());
            // As in SQL, position 0 lies before the string: `substr(s, 0, n)`
            // gives n - 1 characters. A negative length gives an empty string.
            let length = if args.len() == 3 {
                let n = when(start.clone().eq(lit(0))).then(a(2) - lit(1)).otherwise(a(2));
                when(n.clone().lt(lit(0))).then(lit(0)).otherwise(n).cast(DataType::UInt64)
            } else {
                null()
            };
            a(0).str().slice(offset, length)
        }
        Func::Year => a(0).dt().year().cast(DataType::Int64),
        Func::Quarter => a(0).dt().quarter().cast(DataType::Int64),
        Func::Week => a(0).dt().week().cast(DataType::Int64),
        Func::Weekday => a(0).dt().weekday().cast(DataType::Int64),
        Func::DayOfYear => a(0).dt().ordinal_day().cast(DataType::Int64),
        Func::Minute => a(0).dt().minute().cast(DataType::Int64),
        Func::Second => a(0).dt().second().cast(DataType::Int64),
        Func::DateTrunc => calendar::trunc(a(1), unit_arg(&args[0])),
        Func::DateAdd => calendar::add(a(0), a(1), unit_arg(&args[2])),
        Func::DateDiff => calendar::diff(a(1), a(2), unit_arg(&args[0])),
        Func::Strftime => a(0).dt().strftime(&str_arg(&args[1])),
        Func::InTz => calendar::in_zone(a(0), zone_arg(&args[1]), true),
        Func::Interval => {
            let us = crate::duration::parse_interval(&str_arg(&args[0])).unwrap_or_default();
            lit(us).cast(DataType::Duration(TimeUnit::Microseconds))
        }
        Func::TotalSeconds => {
            let us = a(0).cast(DataType::Duration(TimeUnit::Microseconds)).to_physical();
            us.cast(DataType::Float64) / lit(1e6)
        }
        Func::FromTz => calendar::in_zone(a(0), zone_arg(&args[1]), false),
        Func::FromUnixtime => {
            let us = arith(Arith::Mul, a(0).cast(DataType::Float64), lit(1e6));
            us.cast(DataType::Int64).cast(DataType::Datetime(TimeUnit::Microseconds, None))
        }
        Func::ToUnixtime => {
            let us = a(0).cast(DataType::Datetime(TimeUnit::Microseconds, None)).cast(DataType::Int64);
            us.cast(DataType::Float64) / lit(1e6)
        }
        Func::Month => a(0).dt().month().cast(DataType::Int64),
        Func::Day => a(0).dt().day().cast(DataType::Int64),
        Func::Hour => a(0).dt().hour().cast(DataType::Int64),
        Func::ToDatetime => crate::ops::parse_datetime_with(a(0), str_arg(&args[1])),
        Func::ToDate => a(0).str().to_date(StrptimeOptions {
            format: Some(str_arg(&args[1]).into()),
            strict: false,
            exact: true,
            cache: true,
        }),
    }
}
