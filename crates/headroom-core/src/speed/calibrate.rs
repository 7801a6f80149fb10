//! Speed calibration: one device's measurements refit the most specific group (backend, family,
//! quantization class) on top of the shipped parameters, with the fit's error before and after
//! and left one out; applying it replaces that group in the shipped set.

use super::least_squares::{
    predict_observation, solve, Observation, Phase, DECODE_LOWER, PREFILL_LOWER,
};
use super::params::{DecodeParams, GroupParams, ParamKey, PrefillParams, SpeedParams};
use crate::measure::regression::{median, percentile};
use serde::{Deserialize, Serialize};

/// Fewer rows than this are fitted as they are (no row is set aside as an outlier).
pub const MIN_ROWS_FOR_OUTLIER: usize = 4;

/// A row is set aside when its error is above this many times the median error and above
/// [`OUTLIER_FLOOR_PCT`].
pub const OUTLIER_RATIO: f64 = 3.0;
pub const OUTLIER_FLOOR_PCT: f64 = 10.0;

/// How well one phase of one group was fitted, in absolute percentage error of the tokens/s.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhaseFit {
    pub key: ParamKey,
    pub phase: Phase,
    pub n: usize,
    /// With the shipped parameters.
    pub median_abs_pct_before: f64,
    pub p90_abs_pct_before: f64,
    /// With the calibrated parameters, on the rows fitted.
    pub median_abs_pct_after: f64,
    pub p90_abs_pct_after: f64,
    /// Each row predicted by a fit to the others (`None` with a single row).
    pub loo_median_abs_pct: Option<f64>,
    /// Rows set aside from the fit (labels).
    pub outliers: Vec<String>,
}

/// The speed part of a calibration profile: replacement groups and how they were fitted.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeedCalibration {
    pub runtime: String,
    pub groups: Vec<GroupParams>,
    pub fits: Vec<PhaseFit>,
}

impl SpeedCalibration {
    /// The shipped parameters with every calibrated group put in place of (or next to) its own.
    pub fn apply(&self, base: &SpeedParams) -> SpeedParams {
        let mut out = base.clone();
        for g in &self.groups {
            match out.groups.iter_mut().find(|x| x.key == g.key) {
                Some(x) => {
                    // a phase the calibration did not measure keeps the shipped values
                    x.decode = g.decode.or(x.decode);
                    x.prefill = g.prefill.or(x.prefill);
                    x.devices = g.devices.clone();
                    x.n_decode = g.n_decode;
                    x.n_prefill = g.n_prefill;
                    x.decode_rel_sd = g.decode_rel_sd;
                    x.prefill_rel_sd = g.prefill_rel_sd;
                }
                None => out.groups.push(g.clone()),
            }
        }
        out
    }

    /// Every parameter finite and within its physical range (a profile read from a file).
    pub fn check(&self) -> Result<(), String> {
        for g in &self.groups {
            let mut vals: Vec<f64> = Vec::new();
            if let Some(d) = g.decode {
                vals.extend(d.as_array());
            }
            if let Some(p) = g.prefill {
                vals.extend(p.as_array());
            }
            if let Some(v) = vals
                .iter()
                .find(|v| !(v.is_finite() && **v >= 0.0 && **v < 1e6))
            {
                return Err(format!(
                    "speed group {}: parameter {v} is out of range",
                    g.key.label()
                ));
            }
            if g.key.backend.is_none() || g.key.family.is_none() || g.key.quant.is_none() {
                return Err(format!(
                    "speed group {}: a calibration names backend, family and quantization",
                    g.key.label()
                ));
            }
        }
        Ok(())
    }
}

fn abs_pct(o: &Observation, seconds: f64) -> f64 {
    (o.seconds / seconds - 1.0).abs() * 100.0
}

fn lower(phase: Phase) -> &'static [f64] {
    match phase {
        Phase::Decode => &DECODE_LOWER,
        Phase::Prefill => &PREFILL_LOWER,
    }
}

/// How much looser the pull toward the shipped values is than the shipped fit's pull toward a
/// parent group: a device's own measurements are what a calibration is for, so a few rows
/// outweigh the prior (the pull only keeps a direction the rows do not see at its shipped value).
const PRIOR_LOOSENESS: f64 = 30.0;

