//! Where frames wait: in memory while the budget allows, else on disk.
//!
//! * [`FrameStore`] keeps frames in order (a stage's output, a side input,
//!   the partials of a pass-through sink) and spills them, in order, to one
//!   spill file.
//! * [`PartitionedStore`] keeps frames that may be regrouped by key (the
//!   partials of an aggregation, a distinct, a join side): on spilling it
//!   hash-partitions them into [`PARTS`] spill files, so that each part can
//!   later be finished on its own.
//!
//! Both charge what they hold in memory to the run's budget and spill
//! before a new frame would take the headroom kept for chunks in flight.

use std::collections::VecDeque;
use std::sync::Arc;

use polars::prelude::*;
use rayon::prelude::*;

use super::memory::{MemoryBudget, Reservation};
use super::spill::{SpillDir, SpillFile};
use super::{kernel, partition, Error};

/// Parts a partitioned store splits into when it first spills. With a
/// budget B, each part of a spilled input of size S holds about S/64; a part
/// that is still too large to finish is split again with another seed.
pub const PARTS: usize = 64;

/// Memory that folding, sorting or finishing frames takes, per byte of the
/// frames: the frames, their stacked copy, and the hash table or output.
pub const WORK_FACTOR: u64 = 3;

/// Keeps freed blocks of up to `limit / 64` (at most 32 MiB) in the
/// allocator instead of returning them to the operating system at once.
///
/// glibc hands every block above its mmap threshold (128 KiB at first)
/// back to the kernel when freed and trims the top of each arena past
/// 128 KiB, so the per-chunk columns, hash tables and group ids (a few MiB
/// each) were fresh pages every time: page faults and page clearing took
/// half the CPU time of a 0.3 s Parquet aggregate. Bounded by the memory
/// limit, what stays cached is small beside it; [`release_freed_memory`]
/// still returns everything after a spill.
pub fn tune_allocator(limit: u64) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        let keep = (limit / 64).min(32 << 20) as libc::c_int;
        if keep > 128 << 10 {
            // SAFETY: mallopt only sets the allocator's thresholds.
            unsafe {
                libc::mallopt(libc::M_MMAP_THRESHOLD, keep);
                libc::mallopt(libc::M_TRIM_THRESHOLD, keep);
            }
        }
    }
}

/// Returns memory freed by polars to the operating system. glibc keeps
/// freed blocks in per-thread arenas; after a spill or a finished part
/// hundreds of megabytes can sit there, counted in RSS though unused.
pub fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// What every store and stage of one run shares.
#[derive(Debug)]
pub struct Env {
    /// The memory budget.
    pub budget: Arc<MemoryBudget>,
    /// Where spill files go.
    pub spill: Arc<SpillDir>,
    /// Bytes stores leave free for chunks in flight.
    pub headroom: u64,
    /// Join parts too large even after re-partitioning, joined piece by piece.
    pub skewed_parts: std::sync::atomic::AtomicU64,
}

impl Env {
    /// Whether a store may take `bytes` more and still leave the headroom.
    pub fn room_for(&self, bytes: u64) -> bool {
        self.budget.fits(bytes.saturating_add(self.headroom))
    }

    /// The largest frame worth keeping whole: a share of the headroom, so
    /// that a window of frames read back fits in it.
    pub fn max_frame(&self) -> u64 {
        (self.headroom / 4).max(64 << 10)
    }

    /// Whether a store holding `held` bytes may take `bytes` more when
    /// working on what it holds (sorting, folding, finishing) takes `factor`
    /// times as much: the held bytes are charged already.
    pub fn room_for_work(&self, held: u64, bytes: u64, factor: u64) -> bool {
        self.room_for((held + bytes).saturating_mul(factor).saturating_sub(held))
    }

    /// Whether `bytes` more fit in the budget at all (headroom included).
    pub fn fits(&self, bytes: u64) -> bool {
        self.budget.fits(bytes)
    }
}

