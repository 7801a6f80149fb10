//! Fitting the efficiency parameters by least squares, and judging them on devices left out.
//!
//! Each measurement becomes an [`Observation`]: the features its time is linear in (bytes over
//! bandwidth, layers, FLOPs over the reference rate) and the measured time. Groups are fitted from
//! the most general (all GPUs) to the most specific (backend, family, quantization class), each
//! pulled toward the one above it, so a group with few measurements borrows from its parents and a
//! direction the data cannot see (one model size only) keeps the parent's value.

use super::params::{
    DecodeParams, GroupParams, ParamKey, PrefillParams, QuantClass, SpeedParams, DECODE_N,
    PREFILL_N,
};
use super::vulkan_path::VulkanMatmul;
use super::{decode, prefill, work, SpeedModel};
use crate::hardware::{Backend, DeviceKind};
use crate::plan::Scenario;
use nalgebra::{DMatrix, DVector};
use serde::{Deserialize, Serialize};

/// What was measured: a prompt (llama-bench ppN) or generation (tgN), after `depth` cached tokens.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Phase {
    Prefill,
    Decode,
}

/// A llama-bench test such as `pp512`, `tg128` or `pp2048@d4096`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BenchTest {
    pub phase: Phase,
    pub tokens: u32,
    pub depth: u32,
}

impl BenchTest {
    /// Parses llama-bench's test names: `pp512`, `tg128`, `pp2048@d4096`.
    pub fn parse(s: &str) -> Option<BenchTest> {
        let (head, depth) = match s.split_once("@d") {
            Some((h, d)) => (h, d.parse().ok()?),
            None => (s, 0),
        };
        let (phase, n) = if let Some(n) = head.strip_prefix("pp") {
            (Phase::Prefill, n)
        } else if let Some(n) = head.strip_prefix("tg") {
            (Phase::Decode, n)
        } else {
            return None;
        };
        let tokens: u32 = n.parse().ok()?;
        (tokens > 0 && tokens <= 1 << 20 && depth <= 1 << 24).then_some(BenchTest {
            phase,
            tokens,
            depth,
        })
    }
}

/// One measurement, reduced to what the fit needs.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    /// The unit left out in cross-validation: the catalog id of the device.
    pub device: String,
    pub backend: Backend,
    pub family: String,
    pub quant: QuantClass,
    pub phase: Phase,
    /// Features the time is linear in (`DECODE_N` for decode, `PREFILL_N` for prefill).
    pub features: Vec<f64>,
    /// The physical bound on the time (no prediction is faster).
    pub bound_s: f64,
    /// Measured seconds (per token for decode, for the whole prompt for prefill).
    pub seconds: f64,
    /// Tokens the measured rate counts (1 for decode, the prompt for prefill).
    pub tokens: f64,
    pub label: String,
}

impl Observation {
    pub fn measured_tok_s(&self) -> f64 {
        self.tokens / self.seconds
    }

    pub(crate) fn matches(&self, k: &ParamKey) -> bool {
        k.backend.is_none_or(|b| b == self.backend)
            && k.family.as_ref().is_none_or(|f| {
                *f == self.family
                    || (self.backend == Backend::Vulkan
                        && f == VulkanMatmul::of_family(&self.family).label())
            })
            && k.quant.is_none_or(|q| q == self.quant)
    }

    /// Predicted seconds with the given parameter values.
    pub fn predict_s(&self, x: &[f64]) -> f64 {
        let t: f64 = self.features.iter().zip(x).map(|(a, b)| a * b).sum();
        t.max(self.bound_s)
    }
}

