//! One pass of a stage: input chunks → fused ops → sink partials → finish.
//!
//! Chunks are admitted in windows sized so that the chunks in flight fit in
//! the budget's headroom (backpressure: a scan holds a bounded number of
//! chunks whatever the file size). Partials go to a store chosen by the
//! sink's [`crate::ops::Spill`] strategy (`partials.rs`), which spills when
//! the budget says so; the finish then works from memory or part by part
//! from disk, and hands its output frames to `out` (the writer, or the next
//! stage's store).

use std::sync::atomic::Ordering;
use std::sync::Arc;

use polars::prelude::*;
use rayon::prelude::*;

use super::partials::{too_small, Partials};
use super::store::{size, Env, FrameStore, Frames};
use super::{check, Error, ExecConfig, Progress};
use crate::io::{ChunkJob, ReadSettings};
use crate::ops::{ChunkCtx, ChunkOp, Sink};

/// Where a pass reads its chunks.
pub enum Input<'a> {
    /// Chunk jobs of a scan.
    Scan(&'a crate::graph::ScanInput),
    /// Frames of earlier stages, in order.
    Frames(Vec<Frames>),
}

/// Receives output frames.
pub type Out<'a> = &'a mut dyn FnMut(DataFrame) -> Result<(), Error>;

/// What a pass runs.
pub struct Pipe<'a> {
    /// Stage id (for error messages).
    pub stage: usize,
    /// Ops fused before the sink.
    pub ops: &'a [Box<dyn ChunkOp>],
    /// The sink.
    pub sink: &'a dyn Sink,
    /// Side inputs in memory (a side too large to hold is an empty
    /// placeholder here and is passed as `big_side`).
    pub sides: &'a [DataFrame],
    /// A side input too large for memory, by index, kept as a store.
    pub big_side: Option<(usize, FrameStore)>,
    /// Schema of an empty input chunk.
    pub input_schema: &'a Schema,
}

/// Shared run state a pass needs.
pub struct Run<'a> {
    /// Budget, spill directory, headroom.
    pub env: &'a Arc<Env>,
    /// The run's configuration (cancel flag).
    pub config: &'a ExecConfig,
    /// Read settings (chunk size, bad-row policy, counters).
    pub settings: &'a ReadSettings,
    /// Progress counters.
    pub progress: &'a Progress,
    /// Chunks admitted at once.
    pub window: usize,
    /// Estimated bytes of one scan chunk in memory.
    pub chunk_bytes: u64,
}

/// Rows and chunks a pass read.
#[derive(Default)]
pub struct Counts {
    /// Rows read.
    pub rows_in: u64,
    /// Chunks (or frames) processed.
    pub chunks: usize,
}

impl Pipe<'_> {
    /// An operator's polars error, with the stage.
    pub(super) fn compute(&self, op: &str, e: PolarsError) -> Error {
        Error::Compute { stage: self.stage, op: op.to_string(), message: e.to_string() }
    }

    /// Runs one chunk through the ops and the sink's `partial` (folding it
    /// into `lane` when the sink holds lanes).
    pub(super) fn chunk(&self, mut df: DataFrame, index: usize, lane: Option<usize>) -> Result<DataFrame, Error> {
        let ctx = ChunkCtx { index, side: self.sides, lane };
        for op in self.ops {
            df = op.apply(df, &ctx).map_err(|e| self.compute(op.name(), e))?;
        }
        self.sink.partial(df, &ctx).map_err(|e| self.compute(self.sink.name(), e))
    }

    /// Runs the pass: every chunk, then the finish.
    pub fn run(mut self, run: &Run, input: Input, out: Out) -> Result<Counts, Error> {
        let mut partials = Partials::new(run.env, self.sink);
        let counts = self.feed(run, input, &mut partials, out)?;
        if counts.chunks == 0 {
            // No input at all: one empty chunk, so `count` says 0 and a
            // global aggregate still yields its row.
            let df = self.chunk(DataFrame::empty_with_schema(self.input_schema), 0, None)?;
            partials.push(&self, df, out)?;
        }
        check(run.config)?;
        run.progress.set_phase("combining".into());
        partials.finish(&mut self, run, out)?;
        Ok(counts)
    }

    /// Reads all input in windows, pushing each chunk's partial.
    fn feed(&self, run: &Run, input: Input, partials: &mut Partials, out: Out) -> Result<Counts, Error> {
        let limit = self.sink.row_limit();
        let mut counts = Counts::default();
        let mut kept = 0u64;
        let rows_of_scan = limit.filter(|_| self.ops.iter().all(|op| op.keeps_every_row()));
        let mut feeder = Feeder::new(input, run, rows_of_scan.and_then(|n| usize::try_from(n).ok()));
        let scan = feeder.scan();
        // Under a row limit (`head 2`) the first window is one chunk and
        // windows double while rows are missing: a quick look reads one
        // chunk, not a window of them (256 MiB of a large CSV).
        let mut window = if limit.is_some() { 1 } else { run.window };
        // A sink that holds state per lane (a hash aggregate's per-thread
        // groups) gets each lane's chunks in order on one thread; what the
        // lanes hold is charged after each window and given out as
        // partials when the budget runs short and at the end.
        let lanes = if self.sink.holds_lanes() { rayon::current_num_threads().max(1) } else { 0 };
        let mut held = run.env.budget.reserve(0);
        loop {
            check(run.config)?;
            let (batch, in_flight) = feeder.next_batch(run, window)?;
            window = (window * 2).min(run.window);
            if batch.is_empty() {
                break;
            }
            let first = counts.chunks;
            counts.chunks += batch.len();
            let _in_flight = run.env.budget.reserve(in_flight);
            let one = |i: usize, work: Work, lane: Option<usize>| {
                let df = load(scan, work, run)?;
                let read = df.height() as u64;
                Ok((self.chunk(df, first + i, lane)?, read))
            };
            let results: Vec<Result<(DataFrame, u64), Error>> = if lanes == 0 {
                batch.into_par_iter().enumerate().map(|(i, work)| one(i, work, None)).collect()
            } else {
                // Each lane takes a contiguous share of the window, so which
                // chunks a lane folds (and its float sums' order) does not
                // depend on scheduling.
                let share = batch.len().div_ceil(lanes);
                let mut items = batch.into_iter().enumerate().peekable();
                let mut shares: Vec<Vec<(usize, Work)>> = Vec::new();
                while items.peek().is_some() {
                    shares.push(items.by_ref().take(share).collect());
                }
                let done: Vec<Vec<Result<(DataFrame, u64), Error>>> = shares
                    .into_par_iter()
                    .enumerate()
                    .map(|(lane, share)| share.into_iter().map(|(i, work)| one(i, work, Some(lane))).collect())
                    .collect();
                done.into_iter().flatten().collect()
            };
            for r in results {
                let (df, read) = r?;
                counts.rows_in += read;
                if lanes > 0 && df.width() == 0 {
                    // Folded into a lane.
                    continue;
                }
                kept += df.height() as u64;
                partials.push(self, df, out)?;
            }
            if lanes > 0 {
                // What the lanes grew by this window is charged if it fits
                // beside the headroom; else they are taken out (and their
                // partials spill as the store sees fit).
                let bytes = self.sink.held_bytes();
                if run.env.room_for(bytes.saturating_sub(held.bytes())) {
                    held.resize(bytes);
                } else {
                    held.resize(0);
                    self.give_out_held(partials, out)?;
                }
            }
            if limit.is_some_and(|n| kept >= n) {
                break;
            }
        }
        if lanes > 0 {
            self.give_out_held(partials, out)?;
        }
        Ok(counts)
    }

    /// Pushes what the sink's lanes hold as partials, emptying the lanes.
    fn give_out_held(&self, partials: &mut Partials, out: Out) -> Result<(), Error> {
        for df in self.sink.take_held().map_err(|e| self.compute(self.sink.name(), e))? {
            partials.push(self, df, out)?;
        }
        Ok(())
    }
}