/// Estimated bytes of a frame in memory.
///
/// polars' estimate counts a text column as the length of its strings; in
/// memory each value also has a 16-byte view. Counting only the strings
/// made nearly unique short keys look half their size. (The buffers the
/// views point into are not counted whole: slices and pieces of one frame
/// share them, and would each count them. Sinks that keep few rows of a
/// chunk copy them out instead; see `ops::detach_few`.)
pub fn size(df: &DataFrame) -> u64 {
    let views: usize = df
        .get_columns()
        .iter()
        .filter(|c| matches!(c.dtype(), DataType::String | DataType::Binary) && c.as_series().is_some())
        .map(|c| c.len() * 16)
        .sum();
    (df.estimated_size() + views) as u64
}

/// What this module's polars errors are reported as.
const OP: &str = "spill";

/// Frames in order.
pub struct FrameStore {
    env: Arc<Env>,
    mem: Vec<DataFrame>,
    charge: Reservation,
    file: Option<SpillFile>,
    /// A 0-row frame with the columns of the first frame pushed.
    schema: Option<DataFrame>,
}

impl FrameStore {
    /// An empty store.
    pub fn new(env: &Arc<Env>) -> Self {
        FrameStore { env: env.clone(), mem: Vec::new(), charge: env.budget.reserve(0), file: None, schema: None }
    }

    /// Appends a frame (empty frames only record the columns).
    pub fn push(&mut self, mut df: DataFrame) -> Result<(), Error> {
        if self.schema.is_none() {
            self.schema = Some(df.clear());
        }
        if df.height() == 0 {
            return Ok(());
        }
        let b = size(&df);
        let max = self.env.max_frame();
        if b > max && df.height() > 1 {
            // A frame much larger than a chunk (a join's fan-out): store it
            // in chunk-sized slices, so that whoever reads the store back
            // admits it a bounded piece at a time.
            let rows = ((df.height() as u64 * max / b) as usize).max(1);
            let mut start = 0;
            while start < df.height() {
                self.push(df.slice(start as i64, rows))?;
                start += rows;
            }
            return Ok(());
        }
        if !self.env.room_for(b) {
            self.spill()?;
            if !self.env.room_for(b) {
                // Not even this frame fits beside what others hold: it goes
                // straight to disk (after the frames before it, so in order).
                return self.file()?.append(&mut df);
            }
        }
        self.charge.grow(b);
        self.mem.push(df);
        Ok(())
    }

    fn file(&mut self) -> Result<&mut SpillFile, Error> {
        if self.file.is_none() {
            self.file = Some(self.env.spill.create()?);
        }
        Ok(self.file.as_mut().expect("the spill file was just created"))
    }

    /// Moves every frame held in memory to disk.
    pub fn spill(&mut self) -> Result<(), Error> {
        if self.mem.is_empty() {
            return Ok(());
        }
        let mem = std::mem::take(&mut self.mem);
        let file = self.file()?;
        for mut df in mem {
            file.append(&mut df)?;
        }
        self.charge.resize(0);
        Ok(())
    }

    /// Estimated bytes of all frames once in memory.
    pub fn bytes(&self) -> u64 {
        self.charge.bytes() + self.file.as_ref().map_or(0, |f| f.mem_bytes())
    }

    /// Rows of all frames.
    pub fn rows(&self) -> usize {
        self.mem.iter().map(DataFrame::height).sum::<usize>() + self.file.as_ref().map_or(0, SpillFile::rows)
    }

    /// A 0-row frame with the columns of the frames, if any was pushed.
    pub fn schema(&self) -> Option<&DataFrame> {
        self.schema.as_ref()
    }

    /// The frames in order, read back one at a time.
    pub fn into_frames(self) -> Frames {
        Frames { file: self.file, next: 0, mem: self.mem.into(), charge: self.charge }
    }

