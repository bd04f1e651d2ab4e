//! A part of a partitioned join that stays too large after re-partitioning
//! (a skewed key: one value holds more rows than the budget) is joined
//! piece by piece, a block-nested loop over its spilled pages:
//!
//! * inner rows: every build page against every probe page;
//! * left/full: probe rows whose key is not among the build side's keys,
//!   with the build columns null;
//! * right/full: build rows whose key is not among the probe side's keys,
//!   with the probe columns null;
//! * semi/anti: probe pages against the build side's distinct keys.
//!
//! Distinct keys of a skewed part are few (that is what skew means), so
//! they fit where the rows do not. Each piece's output goes on at once.

use polars::prelude::*;

use super::spill::SpillFile;
use super::store::{size, Env};
use super::{kernel, Error};
use crate::ops::{concat, JoinSpec};

/// What this module's polars errors are reported as.
const OP: &str = "join";

/// Runs of consecutive blocks of about `target` bytes each.
fn pages(file: &SpillFile, target: u64) -> Vec<std::ops::Range<usize>> {
    let mut out = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for i in 0..file.blocks() {
        bytes += file.block_mem(i);
        if bytes >= target {
            out.push(start..i + 1);
            (start, bytes) = (i + 1, 0);
        }
    }
    if start < file.blocks() {
        out.push(start..file.blocks());
    }
    out
}

fn read_page(file: &SpillFile, page: std::ops::Range<usize>) -> Result<DataFrame, Error> {
    let frames = page.map(|i| file.read(i)).collect::<Result<Vec<_>, _>>()?;
    concat(frames).map_err(kernel(OP))
}

/// Distinct join keys over all pages of `file`.
fn keys_of(spec: &JoinSpec, file: &SpillFile, target: u64) -> Result<DataFrame, Error> {
    let mut keys = Vec::new();
    for page in pages(file, target) {
        keys.push(spec.distinct_keys(read_page(file, page)?).map_err(kernel(OP))?);
    }
    if keys.is_empty() {
        return Ok(DataFrame::empty());
    }
    spec.distinct_keys(concat(keys).map_err(kernel(OP))?).map_err(kernel(OP))
}

/// Joins `probe` with `build` piece by piece. `probe_schema` and
/// `build_schema` are 0-row frames with each side's columns.
pub fn join_in_pieces(
    env: &Env,
    spec: &JoinSpec,
    probe: &SpillFile,
    build: &SpillFile,
    probe_schema: &DataFrame,
    build_schema: &DataFrame,
    out: &mut dyn FnMut(DataFrame) -> Result<(), Error>,
) -> Result<(), Error> {
    // Two pages and their join output at a time.
    let target = (env.budget.limit().saturating_sub(env.headroom) / 16).max(256 << 10);
    let how = spec.how.clone();
    let keys_or_empty = |file: &SpillFile, schema: &DataFrame| -> Result<DataFrame, Error> {
        if file.blocks() == 0 {
            return spec.distinct_keys(schema.clone()).map_err(kernel(OP));
        }
        keys_of(spec, file, target)
    };
    match how {
        JoinType::Semi | JoinType::Anti => {
            let keys = keys_or_empty(build, build_schema)?;
            for page in pages(probe, target) {
                out(spec.join(read_page(probe, page)?, &keys).map_err(kernel(OP))?)?;
            }
            return Ok(());
        }
        _ => {}
    }
    let inner = spec.with_how(JoinType::Inner);
    for bp in pages(build, target) {
        let b = read_page(build, bp)?;
        let _build = env.budget.reserve(size(&b));
        for pp in pages(probe, target) {
            let p = read_page(probe, pp)?;
            let _probe = env.budget.reserve(size(&p));
            out(inner.join(p, &b).map_err(kernel(OP))?)?;
        }
    }
    if matches!(how, JoinType::Left | JoinType::Full) {
        let build_keys = keys_or_empty(build, build_schema)?;
        let left = spec.with_how(JoinType::Left);
        for page in pages(probe, target) {
            let unmatched = spec.rows_without(read_page(probe, page)?, &build_keys).map_err(kernel(OP))?;
            out(left.join(unmatched, build_schema).map_err(kernel(OP))?)?;
        }
    }
    if matches!(how, JoinType::Right | JoinType::Full) {
        let probe_keys = keys_or_empty(probe, probe_schema)?;
        let right = spec.with_how(JoinType::Right);
        for page in pages(build, target) {
            let unmatched = spec.rows_without(read_page(build, page)?, &probe_keys).map_err(kernel(OP))?;
            out(right.join(probe_schema.clone(), &unmatched).map_err(kernel(OP))?)?;
        }
    }
    Ok(())
}
