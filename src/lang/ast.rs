//! The syntax tree of a dq program. Every node carries the [`Span`] of the
//! text it came from; nothing here knows about files, types or polars.

use super::span::Span;

/// A whole program: named pipelines, then the pipeline whose result is the output.
#[derive(Debug, Clone, PartialEq)]
pub struct Program {
    /// `let NAME = PIPELINE` definitions, in order.
    pub lets: Vec<Let>,
    /// The final pipeline.
    pub main: Pipeline,
}

/// `let NAME = PIPELINE`.
#[derive(Debug, Clone, PartialEq)]
pub struct Let {
    /// The name being defined.
    pub name: Ident,
    /// Its pipeline.
    pub pipeline: Pipeline,
}

/// A name with its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Ident {
    /// The name as written (backticks removed).
    pub name: String,
    /// Where it was written.
    pub span: Span,
}

/// A source followed by verbs.
#[derive(Debug, Clone, PartialEq)]
pub struct Pipeline {
    /// Where rows come from.
    pub source: Source,
    /// What is done to them, in order.
    pub verbs: Vec<Verb>,
}

/// The start of a pipeline, also the right-hand side of `join` and `union`.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// `scan "path" (options)`.
    Scan(Scan),
    /// A `let` name.
    Ref(Ident),
}

/// `scan "PATH_OR_GLOB" (name = value, ...)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scan {
    /// The path or glob, `-` for stdin.
    pub path: String,
    /// Span of the path string.
    pub path_span: Span,
    /// Options in the order written.
    pub options: Vec<OptionArg>,
}

/// One `name = value` option.
#[derive(Debug, Clone, PartialEq)]
pub struct OptionArg {
    /// The option's name.
    pub name: Ident,
    /// Its value.
    pub value: OptionValue,
    /// Span of the value.
    pub span: Span,
}

/// The value of an option.
#[derive(Debug, Clone, PartialEq)]
pub enum OptionValue {
    /// A single literal or bare word (`true`, `";"`, `csv`).
    Scalar(Literal),
    /// `["NA", ""]`.
    List(Vec<Literal>),
    /// `(price: float, id: str)` — column types.
    Schema(Vec<(Ident, Ident)>),
}

/// A verb with the span of its whole text.
#[derive(Debug, Clone, PartialEq)]
pub struct Verb {
    /// What the verb does.
    pub kind: VerbKind,
    /// The verb's text, keyword to last argument.
    pub span: Span,
}

/// One step of a pipeline.
#[derive(Debug, Clone, PartialEq)]
pub enum VerbKind {
    /// `filter EXPR` / `where EXPR`.
    Filter(Expr),
    /// `select ITEMS`.
    Select(Vec<SelectItem>),
    /// `derive name = expr, ...`.
    Derive(Vec<Assign>),
    /// `drop a, b`.
    Drop(Vec<Ident>),
    /// `rename new = old, ...` as (new, old).
    Rename(Vec<(Ident, Ident)>),
    /// `agg name = AGG, ... [by keys]`.
    Agg {
        /// The aggregates.
        aggs: Vec<Assign>,
        /// The grouping keys, possibly computed.
        by: Vec<Assign>,
    },
    /// `sort key [desc], -key, ...`.
    Sort(Vec<SortKey>),
    /// `head N [by keys]`: the first N rows (of each group).
    Head {
        /// Rows to keep.
        n: u64,
        /// Group keys; empty for the first N rows overall.
        by: Vec<Ident>,
    },
    /// `tail N`.
    Tail(u64),
    /// `rows A:B`: the rows at positions A (inclusive) to B (exclusive),
    /// counted from 0, as Python's `x[A:B]`.
    Rows {
        /// First row kept.
        start: u64,
        /// First row not kept.
        end: u64,
    },
    /// `cols A:B`: the columns at positions A up to B, from 0 (an array's
    /// `x[:, A:B]`).
    Cols {
        /// First column kept.
        start: u64,
        /// First column not kept.
        end: u64,
    },
    /// `distinct [cols]`.
    Distinct(Vec<Ident>),
    /// `join OTHER on KEYS [kind=...]`.
    Join {
        /// The right side.
        other: Source,
        /// (left, right) key pairs.
        on: Vec<(Ident, Ident)>,
        /// `inner` unless said otherwise.
        kind: Option<Ident>,
        /// `suffix="_r"`: added to right columns whose names are taken.
        suffix: Option<(String, Span)>,
        /// `asof t [= t2] [direction=...]`: each left row takes the right
        /// row of the same keys nearest in `t` (an as-of join).
        asof: Option<AsofOn>,
    },
    /// `union OTHER`.
    Union(Source),
    /// `pivot COLUMN [in [v, ...]] using AGG [by KEYS]`: long to wide.
    Pivot {
        /// The column whose values become columns.
        column: Ident,
        /// The values, when listed (else found in a first pass).
        values: Option<Vec<Expr>>,
        /// The aggregate computed per new column.
        agg: Expr,
        /// The row keys.
        by: Vec<Ident>,
    },
    /// `flatten a, b`: each struct column becomes one column per field,
    /// named `a.field`, in its place.
    Flatten(Vec<Ident>),
    /// `unpivot ITEMS [into NAME, VALUE]` (alias `melt`).
    Unpivot {
        /// The columns turned into rows (`*`, `* except (..)` or names).
        items: Vec<SelectItem>,
        /// Output names of the name and value columns.
        into: Option<(Ident, Ident)>,
    },
    /// `sample N | FRACTION [seed=S]`.
    Sample {
        /// Rows (an integer) or a fraction (a float in 0..=1).
        amount: Literal,
        /// Span of the amount.
        amount_span: Span,
        /// Seed for a repeatable sample.
        seed: Option<u64>,
    },
    /// `count`.
    Count,
    /// `each EXPR`: `EXPR` applied to every numeric column, `_` standing
    /// for the column's value.
    Each(Expr),
    /// `gram`, `cov` or `corr`: a k x k matrix of the (numeric) columns.
    Matrix(Ident),
    /// `matmul "W.npy"`: the rows times a small matrix read from a file.
    MatMul {
        /// The matrix's path.
        path: String,
        /// Span of the path.
        path_span: Span,
    },
    /// `reduce STAT, ... [axis=0|1|all]`: statistics of the numeric columns.
    Reduce {
        /// The statistics, as written.
        stats: Vec<Ident>,
        /// The axis as written (`0`, `1` or `all`) and its span; axis 0 when absent.
        axis: Option<(String, Span)>,
    },
    /// `explode COL [on "SEP"]`: one row per piece of a split string.
    Explode {
        /// The string column to split.
        column: Ident,
        /// Separator (default: a space).
        separator: Option<String>,
    },
    /// `write "path"`, or `write "dir/" (partition_by=[k, …])`.
    Write {
        /// Destination; the format follows the extension.
        path: String,
        /// Span of the path.
        path_span: Span,
        /// Options in the order written.
        options: Vec<OptionArg>,
    },
}