/// Reduces one llama-bench measurement on scenario `s` (one or more GPUs of the same kind, layer
/// split) to an observation. `None` when the scenario has no GPU or, for prefill, no compute rate.
pub fn observe(
    s: &Scenario,
    device: &str,
    test: BenchTest,
    tok_s: f64,
    label: &str,
) -> Option<Observation> {
    if !(tok_s.is_finite() && tok_s > 0.0) {
        return None;
    }
    let w = work::workload(s);
    let accel: Vec<_> = s
        .devices
        .iter()
        .filter(|d| d.kind != DeviceKind::Cpu)
        .collect();
    let first = accel.first()?;
    if !w.host.is_empty() {
        return None;
    }
    let n = f64::from(test.tokens);
    let d0 = f64::from(test.depth);
    let (features, bound_s, seconds, tokens) = match test.phase {
        Phase::Decode => {
            let mut f = [0.0; DECODE_N];
            for (load, d) in w.devices.iter().zip(&accel) {
                let kv = decode::mean_kv_bytes(load, d0, n, w.shape.window);
                let g = decode::features(
                    load,
                    d.bandwidth.0,
                    decode::vector_rate(d),
                    kv,
                    1.0,
                    w.shape.flash_attn,
                );
                f.iter_mut().zip(g).for_each(|(a, b)| *a += b);
            }
            (f.to_vec(), decode::bound(f), 1.0 / tok_s, 1.0)
        }
        Phase::Prefill => {
            let mut f = [0.0; PREFILL_N];
            for (load, d) in w.devices.iter().zip(&accel) {
                let rate = prefill::reference_rate(d)?;
                let g = prefill::features(load, rate, d0, n, w.shape.window, w.shape.flash_attn);
                f.iter_mut().zip(g).for_each(|(a, b)| *a += b);
            }
            let pipe = w.pipeline_factor(n);
            f.iter_mut().for_each(|x| *x *= pipe);
            (f.to_vec(), 0.0, n / tok_s, n)
        }
    };
    Some(Observation {
        device: device.to_string(),
        backend: first.backend,
        family: first.family.clone(),
        quant: QuantClass::of_label(&s.quant),
        phase: test.phase,
        features,
        bound_s,
        seconds,
        tokens,
        label: label.to_string(),
    })
}

/// Weight of the pull toward the parent group, relative to one measurement at 100% error.
const RIDGE: f64 = 0.05;

/// The least share of some measured time a term must have, at the older era's value, to be
/// refitted by a newer era's rows ([`refit_era`]).
const REFIT_MIN_SHARE: f64 = 0.1;

/// Least squares on relative error, `x >= 0`, pulled toward `prior` by `RIDGE` in units of `scale`.
/// A column whose term is under `min_share` of every measured time keeps the prior.
pub(crate) fn solve(
    obs: &[&Observation],
    prior: &[f64],
    scale: &[f64],
    lower: &[f64],
    min_share: f64,
) -> Vec<f64> {
    let p = prior.len();
    // a column no measurement exercises keeps the prior (never below its bound), and so does one
    // whose term, at the prior's value, is under `min_share` of every measured time: those rows
    // cannot tell it from the other terms (pp512 and tg128 from an empty cache barely touch
    // attention and the KV cache, whose costs an older era's rows at depth fitted)
    let mut x: Vec<f64> = prior.iter().zip(lower).map(|(v, l)| v.max(*l)).collect();
    let mut free: Vec<bool> = (0..p)
        .map(|j| {
            obs.iter().any(|o| {
                o.features[j] != 0.0
                    && (x[j] <= 0.0 || o.features[j] * x[j] >= min_share * o.seconds)
            })
        })
        .collect();
    for _ in 0..=p {
        let cols: Vec<usize> = (0..p).filter(|&j| free[j]).collect();
        if cols.is_empty() {
            break;
        }
        let rows = obs.len() + cols.len();
        let mut a = DMatrix::<f64>::zeros(rows, cols.len());
        let mut b = DVector::<f64>::zeros(rows);
        for (i, o) in obs.iter().enumerate() {
            for (c, &j) in cols.iter().enumerate() {
                a[(i, c)] = o.features[j] / o.seconds;
            }
            // the fixed columns' share of the time is known
            let known: f64 = (0..p)
                .filter(|&j| !free[j])
                .map(|j| o.features[j] * x[j])
                .sum();
            b[i] = 1.0 - known / o.seconds;
        }
        let r = RIDGE.sqrt();
        for (c, &j) in cols.iter().enumerate() {
            let s = scale[j].max(1e-12);
            a[(obs.len() + c, c)] = r / s;
            b[obs.len() + c] = r * prior[j].max(lower[j]) / s;
        }
        let Ok(sol) = a.svd(true, true).solve(&b, 1e-14) else {
            return x;
        };
        for (c, &j) in cols.iter().enumerate() {
            x[j] = sol[c];
        }
        // the most violated bound is pinned and the rest refitted
        let worst = cols
            .iter()
            .copied()
            .filter(|&j| x[j] < lower[j])
            .max_by(|&i, &j| (lower[i] - x[i]).total_cmp(&(lower[j] - x[j])));
        match worst {
            Some(j) => {
                free[j] = false;
                x[j] = lower[j];
            }
            None => break,
        }
    }
    x
}

