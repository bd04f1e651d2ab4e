//! External sort: sorted runs on disk and their k-way merge.
//!
//! While the chunks fit, they wait in memory (unsorted). When they would
//! not, they are stacked, sorted into one run and written to disk in blocks.
//! At the end the runs are merged: each run has one block in memory; the
//! smallest of the runs' last buffered keys is the *frontier*, every
//! buffered row up to it can be emitted, and the run that defined it loads
//! its next block. Keys are compared in polars' row encoding (bytes whose
//! order is the sort order: descending keys and nulls-last included).
//! Ties are broken by run, and runs are in input order, so the merge is as
//! stable as the in-memory sort. When there are more runs than buffers fit
//! in the budget, groups of runs are merged into longer runs first.

use std::sync::Arc;

use polars::prelude::*;
use polars_core::chunked_array::ops::row_encode::_get_rows_encoded_ca;
use rayon::prelude::*;

use super::memory::Reservation;
use super::spill::{encode, Encoded, SpillFile};
use super::store::{size, Env, WORK_FACTOR};
use super::{kernel, Error};
use crate::ops::{concat, select_rows, SortSpec};

/// What this module's polars errors are reported as.
const OP: &str = "sort merge";

/// Runs merged at once (more need a pass that merges groups of runs first).
const MERGE_FAN_IN: u64 = 64;

/// Chunks waiting in memory, and sorted runs already on disk.
pub struct RunStore {
    env: Arc<Env>,
    spec: SortSpec,
    mem: Vec<DataFrame>,
    charge: Reservation,
    runs: Vec<SpillFile>,
}

impl RunStore {
    /// An empty store sorting by `spec`.
    pub fn new(env: &Arc<Env>, spec: SortSpec) -> Self {
        RunStore { env: env.clone(), spec, mem: Vec::new(), charge: env.budget.reserve(0), runs: Vec::new() }
    }

    /// Bytes a block of a run should take: small enough that the merge can
    /// hold a block (and its keys) of [`MERGE_FAN_IN`] runs in half the
    /// budget, so that one pass merges them all — every extra pass
    /// rewrites the whole input.
    fn block_bytes(&self) -> u64 {
        let usable = self.env.budget.limit().saturating_sub(self.env.headroom) / 2;
        (usable / (2 * MERGE_FAN_IN)).max(64 << 10)
    }

    /// Adds a chunk (chunks arrive in input order).
    pub fn push(&mut self, df: DataFrame) -> Result<(), Error> {
        if df.height() == 0 {
            return Ok(());
        }
        let b = size(&df);
        if !self.env.room_for_work(self.charge.bytes(), b, WORK_FACTOR) {
            self.spill_run()?;
        }
        self.charge.grow(b);
        self.mem.push(df);
        Ok(())
    }

    /// Sorts what is in memory into one run on disk.
    fn spill_run(&mut self) -> Result<(), Error> {
        if self.mem.is_empty() {
            return Ok(());
        }
        let _work = self.env.budget.reserve(self.charge.bytes() * (WORK_FACTOR - 1));
        let sorted = self.spec.sort(concat(std::mem::take(&mut self.mem)).map_err(kernel(OP))?).map_err(kernel(OP))?;
        let block = self.block_bytes();
        let mut file = self.env.spill.create()?;
        write_blocks(&mut file, sorted, block)?;
        self.charge.resize(0);
        self.runs.push(file);
        super::store::release_freed_memory();
        Ok(())
    }

    /// Emits every row in order, in batches.
    pub fn finish(mut self, out: &mut dyn FnMut(DataFrame) -> Result<(), Error>) -> Result<(), Error> {
        // Sorting in memory takes about twice what the partials hold.
        if self.runs.is_empty() && self.env.fits(self.charge.bytes()) {
            let all = concat(std::mem::take(&mut self.mem)).map_err(kernel(OP))?;
            return emit_sorted(all, &self.spec, SORTED_SLICE_ROWS, out);
        }
        self.spill_run()?;
        let block = self.block_bytes();
        // Each run being merged holds a block (and its keys); keep half the
        // budget for the batches being emitted.
        let usable = self.env.budget.limit().saturating_sub(self.env.headroom) / 2;
        let fan_in = ((usable / (block * 2)) as usize).max(2);
        let mut runs = std::mem::take(&mut self.runs);
        let rows = |runs: &[SpillFile]| runs.iter().map(SpillFile::rows).collect::<Vec<_>>();
        while let Some(window) = premerge(&rows(&runs), fan_in) {
            let group: Vec<SpillFile> = runs.drain(window.clone()).collect();
            let mut file = self.env.spill.create()?;
            merge(&self.env, group, &self.spec, &mut |df| write_blocks(&mut file, df, block))?;
            // In the window's place: ties are ordered by run.
            runs.insert(window.start, file);
        }
        merge(&self.env, runs, &self.spec, out)
    }
}

