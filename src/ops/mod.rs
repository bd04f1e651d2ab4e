//! `ops`: per-chunk kernels on polars frames.
//!
//! Two kinds of operator (see `docs/ARCHITECTURE.md`):
//! * [`ChunkOp`] — streaming, chunk in → chunk out (filter, project,
//!   broadcast join, fractional sample). Fused into the scan that feeds it.
//! * [`Sink`] — blocking: [`Sink::partial`] runs on every chunk in
//!   parallel, [`Sink::finish`] combines the ordered partials into the
//!   stage's output (aggregation, sort, top-k, limit, distinct, ...).
//!
//! Ops take polars expressions, never dq's AST or plan types, and never
//! open files or schedule work.

mod aggregate;
mod arithmetic;
pub mod array;
mod asof_join;
pub mod calendar;
mod cast;
mod collect;
mod count;
mod distinct;
mod explode;
mod filter;
mod group_ids;
mod head_per_group;
mod join;
mod limit;
pub mod nested;
pub mod profile;
mod project;
mod sample;
mod sort;
mod sort_order;
pub mod text;
mod top_candidates;
mod top_k;
mod unpivot;
mod window;

use polars::prelude::*;

pub use aggregate::{AggKind, AggSpec, HashAggregate};
pub use arithmetic::{arith, Arith};
pub use asof_join::{AsofSpec, Direction as AsofDirection};
pub use cast::{cast, parse_datetime_with};
pub use collect::Collect;
pub use count::Count;
pub use distinct::Distinct;
pub use explode::Explode;
pub use filter::Filter;
pub use group_ids::{group_rows, key_hashes, Groups, JoinIndex};
pub use head_per_group::HeadPerGroup;
pub use join::{BroadcastJoin, GatherJoin, JoinSpec};
pub use limit::{Head, Slice, Tail};
pub use project::Project;
pub use sample::{SampleFraction, SampleRows};
pub use sort::{Sort, SortSpec};
pub use sort_order::ascending_bits;
pub use top_k::TopK;
pub use unpivot::Unpivot;
pub use window::{Frame, Window, WindowFunc, WindowKind};

/// What a chunk task knows besides its data.
pub struct ChunkCtx<'a> {
    /// Position of the chunk in its stage's input (for seeding samples).
    pub index: usize,
    /// Side inputs of the stage (join build sides), already materialized.
    pub side: &'a [DataFrame],
    /// The lane (one per thread) whose state this chunk may fold into,
    /// for a sink that [`Sink::holds_lanes`]; its lane's chunks come in order.
    pub lane: Option<usize>,
}

/// A streaming operator: one chunk in, one chunk out.
pub trait ChunkOp: Send + Sync {
    /// Stable name for explain and progress.
    fn name(&self) -> &'static str;
    /// One-line description with arguments.
    fn describe(&self) -> String;
    /// Transforms one chunk.
    ///
    /// # Errors
    /// polars errors from evaluating expressions on the chunk.
    fn apply(&self, df: DataFrame, ctx: &ChunkCtx) -> PolarsResult<DataFrame>;
    /// Work done once before the first chunk, with every thread free (a
    /// join's index of its side input, `sides`); without it the first
    /// chunk does it while the others wait.
    ///
    /// # Errors
    /// polars errors from that work.
    fn prepare(&self, _sides: &[DataFrame]) -> PolarsResult<()> {
        Ok(())
    }
    /// Whether every input row gives exactly one output row (a projection):
    /// a row limit after such ops is one on the scan's rows.
    fn keeps_every_row(&self) -> bool {
        false
    }
    /// The join this operator probes, if it is a broadcast join (the
    /// executor turns it into a partitioned join when its build side does
    /// not fit in the memory budget).
    fn as_join(&self) -> Option<&JoinSpec> {
        None
    }
}

