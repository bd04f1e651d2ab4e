//! `graph`: the logical plan → a task graph of stages.
//!
//! Input: an optimized [`LogicalPlan`]. Output: a [`TaskGraph`]: stages in
//! dependency order, the last one producing the result. A stage reads its
//! input (a scan's chunks, or the output partitions of earlier stages),
//! pushes every chunk through its fused [`ChunkOp`]s and into one [`Sink`]:
//!
//! ```text
//!  stage 0: scan chunks ─▶ filter ─▶ project ─▶ hash_aggregate(partial) ┐
//!                                                       combine ◀───────┘
//!  stage 1: stage 0 partitions ─▶ top_k(partial) ─▶ combine ─▶ result
//! ```
//!
//! A join's right side is a stage of its own whose output is handed to the
//! probing stage as a side input. The graph holds no data.

mod display;
mod lower_expr;

use std::sync::Arc;

use polars::prelude::{DataType, JoinType, Schema as PlSchema};

use crate::io::{self, KeyDictionary, Source, StatsFilter};
use crate::ops::array::Axis;
use crate::ops::{self, AggKind, AggSpec, ChunkOp, Sink, SortSpec};
use crate::plan::expr::{AggExpr, AggFunc};
use crate::plan::expr::{BinOp, Expr, Value};
use crate::plan::logical::{
    Asof, AsofDirection, JoinColumn, JoinKind, LogicalPlan, SampleAmount, WindowFn, WindowFrame,
};
use crate::plan::types::{DType, Schema};
use crate::plan::Sources;

pub use display::{explain_stages, explain_text, human_bytes, to_dot};
pub use lower_expr::lower as lower_expr;

/// Index of a stage in [`TaskGraph::stages`].
pub type StageId = usize;

/// Where a stage's chunks come from.
pub enum StageInput {
    /// Chunks of a source.
    Scan(Box<ScanInput>),
    /// The output partitions of these stages, in order.
    Stages(Vec<StageId>),
}

/// A scan as the graph sees it.
pub struct ScanInput {
    /// The source.
    pub source: Arc<Source>,
    /// Columns to read (`None`: all).
    pub projection: Option<Vec<String>>,
    /// Conjuncts usable for Parquet row-group pruning.
    pub stats_filters: Vec<StatsFilter>,
    /// The pushed filter, for readers that decode only the rows it keeps.
    pub row_filter: Option<io::RowFilter>,
    /// String columns that may be read as dictionary ids (group keys the
    /// aggregation decodes; see [`io::KeyDictionary`]).
    pub dictionaries: Vec<(String, Arc<KeyDictionary>)>,
}

/// One stage: input → fused chunk ops → sink.
pub struct Stage {
    /// Its id.
    pub id: StageId,
    /// Input chunks.
    pub input: StageInput,
    /// Stages whose whole output each chunk task can see (join build sides).
    pub side_inputs: Vec<StageId>,
    /// Streaming operators applied to each chunk, in order.
    pub ops: Vec<Box<dyn ChunkOp>>,
    /// The blocking operator that ends the stage.
    pub sink: Box<dyn Sink>,
    /// Schema of the stage's input chunks (used to make an empty chunk when
    /// the input has none, so that e.g. a global count still yields 0).
    pub input_schema: PlSchema,
}

/// Stages in dependency order; the last is the result.
pub struct TaskGraph {
    /// The stages.
    pub stages: Vec<Stage>,
    /// Output column names, in order.
    pub output: Vec<String>,
}

/// Builds the task graph of an optimized plan.
pub fn build(plan: &LogicalPlan, sources: &Sources) -> TaskGraph {
    let mut b = Builder { stages: Vec::new(), order_free: false, dictionaries: Vec::new(), top_bound: None, sources };
    b.stage_of(plan);
    TaskGraph { stages: b.stages, output: plan.schema().names() }
}

/// A stage under construction.
struct Open {
    input: StageInput,
    side_inputs: Vec<StageId>,
    ops: Vec<Box<dyn ChunkOp>>,
    input_schema: PlSchema,
}

