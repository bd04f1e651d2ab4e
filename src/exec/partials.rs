//! A sink's partials while a pass runs, kept as its [`Spill`] strategy
//! allows, and the finish from memory or part by part from disk.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use polars::prelude::*;
use rayon::prelude::*;

use super::memory::Reservation;
use super::pipe::{Out, Pipe, Run};
use super::runs::RunStore;
use super::spill::SpillFile;
use super::store::{read_all, size, Env, Held, PartitionedStore, PARTS, WORK_FACTOR};
use super::{check, Error};
use crate::ops::{concat, ChunkCtx, Sink, Spill};

/// How many times a part that is still too large is split again.
const MAX_REPARTITIONS: u32 = 3;

/// A sink's partials, kept as its [`Spill`] strategy allows.
pub(super) enum Partials {
    Memory {
        frames: Vec<DataFrame>,
        charge: Reservation,
        compact: bool,
        env: Arc<Env>,
    },
    /// Frames go straight on; `sent` once one did (an empty one goes on only
    /// first, so that an empty result still carries its columns).
    InOrder {
        sent: bool,
    },
    Keyed {
        store: PartitionedStore,
        keys: Vec<Expr>,
        side: Option<usize>,
        compact: bool,
    },
    Runs(RunStore),
}

/// The error when something that must be held at once does not fit.
pub(super) fn too_small(env: &Env, needed: u64, what: &str) -> Error {
    let needed = needed.saturating_add(env.headroom).max(env.budget.used() + needed);
    Error::BudgetTooSmall { needed, limit: env.budget.limit(), what: what.into() }
}

impl Partials {
    pub(super) fn new(env: &Arc<Env>, sink: &dyn Sink) -> Self {
        let spill = sink.spill();
        match spill {
            Spill::InMemory | Spill::Compact => Partials::Memory {
                frames: Vec::new(),
                charge: env.budget.reserve(0),
                compact: matches!(spill, Spill::Compact),
                env: env.clone(),
            },
            Spill::InOrder => Partials::InOrder { sent: false },
            Spill::ByKeys { keys, side } => {
                let compact = sink.can_compact();
                Partials::Keyed { store: PartitionedStore::new(env, keys.clone(), 0), keys, side, compact }
            }
            Spill::SortedRuns(spec) => Partials::Runs(RunStore::new(env, spec)),
        }
    }

    pub(super) fn push(&mut self, pipe: &Pipe, df: DataFrame, out: Out) -> Result<(), Error> {
        match self {
            Partials::InOrder { sent } => {
                if df.height() > 0 || !*sent {
                    *sent = true;
                    out(df)?;
                }
                Ok(())
            }
            Partials::Keyed { store, compact, keys, .. } => {
                let b = size(&df);
                if *compact && !store.has_room(b) && store.mem_bytes() > 0 {
                    // Fold what is held before spilling it; stop trying once
                    // folding no longer halves it (e.g. nearly unique keys).
                    let held = store.take_mem();
                    let before: u64 = held.iter().map(size).sum();
                    // The held frames stay charged while they are folded,
                    // key-disjoint pieces side by side when the sink folds on
                    // one thread (rayon runs at most a thread's worth at once).
                    let env = store.env().clone();
                    let _held = env.budget.reserve(before);
                    let threads = piece_threads(pipe.sink);
                    let pieces =
                        by_key_pieces(&env, held, keys, before, threads).map_err(|e| pipe.compute("spill", e))?;
                    let _work = hash_work(&env, before, pieces.len(), threads);
                    let sink = &pipe.sink;
                    let folded: Vec<PolarsResult<DataFrame>> = pieces
                        .into_par_iter()
                        // Its own text, not views into all the held frames' text.
                        .map(|piece| sink.compact(piece).map(crate::ops::detach_text))
                        .collect();
                    let folded = folded
                        .into_iter()
                        .collect::<PolarsResult<Vec<_>>>()
                        .map_err(|e| pipe.compute(pipe.sink.name(), e))?;
                    *compact = folded.iter().map(size).sum::<u64>() * 2 <= before;
                    drop(_held);
                    for df in folded {
                        store.push(df)?;
                    }
                    super::store::release_freed_memory();
                }
                store.push(df)
            }
            Partials::Runs(store) => store.push(df),
            Partials::Memory { frames, charge, compact, env } => {
                let b = size(&df);
                if *compact && !frames.is_empty() && !env.room_for(b) {
                    // Fold what is held into one partial, in memory.
                    let ctx = ChunkCtx { index: 0, side: pipe.sides, lane: None };
                    let held = std::mem::take(frames);
                    *frames = pipe.sink.finish(held, &ctx).map_err(|e| pipe.compute(pipe.sink.name(), e))?;
                    charge.resize(frames.iter().map(size).sum());
                }
                if !env.fits(b) {
                    let what = format!("{} keeps its partial results in memory", pipe.sink.name());
                    return Err(too_small(env, charge.bytes() + b, &what));
                }
                frames.push(df);
                charge.grow(b);
                Ok(())
            }
        }
    }

