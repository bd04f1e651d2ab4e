//! AST → logical plan: opens sources to learn their schemas, resolves
//! column and `let` names, type-checks expressions and lowers every verb to
//! a plan node (select/derive/drop/rename all become `Project`).

use std::collections::HashMap;

use super::error::{close_matches, Error};
use super::expr::{AggExpr, AggFunc, BinOp, Expr, Func, Value};
use super::functions;
use super::logical::{
    join_columns, Asof, AsofDirection, JoinKind, LogicalPlan, SampleAmount, Scan, SortKey, WindowExpr,
};
use super::sources::Sources;
use super::types::{DType, Field, Schema};
use crate::io;
use crate::lang::ast::{self, ExprKind, Literal, OptionValue, SelectItem, UnaryOp, VerbKind};
use crate::lang::Span;

/// A planned program: the plan and where its result goes.
#[derive(Debug, Clone)]
pub struct Query {
    /// The logical plan of the main pipeline.
    pub plan: LogicalPlan,
    /// The sources its scans read, opened.
    pub sources: Sources,
    /// `write "path"` at the end of the main pipeline, if any.
    pub write: Option<WriteSpec>,
}

/// Where `write` sends the result.
#[derive(Debug, Clone, PartialEq)]
pub struct WriteSpec {
    /// The file, or with `partition_by` the directory.
    pub path: String,
    /// `partition_by=[k, …]`: one directory level per key, `k=value`.
    pub partition_by: Vec<String>,
    /// `format=`: the partition files' format (Parquet unless given).
    pub format: Option<crate::io::sink::OutputFormat>,
}

impl std::fmt::Display for WriteSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", self.path)?;
        if !self.partition_by.is_empty() {
            let format = self.format.map_or("parquet", |x| x.extension());
            write!(f, " partitioned by {} as {format}", self.partition_by.join(", "))?;
        }
        Ok(())
    }
}

/// Builds the logical plan of a parsed program. `src` is the program text,
/// used to name expressions written without a name (`agg sum(x)`).
///
/// # Errors
/// Unknown names, type errors, invalid options and sources that cannot be opened.
pub fn build(program: &ast::Program, src: &str) -> Result<Query, Error> {
    build_with(program, src, None)
}

/// Runs a plan to completion, for verbs whose output columns depend on
/// the data (`pivot`): the rows, or why the run failed.
pub type FirstPass<'a> = dyn Fn(&LogicalPlan, &Sources) -> Result<Vec<polars::prelude::DataFrame>, String> + 'a;

/// [`build`], with a way to run a first pass over the data (without one,
/// `pivot` needs its values listed).
///
/// # Errors
/// As [`build`]; also a first pass that fails.
pub fn build_with<'a>(
    program: &ast::Program,
    src: &'a str,
    first_pass: Option<&'a FirstPass<'a>>,
) -> Result<Query, Error> {
    let mut b = Builder { lets: HashMap::new(), src, stdin_at: None, sources: Sources::default(), first_pass };
    for l in &program.lets {
        let (plan, write) = b.pipeline(&l.pipeline)?;
        if write.is_some() {
            return Err(Error::invalid(l.name.span, "`write` can only end the main pipeline"));
        }
        b.lets.insert(l.name.name.clone(), plan);
    }
    let (plan, write) = b.pipeline(&program.main)?;
    if let Some(span) = b.stdin_at {
        // A second read of stdin would see nothing: refuse instead of
        // silently losing its rows (a `let` of it used twice counts too).
        if stdin_scans(&plan) > 1 {
            return Err(Error::Invalid {
                message: "standard input is read more than once; it can be read only once".into(),
                span,
                hint: Some("save it to a file first (e.g. dq run -e 'scan \"-\"' -o in.csv) and scan that".into()),
            });
        }
    }
    Ok(Query { plan, write, sources: b.sources })
}

/// Scans of standard input in `plan` (a shared `let` counts once per use).
fn stdin_scans(plan: &LogicalPlan) -> usize {
    let here = matches!(plan, LogicalPlan::Scan(s) if s.spec.reads_stdin());
    usize::from(here) + plan.inputs().into_iter().map(stdin_scans).sum::<usize>()
}

struct Builder<'a> {
    lets: HashMap<String, LogicalPlan>,
    src: &'a str,
    /// Where the program scans standard input, if it does.
    stdin_at: Option<Span>,
    /// Every source opened so far.
    sources: Sources,
    /// Runs a plan for `pivot`'s values.
    first_pass: Option<&'a FirstPass<'a>>,
}

pub(super) fn type_err(src: &str, span: Span, message: impl Into<String>) -> Error {
    Error::Type { expr: span.text(src).to_string(), message: message.into(), span, hint: None }
}