struct Builder<'a> {
    stages: Vec<Stage>,
    /// Whether the rows being lowered may come out in any order (a parent
    /// aggregates them, or keeps only distinct rows): only then may an inner
    /// join stream its right side, which gives the right side's order.
    order_free: bool,
    /// Key dictionaries for the scan being lowered under an aggregate.
    dictionaries: Vec<(String, Arc<KeyDictionary>)>,
    /// The bound of the top-k the scan being lowered feeds.
    top_bound: Option<Arc<io::TopBound>>,
    /// The opened sources the plan's scans name.
    sources: &'a Sources,
}

fn polars_schema(s: &Schema) -> PlSchema {
    s.fields.iter().map(|f| polars::prelude::Field::new(f.name.as_str().into(), f.dtype.to_polars())).collect()
}

/// The largest k whose top-k bounds its scan.
const MAX_BOUNDED_K: usize = 1 << 16;

/// The bound a top-k may push into its scan: when its first key is a
/// numeric, date or time column of a Parquet scan under nothing but
/// filters (which keep the key as it is read).
fn top_bound(input: &LogicalPlan, keys: &[crate::plan::logical::SortKey], k: u64) -> Option<Arc<io::TopBound>> {
    let first = keys.first()?;
    let Expr::Column(column) = &first.expr else { return None };
    let mut node = input;
    let scan = loop {
        match node {
            LogicalPlan::Filter { input, .. } => node = input,
            LogicalPlan::Scan(scan) if scan.spec.format == io::Format::Parquet => break scan,
            _ => return None,
        }
    };
    let ordered = matches!(
        scan.schema().get(column),
        Some(DType::Int | DType::Float | DType::Date | DType::Datetime | DType::Duration)
    );
    // Each chunk's best keys are merged into the k best so far: cheap for
    // a few, a sort of millions per chunk for `head 5000000` (which the
    // bound would barely prune anyway).
    let k = usize::try_from(k).ok().filter(|&k| k > 0 && k <= MAX_BOUNDED_K)?;
    ordered.then(|| Arc::new(io::TopBound::new(column.clone(), first.descending, k)))
}

/// The group keys of an aggregate that may be read as dictionary ids: plain
/// string columns of a Parquet scan, under nothing but filters, that no
/// filter and no aggregate argument reads (those see the ids, not the
/// strings). Holistic aggregates gather the ids (4 bytes a row instead of
/// a 16-byte view) and decode only the groups' keys.
fn dictionary_keys(input: &LogicalPlan, keys: &[(String, Expr)], aggs: &[(String, AggExpr)]) -> Vec<String> {
    let plain = |(name, e): &&(String, Expr)| matches!(e, Expr::Column(c) if c == name);
    let mut read: Vec<String> =
        aggs.iter().flat_map(|(_, a)| a.arg.iter().chain(&a.arg2)).flat_map(Expr::columns).collect();
    // A key computed from a column (`by k2 = k`, `by lower(k)`) sees its ids.
    read.extend(keys.iter().filter(|k| !plain(k)).flat_map(|(_, e)| e.columns()));
    let mut node = input;
    let scan = loop {
        match node {
            LogicalPlan::Filter { input, predicate } => {
                read.extend(predicate.columns());
                node = input;
            }
            LogicalPlan::Scan(scan) if scan.spec.format == io::Format::Parquet => break scan,
            _ => return vec![],
        }
    };
    read.extend(scan.filters.iter().flat_map(Expr::columns));
    let schema = scan.schema();
    keys.iter()
        .filter(plain)
        .filter(|(name, _)| schema.get(name) == Some(&DType::Str) && !read.contains(name))
        .map(|(name, _)| name.clone())
        .collect()
}

/// The local kernel's aggregate for the plan's.
fn agg_kind(f: AggFunc) -> AggKind {
    match f {
        AggFunc::CountRows => AggKind::CountRows,
        AggFunc::Count => AggKind::Count,
        AggFunc::Sum => AggKind::Sum,
        AggFunc::Mean => AggKind::Mean,
        AggFunc::Min => AggKind::Min,
        AggFunc::Max => AggKind::Max,
        AggFunc::Std => AggKind::Std,
        AggFunc::Var => AggKind::Var,
        AggFunc::StdPop => AggKind::StdPop,
        AggFunc::VarPop => AggKind::VarPop,
        AggFunc::Median => AggKind::Median,
        AggFunc::Quantile => AggKind::Quantile,
        AggFunc::NUnique => AggKind::NUnique,
        AggFunc::ApproxNUnique => AggKind::ApproxNUnique,
        AggFunc::First => AggKind::First,
        AggFunc::Last => AggKind::Last,
        AggFunc::Corr => AggKind::Corr,
        AggFunc::Cov => AggKind::Cov,
        AggFunc::StringAgg => AggKind::StringAgg,
        AggFunc::List => AggKind::List,
        AggFunc::Mode => AggKind::Mode,
    }
}

