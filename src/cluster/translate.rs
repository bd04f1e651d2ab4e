//! dq's optimized logical plan → a DataFusion logical plan.
//!
//! Only what gives exactly the local result is translated; everything
//! else is refused here, before any connection, with an error naming the
//! verb, function or option ([`Error::NotOnCluster`]). The final
//! projection names every column as dq does and casts it to the Arrow
//! type of its dq type, so results come back in dq's types.

use datafusion::arrow::datatypes::{DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema, TimeUnit};
use datafusion::common::{DFSchema, JoinType, ScalarValue};
use datafusion::dataframe::DataFrame;
use datafusion::functions::expr_fn as f;
use datafusion::logical_expr::{cast, ident, lit, Expr as DfExpr, SortExpr};
use datafusion::prelude::{CsvReadOptions, JsonReadOptions, ParquetReadOptions, SessionContext};

use super::expr::{agg, expr, finish};
use super::Error;
use crate::io::{Compression, Format};
use crate::plan::logical::{JoinColumn, JoinKind, LogicalPlan, Scan, SortKey};
use crate::plan::types::{DType, Schema};

/// The DataFusion plan of `plan`, built on `ctx` (no file is read: every
/// scan carries dq's own schema and file list).
pub async fn translate(ctx: &SessionContext, plan: &LogicalPlan) -> Result<DataFrame, Error> {
    let df = node(ctx, plan).await?;
    // Names and types exactly as dq's.
    Ok(df.select(typed_columns(&plan.schema())?)?)
}

/// The Arrow type results of `t` come back in.
pub fn arrow_type(t: &DType) -> Result<ArrowType, Error> {
    Ok(match t {
        DType::Bool => ArrowType::Boolean,
        DType::Int => ArrowType::Int64,
        DType::Float => ArrowType::Float64,
        DType::Str => ArrowType::Utf8,
        DType::Date => ArrowType::Date32,
        DType::Datetime => ArrowType::Timestamp(TimeUnit::Microsecond, None),
        DType::Duration => ArrowType::Duration(TimeUnit::Microsecond),
        DType::Null => ArrowType::Null,
        DType::Struct(_) | DType::List(_) => return Err(Error::not_on_cluster(format!("a column of type {t}"))),
        DType::Other(name) => return Err(Error::not_on_cluster(format!("a column of type {name}"))),
    })
}

fn node<'a>(
    ctx: &'a SessionContext,
    plan: &'a LogicalPlan,
) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<DataFrame, Error>> + Send + 'a>> {
    Box::pin(async move {
        Ok(match plan {
            LogicalPlan::Scan(scan) => {
                let mut df = self::scan(ctx, scan).await?;
                if let Some(cols) = &scan.projection {
                    df = df.select(cols.iter().map(ident).collect::<Vec<_>>())?;
                }
                for f in &scan.filters {
                    let predicate = expr(f, df.schema())?;
                    df = df.filter(predicate)?;
                }
                df
            }
            LogicalPlan::Filter { input, predicate } => {
                let df = node(ctx, input).await?;
                let condition = expr(predicate, df.schema())?;
                df.filter(condition)?
            }
            LogicalPlan::Project { input, columns, .. } => {
                let df = node(ctx, input).await?;
                let exprs = columns
                    .iter()
                    .map(|(n, e)| Ok(expr(e, df.schema())?.alias(n)))
                    .collect::<Result<Vec<_>, Error>>()?;
                df.select(exprs)?
            }
            LogicalPlan::Aggregate { input, keys, aggs, .. } => {
                let df = node(ctx, input).await?;
                aggregate(df, keys, aggs)?
            }
            LogicalPlan::Sort { input, keys } => {
                let df = node(ctx, input).await?;
                let keys = sort_exprs(keys, df.schema())?;
                df.sort(keys)?
            }
            // Ballista 55 fails a stage whose sort fetches 0 rows
            // ("ShuffleWriterExec coordinator dropped"): no rows, same schema.
            LogicalPlan::TopK { input, k: 0, .. } => node(ctx, input).await?.filter(lit(false))?,
            LogicalPlan::TopK { input, keys, k } => {
                let df = node(ctx, input).await?;
                let keys = sort_exprs(keys, df.schema())?;
                df.sort(keys)?.limit(0, Some(usize::try_from(*k).unwrap_or(usize::MAX)))?
            }
            LogicalPlan::Distinct { input } => node(ctx, input).await?.distinct()?,
            LogicalPlan::Count { input } => {
                let count = datafusion::functions_aggregate::expr_fn::count(lit(1)).alias("count");
                node(ctx, input).await?.aggregate(vec![], vec![count])?
            }
            LogicalPlan::Join { asof: Some(_), .. } => {
                return Err(Error::not_on_cluster("an as-of join (`join … asof`)"))
            }
            LogicalPlan::Join { left, right, on, kind, asof: None, columns, schema } => {
                let (left, right) = (node(ctx, left).await?, node(ctx, right).await?);
                join(left, right, on, *kind, columns, schema)?
            }
            LogicalPlan::Union { inputs, schema } => {
                let mut parts = Vec::with_capacity(inputs.len());
                for input in inputs {
                    // Same names and Arrow types on every side.
                    parts.push(node(ctx, input).await?.select(typed_columns(schema)?)?);
                }
                union_all(parts)?
            }
            LogicalPlan::Limit { .. } => {
                return Err(Error::not_on_cluster_because(
                    "`head` without a `sort` before it",
                    "the cluster has no input order; add a `sort` first",
                ))
            }
            LogicalPlan::LimitPerGroup { .. } | LogicalPlan::TopKPerGroup { .. } => {
                // A window function (row_number) would do it, but Ballista 55
                // never finishes a job whose window runs over no rows.
                return Err(Error::not_on_cluster("`head N by`"));
            }
            LogicalPlan::Tail { .. } => return Err(Error::not_on_cluster("`tail`")),
            LogicalPlan::Window { .. } => return Err(Error::not_on_cluster("window functions (`over`)")),
            LogicalPlan::Unpivot { .. } => return Err(Error::not_on_cluster("`unpivot`")),
            LogicalPlan::Slice { .. } => return Err(Error::not_on_cluster("`rows A:B`")),
            LogicalPlan::Sample { .. } => return Err(Error::not_on_cluster("`sample`")),
            LogicalPlan::Explode { .. } => return Err(Error::not_on_cluster("`explode`")),
            LogicalPlan::Reduce { .. } => return Err(Error::not_on_cluster("`reduce`")),
            LogicalPlan::Matrix { matrix, .. } => return Err(Error::not_on_cluster(format!("`{}`", matrix.name()))),
            LogicalPlan::MatMul { .. } => return Err(Error::not_on_cluster("`matmul`")),
        })
    })
}

