//! Scalar functions: their signatures and the checks made on their
//! arguments before anything runs (arity, types, constant patterns, formats
//! and regular expressions). `builder` resolves the arguments; this decides
//! whether the call is valid and what type it returns.

use super::error::{close_matches, Error};
use super::expr::{Expr, Func, Value};
use super::types::DType;
use crate::lang::Span;
use crate::temporal::Zone;

/// A call whose arguments are resolved.
pub(super) struct Call<'a> {
    /// The program text (for error messages).
    pub src: &'a str,
    /// The function's name as written.
    pub name: &'a str,
    /// The whole call.
    pub span: Span,
    /// Each argument's span.
    pub arg_spans: Vec<Span>,
    /// Each argument, resolved, with its type.
    pub args: Vec<(Expr, DType)>,
}

/// Units of `date_trunc`, `date_diff` and `date_add`, finest last.
pub const DATE_UNITS: &[&str] = &["year", "quarter", "month", "week", "day", "hour", "minute", "second"];

/// Units that exist on a date (not only on a datetime).
fn is_date_unit(unit: &str) -> bool {
    matches!(unit, "year" | "quarter" | "month" | "week" | "day")
}

impl Call<'_> {
    fn ty(&self, i: usize) -> &DType {
        &self.args[i].1
    }

    fn constant(&self, i: usize) -> Option<&Value> {
        match &self.args[i].0 {
            Expr::Literal(v) => Some(v),
            _ => None,
        }
    }

    fn constant_str(&self, i: usize) -> Option<&str> {
        match self.constant(i) {
            Some(Value::Str(s)) => Some(s),
            _ => None,
        }
    }

    fn type_err(&self, span: Span, message: String) -> Error {
        super::builder::type_err(self.src, span, message)
    }

    fn arity(&self, lo: usize, hi: usize) -> Result<(), Error> {
        let n = self.args.len();
        if n < lo || n > hi {
            let want = match (lo, hi) {
                (lo, hi) if lo == hi => format!("{lo}"),
                (lo, usize::MAX) => format!("at least {lo}"),
                (lo, hi) => format!("{lo} to {hi}"),
            };
            return Err(Error::invalid(self.span, format!("`{}` takes {want} argument(s), found {n}", self.name)));
        }
        Ok(())
    }

    fn want(&self, i: usize, ok: bool, what: &str) -> Result<(), Error> {
        if ok {
            return Ok(());
        }
        let span = self.arg_spans[i];
        let mut err =
            self.type_err(span, format!("`{}` needs {what}, `{}` is {}", self.name, span.text(self.src), self.ty(i)));
        let temporal_part = DATE_UNITS.contains(&self.name)
            || matches!(self.name, "weekday" | "day_of_year" | "date_trunc" | "strftime" | "date_diff" | "date_add");
        if *self.ty(i) == DType::Str && temporal_part {
            if let Error::Type { hint, .. } = &mut err {
                *hint = Some(format!("parse it first: to_date({}, \"%Y-%m-%d\")", span.text(self.src)));
            }
        }
        Err(err)
    }

    fn is_str(&self, i: usize) -> bool {
        matches!(self.ty(i), DType::Str | DType::Null)
    }

    fn is_int(&self, i: usize) -> bool {
        matches!(self.ty(i), DType::Int | DType::Null)
    }

    fn is_temporal(&self, i: usize) -> bool {
        matches!(self.ty(i), DType::Date | DType::Datetime | DType::Null)
    }

    fn want_str(&self, i: usize) -> Result<(), Error> {
        self.want(i, self.is_str(i), "a string")
    }

    fn want_constant_str(&self, i: usize, what: &str) -> Result<&str, Error> {
        self.want(i, self.constant_str(i).is_some(), what)?;
        Ok(self.constant_str(i).unwrap_or_default())
    }

    /// A constant integer argument within `lo..`.
    fn want_constant_int(&self, i: usize, lo: i64, what: &str) -> Result<i64, Error> {
        match self.constant(i) {
            Some(Value::Int(n)) if *n >= lo => Ok(*n),
            _ => Err(Error::invalid(self.arg_spans[i], format!("`{}` needs {what}", self.name))),
        }
    }

    /// A constant unit of time among `DATE_UNITS`.
    fn want_unit(&self, i: usize) -> Result<&str, Error> {
        let unit = self.constant_str(i).unwrap_or_default();
        if !DATE_UNITS.contains(&unit) {
            return Err(Error::Invalid {
                message: format!("`{}` is not a unit of time", self.arg_spans[i].text(self.src)),
                span: self.arg_spans[i],
                hint: Some(format!("units are {}, as constant strings", DATE_UNITS.join(", "))),
            });
        }
        Ok(unit)
    }

    /// The common type of the arguments at `indexes`, or an error naming `what`.
    fn unify(&self, indexes: impl Iterator<Item = usize>, what: &str) -> Result<DType, Error> {
        let mut t = DType::Null;
        for i in indexes {
            t = t
                .unify(self.ty(i))
                .ok_or_else(|| self.type_err(self.span, format!("{what} mix {t} and {}", self.ty(i))))?;
        }
        Ok(t)
    }
}

