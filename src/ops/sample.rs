//! Random samples that do not depend on scheduling: every row gets a
//! pseudo-random number from (seed, chunk index, row index), so the same
//! seed over the same input and chunk size picks the same rows however
//! threads interleave (as in Dask, the partitioning is part of the input).
//!
//! * [`SampleFraction`] keeps rows whose number falls below the fraction.
//! * [`SampleRows`] keeps the N rows with the smallest numbers: per chunk,
//!   then over all — a uniform sample without replacement (output order is
//!   random).

use polars::prelude::*;

use super::{concat, ChunkCtx, ChunkOp, Sink};

/// SplitMix64: a fast, well-mixed 64-bit hash.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn random_column(seed: u64, chunk: usize, height: usize) -> Vec<u64> {
    let base = mix(seed ^ mix(chunk as u64));
    (0..height as u64).map(|i| mix(base ^ i)).collect()
}

const KEY: &str = "__dq_sample_key";

/// Keeps each row with probability `fraction`.
pub struct SampleFraction {
    /// Probability in (0, 1].
    pub fraction: f64,
    /// Seed.
    pub seed: u64,
}

impl ChunkOp for SampleFraction {
    fn name(&self) -> &'static str {
        "sample"
    }

    fn describe(&self) -> String {
        format!("sample fraction={} seed={}", self.fraction, self.seed)
    }

    fn apply(&self, df: DataFrame, ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        let threshold = (self.fraction * u64::MAX as f64) as u64;
        let mask: BooleanChunked =
            random_column(self.seed, ctx.index, df.height()).into_iter().map(|r| r <= threshold).collect();
        df.filter(&mask)
    }
}

/// Keeps N rows chosen uniformly at random.
pub struct SampleRows {
    /// Rows to keep.
    pub n: u64,
    /// Seed.
    pub seed: u64,
}

impl SampleRows {
    fn smallest(&self, df: DataFrame) -> PolarsResult<DataFrame> {
        let opts = SortMultipleOptions::default();
        let rows = df.height();
        super::detach_few(rows, df.sort([KEY], opts)?.head(Some(self.n as usize)))
    }
}

impl Sink for SampleRows {
    fn name(&self) -> &'static str {
        "sample"
    }

    fn describe(&self) -> String {
        format!("sample rows={} seed={} (n smallest random keys per chunk, then of all)", self.n, self.seed)
    }

    fn partial(&self, mut df: DataFrame, ctx: &ChunkCtx) -> PolarsResult<DataFrame> {
        let keys = Column::new(KEY.into(), random_column(self.seed, ctx.index, df.height()));
        df.with_column(keys)?;
        self.smallest(df)
    }

    fn finish(&self, partials: Vec<DataFrame>, _ctx: &ChunkCtx) -> PolarsResult<Vec<DataFrame>> {
        let mut all = self.smallest(concat(partials)?)?;
        if all.get_column_index(KEY).is_some() {
            all = all.drop(KEY)?;
        }
        Ok(vec![all])
    }
}