    /// All frames stacked into one frame of one chunk per column, charged
    /// to the budget by the returned reservation (for a join's build side,
    /// whose rows are gathered by index from every chunk probing it).
    pub fn into_frame(self) -> Result<(DataFrame, Reservation), Error> {
        let env = self.env.clone();
        let schema = self.schema.clone();
        let frames: Vec<DataFrame> = self.into_frames().collect::<Result<_, _>>()?;
        let df = match (frames.is_empty(), schema) {
            (true, Some(s)) => s,
            _ => crate::ops::concat(frames).map_err(kernel(OP))?,
        };
        // Column by column, each old column freed once copied: a frame
        // rechunked at once is held twice for a moment. (Left in pieces,
        // the index and the gathers each made copies of their own.)
        let columns = df.take_columns().into_iter().map(|c| c.rechunk()).collect();
        let df = DataFrame::new(columns).map_err(kernel(OP))?;
        let charge = env.budget.reserve(size(&df));
        Ok((df, charge))
    }
}

/// Frames of a [`FrameStore`], in order.
pub struct Frames {
    file: Option<SpillFile>,
    next: usize,
    mem: VecDeque<DataFrame>,
    charge: Reservation,
}

impl Iterator for Frames {
    type Item = Result<DataFrame, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(f) = &self.file {
            if self.next < f.blocks() {
                self.next += 1;
                return Some(f.read(self.next - 1));
            }
        }
        let df = self.mem.pop_front()?;
        let left = self.charge.bytes().saturating_sub(size(&df));
        self.charge.resize(left);
        Some(Ok(df))
    }
}

/// Frames that may be regrouped by key.
pub struct PartitionedStore {
    env: Arc<Env>,
    keys: Vec<Expr>,
    seed: u64,
    mem: Vec<DataFrame>,
    charge: Reservation,
    parts: Vec<SpillFile>,
    schema: Option<DataFrame>,
}

/// A partitioned store at its end.
pub enum Held {
    /// Everything fitted in memory: the frames in push order, and their charge.
    Memory(Vec<DataFrame>, Reservation),
    /// Spilled: one file per part.
    Parts(Vec<SpillFile>),
}

impl PartitionedStore {
    /// An empty store partitioning by `keys` with `seed`.
    pub fn new(env: &Arc<Env>, keys: Vec<Expr>, seed: u64) -> Self {
        PartitionedStore {
            env: env.clone(),
            keys,
            seed,
            mem: Vec::new(),
            charge: env.budget.reserve(0),
            parts: Vec::new(),
            schema: None,
        }
    }

    /// Adds a frame.
    pub fn push(&mut self, df: DataFrame) -> Result<(), Error> {
        if self.schema.is_none() {
            self.schema = Some(df.clear());
        }
        if df.height() == 0 {
            return Ok(());
        }
        let b = size(&df);
        if !self.has_room(b) {
            self.spill()?;
            if !self.has_room(b) {
                return self.write(vec![df]);
            }
        }
        self.charge.grow(b);
        self.mem.push(df);
        Ok(())
    }

    /// A 0-row frame with the columns of the frames, if any was pushed.
    pub fn schema(&self) -> Option<&DataFrame> {
        self.schema.as_ref()
    }

    /// Estimated bytes held in memory.
    pub fn mem_bytes(&self) -> u64 {
        self.charge.bytes()
    }

    /// Whether `bytes` more can be held without spilling, leaving room to
    /// fold or finish what is held: that hashes one key-disjoint piece at a
    /// time, so it needs room for a split copy of the frames beside them,
    /// and the pieces are made as small as the rest of the budget requires.
    pub fn has_room(&self, bytes: u64) -> bool {
        self.env.room_for_work(self.mem_bytes(), bytes, 2)
    }

    /// The run's shared state.
    pub fn env(&self) -> &Arc<Env> {
        &self.env
    }