/// The shipped values of the group `key` falls back to, and the scale the ridge pulls in.
fn prior(base: &SpeedParams, key: &ParamKey, o: &Observation) -> (Vec<f64>, Vec<f64>) {
    let (b, f, q) = (
        key.backend.unwrap_or(o.backend),
        key.family.as_deref().unwrap_or(&o.family),
        key.quant.unwrap_or(o.quant),
    );
    let p: Vec<f64> = match o.phase {
        Phase::Decode => base.decode(b, f, q).params.as_array().to_vec(),
        Phase::Prefill => base.prefill(b, f, q).params.as_array().to_vec(),
    };
    let scale = p
        .iter()
        .enumerate()
        .map(|(j, v)| {
            // per-layer seconds are small; efficiencies are of order one
            PRIOR_LOOSENESS
                * if o.phase == Phase::Decode && j == 3 {
                    v.max(1e-6)
                } else {
                    v.max(0.1)
                }
        })
        .collect();
    (p, scale)
}

fn fit_rows(rows: &[&Observation], prior: &[f64], scale: &[f64], phase: Phase) -> Vec<f64> {
    solve(rows, prior, scale, lower(phase), 0.0)
}

/// Fits one phase of one group: all rows, then again without the worst when it stands out.
fn fit_phase(
    base: &SpeedParams,
    key: &ParamKey,
    rows: &[&Observation],
) -> (Vec<f64>, PhaseFit, f64) {
    let phase = rows[0].phase;
    let (pr, sc) = prior(base, key, rows[0]);
    let mut x = fit_rows(rows, &pr, &sc, phase);
    let mut kept: Vec<&Observation> = rows.to_vec();
    let mut outliers = Vec::new();
    if rows.len() >= MIN_ROWS_FOR_OUTLIER {
        let errs: Vec<f64> = rows.iter().map(|o| abs_pct(o, o.predict_s(&x))).collect();
        let med = median(&errs);
        if let Some((i, e)) = errs
            .iter()
            .copied()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
        {
            if e > OUTLIER_FLOOR_PCT && e > OUTLIER_RATIO * med {
                outliers.push(rows[i].label.clone());
                kept.remove(i);
                x = fit_rows(&kept, &pr, &sc, phase);
            }
        }
    }
    let before: Vec<f64> = rows
        .iter()
        .map(|o| abs_pct(o, predict_observation(base, o)))
        .collect();
    let after: Vec<f64> = kept.iter().map(|o| abs_pct(o, o.predict_s(&x))).collect();
    let loo: Vec<f64> = if kept.len() >= 2 {
        (0..kept.len())
            .map(|i| {
                let train: Vec<&Observation> = kept
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| *j != i)
                    .map(|(_, o)| *o)
                    .collect();
                let xi = fit_rows(&train, &pr, &sc, phase);
                abs_pct(kept[i], kept[i].predict_s(&xi))
            })
            .collect()
    } else {
        Vec::new()
    };
    let ss: f64 = kept
        .iter()
        .map(|o| (o.predict_s(&x) / o.seconds - 1.0).powi(2))
        .sum();
    let rel_sd = (ss / kept.len().max(1) as f64).sqrt();
    let fit = PhaseFit {
        key: key.clone(),
        phase,
        n: rows.len(),
        median_abs_pct_before: median(&before),
        p90_abs_pct_before: percentile(&before, 90.0),
        median_abs_pct_after: median(&after),
        p90_abs_pct_after: percentile(&after, 90.0),
        loo_median_abs_pct: (!loo.is_empty()).then(|| median(&loo)),
        outliers,
    };
    (x, fit, rel_sd)
}