impl Builder<'_> {
    fn pipeline(&mut self, p: &ast::Pipeline) -> Result<(LogicalPlan, Option<WriteSpec>), Error> {
        let mut plan = self.source(&p.source)?;
        let mut write = None;
        for (i, verb) in p.verbs.iter().enumerate() {
            if let VerbKind::Write { path, options, .. } = &verb.kind {
                if i + 1 != p.verbs.len() {
                    return Err(Error::invalid(verb.span, "`write` must be the last verb of the pipeline"));
                }
                write = Some(write_spec(path, options, &plan.schema())?);
                continue;
            }
            plan = self.verb(plan, verb)?;
        }
        Ok((plan, write))
    }

    fn source(&mut self, s: &ast::Source) -> Result<LogicalPlan, Error> {
        match s {
            ast::Source::Ref(name) => self.lets.get(&name.name).cloned().ok_or_else(|| Error::UnknownName {
                name: name.name.clone(),
                span: name.span,
                candidates: close_matches(&name.name, self.lets.keys()),
            }),
            ast::Source::Scan(scan) => self.scan(scan),
        }
    }

    fn scan(&mut self, scan: &ast::Scan) -> Result<LogicalPlan, Error> {
        if io::is_stream(std::path::Path::new(&scan.path)) {
            self.stdin_at = Some(scan.path_span);
        }
        let options = scan_options(&scan.options)?;
        let source =
            io::Source::open(&scan.path, &options).map_err(|e| Error::Source { source: e, span: scan.path_span })?;
        let source_schema = Schema::from_polars(&source.schema);
        let spec = self.sources.add(source);
        Ok(LogicalPlan::Scan(Scan { spec, source_schema, projection: None, filters: Vec::new() }))
    }

    fn verb(&mut self, input: LogicalPlan, verb: &ast::Verb) -> Result<LogicalPlan, Error> {
        let schema = input.schema();
        let input = Box::new(input);
        Ok(match &verb.kind {
            VerbKind::Filter(e) => {
                let (predicate, t) = self.expr(e, &schema)?;
                if !matches!(t, DType::Bool | DType::Null) {
                    return Err(Error::Type {
                        expr: e.span.text(self.src).into(),
                        message: format!("a filter needs a true/false condition, this is {t}"),
                        span: e.span,
                        hint: Some("compare it, e.g. `x > 0` or `x is not null`".into()),
                    });
                }
                LogicalPlan::Filter { input, predicate }
            }
            VerbKind::Select(items) => {
                let mut columns: Vec<(String, Expr, DType)> = Vec::new();
                for item in items {
                    match item {
                        SelectItem::Star { except, .. } => {
                            for x in except {
                                self.column(&x.name, x.span, &schema)?;
                            }
                            for f in &schema.fields {
                                if !except.iter().any(|x| x.name == f.name) {
                                    columns.push((f.name.clone(), Expr::Column(f.name.clone()), f.dtype.clone()));
                                }
                            }
                        }
                        SelectItem::Expr(a) => {
                            let (e, t) = self.expr(&a.expr, &schema)?;
                            columns.push((self.assign_name(a), e, t));
                        }
                    }
                }
                project(input, columns, verb.span)?
            }
            VerbKind::Derive(assigns) => {
                // Each assignment sees the ones before it.
                let mut plan = *input;
                for a in assigns {
                    let schema = plan.schema();
                    let (windowed, expr) = self.windows(plan, &a.expr)?;
                    plan = windowed;
                    let (e, t) = self.expr(&expr, &plan.schema())?;
                    let name = a.name.name.clone();
                    let mut columns: Vec<(String, Expr, DType)> = schema
                        .fields
                        .iter()
                        .map(|f| (f.name.clone(), Expr::Column(f.name.clone()), f.dtype.clone()))
                        .collect();
                    match columns.iter_mut().find(|c| c.0 == name) {
                        Some(c) => *c = (name, e, t),
                        None => columns.push((name, e, t)),
                    }
                    plan = project(Box::new(plan), columns, verb.span)?;
                }
                plan
            }
            VerbKind::Drop(cols) => {
                for c in cols {
                    self.column(&c.name, c.span, &schema)?;
                }
                let columns = schema
                    .fields
                    .iter()
                    .filter(|f| !cols.iter().any(|c| c.name == f.name))
                    .map(|f| (f.name.clone(), Expr::Column(f.name.clone()), f.dtype.clone()))
                    .collect();
                project(input, columns, verb.span)?
            }
            VerbKind::Rename(pairs) => {
                for (_, old) in pairs {
                    self.column(&old.name, old.span, &schema)?;
                }
                let columns = schema
                    .fields
                    .iter()
                    .map(|f| {
                        let new = pairs
                            .iter()
                            .find(|(_, old)| old.name == f.name)
                            .map_or(f.name.clone(), |(n, _)| n.name.clone());
                        (new, Expr::Column(f.name.clone()), f.dtype.clone())
                    })
                    .collect();
                project(input, columns, verb.span)?
            }
            VerbKind::Agg { aggs, by } => self.aggregate(input, &schema, aggs, by, verb.span)?,
            VerbKind::Sort(keys) => {
                let keys = self.sort_keys(keys, &schema)?;
                if keys.is_empty() {
                    // Only constant keys: a stable sort by them keeps the order.
                    *input
                } else {
                    LogicalPlan::Sort { input, keys }
                }
            }
            VerbKind::Head { n, by } if by.is_empty() => LogicalPlan::Limit { input, n: *n },
            VerbKind::Head { n, by } => {
                for k in by {
                    self.column(&k.name, k.span, &schema)?;
                }
                LogicalPlan::LimitPerGroup { input, n: *n, by: by.iter().map(|k| k.name.clone()).collect() }
            }
            VerbKind::Tail(n) => LogicalPlan::Tail { input, n: *n },
            VerbKind::Rows { start: 0, end } => LogicalPlan::Limit { input, n: *end },
            VerbKind::Cols { start, end } => {
                let width = schema.fields.len();
                let (from, to) = ((*start as usize).min(width), (*end as usize).min(width));
                if from == to {
                    return Err(Error::Invalid {
                        message: format!("`cols {start}:{end}` selects no columns: the input has {width}"),
                        span: verb.span,
                        hint: Some(format!("positions run from 0 to {}", width.saturating_sub(1))),
                    });
                }
                let items = schema.fields[from..to]
                    .iter()
                    .map(|f| {
                        let column = ast::Expr { kind: ExprKind::Column(f.name.clone()), span: verb.span };
                        SelectItem::Expr(ast::Assign {
                            name: ast::Ident { name: f.name.clone(), span: verb.span },
                            expr: column,
                        })
                    })
                    .collect();
                return self.verb(*input, &ast::Verb { kind: VerbKind::Select(items), span: verb.span });
            }
            VerbKind::Rows { start, end } => LogicalPlan::Slice { input, offset: *start, n: end - start },
            VerbKind::Distinct(cols) => {
                if cols.is_empty() {
                    LogicalPlan::Distinct { input }
                } else {
                    let mut columns = Vec::new();
                    for c in cols {
                        let t = self.column(&c.name, c.span, &schema)?;
                        columns.push((c.name.clone(), Expr::Column(c.name.clone()), t));
                    }
                    LogicalPlan::Distinct { input: Box::new(project(input, columns, verb.span)?) }
                }
            }
            VerbKind::Join { other, on, kind, suffix, asof } => {
                let options = JoinOptions { kind: kind.as_ref(), suffix: suffix.as_ref(), asof: asof.as_ref() };
                self.join(input, &schema, other, on, options, verb.span)?
            }
            VerbKind::Pivot { column, values, agg, by } => {
                self.pivot(input, &schema, column, values.as_deref(), agg, by, verb.span)?
            }
            VerbKind::Flatten(cols) => {
                let mut columns = Vec::new();
                for c in cols {
                    if !matches!(self.column(&c.name, c.span, &schema)?, DType::Struct(_)) {
                        return Err(Error::invalid(
                            c.span,
                            format!("`{}` is not a struct; flatten splits structs", c.name),
                        ));
                    }
                }
                for f in &schema.fields {
                    match &f.dtype {
                        DType::Struct(fields) if cols.iter().any(|c| c.name == f.name) => {
                            for x in fields {
                                let get = Expr::Call {
                                    func: Func::Field,
                                    args: vec![Expr::Column(f.name.clone()), Expr::Literal(Value::Str(x.name.clone()))],
                                };
                                columns.push((format!("{}.{}", f.name, x.name), get, x.dtype.clone()));
                            }
                        }
                        _ => columns.push((f.name.clone(), Expr::Column(f.name.clone()), f.dtype.clone())),
                    }
                }
                project(input, columns, verb.span)?
            }
            VerbKind::Unpivot { items, into } => self.unpivot(input, &schema, items, into.as_ref(), verb.span)?,
            VerbKind::Union(other) => {
                let right = self.source(other)?;
                union(*input, right, verb.span)?
            }
            VerbKind::Sample { amount, amount_span, seed } => {
                let amount = match amount {
                    Literal::Int(n) => SampleAmount::Rows(*n as u64),
                    Literal::Float(f) if *f > 0.0 && *f <= 1.0 => SampleAmount::Fraction(*f),
                    _ => {
                        return Err(Error::Invalid {
                            message: "a sample is a row count or a fraction between 0 and 1".into(),
                            span: *amount_span,
                            hint: Some("e.g. `sample 1000` or `sample 0.01 seed=7`".into()),
                        })
                    }
                };
                let seed = seed.unwrap_or_else(|| {
                    std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| d.as_nanos() as u64)
                });
                LogicalPlan::Sample { input, amount, seed }
            }
            VerbKind::Count => LogicalPlan::Count { input },
            VerbKind::Reduce { stats, axis } => reduce(input, stats, axis.as_ref(), &schema)?,
            VerbKind::Each(e) => self.each(*input, &schema, e, verb.span)?,
            VerbKind::Matrix(verb) => {
                use crate::ops::array::Matrix;
                let matrix = match verb.name.as_str() {
                    "gram" => Matrix::Gram,
                    "cov" => Matrix::Cov,
                    _ => Matrix::Corr,
                };
                let columns = numeric_columns(&schema, &verb.name, verb.span)?;
                let fields = columns.iter().map(|c| Field { name: c.clone(), dtype: DType::Float }).collect();
                LogicalPlan::Matrix { input, matrix, columns, schema: Schema::new(fields) }
            }
            VerbKind::MatMul { path, path_span } => {
                let columns = numeric_columns(&schema, "matmul", *path_span)?;
                let (w, width) = read_matrix(path, *path_span, columns.len())?;
                let fields = (0..width).map(|j| Field { name: format!("c{j}"), dtype: DType::Float }).collect();
                LogicalPlan::MatMul { input, columns, w, width, path: path.clone(), schema: Schema::new(fields) }
            }
            VerbKind::Explode { column, separator } => {
                let t = self.column(&column.name, column.span, &schema)?;
                let separator = match (&t, separator) {
                    (DType::List(_), None) => None,
                    (DType::List(_), Some(_)) => {
                        return Err(Error::invalid(
                            column.span,
                            format!("`{}` is a list: explode it without `on`", column.name),
                        ))
                    }
                    (DType::Str | DType::Null, sep) => Some(sep.clone().unwrap_or_else(|| " ".into())),
                    _ => {
                        return Err(Error::Type {
                            expr: column.name.clone(),
                            message: format!("explode splits strings or lists, `{}` is {t}", column.name),
                            span: column.span,
                            hint: None,
                        })
                    }
                };
                LogicalPlan::Explode { input, column: column.name.clone(), separator }
            }
            VerbKind::Write { .. } => unreachable!("handled by pipeline()"),
        })
    }

    /// `pivot k using f(x) by ids`: one row per `ids`, one column per value
    /// of `k`, each `f(if(k == value, x, null))` (`count()` counts the rows
    /// of the value). The values are listed (`in [..]`) or found by running
    /// `distinct k` over the input first; they come sorted, null last.
    #[allow(clippy::too_many_arguments)]
    fn pivot(
        &self,
        input: Box<LogicalPlan>,
        schema: &Schema,
        column: &ast::Ident,
        values: Option<&[ast::Expr]>,
        agg: &ast::Expr,
        by: &[ast::Ident],
        span: Span,
    ) -> Result<LogicalPlan, Error> {
        let key_type = self.column(&column.name, column.span, schema)?;
        if !matches!(key_type, DType::Str | DType::Int | DType::Bool | DType::Date) {
            return Err(Error::Invalid {
                message: format!(
                    "pivot makes columns of text, integer, bool or date values; `{}` is {key_type}",
                    column.name
                ),
                span: column.span,
                hint: Some(format!("cast it first, e.g. derive {0} = cast({0}, str)", column.name)),
            });
        }
        let ExprKind::Call { name: agg_name, args } = &agg.kind else {
            return Err(Error::invalid(agg.span, "pivot takes one aggregate call after `using`, e.g. sum(qty)"));
        };
        if matches!(agg_name.name.as_str(), "first" | "last") || !is_aggregate_call(agg) {
            return Err(Error::Invalid {
                message: format!("`{}` cannot fill a pivot's columns", agg.span.text(self.src)),
                span: agg.span,
                hint: Some("use an aggregate that skips nulls: sum, mean, min, max, count, median, ...".into()),
            });
        }
        let values: Vec<Value> = match values {
            Some(items) => items
                .iter()
                .map(|x| match self.expr(x, schema)? {
                    (Expr::Literal(v), _) => coerce_literal(v, &key_type, x.span),
                    _ => Err(Error::invalid(x.span, "pivot values are constants")),
                })
                .collect::<Result<_, _>>()?,
            None => self.pivot_values(&input, &column.name, span)?,
        };
        const MOST: usize = 10_000;
        if values.len() > MOST {
            return Err(Error::Invalid {
                message: format!("pivot would make {} columns (at most {MOST})", values.len()),
                span: column.span,
                hint: Some("list the values wanted with `in [..]`, or filter first".into()),
            });
        }
        let at = |kind| ast::Expr { kind, span: agg.span };
        let key = || Box::new(at(ExprKind::Column(column.name.clone())));
        let mut aggs = Vec::new();
        for v in &values {
            let cond = match v {
                Value::Null => at(ExprKind::IsNull { expr: key(), negated: false }),
                v => at(ExprKind::Binary { op: BinOp::Eq, left: key(), right: Box::new(value_ast(v, agg.span)) }),
            };
            let call = if args.is_empty() {
                ExprKind::Call { name: ast::Ident { name: "count_if".into(), span: agg_name.span }, args: vec![cond] }
            } else {
                let mut args = args.clone();
                let if_name = ast::Ident { name: "if".into(), span: agg.span };
                let x = args[0].clone();
                args[0] =
                    at(ExprKind::Call { name: if_name, args: vec![cond, x, at(ExprKind::Literal(Literal::Null))] });
                ExprKind::Call { name: agg_name.clone(), args }
            };
            let name = match v {
                Value::Null => "null".to_string(),
                Value::Str(s) => s.clone(),
                v => v.iso_text(),
            };
            aggs.push(ast::Assign { name: ast::Ident { name, span: column.span }, expr: at(call) });
        }
        let keys: Vec<ast::Assign> = by
            .iter()
            .map(|b| ast::Assign {
                name: b.clone(),
                expr: ast::Expr { kind: ExprKind::Column(b.name.clone()), span: b.span },
            })
            .collect();
        self.aggregate(input, schema, &aggs, &keys, span)
    }

    /// The distinct values of `column` below a `pivot`, sorted (null last).
    fn pivot_values(&self, input: &LogicalPlan, column: &str, span: Span) -> Result<Vec<Value>, Error> {
        let Some(first_pass) = self.first_pass else {
            return Err(Error::invalid(
                span,
                "this pivot needs its values listed, e.g. pivot k in [\"a\", \"b\"] using sum(x)",
            ));
        };
        let t = input.schema().get(column).cloned().unwrap_or(DType::Null);
        let distinct = LogicalPlan::Distinct {
            input: Box::new(LogicalPlan::Project {
                input: Box::new(input.clone()),
                columns: vec![(column.to_string(), Expr::Column(column.to_string()))],
                schema: Schema::new(vec![Field { name: column.to_string(), dtype: t }]),
            }),
        };
        let frames = first_pass(&distinct, &self.sources).map_err(|why| Error::Invalid {
            message: format!("finding the columns of this pivot failed: {why}"),
            span,
            hint: Some("list the values with `in [..]` to skip the first pass".into()),
        })?;
        let mut values = Vec::new();
        for df in &frames {
            let Ok(c) = df.column(column) else { continue };
            for i in 0..c.len() {
                values.push(value_of(c.get(i).map_err(|e| Error::invalid(span, e.to_string()))?));
            }
        }
        values.sort_by(|a, b| match (a, b) {
            (Value::Null, Value::Null) => std::cmp::Ordering::Equal,
            (Value::Null, _) => std::cmp::Ordering::Greater,
            (_, Value::Null) => std::cmp::Ordering::Less,
            (Value::Int(x), Value::Int(y)) | (Value::Datetime(x), Value::Datetime(y)) => x.cmp(y),
            (Value::Date(x), Value::Date(y)) => x.cmp(y),
            (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
            (x, y) => x.to_string().cmp(&y.to_string()),
        });
        values.dedup();
        Ok(values)
    }

    /// `unpivot a, b [into name, value]`: the named columns (or `*` /
    /// `* except (..)`) become rows; the others repeat. Their values share
    /// one column, so their types must unify.
    fn unpivot(
        &self,
        input: Box<LogicalPlan>,
        schema: &Schema,
        items: &[SelectItem],
        into: Option<&(ast::Ident, ast::Ident)>,
        span: Span,
    ) -> Result<LogicalPlan, Error> {
        let mut columns: Vec<String> = Vec::new();
        for item in items {
            match item {
                SelectItem::Star { except, .. } => {
                    for x in except {
                        self.column(&x.name, x.span, schema)?;
                    }
                    let rest = schema.names().into_iter().filter(|f| !except.iter().any(|x| x.name == *f));
                    columns.extend(rest.filter(|f| !columns.contains(f)).collect::<Vec<_>>());
                }
                SelectItem::Expr(a) => match &a.expr.kind {
                    ExprKind::Column(c) if a.name.name.is_empty() || a.name.name == *c => {
                        self.column(c, a.expr.span, schema)?;
                        if !columns.contains(c) {
                            columns.push(c.clone());
                        }
                    }
                    _ => {
                        return Err(Error::Invalid {
                            message: format!("`{}` is not a column", a.expr.span.text(self.src)),
                            span: a.expr.span,
                            hint: Some("unpivot takes columns: `unpivot a, b` or `unpivot * except (id)`".into()),
                        })
                    }
                },
            }
        }
        if columns.is_empty() {
            return Err(Error::invalid(span, "unpivot has no columns to turn into rows"));
        }
        let mut dtype = DType::Null;
        for c in &columns {
            let t = schema.get(c).cloned().unwrap_or(DType::Null);
            dtype = dtype.unify(&t).ok_or_else(|| Error::Invalid {
                message: format!("unpivot mixes {dtype} and {t} (`{c}`) in one value column"),
                span,
                hint: Some(format!("cast them to one type first, e.g. derive {c} = cast({c}, str)")),
            })?;
        }
        let (name, value) =
            into.map_or(("name".to_string(), "value".to_string()), |(n, v)| (n.name.clone(), v.name.clone()));
        let ids: Vec<String> = schema.names().into_iter().filter(|c| !columns.contains(c)).collect();
        let mut fields: Vec<Field> = ids
            .iter()
            .map(|c| Field { name: c.clone(), dtype: schema.get(c).cloned().unwrap_or(DType::Null) })
            .collect();
        fields.push(Field { name, dtype: DType::Str });
        fields.push(Field { name: value, dtype });
        check_unique(&fields, span)?;
        Ok(LogicalPlan::Unpivot { input, ids, columns, schema: Schema::new(fields) })
    }

    fn assign_name(&self, a: &ast::Assign) -> String {
        if !a.name.name.is_empty() {
            return a.name.name.clone();
        }
        match &a.expr.kind {
            ExprKind::Column(c) => c.clone(),
            _ => a.expr.span.text(self.src).to_string(),
        }
    }

    fn column(&self, name: &str, span: Span, schema: &Schema) -> Result<DType, Error> {
        schema.get(name).cloned().ok_or_else(|| Error::UnknownColumn {
            name: name.to_string(),
            span,
            candidates: close_matches(name, schema.names()),
            available: schema.names(),
        })
    }

    fn sort_keys(&self, keys: &[ast::SortKey], schema: &Schema) -> Result<Vec<SortKey>, Error> {
        let mut out = Vec::new();
        for k in keys {
            let (expr, dtype) = self.expr(&k.expr, schema)?;
            if expr.columns().is_empty() {
                // A constant key orders nothing (and polars wants one value per row).
                continue;
            }
            // polars cannot sort a lone bool key with nulls last; 0/1 sorts the same.
            let expr = if dtype == DType::Bool { Expr::Cast { expr: Box::new(expr), to: DType::Int } } else { expr };
            out.push(SortKey { expr, descending: k.descending });
        }
        Ok(out)
    }

    fn aggregate(
        &self,
        input: Box<LogicalPlan>,
        schema: &Schema,
        aggs: &[ast::Assign],
        by: &[ast::Assign],
        span: Span,
    ) -> Result<LogicalPlan, Error> {
        let mut fields = Vec::new();
        let mut keys = Vec::new();
        for k in by {
            let (e, t) = self.expr(&k.expr, schema)?;
            let name = self.assign_name(k);
            fields.push(Field { name: name.clone(), dtype: t });
            keys.push((name, e));
        }
        let key_fields = fields.clone();
        let mut out_aggs = Vec::new();
        // Items that compute with aggregates (`sum(a) / count()`): their
        // aggregates are computed under hidden names, then a projection
        // combines them.
        let mut hidden = Vec::new();
        let mut combined = Vec::new();
        for a in aggs {
            let name = self.assign_name(a);
            if is_aggregate_call(&a.expr)
                && !matches!(&a.expr.kind, ExprKind::Call { name, .. } if is_any_or_all(&name.name))
            {
                let (agg, t) = self.agg(&a.expr, schema)?;
                fields.push(Field { name: name.clone(), dtype: t });
                out_aggs.push((name.clone(), agg));
                combined.push((name.clone(), None));
                continue;
            }
            let mut rewritten = a.expr.clone();
            self.hoist_aggregates(&mut rewritten, schema, &mut hidden)?;
            combined.push((name, Some(rewritten)));
        }
        if combined.iter().all(|(_, rewritten)| rewritten.is_none()) {
            check_unique(&fields, span)?;
            return Ok(LogicalPlan::Aggregate { input, keys, aggs: out_aggs, schema: Schema::new(fields) });
        }
        let mut inner_fields = fields.clone();
        for (name, agg, t) in hidden {
            inner_fields.push(Field { name: name.clone(), dtype: t });
            out_aggs.push((name, agg));
        }
        let inner_schema = Schema::new(inner_fields);
        let inner = LogicalPlan::Aggregate { input, keys: keys.clone(), aggs: out_aggs, schema: inner_schema.clone() };
        let mut columns: Vec<(String, Expr)> = keys.iter().map(|(k, _)| (k.clone(), Expr::Column(k.clone()))).collect();
        let mut out_fields = key_fields;
        for (name, rewritten) in combined {
            let (e, t) = match rewritten {
                None => (Expr::Column(name.clone()), inner_schema.get(&name).cloned().unwrap_or(DType::Null)),
                Some(ast) => {
                    self.only_keys_outside_aggregates(&ast, &inner_schema)?;
                    self.expr(&ast, &inner_schema)?
                }
            };
            out_fields.push(Field { name: name.clone(), dtype: t });
            columns.push((name, e));
        }
        check_unique(&out_fields, span)?;
        Ok(LogicalPlan::Project { input: Box::new(inner), columns, schema: Schema::new(out_fields) })
    }

    /// Replaces each aggregate call in `e` by a hidden column holding it,
    /// recorded in `hidden` as (name, aggregate, type). `any(c)` and
    /// `all(c)` become comparisons of a hidden count.
    fn hoist_aggregates(
        &self,
        e: &mut ast::Expr,
        schema: &Schema,
        hidden: &mut Vec<(String, AggExpr, DType)>,
    ) -> Result<(), Error> {
        if is_aggregate_call(e) {
            let ExprKind::Call { name, args } = &e.kind else { return Ok(()) };
            let (agg, t, then) = match name.name.as_str() {
                "any" | "all" => {
                    let c = self.condition(e, &name.name, args, schema)?;
                    // any: some row is true; all: no row is false (nulls skipped).
                    let (c, op) = if name.name == "any" { (c, BinOp::Gt) } else { (Expr::Not(Box::new(c)), BinOp::Eq) };
                    (count_true(c), DType::Int, Some(op))
                }
                _ => {
                    let (agg, t) = self.agg(e, schema)?;
                    (agg, t, None)
                }
            };
            let column = format!("__agg{}", hidden.len());
            hidden.push((column.clone(), agg, t));
            let at = |kind| Box::new(ast::Expr { kind, span: e.span });
            e.kind = match then {
                None => ExprKind::Column(column),
                Some(op) => ExprKind::Binary {
                    op,
                    left: at(ExprKind::Column(column)),
                    right: at(ExprKind::Literal(Literal::Int(0))),
                },
            };
            return Ok(());
        }
        match &mut e.kind {
            // A window in `agg` is refused when the item is typed.
            ExprKind::Literal(_) | ExprKind::Column(_) | ExprKind::Over { .. } => Ok(()),
            ExprKind::Binary { left, right, .. } => {
                self.hoist_aggregates(left, schema, hidden)?;
                self.hoist_aggregates(right, schema, hidden)
            }
            ExprKind::Unary { expr, .. } | ExprKind::IsNull { expr, .. } => self.hoist_aggregates(expr, schema, hidden),
            ExprKind::Call { args: items, .. } | ExprKind::Vector(items) => {
                items.iter_mut().try_for_each(|x| self.hoist_aggregates(x, schema, hidden))
            }
            ExprKind::In { expr, list, .. } => {
                self.hoist_aggregates(expr, schema, hidden)?;
                list.iter_mut().try_for_each(|x| self.hoist_aggregates(x, schema, hidden))
            }
            ExprKind::Between { expr, low, high, .. } => {
                self.hoist_aggregates(expr, schema, hidden)?;
                self.hoist_aggregates(low, schema, hidden)?;
                self.hoist_aggregates(high, schema, hidden)
            }
        }
    }

    /// Outside its aggregates, an `agg` item may only read group keys (and
    /// the aggregates named before it).
    fn only_keys_outside_aggregates(&self, e: &ast::Expr, inner: &Schema) -> Result<(), Error> {
        match unknown_column(e, inner) {
            Some((c, span)) => Err(Error::Invalid {
                message: format!("`{c}` is neither a group key nor inside an aggregate"),
                span,
                hint: Some(format!("aggregate it, e.g. `max({c})`, or add it to `by`")),
            }),
            None => Ok(()),
        }
    }

    /// The one true/false argument of `count_if`, `any` or `all`.
    fn condition(&self, call: &ast::Expr, name: &str, args: &[ast::Expr], schema: &Schema) -> Result<Expr, Error> {
        let [cond] = args else {
            return Err(Error::invalid(call.span, format!("`{name}` takes one condition")));
        };
        let (c, ct) = self.expr(cond, schema)?;
        if !matches!(ct, DType::Bool | DType::Null) {
            return Err(type_err(self.src, cond.span, format!("`{name}` needs a true/false condition, not {ct}")));
        }
        Ok(c)
    }

    fn agg(&self, e: &ast::Expr, schema: &Schema) -> Result<(AggExpr, DType), Error> {
        if let ExprKind::Call { name, args } = &e.kind {
            if name.name == "count_if" {
                let c = self.condition(e, "count_if", args, schema)?;
                return Ok((count_true(c), DType::Int));
            }
        }
        let ExprKind::Call { name, args } = &e.kind else {
            return Err(Error::Invalid {
                message: format!("`{}` is not an aggregate", e.span.text(self.src)),
                span: e.span,
                hint: Some("agg takes aggregate calls such as count(), sum(x), mean(x), quantile(x, 0.9)".into()),
            });
        };
        let Some(&(_, func)) = AggFunc::ALL.iter().find(|(n, _)| *n == name.name) else {
            let is_scalar = Func::ALL.iter().any(|(n, _)| *n == name.name);
            return Err(if is_scalar {
                Error::Invalid {
                    message: format!("`{}` is not an aggregate", name.name),
                    span: name.span,
                    hint: Some(format!("aggregate over it, e.g. `max({})`", e.span.text(self.src))),
                }
            } else {
                Error::UnknownFunction {
                    name: name.name.clone(),
                    span: name.span,
                    candidates: close_matches(&name.name, AggFunc::ALL.iter().map(|(n, _)| *n)),
                }
            });
        };
        let arity = |n: usize| -> Result<(), Error> {
            if args.len() != n {
                return Err(Error::invalid(
                    e.span,
                    format!(
                        "`{}` takes {n} argument{}, found {}",
                        name.name,
                        if n == 1 { "" } else { "s" },
                        args.len()
                    ),
                ));
            }
            Ok(())
        };
        if func == AggFunc::Count && args.is_empty() {
            return Ok((
                AggExpr { func: AggFunc::CountRows, arg: None, quantile: None, arg2: None, separator: None },
                DType::Int,
            ));
        }
        let mut quantile = None;
        let mut arg2 = None;
        let mut separator = None;
        if func == AggFunc::StringAgg {
            arity(2)?;
            separator = Some(match &args[1].kind {
                ExprKind::Literal(Literal::Str(sep)) => sep.clone(),
                _ => return Err(Error::invalid(args[1].span, "the separator of `string_agg` must be a quoted string")),
            });
        } else if matches!(func, AggFunc::Corr | AggFunc::Cov) {
            arity(2)?;
            let (y, yt) = self.expr(&args[1], schema)?;
            if !yt.is_numeric() {
                return Err(Error::Type {
                    expr: e.span.text(self.src).into(),
                    message: format!("`{}` needs numbers, `{}` is {yt}", name.name, args[1].span.text(self.src)),
                    span: e.span,
                    hint: None,
                });
            }
            arg2 = Some(y);
        } else if func == AggFunc::Quantile {
            arity(2)?;
            quantile = Some(match &args[1].kind {
                ExprKind::Literal(Literal::Float(q)) if (0.0..=1.0).contains(q) => *q,
                ExprKind::Literal(Literal::Int(q)) if *q == 0 || *q == 1 => *q as f64,
                _ => return Err(Error::invalid(args[1].span, "the quantile must be a number between 0 and 1")),
            });
        } else {
            arity(1)?;
        }
        let (mut arg, t) = self.expr(&args[0], schema)?;
        let collects = matches!(func, AggFunc::StringAgg | AggFunc::List | AggFunc::Mode);
        if collects && t.is_nested() {
            return Err(Error::Type {
                expr: e.span.text(self.src).into(),
                message: format!("`{}` takes plain values, `{}` is {t}", name.name, args[0].span.text(self.src)),
                span: e.span,
                hint: Some("explode or flatten it first".into()),
            });
        }
        if func == AggFunc::StringAgg && t != DType::Str {
            // Written as `cast(x, str)` writes it, as `||` and `format` do.
            arg = Expr::Cast { expr: Box::new(arg), to: DType::Str };
        }
        let need_numeric = matches!(
            func,
            AggFunc::Sum
                | AggFunc::Mean
                | AggFunc::Std
                | AggFunc::Var
                | AggFunc::StdPop
                | AggFunc::VarPop
                | AggFunc::Median
                | AggFunc::Quantile
                | AggFunc::Corr
                | AggFunc::Cov
        );
        if need_numeric && !t.is_numeric() {
            return Err(Error::Type {
                expr: e.span.text(self.src).into(),
                message: format!("`{}` needs numbers, `{}` is {t}", name.name, args[0].span.text(self.src)),
                span: e.span,
                hint: match t {
                    DType::Str => {
                        Some(format!("convert it first: {}(cast({}, float))", name.name, args[0].span.text(self.src)))
                    }
                    DType::Duration => {
                        Some(format!("in seconds: {}(total_seconds({}))", name.name, args[0].span.text(self.src)))
                    }
                    _ => None,
                },
            });
        }
        let out = match func {
            AggFunc::Count | AggFunc::NUnique | AggFunc::ApproxNUnique | AggFunc::CountRows => DType::Int,
            AggFunc::Sum => {
                if t == DType::Int {
                    DType::Int
                } else {
                    DType::Float
                }
            }
            AggFunc::Mean
            | AggFunc::Std
            | AggFunc::Var
            | AggFunc::StdPop
            | AggFunc::VarPop
            | AggFunc::Median
            | AggFunc::Quantile
            | AggFunc::Corr
            | AggFunc::Cov => DType::Float,
            AggFunc::Min | AggFunc::Max | AggFunc::First | AggFunc::Last | AggFunc::Mode => t,
            AggFunc::StringAgg => DType::Str,
            AggFunc::List => DType::List(Box::new(t)),
        };
        Ok((AggExpr { func, arg: Some(arg), quantile, arg2, separator }, out))
    }

    /// `each EXPR`: every numeric column `c` becomes `EXPR` with `_` read as
    /// `c`; other columns pass through. An aggregate in `EXPR` (`mean(_)`)
    /// is over the whole column: the input is then read twice — once to
    /// compute the aggregates (one row), once streamed and joined with
    /// that row — so `each (_ - mean(_)) / std(_)` standardizes in one
    /// program.
    fn each(&mut self, input: LogicalPlan, schema: &Schema, e: &ast::Expr, span: Span) -> Result<LogicalPlan, Error> {
        let numeric: Vec<String> = schema
            .fields
            .iter()
            .filter(|f| matches!(f.dtype, DType::Int | DType::Float | DType::Bool))
            .map(|f| f.name.clone())
            .collect();
        if numeric.is_empty() {
            return Err(Error::Invalid {
                message: "each applies to numeric columns; there are none".into(),
                span,
                hint: None,
            });
        }
        let names = crate::plan::logical::column_list(&numeric);
        let each_column = |at: usize| EachColumn { column: &numeric[at], at, width: numeric.len(), names: &names };
        let mut probe = e.clone();
        if !rewrite_each(&mut probe, &each_column(0), &mut Vec::new(), false)? {
            return Err(Error::Invalid {
                message: "`each` needs `_` in its expression: `_` is the value of each column".into(),
                span: e.span,
                hint: Some("e.g. `each _ * 2` or `each (_ - mean(_)) / std(_)`".into()),
            });
        }
        let mut aggs: Vec<ast::Assign> = Vec::new();
        let exprs: Vec<ast::Expr> = (0..numeric.len())
            .map(|at| {
                let mut x = e.clone();
                rewrite_each(&mut x, &each_column(at), &mut aggs, false)?;
                Ok(x)
            })
            .collect::<Result<_, Error>>()?;
        let at = |kind: ExprKind| ast::Expr { kind, span: e.span };
        let name = |n: &str| ast::Ident { name: n.into(), span: e.span };
        let base = if aggs.is_empty() {
            input
        } else {
            const KEY: &str = "__each_key";
            let keyed = |this: &mut Self, plan: LogicalPlan| {
                let one = ast::Assign { name: name(KEY), expr: at(ExprKind::Literal(Literal::Int(1))) };
                this.verb(plan, &ast::Verb { kind: VerbKind::Derive(vec![one]), span })
            };
            let left = keyed(self, input.clone())?;
            let row = self.verb(input, &ast::Verb { kind: VerbKind::Agg { aggs, by: Vec::new() }, span })?;
            let right = keyed(self, row)?;
            let (ls, rs) = (left.schema(), right.schema());
            let on = vec![(KEY.to_string(), KEY.to_string())];
            let columns = join_columns(&ls, &rs, &on, JoinKind::Inner, "_right");
            let fields = columns.iter().map(|c| Field { name: c.name.clone(), dtype: c.dtype.clone() }).collect();
            LogicalPlan::Join {
                left: Box::new(left),
                right: Box::new(right),
                on,
                kind: JoinKind::Inner,
                asof: None,
                columns,
                schema: Schema::new(fields),
            }
        };
        let items = schema
            .fields
            .iter()
            .map(|f| {
                let expr = match numeric.iter().position(|c| *c == f.name) {
                    Some(i) => exprs[i].clone(),
                    None => at(ExprKind::Column(f.name.clone())),
                };
                SelectItem::Expr(ast::Assign { name: name(&f.name), expr })
            })
            .collect();
        self.verb(base, &ast::Verb { kind: VerbKind::Select(items), span })
    }

    fn join(
        &mut self,
        left: Box<LogicalPlan>,
        lschema: &Schema,
        other: &ast::Source,
        on: &[(ast::Ident, ast::Ident)],
        JoinOptions { kind, suffix, asof }: JoinOptions,
        span: Span,
    ) -> Result<LogicalPlan, Error> {
        let right = self.source(other)?;
        let rschema = right.schema();
        let kind = match kind.map(|k| k.name.as_str()) {
            None | Some("inner") => JoinKind::Inner,
            Some("left") => JoinKind::Left,
            Some("right") => JoinKind::Right,
            Some("full") | Some("outer") => JoinKind::Full,
            Some("semi") => JoinKind::Semi,
            Some("anti") => JoinKind::Anti,
            Some(other) => {
                let k = kind.map_or(span, |k| k.span);
                return Err(Error::Invalid {
                    message: format!("unknown join kind `{other}`"),
                    span: k,
                    hint: Some("kinds are inner, left, right, full, semi, anti".into()),
                });
            }
        };
        let mut pairs = Vec::new();
        for (l, r) in on {
            let lt = self.column(&l.name, l.span, lschema)?;
            let rt = self.column(&r.name, r.span, &rschema)?;
            if !lt.comparable(&rt) {
                return Err(Error::Type {
                    expr: format!("{} = {}", l.name, r.name),
                    message: format!("join keys must have comparable types, left is {lt}, right is {rt}"),
                    span: l.span.to(r.span),
                    hint: Some("cast one side with derive, e.g. derive k = cast(k, str)".into()),
                });
            }
            pairs.push((l.name.clone(), r.name.clone()));
        }
        let suffix = match suffix {
            Some((s, span)) if s.is_empty() => return Err(Error::invalid(*span, "the join suffix is empty")),
            Some((s, _)) => s.as_str(),
            None => "_right",
        };
        let asof = match asof {
            Some(a) => Some(self.asof(a, kind, lschema, &rschema, span)?),
            None => None,
        };
        let columns = join_columns(lschema, &rschema, &pairs, kind, suffix);
        let fields = columns.iter().map(|c| Field { name: c.name.clone(), dtype: c.dtype.clone() }).collect();
        let schema = Schema::new(fields);
        Ok(LogicalPlan::Join { left, right: Box::new(right), on: pairs, kind, asof, columns, schema })
    }

    /// The as-of part of a join: an inner or left join, on two ordered
    /// columns of comparable types.
    fn asof(
        &self,
        a: &ast::AsofOn,
        kind: JoinKind,
        lschema: &Schema,
        rschema: &Schema,
        span: Span,
    ) -> Result<Asof, Error> {
        if !matches!(kind, JoinKind::Inner | JoinKind::Left) {
            return Err(Error::Invalid {
                message: format!("an as-of join is inner or left, not {}", kind.name()),
                span,
                hint: Some("drop `kind=` (inner) or write kind=left to keep left rows without a match".into()),
            });
        }
        let lt = self.column(&a.left.name, a.left.span, lschema)?;
        let rt = self.column(&a.right.name, a.right.span, rschema)?;
        let ordered = |t: &DType| matches!(t, DType::Int | DType::Float | DType::Date | DType::Datetime | DType::Null);
        if !ordered(&lt) || !ordered(&rt) || !lt.comparable(&rt) {
            return Err(Error::Type {
                expr: format!("asof {} = {}", a.left.name, a.right.name),
                message: format!("an as-of join needs two numbers, dates or datetimes, left is {lt}, right is {rt}"),
                span: a.left.span.to(a.right.span),
                hint: None,
            });
        }
        let direction = match a.direction.as_ref().map(|d| d.name.as_str()) {
            None | Some("backward") => AsofDirection::Backward,
            Some("forward") => AsofDirection::Forward,
            Some("nearest") => AsofDirection::Nearest,
            Some(other) => {
                return Err(Error::Invalid {
                    message: format!("unknown as-of direction `{other}`"),
                    span: a.direction.as_ref().map_or(span, |d| d.span),
                    hint: Some("directions are backward (the default), forward, nearest".into()),
                })
            }
        };
        Ok(Asof { left: a.left.name.clone(), right: a.right.name.clone(), direction })
    }

    // ---- expressions ----------------------------------------------------

    fn expr(&self, e: &ast::Expr, schema: &Schema) -> Result<(Expr, DType), Error> {
        let src = self.src;
        match &e.kind {
            ExprKind::Literal(l) => {
                let v = literal(l);
                let t = v.dtype();
                Ok((Expr::Literal(v), t))
            }
            ExprKind::Column(c) => Ok((Expr::Column(c.clone()), self.column(c, e.span, schema)?)),
            ExprKind::Unary { op: UnaryOp::Not, expr } => {
                let (x, t) = self.expr(expr, schema)?;
                if !matches!(t, DType::Bool | DType::Null) {
                    return Err(type_err(src, e.span, format!("`not` needs a true/false value, found {t}")));
                }
                Ok((Expr::Not(Box::new(x)), DType::Bool))
            }
            ExprKind::Unary { op: UnaryOp::Neg, expr } => {
                let (x, t) = self.expr(expr, schema)?;
                if !t.is_numeric() && t != DType::Duration {
                    return Err(type_err(src, e.span, format!("cannot negate {t}")));
                }
                Ok((Expr::Neg(Box::new(x)), t))
            }
            ExprKind::Binary { op, left, right } => self.binary(e, *op, left, right, schema),
            ExprKind::IsNull { expr, negated } => {
                let (x, _) = self.expr(expr, schema)?;
                Ok((Expr::IsNull { expr: Box::new(x), negated: *negated }, DType::Bool))
            }
            ExprKind::In { expr, list, negated } => {
                let (x, t) = self.expr(expr, schema)?;
                let mut values = Vec::new();
                for item in list {
                    let (v, vt) = self.expr(item, schema)?;
                    let v = match v {
                        Expr::Literal(v) => coerce_literal(v, &t, item.span)?,
                        _ => return Err(Error::invalid(item.span, "`in` lists hold constants only")),
                    };
                    if !t.comparable(&v.dtype()) {
                        return Err(type_err(src, item.span, format!("cannot compare {t} with {vt}")));
                    }
                    values.push(v);
                }
                Ok((Expr::In { expr: Box::new(x), list: values, negated: *negated }, DType::Bool))
            }
            ExprKind::Vector(_) => Err(Error::Invalid {
                message: "a vector `[…]` holds one value per column, so it belongs inside `each`".into(),
                span: e.span,
                hint: Some("e.g. `each _ - [1, 2, 3]`: the first value for the first numeric column, and so on".into()),
            }),
            ExprKind::Between { expr, low, high, negated } => {
                let ge = ast::Expr {
                    kind: ExprKind::Binary { op: BinOp::GtEq, left: expr.clone(), right: low.clone() },
                    span: e.span,
                };
                let le = ast::Expr {
                    kind: ExprKind::Binary { op: BinOp::LtEq, left: expr.clone(), right: high.clone() },
                    span: e.span,
                };
                let (a, _) = self.expr(&ge, schema)?;
                let (b, _) = self.expr(&le, schema)?;
                let both = a.and(b);
                Ok((if *negated { Expr::Not(Box::new(both)) } else { both }, DType::Bool))
            }
            ExprKind::Call { name, args } => self.call(e, name, args, schema),
            ExprKind::Over { .. } => Err(Error::Invalid {
                message: "a window function outside `derive`".into(),
                span: e.span,
                hint: Some("compute it in a derive first, e.g. `derive prev = lag(v) over (by k sort t)`".into()),
            }),
        }
    }

    /// Computes the window functions of `e` (`lag(v) over (...)`) in
    /// `Window` nodes above `plan`, one per distinct partitioning and order,
    /// and returns `e` reading them as hidden columns.
    fn windows(&self, plan: LogicalPlan, e: &ast::Expr) -> Result<(LogicalPlan, ast::Expr), Error> {
        let mut e = e.clone();
        let mut found = Vec::new();
        collect_windows(&mut e, &mut found);
        let mut plan = plan;
        // Windows with the same `by` and `sort` share one node.
        let spec_of = |w: &ast::Expr| match &w.kind {
            ExprKind::Over { by, sort, .. } => {
                let by: Vec<String> = by.iter().map(|b| b.name.clone()).collect();
                let sort: Vec<(String, bool)> =
                    sort.iter().map(|k| (k.expr.span.text(self.src).to_string(), k.descending)).collect();
                (by, sort)
            }
            _ => Default::default(),
        };
        let mut specs: Vec<WindowSpec> = Vec::new();
        for (_, w) in &found {
            let spec = spec_of(w);
            if !specs.contains(&spec) {
                specs.push(spec);
            }
        }
        for spec in specs {
            let schema = plan.schema();
            let mut funcs = Vec::new();
            let mut fields = schema.fields.clone();
            let mut order = Vec::new();
            let mut by = Vec::new();
            for (name, w) in found.iter().filter(|(_, w)| spec_of(w) == spec) {
                let ExprKind::Over { call, by: by_idents, sort, rows } = &w.kind else { continue };
                if by.is_empty() {
                    for b in by_idents {
                        self.column(&b.name, b.span, &schema)?;
                        by.push(b.name.clone());
                    }
                    order = self.sort_keys(sort, &schema)?;
                }
                let (func, t) = self.window_call(call, name, !sort.is_empty(), *rows, &schema)?;
                fields.push(Field { name: name.clone(), dtype: t });
                funcs.push(func);
            }
            plan = LogicalPlan::Window { input: Box::new(plan), by, order, funcs, schema: Schema::new(fields) };
        }
        Ok((plan, e))
    }

    /// One window function call, checked, computing into `name`.
    fn window_call(
        &self,
        call: &ast::Expr,
        name: &str,
        sorted: bool,
        rows: Option<(u64, Span)>,
        schema: &Schema,
    ) -> Result<(WindowExpr, DType), Error> {
        use super::logical::{WindowFn as K, WindowFrame as Frame};
        let ExprKind::Call { name: f, args } = &call.kind else {
            return Err(Error::invalid(call.span, "`over` follows a function call, e.g. lag(v) over (sort t)"));
        };
        let fname = f.name.as_str();
        let text = call.span.text(self.src).to_string();
        let arity = |lo: usize, hi: usize| -> Result<(), Error> {
            if args.len() < lo || args.len() > hi {
                return Err(Error::invalid(call.span, format!("`{fname}` takes {lo} to {hi} argument(s) in a window")));
            }
            Ok(())
        };
        let frame = match rows {
            Some((n, _)) => Frame::Rows(usize::try_from(n).unwrap_or(usize::MAX)),
            None if sorted => Frame::Peers,
            None => Frame::Partition,
        };
        let (kind, frame) = match fname {
            "row_number" => (K::RowNumber, frame),
            "rank" => (K::Rank, frame),
            "dense_rank" => (K::DenseRank, frame),
            "lag" => (K::Lag, frame),
            "lead" => (K::Lead, frame),
            "cum_sum" => (K::Sum, Frame::Rows(usize::MAX)),
            "cum_count" => (K::Count, Frame::Rows(usize::MAX)),
            "cum_max" => (K::Max, Frame::Rows(usize::MAX)),
            "cum_min" => (K::Min, Frame::Rows(usize::MAX)),
            "sum" => (K::Sum, frame),
            "mean" | "avg" => (K::Mean, frame),
            "min" => (K::Min, frame),
            "max" => (K::Max, frame),
            "count" if args.is_empty() => (K::CountRows, frame),
            "count" => (K::Count, frame),
            "first" => (K::First, frame),
            "last" => (K::Last, frame),
            _ => {
                return Err(Error::UnknownFunction {
                    name: fname.into(),
                    span: f.span,
                    candidates: close_matches(fname, WINDOW_FUNCTIONS.iter().copied()),
                })
            }
        };
        if rows.is_some() && fname.starts_with("cum_") {
            let span = rows.map_or(call.span, |(_, s)| s);
            return Err(Error::Invalid {
                message: format!("`{fname}` runs from the partition's start; it takes no `rows`"),
                span,
                hint: Some(format!("a moving total is `sum(x) over (... rows N)`; here `{fname}` needs no `rows`")),
            });
        }
        if rows.is_some() && matches!(kind, K::RowNumber | K::Rank | K::DenseRank | K::Lag | K::Lead) {
            let span = rows.map_or(call.span, |(_, s)| s);
            return Err(Error::invalid(span, format!("`rows` frames aggregates; `{fname}` has no frame")));
        }
        let mut out = WindowExpr { name: name.into(), kind, arg: None, offset: 1, default: None, frame, text };
        let t = match kind {
            K::RowNumber | K::Rank | K::DenseRank | K::CountRows => {
                arity(0, 0)?;
                DType::Int
            }
            _ => {
                let max_args = if matches!(kind, K::Lag | K::Lead) { 3 } else { 1 };
                arity(1, max_args)?;
                let (arg, t) = self.expr(&args[0], schema)?;
                out.arg = Some(arg);
                if let Some(n) = args.get(1) {
                    match &n.kind {
                        ExprKind::Literal(Literal::Int(k)) if *k >= 0 => out.offset = *k as usize,
                        _ => {
                            return Err(Error::invalid(
                                n.span,
                                format!("`{fname}`'s offset is a constant count of rows, e.g. 1"),
                            ))
                        }
                    }
                }
                if let Some(d) = args.get(2) {
                    let (v, dt) = self.expr(d, schema)?;
                    let Expr::Literal(v) = v else {
                        return Err(Error::invalid(d.span, format!("`{fname}`'s default is a constant")));
                    };
                    if t.unify(&dt).is_none() {
                        return Err(type_err(self.src, d.span, format!("the default is {dt}, the values are {t}")));
                    }
                    out.default = Some(v);
                }
                let numeric = t.is_numeric();
                match kind {
                    K::Sum | K::Mean if !numeric => {
                        return Err(type_err(self.src, args[0].span, format!("`{fname}` needs numbers, not {t}")))
                    }
                    K::Mean => DType::Float,
                    K::Count => DType::Int,
                    K::Min | K::Max if t.is_nested() || matches!(t, DType::Other(_)) => {
                        return Err(type_err(self.src, args[0].span, format!("`{fname}` cannot order {t}")))
                    }
                    K::Sum if t == DType::Null => DType::Int,
                    _ => t,
                }
            }
        };
        Ok((out, t))
    }

    fn binary(
        &self,
        e: &ast::Expr,
        op: BinOp,
        left: &ast::Expr,
        right: &ast::Expr,
        schema: &Schema,
    ) -> Result<(Expr, DType), Error> {
        let (mut l, lt) = self.expr(left, schema)?;
        let (mut r, rt) = self.expr(right, schema)?;
        let bad = |what: &str| {
            let mut err = type_err(self.src, e.span, format!("cannot {what} {lt} and {rt}"));
            if lt == DType::Str || rt == DType::Str {
                if let Error::Type { hint, .. } = &mut err {
                    *hint = Some(if op == BinOp::Add && lt == DType::Str && rt == DType::Str {
                        "join text with `a || b` or concat(a, b)".into()
                    } else {
                        "convert text with cast(x, float) or cast(x, int)".into()
                    });
                }
            }
            err
        };
        let t = match op {
            BinOp::And | BinOp::Or => {
                if !matches!(lt, DType::Bool | DType::Null) || !matches!(rt, DType::Bool | DType::Null) {
                    return Err(bad(&format!("combine with `{}`", op.symbol())));
                }
                DType::Bool
            }
            BinOp::Eq | BinOp::NotEq | BinOp::Lt | BinOp::LtEq | BinOp::Gt | BinOp::GtEq => {
                // A string literal compared with a date column is read as a date.
                if let Expr::Literal(v) = &r {
                    r = Expr::Literal(coerce_literal(v.clone(), &lt, right.span)?);
                }
                if let Expr::Literal(v) = &l {
                    l = Expr::Literal(coerce_literal(v.clone(), &rt, left.span)?);
                }
                let lt2 = type_of_literal_or(&l, &lt);
                let rt2 = type_of_literal_or(&r, &rt);
                if !lt2.comparable(&rt2) {
                    return Err(type_err(self.src, e.span, format!("cannot compare {lt} with {rt}")));
                }
                DType::Bool
            }
            BinOp::Concat => {
                if matches!(lt, DType::Other(_)) || matches!(rt, DType::Other(_)) {
                    return Err(bad("join with `||`"));
                }
                DType::Str
            }
            BinOp::Add | BinOp::Sub
                if lt.is_temporal() || rt.is_temporal() || lt == DType::Duration || rt == DType::Duration =>
            {
                return date_arithmetic(op, (l, lt), (r, rt)).map_err(|m| type_err(self.src, e.span, m));
            }
            BinOp::Mul | BinOp::Div if lt == DType::Duration || rt == DType::Duration => {
                let scales = match op {
                    BinOp::Mul => {
                        (lt == DType::Duration && rt.is_numeric()) || (lt.is_numeric() && rt == DType::Duration)
                    }
                    _ => lt == DType::Duration && rt.is_numeric(),
                };
                if !scales {
                    return Err(type_err(
                        self.src,
                        e.span,
                        format!(
                            "cannot apply `{}` to {lt} and {rt}; a duration scales by a number (for a ratio of two, divide their total_seconds)",
                            op.symbol()
                        ),
                    ));
                }
                DType::Duration
            }
            BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Mod | BinOp::FloorDiv => {
                if !lt.is_numeric() || !rt.is_numeric() {
                    return Err(bad(&format!("apply `{}` to", op.symbol())));
                }
                if lt == DType::Float || rt == DType::Float {
                    DType::Float
                } else if lt == DType::Null && rt == DType::Null {
                    DType::Null
                } else {
                    DType::Int
                }
            }
            BinOp::Div => {
                if !lt.is_numeric() || !rt.is_numeric() {
                    return Err(bad("divide"));
                }
                DType::Float
            }
        };
        Ok((Expr::Binary { op, left: Box::new(l), right: Box::new(r) }, t))
    }

    fn call(
        &self,
        e: &ast::Expr,
        name: &ast::Ident,
        args: &[ast::Expr],
        schema: &Schema,
    ) -> Result<(Expr, DType), Error> {
        let src = self.src;
        let n = name.name.as_str();
        if n == "date" {
            return match args {
                [ast::Expr { kind: ExprKind::Literal(Literal::Str(s)), span }] => {
                    let d = parse_date(s).ok_or_else(|| Error::Invalid {
                        message: format!("`{s}` is not a date"),
                        span: *span,
                        hint: Some("write dates as date(\"2024-01-31\")".into()),
                    })?;
                    Ok((Expr::Literal(Value::Date(d)), DType::Date))
                }
                _ => Err(Error::invalid(e.span, "date() takes one string, e.g. date(\"2024-01-31\")")),
            };
        }
        if n == "datetime" {
            return match args {
                [ast::Expr { kind: ExprKind::Literal(Literal::Str(s)), span }] => {
                    Ok((Expr::Literal(temporal_literal(s, &DType::Datetime, *span)?), DType::Datetime))
                }
                _ => Err(Error::invalid(e.span, "datetime() takes one string, e.g. datetime(\"2024-01-31 12:00:00\")")),
            };
        }
        if n == "field" {
            // After `flatten`, `a.b` is the column named "a.b".
            if let [ast::Expr { kind: ExprKind::Column(c), .. }, ast::Expr { kind: ExprKind::Literal(Literal::Str(f)), .. }] =
                args
            {
                let dotted = format!("{c}.{f}");
                if schema.get(c).is_none() && schema.get(&dotted).is_some() {
                    return Ok((Expr::Column(dotted.clone()), schema.get(&dotted).cloned().unwrap_or(DType::Null)));
                }
            }
        }
        if n == "cast" {
            let [x, ty] = args else {
                return Err(Error::invalid(e.span, "cast takes a value and a type, e.g. cast(x, float)"));
            };
            let to = match &ty.kind {
                ExprKind::Column(t) | ExprKind::Literal(Literal::Str(t)) => DType::from_name(t),
                _ => None,
            }
            .ok_or_else(|| Error::Invalid {
                message: format!("`{}` is not a type", ty.span.text(src)),
                span: ty.span,
                hint: Some("types are int, float, str, bool, date, datetime, duration".into()),
            })?;
            let (x, _) = self.expr(x, schema)?;
            // A constant string read as a date or datetime is checked here: a
            // typo would otherwise be a null that silently matches nothing.
            if let (Expr::Literal(Value::Str(s)), DType::Date | DType::Datetime) = (&x, &to) {
                return Ok((Expr::Literal(temporal_literal(s, &to, args[0].span)?), to));
            }
            return Ok((Expr::Cast { expr: Box::new(x), to: to.clone() }, to));
        }
        let Some(&(_, func)) = Func::ALL.iter().find(|(f, _)| *f == n) else {
            if AggFunc::ALL.iter().any(|(a, _)| *a == n) {
                return Err(Error::Invalid {
                    message: format!("aggregate `{n}` used outside `agg`"),
                    span: e.span,
                    hint: Some(format!("aggregate with `agg x = {}`", e.span.text(src))),
                });
            }
            let mut all: Vec<&str> = Func::ALL.iter().map(|(f, _)| *f).collect();
            all.extend(["date", "datetime", "cast"]);
            return Err(Error::UnknownFunction { name: n.into(), span: name.span, candidates: close_matches(n, all) });
        };
        let mut typed = Vec::new();
        for a in args {
            typed.push(self.expr(a, schema)?);
        }
        let call = functions::Call {
            src,
            name: n,
            span: e.span,
            arg_spans: args.iter().map(|a| a.span).collect(),
            args: typed,
        };
        let out = functions::check(func, &call)?;
        let typed = call.args;
        Ok((Expr::Call { func, args: typed.into_iter().map(|(x, _)| x).collect() }, out))
    }
}

