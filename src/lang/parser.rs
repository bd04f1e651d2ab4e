//! Recursive-descent parser: tokens → [`Program`].
//!
//! Grammar (informal):
//!
//! ```text
//! program  := (let NAME = pipeline)* pipeline
//! pipeline := source ("|" verb)*
//! source   := scan STRING ["(" options ")"] | NAME
//! expr     := or ; or := and ("or" and)* ; and := not ("and" not)*
//! not      := "not" not | cmp
//! cmp      := add [(== != < <= > >=) add | [not] in [..] | [not] between add and add | is [not] null]
//! add      := mul ((+|-) mul)* ; mul := unary ((*|/|//|%) unary)*
//! unary    := - unary | primary ; primary := literal | NAME | NAME(args) | (expr)
//! ```
//!
//! Line breaks are insignificant except that optional verb arguments
//! (`distinct`'s columns) must start on the verb's line, which lets a `let`
//! pipeline end at a line break.

use super::ast::*;
use super::error::Error;
use super::lexer::{lex, Params, Tok, Token};
use super::span::Span;

const VERBS: &[&str] = &[
    "filter", "where", "select", "derive", "drop", "rename", "agg", "sort", "head", "tail", "rows", "cols", "distinct",
    "join", "union", "sample", "count", "write", "explode", "reduce", "gram", "cov", "corr", "matmul", "each",
    "unpivot", "melt", "pivot", "flatten",
];

/// `env("NAME")`: the environment variable's value as a text literal,
/// read once while parsing.
fn env_var(args: &[Expr], span: Span) -> Result<Expr, Error> {
    let [Expr { kind: ExprKind::Literal(Literal::Str(name)), .. }] = args else {
        return Err(Error::new(span, "`env` takes one quoted variable name, as in env(\"HOME\")"));
    };
    match std::env::var(name) {
        Ok(value) => Ok(Expr { kind: ExprKind::Literal(Literal::Str(value)), span }),
        Err(_) => Err(Error::new(span, format!("the environment variable `{name}` is not set (or not UTF-8)"))
            .with_hint(format!("set it (`{name}=… dq …`) or use a parameter: --var name=VALUE and `$name`"))),
    }
}

/// Whether `name` is a verb of the language.
pub fn is_verb(name: &str) -> bool {
    VERBS.contains(&name)
}

/// Parses a whole program.
///
/// # Errors
/// The first syntax error, with its span and what was expected there.
pub fn parse(src: &str) -> Result<Program, Error> {
    parse_with(src, &Params::new())
}

/// [`parse`] with parameter values for `$name` (see [`lex`]).
///
/// # Errors
/// The first syntax error, or a parameter that is not set.
pub fn parse_with(src: &str, params: &Params) -> Result<Program, Error> {
    let tokens = lex(src, params)?;
    let mut p = Parser { tokens, pos: 0, depth: 0, verbs: 0 };
    let program = p.program()?;
    Ok(program)
}

/// Deepest expression accepted: operators chained, parentheses, calls and
/// `not`/`-` prefixes all count. Later stages (and polars, on worker threads
/// with small stacks) walk expressions recursively, so a generated program
/// deeper than this stops here with a located error instead of overflowing
/// the stack.
pub const MAX_NESTING: usize = 128;

/// Most verbs in one program (each adds a level to the plan).
pub const MAX_VERBS: usize = 1000;

struct Parser {
    tokens: Vec<Token>,
    pos: usize,
    /// Nesting of the expression being parsed (an upper bound on its depth).
    depth: usize,
    /// Verbs parsed so far.
    verbs: usize,
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Ident { name, .. } => format!("`{name}`"),
        Tok::Str(s) => format!("string \"{s}\""),
        Tok::Int(i) => format!("number {i}"),
        Tok::Float(f) => format!("number {f}"),
        Tok::Sym(s) => format!("`{s}`"),
        Tok::Newline => "end of line".into(),
        Tok::Eof => "end of input".into(),
    }
}

impl Parser {
    // ---- token helpers -------------------------------------------------

    fn skip_newlines(&mut self) {
        while self.tokens[self.pos].tok == Tok::Newline {
            self.pos += 1;
        }
    }

    /// The next meaningful token (line breaks skipped).
    fn peek(&mut self) -> &Token {
        self.skip_newlines();
        &self.tokens[self.pos]
    }

    /// The next token without skipping line breaks.
    fn peek_raw(&self) -> &Token {
        &self.tokens[self.pos]
    }

    fn next(&mut self) -> Token {
        self.skip_newlines();
        let t = self.tokens[self.pos].clone();
        if t.tok != Tok::Eof {
            self.pos += 1;
        }
        t
    }

    fn prev_end(&self) -> usize {
        self.tokens[..self.pos].iter().rev().find(|t| t.tok != Tok::Newline).map_or(0, |t| t.span.end)
    }

    fn at_sym(&mut self, s: &str) -> bool {
        matches!(&self.peek().tok, Tok::Sym(x) if *x == s)
    }