/// Checks a call of `func` and returns its result type.
pub(super) fn check(func: Func, c: &Call) -> Result<DType, Error> {
    let n = c.args.len();
    Ok(match func {
        Func::If => {
            c.arity(3, 3)?;
            c.want(0, matches!(c.ty(0), DType::Bool | DType::Null), "a true/false condition")?;
            c.unify([1, 2].into_iter(), "the branches of `if`")?
        }
        Func::Case => {
            // The parser gives (condition, value) pairs and a last `else` value.
            c.arity(3, usize::MAX)?;
            for i in (0..n - 1).step_by(2) {
                c.want(i, matches!(c.ty(i), DType::Bool | DType::Null), "a true/false condition after `when`")?;
            }
            c.unify((1..n).step_by(2).chain([n - 1]), "the branches of `case`")?
        }
        Func::Coalesce => {
            c.arity(1, usize::MAX)?;
            c.unify(0..n, "the arguments of `coalesce`")?
        }
        Func::NullIf => {
            c.arity(2, 2)?;
            if !c.ty(0).comparable(c.ty(1)) {
                return Err(c.type_err(c.span, format!("cannot compare {} with {}", c.ty(0), c.ty(1))));
            }
            c.ty(0).clone()
        }
        Func::Abs | Func::Floor | Func::Ceil => {
            c.arity(1, 1)?;
            c.want(0, c.ty(0).is_numeric(), "a number")?;
            c.ty(0).clone()
        }
        Func::Round => {
            c.arity(1, 2)?;
            c.want(0, c.ty(0).is_numeric(), "a number")?;
            if n == 2 {
                c.want_constant_int(1, 0, "a non-negative integer number of digits")?;
            }
            c.ty(0).clone()
        }
        Func::Sqrt | Func::Log | Func::Exp => {
            c.arity(1, 1)?;
            c.want(0, c.ty(0).is_numeric(), "a number")?;
            DType::Float
        }
        Func::Pow => {
            c.arity(2, 2)?;
            c.want(0, c.ty(0).is_numeric(), "a number")?;
            c.want(1, c.ty(1).is_numeric(), "a number")?;
            DType::Float
        }
        Func::Lower | Func::Upper | Func::Reverse => {
            c.arity(1, 1)?;
            c.want_str(0)?;
            DType::Str
        }
        Func::Trim | Func::Ltrim | Func::Rtrim => {
            c.arity(1, 2)?;
            c.want_str(0)?;
            if n == 2 {
                c.want_constant_str(1, "a constant string of the characters to strip")?;
            }
            DType::Str
        }
        Func::Len => {
            c.arity(1, 1)?;
            c.want(0, c.is_str(0) || matches!(c.ty(0), DType::List(_)), "a string or a list")?;
            DType::Int
        }
        Func::Field => {
            c.arity(2, 2)?;
            let name = c.want_constant_str(1, "a field name")?;
            match c.ty(0) {
                DType::Null => DType::Null,
                DType::Struct(fields) => match fields.iter().find(|f| f.name == name) {
                    Some(f) => f.dtype.clone(),
                    None => {
                        let names: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                        return Err(Error::Invalid {
                            message: format!("`{}` has no field `{name}`", c.arg_spans[0].text(c.src)),
                            span: c.span,
                            hint: Some(format!("its fields are: {}", names.join(", "))),
                        });
                    }
                },
                t => {
                    return Err(c.type_err(
                        c.span,
                        format!("`.{name}` needs a struct, `{}` is {t}", c.arg_spans[0].text(c.src)),
                    ))
                }
            }
        }
        Func::Get => {
            c.arity(2, 2)?;
            c.want(1, matches!(c.constant(1), Some(Value::Int(_))), "a constant index (0 is the first item)")?;
            match c.ty(0) {
                DType::List(inner) => inner.as_ref().clone(),
                DType::Null => DType::Null,
                t => {
                    return Err(
                        c.type_err(c.span, format!("`[..]` needs a list, `{}` is {t}", c.arg_spans[0].text(c.src)))
                    )
                }
            }
        }
        Func::Split => {
            c.arity(2, 2)?;
            c.want_str(0)?;
            c.want_constant_str(1, "a constant separator")?;
            DType::List(Box::new(DType::Str))
        }
        Func::Contains | Func::StartsWith | Func::EndsWith => {
            c.arity(2, 2)?;
            c.want_str(0)?;
            c.want_constant_str(1, "a constant string pattern")?;
            DType::Bool
        }
        Func::RegexMatch => {
            c.arity(2, 2)?;
            c.want_str(0)?;
            regex(c, 1)?;
            DType::Bool
        }
        Func::RegexExtract => {
            c.arity(2, 3)?;
            c.want_str(0)?;
            let groups = regex(c, 1)?;
            if n == 3 {
                let g = c.want_constant_int(2, 0, "a constant group number (0 is the whole match)")?;
                if g as usize >= groups {
                    return Err(Error::invalid(
                        c.arg_spans[2],
                        format!("the pattern has {} group(s); group {g} does not exist", groups - 1),
                    ));
                }
            }
            DType::Str
        }
        Func::RegexReplace => {
            c.arity(3, 3)?;
            c.want_str(0)?;
            regex(c, 1)?;
            c.want_constant_str(2, "a constant replacement ($1 or ${name} for a group)")?;
            DType::Str
        }
        Func::Replace => {
            c.arity(3, 3)?;
            c.want_str(0)?;
            c.want_constant_str(1, "a constant string")?;
            c.want_constant_str(2, "a constant string")?;
            DType::Str
        }
        Func::Concat => {
            c.arity(1, usize::MAX)?;
            DType::Str
        }
        Func::Format => {
            c.arity(1, usize::MAX)?;
            let fmt = c.want_constant_str(0, "a constant format string such as \"{}-{}\"")?;
            let holes = format_pieces(fmt).map_err(|m| Error::invalid(c.arg_spans[0], m))?.len() - 1;
            if holes != n - 1 {
                return Err(Error::invalid(
                    c.span,
                    format!("the format has {holes} `{{}}` placeholder(s) but {} value(s) follow it", n - 1),
                ));
            }
            DType::Str
        }
        Func::SplitPart => {
            c.arity(3, 3)?;
            c.want_str(0)?;
            if c.want_constant_str(1, "a constant separator")?.is_empty() {
                return Err(Error::invalid(c.arg_spans[1], "the separator of `split_part` is empty"));
            }
            match c.constant(2) {
                Some(Value::Int(i)) if *i != 0 => {}
                _ => {
                    return Err(Error::invalid(
                        c.arg_spans[2],
                        "`split_part` needs a constant part number: 1 is the first, -1 the last",
                    ))
                }
            }
            DType::Str
        }
        Func::Lpad | Func::Rpad => {
            c.arity(2, 3)?;
            c.want_str(0)?;
            c.want_constant_int(1, 0, "a constant non-negative length")?;
            if n == 3 && c.want_constant_str(2, "a constant fill string")?.is_empty() {
                return Err(Error::invalid(c.arg_spans[2], "the fill string is empty"));
            }
            DType::Str
        }
        Func::Repeat => {
            c.arity(2, 2)?;
            c.want_str(0)?;
            c.want_constant_int(1, 0, "a constant non-negative count")?;
            DType::Str
        }
        Func::Substr => {
            c.arity(2, 3)?;
            c.want_str(0)?;
            c.want(1, *c.ty(1) == DType::Int, "an integer start (1-based)")?;
            if n == 3 {
                c.want(2, *c.ty(2) == DType::Int, "an integer length")?;
            }
            DType::Str
        }
        Func::Year | Func::Month | Func::Day | Func::Quarter | Func::Week | Func::Weekday | Func::DayOfYear => {
            c.arity(1, 1)?;
            c.want(0, c.is_temporal(0), "a date or datetime")?;
            DType::Int
        }
        Func::Hour | Func::Minute | Func::Second => {
            c.arity(1, 1)?;
            c.want(0, matches!(c.ty(0), DType::Datetime | DType::Null), "a datetime")?;
            DType::Int
        }
        Func::DateTrunc => {
            c.arity(2, 2)?;
            let unit = c.want_unit(0)?;
            c.want(1, c.is_temporal(1), "a date or datetime")?;
            if *c.ty(1) == DType::Date && !is_date_unit(unit) {
                return Err(Error::invalid(c.arg_spans[0], format!("a date has no {unit}s; cast it to datetime")));
            }
            c.ty(1).clone()
        }
        Func::DateDiff => {
            c.arity(3, 3)?;
            c.want_unit(0)?;
            c.want(1, c.is_temporal(1), "a date or datetime")?;
            c.want(2, c.is_temporal(2), "a date or datetime")?;
            DType::Int
        }
        Func::DateAdd => {
            c.arity(3, 3)?;
            c.want(0, c.is_temporal(0), "a date or datetime")?;
            c.want(1, c.is_int(1), "an integer number of units")?;
            let unit = c.want_unit(2)?;
            if *c.ty(0) == DType::Date && !is_date_unit(unit) {
                return Err(Error::invalid(c.arg_spans[2], format!("a date has no {unit}s; cast it to datetime")));
            }
            c.ty(0).clone()
        }
        Func::Strftime => {
            c.arity(2, 2)?;
            c.want(0, c.is_temporal(0), "a date or datetime")?;
            let fmt = c.want_constant_str(1, "a constant strftime format such as \"%Y-%m\"")?;
            check_strftime(fmt, c.arg_spans[1])?;
            if *c.ty(0) == DType::Date && ["%H", "%M", "%S", "%T", "%I", "%p", "%f"].iter().any(|t| fmt.contains(t)) {
                return Err(Error::invalid(c.arg_spans[1], "a date has no time of day; cast it to datetime"));
            }
            DType::Str
        }
        Func::FromUnixtime => {
            c.arity(1, 1)?;
            c.want(0, c.ty(0).is_numeric(), "a number of seconds since 1970-01-01 UTC")?;
            DType::Datetime
        }
        Func::InTz | Func::FromTz => {
            c.arity(2, 2)?;
            c.want(0, matches!(c.ty(0), DType::Datetime | DType::Null), "a datetime")?;
            let zone = c.want_constant_str(1, "a constant time zone such as \"Europe/Berlin\" or \"+02:00\"")?;
            if Zone::parse(zone).is_none() {
                let near = close_matches(zone, Zone::names());
                let hint = match near.first() {
                    Some(n) => format!("did you mean \"{n}\"? Zones are IANA names or offsets such as \"+02:00\""),
                    None => {
                        "zones are IANA names such as \"Europe/Berlin\", \"UTC\", or offsets such as \"+02:00\"".into()
                    }
                };
                return Err(Error::Invalid {
                    message: format!("unknown time zone \"{zone}\""),
                    span: c.arg_spans[1],
                    hint: Some(hint),
                });
            }
            DType::Datetime
        }
        Func::Interval => {
            c.arity(1, 1)?;
            let text = c.want_constant_str(0, "a constant interval such as \"3 days\" or \"01:30:00\"")?;
            if let Err(message) = crate::duration::parse_interval(text) {
                return Err(Error::Invalid {
                    message: format!("invalid interval \"{text}\": {message}"),
                    span: c.arg_spans[0],
                    hint: Some(
                        "e.g. interval(\"3 days 4 hours\"), interval(\"90 minutes\"), interval(\"01:30:00\")".into(),
                    ),
                });
            }
            DType::Duration
        }
        Func::TotalSeconds => {
            c.arity(1, 1)?;
            c.want(0, matches!(c.ty(0), DType::Duration | DType::Null), "a duration")?;
            DType::Float
        }
        Func::ToUnixtime => {
            c.arity(1, 1)?;
            c.want(0, c.is_temporal(0), "a date or datetime")?;
            DType::Float
        }
        Func::ToDate | Func::ToDatetime => {
            c.arity(2, 2)?;
            c.want_str(0)?;
            let fmt = c.want_constant_str(1, "a constant strftime format such as \"%d/%m/%Y\"")?;
            check_strftime(fmt, c.arg_spans[1])?;
            let has = |codes: &[&str]| codes.iter().any(|code| fmt.contains(code));
            if !has(&["%Y", "%y", "%G", "%F", "%D", "%x", "%C", "%s"]) {
                return Err(Error::Invalid {
                    message: format!("date format `{fmt}` has no year (%Y)"),
                    span: c.arg_spans[1],
                    hint: Some(STRFTIME_HINT.into()),
                });
            }
            if func == Func::ToDate {
                DType::Date
            } else {
                DType::Datetime
            }
        }
    })
}