/// The kernel's as-of settings: the right column under its output name
/// (the right side is renamed before the join), both compared as one type.
fn asof_spec(a: &Asof, ls: &Schema, rs: &Schema, cols: &[JoinColumn]) -> ops::AsofSpec {
    let lt = ls.get(&a.left).cloned().unwrap_or(DType::Null);
    let rt = rs.get(&a.right).cloned().unwrap_or(DType::Null);
    let right = cols.iter().find(|c| !c.from_left && c.source == a.right).map_or(a.right.clone(), |c| c.name.clone());
    let direction = match a.direction {
        AsofDirection::Backward => ops::AsofDirection::Backward,
        AsofDirection::Forward => ops::AsofDirection::Forward,
        AsofDirection::Nearest => ops::AsofDirection::Nearest,
    };
    ops::AsofSpec { left: a.left.clone(), right, dtype: lt.unify(&rt).unwrap_or(lt).to_polars(), direction }
}

fn window_kind(f: WindowFn) -> ops::WindowKind {
    use ops::WindowKind as K;
    match f {
        WindowFn::RowNumber => K::RowNumber,
        WindowFn::Rank => K::Rank,
        WindowFn::DenseRank => K::DenseRank,
        WindowFn::Lag => K::Lag,
        WindowFn::Lead => K::Lead,
        WindowFn::Sum => K::Sum,
        WindowFn::Mean => K::Mean,
        WindowFn::Min => K::Min,
        WindowFn::Max => K::Max,
        WindowFn::Count => K::Count,
        WindowFn::CountRows => K::CountRows,
        WindowFn::First => K::First,
        WindowFn::Last => K::Last,
    }
}

fn sort_spec(keys: &[crate::plan::logical::SortKey]) -> SortSpec {
    SortSpec {
        exprs: keys.iter().map(|k| lower_expr::lower(&k.expr)).collect(),
        descending: keys.iter().map(|k| k.descending).collect(),
        labels: keys.iter().map(|k| k.expr.to_string()).collect(),
    }
}