/// How a sink's partials may leave memory when the budget runs short.
/// The executor owns the disk; the sink only says what is allowed.
pub enum Spill {
    /// Partials must stay in memory; they are small by nature (one row per
    /// chunk, or at most a requested number of rows).
    InMemory,
    /// `finish` over some partials gives a partial again (head, tail,
    /// top-k, count): fold them in memory instead of spilling.
    Compact,
    /// Partials are the output, in order (collect): hand them on as they come.
    InOrder,
    /// Rows whose `keys` are equal must meet in one `finish`; partials may be
    /// hash-partitioned by them and each part finished on its own. With
    /// `side`, that side input is partitioned the same way and each part
    /// sees only its own part of it (a partitioned hash join).
    ByKeys {
        /// Key expressions, evaluated on partials (and on the side).
        keys: Vec<Expr>,
        /// The side input partitioned alongside, by index.
        side: Option<usize>,
    },
    /// Partials are runs sorted by this order; the output is their merge.
    SortedRuns(SortSpec),
}

/// A blocking operator: per-chunk partials, then one combine.
pub trait Sink: Send + Sync {
    /// Stable name for explain and progress.
    fn name(&self) -> &'static str;
    /// One-line description with arguments.
    fn describe(&self) -> String;
    /// Work on one chunk, run in parallel; the result is kept until `finish`.
    ///
    /// # Errors
    /// polars errors.
    fn partial(&self, df: DataFrame, ctx: &ChunkCtx) -> PolarsResult<DataFrame>;
    /// Combines the partials (in chunk order) into output partitions.
    ///
    /// # Errors
    /// polars errors.
    fn finish(&self, partials: Vec<DataFrame>, ctx: &ChunkCtx) -> PolarsResult<Vec<DataFrame>>;
    /// Rows after which reading more input cannot change the result (`head`).
    fn row_limit(&self) -> Option<u64> {
        None
    }
    /// Whether partials are the output as they are (then a final stage can
    /// hand each chunk to the writer as soon as it is done, in order).
    fn passes_through(&self) -> bool {
        false
    }
    /// Whether [`Sink::compact`] works for this sink.
    fn can_compact(&self) -> bool {
        false
    }
    /// Whether `finish` runs on one thread, so that key-disjoint pieces of
    /// the partials finished side by side keep every thread busy (polars'
    /// own group-by and sort are parallel already: splitting them first
    /// only adds a pass).
    fn finishes_on_one_thread(&self) -> bool {
        false
    }
    /// Folds partials (in order) into one partial with the same columns:
    /// tried before partials spill, since folding many chunks' partials
    /// often shrinks them far more than one chunk's did (a two-phase
    /// aggregation, distinct).
    ///
    /// # Errors
    /// polars errors; sinks that cannot fold say so in [`Sink::can_compact`].
    fn compact(&self, partials: Vec<DataFrame>) -> PolarsResult<DataFrame> {
        concat(partials)
    }
    /// What may happen to partials when memory runs short.
    fn spill(&self) -> Spill {
        Spill::InMemory
    }
    /// Whether `partial` may fold chunks (given a [`ChunkCtx::lane`]) into
    /// state it holds across chunks, one per lane, returning a frame
    /// without columns for them; [`Sink::take_held`] then gives that state
    /// out as partials. A hash aggregate's per-thread tables.
    fn holds_lanes(&self) -> bool {
        false
    }
    /// Bytes the lanes hold.
    fn held_bytes(&self) -> u64 {
        0
    }
    /// The lanes' state as partials, the lanes emptied.
    ///
    /// # Errors
    /// polars errors.
    fn take_held(&self) -> PolarsResult<Vec<DataFrame>> {
        Ok(Vec::new())
    }
    /// The join this sink computes, if it is one (a part of a partitioned
    /// join too large even after re-partitioning is joined piece by piece).
    fn as_join(&self) -> Option<&JoinSpec> {
        None
    }
}

/// Stacks frames vertically (an empty list gives an empty frame).
pub fn concat(mut frames: Vec<DataFrame>) -> PolarsResult<DataFrame> {
    // A frame without columns and rows carries nothing (an empty input's
    // placeholder) and would not stack with frames that have columns.
    if frames.iter().any(|f| f.width() > 0) {
        frames.retain(|f| f.width() > 0 || f.height() > 0);
    }
    if frames.is_empty() {
        return Ok(DataFrame::empty());
    }
    polars_core::utils::accumulate_dataframes_vertical(frames)
}