/// Aggregates made from others (not in [`AggFunc::ALL`]).
const DERIVED_AGGREGATES: &[&str] = &["count_if", "any", "all"];

/// `any` and `all`: comparisons of a hidden count, so never a plain aggregate.
fn is_any_or_all(name: &str) -> bool {
    matches!(name, "any" | "all")
}

/// A call of an aggregate function (`sum(x)`, `count_if(c)`, `any(c)`).
fn is_aggregate_call(e: &ast::Expr) -> bool {
    matches!(&e.kind, ExprKind::Call { name, .. }
        if AggFunc::ALL.iter().any(|(n, _)| *n == name.name) || DERIVED_AGGREGATES.contains(&name.name.as_str()))
}

/// A constant as the expression that writes it.
fn value_ast(v: &Value, span: Span) -> ast::Expr {
    let kind = match v {
        Value::Bool(b) => ExprKind::Literal(Literal::Bool(*b)),
        Value::Int(i) => ExprKind::Literal(Literal::Int(*i)),
        Value::Float(f) => ExprKind::Literal(Literal::Float(*f)),
        Value::Str(s) => ExprKind::Literal(Literal::Str(s.clone())),
        Value::Date(_) | Value::Datetime(_) => {
            let inner = v.iso_text();
            let name = if matches!(v, Value::Date(_)) { "date" } else { "datetime" };
            ExprKind::Call {
                name: ast::Ident { name: name.into(), span },
                args: vec![ast::Expr { kind: ExprKind::Literal(Literal::Str(inner)), span }],
            }
        }
        Value::Null => ExprKind::Literal(Literal::Null),
    };
    ast::Expr { kind, span }
}