/// The runs (given by their rows, in input order) to merge into one before
/// the final merge of at most `fan_in` runs, or `None` when they all fit it.
///
/// Only as many runs as bring the count down to `fan_in` are merged, and
/// the adjacent ones with the fewest rows: every row merged early is
/// written and read once more. (Merging every group of `fan_in` runs, as
/// before, rewrote the whole input when 84 runs met a fan-in of 64; this
/// rewrites a quarter.) Adjacent, so that the merged run can take their
/// place in the order that breaks ties.
fn premerge(rows: &[usize], fan_in: usize) -> Option<std::ops::Range<usize>> {
    let fan_in = fan_in.max(2);
    if rows.len() <= fan_in {
        return None;
    }
    let k = (rows.len() - fan_in + 1).min(fan_in);
    let start = (0..=rows.len() - k).min_by_key(|&s| rows[s..s + k].iter().sum::<usize>()).unwrap_or(0);
    Some(start..start + k)
}

/// Sorts `all` and hands it to `out`, gathered `slice_rows` rows at a time
/// when its keys are plain columns: each slice's memory is freed (and
/// reused for the next) once it is written, where one gather of every row
/// faulted in and cleared a second copy of the input (16% of `sort -v3, id6
/// | write x.parquet`).
fn emit_sorted(
    all: DataFrame,
    spec: &SortSpec,
    slice_rows: usize,
    out: &mut dyn FnMut(DataFrame) -> Result<(), Error>,
) -> Result<(), Error> {
    let Some(order) = spec.order(&all).map_err(kernel(OP))? else {
        return out(spec.sort(all).map_err(kernel(OP))?);
    };
    // One chunk first (a gather from many chunks joins them anew for every
    // slice), a column at a time.
    let columns: Vec<Column> = all.take_columns().into_iter().map(|c| c.rechunk()).collect();
    let all = DataFrame::new(columns).map_err(kernel(OP))?;
    for start in (0..order.len()).step_by(slice_rows.max(1)) {
        out(all.take(&order.slice(start as i64, slice_rows)).map_err(kernel(OP))?)?;
    }
    Ok(())
}

/// Rows of a sorted frame gathered at a time: a power of two, so a slice
/// makes whole row groups of the Parquet writer's size.
const SORTED_SLICE_ROWS: usize = 1 << 20;

/// Writes a sorted frame as blocks of about `block` bytes, encoding them
/// in parallel.
fn write_blocks(file: &mut SpillFile, df: DataFrame, block: u64) -> Result<(), Error> {
    let rows = df.height();
    if rows == 0 {
        return Ok(());
    }
    let per_row = (size(&df) / rows as u64).max(1);
    let step = ((block / per_row) as usize).clamp(1024, rows.max(1024));
    let encoded: Vec<Result<Option<Encoded>, String>> = (0..rows)
        .step_by(step)
        .collect::<Vec<_>>()
        .into_par_iter()
        .map(|start| encode(&mut df.slice(start as i64, step)))
        .collect();
    for e in encoded {
        let e = e.map_err(|message| file.failed(message))?;
        file.append_encoded(e)?;
    }
    Ok(())
}

/// One run being merged: its current block and that block's encoded keys.
struct Cursor {
    file: SpillFile,
    next_block: usize,
    buf: DataFrame,
    keys: BinaryOffsetChunked,
    start: usize,
    _charge: Reservation,
}

impl Cursor {
    fn remaining(&self) -> usize {
        self.buf.height() - self.start
    }

