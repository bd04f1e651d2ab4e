//! A parallel fold over chunk jobs, for passes that keep their own state
//! instead of frames (e.g. `dq profile`): one state per thread ("lane"),
//! each lane folding its share of the chunks in order, the lanes' states
//! merged once at the end.
//!
//! Chunk `i` goes to lane `i % lanes`, so which chunks share a state does
//! not depend on scheduling: the same input and thread count give the same
//! result, also where a state's summaries are approximate (pruned frequent
//! values, t-digests). A fresh state per chunk merged into one on the main
//! thread, as before, spent half of a profile's time in those merges while
//! the workers waited.

use polars::prelude::DataFrame;
use rayon::prelude::*;

use super::Error;
use crate::io::{ChunkJob, ReadSettings, Source};

/// Jobs handed to each lane at a time.
const JOBS_PER_LANE: usize = 2;

/// Folds every job's chunk into a `T`.
///
/// # Errors
/// The first read or fold error.
pub fn fold_chunks<T: Send>(
    source: &Source,
    jobs: impl Iterator<Item = crate::io::Result<ChunkJob>>,
    settings: &ReadSettings,
    threads: usize,
    init: impl Fn() -> T + Sync,
    fold: impl Fn(&mut T, DataFrame, usize) -> Result<(), Error> + Sync,
    merge: impl Fn(&mut T, T),
) -> Result<T, Error> {
    let lanes = threads.max(1);
    let mut states: Vec<T> = (0..lanes).map(|_| init()).collect();
    let mut jobs = jobs.peekable();
    // Jobs are cut (their bytes read for record boundaries) when taken:
    // a few per lane keeps that much of a text file resident, not a
    // pipeline's window of them.
    let window = lanes * JOBS_PER_LANE;
    let mut seen = 0usize;
    while jobs.peek().is_some() {
        let batch: Vec<ChunkJob> = jobs.by_ref().take(window).collect::<Result<_, _>>()?;
        let mut per_lane: Vec<Vec<ChunkJob>> = (0..lanes).map(|_| Vec::new()).collect();
        for (i, job) in batch.into_iter().enumerate() {
            per_lane[(seen + i) % lanes].push(job);
        }
        seen += per_lane.iter().map(Vec::len).sum::<usize>();
        polars_core::POOL.install(|| {
            states.par_iter_mut().zip(per_lane).try_for_each(|(state, jobs)| -> Result<(), Error> {
                for job in jobs {
                    let df = source.read_chunk(&job, None, None, &[], settings)?;
                    fold(state, df, job.file)?;
                }
                Ok(())
            })
        })?;
    }
    let mut states = states.into_iter();
    let mut acc = states.next().unwrap_or_else(&init);
    for s in states {
        merge(&mut acc, s);
    }
    Ok(acc)
}
