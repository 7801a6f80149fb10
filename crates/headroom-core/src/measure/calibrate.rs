//! Memory calibration: per quantity, the line that best maps predicted bytes onto measured bytes
//! (`measured ≈ scale × predicted + offset`), fitted robustly, with its leave-one-out error.

use super::regression::{leave_one_out, median, robust_least_squares};
use super::validate::{Observation, Quantity};
use serde::{Deserialize, Serialize};

/// The version of the calibration profile layout.
pub const MEMORY_CALIBRATION_SCHEMA: u32 = 1;

/// Fewer observations than this fit an offset only (scale 1).
pub const MIN_ROWS_FOR_SCALE: usize = 4;

/// The fitted correction of one quantity.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemoryCorrection {
    pub quantity: Quantity,
    pub scale: f64,
    pub offset_bytes: f64,
    pub n: usize,
    /// Root-mean-square residual of the fit, bytes.
    pub rmse_bytes: f64,
    /// Median absolute error of the uncorrected predictions, percent.
    pub median_abs_pct_before: f64,
    /// Median absolute error of the corrected predictions on the rows fitted, percent.
    pub median_abs_pct_after: f64,
    /// Median absolute error when each row is predicted by a fit to the others, percent.
    pub loo_median_abs_pct: Option<f64>,
    /// Rows the robust fit down-weighted below one half (likely outliers).
    pub outliers: Vec<String>,
}

impl MemoryCorrection {
    pub fn apply(&self, predicted_bytes: f64) -> f64 {
        (self.scale * predicted_bytes + self.offset_bytes).max(0.0)
    }
}

/// A memory calibration profile for one runtime on one device (either may be left open).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MemoryCalibration {
    pub schema: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runtime: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub device: Option<String>,
    pub corrections: Vec<MemoryCorrection>,
    /// Quantities left uncorrected, with the reason.
    pub notes: Vec<String>,
}

impl MemoryCalibration {
    /// The corrected prediction of `q` (unchanged where the profile has no correction for it).
    pub fn apply(&self, q: Quantity, predicted_bytes: f64) -> f64 {
        self.corrections
            .iter()
            .find(|c| c.quantity == q)
            .map_or(predicted_bytes, |c| c.apply(predicted_bytes))
    }
}

fn pct(pred: f64, meas: f64) -> Option<f64> {
    (meas != 0.0).then(|| ((pred - meas) / meas * 100.0).abs())
}

const MIB: f64 = 1024.0 * 1024.0;

fn fit_one(q: Quantity, rows: &[&Observation]) -> Result<MemoryCorrection, String> {
    let xs: Vec<f64> = rows.iter().map(|o| o.predicted / MIB).collect();
    let ys: Vec<f64> = rows.iter().map(|o| o.measured / MIB).collect();
    let spread = xs.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        - xs.iter().copied().fold(f64::INFINITY, f64::min);
    let with_scale = rows.len() >= MIN_ROWS_FOR_SCALE && spread > 1e-6;
    let (design, ys_fit): (Vec<Vec<f64>>, Vec<f64>) = if with_scale {
        (xs.iter().map(|x| vec![*x, 1.0]).collect(), ys.clone())
    } else {
        // Offset only: fit measured − predicted to a constant.
        (
            xs.iter().map(|_| vec![1.0]).collect(),
            ys.iter().zip(&xs).map(|(y, x)| y - x).collect(),
        )
    };
    let fit = robust_least_squares(&design, &ys_fit).map_err(|e| e.to_string())?;
    let (scale, offset) = if with_scale {
        (fit.params[0], fit.params[1])
    } else {
        (1.0, fit.params[0])
    };
    let before: Vec<f64> = rows
        .iter()
        .filter_map(|o| pct(o.predicted, o.measured))
        .collect();
    let after: Vec<f64> = xs
        .iter()
        .zip(&ys)
        .filter_map(|(x, y)| pct(scale * x + offset, *y))
        .collect();
    let loo = leave_one_out(&design, &ys_fit, true);
    let loo_err: Vec<f64> = loo
        .iter()
        .zip(xs.iter().zip(&ys))
        .filter_map(|(p, (x, y))| {
            let p = (*p)?;
            let pred = if with_scale { p } else { x + p };
            pct(pred, *y)
        })
        .collect();
    Ok(MemoryCorrection {
        quantity: q,
        scale,
        offset_bytes: offset * MIB,
        n: rows.len(),
        rmse_bytes: fit.rmse * MIB,
        median_abs_pct_before: median(&before),
        median_abs_pct_after: median(&after),
        loo_median_abs_pct: (!loo_err.is_empty()).then(|| median(&loo_err)),
        outliers: rows
            .iter()
            .zip(&fit.weights)
            .filter(|(_, w)| **w < 0.5)
            .map(|(o, _)| o.label.clone())
            .collect(),
    })
}