const STRFTIME_HINT: &str = "formats use strftime codes, e.g. \"%Y-%m-%d\" or \"%d/%m/%Y\"";

/// A format must be a valid strftime pattern: polars panics on some
/// invalid ones (`"%"`), so they stop here.
fn check_strftime(fmt: &str, span: Span) -> Result<(), Error> {
    use chrono::format::{Item, StrftimeItems};
    if StrftimeItems::new(fmt).any(|i| matches!(i, Item::Error)) {
        return Err(Error::Invalid {
            message: format!("`{fmt}` is not a valid date format"),
            span,
            hint: Some(STRFTIME_HINT.into()),
        });
    }
    Ok(())
}

/// Checks the constant regular expression at argument `i` and returns its
/// number of groups (the whole match included). An invalid one is an error
/// pointing at the offending part of the pattern when it can be located.
fn regex(c: &Call, i: usize) -> Result<usize, Error> {
    let pattern = c.want_constant_str(i, "a constant regular expression")?;
    match regex::Regex::new(pattern) {
        Ok(re) => Ok(re.captures_len()),
        Err(e) => {
            let literal = c.arg_spans[i];
            let span = pattern_span(c.src, literal, pattern).unwrap_or(literal);
            let reason = match &e {
                regex::Error::Syntax(text) => text.lines().last().unwrap_or(text).trim_start_matches("error: "),
                _ => "the compiled pattern is too large",
            };
            Err(Error::Invalid {
                message: format!("invalid regular expression: {reason}"),
                span,
                hint: Some("regular expressions use Rust's regex syntax; escape a literal `(` as `\\\\(`".into()),
            })
        }
    }
}