/// A polars value as a dq constant.
fn value_of(v: polars::prelude::AnyValue) -> Value {
    use polars::prelude::AnyValue as A;
    match v {
        A::Null => Value::Null,
        A::Boolean(b) => Value::Bool(b),
        A::String(s) => Value::Str(s.to_string()),
        A::StringOwned(s) => Value::Str(s.to_string()),
        A::Date(d) => Value::Date(d),
        A::Float32(f) => Value::Float(f as f64),
        A::Float64(f) => Value::Float(f),
        other => other.extract::<i64>().map_or_else(|| Value::Str(other.to_string()), Value::Int),
    }
}

/// A window's partition keys and its sort keys (as text, descending).
type WindowSpec = (Vec<String>, Vec<(String, bool)>);

/// Functions that run over a window (`f(x) over (...)`).
const WINDOW_FUNCTIONS: &[&str] = &[
    "row_number",
    "rank",
    "dense_rank",
    "lag",
    "lead",
    "cum_sum",
    "cum_count",
    "cum_max",
    "cum_min",
    "sum",
    "mean",
    "avg",
    "min",
    "max",
    "count",
    "first",
    "last",
];

/// Replaces each `f(..) over (..)` in `e` by a hidden column `__w{i}`,
/// collected with the window it stands for.
fn collect_windows(e: &mut ast::Expr, found: &mut Vec<(String, ast::Expr)>) {
    if let ExprKind::Over { .. } = e.kind {
        let name = format!("__w{}", found.len());
        let window = std::mem::replace(&mut e.kind, ExprKind::Column(name.clone()));
        found.push((name, ast::Expr { kind: window, span: e.span }));
        return;
    }
    match &mut e.kind {
        ExprKind::Literal(_) | ExprKind::Column(_) | ExprKind::Over { .. } => {}
        ExprKind::Binary { left, right, .. } => {
            collect_windows(left, found);
            collect_windows(right, found);
        }
        ExprKind::Unary { expr, .. } | ExprKind::IsNull { expr, .. } => collect_windows(expr, found),
        ExprKind::Call { args: items, .. } | ExprKind::Vector(items) => {
            items.iter_mut().for_each(|x| collect_windows(x, found))
        }
        ExprKind::In { expr, list, .. } => {
            collect_windows(expr, found);
            list.iter_mut().for_each(|x| collect_windows(x, found));
        }
        ExprKind::Between { expr, low, high, .. } => {
            collect_windows(expr, found);
            collect_windows(low, found);
            collect_windows(high, found);
        }
    }
}

