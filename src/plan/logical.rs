//! The logical plan: a tree of relational operators over resolved,
//! type-checked expressions. Each node can report its output schema; the
//! tree prints as an indented outline for `explain`.

use std::fmt::{self, Write};

use super::expr::{fmt_column, AggExpr, Expr, Value};
use super::sources::ScanSpec;
use super::types::{DType, Field, Schema};

/// A scan of one source with what the optimizer pushed into it.
#[derive(Debug, Clone)]
pub struct Scan {
    /// What it reads (the opened source is in the query's
    /// [`super::sources::Sources`]).
    pub spec: ScanSpec,
    /// All columns the source offers.
    pub source_schema: Schema,
    /// Columns to read (`None`: all), set by projection pushdown.
    pub projection: Option<Vec<String>>,
    /// Filters pushed into the scan: evaluated on every chunk right after
    /// reading, and used to prune Parquet row groups.
    pub filters: Vec<Expr>,
}

impl Scan {
    /// The columns the scan outputs.
    pub fn schema(&self) -> Schema {
        match &self.projection {
            None => self.source_schema.clone(),
            Some(cols) => {
                // A map, not `Schema::get` per column: arrays are wide.
                let dtypes: std::collections::HashMap<&str, &DType> =
                    self.source_schema.fields.iter().map(|f| (f.name.as_str(), &f.dtype)).collect();
                Schema::new(
                    cols.iter()
                        .map(|c| Field {
                            name: c.clone(),
                            dtype: dtypes.get(c.as_str()).map_or(DType::Null, |d| (*d).clone()),
                        })
                        .collect(),
                )
            }
        }
    }
}

/// Column names for `explain`: all of them up to a dozen; beyond that the
/// first few, the last and the count (a 10,000-column array would
/// otherwise print 100 KB a line).
pub fn column_list(names: &[String]) -> String {
    const SHOWN: usize = 12;
    match names {
        [first @ .., last] if names.len() > SHOWN => {
            format!("{}, …, {last} ({} columns)", first[..SHOWN - 2].join(", "), names.len())
        }
        _ => names.join(", "),
    }
}

/// One sort key.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    /// What to sort by.
    pub expr: Expr,
    /// Descending order.
    pub descending: bool,
}

/// Window functions (the plan's own vocabulary, as [`AggFunc`] is for
/// aggregates: `graph` maps them to the kernel's).
///
/// [`AggFunc`]: super::expr::AggFunc
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(missing_docs)]
pub enum WindowFn {
    RowNumber,
    Rank,
    DenseRank,
    Lag,
    Lead,
    Sum,
    Mean,
    Min,
    Max,
    /// Non-null values.
    Count,
    /// Rows.
    CountRows,
    First,
    Last,
}

/// The rows a window aggregate covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowFrame {
    /// The whole partition.
    Partition,
    /// The partition's start to the current row's last peer.
    Peers,
    /// The current row and the n - 1 before it (`usize::MAX`: from the
    /// partition's start).
    Rows(usize),
}

/// One window function of a [`LogicalPlan::Window`].
#[derive(Debug, Clone, PartialEq)]
pub struct WindowExpr {
    /// Output column.
    pub name: String,
    /// What it computes.
    pub kind: WindowFn,
    /// Its argument.
    pub arg: Option<Expr>,
    /// `lag`/`lead` distance.
    pub offset: usize,
    /// `lag`/`lead` value past the partition's edge.
    pub default: Option<Value>,
    /// Rows an aggregate covers.
    pub frame: WindowFrame,
    /// dq text of the call, for explain.
    pub text: String,
}

/// Join kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JoinKind {
    /// Matching rows only.
    Inner,
    /// All left rows.
    Left,
    /// All right rows.
    Right,
    /// All rows of both.
    Full,
    /// Left rows with a match, left columns only.
    Semi,
    /// Left rows without a match, left columns only.
    Anti,
}

impl JoinKind {
    /// The kind's name.
    pub fn name(self) -> &'static str {
        match self {
            JoinKind::Inner => "inner",
            JoinKind::Left => "left",
            JoinKind::Right => "right",
            JoinKind::Full => "full",
            JoinKind::Semi => "semi",
            JoinKind::Anti => "anti",
        }
    }
}

/// The as-of part of a join (inner or left): each left row takes, among
/// the right rows of its keys, the one whose `right` column is nearest its
/// `left` column in `direction`.
#[derive(Debug, Clone, PartialEq)]
pub struct Asof {
    /// The left column.
    pub left: String,
    /// The right column.
    pub right: String,
    /// Which right rows may match.
    pub direction: AsofDirection,
}

