//! Linear least squares, its outlier-robust variant (Huber weights by IRLS) and leave-one-out.
//!
//! Rows are observations, columns are regressors; the caller adds a column of ones for an intercept.

use nalgebra::{DMatrix, DVector};
use std::fmt;

/// Huber's tuning constant: 95% efficiency for normal errors.
pub const HUBER_K: f64 = 1.345;
const MAX_IRLS_ITERATIONS: usize = 50;

#[derive(Clone, Debug, PartialEq)]
pub enum FitError {
    /// Fewer rows than parameters, or rows of different lengths.
    Shape { rows: usize, columns: usize },
    /// A NaN or infinite value in row `row`.
    NotFinite { row: usize },
    /// The regressors do not determine the parameters (collinear columns).
    Singular,
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FitError::Shape { rows, columns } => {
                write!(f, "cannot fit {columns} parameters to {rows} observations")
            }
            FitError::NotFinite { row } => write!(f, "observation {row} is not a finite number"),
            FitError::Singular => {
                write!(f, "the regressors are collinear; the fit is not determined")
            }
        }
    }
}

impl std::error::Error for FitError {}

/// A fitted linear model.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearFit {
    pub params: Vec<f64>,
    /// measured − fitted, per row.
    pub residuals: Vec<f64>,
    /// The weight each row ended with (1 for plain least squares; below 1 for down-weighted outliers).
    pub weights: Vec<f64>,
    pub rmse: f64,
    /// Coefficient of determination (1 − SS_res / SS_tot); 1 when `y` is constant and fitted exactly.
    pub r2: f64,
}

impl LinearFit {
    pub fn predict(&self, x: &[f64]) -> f64 {
        self.params.iter().zip(x).map(|(p, v)| p * v).sum()
    }
}

fn check(x: &[Vec<f64>], y: &[f64]) -> Result<usize, FitError> {
    let cols = x.first().map_or(0, Vec::len);
    if cols == 0 || x.len() != y.len() || x.len() < cols || x.iter().any(|r| r.len() != cols) {
        return Err(FitError::Shape {
            rows: x.len(),
            columns: cols,
        });
    }
    for (i, (row, v)) in x.iter().zip(y).enumerate() {
        if !v.is_finite() || row.iter().any(|a| !a.is_finite()) {
            return Err(FitError::NotFinite { row: i });
        }
    }
    Ok(cols)
}

fn weighted_solve(x: &[Vec<f64>], y: &[f64], w: &[f64], cols: usize) -> Result<Vec<f64>, FitError> {
    let n = x.len();
    let a = DMatrix::from_fn(n, cols, |i, j| x[i][j] * w[i].sqrt());
    let b = DVector::from_fn(n, |i, _| y[i] * w[i].sqrt());
    let svd = a.svd(true, true);
    let max_sv = svd.singular_values.max();
    let min_sv = svd.singular_values.min();
    if max_sv <= 0.0 || min_sv <= max_sv * 1e-12 {
        return Err(FitError::Singular);
    }
    let sol = svd.solve(&b, 0.0).map_err(|_| FitError::Singular)?;
    Ok(sol.iter().copied().collect())
}

fn finish(x: &[Vec<f64>], y: &[f64], params: Vec<f64>, weights: Vec<f64>) -> LinearFit {
    let residuals: Vec<f64> = x
        .iter()
        .zip(y)
        .map(|(row, v)| v - row.iter().zip(&params).map(|(a, p)| a * p).sum::<f64>())
        .collect();
    let n = y.len() as f64;
    let ss_res: f64 = residuals.iter().map(|r| r * r).sum();
    let mean = y.iter().sum::<f64>() / n;
    let ss_tot: f64 = y.iter().map(|v| (v - mean).powi(2)).sum();
    let r2 = if ss_tot > 0.0 {
        1.0 - ss_res / ss_tot
    } else if ss_res <= f64::EPSILON {
        1.0
    } else {
        0.0
    };
    LinearFit {
        params,
        rmse: (ss_res / n).sqrt(),
        residuals,
        weights,
        r2,
    }
}

/// Ordinary least squares.
pub fn least_squares(x: &[Vec<f64>], y: &[f64]) -> Result<LinearFit, FitError> {
    let cols = check(x, y)?;
    let w = vec![1.0; y.len()];
    let params = weighted_solve(x, y, &w, cols)?;
    Ok(finish(x, y, params, w))
}

/// The median of `v` (0 for an empty slice).
pub fn median(v: &[f64]) -> f64 {
    percentile(v, 50.0)
}

/// The `p`th percentile with linear interpolation between order statistics (numpy's default).
pub fn percentile(v: &[f64], p: f64) -> f64 {
    let mut s: Vec<f64> = v.iter().copied().filter(|a| !a.is_nan()).collect();
    if s.is_empty() {
        return 0.0;
    }
    s.sort_by(f64::total_cmp);
    let rank = (p.clamp(0.0, 100.0) / 100.0) * (s.len() - 1) as f64;
    let lo = rank.floor() as usize;
    let hi = rank.ceil() as usize;
    s[lo] + (s[hi] - s[lo]) * (rank - lo as f64)
}

