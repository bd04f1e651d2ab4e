//! `exec`: runs a [`TaskGraph`] on polars' rayon pool.
//!
//! Input: a task graph and an [`ExecConfig`]. Output: the result
//! partitions in order, plus [`RunStats`].
//!
//! Scheduling, per stage:
//!
//! 1. Scan stages pull chunk jobs from the source in windows of
//!    `8 × threads`; each window's chunks are read, pushed through the
//!    stage's fused ops and its sink's `partial` in parallel, and their
//!    results kept in chunk order. Windows bound the chunks in flight (the
//!    hook for the memory budget) and let `head` stop reading early.
//! 2. Stages fed by other stages take those stages' partitions (each stage
//!    output has exactly one consumer, so it is moved, not copied).
//! 3. The sink's `finish` combines the partials into the stage's output.
//! 4. With [`execute_streaming`], a last stage whose sink only passes chunks
//!    through hands each window's chunks, in order, to the caller's writer
//!    instead of keeping them: the result is never held whole.
//!
//! Between chunks the executor checks [`ExecConfig::cancel`] (Ctrl-C) and
//! updates [`ExecConfig::progress`]; it never prints.
//!
//! There is one thread pool: dq's tasks run inside polars' own pool, so
//! polars kernels called from a task share the same `--threads` workers.

mod fold;
mod progress;
mod stats;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use polars::prelude::*;
use rayon::prelude::*;

use crate::graph::{Stage, StageInput, TaskGraph};
use crate::io::{self, BadRowPolicy, ReadSettings};
use crate::ops::{concat, ChunkCtx};

pub use fold::fold_chunks;
pub use progress::{Progress, Snapshot};
pub use stats::{RunStats, StageStats};

/// Chunks in flight per worker thread. A window ends in a barrier (results
/// are kept in chunk order), so a window of a few chunks per thread leaves
/// cores idle behind the slowest chunk; eight keeps both busy while still
/// bounding the chunks held at once.
const WINDOW_PER_THREAD: usize = 8;

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
}