/// Where in the program text the fault of `pattern` lies: the regex
/// parser's offset mapped into the string literal, when the literal holds
/// the pattern verbatim (no escapes in between).
fn pattern_span(src: &str, literal: Span, pattern: &str) -> Option<Span> {
    let inner = literal.text(src).get(1..literal.text(src).len().checked_sub(1)?)?;
    if inner != pattern {
        return None;
    }
    let err = regex_syntax::ast::parse::Parser::new().parse(pattern).err()?;
    let at = err.span();
    let start = literal.start + 1 + at.start.offset;
    let end = (literal.start + 1 + at.end.offset).max(start + 1).min(literal.end - 1);
    Some(Span::new(start, end.max(start)))
}

/// The literal pieces of a `format` string around its `{}` placeholders
/// (`{{` and `}}` are braces): one more piece than placeholders.
pub fn format_pieces(fmt: &str) -> Result<Vec<String>, String> {
    let mut pieces = vec![String::new()];
    let mut chars = fmt.chars().peekable();
    while let Some(ch) = chars.next() {
        match (ch, chars.peek()) {
            ('{', Some('{')) | ('}', Some('}')) => {
                chars.next();
                push(&mut pieces, ch);
            }
            ('{', Some('}')) => {
                chars.next();
                pieces.push(String::new());
            }
            ('{', _) | ('}', _) => {
                return Err(format!("`{ch}` in a format must be part of `{{}}`, or doubled to mean itself"));
            }
            _ => push(&mut pieces, ch),
        }
    }
    Ok(pieces)
}

fn push(pieces: &mut [String], ch: char) {
    if let Some(piece) = pieces.last_mut() {
        piece.push(ch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_pieces_split_on_placeholders_and_keep_doubled_braces() {
        assert_eq!(format_pieces("{}-{}").unwrap(), vec!["", "-", ""]);
        assert_eq!(format_pieces("a{{b}}c").unwrap(), vec!["a{b}c"]);
        assert_eq!(format_pieces("x={}!").unwrap(), vec!["x=", "!"]);
        assert!(format_pieces("{0}").is_err());
        assert!(format_pieces("}").is_err());
    }

    #[test]
    fn a_regex_fault_is_located_inside_the_literal() {
        let src = r#"f("ab(c")"#;
        let literal = Span::new(2, 8);
        let span = pattern_span(src, literal, "ab(c").unwrap();
        assert_eq!(&src[span.start..span.end], "(");
    }
}