/// Physical floors: no read beats the bandwidth (1 / efficiency >= 1); costs are not negative.
pub(crate) const DECODE_LOWER: [f64; DECODE_N] = [1.0, 1.0, 1.0, 0.0, 0.0];
pub(crate) const PREFILL_LOWER: [f64; PREFILL_N] = [0.0, 0.0, 0.0];

fn rel_sd(obs: &[&Observation], x: &[f64]) -> f64 {
    if obs.is_empty() {
        return 0.0;
    }
    let ss: f64 = obs
        .iter()
        .map(|o| (o.predict_s(x) / o.seconds - 1.0).powi(2))
        .sum();
    (ss / obs.len() as f64).sqrt()
}

/// The keys to fit: every level of every observation's chain, most general first.
fn keys(obs: &[Observation]) -> Vec<ParamKey> {
    let mut ks: Vec<ParamKey> = Vec::new();
    for o in obs {
        for k in ParamKey::chain(o.backend, &o.family, o.quant) {
            if !ks.contains(&k) {
                ks.push(k);
            }
        }
    }
    ks.sort_by_key(ParamKey::fit_order);
    ks
}

/// Fits every group the observations cover. `runtime` and `sources` are recorded as given.
pub fn fit(obs: &[Observation], runtime: &str, sources: &[String]) -> SpeedParams {
    fit_from(obs, runtime, sources, None, 0.0)
}

/// Fits a newer runtime build on top of an older build's fit: the groups the new measurements
/// cover are refitted on them alone, the root pulled toward the older root (so a direction the new
/// rows cannot see keeps the older value). For a backend the new rows measure, the older build's
/// groups are dropped (their efficiencies are of the older kernels); the older groups of other
/// backends and the GPU-wide quantization classes the new rows do not cover are kept.
pub fn refit_era(
    base: &SpeedParams,
    obs: &[Observation],
    runtime: &str,
    sources: &[String],
) -> SpeedParams {
    let mut out = fit_from(
        obs,
        runtime,
        sources,
        base.group(&ParamKey::root()),
        REFIT_MIN_SHARE,
    );
    let refit: Vec<Backend> = obs.iter().map(|o| o.backend).collect();
    for g in &base.groups {
        let stale = g.key.backend.is_some_and(|b| refit.contains(&b));
        if !stale && out.group(&g.key).is_none() {
            out.groups.push(g.clone());
        }
    }
    out.groups.sort_by_key(|g| g.key.fit_order());
    out
}

/// [`fit`], the root pulled toward `root_prior` when given (as any other group toward its parent).
fn fit_from(
    obs: &[Observation],
    runtime: &str,
    sources: &[String],
    root_prior: Option<&GroupParams>,
    min_share: f64,
) -> SpeedParams {
    let mut out = SpeedParams {
        runtime: runtime.to_string(),
        sources: sources.to_vec(),
        groups: Vec::new(),
        cpu: None,
    };
    for key in keys(obs) {
        let parent = match key.parent() {
            Some(pk) => out.group(&pk).cloned(),
            None => root_prior.cloned(),
        };
        let members: Vec<&Observation> = obs.iter().filter(|o| o.matches(&key)).collect();
        let dec: Vec<&Observation> = members
            .iter()
            .copied()
            .filter(|o| o.phase == Phase::Decode)
            .collect();
        let pre: Vec<&Observation> = members
            .iter()
            .copied()
            .filter(|o| o.phase == Phase::Prefill)
            .collect();
        let dprior = parent
            .as_ref()
            .and_then(|g| g.decode)
            .unwrap_or(DecodeParams::BOUND)
            .as_array();
        let pprior = parent
            .as_ref()
            .and_then(|g| g.prefill)
            .unwrap_or(PrefillParams::BOUND)
            .as_array();
        let root = parent.is_none();
        // the root has no parent: a faint pull only keeps unseen directions finite
        let dscale = if root {
            [1e3, 1e3, 1e3, 1.0, 1e3]
        } else {
            [
                dprior[0].max(0.1),
                dprior[1].max(0.1),
                dprior[2].max(0.1),
                dprior[3].max(1e-6),
                dprior[4].max(1.0),
            ]
        };
        let pscale = if root {
            [1e3, 1e3, 1e3]
        } else {
            [pprior[0].max(0.1), pprior[1].max(0.1), pprior[2].max(0.1)]
        };
        let mut decode =
            (!dec.is_empty()).then(|| solve(&dec, &dprior, &dscale, &DECODE_LOWER, min_share));
        let mut prefill_x =
            (!pre.is_empty()).then(|| solve(&pre, &pprior, &pscale, &PREFILL_LOWER, min_share));
        if root {
            // with no measurement of one attention kernel, assume it costs what the other does
            for (x, obs, a, b) in [
                (decode.as_mut(), &dec, 1, 2),
                (prefill_x.as_mut(), &pre, 1, 2),
            ] {
                if let Some(x) = x {
                    let seen = |j: usize| obs.iter().any(|o| o.features[j] != 0.0);
                    if !seen(b) && seen(a) {
                        x[b] = x[a];
                    } else if !seen(a) && seen(b) {
                        x[a] = x[b];
                    }
                }
            }
        }
        let mut devices: Vec<String> = members.iter().map(|o| o.device.clone()).collect();
        devices.sort();
        devices.dedup();
        out.groups.push(GroupParams {
            key,
            decode_rel_sd: decode.as_ref().map_or(0.0, |x| rel_sd(&dec, x)),
            prefill_rel_sd: prefill_x.as_ref().map_or(0.0, |x| rel_sd(&pre, x)),
            decode: decode.map(|x| DecodeParams::from_array([x[0], x[1], x[2], x[3], x[4]])),
            prefill: prefill_x.map(|x| PrefillParams::from_array([x[0], x[1], x[2]])),
            devices,
            n_decode: dec.len(),
            n_prefill: pre.len(),
        });
    }
    out
}