/// Group and aggregate. DataFusion adds to the keys every input column the
/// keys determine (after an earlier aggregate by the same keys, its
/// results), which may bear an output's name: keys and aggregates are
/// computed under internal names and renamed after, leaving those out.
fn aggregate(
    df: DataFrame,
    keys: &[(String, crate::plan::expr::Expr)],
    aggs: &[(String, crate::plan::expr::AggExpr)],
) -> Result<DataFrame, Error> {
    let internal = |what: &str, i: usize| format!("__dq_{what}{i}");
    let mut grouped = Vec::with_capacity(keys.len());
    let mut computed = Vec::with_capacity(aggs.len());
    let mut out = Vec::with_capacity(keys.len() + aggs.len());
    for (i, (name, e)) in keys.iter().enumerate() {
        grouped.push(expr(e, df.schema())?.alias(internal("key", i)));
        out.push(ident(internal("key", i)).alias(name));
    }
    for (i, (name, a)) in aggs.iter().enumerate() {
        computed.push(agg(a, df.schema())?.alias(internal("agg", i)));
        out.push(finish(a, name, ident(internal("agg", i)), df.schema())?.alias(name));
    }
    Ok(df.aggregate(grouped, computed)?.select(out)?)
}

/// Every column of `schema`, cast to the Arrow type of its dq type.
fn typed_columns(schema: &Schema) -> Result<Vec<DfExpr>, Error> {
    schema
        .fields
        .iter()
        .map(|f| Ok(datafusion::logical_expr::cast(ident(&f.name), arrow_type(&f.dtype)?).alias(&f.name)))
        .collect()
}

fn sort_exprs(keys: &[SortKey], schema: &DFSchema) -> Result<Vec<SortExpr>, Error> {
    // dq sorts nulls last in both directions.
    keys.iter().map(|k| Ok(expr(&k.expr, schema)?.sort(!k.descending, false))).collect()
}