/// Which right rows an as-of join may match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AsofDirection {
    /// The last one at or before the left value.
    Backward,
    /// The first one at or after it.
    Forward,
    /// The nearest either way (the earlier on a tie).
    Nearest,
}

impl AsofDirection {
    /// The direction's name.
    pub fn name(self) -> &'static str {
        match self {
            AsofDirection::Backward => "backward",
            AsofDirection::Forward => "forward",
            AsofDirection::Nearest => "nearest",
        }
    }
}

/// How many rows `sample` keeps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SampleAmount {
    /// Exactly this many (or all, if fewer).
    Rows(u64),
    /// Each row independently with this probability.
    Fraction(f64),
}

/// A logical operator tree.
#[derive(Debug, Clone)]
pub enum LogicalPlan {
    /// Read a source.
    Scan(Scan),
    /// Keep rows where the predicate is true (null counts as false).
    Filter {
        /// Input.
        input: Box<LogicalPlan>,
        /// Boolean predicate.
        predicate: Expr,
    },
    /// Compute exactly these output columns (select, derive, drop and rename all become this).
    Project {
        /// Input.
        input: Box<LogicalPlan>,
        /// Output columns in order.
        columns: Vec<(String, Expr)>,
        /// Output schema.
        schema: Schema,
    },
    /// Group and aggregate (one row when there are no keys).
    Aggregate {
        /// Input.
        input: Box<LogicalPlan>,
        /// Grouping keys.
        keys: Vec<(String, Expr)>,
        /// Aggregates.
        aggs: Vec<(String, AggExpr)>,
        /// Output schema: keys then aggregates.
        schema: Schema,
    },
    /// Full sort, nulls last, stable.
    Sort {
        /// Input.
        input: Box<LogicalPlan>,
        /// Keys, most significant first.
        keys: Vec<SortKey>,
    },
    /// The first `k` rows of the sort order (from `sort | head`).
    TopK {
        /// Input.
        input: Box<LogicalPlan>,
        /// Keys.
        keys: Vec<SortKey>,
        /// Rows to keep.
        k: u64,
    },
    /// The first `n` rows.
    Limit {
        /// Input.
        input: Box<LogicalPlan>,
        /// Rows to keep.
        n: u64,
    },
    /// The first `n` rows of each group of `by`, in input order (groups in
    /// order of first appearance).
    LimitPerGroup {
        /// Input.
        input: Box<LogicalPlan>,
        /// Rows per group.
        n: u64,
        /// Group keys.
        by: Vec<String>,
    },
    /// The first `k` rows of each group in the sort order (from `sort | head k by g`).
    TopKPerGroup {
        /// Input.
        input: Box<LogicalPlan>,
        /// Sort keys.
        keys: Vec<SortKey>,
        /// Rows per group.
        k: u64,
        /// Group keys.
        by: Vec<String>,
    },
    /// The last `n` rows.
    Tail {
        /// Input.
        input: Box<LogicalPlan>,
        /// Rows to keep.
        n: u64,
    },
    /// `n` rows from row `offset` on (`rows A:B`).
    Slice {
        /// Input.
        input: Box<LogicalPlan>,
        /// Rows skipped.
        offset: u64,
        /// Rows kept after them.
        n: u64,
    },
    /// Unique rows.
    Distinct {
        /// Input.
        input: Box<LogicalPlan>,
    },
    /// Equi-join.
    Join {
        /// Left input.
        left: Box<LogicalPlan>,
        /// Right input.
        right: Box<LogicalPlan>,
        /// (left, right) key column pairs.
        on: Vec<(String, String)>,
        /// Kind.
        kind: JoinKind,
        /// An as-of join: which right row of the same keys each left row takes.
        asof: Option<Asof>,
        /// Where each output column comes from. Names are decided once, when
        /// the join is built: pruning inputs later must not rename anything.
        columns: Vec<JoinColumn>,
        /// Output schema.
        schema: Schema,
    },
    /// Window functions: the input's columns, then one column per function
    /// computed over the rows of the same partition in `order`. Rows keep
    /// their input order while the input fits in the memory budget.
    Window {
        /// Input.
        input: Box<LogicalPlan>,
        /// Partition key columns.
        by: Vec<String>,
        /// Order within a partition.
        order: Vec<SortKey>,
        /// The functions.
        funcs: Vec<WindowExpr>,
        /// Output schema.
        schema: Schema,
    },
    /// Wide to long: one row per input row and unpivoted column.
    Unpivot {
        /// Input.
        input: Box<LogicalPlan>,
        /// Columns that repeat.
        ids: Vec<String>,
        /// Columns turned into rows.
        columns: Vec<String>,
        /// Output schema: ids, the name column, the value column.
        schema: Schema,
    },
    /// Rows of all inputs, columns unified by name.
    Union {
        /// Inputs, each already projected to the output schema.
        inputs: Vec<LogicalPlan>,
        /// Output schema.
        schema: Schema,
    },
    /// A random sample.
    Sample {
        /// Input.
        input: Box<LogicalPlan>,
        /// How much.
        amount: SampleAmount,
        /// Seed.
        seed: u64,
    },
    /// One row per piece of a string column split on a separator, or per
    /// item of a list column (`separator` is `None`).
    Explode {
        /// Input.
        input: Box<LogicalPlan>,
        /// The string column.
        column: String,
        /// The separator.
        separator: Option<String>,
    },
    /// One row, one column `count`.
    Count {
        /// Input.
        input: Box<LogicalPlan>,
    },
    /// The Gram, covariance or correlation matrix of the columns.
    Matrix {
        /// Input.
        input: Box<LogicalPlan>,
        /// Which matrix.
        matrix: crate::ops::array::Matrix,
        /// The columns (all of the input's, numeric).
        columns: Vec<String>,
        /// Output schema (the same names, floats).
        schema: Schema,
    },
    /// The rows times a small matrix read while planning (`matmul`).
    MatMul {
        /// Input.
        input: Box<LogicalPlan>,
        /// The columns multiplied (all of the input's, numeric).
        columns: Vec<String>,
        /// The matrix, row-major, `columns.len()` x `width`.
        w: std::sync::Arc<Vec<f64>>,
        /// Its number of columns.
        width: usize,
        /// Where it came from, for explain.
        path: String,
        /// Output schema (`c0` … floats).
        schema: Schema,
    },
    /// Statistics of numeric columns along an axis (`reduce`).
    Reduce {
        /// Input.
        input: Box<LogicalPlan>,
        /// The statistics, in output order.
        stats: Vec<crate::ops::array::Stat>,
        /// The axis.
        axis: crate::ops::array::Axis,
        /// The columns reduced (all of the input's, numeric).
        columns: Vec<String>,
        /// Whether every reduced column holds integers (or booleans).
        ints: bool,
        /// Output schema.
        schema: Schema,
    },
}