/// The first column `e` reads that `schema` lacks.
fn unknown_column(e: &ast::Expr, schema: &Schema) -> Option<(String, Span)> {
    let any = |items: &[ast::Expr]| items.iter().find_map(|x| unknown_column(x, schema));
    match &e.kind {
        ExprKind::Column(c) => schema.get(c).is_none().then(|| (c.clone(), e.span)),
        ExprKind::Literal(_) => None,
        ExprKind::Binary { left, right, .. } => unknown_column(left, schema).or_else(|| unknown_column(right, schema)),
        ExprKind::Unary { expr, .. } | ExprKind::IsNull { expr, .. } => unknown_column(expr, schema),
        ExprKind::Over { call, .. } => unknown_column(call, schema),
        ExprKind::Call { args: items, .. } | ExprKind::Vector(items) => any(items),
        ExprKind::In { expr, list, .. } => unknown_column(expr, schema).or_else(|| any(list)),
        ExprKind::Between { expr, low, high, .. } => unknown_column(expr, schema)
            .or_else(|| unknown_column(low, schema))
            .or_else(|| unknown_column(high, schema)),
    }
}

/// A join's options after its keys.
struct JoinOptions<'a> {
    kind: Option<&'a ast::Ident>,
    suffix: Option<&'a (String, Span)>,
    asof: Option<&'a ast::AsofOn>,
}

