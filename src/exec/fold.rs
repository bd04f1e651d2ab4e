//! A parallel fold over chunk jobs, for passes that keep their own state
//! instead of frames (e.g. `dq profile`): each chunk folds into a fresh
//! state in parallel, states merge in chunk order.

use polars::prelude::DataFrame;
use rayon::prelude::*;

use super::{Error, WINDOW_PER_THREAD};
use crate::io::{ChunkJob, ReadSettings, Source};

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
    let mut acc = init();
    let mut jobs = jobs.peekable();
    let window = (threads * WINDOW_PER_THREAD).max(2);
    while jobs.peek().is_some() {
        let batch: Vec<ChunkJob> = jobs.by_ref().take(window).collect::<Result<_, _>>()?;
        let states: Vec<Result<T, Error>> = polars_core::POOL.install(|| {
            batch
                .into_par_iter()
                .map(|job| {
                    let df = source.read_chunk(&job, None, None, &[], settings)?;
                    let mut state = init();
                    fold(&mut state, df, job.file)?;
                    Ok(state)
                })
                .collect()
        });
        for s in states {
            merge(&mut acc, s?);
        }
    }
    Ok(acc)
}
