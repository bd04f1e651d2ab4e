//! dq's optimized logical plan → a DataFusion logical plan.
//!
//! Only what gives exactly the local result is translated; everything
//! else is refused here, before any connection, with an error naming the
//! verb, function or option ([`Error::NotOnCluster`]). The final
//! projection names every column as dq does and casts it to the Arrow
//! type of its dq type, so results come back in dq's types.

use datafusion::arrow::datatypes::{DataType as ArrowType, Field as ArrowField, Schema as ArrowSchema, TimeUnit};
use datafusion::dataframe::DataFrame;
use datafusion::logical_expr::{ident, lit, Expr as DfExpr, SortExpr};
use datafusion::prelude::{CsvReadOptions, JsonReadOptions, ParquetReadOptions, SessionContext};

use super::expr::{agg, expr};
use super::Error;
use crate::io::{Compression, Format};
use crate::plan::logical::{LogicalPlan, Scan, SortKey};
use crate::plan::types::{DType, Schema};

/// The DataFusion plan of `plan`, built on `ctx` (no file is read: every
/// scan carries dq's own schema and file list).
pub async fn translate(ctx: &SessionContext, plan: &LogicalPlan) -> Result<DataFrame, Error> {
    let df = node(ctx, plan).await?;
    // Names and types exactly as dq's.
    let out: Vec<DfExpr> = plan
        .schema()
        .fields
        .iter()
        .map(|f| Ok(datafusion::logical_expr::cast(ident(&f.name), arrow_type(&f.dtype)?).alias(&f.name)))
        .collect::<Result<_, Error>>()?;
    Ok(df.select(out)?)
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
                    df = df.filter(expr(f)?)?;
                }
                df
            }
            LogicalPlan::Filter { input, predicate } => node(ctx, input).await?.filter(expr(predicate)?)?,
            LogicalPlan::Project { input, columns, .. } => {
                let exprs = columns.iter().map(|(n, e)| Ok(expr(e)?.alias(n))).collect::<Result<Vec<_>, Error>>()?;
                node(ctx, input).await?.select(exprs)?
            }
            LogicalPlan::Aggregate { input, keys, aggs, .. } => {
                let keys = keys.iter().map(|(n, e)| Ok(expr(e)?.alias(n))).collect::<Result<Vec<_>, Error>>()?;
                let aggs = aggs.iter().map(|(n, a)| Ok(agg(a)?.alias(n))).collect::<Result<Vec<_>, Error>>()?;
                node(ctx, input).await?.aggregate(keys, aggs)?
            }
            LogicalPlan::Sort { input, keys } => node(ctx, input).await?.sort(sort_exprs(keys)?)?,
            // Ballista 55 fails a stage whose sort fetches 0 rows
            // ("ShuffleWriterExec coordinator dropped"): no rows, same schema.
            LogicalPlan::TopK { input, k: 0, .. } => node(ctx, input).await?.filter(lit(false))?,
            LogicalPlan::TopK { input, keys, k } => node(ctx, input)
                .await?
                .sort(sort_exprs(keys)?)?
                .limit(0, Some(usize::try_from(*k).unwrap_or(usize::MAX)))?,
            LogicalPlan::Distinct { input } => node(ctx, input).await?.distinct()?,
            LogicalPlan::Count { input } => {
                let count = datafusion::functions_aggregate::expr_fn::count(lit(1)).alias("count");
                node(ctx, input).await?.aggregate(vec![], vec![count])?
            }
            LogicalPlan::Limit { .. } => {
                return Err(Error::not_on_cluster_because(
                    "`head` without a `sort` before it",
                    "the cluster has no input order; add a `sort` first",
                ))
            }
            LogicalPlan::Tail { .. } => return Err(Error::not_on_cluster("`tail`")),
            LogicalPlan::LimitPerGroup { .. } | LogicalPlan::TopKPerGroup { .. } => {
                return Err(Error::not_on_cluster("`head N by`"))
            }
            LogicalPlan::Sample { .. } => return Err(Error::not_on_cluster("`sample`")),
            LogicalPlan::Explode { .. } => return Err(Error::not_on_cluster("`explode`")),
            LogicalPlan::Join { .. } => return Err(Error::not_on_cluster("`join`")),
            LogicalPlan::Union { .. } => return Err(Error::not_on_cluster("`union`")),
        })
    })
}

fn sort_exprs(keys: &[SortKey]) -> Result<Vec<SortExpr>, Error> {
    // dq sorts nulls last in both directions.
    keys.iter().map(|k| Ok(expr(&k.expr)?.sort(!k.descending, false))).collect()
}

/// A scan over dq's own file list with dq's schema: DataFusion infers
/// nothing and lists no directory.
async fn scan(ctx: &SessionContext, scan: &Scan) -> Result<DataFrame, Error> {
    let spec = &scan.spec;
    if spec.reads_stdin() {
        return Err(Error::not_on_cluster("reading standard input"));
    }
    if !spec.same_columns {
        return Err(Error::not_on_cluster_because(
            format!("the glob {:?}", spec.pattern),
            "its files differ in columns or types",
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
    let schema = arrow_schema(&scan.source_schema)?;
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
            let options = CsvReadOptions::new()
                .schema(&schema)
                .has_header(csv.header)
                .delimiter(csv.delimiter)
                .quote(csv.quote.unwrap_or(b'"'))
                .newlines_in_values(true)
                .file_extension("");
            ctx.read_csv(paths, options).await?
        }
        Format::Ndjson => {
            let options = JsonReadOptions::default().schema(&schema).file_extension("");
            ctx.read_json(paths, options).await?
        }
        Format::Parquet => {
            ctx.read_parquet(paths, ParquetReadOptions::default().schema(&schema).file_extension("")).await?
        }
        Format::Lines => return Err(Error::not_on_cluster("the `lines` format (.txt, .log)")),
    };
    Ok(df)
}

fn arrow_schema(s: &Schema) -> Result<ArrowSchema, Error> {
    let fields = s
        .fields
        .iter()
        .map(|f| Ok(ArrowField::new(&f.name, arrow_type(&f.dtype)?, true)))
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(ArrowSchema::new(fields))
}