/// Predicted seconds for an observation from fitted parameters (the most specific group that covers it).
pub fn predict_observation(p: &SpeedParams, o: &Observation) -> f64 {
    match o.phase {
        Phase::Decode => o.predict_s(&p.decode(o.backend, &o.family, o.quant).params.as_array()),
        Phase::Prefill => o.predict_s(&p.prefill(o.backend, &o.family, o.quant).params.as_array()),
    }
}

/// One observation's prediction, in or out of sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    pub index: usize,
    pub predicted_tok_s: f64,
    pub measured_tok_s: f64,
}

impl Prediction {
    /// |predicted - measured| / measured.
    pub fn abs_pct_error(&self) -> f64 {
        (self.predicted_tok_s / self.measured_tok_s - 1.0).abs() * 100.0
    }
}

/// In-sample predictions from one fit on everything.
pub fn in_sample(obs: &[Observation], p: &SpeedParams) -> Vec<Prediction> {
    obs.iter()
        .enumerate()
        .map(|(i, o)| Prediction {
            index: i,
            predicted_tok_s: o.tokens / predict_observation(p, o),
            measured_tok_s: o.measured_tok_s(),
        })
        .collect()
}

/// Leave-one-device-out: each device's measurements predicted from a fit without that device.
pub fn leave_one_device_out(obs: &[Observation]) -> Vec<Prediction> {
    leave_one_device_out_with(obs, |train| fit(train, "", &[]))
}

/// Leave-one-device-out with any fitting procedure (e.g. [`refit_era`] on an older fit).
pub fn leave_one_device_out_with(
    obs: &[Observation],
    fit_on: impl Fn(&[Observation]) -> SpeedParams,
) -> Vec<Prediction> {
    let mut devices: Vec<&str> = obs.iter().map(|o| o.device.as_str()).collect();
    devices.sort_unstable();
    devices.dedup();
    let mut out = Vec::with_capacity(obs.len());
    for d in devices {
        let train: Vec<Observation> = obs.iter().filter(|o| o.device != d).cloned().collect();
        let p = fit_on(&train);
        for (i, o) in obs.iter().enumerate().filter(|(_, o)| o.device == d) {
            out.push(Prediction {
                index: i,
                predicted_tok_s: o.tokens / predict_observation(&p, o),
                measured_tok_s: o.measured_tok_s(),
            });
        }
    }
    out.sort_by_key(|p| p.index);
    out
}