/// `df` with every column copied into buffers of its own.
///
/// `head` and `tail` are slices of the columns they are taken from, and a
/// `sort` then `head` a slice of the whole sorted chunk; polars' string
/// columns are moreover views into the text buffers of the chunk they were
/// parsed from. So a handful of rows kept from each chunk (top-k, sample,
/// head, tail) would pin every chunk's whole columns in memory, unseen by
/// the budget (540 MB at a 150 MB limit over the 10M-row h2o CSV). Sinks
/// that keep few rows of large chunks detach them.
///
/// Only when few of the chunk's `rows` were kept (under a quarter): copying
/// most of a chunk would cost time and save nothing.
pub(crate) fn detach_few(rows: usize, df: DataFrame) -> PolarsResult<DataFrame> {
    if df.height() * 4 >= rows {
        return Ok(df);
    }
    detach(df)
}

/// `df`'s rows in columns and text buffers of their own.
pub(crate) fn detach(df: DataFrame) -> PolarsResult<DataFrame> {
    // A gather allocates new columns of exactly these rows (text views
    // included, still pointing into the chunk's text: copied next).
    let all = IdxCa::from_vec("".into(), (0..df.height() as IdxSize).collect());
    Ok(detach_text(df.take(&all)?))
}

/// `df` with its text columns copied into buffers of their own (see
/// [`detach_few`]): for pieces of a frame that would otherwise each pin
/// the whole frame's text.
pub(crate) fn detach_text(df: DataFrame) -> DataFrame {
    if !df.get_columns().iter().any(|c| matches!(c.dtype(), DataType::String | DataType::Binary)) {
        return df;
    }
    let height = df.height();
    // Collected value by value: polars' `gc` keeps a sliced array's views
    // buffer (the whole chunk's) when the text is all inline.
    let columns = df
        .take_columns()
        .into_iter()
        .map(|c| match c.dtype() {
            DataType::String => match c.str() {
                Ok(ca) => ca.into_iter().collect::<StringChunked>().with_name(c.name().clone()).into_column(),
                Err(_) => c,
            },
            DataType::Binary => match c.binary() {
                Ok(ca) => ca.into_iter().collect::<BinaryChunked>().with_name(c.name().clone()).into_column(),
                Err(_) => c,
            },
            _ => c,
        })
        .collect();
    // SAFETY: every column keeps its length; only its buffers are copied.
    unsafe { DataFrame::new_no_checks(height, columns) }
}

/// A frame of `height` rows and no columns (what `count` needs).
pub(crate) fn height_only(height: usize) -> DataFrame {
    // SAFETY: with no columns there is no column length to disagree with `height`.
    unsafe { DataFrame::new_no_checks(height, Vec::new()) }
}

/// Selects `exprs` over `df`, keeping its row count: a selection of only
/// literals comes back from polars with one row and is stretched to the
/// input's height.
pub(crate) fn select_rows(df: DataFrame, exprs: Vec<Expr>) -> PolarsResult<DataFrame> {
    let height = df.height();
    let out = run_lazy(df, |lf| lf.select(exprs))?;
    if out.height() != height && out.height() == 1 {
        let cols = out.get_columns().iter().map(|c| c.new_from_index(0, height)).collect();
        return DataFrame::new(cols);
    }
    Ok(out)
}

/// Runs a lazy query over one in-memory frame with polars' in-memory
/// engine (never a file scan).
pub(crate) fn run_lazy(df: DataFrame, f: impl FnOnce(LazyFrame) -> LazyFrame) -> PolarsResult<DataFrame> {
    f(df.lazy()).with_comm_subexpr_elim(false).collect()
}

/// `n` copies of `value`, written out. A zeroed `vec!` would take fresh
/// pages unwritten; a fold that first reads each slot, which maps the
/// shared zero page, and then write it, a copy-on-write fault that flushes
/// the TLB of every core. Written here, each page faults once. (h2o q5
/// over Parquet: a third of its time was in those faults.)
pub fn filled<T: Clone>(value: T, n: usize) -> Vec<T> {
    let mut v = Vec::with_capacity(n);
    v.resize(n, value);
    v
}