/// One unit of input: a chunk job still to read, or a frame already read.
enum Work {
    Job(ChunkJob),
    Frame(DataFrame),
}

/// Hands out input in windows that fit the budget's headroom.
enum Feeder<'a> {
    Scan { scan: &'a crate::graph::ScanInput, jobs: Box<dyn Iterator<Item = crate::io::Result<ChunkJob>> + 'a> },
    Frames(Box<std::iter::Flatten<std::vec::IntoIter<Frames>>>),
}

impl<'a> Feeder<'a> {
    /// `first_rows`: a row limit on the scan's rows (only projections
    /// before it), which cuts the first job.
    fn new(input: Input<'a>, run: &Run<'a>, first_rows: Option<usize>) -> Self {
        match input {
            Input::Scan(scan) => {
                let jobs = scan.source.chunks(run.settings, &scan.stats_filters).first_rows(first_rows);
                Feeder::Scan { scan, jobs: Box::new(jobs) }
            }
            Input::Frames(sources) => Feeder::Frames(Box::new(sources.into_iter().flatten())),
        }
    }

    /// The next window and its estimated bytes in memory: up to `window`
    /// items, and (for frames) no more than the headroom holds.
    fn next_batch(&mut self, run: &Run, window: usize) -> Result<(Vec<Work>, u64), Error> {
        let (mut batch, mut bytes) = (Vec::new(), 0u64);
        while batch.len() < window && bytes < run.env.headroom {
            match self {
                Feeder::Scan { jobs, .. } => match jobs.next() {
                    Some(job) => {
                        let job = job?;
                        bytes += job.memory.unwrap_or(run.chunk_bytes);
                        batch.push(Work::Job(job));
                    }
                    None => break,
                },
                Feeder::Frames(frames) => match frames.next() {
                    Some(f) => {
                        let f = f?;
                        bytes += size(&f);
                        batch.push(Work::Frame(f));
                    }
                    None => break,
                },
            }
        }
        Ok((batch, bytes))
    }

    /// The scan this feeder reads, if any.
    fn scan(&self) -> Option<&'a crate::graph::ScanInput> {
        match self {
            Feeder::Scan { scan, .. } => Some(scan),
            Feeder::Frames(_) => None,
        }
    }
}

/// Reads one item of a window (in parallel with the rest of it).
fn load(scan: Option<&crate::graph::ScanInput>, work: Work, run: &Run) -> Result<DataFrame, Error> {
    match (scan, work) {
        (_, Work::Frame(df)) => Ok(df),
        (Some(scan), Work::Job(job)) => {
            check(run.config)?;
            let df = scan.source.read_chunk(
                &job,
                scan.projection.as_deref(),
                scan.row_filter.as_ref(),
                &scan.dictionaries,
                run.settings,
            )?;
            run.progress.rows.fetch_add(df.height() as u64, Ordering::Relaxed);
            let bytes = size(&df);
            if bytes > run.env.budget.limit() {
                let what = format!("one chunk of {} ({} rows) alone is larger", scan.source.pattern, df.height());
                return Err(too_small(run.env, bytes, &what));
            }
            Ok(df)
        }
        (None, Work::Job(_)) => unreachable!("frame inputs make no chunk jobs"),
    }
}