impl Default for ExecConfig {
    fn default() -> Self {
        ExecConfig {
            threads: polars_core::POOL.current_num_threads(),
            chunk_size: 16 << 20,
            bad_rows: BadRowPolicy::Error,
            progress: None,
            cancel: None,
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

/// Like [`execute`], but when the last stage only passes chunks through
/// (`scan | filter | ...` with no blocking operator at the end), each
/// result chunk goes to `emit` in order as soon as its window is done, so
/// the result is never held whole: memory stays bounded by the window.
/// Frames handed to `emit` are not returned.
///
/// # Errors
/// As [`execute`], and whatever `emit` returns.
pub fn execute_streaming(
    graph: &TaskGraph,
    config: &ExecConfig,
    mut emit: Option<Emit>,
) -> Result<(Vec<DataFrame>, RunStats), Error> {
    let progress = config.progress.clone().unwrap_or_default();
    let settings = ReadSettings::new(config.chunk_size, config.bad_rows).with_disk_counter(progress.disk_bytes.clone());
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
    let mut outputs: Vec<Option<Vec<DataFrame>>> = (0..graph.stages.len()).map(|_| None).collect();
    let mut stats = RunStats::default();
    let mut streamed_rows = 0u64;
    polars_core::POOL.install(|| -> Result<(), Error> {
        for stage in &graph.stages {
            check(config)?;
            let t = Instant::now();
            let label = stage_label(stage);
            progress.enter_stage(stage.id, label.clone());
            let side: Vec<DataFrame> = stage
                .side_inputs
                .iter()
                .map(|id| concat(outputs[*id].take().unwrap_or_default()))
                .collect::<PolarsResult<_>>()
                .map_err(|e| compute(stage, "side input", e))?;
            let window = (config.threads * WINDOW_PER_THREAD).max(2);
            let last = stage.id + 1 == graph.stages.len();
            let mut stream_to = if last && stage.sink.passes_through() { emit.take() } else { None };
            let (partials, rows_in, chunks) = match &stage.input {
                StageInput::Scan(scan) => {
                    let mut out = stream_to.as_mut().map(|e| Output { emit: &mut **e, names: &graph.output, rows: 0 });
                    let r = run_scan(stage, scan, &side, &settings, window, &progress, config, out.as_mut())?;
                    if let Some(o) = out {
                        streamed_rows = o.rows;
                    }
                    r
                }
                StageInput::Stages(ids) => {
                    let frames: Vec<DataFrame> =
                        ids.iter().flat_map(|id| outputs[*id].take().unwrap_or_default()).collect();
                    let rows_in: u64 = frames.iter().map(|f| f.height() as u64).sum();
                    let n = frames.len();
                    let mut partials = frames
                        .into_par_iter()
                        .enumerate()
                        .map(|(i, df)| run_chunk(stage, df, i, &side))
                        .collect::<Result<Vec<_>, _>>()?;
                    if let Some(e) = stream_to.as_mut() {
                        let mut out = Output { emit: &mut **e, names: &graph.output, rows: 0 };
                        for df in partials.drain(..) {
                            out.send(df)?;
                        }
                        streamed_rows = out.rows;
                    }
                    (partials, rows_in, n)
                }
            };
            if stream_to.is_some() {
                // Every chunk went to the writer already; nothing is held.
                let elapsed = t.elapsed();
                stats.stages.push(StageStats {
                    id: stage.id,
                    chunks,
                    rows_in,
                    rows_out: streamed_rows,
                    elapsed,
                    held_bytes: 0,
                });
                stats.streamed = true;
                outputs[stage.id] = Some(Vec::new());
                continue;
            }
            let partials = if partials.is_empty() {
                // No input at all: one empty chunk, so `count` says 0 and a
                // global aggregate still yields its row.
                vec![run_chunk(stage, DataFrame::empty_with_schema(&stage.input_schema), 0, &side)?]
            } else {
                partials
            };
            progress.enter_stage(stage.id, format!("{label} (combining)"));
            let held_in: usize = partials.iter().map(|f| f.estimated_size()).sum();
            let ctx = ChunkCtx { index: 0, side: &side };
            let out = stage.sink.finish(partials, &ctx).map_err(|e| compute(stage, stage.sink.name(), e))?;
            let rows_out = out.iter().map(|f| f.height() as u64).sum();
            let held_out: usize = out.iter().map(|f| f.estimated_size()).sum();
            let side_bytes: usize = side.iter().map(|f| f.estimated_size()).sum();
            stats.stages.push(StageStats {
                id: stage.id,
                chunks,
                rows_in,
                rows_out,
                elapsed: t.elapsed(),
                held_bytes: (held_in.max(held_out) + side_bytes) as u64,
            });
            outputs[stage.id] = Some(out);
        }
        Ok(())
    })?;
    stats.elapsed = started.elapsed();
    stats.bytes_read = settings.bytes_read.load(std::sync::atomic::Ordering::Relaxed);
    stats.bad_rows = settings.bad_rows();
    let result = outputs.pop().flatten().unwrap_or_default();
    let result = result.into_iter().map(|df| select_output(df, &graph.output)).collect::<Result<Vec<_>, _>>()?;
    Ok((result, stats))
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

/// Where a streaming final stage sends its chunks.
struct Output<'a, 'b> {
    emit: &'a mut (dyn FnMut(DataFrame) -> Result<(), io::Error> + Send + 'b),
    names: &'a [String],
    rows: u64,
}

impl Output<'_, '_> {
    fn send(&mut self, df: DataFrame) -> Result<(), Error> {
        if df.height() == 0 {
            return Ok(());
        }
        self.rows += df.height() as u64;
        (self.emit)(select_output(df, self.names)?).map_err(Error::Io)
    }
}

/// Fails with [`Error::Interrupted`] once cancellation was requested.
pub fn check(config: &ExecConfig) -> Result<(), Error> {
    match &config.cancel {
        Some(flag) if flag.load(Ordering::Relaxed) => Err(Error::Interrupted),
        _ => Ok(()),
    }
}

fn compute(stage: &Stage, op: &str, e: PolarsError) -> Error {
    Error::Compute { stage: stage.id, op: op.to_string(), message: e.to_string() }
}

type Partials = (Vec<DataFrame>, u64, usize);

fn run_scan(
    stage: &Stage,
    scan: &crate::graph::ScanInput,
    side: &[DataFrame],
    settings: &ReadSettings,
    window: usize,
    progress: &Progress,
    config: &ExecConfig,
    mut out: Option<&mut Output>,
) -> Result<Partials, Error> {
    let mut jobs = scan.source.chunks(settings, &scan.stats_filters);
    let projection = scan.projection.as_deref();
    let limit = stage.sink.row_limit();
    let (mut partials, mut rows_in, mut rows_kept, mut index) = (Vec::new(), 0u64, 0u64, 0usize);
    loop {
        let mut batch = Vec::with_capacity(window.min(1024));
        while batch.len() < window {
            match jobs.next() {
                Some(job) => {
                    batch.push((index, job?));
                    index += 1;
                }
                None => break,
            }
        }
        if batch.is_empty() {
            break;
        }
        let results: Vec<Result<(DataFrame, u64), Error>> = batch
            .into_par_iter()
            .map(|(i, job)| {
                check(config)?;
                let df = scan.source.read_chunk(&job, projection, settings)?;
                let read = df.height() as u64;
                progress.rows.fetch_add(read, Ordering::Relaxed);
                Ok((run_chunk(stage, df, i, side)?, read))
            })
            .collect();
        for r in results {
            let (df, read) = r?;
            rows_in += read;
            rows_kept += df.height() as u64;
            match out.as_mut() {
                Some(o) => o.send(df)?,
                None => partials.push(df),
            }
        }
        if limit.is_some_and(|n| rows_kept >= n) {
            break;
        }
    }
    Ok((partials, rows_in, index))
}

fn run_chunk(stage: &Stage, mut df: DataFrame, index: usize, side: &[DataFrame]) -> Result<DataFrame, Error> {
    let ctx = ChunkCtx { index, side };
    for op in &stage.ops {
        df = op.apply(df, &ctx).map_err(|e| compute(stage, op.name(), e))?;
    }
    stage.sink.partial(df, &ctx).map_err(|e| compute(stage, stage.sink.name(), e))
}