    /// Takes the frames held in memory (their charge is released).
    pub fn take_mem(&mut self) -> Vec<DataFrame> {
        self.charge.resize(0);
        std::mem::take(&mut self.mem)
    }

    /// Partitions every frame held in memory to disk.
    pub fn spill(&mut self) -> Result<(), Error> {
        let mem = std::mem::take(&mut self.mem);
        self.write(mem)?;
        self.charge.resize(0);
        release_freed_memory();
        Ok(())
    }

    fn write(&mut self, frames: Vec<DataFrame>) -> Result<(), Error> {
        if self.parts.is_empty() {
            self.parts = (0..PARTS).map(|_| self.env.spill.create()).collect::<Result<_, _>>()?;
        }
        // A few frames at a time (splitting copies a frame's rows once):
        // split in parallel, then each part's pieces stacked into one block
        // and the parts compressed and written in parallel.
        let threads = rayon::current_num_threads().max(1);
        let mut frames = frames.into_iter().peekable();
        while frames.peek().is_some() {
            let batch: Vec<DataFrame> = frames.by_ref().take(threads).collect();
            let split: Vec<Vec<DataFrame>> = batch
                .par_iter()
                .map(|df| partition::split(df, &self.keys, PARTS, self.seed))
                .collect::<PolarsResult<_>>()
                .map_err(kernel(OP))?;
            drop(batch);
            let mut by_part: Vec<Vec<DataFrame>> = (0..PARTS).map(|_| Vec::with_capacity(split.len())).collect();
            for pieces in split {
                for (p, piece) in pieces.into_iter().enumerate() {
                    if piece.height() > 0 {
                        by_part[p].push(piece);
                    }
                }
            }
            self.parts.par_iter_mut().zip(by_part).try_for_each(|(file, pieces)| -> Result<(), Error> {
                for mut block in stacked_by_types(pieces).map_err(kernel(OP))? {
                    file.append(&mut block)?;
                }
                Ok(())
            })?;
        }
        Ok(())
    }

    /// Ends the store: the frames in memory, or the parts on disk (what
    /// was still in memory is spilled too).
    pub fn finish(mut self) -> Result<Held, Error> {
        if self.parts.is_empty() {
            let charge = std::mem::replace(&mut self.charge, self.env.budget.reserve(0));
            return Ok(Held::Memory(std::mem::take(&mut self.mem), charge));
        }
        self.spill()?;
        Ok(Held::Parts(std::mem::take(&mut self.parts)))
    }

    /// Ends the store, always with parts on disk (a join's side must be
    /// partitioned like the probe side once that spilled).
    pub fn finish_parts(mut self) -> Result<Vec<SpillFile>, Error> {
        if self.parts.is_empty() {
            self.parts = (0..PARTS).map(|_| self.env.spill.create()).collect::<Result<_, _>>()?;
        }
        self.spill()?;
        Ok(std::mem::take(&mut self.parts))
    }
}

/// `pieces` stacked into one frame per run of equal column types: a group
/// key that came as dictionary ids in some chunks and as strings in others
/// (gathered rows of a holistic aggregate) is written as separate blocks,
/// which the sink reconciles at its finish.
fn stacked_by_types(pieces: Vec<DataFrame>) -> PolarsResult<Vec<DataFrame>> {
    let mut out = Vec::new();
    let mut run: Vec<DataFrame> = Vec::new();
    for piece in pieces {
        if run.last().is_some_and(|last| last.dtypes() != piece.dtypes()) {
            out.push(crate::ops::concat(std::mem::take(&mut run))?);
        }
        run.push(piece);
    }
    if !run.is_empty() {
        out.push(crate::ops::concat(run)?);
    }
    Ok(out)
}

/// Reads every block of a spill file.
pub fn read_all(file: &SpillFile) -> Result<Vec<DataFrame>, Error> {
    (0..file.blocks()).map(|i| file.read(i)).collect()
}
