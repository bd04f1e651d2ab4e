//! Resolved expressions: every column exists in the input schema, every
//! function is known and type-checked. Printed back in dq syntax for
//! `explain`.

use std::fmt;

use super::types::DType;
pub use crate::lang::ast::BinOp;

/// A literal value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// null
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A date as days since 1970-01-01.
    Date(i32),
    /// A datetime as microseconds since 1970-01-01 00:00:00 UTC.
    Datetime(i64),
}

impl Value {
    /// A date or datetime as ISO text (`2024-01-31`, `2024-01-31 12:00:00`);
    /// other values as they print.
    pub fn iso_text(&self) -> String {
        match self {
            Value::Date(d) => chrono::NaiveDate::from_num_days_from_ce_opt(*d + 719_163)
                .map_or_else(|| d.to_string(), |date| date.to_string()),
            Value::Datetime(us) => crate::temporal::format_datetime(*us),
            other => other.to_string(),
        }
    }

    /// The value's type.
    pub fn dtype(&self) -> DType {
        match self {
            Value::Null => DType::Null,
            Value::Bool(_) => DType::Bool,
            Value::Int(_) => DType::Int,
            Value::Float(_) => DType::Float,
            Value::Str(_) => DType::Str,
            Value::Date(_) => DType::Date,
            Value::Datetime(_) => DType::Datetime,
        }
    }
}

/// Scalar functions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum Func {
    If,
    /// `case when c1 then v1 ... else e end`: arguments c1, v1, ..., e.
    Case,
    Coalesce,
    NullIf,
    Abs,
    Round,
    Floor,
    Ceil,
    Sqrt,
    Log,
    Exp,
    Pow,
    Lower,
    Upper,
    Len,
    Contains,
    StartsWith,
    EndsWith,
    Replace,
    Substr,
    Trim,
    Ltrim,
    Rtrim,
    RegexMatch,
    RegexExtract,
    RegexReplace,
    /// Text of every argument, nulls skipped.
    Concat,
    /// `format("{}-{}", a, b)`.
    Format,
    /// `x.name`: a struct's field.
    Field,
    /// `x[i]`: a list's item, from 0 (negative from the end).
    Get,
    /// `split(s, sep)`: a list of the pieces.
    Split,
    SplitPart,
    Lpad,
    Rpad,
    Repeat,
    Reverse,
    Year,
    Quarter,
    Month,
    Week,
    Weekday,
    DayOfYear,
    Day,
    Hour,
    Minute,
    Second,
    DateTrunc,
    DateDiff,
    DateAdd,
    Strftime,
    FromUnixtime,
    ToUnixtime,
    ToDate,
    ToDatetime,
    /// `in_tz(t, zone)`: the wall-clock time in `zone` of the UTC datetime t.
    InTz,
    /// `from_tz(t, zone)`: the UTC datetime of the wall-clock time t in `zone`.
    FromTz,
    /// `interval("3 days")`: a constant duration.
    Interval,
    /// `total_seconds(d)`: a duration in seconds (a float).
    TotalSeconds,
}

