//! `exec`: runs a [`TaskGraph`] on polars' rayon pool, inside a memory budget.
//!
//! Input: a task graph and an [`ExecConfig`]. Output: the result frames in
//! order (or handed to a writer as they are made), plus [`RunStats`].
//!
//! Scheduling, per stage (`pipe.rs`):
//!
//! 1. Input chunks (a scan's chunk jobs, or earlier stages' output frames)
//!    are admitted in windows sized so that the chunks in flight fit in the
//!    budget's headroom; each window's chunks are read, pushed through the
//!    stage's fused ops and its sink's `partial` in parallel.
//! 2. Partials go to a store chosen by the sink's [`Spill`] strategy
//!    (`store.rs`, `runs.rs`): kept in memory while the budget allows, else
//!    hash-partitioned to disk (aggregation, distinct, per-group head,
//!    joins) or written as sorted runs (sort); pass-through sinks hand
//!    chunks on as they come.
//! 3. The finish works from memory, or part by part from disk (a part too
//!    large is split again), or merges sorted runs; its frames go to the
//!    next stage's store or, for the last stage, to the caller.
//! 4. A broadcast join whose build side does not fit splits its stage into
//!    a partitioned (grace) hash join and the rest of the stage.
//!
//! Everything held is charged to one [`memory::MemoryBudget`]; spill files
//! live in one per-run directory ([`spill::SpillDir`]) removed when the run
//! ends, whether it succeeds, fails or is interrupted. Between chunks the
//! executor checks [`ExecConfig::cancel`] (Ctrl-C) and updates
//! [`ExecConfig::progress`]; it never prints.
//!
//! There is one thread pool: dq's tasks run inside polars' own pool, so
//! polars kernels called from a task share the same `--threads` workers.

pub mod allocator;
mod cgroup;
mod fold;
pub mod memory;
mod partials;
mod partition;
mod pipe;
mod progress;
mod runs;
mod skew;
pub mod spill;
mod stats;
mod store;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use polars::prelude::*;

use crate::graph::{Stage, StageInput, TaskGraph};
use crate::io::{self, BadRowPolicy, ReadSettings};
use crate::ops::{GatherJoin, JoinIndex, JoinSpec, Spill};
use memory::MemoryBudget;
use partials::Partials;
use pipe::{Input, Pipe, Run};
use spill::SpillDir;
use store::{Env, FrameStore};

pub use fold::fold_chunks;
pub use progress::{Progress, Snapshot};
pub use stats::{RunStats, StageStats};

/// Chunks in flight per worker thread. A window ends in a barrier (results
/// are kept in chunk order), so a window of a few chunks per thread leaves
/// cores idle behind the slowest chunk; eight keeps both busy while still
/// bounding the chunks held at once.
const WINDOW_PER_THREAD: usize = 8;

/// Estimated bytes in memory per byte of text chunk: the parsed frame, the
/// parser's buffers and the chunk's mapped pages until they are released.
const CHUNK_EXPANSION: u64 = io::TEXT_EXPANSION;

/// Bytes a broadcast build side joined by polars takes per byte of its
/// frame while probed (the frame and the hash tables built from it).
const JOIN_BUILD_FACTOR: u64 = 3;

/// How to run.
#[derive(Debug, Clone)]
pub struct ExecConfig {
    /// Worker threads (the size of polars' pool).
    pub threads: usize,
    /// Target bytes per text chunk.
    pub chunk_size: usize,
    /// What to do with malformed CSV records.
    pub bad_rows: BadRowPolicy,
    /// Counters for a progress display, if anyone watches.
    pub progress: Option<Arc<Progress>>,
    /// Set (e.g. by a Ctrl-C handler) to stop at the next chunk boundary.
    pub cancel: Option<Arc<AtomicBool>>,
    /// Memory budget in bytes (`None`: [`default_memory_limit`]).
    pub memory_limit: Option<u64>,
    /// Where the run's spill directory goes (`None`: the system temp dir).
    pub temp_dir: Option<PathBuf>,
    /// Most bytes of spill files at once (`None`: a share of the free disk).
    pub max_spill: Option<u64>,
}

impl Default for ExecConfig {
    fn default() -> Self {
        ExecConfig {
            threads: polars_core::POOL.current_num_threads(),
            chunk_size: 16 << 20,
            bad_rows: BadRowPolicy::Error,
            progress: None,
            cancel: None,
            memory_limit: None,
            temp_dir: None,
            max_spill: None,
        }
    }
}

/// A short description of what a stage does, for progress displays.
fn stage_label(stage: &Stage) -> String {
    let input = match &stage.input {
        StageInput::Scan(s) => format!("scan {}", s.source.pattern),
        StageInput::Stages(ids) => format!("stage {}", ids.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("+")),
    };
    let ops: Vec<&str> = stage.ops.iter().map(|o| o.name()).collect();
    let ops = if ops.is_empty() { String::new() } else { format!(" → {}", ops.join(" → ")) };
    format!("{input}{ops} ⇒ {}", stage.sink.name())
}

