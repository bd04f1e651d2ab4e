//! Dense matrix products for `gram`/`cov`/`corr` and `matmul`, on the
//! `matrixmultiply` crate's packed, cache-blocked kernels (runtime-detected
//! AVX/FMA): a chunk's product runs near the machine's peak instead of as
//! one dot product per pair of columns. Safe wrappers check every length
//! before the raw call.

/// `c` (k x k, row-major) += `XᵀX`, for X of `rows` x k stored column by
/// column in `x` (column j at `x[j * rows..(j + 1) * rows]`).
pub fn add_gram(x: &[f64], rows: usize, k: usize, c: &mut [f64]) {
    assert_eq!(x.len(), rows * k, "gram: X is not rows x k");
    assert_eq!(c.len(), k * k, "gram: C is not k x k");
    if rows == 0 || k == 0 {
        return;
    }
    let (rows_i, k_i) = (stride(rows), stride(k));
    // SAFETY: Xᵀ is k x rows with element (i, r) at x[i * rows + r]; X is
    // rows x k with (r, j) at x[j * rows + r]; C is k x k row-major. The
    // lengths were checked above, so every index is in bounds.
    unsafe {
        matrixmultiply::dgemm(
            k,
            rows,
            k,
            1.0,
            x.as_ptr(),
            rows_i,
            1,
            x.as_ptr(),
            1,
            rows_i,
            1.0,
            c.as_mut_ptr(),
            k_i,
            1,
        );
    }
}

/// `out` (`rows` x m, column by column) = X·W, for X of `rows` x k stored
/// column by column and W of k x m stored row by row.
pub fn matmul(x: &[f64], rows: usize, k: usize, w: &[f64], m: usize, out: &mut [f64]) {
    assert_eq!(x.len(), rows * k, "matmul: X is not rows x k");
    assert_eq!(w.len(), k * m, "matmul: W is not k x m");
    assert_eq!(out.len(), rows * m, "matmul: the output is not rows x m");
    if rows == 0 || m == 0 {
        return;
    }
    if k == 0 {
        out.fill(0.0);
        return;
    }
    let (rows_i, m_i) = (stride(rows), stride(m));
    // SAFETY: X is rows x k with (r, i) at x[i * rows + r]; W is k x m
    // with (i, j) at w[i * m + j]; the output is rows x m with (r, j) at
    // out[j * rows + r]. Lengths checked above; beta = 0 overwrites `out`.
    unsafe {
        matrixmultiply::dgemm(
            rows,
            k,
            m,
            1.0,
            x.as_ptr(),
            1,
            rows_i,
            w.as_ptr(),
            m_i,
            1,
            0.0,
            out.as_mut_ptr(),
            1,
            rows_i,
        );
    }
}

/// A dimension as the signed stride the kernels take (slices are at most
/// `isize::MAX` bytes, so a length always fits).
fn stride(n: usize) -> isize {
    isize::try_from(n).unwrap_or(isize::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn products_equal_the_textbook_loops() {
        let (rows, k, m) = (37, 5, 3);
        let x: Vec<f64> = (0..rows * k).map(|i| ((i * 7919) % 101) as f64 / 7.0 - 6.0).collect();
        let w: Vec<f64> = (0..k * m).map(|i| i as f64 * 0.25 - 1.0).collect();
        let at = |r: usize, j: usize| x[j * rows + r];
        let mut gram = vec![1.0; k * k];
        add_gram(&x, rows, k, &mut gram);
        for i in 0..k {
            for j in 0..k {
                let want = 1.0 + (0..rows).map(|r| at(r, i) * at(r, j)).sum::<f64>();
                assert!((gram[i * k + j] - want).abs() < 1e-9, "gram ({i}, {j})");
            }
        }
        let mut out = vec![f64::NAN; rows * m];
        matmul(&x, rows, k, &w, m, &mut out);
        for r in 0..rows {
            for j in 0..m {
                let want: f64 = (0..k).map(|i| at(r, i) * w[i * m + j]).sum();
                assert!((out[j * rows + r] - want).abs() < 1e-9, "matmul ({r}, {j})");
            }
        }
    }
}