/// Least squares with Huber weights, re-weighted until the parameters settle. The scale of the
/// residuals is their median absolute deviation (×1.4826), so one wild row cannot set it.
pub fn robust_least_squares(x: &[Vec<f64>], y: &[f64]) -> Result<LinearFit, FitError> {
    let cols = check(x, y)?;
    let mut w = vec![1.0; y.len()];
    let mut params = weighted_solve(x, y, &w, cols)?;
    for _ in 0..MAX_IRLS_ITERATIONS {
        let fit = finish(x, y, params.clone(), w.clone());
        let abs: Vec<f64> = fit.residuals.iter().map(|r| r.abs()).collect();
        let scale = 1.4826 * median(&abs);
        if scale <= f64::EPSILON * (1.0 + median(&y.iter().map(|v| v.abs()).collect::<Vec<_>>())) {
            break;
        }
        let c = HUBER_K * scale;
        w = abs
            .iter()
            .map(|a| if *a <= c { 1.0 } else { c / a })
            .collect();
        let next = weighted_solve(x, y, &w, cols)?;
        let moved = next
            .iter()
            .zip(&params)
            .map(|(a, b)| (a - b).abs() / (1.0 + b.abs()))
            .fold(0.0, f64::max);
        params = next;
        if moved < 1e-10 {
            break;
        }
    }
    Ok(finish(x, y, params, w))
}

/// For each row, the prediction of a model fitted to all the other rows (`None` where that fit
/// is not determined).
pub fn leave_one_out(x: &[Vec<f64>], y: &[f64], robust: bool) -> Vec<Option<f64>> {
    (0..y.len())
        .map(|i| {
            let xs: Vec<Vec<f64>> = x
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, r)| r.clone())
                .collect();
            let ys: Vec<f64> = y
                .iter()
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, v)| *v)
                .collect();
            let fit = if robust {
                robust_least_squares(&xs, &ys)
            } else {
                least_squares(&xs, &ys)
            };
            fit.ok().map(|f| f.predict(&x[i]))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(xs: &[f64]) -> Vec<Vec<f64>> {
        xs.iter().map(|x| vec![*x, 1.0]).collect()
    }

    #[test]
    fn exact_line_is_recovered() {
        // y = 2x + 1 at x = 0..4.
        let x = line(&[0.0, 1.0, 2.0, 3.0, 4.0]);
        let y = [1.0, 3.0, 5.0, 7.0, 9.0];
        let f = least_squares(&x, &y).unwrap();
        assert!((f.params[0] - 2.0).abs() < 1e-9);
        assert!((f.params[1] - 1.0).abs() < 1e-9);
        assert!(f.rmse < 1e-9);
        assert!((f.r2 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn one_outlier_pulls_plain_least_squares_but_not_the_robust_fit() {
        // y = 2x + 1 with the last point moved up by 100.
        let x = line(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0]);
        let mut y: Vec<f64> = (0..8).map(|i| 2.0 * f64::from(i) + 1.0).collect();
        y[7] += 100.0;
        let plain = least_squares(&x, &y).unwrap();
        let robust = robust_least_squares(&x, &y).unwrap();
        assert!((plain.params[0] - 2.0).abs() > 5.0);
        assert!((robust.params[0] - 2.0).abs() < 0.05, "{:?}", robust.params);
        assert!(robust.weights[7] < 0.1);
        assert!(robust.weights[..7].iter().all(|w| *w > 0.99));
    }

    #[test]
    fn collinear_columns_are_an_error() {
        let x = vec![vec![1.0, 2.0], vec![2.0, 4.0], vec![3.0, 6.0]];
        assert_eq!(least_squares(&x, &[1.0, 2.0, 3.0]), Err(FitError::Singular));
    }

    #[test]
    fn too_few_rows_and_nan_are_errors() {
        assert!(matches!(
            least_squares(&[vec![1.0, 1.0]], &[1.0]),
            Err(FitError::Shape { .. })
        ));
        assert_eq!(
            least_squares(&line(&[0.0, 1.0, f64::NAN]), &[1.0, 2.0, 3.0]),
            Err(FitError::NotFinite { row: 2 })
        );
    }

    #[test]
    fn leave_one_out_predicts_held_out_points_on_a_line() {
        let x = line(&[0.0, 1.0, 2.0, 3.0]);
        let y = [1.0, 3.0, 5.0, 7.0];
        let loo = leave_one_out(&x, &y, false);
        for (p, v) in loo.iter().zip(&y) {
            assert!((p.unwrap() - v).abs() < 1e-9);
        }
    }

    #[test]
    fn percentiles_interpolate() {
        let v = [1.0, 2.0, 3.0, 4.0, 10.0];
        assert_eq!(median(&v), 3.0);
        // rank 0.9 * 4 = 3.6 → 4 + 0.6 * (10 - 4) = 7.6
        assert!((percentile(&v, 90.0) - 7.6).abs() < 1e-12);
        assert_eq!(median(&[]), 0.0);
    }
}