impl Func {
    /// All functions by name, for lookup and "did you mean".
    pub const ALL: &'static [(&'static str, Func)] = &[
        ("if", Func::If),
        ("case", Func::Case),
        ("coalesce", Func::Coalesce),
        ("nullif", Func::NullIf),
        ("abs", Func::Abs),
        ("round", Func::Round),
        ("floor", Func::Floor),
        ("ceil", Func::Ceil),
        ("sqrt", Func::Sqrt),
        ("log", Func::Log),
        ("exp", Func::Exp),
        ("pow", Func::Pow),
        ("lower", Func::Lower),
        ("upper", Func::Upper),
        ("len", Func::Len),
        ("contains", Func::Contains),
        ("starts_with", Func::StartsWith),
        ("ends_with", Func::EndsWith),
        ("replace", Func::Replace),
        ("substr", Func::Substr),
        ("trim", Func::Trim),
        ("ltrim", Func::Ltrim),
        ("rtrim", Func::Rtrim),
        ("regex_match", Func::RegexMatch),
        ("regex_extract", Func::RegexExtract),
        ("regex_replace", Func::RegexReplace),
        ("concat", Func::Concat),
        ("format", Func::Format),
        ("field", Func::Field),
        ("get", Func::Get),
        ("split", Func::Split),
        ("split_part", Func::SplitPart),
        ("lpad", Func::Lpad),
        ("rpad", Func::Rpad),
        ("repeat", Func::Repeat),
        ("reverse", Func::Reverse),
        ("year", Func::Year),
        ("quarter", Func::Quarter),
        ("month", Func::Month),
        ("week", Func::Week),
        ("weekday", Func::Weekday),
        ("day_of_year", Func::DayOfYear),
        ("day", Func::Day),
        ("hour", Func::Hour),
        ("minute", Func::Minute),
        ("second", Func::Second),
        ("date_trunc", Func::DateTrunc),
        ("date_diff", Func::DateDiff),
        ("date_add", Func::DateAdd),
        ("strftime", Func::Strftime),
        ("from_unixtime", Func::FromUnixtime),
        ("to_unixtime", Func::ToUnixtime),
        ("to_date", Func::ToDate),
        ("to_datetime", Func::ToDatetime),
        // The C and Python name; `name()` finds `to_datetime` first.
        ("strptime", Func::ToDatetime),
        ("in_tz", Func::InTz),
        ("from_tz", Func::FromTz),
        ("interval", Func::Interval),
        ("total_seconds", Func::TotalSeconds),
    ];

    /// The function's name in dq.
    pub fn name(self) -> &'static str {
        Func::ALL.iter().find(|(_, f)| *f == self).map_or("?", |(n, _)| n)
    }
}

/// A resolved scalar expression.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A column of the input.
    Column(String),
    /// A constant.
    Literal(Value),
    /// `left op right`.
    Binary {
        /// Operator.
        op: BinOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `not e`.
    Not(Box<Expr>),
    /// `-e`.
    Neg(Box<Expr>),
    /// `e is [not] null`.
    IsNull {
        /// Operand.
        expr: Box<Expr>,
        /// `is not null`.
        negated: bool,
    },
    /// `e [not] in [values]`.
    In {
        /// Operand.
        expr: Box<Expr>,
        /// Candidate values.
        list: Vec<Value>,
        /// `not in`.
        negated: bool,
    },
    /// A function call.
    Call {
        /// The function.
        func: Func,
        /// Its arguments.
        args: Vec<Expr>,
    },
    /// `cast(e, type)`: values that do not convert become null.
    Cast {
        /// Operand.
        expr: Box<Expr>,
        /// Target type.
        to: DType,
    },
}

impl Expr {
    /// Columns this expression reads, appended to `out` (duplicates kept out).
    pub fn columns_into(&self, out: &mut Vec<String>) {
        match self {
            Expr::Column(c) => {
                if !out.contains(c) {
                    out.push(c.clone());
                }
            }
            Expr::Literal(_) => {}
            Expr::Binary { left, right, .. } => {
                left.columns_into(out);
                right.columns_into(out);
            }
            Expr::Not(e)
            | Expr::Neg(e)
            | Expr::IsNull { expr: e, .. }
            | Expr::In { expr: e, .. }
            | Expr::Cast { expr: e, .. } => e.columns_into(out),
            Expr::Call { args, .. } => args.iter().for_each(|a| a.columns_into(out)),
        }
    }

    /// The columns this expression reads.
    pub fn columns(&self) -> Vec<String> {
        let mut v = Vec::new();
        self.columns_into(&mut v);
        v
    }