/// An equi-join with dq's output columns. Each side's keys are copied
/// under fresh names in their common type (dq joins an int key with a
/// float one as floats), and the right side's columns are renamed so no
/// name is ambiguous; the output then takes each column from its side.
/// Right and full joins take a key from whichever side has it.
fn join(
    left: DataFrame,
    right: DataFrame,
    on: &[(String, String)],
    kind: JoinKind,
    columns: &[JoinColumn],
    schema: &Schema,
) -> Result<DataFrame, Error> {
    let key = |side: &str, i: usize| format!("__dq_{side}key{i}");
    let right_name = |name: &str| format!("__dq_right_{name}");
    let mut key_types = Vec::with_capacity(on.len());
    for (l, r) in on {
        let lt = left.schema().field_with_unqualified_name(l)?.data_type().clone();
        let rt = right.schema().field_with_unqualified_name(r)?.data_type().clone();
        key_types.push(
            common_key_type(&lt, &rt)
                .ok_or_else(|| Error::not_on_cluster(format!("a join of `{l}` ({lt}) with `{r}` ({rt})")))?,
        );
    }
    let mut left_cols: Vec<DfExpr> = left.schema().fields().iter().map(|f| ident(f.name())).collect();
    let mut right_cols: Vec<DfExpr> =
        right.schema().fields().iter().map(|f| ident(f.name()).alias(right_name(f.name()))).collect();
    for (i, ((l, r), t)) in on.iter().zip(&key_types).enumerate() {
        left_cols.push(cast(ident(l), t.clone()).alias(key("left", i)));
        right_cols.push(cast(ident(r), t.clone()).alias(key("right", i)));
    }
    let (left, right) = (left.select(left_cols)?, right.select(right_cols)?);
    let left_keys: Vec<String> = (0..on.len()).map(|i| key("left", i)).collect();
    let right_keys: Vec<String> = (0..on.len()).map(|i| key("right", i)).collect();
    let how = match kind {
        JoinKind::Inner => JoinType::Inner,
        JoinKind::Left => JoinType::Left,
        JoinKind::Right => JoinType::Right,
        JoinKind::Full => JoinType::Full,
        JoinKind::Semi => JoinType::LeftSemi,
        JoinKind::Anti => JoinType::LeftAnti,
    };
    let (left_keys, right_keys): (Vec<&str>, Vec<&str>) =
        (left_keys.iter().map(String::as_str).collect(), right_keys.iter().map(String::as_str).collect());
    // Null keys never match (DataFusion's default, as dq's).
    let joined = left.join(right, how, &left_keys, &right_keys, None)?;
    let out = columns
        .iter()
        .zip(&schema.fields)
        .map(|(c, field)| {
            let key_index = on.iter().position(|(l, _)| c.from_left && *l == c.source);
            let value = match key_index {
                Some(i) if matches!(kind, JoinKind::Right | JoinKind::Full) => {
                    f::coalesce(vec![ident(key("left", i)), ident(key("right", i))])
                }
                _ if c.from_left => ident(&c.source),
                _ => ident(right_name(&c.source)),
            };
            Ok(cast(value, arrow_type(&field.dtype)?).alias(&c.name))
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(joined.select(out)?)
}

/// The type two join keys are compared in, as dq unifies them.
fn common_key_type(l: &ArrowType, r: &ArrowType) -> Option<ArrowType> {
    use ArrowType as A;
    Some(match (l, r) {
        _ if l == r => l.clone(),
        (A::Null, t) | (t, A::Null) => t.clone(),
        (A::Int64 | A::Float64, A::Int64 | A::Float64) => A::Float64,
        _ => return None,
    })
}

/// A scan over dq's own file list with dq's schema: DataFusion infers
/// nothing and lists no directory.
async fn scan(ctx: &SessionContext, scan: &Scan) -> Result<DataFrame, Error> {
    let spec = &scan.spec;
    if spec.reads_stdin() {
        return Err(Error::not_on_cluster("reading standard input"));
    }
    if spec.filename.is_some() {
        return Err(Error::not_on_cluster("a scan with filename="));
    }
    if !spec.partition_columns.is_empty() {
        return Err(Error::not_on_cluster("a scan of key=value (hive) directories"));
    }
    if !spec.csv.names.is_empty() {
        return Err(Error::not_on_cluster("a scan with names="));
    }
    // A CSV file is read by position: files whose columns differ are each
    // read with their own header's order and united by name (`read_csv`).
    if !spec.same_columns && spec.format != Format::Csv {
        return Err(Error::not_on_cluster_because(
            format!("the glob {:?}", spec.pattern),
            "its files differ in columns or types (only CSV files may)",
        ));
    }
    // DataFusion 55's plan serialization drops a scan's compression: the
    // workers would read gzip or zstd bytes as text.
    if let Some(file) = spec.files.iter().find(|f| f.compression != Compression::None) {
        return Err(Error::not_on_cluster_because(
            format!("the compressed file {}", file.path.display()),
            "the cluster's plan format does not carry compression; decompress it first",
        ));
    }
    let paths: Vec<String> = spec.files.iter().map(|f| f.path.display().to_string()).collect();
    let schema = arrow_fields(scan.source_schema.names().iter(), &scan.source_schema, arrow_type)?;
    // Any suffix: dq chose the files already.
    let df = match spec.format {
        Format::Csv => {
            let csv = &spec.csv;
            if csv.quote.is_none() {
                return Err(Error::not_on_cluster("the scan option `quote=\"\"`"));
            }
            if !csv.null_values.is_empty() {
                return Err(Error::not_on_cluster("the scan option `null`"));
            }
            read_csv(ctx, scan, paths).await?
        }
        Format::Ndjson => {
            let options = JsonReadOptions::default().schema(&schema).file_extension("");
            ctx.read_json(paths, options).await?
        }
        Format::Parquet => {
            ctx.read_parquet(paths, ParquetReadOptions::default().schema(&schema).file_extension("")).await?
        }
        Format::Lines => return Err(Error::not_on_cluster("the `lines` format (.txt, .log)")),
        Format::Npy => return Err(Error::not_on_cluster("NumPy arrays (.npy)")),
        Format::Ipc => return Err(Error::not_on_cluster("Arrow IPC files (.arrow, .ipc, .feather)")),
    };
    Ok(df)
}

/// A CSV scan. A file is read by position, so a glob whose files order or
/// lack columns differently is read file by file, each in its header's
/// order, and united by name. Datetimes are read as text and parsed as dq
/// parses them.
async fn read_csv(ctx: &SessionContext, scan: &Scan, paths: Vec<String>) -> Result<DataFrame, Error> {
    let (spec, source) = (&scan.spec, &scan.source_schema);
    let csv = &spec.csv;
    let read = |paths: Vec<String>, schema: ArrowSchema| async move {
        let options = CsvReadOptions::new()
            .schema(&schema)
            .has_header(csv.header)
            .delimiter(csv.delimiter)
            .quote(csv.quote.unwrap_or(b'"'))
            .newlines_in_values(true)
            .file_extension("");
        ctx.read_csv(paths, options).await
    };
    let df = if spec.same_columns {
        read(paths, arrow_fields(source.names().iter(), source, csv_type)?).await?
    } else {
        let mut parts = Vec::with_capacity(paths.len());
        for (file, path) in spec.files.iter().zip(paths) {
            // Every column of the scan in its order; null where the file lacks it.
            let all = source
                .fields
                .iter()
                .map(|f| {
                    let value = if file.columns.contains(&f.name) { ident(&f.name) } else { lit(ScalarValue::Null) };
                    Ok(cast(value, csv_type(&f.dtype)?).alias(&f.name))
                })
                .collect::<Result<Vec<_>, Error>>()?;
            parts.push(read(vec![path], arrow_fields(file.columns.iter(), source, csv_type)?).await?.select(all)?);
        }
        union_all(parts)?
    };
    let columns = source
        .fields
        .iter()
        .map(|f| match f.dtype {
            DType::Datetime => datetime_from_text(ident(&f.name)).alias(&f.name),
            _ => ident(&f.name),
        })
        .collect::<Vec<_>>();
    Ok(df.select(columns)?)
}

/// The rows of every part, one after another.
fn union_all(parts: Vec<DataFrame>) -> Result<DataFrame, Error> {
    let mut parts = parts.into_iter();
    let first = parts.next().ok_or_else(|| Error::Setup("a union of nothing".into()))?;
    parts.try_fold(first, |acc, part| Ok(acc.union(part)?))
}

/// The Arrow type a CSV column of type `t` is read in: datetimes as text,
/// since Arrow's CSV parser takes fewer forms than dq's (no `HH:MM`
/// without seconds, no lower-case `t`/`z`, no surrounding spaces).
fn csv_type(t: &DType) -> Result<ArrowType, Error> {
    match t {
        DType::Datetime => Ok(ArrowType::Utf8),
        other => arrow_type(other),
    }
}

/// dq's datetime text → a timestamp: trimmed, upper-cased (`t`, `z`), and
/// `HH:MM` given its seconds, which leaves forms Arrow's cast parses (a
/// date alone, `T` or space, fractions, `Z` or an offset, made UTC). A
/// value that still does not parse fails the job rather than turn null.
fn datetime_from_text(text: DfExpr) -> DfExpr {
    let trimmed = f::regexp_replace(text, lit(r"^\s+|\s+$"), lit(""), Some(lit("g")));
    let seconds = f::regexp_replace(
        f::upper(trimmed),
        lit(r"^(\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2})($|[Z+-])"),
        lit("${1}:00${2}"),
        None,
    );
    cast(seconds, arrow_type(&DType::Datetime).unwrap_or(ArrowType::Utf8))
}

/// The Arrow schema of the columns `names` of `schema`, typed by `ty`.
fn arrow_fields<'a>(
    names: impl Iterator<Item = &'a String>,
    schema: &Schema,
    ty: fn(&DType) -> Result<ArrowType, Error>,
) -> Result<ArrowSchema, Error> {
    let fields = names
        .map(|n| Ok(ArrowField::new(n, ty(schema.get(n).unwrap_or(&DType::Null))?, true)))
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(ArrowSchema::new(fields))
}