impl Builder<'_> {
    fn close(&mut self, open: Open, sink: Box<dyn Sink>) -> StageId {
        let id = self.stages.len();
        self.stages.push(Stage {
            id,
            input: open.input,
            side_inputs: open.side_inputs,
            ops: open.ops,
            sink,
            input_schema: open.input_schema,
        });
        id
    }

    /// Closes `plan` into a stage and opens a new one reading its output.
    fn after(&mut self, plan: &LogicalPlan, sink: Box<dyn Sink>, out_schema: &Schema) -> Open {
        let open = self.lower(plan);
        let id = self.close(open, sink);
        Open {
            input: StageInput::Stages(vec![id]),
            side_inputs: vec![],
            ops: vec![],
            input_schema: polars_schema(out_schema),
        }
    }

    /// A finished stage that outputs `plan`'s rows.
    fn stage_of(&mut self, plan: &LogicalPlan) -> StageId {
        let open = self.lower(plan);
        if let (StageInput::Stages(ids), true, true) = (&open.input, open.ops.is_empty(), open.side_inputs.is_empty()) {
            if ids.len() == 1 {
                return ids[0];
            }
        }
        self.close(open, Box::new(ops::Collect))
    }

    fn lower(&mut self, plan: &LogicalPlan) -> Open {
        let inherited = self.order_free;
        self.order_free = match plan {
            LogicalPlan::Aggregate { .. }
            | LogicalPlan::Distinct { .. }
            | LogicalPlan::Count { .. }
            | LogicalPlan::Reduce { axis: Axis::Columns | Axis::All, .. }
            | LogicalPlan::Matrix { .. }
            | LogicalPlan::Sample { amount: SampleAmount::Rows(_), .. } => true,
            LogicalPlan::Filter { .. }
            | LogicalPlan::Project { .. }
            | LogicalPlan::Explode { .. }
            | LogicalPlan::Unpivot { .. }
            | LogicalPlan::Reduce { .. }
            | LogicalPlan::MatMul { .. }
            | LogicalPlan::Sample { .. }
            | LogicalPlan::Join { .. } => inherited,
            _ => false,
        };
        let open = self.lower_node(plan);
        self.order_free = inherited;
        open
    }

    fn lower_node(&mut self, plan: &LogicalPlan) -> Open {
        let schema = plan.schema();
        match plan {
            LogicalPlan::Scan(s) => {
                let mut ops: Vec<Box<dyn ChunkOp>> = Vec::new();
                let mut row_filter = None;
                let conjuncts = s.filters.iter().flat_map(|f| f.conjuncts()).cloned().collect();
                let mut steps = filter_steps(conjuncts).into_iter();
                // Only the first step is given to the reader: a later one
                // may fail on a row the first drops, so it runs after it.
                if let Some(pred) = steps.next() {
                    let lowered = lower_expr::lower(&pred);
                    // A filter that reads no column (`filter false`) has
                    // nothing to decode first.
                    let columns = pred.columns();
                    if !columns.is_empty() {
                        row_filter = Some(io::RowFilter { expr: Some(lowered.clone()), columns, bound: None });
                    }
                    ops.push(Box::new(ops::Filter::new(lowered, pred.to_string())));
                }
                ops.extend(steps.map(filter_op));
                if let Some(bound) = self.top_bound.take() {
                    let filter = row_filter.get_or_insert(io::RowFilter { expr: None, columns: vec![], bound: None });
                    if !filter.columns.contains(&bound.column) {
                        filter.columns.push(bound.column.clone());
                    }
                    filter.bound = Some(bound);
                }
                let stats_filters = s.filters.iter().flat_map(|f| f.conjuncts()).filter_map(stats_filter).collect();
                Open {
                    input: StageInput::Scan(Box::new(ScanInput {
                        source: self.sources.get(&s.spec).clone(),
                        projection: s.projection.clone(),
                        stats_filters,
                        row_filter,
                        dictionaries: std::mem::take(&mut self.dictionaries),
                    })),
                    side_inputs: vec![],
                    ops,
                    input_schema: polars_schema(&schema),
                }
            }
            LogicalPlan::Filter { input, predicate } => {
                let mut open = self.lower(input);
                let conjuncts = predicate.conjuncts().into_iter().cloned().collect();
                open.ops.extend(filter_steps(conjuncts).into_iter().map(filter_op));
                open
            }
            LogicalPlan::Project { input, columns, .. } => {
                let mut open = self.lower(input);
                let exprs = columns.iter().map(|(n, e)| lower_expr::lower(e).alias(n.as_str())).collect();
                let label = plan.describe().trim_start_matches("Project ").to_string();
                open.ops.push(Box::new(ops::Project::new(exprs, label)));
                open
            }
            LogicalPlan::Aggregate { input, keys, aggs, schema } => {
                let lowered_keys = keys.iter().map(|(n, e)| (n.clone(), lower_expr::lower(e))).collect();
                let lowered_aggs = aggs
                    .iter()
                    .map(|(name, a)| AggSpec {
                        name: name.clone(),
                        kind: agg_kind(a.func),
                        arg: a.arg.as_ref().map(lower_expr::lower),
                        arg2: a.arg2.as_ref().map(lower_expr::lower),
                        quantile: a.quantile.unwrap_or(0.5),
                        separator: a.separator.clone().unwrap_or_default(),
                        dtype: schema.get(name).map_or(DataType::Float64, |t| t.to_polars()),
                        label: a.to_string(),
                    })
                    .collect();
                let repeats = if keys.len() == 1 { KeyDictionary::ONE_KEY } else { KeyDictionary::SEVERAL_KEYS };
                let dictionaries: Vec<_> = dictionary_keys(input, keys, aggs)
                    .into_iter()
                    .map(|k| (k, Arc::new(KeyDictionary::new(repeats))))
                    .collect();
                let sink = ops::HashAggregate::new(lowered_keys, lowered_aggs).with_dictionaries(dictionaries.clone());
                // Taken by the scan under `input` (dictionary_keys found one).
                self.dictionaries = dictionaries;
                let open = self.after(input, Box::new(sink), schema);
                self.dictionaries.clear();
                open
            }
            LogicalPlan::Window { input, by, order, funcs, schema } => {
                let funcs = funcs
                    .iter()
                    .map(|f| ops::WindowFunc {
                        name: f.name.clone(),
                        kind: window_kind(f.kind),
                        arg: f.arg.as_ref().map(lower_expr::lower),
                        offset: f.offset,
                        default: f.default.as_ref().map(lower_expr::value),
                        frame: match f.frame {
                            WindowFrame::Partition => ops::Frame::Partition,
                            WindowFrame::Peers => ops::Frame::Peers,
                            WindowFrame::Rows(n) => ops::Frame::Rows(n),
                        },
                        dtype: schema.get(&f.name).map_or(DataType::Null, |t| t.to_polars()),
                    })
                    .collect();
                let label = plan.describe().trim_start_matches("Window ").to_string();
                let sink = ops::Window { by: by.clone(), order: sort_spec(order), funcs, label };
                self.after(input, Box::new(sink), schema)
            }
            LogicalPlan::Sort { input, keys } => self.after(input, Box::new(ops::Sort(sort_spec(keys))), &schema),
            LogicalPlan::TopK { input, keys, k } => {
                let bound = top_bound(input, keys, *k);
                let sink = ops::TopK { spec: sort_spec(keys), k: *k, bound: bound.clone() };
                // Taken by the scan under `input` (top_bound found one).
                self.top_bound = bound;
                let open = self.after(input, Box::new(sink), &schema);
                self.top_bound = None;
                open
            }
            LogicalPlan::Limit { input, n } => self.after(input, Box::new(ops::Head(*n)), &schema),
            LogicalPlan::LimitPerGroup { input, n, by } => {
                let sink = ops::HeadPerGroup { n: *n, by: by.clone(), spec: None, columns: schema.names() };
                self.after(input, Box::new(sink), &schema)
            }
            LogicalPlan::TopKPerGroup { input, keys, k, by } => {
                let sink =
                    ops::HeadPerGroup { n: *k, by: by.clone(), spec: Some(sort_spec(keys)), columns: schema.names() };
                self.after(input, Box::new(sink), &schema)
            }
            LogicalPlan::Tail { input, n } => self.after(input, Box::new(ops::Tail(*n)), &schema),
            LogicalPlan::Slice { input, offset, n } => {
                self.after(input, Box::new(ops::Slice { offset: *offset, n: *n }), &schema)
            }
            LogicalPlan::Distinct { input } => self.after(input, Box::new(ops::Distinct::default()), &schema),
            LogicalPlan::Count { input } => self.after(input, Box::new(ops::Count), &schema),
            LogicalPlan::Matrix { input, matrix, columns, .. } => {
                let sink = ops::array::MatrixSink { matrix: *matrix, columns: columns.clone() };
                self.after(input, Box::new(sink), &schema)
            }
            LogicalPlan::MatMul { input, columns, w, width, .. } => {
                let mut open = self.lower(input);
                open.ops.push(Box::new(ops::array::MatMul { columns: columns.clone(), w: w.clone(), width: *width }));
                open
            }
            LogicalPlan::Reduce { input, stats, axis: Axis::Rows, columns, ints, .. } => {
                let mut open = self.lower(input);
                open.ops.push(Box::new(ops::array::RowReduce {
                    stats: stats.clone(),
                    columns: columns.clone(),
                    ints: *ints,
                }));
                open
            }
            LogicalPlan::Reduce { input, stats, axis, columns, ints, .. } => {
                let sink = ops::array::ColumnReduce {
                    stats: stats.clone(),
                    columns: columns.clone(),
                    axis: *axis,
                    ints: *ints,
                };
                self.after(input, Box::new(sink), &schema)
            }
            LogicalPlan::Sample { input, amount: SampleAmount::Rows(n), seed } => {
                self.after(input, Box::new(ops::SampleRows { n: *n, seed: *seed }), &schema)
            }
            LogicalPlan::Sample { input, amount: SampleAmount::Fraction(f), seed } => {
                let mut open = self.lower(input);
                open.ops.push(Box::new(ops::SampleFraction { fraction: *f, seed: *seed }));
                open
            }
            LogicalPlan::Unpivot { input, ids, columns, schema } => {
                let mut open = self.lower(input);
                let names = schema.names();
                let value = &schema.fields[names.len() - 1];
                open.ops.push(Box::new(ops::Unpivot {
                    ids: ids.clone(),
                    columns: columns.clone(),
                    name: names[names.len() - 2].clone(),
                    value: value.name.clone(),
                    dtype: value.dtype.to_polars(),
                }));
                open
            }
            LogicalPlan::Explode { input, column, separator } => {
                let mut open = self.lower(input);
                open.ops.push(Box::new(ops::Explode { column: column.clone(), separator: separator.clone() }));
                open
            }
            LogicalPlan::Union { inputs, .. } => {
                let ids = inputs.iter().map(|i| self.stage_of(i)).collect();
                Open {
                    input: StageInput::Stages(ids),
                    side_inputs: vec![],
                    ops: vec![],
                    input_schema: polars_schema(&schema),
                }
            }
            LogicalPlan::Join { left, right, on, kind, asof, columns, schema } => {
                self.join(left, right, on, (*kind, asof.as_ref()), columns, schema)
            }
        }
    }

    fn join(
        &mut self,
        left: &LogicalPlan,
        right: &LogicalPlan,
        on: &[(String, String)],
        (kind, asof): (JoinKind, Option<&Asof>),
        cols: &[JoinColumn],
        schema: &Schema,
    ) -> Open {
        let (ls, rs) = (left.schema(), right.schema());
        // The right side's keys are renamed to the left key names and its
        // other columns to their output names, so the join never renames.
        let mut renames: Vec<polars::prelude::Expr> =
            on.iter().map(|(l, r)| polars::prelude::col(r.as_str()).alias(l.as_str())).collect();
        renames.extend(
            cols.iter()
                .filter(|c| !c.from_left)
                .map(|c| polars::prelude::col(c.source.as_str()).alias(c.name.as_str())),
        );
        let rename_right =
            || Box::new(ops::Project::new(renames.clone(), "join: rename right keys and columns".into()));

        let key_types = on
            .iter()
            .map(|(l, r)| {
                let lt = ls.get(l).cloned().unwrap_or(DType::Null);
                let rt = rs.get(r).cloned().unwrap_or(DType::Null);
                lt.unify(&rt).unwrap_or(lt).to_polars()
            })
            .collect();
        // An inner join is symmetric: broadcast whichever side is clearly
        // smaller (known sizes only), and stream the other.
        // That gives the order of the right side, so only where order is free.
        let swap = kind == JoinKind::Inner
            && asof.is_none()
            && self.order_free
            && matches!((estimated_bytes(left), estimated_bytes(right)), (Some(l), Some(r)) if l.saturating_mul(4) < r);
        if swap {
            let build = self.lower(left);
            let build_id = self.close(build, Box::new(ops::Collect));
            let mut open = self.lower(right);
            open.ops.push(rename_right());
            let spec = ops::JoinSpec {
                side: open.side_inputs.len(),
                keys: on.iter().map(|(l, _)| l.clone()).collect(),
                key_types,
                how: JoinType::Inner,
                output: schema.names(),
                label: "inner (left side is smaller: built once, right side streamed)".to_string(),
                asof: None,
            };
            open.side_inputs.push(build_id);
            open.ops.push(Box::new(ops::BroadcastJoin::new(spec)));
            return open;
        }
        let mut build = self.lower(right);
        build.ops.push(rename_right());
        let build_id = self.close(build, Box::new(ops::Collect));
        let how = match kind {
            JoinKind::Inner => JoinType::Inner,
            JoinKind::Left => JoinType::Left,
            JoinKind::Right => JoinType::Right,
            JoinKind::Full => JoinType::Full,
            JoinKind::Semi => JoinType::Semi,
            JoinKind::Anti => JoinType::Anti,
        };
        let mut open = self.lower(left);
        let spec = ops::JoinSpec {
            side: open.side_inputs.len(),
            keys: on.iter().map(|(l, _)| l.clone()).collect(),
            key_types,
            how,
            output: schema.names(),
            label: if asof.is_some() { format!("{} as-of", kind.name()) } else { kind.name().to_string() },
            asof: asof.map(|a| asof_spec(a, &ls, &rs, cols)),
        };
        open.side_inputs.push(build_id);
        match kind {
            JoinKind::Right | JoinKind::Full => {
                let id = self.close(open, Box::new(ops::GatherJoin(spec)));
                Open {
                    input: StageInput::Stages(vec![id]),
                    side_inputs: vec![],
                    ops: vec![],
                    input_schema: polars_schema(schema),
                }
            }
            _ => {
                open.ops.push(Box::new(ops::BroadcastJoin::new(spec)));
                open
            }
        }
    }
}