/// The number of rows where `cond` is true: a count of `if(cond, 1, null)`.
fn count_true(cond: Expr) -> AggExpr {
    let one_if =
        Expr::Call { func: Func::If, args: vec![cond, Expr::Literal(Value::Int(1)), Expr::Literal(Value::Null)] };
    AggExpr { func: AggFunc::Count, arg: Some(one_if), quantile: None, arg2: None, separator: None }
}

/// `date ± n` moves by n days (`datetime ± n` too); `date - date` is the
/// number of days between. Other mixes are errors, with a hint.
fn date_arithmetic(op: BinOp, (l, lt): (Expr, DType), (r, rt): (Expr, DType)) -> Result<(Expr, DType), String> {
    let unit = || Expr::Literal(Value::Str("day".into()));
    let call = |func, args| Expr::Call { func, args };
    match (op, &lt, &rt) {
        (BinOp::Add, DType::Date | DType::Datetime, DType::Int | DType::Null) => {
            Ok((call(Func::DateAdd, vec![l, r, unit()]), lt))
        }
        (BinOp::Add, DType::Int | DType::Null, DType::Date | DType::Datetime) => {
            Ok((call(Func::DateAdd, vec![r, l, unit()]), rt))
        }
        (BinOp::Sub, DType::Date | DType::Datetime, DType::Int | DType::Null) => {
            Ok((call(Func::DateAdd, vec![l, Expr::Neg(Box::new(r)), unit()]), lt))
        }
        (BinOp::Sub, DType::Date, DType::Date) => Ok((call(Func::DateDiff, vec![unit(), r, l]), DType::Int)),
        // The time between two instants; a date is its midnight.
        (BinOp::Sub, DType::Date | DType::Datetime, DType::Date | DType::Datetime) => {
            Ok((binary(op, as_datetime(l, &lt), as_datetime(r, &rt)), DType::Duration))
        }
        (BinOp::Add | BinOp::Sub, DType::Date | DType::Datetime, DType::Duration) => {
            Ok((binary(op, as_datetime(l, &lt), r), DType::Datetime))
        }
        (BinOp::Add, DType::Duration, DType::Date | DType::Datetime) => {
            Ok((binary(op, as_datetime(r, &rt), l), DType::Datetime))
        }
        (BinOp::Add | BinOp::Sub, DType::Duration | DType::Null, DType::Duration | DType::Null) => {
            Ok((binary(op, l, r), DType::Duration))
        }
        _ => Err(format!(
            "cannot apply `{}` to {lt} and {rt}; move a date or datetime by a duration (t + interval(\"3 hours\")) \
             or by calendar units (date_add(t, 1, \"month\"))",
            op.symbol()
        )),
    }
}