/// Fits one correction per memory quantity present in `observations`.
pub fn calibrate_memory(
    observations: &[Observation],
    runtime: Option<String>,
    device: Option<String>,
) -> MemoryCalibration {
    let mut corrections = Vec::new();
    let mut notes = Vec::new();
    for q in Quantity::ALL.into_iter().filter(|q| q.is_memory()) {
        let rows: Vec<&Observation> = observations
            .iter()
            .filter(|o| o.quantity == q && o.measured.is_finite() && o.predicted.is_finite())
            .collect();
        if rows.len() < 2 {
            if !rows.is_empty() {
                notes.push(format!("{}: one observation is too few to fit", q.name()));
            }
            continue;
        }
        match fit_one(q, &rows) {
            Ok(c) => corrections.push(c),
            Err(e) => notes.push(format!("{}: {e}", q.name())),
        }
    }
    MemoryCalibration {
        schema: MEMORY_CALIBRATION_SCHEMA,
        runtime,
        device,
        corrections,
        notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(q: Quantity, p_mib: f64, m_mib: f64) -> Observation {
        Observation {
            label: format!("{p_mib}"),
            quantity: q,
            predicted: p_mib * MIB,
            measured: m_mib * MIB,
        }
    }

    #[test]
    fn recovers_scale_and_offset_despite_an_outlier() {
        // measured = 1.1 × predicted + 20 MiB, with one row 500 MiB off.
        let mut o: Vec<Observation> = [100.0, 200.0, 300.0, 400.0, 500.0, 600.0]
            .iter()
            .map(|p| obs(Quantity::Compute, *p, 1.1 * p + 20.0))
            .collect();
        o.push(obs(Quantity::Compute, 350.0, 1.1 * 350.0 + 20.0 + 500.0));
        let cal = calibrate_memory(&o, Some("llama.cpp".into()), None);
        let c = &cal.corrections[0];
        assert_eq!(c.quantity, Quantity::Compute);
        assert!((c.scale - 1.1).abs() < 1e-3, "{c:?}");
        assert!((c.offset_bytes / MIB - 20.0).abs() < 0.5);
        assert_eq!(c.outliers, vec!["350".to_string()]);
        assert!(c.median_abs_pct_after < 0.01);
        assert!(c.loo_median_abs_pct.unwrap() < 0.1);
        assert!((cal.apply(Quantity::Compute, 1000.0 * MIB) / MIB - 1120.0).abs() < 1.0);
        // Quantities without a correction pass through.
        assert_eq!(cal.apply(Quantity::Weights, 5.0), 5.0);
    }

    #[test]
    fn few_rows_fit_an_offset_only() {
        let o = vec![
            obs(Quantity::Output, 10.0, 12.0),
            obs(Quantity::Output, 20.0, 22.0),
        ];
        let cal = calibrate_memory(&o, None, None);
        let c = &cal.corrections[0];
        assert_eq!(c.scale, 1.0);
        assert!((c.offset_bytes / MIB - 2.0).abs() < 1e-9);
    }

    #[test]
    fn a_single_row_is_reported_not_fitted() {
        let cal = calibrate_memory(&[obs(Quantity::Weights, 1.0, 2.0)], None, None);
        assert!(cal.corrections.is_empty());
        assert_eq!(cal.notes.len(), 1);
    }
}