/// Bytes a plan will read, when known and not reduced to a bounded size:
/// scans count their files, `head`/`tail`/top-k/`count` are small, and
/// aggregations are unknown (they can be as large as their input).
fn estimated_bytes(plan: &LogicalPlan) -> Option<u64> {
    match plan {
        LogicalPlan::Scan(s) => Some(s.spec.total_bytes()),
        LogicalPlan::Limit { .. }
        | LogicalPlan::Tail { .. }
        | LogicalPlan::Slice { .. }
        | LogicalPlan::TopK { .. }
        | LogicalPlan::Count { .. } => Some(0),
        LogicalPlan::LimitPerGroup { .. } | LogicalPlan::TopKPerGroup { .. } => None,
        // One row, or a k x k matrix: small.
        LogicalPlan::Aggregate { keys, .. } if keys.is_empty() => Some(0),
        LogicalPlan::Reduce { axis: ops::array::Axis::Columns | ops::array::Axis::All, .. }
        | LogicalPlan::Matrix { .. } => Some(0),
        LogicalPlan::Aggregate { .. } | LogicalPlan::Distinct { .. } => None,
        LogicalPlan::Join { left, right, .. } => Some(estimated_bytes(left)?.max(estimated_bytes(right)?)),
        LogicalPlan::Union { inputs, .. } => inputs.iter().map(estimated_bytes).sum(),
        other => other.inputs().first().and_then(|i| estimated_bytes(i)),
    }
}