/// Fits the group (backend, family, quantization class) of every observation, each pulled toward
/// the shipped parameters it would otherwise use. The observations are one device's.
pub fn calibrate_speed(base: &SpeedParams, obs: &[Observation]) -> SpeedCalibration {
    let mut keys: Vec<ParamKey> = Vec::new();
    for o in obs {
        let k = ParamKey::chain(o.backend, &o.family, o.quant)[0].clone();
        if !keys.contains(&k) {
            keys.push(k);
        }
    }
    let mut groups = Vec::new();
    let mut fits = Vec::new();
    for key in keys {
        let members: Vec<&Observation> = obs
            .iter()
            .filter(|o| o.matches(&key) && o.seconds.is_finite() && o.seconds > 0.0)
            .collect();
        let mut g = GroupParams {
            key: key.clone(),
            decode: None,
            prefill: None,
            devices: Vec::new(),
            n_decode: 0,
            n_prefill: 0,
            decode_rel_sd: 0.0,
            prefill_rel_sd: 0.0,
        };
        for phase in [Phase::Decode, Phase::Prefill] {
            let rows: Vec<&Observation> = members
                .iter()
                .copied()
                .filter(|o| o.phase == phase)
                .collect();
            if rows.is_empty() {
                continue;
            }
            let (x, f, sd) = fit_phase(base, &key, &rows);
            match phase {
                Phase::Decode => {
                    g.decode = Some(DecodeParams::from_array([x[0], x[1], x[2], x[3], x[4]]));
                    g.n_decode = rows.len();
                    g.decode_rel_sd = sd;
                }
                Phase::Prefill => {
                    g.prefill = Some(PrefillParams::from_array([x[0], x[1], x[2]]));
                    g.n_prefill = rows.len();
                    g.prefill_rel_sd = sd;
                }
            }
            fits.push(f);
        }
        let mut devices: Vec<String> = members.iter().map(|o| o.device.clone()).collect();
        devices.sort();
        devices.dedup();
        g.devices = devices;
        groups.push(g);
    }
    SpeedCalibration {
        runtime: base.runtime.clone(),
        groups,
        fits,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hardware::Backend;
    use crate::speed::params::QuantClass;

    fn obs(i: usize, f: [f64; 4], seconds: f64) -> Observation {
        Observation {
            device: "d".into(),
            backend: Backend::Cuda,
            family: "ampere".into(),
            quant: QuantClass::KQuant,
            phase: Phase::Decode,
            // the vector-ALU feature is zero: these rows name no vector rate
            features: f.iter().copied().chain([0.0]).collect(),
            bound_s: 0.0,
            seconds,
            tokens: 1.0,
            label: format!("row{i}"),
        }
    }

    fn base() -> SpeedParams {
        SpeedParams {
            runtime: "llama.cpp".into(),
            sources: vec![],
            cpu: None,
            groups: vec![GroupParams {
                key: ParamKey::new(Some(Backend::Cuda), None, None),
                decode: Some(DecodeParams::from_array([1.2, 1.5, 1.5, 20e-6, 0.0])),
                prefill: None,
                devices: vec![],
                n_decode: 0,
                n_prefill: 0,
                decode_rel_sd: 0.0,
                prefill_rel_sd: 0.0,
            }],
        }
    }

    #[test]
    fn a_slower_device_is_fitted_despite_an_outlier() {
        // The device reads weights at 1 / 1.6 of its bandwidth, KV at 1 / 3, 80 µs per layer; the
        // shipped group says 1.2, 1.5, 20 µs. One row is measured 60% slow.
        let truth = [1.6, 3.0, 0.0, 80e-6];
        let fs = [
            [4e-3, 1e-4, 0.0, 33.0],
            [20e-3, 3e-4, 0.0, 81.0],
            [2e-3, 2e-4, 0.0, 33.0],
            [10e-3, 6e-4, 0.0, 81.0],
            [5e-3, 9e-4, 0.0, 33.0],
            [8e-3, 4e-4, 0.0, 49.0],
        ];
        let mut os: Vec<Observation> = fs
            .iter()
            .enumerate()
            .map(|(i, f)| obs(i, *f, f.iter().zip(truth).map(|(a, b)| a * b).sum()))
            .collect();
        os[3].seconds *= 1.6;
        let b = base();
        let cal = calibrate_speed(&b, &os);
        assert_eq!(cal.groups.len(), 1);
        let d = cal.groups[0].decode.unwrap();
        assert!((d.inv_bw_eff - 1.6).abs() < 0.05, "{d:?} {:?}", cal.fits);
        assert!((d.layer_s - 80e-6).abs() < 5e-6, "{d:?}");
        let f = &cal.fits[0];
        assert_eq!(f.outliers, vec!["row3".to_string()]);
        assert!(f.median_abs_pct_before > 30.0, "{f:?}");
        assert!(f.median_abs_pct_after < 1.0, "{f:?}");
        assert!(f.loo_median_abs_pct.unwrap() < 5.0, "{f:?}");
        // Applied, the device's group answers instead of the backend's.
        let p = cal.apply(&b);
        let r = p.decode(Backend::Cuda, "ampere", QuantClass::KQuant);
        assert_eq!(r.params, d);
        // Another family keeps the shipped values.
        let r = p.decode(Backend::Cuda, "ada", QuantClass::KQuant);
        assert_eq!(r.params.inv_bw_eff, 1.2);
        assert!(cal.check().is_ok());
    }

    #[test]
    fn a_hostile_group_is_refused() {
        let mut cal = calibrate_speed(&base(), &[obs(0, [4e-3, 1e-4, 0.0, 33.0], 0.01)]);
        assert!(cal.check().is_ok());
        cal.groups[0].decode = Some(DecodeParams::from_array([-1.0, 1.0, 1.0, 0.0, 0.0]));
        assert!(cal.check().is_err());
        cal.groups[0].decode = None;
        cal.groups[0].key = ParamKey::root();
        assert!(cal.check().is_err());
    }
}
