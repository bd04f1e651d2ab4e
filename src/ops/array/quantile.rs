//! Exact quantiles the way NumPy computes them by default (`np.quantile`,
//! method "linear"): the value at position q·(n − 1) of the sorted values,
//! interpolated between its neighbours; NaN when any value is NaN (as
//! `np.median`); none of no values. Found by selection, not a full sort.

/// The `q` quantile (0 ≤ q ≤ 1) of `values`, which it reorders.
pub fn quantile(values: &mut [f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    if values.iter().any(|v| v.is_nan()) {
        return Some(f64::NAN);
    }
    let pos = q * (values.len() - 1) as f64;
    let lo = (pos.floor() as usize).min(values.len() - 1);
    let t = pos - lo as f64;
    let (_, &mut a, above) = values.select_nth_unstable_by(lo, f64::total_cmp);
    if t == 0.0 || above.is_empty() {
        return Some(a);
    }
    let b = above.iter().copied().fold(f64::INFINITY, f64::min);
    // NumPy's `_lerp`: from the nearer end, so that t = 1 gives b exactly.
    let d = b - a;
    Some(if t >= 0.5 { b - d * (1.0 - t) } else { a + d * t })
}

#[cfg(test)]
mod tests {
    use super::quantile;

    #[test]
    fn quantiles_match_numpys_linear_method() {
        // np.quantile([7, 1, 3, 5], [0, .25, .5, .9, 1]) = [1, 2.5, 4, 6.4, 7]
        for (q, want) in [(0.0, 1.0), (0.25, 2.5), (0.5, 4.0), (0.9, 6.4), (1.0, 7.0)] {
            let got = quantile(&mut [7.0, 1.0, 3.0, 5.0], q).unwrap();
            assert!((got - want).abs() < 1e-12, "q {q}: {got} vs {want}");
        }
        assert_eq!(quantile(&mut [2.0], 0.5), Some(2.0));
        assert_eq!(quantile(&mut [], 0.5), None);
        assert!(quantile(&mut [1.0, f64::NAN], 0.5).unwrap().is_nan());
    }
}