/// Execution failures.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Reading input failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The run was cancelled (Ctrl-C, SIGTERM).
    #[error("interrupted")]
    Interrupted,
    /// Spill files would pass `--max-spill`.
    #[error("spilling needs {} in {} but --max-spill allows {}; raise --max-spill or --memory-limit", crate::graph::human_bytes(*needed), dir.display(), crate::graph::human_bytes(*limit))]
    SpillLimit {
        /// The spill directory.
        dir: PathBuf,
        /// The limit.
        limit: u64,
        /// Bytes that would have been on disk.
        needed: u64,
    },
    /// Writing or reading a spill file failed (disk full, permissions).
    #[error("cannot spill to {}: {message}{}", dir.display(), if *needed > 0 { format!(" ({} to write)", crate::graph::human_bytes(*needed)) } else { String::new() })]
    SpillDisk {
        /// The spill directory (or file).
        dir: PathBuf,
        /// Bytes being written.
        needed: u64,
        /// The system's message.
        message: String,
    },
    /// Something that must be held in memory at once does not fit.
    #[error("the memory budget of {} is too small: {what}; it needs about {}; raise --memory-limit", crate::graph::human_bytes(*limit), crate::graph::human_bytes(*needed))]
    BudgetTooSmall {
        /// Bytes that would be needed.
        needed: u64,
        /// The limit.
        limit: u64,
        /// What did not fit.
        what: String,
    },
    /// An operator failed on the data (e.g. an invalid regex, a failed parse).
    #[error("stage {stage} ({op}): {message}")]
    Compute {
        /// The stage.
        stage: usize,
        /// The operator.
        op: String,
        /// polars' message.
        message: String,
    },
}

/// Receives result frames in order as they are ready.
pub type Emit<'a> = &'a mut (dyn FnMut(DataFrame) -> Result<(), io::Error> + Send);

/// Runs the graph and returns the result partitions in order.
///
/// # Errors
/// The first error of any task; remaining tasks of its window finish, no
/// further windows start.
pub fn execute(graph: &TaskGraph, config: &ExecConfig) -> Result<(Vec<DataFrame>, RunStats), Error> {
    execute_streaming(graph, config, None)
}

/// Like [`execute`], but every result frame goes to `emit`, in order, as
/// soon as it is made: chunks of a pipeline without a blocking operator at
/// the end as their window finishes, a sort's merged batches, an
/// aggregation's parts. The result is never held whole. Frames handed to
/// `emit` are not returned.
///
/// # Errors
/// As [`execute`], and whatever `emit` returns.
pub fn execute_streaming(
    graph: &TaskGraph,
    config: &ExecConfig,
    emit: Option<Emit>,
) -> Result<(Vec<DataFrame>, RunStats), Error> {
    let progress = config.progress.clone().unwrap_or_default();
    let limit = config.memory_limit.unwrap_or_else(default_memory_limit);
    store::tune_allocator(limit);
    let threads = config.threads.max(1);
    // A quarter of the budget is headroom for chunks in flight; chunks
    // shrink under small budgets so that two per thread still fit.
    let headroom = limit / 4;
    let chunk_size = config.chunk_size.min((headroom / (CHUNK_EXPANSION * 2 * threads as u64)).max(64 << 10) as usize);
    let chunk_bytes = chunk_size as u64 * CHUNK_EXPANSION;
    let window = ((headroom / chunk_bytes) as usize).clamp(1, threads * WINDOW_PER_THREAD);
    let env = Arc::new(Env {
        budget: Arc::new(MemoryBudget::new(limit)),
        spill: Arc::new(SpillDir::new(config.temp_dir.clone().unwrap_or_else(std::env::temp_dir), config.max_spill)),
        headroom: chunk_bytes * window as u64,
        skewed_parts: Default::default(),
    });
    let settings = ReadSettings::new(chunk_size, config.bad_rows).with_disk_counter(progress.disk_bytes.clone());
    let total: u64 = graph
        .stages
        .iter()
        .filter_map(|s| match &s.input {
            StageInput::Scan(scan) => Some(scan.source.total_bytes()),
            _ => None,
        })
        .sum();
    progress.total_bytes.store(total, Ordering::Relaxed);
    progress.stages.store(graph.stages.len(), Ordering::Relaxed);
    let started = Instant::now();
    let run = Run { env: &env, config, settings: &settings, progress: &progress, window, chunk_bytes };
    let mut outputs: Vec<Option<FrameStore>> = (0..graph.stages.len()).map(|_| None).collect();
    let mut stats = RunStats { memory_limit: limit, ..RunStats::default() };
    let mut result = Vec::new();
    let mut emit = emit;
    polars_core::POOL.install(|| -> Result<(), Error> {
        for stage in &graph.stages {
            check(config)?;
            let t = Instant::now();
            let spilled = (env.spill.bytes_written(), env.spill.files_created());
            env.budget.take_period_peak();
            progress.enter_stage(stage.id, stage_label(stage));
            let last = stage.id + 1 == graph.stages.len();
            let mut rows_out = 0u64;
            let mut store = FrameStore::new(&env);
            let counts = {
                let mut out = |df: DataFrame| -> Result<(), Error> {
                    if df.height() == 0 {
                        // An empty frame still tells the next stage its columns.
                        return if last { Ok(()) } else { store.push(df) };
                    }
                    rows_out += df.height() as u64;
                    match (last, emit.as_mut()) {
                        (true, Some(e)) => e(select_output(df, &graph.output)?).map_err(Error::Io),
                        (true, None) => {
                            result.push(select_output(df, &graph.output)?);
                            Ok(())
                        }
                        (false, _) => store.push(df),
                    }
                };
                run_stage(&run, stage, &mut outputs, &mut out)?
            };
            stats.stages.push(StageStats {
                id: stage.id,
                chunks: counts.chunks,
                rows_in: counts.rows_in,
                rows_out,
                elapsed: t.elapsed(),
                held_bytes: env.budget.take_period_peak(),
                spilled_bytes: env.spill.bytes_written() - spilled.0,
                spill_files: env.spill.files_created() - spilled.1,
            });
            outputs[stage.id] = Some(store);
        }
        Ok(())
    })?;
    stats.streamed = emit.is_some();
    stats.elapsed = started.elapsed();
    stats.bytes_read = settings.bytes_read.load(Ordering::Relaxed);
    stats.bad_rows = settings.bad_rows();
    stats.peak_memory = env.budget.peak();
    stats.spilled_bytes = env.spill.bytes_written();
    stats.spill_files = env.spill.files_created();
    stats.skewed_parts = env.skewed_parts.load(Ordering::Relaxed);
    Ok((result, stats))
}