    /// Whether evaluating this can be an error for some row: integer and
    /// date arithmetic overflow (an error, as in DuckDB), and functions
    /// other than a few that never fail. A filter that may fail is not
    /// moved below a join that drops rows: there it would be evaluated on
    /// rows the join removes, and fail on a valid program.
    pub fn may_fail(&self) -> bool {
        match self {
            Expr::Column(_) | Expr::Literal(_) => false,
            Expr::Binary { op, left, right } => {
                let arithmetic =
                    matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Div | BinOp::FloorDiv | BinOp::Mod);
                arithmetic || left.may_fail() || right.may_fail()
            }
            Expr::Not(e) => e.may_fail(),
            Expr::IsNull { expr, .. } | Expr::In { expr, .. } => expr.may_fail(),
            Expr::Call { func, args } => {
                let never_fails = matches!(
                    func,
                    Func::If
                        | Func::Case
                        | Func::Coalesce
                        | Func::NullIf
                        | Func::Contains
                        | Func::StartsWith
                        | Func::EndsWith
                );
                !never_fails || args.iter().any(Expr::may_fail)
            }
            // `-i64::MIN`, and anything not listed.
            _ => true,
        }
    }

    /// `left and right`.
    pub fn and(self, right: Expr) -> Expr {
        Expr::Binary { op: BinOp::And, left: Box::new(self), right: Box::new(right) }
    }

    /// Splits a conjunction into its `and`-ed parts.
    pub fn conjuncts(&self) -> Vec<&Expr> {
        match self {
            Expr::Binary { op: BinOp::And, left, right } => {
                let mut v = left.conjuncts();
                v.extend(right.conjuncts());
                v
            }
            e => vec![e],
        }
    }

    /// Renames columns per `f` (used when pushing filters below projections).
    pub fn map_columns(&self, f: &dyn Fn(&str) -> Expr) -> Expr {
        match self {
            Expr::Column(c) => f(c),
            Expr::Literal(v) => Expr::Literal(v.clone()),
            Expr::Binary { op, left, right } => {
                Expr::Binary { op: *op, left: Box::new(left.map_columns(f)), right: Box::new(right.map_columns(f)) }
            }
            Expr::Not(e) => Expr::Not(Box::new(e.map_columns(f))),
            Expr::Neg(e) => Expr::Neg(Box::new(e.map_columns(f))),
            Expr::IsNull { expr, negated } => Expr::IsNull { expr: Box::new(expr.map_columns(f)), negated: *negated },
            Expr::In { expr, list, negated } => {
                Expr::In { expr: Box::new(expr.map_columns(f)), list: list.clone(), negated: *negated }
            }
            Expr::Call { func, args } => {
                Expr::Call { func: *func, args: args.iter().map(|a| a.map_columns(f)).collect() }
            }
            Expr::Cast { expr, to } => Expr::Cast { expr: Box::new(expr.map_columns(f)), to: to.clone() },
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Null => write!(f, "null"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Str(s) => write!(f, "{s:?}"),
            Value::Date(_) => write!(f, "date(\"{}\")", self.iso_text()),
            Value::Datetime(_) => write!(f, "datetime(\"{}\")", self.iso_text()),
        }
    }
}

fn needs_quotes(name: &str) -> bool {
    name.is_empty()
        || !name.chars().all(|c| c == '_' || c.is_alphanumeric())
        || name.chars().next().is_some_and(|c| c.is_ascii_digit())
}

/// Writes a column name, backticked when it is not a plain identifier.
pub fn fmt_column(f: &mut impl fmt::Write, name: &str) -> fmt::Result {
    if needs_quotes(name) {
        write!(f, "`{name}`")
    } else {
        write!(f, "{name}")
    }
}

impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Column(c) => fmt_column(f, c),
            Expr::Literal(v) => write!(f, "{v}"),
            Expr::Binary { op, left, right } => write!(f, "({left} {} {right})", op.symbol()),
            Expr::Not(e) => write!(f, "not {e}"),
            Expr::Neg(e) => write!(f, "-{e}"),
            Expr::IsNull { expr, negated } => write!(f, "{expr} is {}null", if *negated { "not " } else { "" }),
            Expr::In { expr, list, negated } => {
                let items: Vec<String> = list.iter().map(|v| v.to_string()).collect();
                write!(f, "{expr} {}in [{}]", if *negated { "not " } else { "" }, items.join(", "))
            }
            Expr::Call { func: Func::Case, args } => {
                write!(f, "case")?;
                for pair in args.chunks_exact(2) {
                    write!(f, " when {} then {}", pair[0], pair[1])?;
                }
                match args.last() {
                    Some(Expr::Literal(Value::Null)) | None => write!(f, " end"),
                    Some(e) => write!(f, " else {e} end"),
                }
            }
            Expr::Call { func: Func::Field, args } if args.len() == 2 => match &args[1] {
                Expr::Literal(Value::Str(name)) => {
                    write!(f, "{}.", args[0])?;
                    fmt_column(f, name)
                }
                other => write!(f, "field({}, {other})", args[0]),
            },
            Expr::Call { func: Func::Get, args } if args.len() == 2 => write!(f, "{}[{}]", args[0], args[1]),
            Expr::Call { func, args } => {
                let items: Vec<String> = args.iter().map(|a| a.to_string()).collect();
                write!(f, "{}({})", func.name(), items.join(", "))
            }
            Expr::Cast { expr, to } => write!(f, "cast({expr}, {to})"),
        }
    }
}