    pub(super) fn finish(self, pipe: &mut Pipe, run: &Run, out: Out) -> Result<(), Error> {
        let env = run.env;
        match self {
            Partials::InOrder { .. } => Ok(()),
            Partials::Memory { frames, charge: _charge, .. } => {
                let ctx = ChunkCtx { index: 0, side: pipe.sides, lane: None };
                for df in pipe.sink.finish(frames, &ctx).map_err(|e| pipe.compute(pipe.sink.name(), e))? {
                    out(df)?;
                }
                Ok(())
            }
            Partials::Runs(store) => store.finish(out),
            Partials::Keyed { store, keys, side, .. } => {
                let big = pipe.big_side.take();
                let schema = store.schema().cloned().unwrap_or_default();
                // Finishing in memory needs room for a split copy of the
                // partials, then hashed piece by piece (a join finishes
                // whole: WORK_FACTOR times the partials), the partials being
                // charged already: partition to disk when that won't fit.
                let work = if side.is_some() { store.mem_bytes() * (WORK_FACTOR - 1) } else { store.mem_bytes() };
                let in_memory = big.is_none() && env.fits(work);
                let held = if in_memory { store.finish()? } else { Held::Parts(store.finish_parts()?) };
                match held {
                    Held::Memory(mut frames, charge) => {
                        if frames.is_empty() {
                            // Every partial was empty: finish over the columns alone,
                            // so the output has its columns and no rows.
                            frames.push(schema.clone());
                        }
                        // A sink with a side input (a join) finishes whole: its
                        // unmatched side rows must be found once. Others finish
                        // key-disjoint pieces, one per thread at a time.
                        let threads = piece_threads(pipe.sink);
                        let pieces = if side.is_some() {
                            vec![frames]
                        } else {
                            by_key_pieces(env, frames, &keys, charge.bytes(), threads)
                                .map_err(|e| pipe.compute("spill", e))?
                        };
                        let _work = hash_work(env, charge.bytes(), pieces.len(), threads);
                        let mut pieces = pieces.into_iter().enumerate().peekable();
                        while pieces.peek().is_some() {
                            let batch: Vec<(usize, Vec<DataFrame>)> = pieces.by_ref().take(threads).collect();
                            let sink = &pipe.sink;
                            let sides = pipe.sides;
                            let outputs: Vec<PolarsResult<Vec<DataFrame>>> = batch
                                .into_par_iter()
                                .map(|(index, piece)| sink.finish(piece, &ChunkCtx { index, side: sides, lane: None }))
                                .collect();
                            for output in outputs {
                                for df in output.map_err(|e| pipe.compute(pipe.sink.name(), e))? {
                                    out(df)?;
                                }
                            }
                        }
                        drop(charge);
                        Ok(())
                    }
                    Held::Parts(parts) => {
                        // The side joined part by part is partitioned the same way.
                        let side_parts = match side {
                            None => None,
                            Some(k) => {
                                let schema = pipe.sides[k].clear();
                                let parts = match big {
                                    Some((_, frames)) => partition(env, &keys, 0, frames.into_frames())?,
                                    None => partition(env, &keys, 0, std::iter::once(Ok(pipe.sides[k].clone())))?,
                                };
                                Some(Side { index: k, parts, schema })
                            }
                        };
                        finish_parts(pipe, run, &keys, 0, parts, side_parts, &schema, out)
                    }
                }
            }
        }
    }
}