/// The budget when `--memory-limit` is not given.
pub fn default_memory_limit() -> u64 {
    (memory::available_memory() as f64 * memory::DEFAULT_FRACTION) as u64
}

/// Runs one stage. A broadcast join whose build side does not fit in the
/// budget splits the stage: the ops before it end in a partitioned join
/// (both sides hash-partitioned to disk, joined part by part) and the rest
/// of the stage reads that join's output.
fn run_stage(
    run: &Run,
    stage: &Stage,
    outputs: &mut [Option<FrameStore>],
    out: &mut dyn FnMut(DataFrame) -> Result<(), Error>,
) -> Result<pipe::Counts, Error> {
    let env = run.env;
    // Side inputs: held in memory when they fit their share, else kept as stores.
    let mut sides = Vec::new();
    let mut big: Vec<Option<FrameStore>> = Vec::new();
    let mut _charges = Vec::new();
    // An as-of join without keys has nothing to partition by: its right
    // side is always held whole.
    let unpartitioned: Vec<usize> = stage
        .ops
        .iter()
        .filter_map(|op| op.as_join())
        .filter(|spec| spec.keys.is_empty())
        .map(|spec| spec.side)
        .collect();
    for (k, id) in stage.side_inputs.iter().enumerate() {
        let store = outputs[*id].take().unwrap_or_else(|| FrameStore::new(env));
        // A side probed by every thread at once: indexed once, its frame
        // and index may take two thirds of the budget (one structure for all
        // threads; the chunks streaming past take the rest); joined by
        // polars, whose join of each chunk builds its own tables from it,
        // a quarter with those tables.
        let mut joins = stage.ops.iter().filter_map(|op| op.as_join()).filter(|spec| spec.side == k).peekable();
        let indexed = joins.peek().is_some() && joins.all(JoinSpec::indexed);
        let index_bytes = if indexed { JoinIndex::bytes_for(store.rows()) } else { 0 };
        let too_big = if indexed {
            (store.bytes() + index_bytes).saturating_mul(3) > env.budget.limit() * 2
        } else {
            store.bytes().saturating_mul(JOIN_BUILD_FACTOR) > env.budget.limit() / 4
        };
        if too_big && !unpartitioned.contains(&k) {
            sides.push(store.schema().cloned().unwrap_or_default());
            big.push(Some(store));
        } else {
            let (df, charge) = store.into_frame()?;
            _charges.push(charge);
            _charges.push(env.budget.reserve(index_bytes));
            sides.push(df);
            big.push(None);
        }
    }
    // Broadcast joins whose side is held build their index now, on every
    // thread (not the first chunk's alone).
    for op in &stage.ops {
        if op.as_join().is_some_and(|spec| big.get(spec.side).is_some_and(Option::is_none)) {
            op.prepare(&sides).map_err(kernel(op.name()))?;
        }
    }
    let mut input = match &stage.input {
        StageInput::Scan(scan) => Input::Scan(scan),
        StageInput::Stages(ids) => Input::Frames(
            ids.iter().map(|id| outputs[*id].take().unwrap_or_else(|| FrameStore::new(env)).into_frames()).collect(),
        ),
    };
    let side_of_sink = match stage.sink.spill() {
        Spill::ByKeys { side: Some(k), .. } => Some(k),
        _ => None,
    };
    // Broadcast joins whose build side is too large, by op index.
    let big_joins: Vec<usize> = (0..stage.ops.len())
        .filter(|&j| stage.ops[j].as_join().is_some_and(|spec| big.get(spec.side).is_some_and(Option::is_some)))
        .collect();
    let mut from = 0;
    let mut counts = None;
    let mut schema = stage.input_schema.clone();
    for (n, &j) in big_joins.iter().enumerate() {
        let Some(spec) = stage.ops[j].as_join() else { continue };
        let Some(side) = big.get_mut(spec.side).and_then(Option::take) else { continue };
        let sink = GatherJoin(spec.clone());
        let pipe = Pipe {
            stage: stage.id,
            ops: &stage.ops[from..j],
            sink: &sink,
            sides: &sides,
            big_side: Some((spec.side, side)),
            input_schema: &schema,
        };
        if n + 1 == big_joins.len() {
            // The last partitioned join feeds the rest of the stage directly:
            // each joined part goes through the remaining ops into the sink.
            let big_side = side_of_sink.and_then(|k| big.get_mut(k).and_then(Option::take).map(|s| (k, s)));
            let mut rest = Pipe {
                stage: stage.id,
                ops: &stage.ops[j + 1..],
                sink: stage.sink.as_ref(),
                sides: &sides,
                big_side,
                input_schema: &schema,
            };
            let mut partials = Partials::new(env, rest.sink);
            let (mut fed, mut empty) = (0usize, None);
            let c = pipe.run(run, input, &mut |df| {
                if df.height() == 0 {
                    empty.get_or_insert(df);
                    return Ok(());
                }
                let partial = rest.chunk(df, fed, None)?;
                fed += 1;
                partials.push(&rest, partial, &mut *out)
            })?;
            if fed == 0 {
                // Nothing joined: one empty chunk, so that `count` says 0.
                let partial = rest.chunk(empty.unwrap_or_default(), 0, None)?;
                partials.push(&rest, partial, &mut *out)?;
            }
            check(run.config)?;
            partials.finish(&mut rest, run, out)?;
            return Ok(counts.unwrap_or(c));
        }
        let mut joined = FrameStore::new(env);
        let c = pipe.run(run, input, &mut |df| joined.push(df))?;
        counts.get_or_insert(c);
        schema = joined.schema().map(|s| s.schema().as_ref().clone()).unwrap_or_default();
        input = Input::Frames(vec![joined.into_frames()]);
        from = j + 1;
    }
    let big_side = side_of_sink.and_then(|k| big.get_mut(k).and_then(Option::take).map(|s| (k, s)));
    let pipe = Pipe {
        stage: stage.id,
        ops: &stage.ops[from..],
        sink: stage.sink.as_ref(),
        sides: &sides,
        big_side,
        input_schema: &schema,
    };
    let c = pipe.run(run, input, out)?;
    Ok(counts.unwrap_or(c))
}

/// Output columns in the program's order (scans may carry filter columns).
fn select_output(df: DataFrame, names: &[String]) -> Result<DataFrame, Error> {
    let names: Vec<&str> = names.iter().map(|s| s.as_str()).collect();
    if df.get_column_names_str() == names {
        return Ok(df);
    }
    df.select(names.iter().copied()).map_err(|e| Error::Compute {
        stage: 0,
        op: "output".into(),
        message: e.to_string(),
    })
}

/// Turns a polars error from dq's own out-of-core work (spilling, merging,
/// joining in pieces) into an [`Error::Compute`] naming that work.
fn kernel(op: &'static str) -> impl Fn(PolarsError) -> Error {
    move |e| Error::Compute { stage: 0, op: op.into(), message: e.to_string() }
}

/// Fails with [`Error::Interrupted`] once cancellation was requested.
pub fn check(config: &ExecConfig) -> Result<(), Error> {
    match &config.cancel {
        Some(flag) if flag.load(Ordering::Relaxed) => Err(Error::Interrupted),
        _ => Ok(()),
    }
}