/// Aggregate functions (the plan's own vocabulary: `graph` maps them to
/// the local kernel's, `--workers` to another engine's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum AggFunc {
    /// `count()`: rows.
    CountRows,
    /// `count(x)`: non-null values.
    Count,
    Sum,
    Mean,
    Min,
    Max,
    Std,
    Var,
    /// Population standard deviation.
    StdPop,
    /// Population variance.
    VarPop,
    Median,
    Quantile,
    NUnique,
    ApproxNUnique,
    First,
    Last,
    /// `corr(x, y)`: Pearson correlation of the pairs where both are non-null.
    Corr,
    /// `cov(x, y)`: sample covariance of the pairs where both are non-null.
    Cov,
    /// `string_agg(s, sep)`: the non-null values joined, in input order.
    StringAgg,
    /// `list(x)`: every value of the group (nulls too), in input order.
    List,
    /// `mode(x)`: the most frequent non-null value (the smallest on a tie).
    Mode,
}

impl AggFunc {
    /// Aggregates that need every value of a group at once (no partial form).
    pub fn is_holistic(self) -> bool {
        matches!(
            self,
            AggFunc::Median
                | AggFunc::Quantile
                | AggFunc::NUnique
                | AggFunc::ApproxNUnique
                | AggFunc::StringAgg
                | AggFunc::List
                | AggFunc::Mode
        )
    }

    /// All aggregates by name.
    pub const ALL: &'static [(&'static str, AggFunc)] = &[
        ("count", AggFunc::Count),
        ("sum", AggFunc::Sum),
        ("mean", AggFunc::Mean),
        ("avg", AggFunc::Mean),
        ("min", AggFunc::Min),
        ("max", AggFunc::Max),
        ("std", AggFunc::Std),
        ("var", AggFunc::Var),
        ("std_pop", AggFunc::StdPop),
        ("var_pop", AggFunc::VarPop),
        ("median", AggFunc::Median),
        ("quantile", AggFunc::Quantile),
        ("n_unique", AggFunc::NUnique),
        ("approx_n_unique", AggFunc::ApproxNUnique),
        ("corr", AggFunc::Corr),
        ("cov", AggFunc::Cov),
        ("first", AggFunc::First),
        ("last", AggFunc::Last),
        ("string_agg", AggFunc::StringAgg),
        ("list", AggFunc::List),
        ("mode", AggFunc::Mode),
    ];

    /// The aggregate's name in dq.
    pub fn name(self) -> &'static str {
        match self {
            AggFunc::CountRows => "count",
            f => AggFunc::ALL.iter().find(|(_, g)| *g == f).map_or("?", |(n, _)| n),
        }
    }
}

/// An aggregate call.
#[derive(Debug, Clone, PartialEq)]
pub struct AggExpr {
    /// The function.
    pub func: AggFunc,
    /// Its argument (`None` for `count()`).
    pub arg: Option<Expr>,
    /// The quantile for `quantile(x, q)`.
    pub quantile: Option<f64>,
    /// The second argument of `corr(x, y)` and `cov(x, y)`.
    pub arg2: Option<Expr>,
    /// The separator of `string_agg(s, sep)`.
    pub separator: Option<String>,
}

impl fmt::Display for AggExpr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let (Some(a), Some(sep)) = (&self.arg, &self.separator) {
            return write!(f, "{}({a}, {})", self.func.name(), Value::Str(sep.clone()));
        }
        match (&self.arg, &self.arg2, self.quantile) {
            (None, _, _) => write!(f, "{}()", self.func.name()),
            (Some(a), Some(b), _) => write!(f, "{}({a}, {b})", self.func.name()),
            (Some(a), None, Some(q)) => write!(f, "{}({a}, {q})", self.func.name()),
            (Some(a), None, None) => write!(f, "{}({a})", self.func.name()),
        }
    }
}