/// Memory that hashing frames by key (folding partials, a group-by's or a
/// distinct's finish) takes per byte of the frames, beyond the frames
/// themselves: measured on nearly unique text keys, where polars' hash
/// tables, group index vectors and row encodings of 10 MiB of partials
/// took ~90 MiB at 2 threads.
const HASH_WORK_FACTOR: u64 = 9;

/// Splits `frames` (`bytes` in memory) into key-disjoint pieces small
/// enough that hashing `threads` of them at a time fits in what the budget
/// has free, and into at least `PIECES_PER_THREAD` pieces a thread when there are enough rows
/// to keep every thread busy; one piece (the frames as they are) when that
/// is all it takes. Sinks that work by key give the same result piece by
/// piece, only in another row order, and order is defined only when the
/// whole fits.
fn by_key_pieces(
    env: &Env,
    frames: Vec<DataFrame>,
    keys: &[Expr],
    bytes: u64,
    threads: usize,
) -> PolarsResult<Vec<Vec<DataFrame>>> {
    let free = env.budget.limit().saturating_sub(env.budget.used()).max(1 << 20);
    let rows: usize = frames.iter().map(DataFrame::height).sum();
    // Several pieces a thread: pieces finish at different speeds, and with
    // one each a thread sat idle for the last 0.75 s of h2o q10. Pieces
    // finished one at a time gain nothing, and would give up the arrival
    // order a window keeps when its input fits.
    let for_threads = if rows >= PARALLEL_FINISH_ROWS && threads > 1 { threads * PIECES_PER_THREAD } else { 1 };
    let needed = bytes.saturating_mul(HASH_WORK_FACTOR * threads as u64).div_ceil(free).max(for_threads as u64);
    let pieces = needed.clamp(1, PARTS as u64) as usize;
    if pieces == 1 || rows == 0 {
        return Ok(vec![frames]);
    }
    let mut groups = super::partition::split_frames(frames, keys, pieces, PIECE_SEED)?;
    groups.retain(|g| !g.is_empty());
    Ok(groups)
}

/// Threads that finish or fold key-disjoint pieces side by side: all of
/// them for a sink whose own finish runs on one thread, else one.
fn piece_threads(sink: &dyn Sink) -> usize {
    if sink.finishes_on_one_thread() {
        rayon::current_num_threads().max(1)
    } else {
        1
    }
}

/// The hashing work of `threads` of `pieces` pieces of `bytes` at once.
fn hash_work(env: &Env, bytes: u64, pieces: usize, threads: usize) -> Reservation {
    let at_once = threads.min(pieces).max(1) as u64;
    env.budget.reserve(bytes / pieces.max(1) as u64 * HASH_WORK_FACTOR * at_once)
}

/// Key-disjoint pieces per thread when there are rows enough to split.
const PIECES_PER_THREAD: usize = 4;

/// Partials with fewer rows finish as one piece (splitting costs more than
/// a second thread saves).
const PARALLEL_FINISH_ROWS: usize = 200_000;

/// The hash seed of in-memory pieces (the spill parts use seed 0 and
/// re-partitioning small ones; another seed keeps the two splits independent).
const PIECE_SEED: u64 = 0x5EED_0FF1_ECE5;

/// A side input partitioned like the probe side.
struct Side {
    index: usize,
    parts: Vec<SpillFile>,
    /// A 0-row frame with its columns.
    schema: DataFrame,
}

