//! Running moments of a set of numbers: count, sum, mean, M2 (for the
//! variance), min and max, merged across chunks by Chan et al.'s formula so
//! that the variance stays exact for values with a large offset (1e9 ± 1)
//! where a sum of squares would cancel. Integer inputs also keep an exact
//! `i128` sum and exact `i64` extremes.

/// The moments of some values.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Moments {
    /// Values counted (nulls are not).
    pub n: u64,
    /// Their mean (0 when `n == 0`).
    pub mean: f64,
    /// Sum of squared deviations from the mean.
    pub m2: f64,
    /// Sum, as floats.
    pub sum: f64,
    /// Smallest and largest values, as floats (NaN ignored).
    pub min: f64,
    /// See `min`.
    pub max: f64,
    /// Whether a NaN was seen (NumPy's `min`/`max` return NaN then).
    pub nan: bool,
    /// Exact sum and extremes of integer inputs.
    pub ints: Option<IntMoments>,
}

/// Exact integer sum and extremes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct IntMoments {
    /// Exact sum.
    pub sum: i128,
    /// Smallest value.
    pub min: i64,
    /// Largest value.
    pub max: i64,
}

impl Moments {
    /// No values yet; `ints` when the inputs are integers.
    pub fn empty(ints: bool) -> Self {
        Moments {
            n: 0,
            mean: 0.0,
            m2: 0.0,
            sum: 0.0,
            min: f64::INFINITY,
            max: f64::NEG_INFINITY,
            nan: false,
            ints: ints.then_some(IntMoments { sum: 0, min: i64::MAX, max: i64::MIN }),
        }
    }

    /// The moments of a slice of floats, in two passes (mean first, then
    /// squared deviations from it), with several accumulators so the loops
    /// vectorize.
    pub fn of_floats(values: &[f64]) -> Self {
        let mut m = Moments::empty(false);
        if values.is_empty() {
            return m;
        }
        let sum = lanes(values, |acc, v| acc + v);
        let mean = sum / values.len() as f64;
        let m2 = lanes(values, |acc, v| acc + (v - mean) * (v - mean));
        let lo = lanes_init(values, f64::INFINITY, |acc, v| if v < acc { v } else { acc }, f64::min);
        let hi = lanes_init(values, f64::NEG_INFINITY, |acc, v| if v > acc { v } else { acc }, f64::max);
        // NaN compares false, so the extremes skipped it; it is remembered
        // apart (the sum is NaN exactly when a value is NaN or ∞ − ∞).
        let nan = sum.is_nan() && values.iter().any(|v| v.is_nan());
        m.n = values.len() as u64;
        (m.mean, m.m2, m.sum, m.min, m.max, m.nan) = (mean, m2, sum, lo, hi, nan);
        m
    }

    /// The moments of a slice of integers (exact sum and extremes).
    pub fn of_ints(values: &[i64]) -> Self {
        let mut m = Moments::empty(true);
        if values.is_empty() {
            return m;
        }
        let sum: i128 = values.iter().map(|&v| v as i128).sum();
        let mean = sum as f64 / values.len() as f64;
        let floats = |v: i64| v as f64 - mean;
        let m2 = values.iter().map(|&v| floats(v) * floats(v)).sum();
        let lo = values.iter().copied().min().unwrap_or(i64::MAX);
        let hi = values.iter().copied().max().unwrap_or(i64::MIN);
        m.n = values.len() as u64;
        (m.mean, m.m2, m.sum, m.min, m.max) = (mean, m2, sum as f64, lo as f64, hi as f64);
        m.ints = Some(IntMoments { sum, min: lo, max: hi });
        m
    }