    /// Loads the next block if the current one is used up; false when done.
    fn refill(&mut self, env: &Arc<Env>, spec: &SortSpec) -> Result<bool, Error> {
        while self.remaining() == 0 {
            if self.next_block >= self.file.blocks() {
                return Ok(false);
            }
            let buf = self.file.read(self.next_block)?;
            self.next_block += 1;
            let keys = encode_keys(&buf, spec)?;
            self._charge = env.budget.reserve(size(&buf) + keys.len() as u64 * 16);
            self.buf = buf;
            self.keys = keys;
            self.start = 0;
        }
        Ok(true)
    }

    fn key(&self, i: usize) -> &[u8] {
        self.keys.get(i).unwrap_or_default()
    }

    /// First position at or after `start` whose key is past the frontier.
    fn cut(&self, frontier: &[u8], inclusive: bool) -> usize {
        let (mut lo, mut hi) = (self.start, self.buf.height());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let k = self.key(mid);
            let before = if inclusive { k <= frontier } else { k < frontier };
            if before {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }
}

/// The sort keys of `df` in row encoding.
fn encode_keys(df: &DataFrame, spec: &SortSpec) -> Result<BinaryOffsetChunked, Error> {
    // Named apart: `sort x, x` would select one name twice.
    let exprs = spec.exprs.iter().enumerate().map(|(i, e)| e.clone().alias(format!("__dq_key{i}"))).collect();
    let keys = select_rows(df.clone(), exprs).map_err(kernel(OP))?;
    let nulls_last = vec![true; spec.descending.len()];
    let ca = _get_rows_encoded_ca("".into(), keys.get_columns(), &spec.descending, &nulls_last).map_err(kernel(OP))?;
    Ok(ca.rechunk().as_ref().clone())
}

/// Merges sorted runs (in input order) into `out`, in batches.
fn merge(
    env: &Arc<Env>,
    runs: Vec<SpillFile>,
    spec: &SortSpec,
    out: &mut dyn FnMut(DataFrame) -> Result<(), Error>,
) -> Result<(), Error> {
    let mut cursors: Vec<Cursor> = runs
        .into_iter()
        .map(|file| Cursor {
            file,
            next_block: 0,
            buf: DataFrame::empty(),
            keys: BinaryOffsetChunked::full_null("".into(), 0),
            start: 0,
            _charge: env.budget.reserve(0),
        })
        .collect();
    loop {
        let mut live = Vec::new();
        for (i, c) in cursors.iter_mut().enumerate() {
            if c.refill(env, spec)? {
                live.push(i);
            }
        }
        let Some(&first) = live.first() else { return Ok(()) };
        // The frontier: the smallest last buffered key, earliest run on ties.
        let mut f = first;
        for &i in &live[1..] {
            let (ci, cf) = (&cursors[i], &cursors[f]);
            if ci.key(ci.buf.height() - 1) < cf.key(cf.buf.height() - 1) {
                f = i;
            }
        }
        let frontier = {
            let c = &cursors[f];
            c.key(c.buf.height() - 1).to_vec()
        };
        let mut pieces = Vec::with_capacity(live.len());
        for &i in &live {
            let c = &mut cursors[i];
            let end = c.cut(&frontier, i <= f);
            if end > c.start {
                pieces.push(c.buf.slice(c.start as i64, end - c.start));
                c.start = end;
            }
        }
        // Stacked in run order, a stable sort orders ties by run, then by
        // position: the order the in-memory sort would give.
        let batch =
            if pieces.len() == 1 { pieces.pop().unwrap_or_default() } else { concat(pieces).map_err(kernel(OP))? };
        out(spec.sort(batch).map_err(kernel(OP))?)?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Plays out the premerges of runs of `rows`: (rows rewritten, runs
    /// left for the final merge).
    fn play(mut rows: Vec<usize>, fan_in: usize) -> (usize, usize) {
        let mut rewritten = 0;
        while let Some(w) = premerge(&rows, fan_in) {
            assert!(w.len() >= 2 && w.len() <= fan_in.max(2), "{w:?}");
            let merged: usize = rows.drain(w.clone()).sum();
            rewritten += merged;
            rows.insert(w.start, merged);
        }
        (rewritten, rows.len())
    }

    #[test]
    fn only_the_runs_over_the_fan_in_are_merged_early() {
        // 84 equal runs at a fan-in of 64: 21 merged into one, then 64 at once.
        assert_eq!(play(vec![10; 84], 64), (210, 64));
        assert_eq!(play(vec![10; 64], 64), (0, 64));
        assert_eq!(play(vec![10; 65], 64), (20, 64));
        // The smallest adjacent runs go first (the short last run among them).
        assert_eq!(premerge(&[9, 9, 9, 9, 1], 4), Some(3..5));
        // Many passes at a tiny fan-in end with at most the fan-in, every row kept.
        for (n, fan_in) in [(200, 64), (1000, 2), (37, 3), (5, 0)] {
            let rows: Vec<usize> = (0..n).map(|i| 5 + i % 7).collect();
            let (rewritten, left) = play(rows.clone(), fan_in);
            assert!(left <= fan_in.max(2), "{n} runs, fan-in {fan_in}: {left} left");
            // Against the old scheme (every group of `fan_in` merged, pass
            // after pass): never more than 1% worse.
            let mut old = rows;
            let mut old_rewritten = 0;
            while old.len() > fan_in.max(2) {
                let groups: Vec<&[usize]> = old.chunks(fan_in.max(2)).collect();
                old_rewritten += groups.iter().filter(|g| g.len() > 1).flat_map(|g| g.iter()).sum::<usize>();
                old = groups.iter().map(|g| g.iter().sum()).collect();
            }
            assert!(rewritten * 100 <= old_rewritten * 101, "{n}/{fan_in}: {rewritten} > {old_rewritten}");
        }
    }

    /// Emitted slice by slice (keys sorted by their bits, nulls or not) or
    /// whole (a key with nulls beside a text too long for bits), the rows
    /// come out as one stable sort of the whole frame orders them.
    #[test]
    fn sorted_slices_stack_up_to_the_whole_sort() {
        let n = 1_000usize;
        let k: Vec<i64> = (0..n).map(|i| ((i * 7919) % 17) as i64).collect();
        let with_nulls: Vec<Option<i64>> = k.iter().map(|&v| (v != 4).then_some(v)).collect();
        let t: Vec<String> = (0..n).map(|i| format!("t{}", (i * 31) % 5)).collect();
        let row: Vec<u32> = (0..n as u32).collect();
        // Ordered as `t` (one long prefix), too long to sort by bits.
        let long: Vec<String> = t.iter().map(|t| format!("a text longer than twelve bytes {t}")).collect();
        let df = df!("k" => &k, "kn" => &with_nulls, "t" => &t, "tl" => &long, "row" => &row).unwrap();
        // Many chunks, as the partials of a scan are.
        let pieces: Vec<DataFrame> = (0..n).step_by(97).map(|s| df.slice(s as i64, 97)).collect();
        for keys in [vec!["k", "t"], vec!["kn", "t"], vec!["kn", "tl"]] {
            let spec = SortSpec {
                exprs: keys.iter().map(|c| col(*c)).collect(),
                descending: vec![true, false],
                labels: vec![],
            };
            // The expected order computed here, row by row: first key
            // descending with nulls last, then t, then input order.
            let first: Vec<Option<i64>> =
                if keys[0] == "k" { k.iter().map(|&v| Some(v)).collect() } else { with_nulls.clone() };
            let mut want: Vec<u32> = row.clone();
            want.sort_by(|&a, &b| {
                let (a, b) = (a as usize, b as usize);
                let by_first = match (first[a], first[b]) {
                    (Some(x), Some(y)) => y.cmp(&x),
                    (None, None) => std::cmp::Ordering::Equal,
                    (None, _) => std::cmp::Ordering::Greater,
                    (_, None) => std::cmp::Ordering::Less,
                };
                by_first.then(t[a].cmp(&t[b])).then(a.cmp(&b))
            });
            let mut got: Vec<DataFrame> = Vec::new();
            emit_sorted(concat(pieces.clone()).unwrap(), &spec, 64, &mut |d| {
                got.push(d);
                Ok(())
            })
            .unwrap();
            let by_bits = keys[1] == "t";
            assert_eq!(got.len(), if by_bits { n.div_ceil(64) } else { 1 }, "{keys:?}");
            let all = concat(got).unwrap();
            let rows: Vec<u32> = all.column("row").unwrap().u32().unwrap().into_no_null_iter().collect();
            assert_eq!(rows, want, "{keys:?}");
            assert_eq!(all.get_column_names(), df.get_column_names(), "{keys:?}");
        }
    }
}