    fn eat_sym(&mut self, s: &str) -> bool {
        if self.at_sym(s) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn at_keyword(&mut self, kw: &str) -> bool {
        matches!(&self.peek().tok, Tok::Ident { name, quoted: false } if name == kw)
    }

    fn eat_keyword(&mut self, kw: &str) -> bool {
        if self.at_keyword(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    /// One level deeper; an error once [`MAX_NESTING`] is passed.
    fn deeper(&mut self) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            let span = self.peek().span;
            return Err(Error::new(
                span,
                format!("nesting too deep: more than {MAX_NESTING} levels of operators, parentheses or calls"),
            )
            .with_hint("compute parts of the expression in earlier `derive` steps"));
        }
        Ok(())
    }

    fn error_here(&mut self, expected: &str) -> Error {
        let t = self.peek().clone();
        let mut err = Error::new(t.span, format!("expected {expected}, found {}", describe(&t.tok)));
        if t.tok == Tok::Sym("=") && expected.contains("operator") {
            err = err.with_hint("use `==` to compare values");
        }
        err
    }

    fn expect_sym(&mut self, s: &str) -> Result<Span, Error> {
        if self.at_sym(s) {
            Ok(self.next().span)
        } else {
            Err(self.error_here(&format!("`{s}`")))
        }
    }

    fn ident(&mut self, what: &str) -> Result<Ident, Error> {
        match self.peek().tok.clone() {
            Tok::Ident { name, .. } => {
                let span = self.next().span;
                Ok(Ident { name, span })
            }
            _ => Err(self.error_here(what)),
        }
    }

    fn string(&mut self, what: &str) -> Result<(String, Span), Error> {
        match self.peek().tok.clone() {
            Tok::Str(s) => {
                let span = self.next().span;
                Ok((s, span))
            }
            _ => Err(self.error_here(what)),
        }
    }

    // ---- program structure ---------------------------------------------

    fn program(&mut self) -> Result<Program, Error> {
        let mut lets = Vec::new();
        while self.at_keyword("let") {
            self.next();
            let name = self.ident("a name after `let`")?;
            self.expect_sym("=")?;
            let pipeline = self.pipeline(false)?;
            self.eat_sym(";");
            lets.push(Let { name, pipeline });
        }
        if self.peek().tok == Tok::Eof {
            return Err(self.error_here("a pipeline, e.g. scan \"data.csv\" | head 10"));
        }
        let main = self.pipeline(true)?;
        self.eat_sym(";");
        if self.peek().tok != Tok::Eof {
            return Err(self.error_here("`|` followed by a verb, or the end of the program"));
        }
        Ok(Program { lets, main })
    }

    /// A source and its verbs. The main pipeline (`from_stdin`) may start
    /// with a verb: it then reads standard input, as `scan "-" | …` does
    /// (`cat x.csv | dq 'filter qty > 18'`, as Miller and qsv read stdin).
    fn pipeline(&mut self, from_stdin: bool) -> Result<Pipeline, Error> {
        let mut verbs = Vec::new();
        let source = match self.peek().tok.clone() {
            Tok::Ident { name, quoted: false } if from_stdin && name != "scan" && VERBS.contains(&name.as_str()) => {
                let at = self.peek().span;
                let path_span = Span::new(at.start, at.start);
                self.verbs += 1;
                verbs.push(self.verb()?);
                Source::Scan(Scan { path: "-".into(), path_span, options: Vec::new() })
            }
            _ => self.source()?,
        };
        while self.eat_sym("|") {
            self.verbs += 1;
            if self.verbs > MAX_VERBS {
                let span = self.peek().span;
                return Err(Error::new(span, format!("too many verbs: a program may have at most {MAX_VERBS}"))
                    .with_hint("write an intermediate result with `write` and read it back in a second program"));
            }
            verbs.push(self.verb()?);
        }
        Ok(Pipeline { source, verbs })
    }

    fn source(&mut self) -> Result<Source, Error> {
        if self.at_keyword("scan") {
            self.next();
            let (path, path_span) = self.string("a quoted path after `scan`, e.g. scan \"data.csv\"")?;
            let options = if self.at_sym("(") { self.options()? } else { Vec::new() };
            return Ok(Source::Scan(Scan { path, path_span, options }));
        }
        match self.peek().tok.clone() {
            Tok::Ident { name, quoted: false } if VERBS.contains(&name.as_str()) => {
                Err(self.error_here("a source (`scan \"path\"` or a `let` name) before the first verb"))
            }
            Tok::Ident { .. } => Ok(Source::Ref(self.ident("a source")?)),
            Tok::Str(_) => Err(self.error_here("a source").with_hint("read a file with scan \"path\"")),
            _ => Err(self.error_here("a source (`scan \"path\"` or a `let` name)")),
        }
    }

    fn options(&mut self) -> Result<Vec<OptionArg>, Error> {
        self.expect_sym("(")?;
        let mut out = Vec::new();
        if !self.at_sym(")") {
            loop {
                out.push(self.option()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        self.expect_sym(")")?;
        Ok(out)
    }

    fn option(&mut self) -> Result<OptionArg, Error> {
        let name = self.ident("an option name")?;
        self.expect_sym("=")?;
        let start = self.peek().span;
        let value = if self.eat_sym("(") {
            let mut cols = Vec::new();
            loop {
                let col = self.ident("a column name")?;
                self.expect_sym(":")?;
                let ty = self.ident("a type name (int, float, str, bool, date, datetime)")?;
                cols.push((col, ty));
                if !self.eat_sym(",") {
                    break;
                }
            }
            self.expect_sym(")")?;
            OptionValue::Schema(cols)
        } else if self.eat_sym("[") {
            let mut items = Vec::new();
            if !self.at_sym("]") {
                loop {
                    items.push(self.option_literal()?);
                    if !self.eat_sym(",") {
                        break;
                    }
                }
            }
            self.expect_sym("]")?;
            OptionValue::List(items)
        } else {
            OptionValue::Scalar(self.option_literal()?)
        };
        Ok(OptionArg { name, value, span: start.to(Span::new(self.prev_end(), self.prev_end())) })
    }

    fn option_literal(&mut self) -> Result<Literal, Error> {
        let t = self.next();
        Ok(match t.tok {
            Tok::Str(s) => Literal::Str(s),
            Tok::Int(i) => Literal::Int(i),
            Tok::Float(f) => Literal::Float(f),
            Tok::Ident { name, .. } => match name.as_str() {
                "true" => Literal::Bool(true),
                "false" => Literal::Bool(false),
                "null" => Literal::Null,
                _ => Literal::Word(name),
            },
            Tok::Sym("-") => match self.next().tok {
                Tok::Int(i) => Literal::Int(-i),
                Tok::Float(f) => Literal::Float(-f),
                _ => return Err(Error::new(t.span, "expected a number after `-`")),
            },
            other => return Err(Error::new(t.span, format!("expected a value, found {}", describe(&other)))),
        })
    }

    // ---- verbs -----------------------------------------------------------

    fn verb(&mut self) -> Result<Verb, Error> {
        let head = self.peek().clone();
        let name = match &head.tok {
            Tok::Ident { name, quoted: false } if VERBS.contains(&name.as_str()) => name.clone(),
            Tok::Ident { name, .. } => {
                let close = VERBS.iter().min_by_key(|v| strsim::osa_distance(v, name)).copied();
                let mut err = Error::new(head.span, format!("unknown verb `{name}`"));
                if let Some(v) = close.filter(|v| strsim::osa_distance(v, name) <= 2) {
                    err = err.with_hint(format!("did you mean `{v}`?"));
                } else {
                    err = err.with_hint(format!("verbs are: {}", VERBS.join(", ")));
                }
                return Err(err);
            }
            _ => return Err(self.error_here("a verb after `|`")),
        };
        self.next();
        let kind = match name.as_str() {
            "filter" | "where" => VerbKind::Filter(self.expr()?),
            "select" => VerbKind::Select(self.select_items()?),
            "derive" => VerbKind::Derive(self.assigns(true)?),
            "drop" => VerbKind::Drop(self.ident_list()?),
            "rename" => {
                let mut pairs = Vec::new();
                loop {
                    let new = self.ident("the new column name")?;
                    self.expect_sym("=")?;
                    let old = self.ident("the existing column name")?;
                    pairs.push((new, old));
                    if !self.eat_sym(",") {
                        break;
                    }
                }
                VerbKind::Rename(pairs)
            }
            "agg" => {
                let aggs = self.assigns(false)?;
                let by = if self.eat_keyword("by") { self.assigns(false)? } else { Vec::new() };
                VerbKind::Agg { aggs, by }
            }
            "sort" => VerbKind::Sort(self.sort_keys()?),
            "head" => {
                let n = self.count_arg("head")?;
                let by = if self.eat_keyword("by") { self.ident_list()? } else { Vec::new() };
                VerbKind::Head { n, by }
            }
            "tail" => VerbKind::Tail(self.count_arg("tail")?),
            "rows" => {
                let (start, end) = self.range("rows", "rows")?;
                VerbKind::Rows { start, end }
            }
            "cols" => {
                let (start, end) = self.range("cols", "columns")?;
                VerbKind::Cols { start, end }
            }
            "distinct" => {
                let same_line = matches!(self.peek_raw().tok, Tok::Ident { .. });
                VerbKind::Distinct(if same_line { self.ident_list()? } else { Vec::new() })
            }
            "join" => self.join()?,
            "union" => VerbKind::Union(self.join_source()?),
            "pivot" => {
                let column = self.ident("the column whose values become columns")?;
                let values = if self.eat_keyword("in") {
                    self.expect_sym("[")?;
                    Some(self.exprs_until("]")?.0)
                } else {
                    None
                };
                if !self.eat_keyword("using") {
                    return Err(
                        self.error_here("`using` and an aggregate, e.g. pivot product using sum(qty) by region")
                    );
                }
                let agg = self.expr()?;
                let by = if self.eat_keyword("by") { self.ident_list()? } else { Vec::new() };
                VerbKind::Pivot { column, values, agg, by }
            }
            "flatten" => VerbKind::Flatten(self.ident_list_of("a struct column")?),
            "unpivot" | "melt" => {
                let items = self.select_items()?;
                let into = if self.eat_keyword("into") {
                    let name = self.ident("the name column's name")?;
                    self.expect_sym(",")?;
                    Some((name, self.ident("the value column's name")?))
                } else {
                    None
                };
                VerbKind::Unpivot { items, into }
            }
            "sample" => self.sample()?,
            "count" => VerbKind::Count,
            "each" => VerbKind::Each(self.expr()?),
            "gram" | "cov" | "corr" => VerbKind::Matrix(Ident { name: name.clone(), span: head.span }),
            "matmul" => {
                let (path, path_span) = self.string("a quoted path of the matrix after `matmul`, e.g. \"w.npy\"")?;
                VerbKind::MatMul { path, path_span }
            }
            "reduce" => {
                let stats = self.ident_list_of("a statistic (sum, mean, std, var, min, max, count)")?;
                let axis = if self.eat_keyword("axis") {
                    self.expect_sym("=")?;
                    let t = self.next();
                    match t.tok {
                        Tok::Int(n) => Some((n.to_string(), t.span)),
                        Tok::Ident { name, .. } => Some((name, t.span)),
                        _ => return Err(Error::new(t.span, "expected an axis: 0, 1 or all")),
                    }
                } else {
                    None
                };
                VerbKind::Reduce { stats, axis }
            }
            "explode" => {
                let column = self.ident("the string column to split")?;
                let separator =
                    if self.eat_keyword("on") { Some(self.string("a quoted separator after `on`")?.0) } else { None };
                VerbKind::Explode { column, separator }
            }
            "write" => {
                let (path, path_span) = self.string("a quoted output path after `write`")?;
                let options = if self.at_sym("(") { self.options()? } else { Vec::new() };
                VerbKind::Write { path, path_span, options }
            }
            _ => unreachable!("VERBS and this match list the same verbs"),
        };
        Ok(Verb { kind, span: Span::new(head.span.start, self.prev_end()) })
    }

    fn count_arg(&mut self, verb: &str) -> Result<u64, Error> {
        match self.peek().tok {
            Tok::Int(n) if n >= 0 => {
                self.next();
                Ok(n as u64)
            }
            _ => Err(self.error_here(&format!("a row count after `{verb}`, e.g. {verb} 10"))),
        }
    }

    /// The `A:B` or `:B` (from 0) after `rows` or `cols`.
    fn range(&mut self, verb: &str, what: &str) -> Result<(u64, u64), Error> {
        let start = if self.at_sym(":") { 0 } else { self.count_arg(verb)? };
        if !self.eat_sym(":") {
            return Err(self.error_here(&format!("`:` in `{verb} A:B` ({what} A up to, not including, B)")));
        }
        if !matches!(self.peek().tok, Tok::Int(_)) {
            return Err(self.error_here(&format!("the end of the range, as in `{verb} 100:200`")));
        }
        let at = self.peek().span;
        let end = self.count_arg(&format!("{verb} A:"))?;
        if end < start {
            return Err(Error::new(at, format!("the range {start}:{end} ends before it starts")));
        }
        Ok((start, end))
    }

    fn ident_list(&mut self) -> Result<Vec<Ident>, Error> {
        self.ident_list_of("a column name")
    }

    fn ident_list_of(&mut self, what: &str) -> Result<Vec<Ident>, Error> {
        let mut out = vec![self.ident(what)?];
        while self.eat_sym(",") {
            out.push(self.ident(what)?);
        }
        Ok(out)
    }

    /// `name = expr, ...`; when `require_name` is false a bare expression is
    /// named by its own text (`agg count()` makes a column `count()`).
    fn assigns(&mut self, require_name: bool) -> Result<Vec<Assign>, Error> {
        let mut out = Vec::new();
        loop {
            out.push(self.assign(require_name)?);
            if !self.eat_sym(",") {
                break;
            }
        }
        Ok(out)
    }

    fn assign(&mut self, require_name: bool) -> Result<Assign, Error> {
        let is_named = matches!(self.peek().tok, Tok::Ident { .. })
            && matches!(self.tokens.get(self.pos + 1).map(|t| &t.tok), Some(Tok::Sym("=")));
        if is_named {
            let name = self.ident("a name")?;
            self.expect_sym("=")?;
            let expr = self.expr()?;
            return Ok(Assign { name, expr });
        }
        if require_name {
            return Err(self.error_here("`name = expression`"));
        }
        let expr = self.expr()?;
        Ok(Assign { name: Ident { name: String::new(), span: expr.span }, expr })
    }

    fn select_items(&mut self) -> Result<Vec<SelectItem>, Error> {
        let mut out = Vec::new();
        loop {
            if self.at_sym("*") {
                let span = self.next().span;
                let mut except = Vec::new();
                if self.eat_keyword("except") {
                    let paren = self.eat_sym("(");
                    except = self.ident_list()?;
                    if paren {
                        self.expect_sym(")")?;
                    }
                }
                out.push(SelectItem::Star { except, span });
            } else {
                out.push(SelectItem::Expr(self.assign(false)?));
            }
            if !self.eat_sym(",") {
                break;
            }
        }
        Ok(out)
    }

    fn sort_keys(&mut self) -> Result<Vec<SortKey>, Error> {
        let mut out = Vec::new();
        loop {
            let mut descending = self.eat_sym("-");
            let expr = self.expr()?;
            if self.eat_keyword("desc") {
                descending = !descending;
            } else {
                self.eat_keyword("asc");
            }
            out.push(SortKey { expr, descending });
            if !self.eat_sym(",") {
                break;
            }
        }
        Ok(out)
    }

    fn join_source(&mut self) -> Result<Source, Error> {
        match self.peek().tok.clone() {
            Tok::Str(path) => {
                let path_span = self.next().span;
                let options = if self.at_sym("(") { self.options()? } else { Vec::new() };
                Ok(Source::Scan(Scan { path, path_span, options }))
            }
            Tok::Ident { .. } if self.at_keyword("scan") => self.source(),
            Tok::Ident { .. } => Ok(Source::Ref(self.ident("a name")?)),
            _ => Err(self.error_here("a `let` name or a quoted path")),
        }
    }

    fn join(&mut self) -> Result<VerbKind, Error> {
        let other = self.join_source()?;
        let mut on = Vec::new();
        if self.eat_keyword("on") {
            loop {
                on.push(self.key_pair()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        let mut asof = if self.eat_keyword("asof") {
            let (left, right) = self.key_pair()?;
            Some(AsofOn { left, right, direction: None })
        } else {
            None
        };
        if on.is_empty() && asof.is_none() {
            return Err(self.error_here("`on` and the join keys, e.g. join depts on dept_id"));
        }
        let (mut kind, mut suffix) = (None, None);
        loop {
            if kind.is_none() && self.eat_keyword("kind") {
                self.expect_sym("=")?;
                kind = Some(self.ident("a join kind (inner, left, right, full, semi, anti)")?);
            } else if suffix.is_none() && self.eat_keyword("suffix") {
                self.expect_sym("=")?;
                suffix = Some(self.string("a suffix string, e.g. suffix=\"_r\"")?);
            } else if let Some(a) = asof.as_mut().filter(|a| a.direction.is_none()) {
                if !self.eat_keyword("direction") {
                    break;
                }
                self.expect_sym("=")?;
                a.direction = Some(self.ident("a direction (backward, forward, nearest)")?);
            } else {
                break;
            }
        }
        Ok(VerbKind::Join { other, on, kind, suffix, asof })
    }

    /// `a` or `a = b` (also `a == b`): a left column and its right partner.
    fn key_pair(&mut self) -> Result<(Ident, Ident), Error> {
        let left = self.ident("a key column")?;
        let right = if self.eat_sym("=") || self.eat_sym("==") { self.ident("a key column")? } else { left.clone() };
        Ok((left, right))
    }

    fn sample(&mut self) -> Result<VerbKind, Error> {
        let t = self.next();
        let amount = match t.tok {
            Tok::Int(n) if n >= 0 => Literal::Int(n),
            Tok::Float(f) => Literal::Float(f),
            _ => return Err(Error::new(t.span, "expected a row count or a fraction after `sample`")),
        };
        let mut seed = None;
        if self.eat_keyword("seed") {
            self.expect_sym("=")?;
            match self.next().tok {
                Tok::Int(n) if n >= 0 => seed = Some(n as u64),
                _ => return Err(Error::new(t.span, "expected a non-negative integer seed")),
            }
        }
        Ok(VerbKind::Sample { amount, amount_span: t.span, seed })
    }

    // ---- expressions -------------------------------------------------------

    fn expr(&mut self) -> Result<Expr, Error> {
        let base = self.depth;
        self.deeper()?;
        let e = self.or_expr();
        self.depth = base;
        e
    }

    fn binary(op: BinOp, left: Expr, right: Expr) -> Expr {
        let span = left.span.to(right.span);
        Expr { kind: ExprKind::Binary { op, left: Box::new(left), right: Box::new(right) }, span }
    }

    fn or_expr(&mut self) -> Result<Expr, Error> {
        let base = self.depth;
        let mut left = self.and_expr()?;
        while self.eat_keyword("or") {
            self.deeper()?;
            let right = self.and_expr()?;
            left = Self::binary(BinOp::Or, left, right);
        }
        self.depth = base;
        Ok(left)
    }

    fn and_expr(&mut self) -> Result<Expr, Error> {
        let base = self.depth;
        let mut left = self.not_expr()?;
        while self.eat_keyword("and") {
            self.deeper()?;
            let right = self.not_expr()?;
            left = Self::binary(BinOp::And, left, right);
        }
        self.depth = base;
        Ok(left)
    }

    fn not_expr(&mut self) -> Result<Expr, Error> {
        if self.at_keyword("not") {
            let span = self.next().span;
            let base = self.depth;
            self.deeper()?;
            let inner = self.not_expr()?;
            self.depth = base;
            let span = span.to(inner.span);
            return Ok(Expr { kind: ExprKind::Unary { op: UnaryOp::Not, expr: Box::new(inner) }, span });
        }
        self.cmp_expr()
    }

    fn cmp_expr(&mut self) -> Result<Expr, Error> {
        let left = self.concat_expr()?;
        let op = match self.peek().tok {
            Tok::Sym("==") => Some(BinOp::Eq),
            Tok::Sym("!=") => Some(BinOp::NotEq),
            Tok::Sym("<") => Some(BinOp::Lt),
            Tok::Sym("<=") => Some(BinOp::LtEq),
            Tok::Sym(">") => Some(BinOp::Gt),
            Tok::Sym(">=") => Some(BinOp::GtEq),
            Tok::Sym("=") => {
                let eq = self.peek().span;
                // `a = b` inside an expression is almost always a mistyped `==`,
                // but `name = expr` after a comma is the next assignment: only
                // complain when no comma could have started one.
                let prev = self.tokens[..self.pos].iter().rev().find(|t| t.tok != Tok::Newline);
                if !matches!(left.kind, ExprKind::Column(_)) || prev.map(|t| &t.tok) != Some(&Tok::Sym(",")) {
                    return Err(Error::new(eq, "expected an operator or the end of the expression, found `=`")
                        .with_hint("use `==` to compare values"));
                }
                None
            }
            _ => None,
        };
        if let Some(op) = op {
            self.next();
            let right = self.concat_expr()?;
            return Ok(Self::binary(op, left, right));
        }
        let negated = if self.at_keyword("not") {
            let next = self.tokens.get(self.pos + 1).map(|t| t.tok.clone());
            match next {
                Some(Tok::Ident { name, quoted: false }) if name == "in" || name == "between" => {
                    self.next();
                    true
                }
                _ => false,
            }
        } else {
            false
        };
        if self.eat_keyword("in") {
            self.expect_sym("[")?;
            let mut list = Vec::new();
            if !self.at_sym("]") {
                loop {
                    list.push(self.concat_expr()?);
                    if !self.eat_sym(",") {
                        break;
                    }
                }
            }
            let end = self.expect_sym("]")?;
            let span = left.span.to(end);
            return Ok(Expr { kind: ExprKind::In { expr: Box::new(left), list, negated }, span });
        }
        if self.eat_keyword("between") {
            let low = self.concat_expr()?;
            if !self.eat_keyword("and") {
                return Err(self.error_here("`and` in `between low and high`"));
            }
            let high = self.concat_expr()?;
            let span = left.span.to(high.span);
            return Ok(Expr {
                kind: ExprKind::Between { expr: Box::new(left), low: Box::new(low), high: Box::new(high), negated },
                span,
            });
        }
        if negated {
            return Err(self.error_here("`in` or `between` after `not`"));
        }
        if self.eat_keyword("is") {
            let negated = self.eat_keyword("not");
            if !self.at_keyword("null") {
                return Err(self.error_here("`null` after `is`"));
            }
            let end = self.next().span;
            let span = left.span.to(end);
            return Ok(Expr { kind: ExprKind::IsNull { expr: Box::new(left), negated }, span });
        }
        Ok(left)
    }

    /// `a || b`: binds looser than `+` (so `a || n + 1` concatenates the
    /// sum, as in SQL) and tighter than comparisons.
    fn concat_expr(&mut self) -> Result<Expr, Error> {
        let base = self.depth;
        let mut left = self.add_expr()?;
        while self.eat_sym("||") {
            self.deeper()?;
            let right = self.add_expr()?;
            left = Self::binary(BinOp::Concat, left, right);
        }
        self.depth = base;
        Ok(left)
    }

    fn add_expr(&mut self) -> Result<Expr, Error> {
        let base = self.depth;
        let mut left = self.mul_expr()?;
        loop {
            let op = match self.peek().tok {
                Tok::Sym("+") => BinOp::Add,
                Tok::Sym("-") => BinOp::Sub,
                _ => break,
            };
            self.next();
            self.deeper()?;
            let right = self.mul_expr()?;
            left = Self::binary(op, left, right);
        }
        self.depth = base;
        Ok(left)
    }

    fn mul_expr(&mut self) -> Result<Expr, Error> {
        let base = self.depth;
        let mut left = self.unary_expr()?;
        loop {
            let op = match self.peek().tok {
                Tok::Sym("*") => BinOp::Mul,
                Tok::Sym("/") => BinOp::Div,
                Tok::Sym("//") => BinOp::FloorDiv,
                Tok::Sym("%") => BinOp::Mod,
                _ => break,
            };
            self.next();
            self.deeper()?;
            let right = self.unary_expr()?;
            left = Self::binary(op, left, right);
        }
        self.depth = base;
        Ok(left)
    }

    fn unary_expr(&mut self) -> Result<Expr, Error> {
        if self.at_sym("-") {
            let span = self.next().span;
            let base = self.depth;
            self.deeper()?;
            let inner = self.unary_expr()?;
            self.depth = base;
            let span = span.to(inner.span);
            // Fold `-1` into a literal so that it prints and types as one.
            return Ok(match inner.kind {
                ExprKind::Literal(Literal::Int(i)) => Expr { kind: ExprKind::Literal(Literal::Int(-i)), span },
                ExprKind::Literal(Literal::Float(f)) => Expr { kind: ExprKind::Literal(Literal::Float(-f)), span },
                kind => Expr {
                    kind: ExprKind::Unary { op: UnaryOp::Neg, expr: Box::new(Expr { kind, span: inner.span }) },
                    span,
                },
            });
        }
        self.primary()
    }

    /// Expressions separated by commas up to the symbol `close` (call
    /// arguments, a vector's items), and the span of `close`.
    fn exprs_until(&mut self, close: &str) -> Result<(Vec<Expr>, Span), Error> {
        let mut items = Vec::new();
        if !self.at_sym(close) {
            loop {
                items.push(self.expr()?);
                if !self.eat_sym(",") {
                    break;
                }
            }
        }
        Ok((items, self.expect_sym(close)?))
    }

    /// `over (by a, b sort t, -u rows N)` after a call; each part optional.
    fn over(&mut self, call: Expr) -> Result<Expr, Error> {
        self.next();
        self.expect_sym("(")?;
        let by = if self.eat_keyword("by") { self.ident_list_of("a partition column")? } else { Vec::new() };
        let sort = if self.eat_keyword("sort") { self.sort_keys()? } else { Vec::new() };
        let rows = if self.eat_keyword("rows") {
            let t = self.next();
            match t.tok {
                Tok::Int(n) if n >= 1 => Some((n as u64, t.span)),
                _ => {
                    return Err(Error::new(t.span, "`rows` takes a whole number of rows, at least 1")
                        .with_hint("e.g. mean(v) over (sort t rows 7): the current row and the 6 before it"))
                }
            }
        } else {
            None
        };
        if !self.at_sym(")") {
            return Err(self.error_here("`by`, `sort`, `rows` or `)` in the window"));
        }
        let end = self.next().span;
        let span = call.span.to(end);
        Ok(Expr { kind: ExprKind::Over { call: Box::new(call), by, sort, rows }, span })
    }

    /// `x.field` and `x[i]` after a column, a call or a parenthesis, read as the calls
    /// `field(x, "field")` and `get(x, i)`.
    fn postfix(&mut self, mut e: Expr) -> Result<Expr, Error> {
        loop {
            if matches!(self.peek_raw().tok, Tok::Sym(".")) {
                self.next();
                let field = self.ident("a field name after `.`")?;
                let span = e.span.to(field.span);
                let name = Expr { kind: ExprKind::Literal(Literal::Str(field.name)), span: field.span };
                e = Expr {
                    kind: ExprKind::Call { name: Ident { name: "field".into(), span }, args: vec![e, name] },
                    span,
                };
            } else if matches!(self.peek_raw().tok, Tok::Sym("[")) {
                self.next();
                let index = self.expr()?;
                let end = self.expect_sym("]")?;
                let span = e.span.to(end);
                e = Expr {
                    kind: ExprKind::Call { name: Ident { name: "get".into(), span }, args: vec![e, index] },
                    span,
                };
            } else {
                return Ok(e);
            }
        }
    }

    /// After the word `case`: does a `case` expression follow (rather than a
    /// column named `case`)? A column would be followed by an operator.
    fn starts_case(&mut self) -> bool {
        matches!(self.peek().tok, Tok::Ident { .. } | Tok::Str(_) | Tok::Int(_) | Tok::Float(_))
    }

    /// `case [x] when c then v ... [else e] end`, read as the call
    /// `case(c1, v1, c2, v2, ..., e)` (`e` is null when there is no `else`).
    /// The simple form `case x when v then ...` tests `x == v`.
    fn case(&mut self, start: Span) -> Result<Expr, Error> {
        let operand = if self.at_keyword("when") { None } else { Some(self.expr()?) };
        let mut args = Vec::new();
        while self.eat_keyword("when") {
            let test = self.expr()?;
            let test = match &operand {
                Some(x) => Self::binary(BinOp::Eq, x.clone(), test),
                None => test,
            };
            if !self.eat_keyword("then") {
                return Err(self.error_here("`then` after the condition of `when`"));
            }
            args.push(test);
            args.push(self.expr()?);
        }
        if args.is_empty() {
            return Err(self.error_here("`when` in `case when ... then ... end`"));
        }
        let otherwise = if self.eat_keyword("else") { Some(self.expr()?) } else { None };
        if !self.at_keyword("end") {
            return Err(self.error_here("`when`, `else` or `end` to close the `case`"));
        }
        let end = self.next().span;
        args.push(otherwise.unwrap_or(Expr { kind: ExprKind::Literal(Literal::Null), span: end }));
        let span = start.to(end);
        Ok(Expr { kind: ExprKind::Call { name: Ident { name: "case".into(), span: start }, args }, span })
    }

    fn primary(&mut self) -> Result<Expr, Error> {
        let t = self.peek().clone();
        let lit = |l: Literal| Ok(Expr { kind: ExprKind::Literal(l), span: t.span });
        match t.tok {
            Tok::Int(i) => {
                self.next();
                lit(Literal::Int(i))
            }
            Tok::Float(f) => {
                self.next();
                lit(Literal::Float(f))
            }
            Tok::Str(s) => {
                self.next();
                lit(Literal::Str(s))
            }
            Tok::Sym("(") => {
                self.next();
                let inner = self.expr()?;
                let end = self.expect_sym(")")?;
                self.postfix(Expr { kind: inner.kind, span: t.span.to(end) })
            }
            Tok::Sym("[") => {
                self.next();
                let (items, end) = self.exprs_until("]")?;
                Ok(Expr { kind: ExprKind::Vector(items), span: t.span.to(end) })
            }
            Tok::Ident { name, quoted } => {
                self.next();
                if !quoted {
                    match name.as_str() {
                        "true" => return lit(Literal::Bool(true)),
                        "false" => return lit(Literal::Bool(false)),
                        "null" => return lit(Literal::Null),
                        _ => {}
                    }
                }
                if !quoted && name == "case" && self.starts_case() {
                    return self.case(t.span);
                }
                if !quoted && self.at_sym("(") {
                    self.next();
                    let (args, end) = self.exprs_until(")")?;
                    let span = t.span.to(end);
                    if name == "env" {
                        return env_var(&args, span);
                    }
                    let call = Expr { kind: ExprKind::Call { name: Ident { name, span: t.span }, args }, span };
                    if self.at_keyword("over") {
                        return self.over(call);
                    }
                    return self.postfix(call);
                }
                self.postfix(Expr { kind: ExprKind::Column(name), span: t.span })
            }
            _ => Err(self.error_here("an expression")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn main_verbs(src: &str) -> Vec<VerbKind> {
        parse(src).unwrap().main.verbs.into_iter().map(|v| v.kind).collect()
    }

    #[test]
    fn precedence_puts_and_below_comparison() {
        let verbs = main_verbs("scan \"a.csv\" | filter a > 1 and b < 2 or c");
        let VerbKind::Filter(e) = &verbs[0] else { panic!("not a filter: {verbs:?}") };
        let ExprKind::Binary { op: BinOp::Or, left, .. } = &e.kind else { panic!("{e:?}") };
        assert!(matches!(left.kind, ExprKind::Binary { op: BinOp::And, .. }));
    }

    #[test]
    fn let_pipelines_end_at_a_line_break() {
        let p = parse("let d = scan \"d.csv\" | distinct\nd | head 3").unwrap();
        assert_eq!(p.lets.len(), 1);
        assert_eq!(p.lets[0].pipeline.verbs[0].kind, VerbKind::Distinct(vec![]));
        assert!(matches!(p.main.source, Source::Ref(ref i) if i.name == "d"));
    }

    #[test]
    fn sort_minus_means_descending() {
        let verbs = main_verbs("scan \"a.csv\" | sort -x, y desc, z");
        let VerbKind::Sort(keys) = &verbs[0] else { panic!() };
        assert_eq!(keys.iter().map(|k| k.descending).collect::<Vec<_>>(), vec![true, true, false]);
    }

    #[test]
    fn join_keys_with_different_names_and_kind() {
        let verbs = main_verbs("scan \"a.csv\" | join \"b.csv\" on a = x, b kind=left");
        let VerbKind::Join { on, kind, .. } = &verbs[0] else { panic!() };
        assert_eq!(
            on.iter().map(|(l, r)| (l.name.as_str(), r.name.as_str())).collect::<Vec<_>>(),
            vec![("a", "x"), ("b", "b")]
        );
        assert_eq!(kind.as_ref().unwrap().name, "left");
    }

    #[test]
    fn single_equals_in_filter_hints_double_equals() {
        let err = parse("scan \"a.csv\" | filter a = 1").unwrap_err();
        assert_eq!(err.hint.as_deref(), Some("use `==` to compare values"));
        assert_eq!(err.span, Span::new(24, 25));
    }

    #[test]
    fn unknown_verb_suggests_the_closest() {
        let err = parse("scan \"a.csv\" | fliter a > 1").unwrap_err();
        assert!(err.message.contains("unknown verb `fliter`"));
        assert_eq!(err.hint.as_deref(), Some("did you mean `filter`?"));
    }

    #[test]
    fn scan_options_parse_schema_lists_and_scalars() {
        let p = parse("scan \"a.csv\" (delimiter=\";\", null=[\"NA\", \"\"], schema=(id: str), header=false)").unwrap();
        let Source::Scan(s) = p.main.source else { panic!() };
        assert_eq!(s.options.len(), 4);
        assert!(matches!(s.options[2].value, OptionValue::Schema(ref cols) if cols[0].1.name == "str"));
    }

    #[test]
    fn between_in_and_is_null() {
        let verbs = main_verbs("scan \"a\" | filter x between 1 and 3 and y not in [1, 2] and z is not null");
        assert_eq!(verbs.len(), 1);
    }

    #[test]
    fn deep_nesting_is_a_located_error_not_a_stack_overflow() {
        let deep = |open: &str, close: &str| {
            format!("scan \"x\" | filter {}x{} > 1", open.repeat(10_000), close.repeat(10_000))
        };
        for src in [
            deep("(", ")"),
            deep("not ", ""),
            deep("- ", ""),
            deep("abs(", ")"),
            format!("scan \"x\" | derive y = {}", vec!["x"; 10_000].join(" + ")),
        ] {
            let err = parse(&src).unwrap_err();
            assert!(err.message.contains("nesting too deep"), "{}", err.message);
        }
        let verbs = format!("scan \"x\"{}", " | head 1".repeat(10_000));
        assert!(parse(&verbs).unwrap_err().message.contains("too many verbs"));
        // Just under the limits parses.
        parse(&format!("scan \"x\" | derive y = {}", vec!["x"; MAX_NESTING - 2].join(" + "))).unwrap();
        parse(&format!("scan \"x\"{}", " | head 1".repeat(MAX_VERBS))).unwrap();
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        let err = parse("scan \"a.csv\" head 3").unwrap_err();
        assert!(err.message.contains("found `head`"), "{}", err.message);
    }
}