    /// Both sets of values together (Chan et al.).
    pub fn merge(&self, other: &Moments) -> Moments {
        if other.n == 0 {
            return Moments { ints: merge_ints(self.ints, other.ints), ..*self };
        }
        if self.n == 0 {
            return Moments { ints: merge_ints(self.ints, other.ints), ..*other };
        }
        let n = self.n + other.n;
        let delta = other.mean - self.mean;
        let share = other.n as f64 / n as f64;
        Moments {
            n,
            mean: self.mean + delta * share,
            m2: self.m2 + other.m2 + delta * delta * self.n as f64 * share,
            sum: self.sum + other.sum,
            min: if other.min < self.min { other.min } else { self.min },
            max: if other.max > self.max { other.max } else { self.max },
            nan: self.nan || other.nan,
            ints: merge_ints(self.ints, other.ints),
        }
    }

    /// Variance with `ddof` degrees of freedom removed (None when too few values).
    pub fn variance(&self, ddof: u64) -> Option<f64> {
        (self.n > ddof).then(|| self.m2 / (self.n - ddof) as f64)
    }
}

fn merge_ints(a: Option<IntMoments>, b: Option<IntMoments>) -> Option<IntMoments> {
    match (a, b) {
        (Some(a), Some(b)) => Some(IntMoments { sum: a.sum + b.sum, min: a.min.min(b.min), max: a.max.max(b.max) }),
        _ => None,
    }
}

/// Folds `values` with `f` into eight independent accumulators, then sums
/// them: the loop vectorizes and the rounding error grows more slowly than
/// with one running total.
fn lanes(values: &[f64], f: impl Fn(f64, f64) -> f64) -> f64 {
    lanes_init(values, 0.0, f, |a, b| a + b)
}

/// [`lanes`] from `init`, the accumulators combined with `join`.
fn lanes_init(values: &[f64], init: f64, f: impl Fn(f64, f64) -> f64, join: impl Fn(f64, f64) -> f64) -> f64 {
    let mut acc = [init; 8];
    let mut chunks = values.chunks_exact(8);
    for c in &mut chunks {
        for i in 0..8 {
            acc[i] = f(acc[i], c[i]);
        }
    }
    let mut tail = init;
    for &v in chunks.remainder() {
        tail = f(tail, v);
    }
    let halves = (join(join(acc[0], acc[4]), join(acc[1], acc[5])), join(join(acc[2], acc[6]), join(acc[3], acc[7])));
    join(join(halves.0, halves.1), tail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merged_moments_of_pieces_equal_the_moments_of_the_whole_near_1e9() {
        let values: Vec<f64> = (0..1000).map(|i| 1e9 + ((i * 7919) % 1000) as f64 / 1000.0).collect();
        let whole = Moments::of_floats(&values);
        let mut merged = Moments::empty(false);
        for piece in values.chunks(37) {
            merged = merged.merge(&Moments::of_floats(piece));
        }
        let mean = values.iter().sum::<f64>() / 1000.0;
        let var = values.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / 999.0;
        for m in [whole, merged] {
            assert_eq!(m.n, 1000);
            assert!((m.mean - mean).abs() < 1e-6);
            assert!((m.variance(1).unwrap() - var).abs() / var < 1e-6, "{} vs {var}", m.variance(1).unwrap());
        }
    }

    #[test]
    fn integer_sums_and_extremes_stay_exact_past_2_pow_53() {
        let values = [i64::MAX, i64::MAX, i64::MIN + 1, 3];
        let mut merged = Moments::empty(true);
        for piece in values.chunks(1) {
            merged = merged.merge(&Moments::of_ints(piece));
        }
        let ints = merged.ints.unwrap();
        assert_eq!(ints.sum, i64::MAX as i128 * 2 + (i64::MIN + 1) as i128 + 3);
        assert_eq!((ints.min, ints.max), (i64::MIN + 1, i64::MAX));
    }

    #[test]
    fn nan_is_remembered_and_empty_sets_have_no_variance() {
        let m = Moments::of_floats(&[1.0, f64::NAN, 3.0]);
        assert!(m.nan && m.sum.is_nan());
        assert_eq!((m.min, m.max), (1.0, 3.0));
        assert_eq!(Moments::empty(false).variance(1), None);
        assert_eq!(Moments::of_floats(&[2.0]).variance(1), None);
        assert_eq!(Moments::of_floats(&[2.0]).variance(0), Some(0.0));
    }
}