fn binary(op: BinOp, l: Expr, r: Expr) -> Expr {
    Expr::Binary { op, left: Box::new(l), right: Box::new(r) }
}

/// `e` of type `t` as a datetime (a date is its midnight).
fn as_datetime(e: Expr, t: &DType) -> Expr {
    match t {
        DType::Date => Expr::Cast { expr: Box::new(e), to: DType::Datetime },
        _ => e,
    }
}

fn type_of_literal_or(e: &Expr, t: &DType) -> DType {
    match e {
        Expr::Literal(v) => v.dtype(),
        _ => t.clone(),
    }
}

/// A string literal compared with a date or datetime is read as one.
fn coerce_literal(v: Value, target: &DType, span: Span) -> Result<Value, Error> {
    match (&v, target) {
        (Value::Str(s), DType::Date | DType::Datetime) => temporal_literal(s, target, span),
        _ => Ok(v),
    }
}

/// `s` as a date or datetime literal, or an error naming it.
fn temporal_literal(s: &str, target: &DType, span: Span) -> Result<Value, Error> {
    let value = match target {
        DType::Date => parse_date(s).map(Value::Date),
        _ => crate::temporal::parse_datetime(s).map(Value::Datetime),
    };
    value.ok_or_else(|| Error::Invalid {
        message: format!("`{s}` is not a {target}"),
        span,
        hint: Some(match target {
            DType::Date => "write dates as \"2024-01-31\"".into(),
            _ => "write datetimes as \"2024-01-31 12:00:00\" (a fraction, `Z` or an offset such as +02:00 may follow)"
                .into(),
        }),
    })
}

use crate::temporal::parse_date;

fn literal(l: &Literal) -> Value {
    match l {
        Literal::Null => Value::Null,
        Literal::Bool(b) => Value::Bool(*b),
        Literal::Int(i) => Value::Int(*i),
        Literal::Float(f) => Value::Float(*f),
        Literal::Str(s) | Literal::Word(s) => Value::Str(s.clone()),
    }
}

fn check_unique(fields: &[Field], span: Span) -> Result<(), Error> {
    for (i, f) in fields.iter().enumerate() {
        if fields[..i].iter().any(|g| g.name == f.name) {
            return Err(Error::Invalid {
                message: format!("two output columns are named `{}`", f.name),
                span,
                hint: Some("name them apart with `name = expr`".into()),
            });
        }
    }
    Ok(())
}

fn project(input: Box<LogicalPlan>, columns: Vec<(String, Expr, DType)>, span: Span) -> Result<LogicalPlan, Error> {
    let fields: Vec<Field> = columns.iter().map(|(n, _, t)| Field { name: n.clone(), dtype: t.clone() }).collect();
    check_unique(&fields, span)?;
    Ok(LogicalPlan::Project {
        input,
        columns: columns.into_iter().map(|(n, e, _)| (n, e)).collect(),
        schema: Schema::new(fields),
    })
}

/// Stacks two plans, unifying columns by name; each side gets nulls for the
/// columns only the other has.
fn union(left: LogicalPlan, right: LogicalPlan, span: Span) -> Result<LogicalPlan, Error> {
    let (ls, rs) = (left.schema(), right.schema());
    let mut fields = ls.fields.clone();
    for f in &rs.fields {
        match fields.iter_mut().find(|g| g.name == f.name) {
            Some(g) => {
                g.dtype = g.dtype.unify(&f.dtype).ok_or_else(|| Error::Invalid {
                    message: format!(
                        "column `{}` is {} on the left of union and {} on the right",
                        f.name, g.dtype, f.dtype
                    ),
                    span,
                    hint: Some("cast one side with derive, e.g. derive x = cast(x, str)".into()),
                })?;
            }
            None => fields.push(f.clone()),
        }
    }
    let schema = Schema::new(fields);
    let conform = |plan: LogicalPlan, have: &Schema| -> LogicalPlan {
        let columns = schema
            .fields
            .iter()
            .map(|f| {
                let e = match have.get(&f.name) {
                    Some(t) if *t == f.dtype => Expr::Column(f.name.clone()),
                    Some(_) => Expr::Cast { expr: Box::new(Expr::Column(f.name.clone())), to: f.dtype.clone() },
                    None => Expr::Cast { expr: Box::new(Expr::Literal(Value::Null)), to: f.dtype.clone() },
                };
                (f.name.clone(), e)
            })
            .collect();
        LogicalPlan::Project { input: Box::new(plan), columns, schema: schema.clone() }
    };
    let inputs = vec![conform(left, &ls), conform(right, &rs)];
    Ok(LogicalPlan::Union { inputs, schema })
}

/// Scan options from their text as written inside a `scan`'s parentheses
/// (`delimiter=";", header=false`): what `dq schema`, `dq head` and `dq
/// profile` take with `--options`, so that they read a file exactly as a
/// `scan` with the same options would.
///
/// # Errors
/// The parser's or the option's error, pointing into `scan "…" (TEXT)`.
pub fn scan_options_from_text(text: &str) -> Result<io::ScanOptions, crate::Error> {
    let program = crate::lang::parse(&options_program(text))?;
    match &program.main.source {
        ast::Source::Scan(scan) if program.main.verbs.is_empty() => Ok(scan_options(&scan.options)?),
        _ => Err(crate::Error::Usage(format!("--options {text:?}: give only scan options, e.g. delimiter=\";\""))),
    }
}

/// The program text `--options TEXT` is parsed in (errors point into it).
pub fn options_program(text: &str) -> String {
    format!("scan \"-\" ({text})")
}

fn scan_options(options: &[ast::OptionArg]) -> Result<io::ScanOptions, Error> {
    let mut out = io::ScanOptions::default();
    for o in options {
        let bad = |what: &str| Error::invalid(o.span, format!("option `{}` {what}", o.name.name));
        let scalar = match &o.value {
            OptionValue::Scalar(l) => Some(l),
            _ => None,
        };
        let text = scalar.and_then(|l| match l {
            Literal::Str(s) | Literal::Word(s) => Some(s.clone()),
            _ => None,
        });
        let one_byte = |s: &str| -> Result<u8, Error> {
            match s.as_bytes() {
                [b] => Ok(*b),
                _ => Err(bad("takes a single one-byte character, e.g. \";\" or \"\\t\"")),
            }
        };
        match o.name.name.as_str() {
            "format" => {
                out.format = Some(match text.as_deref() {
                    Some("csv") => io::Format::Csv,
                    Some("tsv") => {
                        out.csv.delimiter = b'\t';
                        out.delimiter_set = true;
                        io::Format::Csv
                    }
                    Some("ndjson") | Some("jsonl") | Some("json") => io::Format::Ndjson,
                    Some("parquet") => io::Format::Parquet,
                    Some("lines") | Some("text") => io::Format::Lines,
                    Some("npy") => io::Format::Npy,
                    Some("arrow") | Some("ipc") | Some("feather") => io::Format::Ipc,
                    _ => return Err(bad("is one of csv, tsv, ndjson, parquet, lines, npy, arrow")),
                })
            }
            "delimiter" | "sep" => {
                out.csv.delimiter = one_byte(&text.ok_or_else(|| bad("takes a string"))?)?;
                out.delimiter_set = true;
            }
            "quote" => {
                let t = text.ok_or_else(|| bad("takes a string (\"\" turns quoting off)"))?;
                out.csv.quote = if t.is_empty() { None } else { Some(one_byte(&t)?) };
            }
            "header" => match scalar {
                Some(Literal::Bool(b)) => out.csv.header = *b,
                _ => return Err(bad("is true or false")),
            },
            "null" | "nulls" => {
                out.csv.null_values = match &o.value {
                    OptionValue::Scalar(Literal::Str(s)) => vec![s.clone()],
                    OptionValue::List(items) => items
                        .iter()
                        .map(|l| match l {
                            Literal::Str(s) => Ok(s.clone()),
                            _ => Err(bad("takes strings, e.g. null=[\"NA\", \"-\"]")),
                        })
                        .collect::<Result<_, _>>()?,
                    _ => return Err(bad("takes a string or a list of strings")),
                }
            }
            "infer_rows" => match scalar {
                Some(Literal::Int(n)) if *n > 0 => out.csv.infer_rows = *n as usize,
                _ => return Err(bad("is a positive number of rows")),
            },
            "schema" => {
                let OptionValue::Schema(cols) = &o.value else {
                    return Err(bad("takes column types, e.g. schema=(id: str, price: float)"));
                };
                for (col, ty) in cols {
                    let t = DType::from_name(&ty.name).filter(|t| *t != DType::Duration).ok_or_else(|| {
                        let duration = DType::from_name(&ty.name) == Some(DType::Duration);
                        Error::Invalid {
                            message: format!("`{}` is not a type a file is read as", ty.name),
                            span: ty.span,
                            hint: Some(if duration {
                                "read it as str, then cast(x, duration)".into()
                            } else {
                                "types are int, float, str, bool, date, datetime".into()
                            }),
                        }
                    })?;
                    out.csv.schema_overrides.push((col.name.clone(), t.to_polars()));
                }
            }
            "names" => {
                let OptionValue::List(items) = &o.value else {
                    return Err(bad("takes a list of column names, e.g. names=[id, name, city]"));
                };
                let names: Vec<String> = items
                    .iter()
                    .map(|l| match l {
                        Literal::Str(s) | Literal::Word(s) if !s.is_empty() => Ok(s.clone()),
                        _ => Err(bad("takes column names, e.g. names=[id, name, city]")),
                    })
                    .collect::<Result<_, _>>()?;
                if let Some(dup) = names.iter().enumerate().find(|(i, n)| names[..*i].contains(n)) {
                    return Err(bad(&format!("names `{}` twice", dup.1)));
                }
                out.csv.names = names;
            }
            "hive" => match scalar {
                Some(Literal::Bool(b)) => out.no_hive = !b,
                _ => return Err(bad("is true or false")),
            },
            "filename" => match &o.value {
                OptionValue::Scalar(Literal::Word(name) | Literal::Str(name)) if !name.is_empty() => {
                    out.filename = Some(name.clone())
                }
                _ => return Err(bad("takes a column name, e.g. filename=file")),
            },
            other => {
                let known = [
                    "format",
                    "delimiter",
                    "quote",
                    "header",
                    "null",
                    "infer_rows",
                    "schema",
                    "filename",
                    "names",
                    "hive",
                ];
                let c = close_matches(other, known);
                return Err(Error::Invalid {
                    message: format!("unknown scan option `{other}`"),
                    span: o.name.span,
                    hint: Some(match c.first() {
                        Some(m) => format!("did you mean `{m}`?"),
                        None => format!("options are {}", known.join(", ")),
                    }),
                });
            }
        }
    }
    Ok(out)
}