/// Finishes a spilled, partitioned input part by part; a part too large
/// to finish in memory is split again with another seed, and a join's
/// part still too large after that is joined piece by piece.
#[allow(clippy::too_many_arguments)]
fn finish_parts(
    pipe: &Pipe,
    run: &Run,
    keys: &[Expr],
    depth: u32,
    parts: Vec<SpillFile>,
    side: Option<Side>,
    schema: &DataFrame,
    out: Out,
) -> Result<(), Error> {
    let env = run.env;
    let (side_index, side_schema, mut side_parts) = match side {
        Some(s) => (Some(s.index), s.schema, s.parts.into_iter().map(Some).collect()),
        None => (None, DataFrame::empty(), Vec::new()),
    };
    let count = parts.len();
    for (p, part) in parts.into_iter().enumerate() {
        check(run.config)?;
        if depth == 0 {
            run.progress.set_phase(format!("combining part {}/{count} from disk", p + 1));
        }
        let side_part: Option<SpillFile> = side_parts.get_mut(p).and_then(Option::take);
        let side_rows = side_part.as_ref().map_or(0, |s| s.rows());
        if part.rows() == 0 && side_rows == 0 {
            continue;
        }
        let bytes = part.mem_bytes() + side_part.as_ref().map_or(0, |s| s.mem_bytes());
        // Finishing holds the part, its hash table and its output.
        let need = bytes.saturating_mul(WORK_FACTOR);
        if !env.room_for(need) {
            if depth < MAX_REPARTITIONS {
                // Split this part again, with a seed the first split did not use.
                let seed = u64::from(depth + 1) * 0x9E37_79B9 + p as u64;
                let sub_parts = partition(env, keys, seed, blocks(part))?;
                let sub_side = match (side_index, side_part) {
                    (Some(k), Some(s)) => Some(Side {
                        index: k,
                        parts: partition(env, keys, seed, blocks(s))?,
                        schema: side_schema.clone(),
                    }),
                    _ => None,
                };
                finish_parts(pipe, run, keys, depth + 1, sub_parts, sub_side, schema, out)?;
                continue;
            }
            // An as-of join's left row needs all right rows of its key at once.
            let pieces = pipe.sink.as_join().filter(|spec| spec.asof.is_none());
            if let (Some(spec), Some(s)) = (pieces, &side_part) {
                env.skewed_parts.fetch_add(1, Ordering::Relaxed);
                super::skew::join_in_pieces(env, spec, &part, s, schema, &side_schema, out)?;
                continue;
            }
            if !env.fits(need) {
                let what = format!(
                    "one key of {} holds more rows than fit (a part stays too large after {MAX_REPARTITIONS} re-partitionings)",
                    pipe.sink.name()
                );
                return Err(too_small(env, need, &what));
            }
        }
        let _charge = env.budget.reserve(need);
        let mut frames = read_all(&part)?;
        if frames.is_empty() {
            frames.push(schema.clone());
        }
        drop(part);
        let mut sides = pipe.sides.to_vec();
        if let (Some(k), Some(s)) = (side_index, side_part) {
            let blocks = read_all(&s)?;
            sides[k] = if blocks.is_empty() {
                side_schema.clone()
            } else {
                concat(blocks).map_err(|e| pipe.compute("join", e))?
            };
        }
        let ctx = ChunkCtx { index: p, side: &sides, lane: None };
        for df in pipe.sink.finish(frames, &ctx).map_err(|e| pipe.compute(pipe.sink.name(), e))? {
            out(df)?;
        }
        drop(sides);
        super::store::release_freed_memory();
    }
    Ok(())
}

/// The blocks of a spill file, read one at a time (the file is deleted
/// once they are all read).
fn blocks(file: SpillFile) -> impl Iterator<Item = Result<DataFrame, Error>> {
    (0..file.blocks()).map(move |i| file.read(i))
}

/// Hash-partitions frames by `keys` with `seed` into spill files.
fn partition(
    env: &Arc<Env>,
    keys: &[Expr],
    seed: u64,
    frames: impl Iterator<Item = Result<DataFrame, Error>>,
) -> Result<Vec<SpillFile>, Error> {
    let mut store = PartitionedStore::new(env, keys.to_vec(), seed);
    for f in frames {
        store.push(f?)?;
    }
    store.finish_parts()
}