impl LogicalPlan {
    /// The output schema.
    pub fn schema(&self) -> Schema {
        match self {
            LogicalPlan::Scan(s) => s.schema(),
            LogicalPlan::Project { schema, .. }
            | LogicalPlan::Aggregate { schema, .. }
            | LogicalPlan::Join { schema, .. }
            | LogicalPlan::Window { schema, .. }
            | LogicalPlan::Unpivot { schema, .. }
            | LogicalPlan::Union { schema, .. }
            | LogicalPlan::Reduce { schema, .. }
            | LogicalPlan::Matrix { schema, .. }
            | LogicalPlan::MatMul { schema, .. } => schema.clone(),
            LogicalPlan::Filter { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::TopK { input, .. }
            | LogicalPlan::Limit { input, .. }
            | LogicalPlan::LimitPerGroup { input, .. }
            | LogicalPlan::TopKPerGroup { input, .. }
            | LogicalPlan::Tail { input, .. }
            | LogicalPlan::Slice { input, .. }
            | LogicalPlan::Distinct { input }
            | LogicalPlan::Sample { input, .. }
            | LogicalPlan::Explode { input, separator: Some(_), .. } => input.schema(),
            // A list's items take its place.
            LogicalPlan::Explode { input, column, separator: None } => {
                let mut schema = input.schema();
                for f in &mut schema.fields {
                    if f.name == *column {
                        if let DType::List(inner) = &f.dtype {
                            f.dtype = inner.as_ref().clone();
                        }
                    }
                }
                schema
            }
            LogicalPlan::Count { .. } => Schema::new(vec![Field { name: "count".into(), dtype: DType::Int }]),
        }
    }

    /// The node's inputs.
    pub fn inputs(&self) -> Vec<&LogicalPlan> {
        match self {
            LogicalPlan::Scan(_) => vec![],
            LogicalPlan::Join { left, right, .. } => vec![left, right],
            LogicalPlan::Union { inputs, .. } => inputs.iter().collect(),
            LogicalPlan::Filter { input, .. }
            | LogicalPlan::Project { input, .. }
            | LogicalPlan::Aggregate { input, .. }
            | LogicalPlan::Window { input, .. }
            | LogicalPlan::Unpivot { input, .. }
            | LogicalPlan::Sort { input, .. }
            | LogicalPlan::TopK { input, .. }
            | LogicalPlan::Limit { input, .. }
            | LogicalPlan::LimitPerGroup { input, .. }
            | LogicalPlan::TopKPerGroup { input, .. }
            | LogicalPlan::Tail { input, .. }
            | LogicalPlan::Slice { input, .. }
            | LogicalPlan::Distinct { input }
            | LogicalPlan::Sample { input, .. }
            | LogicalPlan::Explode { input, .. }
            | LogicalPlan::Count { input }
            | LogicalPlan::Reduce { input, .. }
            | LogicalPlan::Matrix { input, .. }
            | LogicalPlan::MatMul { input, .. } => vec![input],
        }
    }

    /// One line describing this node (without its inputs).
    pub fn describe(&self) -> String {
        let mut s = String::new();
        let _ = self.describe_into(&mut s);
        s
    }

    fn describe_into(&self, s: &mut String) -> fmt::Result {
        match self {
            LogicalPlan::Scan(scan) => {
                write!(s, "Scan {:?}", scan.spec.pattern)?;
                match &scan.projection {
                    Some(cols) => write!(s, " columns=[{}]", column_list(cols))?,
                    None => write!(s, " columns=*")?,
                }
                if !scan.filters.is_empty() {
                    let f: Vec<String> = scan.filters.iter().map(|e| e.to_string()).collect();
                    write!(s, " filters=[{}]", f.join(", "))?;
                }
            }
            LogicalPlan::Filter { predicate, .. } => write!(s, "Filter {predicate}")?,
            LogicalPlan::Project { columns, .. } => {
                write!(s, "Project ")?;
                for (i, (name, e)) in columns.iter().enumerate() {
                    if i > 0 {
                        write!(s, ", ")?;
                    }
                    if matches!(e, Expr::Column(c) if c == name) {
                        fmt_column(s, name)?;
                    } else {
                        fmt_column(s, name)?;
                        write!(s, " = {e}")?;
                    }
                }
            }
            LogicalPlan::Aggregate { keys, aggs, .. } => {
                write!(s, "Aggregate ")?;
                let a: Vec<String> = aggs.iter().map(|(n, a)| format!("{n} = {a}")).collect();
                write!(s, "{}", a.join(", "))?;
                if !keys.is_empty() {
                    let k: Vec<String> = keys
                        .iter()
                        .map(
                            |(n, e)| {
                                if matches!(e, Expr::Column(c) if c == n) {
                                    n.clone()
                                } else {
                                    format!("{n} = {e}")
                                }
                            },
                        )
                        .collect();
                    write!(s, " by {}", k.join(", "))?;
                }
            }
            LogicalPlan::Window { by, order, funcs, .. } => {
                let f: Vec<String> = funcs.iter().map(|w| format!("{} = {}", w.name, w.text)).collect();
                write!(s, "Window {}", f.join(", "))?;
                if !by.is_empty() {
                    write!(s, " by {}", by.join(", "))?;
                }
                if !order.is_empty() {
                    write!(s, " sort {}", sort_keys(order))?;
                }
            }
            LogicalPlan::Unpivot { columns, schema, .. } => {
                let names = schema.names();
                let (name, value) = (&names[names.len() - 2], &names[names.len() - 1]);
                write!(s, "Unpivot {} into {name}, {value}", column_list(columns))?
            }
            LogicalPlan::Sort { keys, .. } => write!(s, "Sort {}", sort_keys(keys))?,
            LogicalPlan::TopK { keys, k, .. } => write!(s, "TopK k={k} {}", sort_keys(keys))?,
            LogicalPlan::Slice { offset, n, .. } => write!(s, "Slice rows {offset}:{}", offset + n)?,
            LogicalPlan::Limit { n, .. } => write!(s, "Limit {n}")?,
            LogicalPlan::LimitPerGroup { n, by, .. } => write!(s, "LimitPerGroup {n} by {}", by.join(", "))?,
            LogicalPlan::TopKPerGroup { keys, k, by, .. } => {
                write!(s, "TopKPerGroup k={k} {} by {}", sort_keys(keys), by.join(", "))?
            }
            LogicalPlan::Tail { n, .. } => write!(s, "Tail {n}")?,
            LogicalPlan::Distinct { .. } => write!(s, "Distinct")?,
            LogicalPlan::Join { on, kind, asof, .. } => {
                let k: Vec<String> =
                    on.iter().map(|(l, r)| if l == r { l.clone() } else { format!("{l} = {r}") }).collect();
                write!(s, "Join {} on {}", kind.name(), k.join(", "))?;
                if let Some(a) = asof {
                    write!(s, " asof {} = {} {}", a.left, a.right, a.direction.name())?
                }
            }
            LogicalPlan::Union { inputs, .. } => write!(s, "Union of {}", inputs.len())?,
            LogicalPlan::Sample { amount, seed, .. } => match amount {
                SampleAmount::Rows(n) => write!(s, "Sample rows={n} seed={seed}")?,
                SampleAmount::Fraction(f) => write!(s, "Sample fraction={f} seed={seed}")?,
            },
            LogicalPlan::Count { .. } => write!(s, "Count")?,
            LogicalPlan::Matrix { matrix, columns, .. } => {
                write!(s, "{} columns=[{}]", matrix.name(), column_list(columns))?
            }
            LogicalPlan::MatMul { path, columns, width, .. } => {
                write!(s, "MatMul {path:?} ({} x {width})", columns.len())?
            }
            LogicalPlan::Reduce { stats, axis, columns, .. } => {
                let stats: Vec<String> = stats.iter().map(|s| s.name()).collect();
                write!(s, "Reduce {} axis={axis:?} columns=[{}]", stats.join(", "), column_list(columns))?
            }
            LogicalPlan::Explode { column, separator: Some(separator), .. } => {
                write!(s, "Explode {column} on {separator:?}")?
            }
            LogicalPlan::Explode { column, separator: None, .. } => write!(s, "Explode {column}")?,
        }
        Ok(())
    }

    /// The plan as an indented outline, one node a line.
    pub fn display_tree(&self) -> String {
        let mut out = String::new();
        self.tree_into(&mut out, 0);
        out
    }

    fn tree_into(&self, out: &mut String, depth: usize) {
        out.push_str(&"  ".repeat(depth));
        out.push_str(&self.describe());
        out.push('\n');
        for input in self.inputs() {
            input.tree_into(out, depth + 1);
        }
    }
}

fn sort_keys(keys: &[SortKey]) -> String {
    keys.iter().map(|k| format!("{}{}", k.expr, if k.descending { " desc" } else { "" })).collect::<Vec<_>>().join(", ")
}

/// Where an output column of a join comes from.
#[derive(Debug, Clone, PartialEq)]
pub struct JoinColumn {
    /// From the left input (else the right).
    pub from_left: bool,
    /// Its name in that input.
    pub source: String,
    /// Its name in the output.
    pub name: String,
    /// Its type.
    pub dtype: DType,
}

/// The output columns of a join: all left columns (keys keep the left
/// names), then the right non-key columns, suffixed `_right` while their
/// name is taken. Semi and anti joins output the left columns only.
/// Columns of the right side whose names are taken get `suffix` (then a
/// number from 2, should that be taken too).
pub fn join_columns(
    left: &Schema,
    right: &Schema,
    on: &[(String, String)],
    kind: JoinKind,
    suffix: &str,
) -> Vec<JoinColumn> {
    let mut out: Vec<JoinColumn> = left
        .fields
        .iter()
        .map(|f| {
            // Right and full joins take a key from either side: its type is the common one.
            let right_key = on.iter().find(|(l, _)| *l == f.name).and_then(|(_, r)| right.get(r));
            let dtype = match (kind, right_key) {
                (JoinKind::Right | JoinKind::Full, Some(rt)) => f.dtype.unify(rt).unwrap_or_else(|| f.dtype.clone()),
                _ => f.dtype.clone(),
            };
            JoinColumn { from_left: true, source: f.name.clone(), name: f.name.clone(), dtype }
        })
        .collect();
    if matches!(kind, JoinKind::Semi | JoinKind::Anti) {
        return out;
    }
    for f in &right.fields {
        if on.iter().any(|(_, r)| *r == f.name) {
            continue;
        }
        let taken = |name: &str| out.iter().any(|c| c.name == name) || left.contains(name);
        let mut name = f.name.clone();
        if taken(&name) {
            name = format!("{}{suffix}", f.name);
            let mut n = 2;
            while taken(&name) {
                name = format!("{}{suffix}{n}", f.name);
                n += 1;
            }
        }
        out.push(JoinColumn { from_left: false, source: f.name.clone(), name, dtype: f.dtype.clone() });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::column_list;

    #[test]
    fn long_column_lists_are_elided_with_the_count() {
        let names: Vec<String> = (0..10_000).map(|i| format!("c{i}")).collect();
        assert_eq!(column_list(&names[..3]), "c0, c1, c2");
        assert_eq!(column_list(&names[..12]), names[..12].join(", "));
        assert_eq!(column_list(&names), "c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, …, c9999 (10000 columns)");
    }
}