/// The options of `write "path" (…)`: `partition_by=[keys]` (columns of
/// the result of a type that names a directory) and `format=`.
fn write_spec(path: &str, options: &[ast::OptionArg], schema: &Schema) -> Result<WriteSpec, Error> {
    use crate::io::sink::OutputFormat;
    let mut spec = WriteSpec { path: path.to_string(), partition_by: Vec::new(), format: None };
    for o in options {
        let bad = |what: &str| Error::invalid(o.name.span, format!("write option `{}` {what}", o.name.name));
        match (o.name.name.as_str(), &o.value) {
            ("partition_by", OptionValue::List(items)) => {
                for item in items {
                    let (Literal::Word(name) | Literal::Str(name)) = item else {
                        return Err(bad("takes column names, e.g. partition_by=[region, year]"));
                    };
                    let Some(ty) = schema.get(name) else {
                        return Err(Error::UnknownColumn {
                            name: name.clone(),
                            span: o.name.span,
                            candidates: close_matches(name, schema.names()),
                            available: schema.names(),
                        });
                    };
                    if !matches!(ty, DType::Str | DType::Int | DType::Bool | DType::Date | DType::Datetime) {
                        return Err(bad(&format!(
                            "cannot split by `{name}` ({ty}): partition keys are text, integers, booleans or dates"
                        )));
                    }
                    if spec.partition_by.contains(name) {
                        return Err(bad(&format!("names `{name}` twice")));
                    }
                    spec.partition_by.push(name.clone());
                }
            }
            ("partition_by", _) => return Err(bad("takes a list of columns, e.g. partition_by=[region, year]")),
            ("format", OptionValue::Scalar(Literal::Word(f) | Literal::Str(f))) => {
                let format = OutputFormat::from_name(f)
                    .filter(|f| !matches!(f, OutputFormat::Table | OutputFormat::Markdown | OutputFormat::Npy))
                    .ok_or_else(|| bad("is one of csv, tsv, json, ndjson, parquet, arrow"))?;
                spec.format = Some(format);
            }
            ("format", _) => return Err(bad("is one of csv, tsv, json, ndjson, parquet, arrow")),
            (other, _) => {
                let c = close_matches(other, ["partition_by", "format"]);
                return Err(Error::Invalid {
                    message: format!("unknown write option `{other}`"),
                    span: o.name.span,
                    hint: Some(match c.first() {
                        Some(m) => format!("did you mean `{m}`?"),
                        None => "options are partition_by, format".into(),
                    }),
                });
            }
        }
    }
    let options_span = || options.first().map_or(Span::new(0, 0), |o| o.name.span);
    if spec.partition_by.is_empty() && spec.format.is_some() {
        return Err(Error::invalid(
            options_span(),
            "format= names the files of a partitioned write; a single file's extension names its format",
        ));
    }
    if !spec.partition_by.is_empty() && spec.partition_by.len() == schema.fields.len() {
        return Err(Error::invalid(options_span(), "every column is a partition key: the files would have no columns"));
    }
    Ok(spec)
}

/// `reduce STATS [axis=…]`: checks the statistics, the axis and that every
/// input column is numeric, and gives the output schema.
fn reduce(
    input: Box<LogicalPlan>,
    stats: &[ast::Ident],
    axis: Option<&(String, Span)>,
    schema: &Schema,
) -> Result<LogicalPlan, Error> {
    use crate::ops::array::{Axis, Stat};
    let span = stats.first().map_or(Span::new(0, 0), |s| s.span).to(stats.last().map_or(Span::new(0, 0), |s| s.span));
    for (i, s) in stats.iter().enumerate() {
        if stats[..i].iter().any(|t| t.name == s.name) {
            return Err(Error::Invalid {
                message: format!("`{}` is asked for twice", s.name),
                span: s.span,
                hint: None,
            });
        }
    }
    let stats = stats
        .iter()
        .map(|s| {
            Stat::parse(&s.name).ok_or_else(|| Error::UnknownFunction {
                name: s.name.clone(),
                span: s.span,
                candidates: close_matches(
                    &s.name,
                    Stat::ALL.iter().map(|(n, _)| *n).chain(["p25", "p75", "p90", "p99"]),
                ),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let axis = match axis {
        None => Axis::Columns,
        Some((a, _)) if a == "0" => Axis::Columns,
        Some((a, _)) if a == "1" => Axis::Rows,
        Some((a, _)) if a == "all" => Axis::All,
        Some((a, span)) => {
            return Err(Error::Invalid {
                message: format!("`axis={a}`: reduce runs along axis 0 (per column), 1 (per row) or all"),
                span: *span,
                hint: Some("e.g. `reduce mean, std` or `reduce sum axis=1`".into()),
            })
        }
    };
    let columns = numeric_columns(schema, "reduce", span)?;
    let ints = schema.fields.iter().all(|f| matches!(f.dtype, DType::Int | DType::Bool));
    let dtype = |integral: bool| if integral { DType::Int } else { DType::Float };
    let fields = match axis {
        Axis::Columns => {
            let integral = stats.iter().all(|s| s.integral(ints));
            std::iter::once(Field { name: "stat".into(), dtype: DType::Str })
                .chain(columns.iter().map(|c| Field { name: c.clone(), dtype: dtype(integral) }))
                .collect()
        }
        Axis::Rows | Axis::All => {
            stats.iter().map(|s| Field { name: s.name(), dtype: dtype(s.integral(ints)) }).collect()
        }
    };
    Ok(LogicalPlan::Reduce { input, stats, axis, columns, ints, schema: Schema::new(fields) })
}

/// The input's columns, all of which must be numeric (or bool) for the
/// array verb `verb`.
fn numeric_columns(schema: &Schema, verb: &str, span: Span) -> Result<Vec<String>, Error> {
    for f in &schema.fields {
        if !matches!(f.dtype, DType::Int | DType::Float | DType::Bool | DType::Null) {
            return Err(Error::Type {
                expr: verb.into(),
                message: format!("{verb} works on numeric columns, `{}` is {}", f.name, f.dtype),
                span,
                hint: Some(format!("select the numeric columns first, e.g. `select * except ({})`", f.name)),
            });
        }
    }
    if schema.fields.is_empty() {
        return Err(Error::Invalid { message: format!("{verb} needs at least one column"), span, hint: None });
    }
    Ok(schema.fields.iter().map(|f| f.name.clone()).collect())
}

/// Largest matrix `matmul` reads while planning.
const MATMUL_MAX_BYTES: u64 = 256 << 20;

/// Reads the matrix of `matmul` (any format dq reads; a 2-D `.npy` as
/// usual), row-major, and checks that it has `rows` rows.
fn read_matrix(path: &str, span: Span, rows: usize) -> Result<(std::sync::Arc<Vec<f64>>, usize), Error> {
    let source = io::Source::open(path, &io::ScanOptions::default()).map_err(|e| Error::Source { source: e, span })?;
    let invalid = |message: String| Error::Invalid { message, span, hint: None };
    if source.total_bytes() > MATMUL_MAX_BYTES {
        return Err(invalid(format!(
            "{path} holds {} bytes; matmul reads its matrix into memory and takes at most {MATMUL_MAX_BYTES}",
            source.total_bytes()
        )));
    }
    let df = source.read_all().map_err(|e| Error::Source { source: e, span })?;
    if df.height() != rows {
        return Err(invalid(format!(
            "shapes do not fit: the input has {rows} column(s), so the matrix needs {rows} row(s); {path} has shape ({}, {})",
            df.height(),
            df.width()
        )));
    }
    let width = df.width();
    let mut w = vec![0.0; rows * width];
    for (j, column) in df.get_columns().iter().enumerate() {
        let s = column
            .as_materialized_series()
            .cast(&polars::prelude::DataType::Float64)
            .map_err(|e| invalid(format!("{path}: column {j} is not numeric ({e})")))?;
        let ca = s.f64().map_err(|e| invalid(e.to_string()))?;
        for (i, v) in ca.iter().enumerate() {
            w[i * width + j] = v.ok_or_else(|| invalid(format!("{path} has a null in row {i}, column {j}")))?;
        }
    }
    Ok((std::sync::Arc::new(w), width))
}

/// Rewrites an `each` expression for `column`: `_` becomes the column, and
/// every aggregate call (with its argument rewritten) is moved to `aggs`
/// under a generated name that replaces it. Returns whether `_` occurred.
fn rewrite_each(
    e: &mut ast::Expr,
    each: &EachColumn,
    aggs: &mut Vec<ast::Assign>,
    in_agg: bool,
) -> Result<bool, Error> {
    if let ExprKind::Vector(items) = &e.kind {
        if items.len() != each.width {
            return Err(Error::Invalid {
                message: format!(
                    "the vector has {} value{} but `each` applies to {} numeric column{}",
                    items.len(),
                    if items.len() == 1 { "" } else { "s" },
                    each.width,
                    if each.width == 1 { "" } else { "s" }
                ),
                span: e.span,
                hint: Some(format!("one value per column, in order: {}", each.names)),
            });
        }
        *e = items[each.at].clone();
        return rewrite_each(e, each, aggs, in_agg);
    }
    let is_agg = matches!(&e.kind, ExprKind::Call { name, .. } if AggFunc::ALL.iter().any(|(n, _)| *n == name.name));
    if is_agg && !in_agg {
        let mut call = e.clone();
        let found = rewrite_each(&mut call, each, aggs, true)?;
        let name = format!("__each_{}", aggs.len());
        aggs.push(ast::Assign { name: ast::Ident { name: name.clone(), span: e.span }, expr: call });
        e.kind = ExprKind::Column(name);
        return Ok(found);
    }
    Ok(match &mut e.kind {
        ExprKind::Column(name) if name == "_" => {
            *name = each.column.to_string();
            true
        }
        ExprKind::Binary { left, right, .. } => {
            let l = rewrite_each(left, each, aggs, in_agg)?;
            rewrite_each(right, each, aggs, in_agg)? || l
        }
        ExprKind::Unary { expr, .. } | ExprKind::IsNull { expr, .. } => rewrite_each(expr, each, aggs, in_agg)?,
        // Refused when typed: windows run in `derive` only.
        ExprKind::Over { .. } => false,
        // Every argument or item is rewritten (no short circuit).
        ExprKind::Call { args: items, .. } | ExprKind::Vector(items) => {
            let mut found = false;
            for a in items.iter_mut() {
                found |= rewrite_each(a, each, aggs, in_agg)?;
            }
            found
        }
        ExprKind::In { expr, list, .. } => {
            let mut found = rewrite_each(expr, each, aggs, in_agg)?;
            for a in list.iter_mut() {
                found |= rewrite_each(a, each, aggs, in_agg)?;
            }
            found
        }
        ExprKind::Between { expr, low, high, .. } => {
            let a = rewrite_each(expr, each, aggs, in_agg)?;
            let b = rewrite_each(low, each, aggs, in_agg)?;
            rewrite_each(high, each, aggs, in_agg)? || a || b
        }
        ExprKind::Literal(_) | ExprKind::Column(_) => false,
    })
}

/// The column `each` is rewriting its expression for: `_` becomes
/// `column`, a vector `[…]` its item `at` (of `width`, for the columns
/// listed in `names`).
struct EachColumn<'a> {
    column: &'a str,
    at: usize,
    width: usize,
    names: &'a str,
}