/// Groups a filter's conjuncts, in pipeline order, into steps applied one
/// after another. A conjunct that may fail (`Expr::may_fail`) starts a new
/// step, so it is only evaluated on the rows the conjuncts before it kept:
/// `filter x < 1000 | filter x * x > 5` must not overflow on a row the
/// first filter drops, although predicate pushdown merged both into the
/// scan.
fn filter_steps(conjuncts: Vec<Expr>) -> Vec<Expr> {
    let mut steps: Vec<Expr> = Vec::new();
    for c in conjuncts {
        match steps.pop() {
            Some(step) if !c.may_fail() => steps.push(step.and(c)),
            Some(step) => steps.extend([step, c]),
            None => steps.push(c),
        }
    }
    steps
}

fn filter_op(step: Expr) -> Box<dyn ChunkOp> {
    Box::new(ops::Filter::new(lower_expr::lower(&step), step.to_string()))
}

/// `column op literal` (either way round) as a statistics filter.
fn stats_filter(e: &Expr) -> Option<StatsFilter> {
    let Expr::Binary { op, left, right } = e else { return None };
    let (column, value, op) = match (&**left, &**right) {
        (Expr::Column(c), Expr::Literal(v)) => (c, v, *op),
        (Expr::Literal(v), Expr::Column(c)) => (c, v, flip(*op)?),
        _ => return None,
    };
    let op = match op {
        BinOp::Eq => io::StatsOp::Eq,
        BinOp::Lt => io::StatsOp::Lt,
        BinOp::LtEq => io::StatsOp::LtEq,
        BinOp::Gt => io::StatsOp::Gt,
        BinOp::GtEq => io::StatsOp::GtEq,
        _ => return None,
    };
    let value = match value {
        Value::Int(i) => io::StatValue::Int(*i),
        Value::Float(f) => io::StatValue::Float(*f),
        Value::Str(s) => io::StatValue::Str(s.clone()),
        Value::Date(d) => io::StatValue::Int(*d as i64),
        _ => return None,
    };
    Some(StatsFilter { column: column.clone(), op, value })
}

fn flip(op: BinOp) -> Option<BinOp> {
    Some(match op {
        BinOp::Eq => BinOp::Eq,
        BinOp::Lt => BinOp::Gt,
        BinOp::LtEq => BinOp::GtEq,
        BinOp::Gt => BinOp::Lt,
        BinOp::GtEq => BinOp::LtEq,
        _ => return None,
    })
}

/// The polars schema of a plan's output (used for empty results).
pub fn output_schema(plan: &LogicalPlan) -> PlSchema {
    polars_schema(&plan.schema())
}