/// `name = expr`, or a bare expression whose name is derived from its text.
#[derive(Debug, Clone, PartialEq)]
pub struct Assign {
    /// The output name.
    pub name: Ident,
    /// The value.
    pub expr: Expr,
}

/// An item of `select`.
#[derive(Debug, Clone, PartialEq)]
pub enum SelectItem {
    /// `*` or `* except (a, b)`.
    Star {
        /// Columns left out.
        except: Vec<Ident>,
        /// Span of the star.
        span: Span,
    },
    /// A column or `name = expr`.
    Expr(Assign),
}

/// One sort key.
#[derive(Debug, Clone, PartialEq)]
pub struct SortKey {
    /// What to sort by.
    pub expr: Expr,
    /// Descending (`desc` or a leading `-`).
    pub descending: bool,
}

/// An expression and its span.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    /// The expression.
    pub kind: ExprKind,
    /// Its text.
    pub span: Span,
}

/// Expression forms.
#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// A literal value.
    Literal(Literal),
    /// A column reference.
    Column(String),
    /// `left op right`.
    Binary {
        /// The operator.
        op: BinOp,
        /// Left operand.
        left: Box<Expr>,
        /// Right operand.
        right: Box<Expr>,
    },
    /// `not e` or `-e`.
    Unary {
        /// The operator.
        op: UnaryOp,
        /// The operand.
        expr: Box<Expr>,
    },
    /// `name(args)`.
    Call {
        /// The function name.
        name: Ident,
        /// Its arguments.
        args: Vec<Expr>,
    },
    /// `[a, b, c]`: a row vector, one value per column of `each`.
    Vector(Vec<Expr>),
    /// `e [not] in [a, b]`.
    In {
        /// The tested value.
        expr: Box<Expr>,
        /// The candidates.
        list: Vec<Expr>,
        /// `not in`.
        negated: bool,
    },
    /// `e [not] between lo and hi` (inclusive).
    Between {
        /// The tested value.
        expr: Box<Expr>,
        /// Lower bound.
        low: Box<Expr>,
        /// Upper bound.
        high: Box<Expr>,
        /// `not between`.
        negated: bool,
    },
    /// `e is [not] null`.
    IsNull {
        /// The tested value.
        expr: Box<Expr>,
        /// `is not null`.
        negated: bool,
    },
    /// `f(args) over (by k sort t rows N)`: a window function.
    Over {
        /// The function call.
        call: Box<Expr>,
        /// Partition keys.
        by: Vec<Ident>,
        /// Order within a partition.
        sort: Vec<SortKey>,
        /// `rows N`: the current row and the N - 1 before it.
        rows: Option<(u64, Span)>,
    },
}

/// Literal values.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A float.
    Float(f64),
    /// A string.
    Str(String),
    /// A bare word used as an option value, e.g. `kind=left`.
    Word(String),
}

/// Binary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/` (always float division)
    Div,
    /// `//` (floor division)
    FloorDiv,
    /// `%`
    Mod,
    /// `==`
    Eq,
    /// `!=`
    NotEq,
    /// `<`
    Lt,
    /// `<=`
    LtEq,
    /// `>`
    Gt,
    /// `>=`
    GtEq,
    /// `and`
    And,
    /// `or`
    Or,
    /// `||`: text concatenation (null when either side is null)
    Concat,
}

impl BinOp {
    /// The operator as written.
    pub fn symbol(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::FloorDiv => "//",
            BinOp::Mod => "%",
            BinOp::Eq => "==",
            BinOp::NotEq => "!=",
            BinOp::Lt => "<",
            BinOp::LtEq => "<=",
            BinOp::Gt => ">",
            BinOp::GtEq => ">=",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Concat => "||",
        }
    }
}

/// Unary operators.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnaryOp {
    /// `not`
    Not,
    /// `-`
    Neg,
}

/// The as-of part of a join: `asof t [= t2] [direction=backward|forward|nearest]`.
#[derive(Debug, Clone, PartialEq)]
pub struct AsofOn {
    /// The left column.
    pub left: Ident,
    /// The right column (the left's name unless given).
    pub right: Ident,
    /// `backward` unless said otherwise.
    pub direction: Option<Ident>,
}