/// The median of a list (0 when empty).
pub fn median(mut v: Vec<f64>) -> f64 {
    if v.is_empty() {
        return 0.0;
    }
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// A model prepared from fitted parameters predicts what the observation's features say it should.
pub fn check_consistency(
    s: &Scenario,
    p: &SpeedParams,
    o: &Observation,
    test: BenchTest,
) -> (f64, f64) {
    let m = SpeedModel::new(s, p);
    let q = match test.phase {
        Phase::Decode => m
            .decode_step(f64::from(test.depth), f64::from(test.tokens), 1.0)
            .0
            .total(),
        Phase::Prefill => m
            .prefill_time(f64::from(test.depth), f64::from(test.tokens))
            .map_or(f64::NAN, |t| t.total()),
    };
    (q, predict_observation(p, o))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bench_test_names_parse() {
        assert_eq!(
            BenchTest::parse("pp2048@d4096"),
            Some(BenchTest {
                phase: Phase::Prefill,
                tokens: 2048,
                depth: 4096
            })
        );
        assert_eq!(
            BenchTest::parse("tg128").map(|t| t.phase),
            Some(Phase::Decode)
        );
        assert_eq!(BenchTest::parse("xx12"), None);
        assert_eq!(BenchTest::parse("pp0"), None);
    }

    fn obs(device: &str, f: [f64; 4], seconds: f64) -> Observation {
        Observation {
            device: device.into(),
            backend: Backend::Cuda,
            family: "ampere".into(),
            quant: QuantClass::KQuant,
            phase: Phase::Decode,
            // the vector-ALU feature is zero: these rows name no vector rate
            features: f.iter().copied().chain([0.0]).collect(),
            bound_s: 0.0,
            seconds,
            tokens: 1.0,
            label: String::new(),
        }
    }

    fn vulkan_prompt(device: &str, family: &str, lin_feature: f64, seconds: f64) -> Observation {
        Observation {
            device: device.into(),
            backend: Backend::Vulkan,
            family: family.into(),
            quant: QuantClass::Legacy,
            phase: Phase::Prefill,
            features: vec![lin_feature, 0.0, 0.0],
            bound_s: 0.0,
            seconds,
            tokens: 512.0,
            label: String::new(),
        }
    }

    #[test]
    fn a_vulkan_family_never_measured_borrows_its_matmul_path() {
        // two NVIDIA families at 1 / 2.5 of the FP16 rate (coopmat2), two Intel families at
        // 1 / 1.2 of the FP32 rate (scalar shaders): time = inv_lin x feature exactly
        let os = [
            vulkan_prompt("a", "ampere", 0.1, 0.25),
            vulkan_prompt("b", "blackwell", 0.2, 0.5),
            vulkan_prompt("c", "alchemist", 0.1, 0.12),
            vulkan_prompt("d", "battlemage", 0.3, 0.36),
        ];
        let p = fit(&os, "test", &[]);
        // Ada and Turing were never measured: they take the coopmat2 group's 2.5, not the 1.2 of
        // the scalar path or a blend of both vendors
        for family in ["ada", "turing"] {
            let r = p.prefill(Backend::Vulkan, family, QuantClass::Legacy);
            assert_eq!(
                r.group.map(|g| g.key.family.clone()),
                Some(Some(VulkanMatmul::Coopmat2.label().to_string()))
            );
            assert!(
                (r.params.inv_lin - 2.5).abs() < 0.05,
                "{family}: {:?}",
                r.params
            );
        }
        let r = p.prefill(Backend::Vulkan, "rdna2", QuantClass::Legacy);
        assert!((r.params.inv_lin - 1.2).abs() < 0.05, "{:?}", r.params);
    }

    #[test]
    fn least_squares_recovers_known_parameters() {
        // times made from inv_bw_eff 1.6, inv_kv_eff 3.0, 80 µs per layer (no flash attention)
        let truth = [1.6, 3.0, 0.0, 80e-6];
        let fs = [
            [4e-3, 1e-4, 0.0, 33.0],
            [20e-3, 3e-4, 0.0, 81.0],
            [2e-3, 2e-4, 0.0, 33.0],
            [10e-3, 6e-4, 0.0, 81.0],
            [5e-3, 9e-4, 0.0, 33.0],
        ];
        let os: Vec<Observation> = fs
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let t: f64 = f.iter().zip(truth).map(|(a, b)| a * b).sum();
                obs(&format!("d{i}"), *f, t)
            })
            .collect();
        let p = fit(&os, "test", &[]);
        let g = p
            .group(&ParamKey::chain(Backend::Cuda, "ampere", QuantClass::KQuant)[0])
            .unwrap();
        let d = g.decode.unwrap();
        assert!((d.inv_bw_eff - 1.6).abs() < 0.02, "{d:?}");
        assert!((d.layer_s - 80e-6).abs() < 2e-6, "{d:?}");
        assert!(g.decode_rel_sd < 0.01);
    }
}
