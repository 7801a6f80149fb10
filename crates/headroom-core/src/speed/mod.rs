//! Speed: prefill, decode and time to first token from a roofline fitted to measurements.
//!
//! [`SpeedModel::new`] does the per-scenario work once (where each layer runs, what a token
//! costs there, which fitted parameters apply); [`SpeedModel::query`] answers one question in
//! a few hundred nanoseconds. [`predict`] does both and adds load time, energy and bands.

pub mod calibrate;
pub mod cpu;
pub mod cpu_least_squares;
pub mod decode;
pub mod energy;
pub mod least_squares;
pub mod multi_gpu;
pub mod offload;
pub mod params;
pub mod plan_score;
pub mod prefill;
pub mod rank;
pub mod reading;
mod step_times;
pub mod sysmem_fallback;
pub mod verdict;
pub mod vulkan_path;
pub mod work;

pub use decode::DecodeTerms;
pub use params::{DecodeParams, GroupParams, ParamKey, PrefillParams, QuantClass, SpeedParams};
pub use prefill::PrefillTerms;
pub use verdict::{UseCase, Verdict, VerdictKind};

use crate::hardware::{Backend, DeviceKind, DeviceSpec};
use crate::plan::Scenario;
use crate::units::BytesPerSec;
use serde::{Deserialize, Serialize};
use work::{Split, Workload};

/// The question: a prompt, then generation, after `depth` tokens already in the cache.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeedQuery {
    pub prompt_tokens: u32,
    pub gen_tokens: u32,
    /// Tokens already in the KV cache before the prompt (llama-bench `-d`).
    pub depth: u32,
    /// Sequences decoded together.
    pub batch: u32,
}

impl Default for SpeedQuery {
    /// llama-bench's defaults: pp512 and tg128 from an empty cache, one sequence.
    fn default() -> Self {
        SpeedQuery {
            prompt_tokens: 512,
            gen_tokens: 128,
            depth: 0,
            batch: 1,
        }
    }
}

/// The numbers of one query (no text, cheap to make).
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Speed {
    /// Prompt tokens per second; `None` when no device has a published compute rate.
    pub prefill_tok_s: Option<f64>,
    /// Generated tokens per second per sequence, averaged over the generation (as llama-bench's tgN).
    pub decode_tok_s: f64,
    /// All sequences together.
    pub aggregate_tok_s: f64,
    /// The physical bound: bandwidth / bytes per token.
    pub decode_bound_tok_s: f64,
    pub ttft_s: Option<f64>,
    pub decode: DecodeTerms,
    pub prefill: Option<PrefillTerms>,
}

/// One accelerator as the speed model sees it.
#[derive(Clone, Debug, PartialEq)]
struct Dev {
    bandwidth: f64,
    /// Published vector FP32 rate, FLOP/s (the decode kernels' dequantize and dot products).
    vector: Option<f64>,
    rate: Option<f64>,
    peak: Option<f64>,
    decode: DecodeParams,
    prefill: PrefillParams,
}

/// A scenario prepared for fast queries.
#[derive(Clone, Debug, PartialEq)]
pub struct SpeedModel {
    pub work: Workload,
    devs: Vec<Dev>,
    host_bandwidth: f64,
    /// Whether `host_bandwidth` was assumed (`offload::DEFAULT_HOST_BANDWIDTH`), not given.
    host_assumed: bool,
    /// The CPU's peak FLOP/s (threads x SIMD rate x clock), when given.
    host_peak: Option<f64>,
    host_decode: DecodeParams,
    /// The CPU fit, for a run whole on CPU threads whose CPU gives its threads.
    cpu: Option<Box<cpu_least_squares::CpuPrepared>>,
    /// The CPU fit for the host's share of a partial offload, when the host CPU gives its
    /// threads (`--cpu`): its layers and experts priced by kernel, threads and instruction set.
    host_cpu: Option<Box<cpu_least_squares::CpuPrepared>>,
    host_link: f64,
    peer_link: f64,
    n_embd: f64,
    /// Relative half-widths of the ~90% bands (decode, prefill), from the fitted residuals.
    band: (f64, f64),
    /// Which fitted groups answered, e.g. `cuda/ampere/k_quant`.
    pub calibration: Vec<String>,
    pub warnings: Vec<String>,
}

/// Relative half-width of a two-sided 90% interval from `sd` over `n` points with `p` parameters
/// (Student's t, so small groups get wider bands).
fn half_width(sd: f64, n: usize, p: usize) -> f64 {
    use statrs::distribution::{ContinuousCDF, StudentsT};
    let dof = n.saturating_sub(p).max(1) as f64;
    let t = StudentsT::new(0.0, 1.0, dof).map_or(2.0, |d| d.inverse_cdf(0.95));
    (t * sd).clamp(0.0, 0.9)
}

/// What a prediction on `d` rests on, when no measurement of its own backend was fitted: the
/// GPU-wide groups answer, and the band is theirs.
fn fit_coverage_warning(d: &DeviceSpec, group: Option<&GroupParams>) -> Option<String> {
    match group {
        Some(g) if g.key.backend.is_none() => Some(format!(
            "no {} measurements in the speed fit: the GPU-wide fit answers ({} devices, {} decode rows), \
             the band is that fit's spread over every GPU",
            d.backend.name(),
            g.devices.len(),
            g.n_decode
        )),
        _ => None,
    }
}

/// Band used where no fitted group applies: the prediction is the physical bound, and the truth
/// may be as slow as the least efficient fitted group.
const UNCALIBRATED_BAND: f64 = 0.7;

impl SpeedModel {
    pub fn new(s: &Scenario, p: &SpeedParams) -> SpeedModel {
        let work = work::workload(s);
        let quant = QuantClass::of_label(&s.quant);
        let accel: Vec<&DeviceSpec> = s
            .devices
            .iter()
            .filter(|d| d.kind != DeviceKind::Cpu)
            .collect();
        let mut calibration = Vec::new();
        let mut warnings = Vec::new();
        let mut band = (UNCALIBRATED_BAND, UNCALIBRATED_BAND);
        let mut devs = Vec::new();
        for (i, _) in work.devices.iter().enumerate() {
            let Some(d) = accel.get(i).or(accel.first()) else {
                break;
            };
            let dp = p.decode(d.backend, &d.family, quant);
            let pp = p.prefill(d.backend, &d.family, quant);
            if i == 0 {
                if let Some(g) = dp.group {
                    band.0 = half_width(g.decode_rel_sd, g.n_decode, params::DECODE_N);
                }
                if let Some(g) = pp.group {
                    band.1 = half_width(g.prefill_rel_sd, g.n_prefill, params::PREFILL_N);
                }
            }
            if i == 0 && d.backend != Backend::Cpu {
                if let Some(w) = fit_coverage_warning(d, dp.group) {
                    warnings.push(w);
                }
            }
            for (what, g) in [("decode", dp.group), ("prefill", pp.group)] {
                let label = match g {
                    Some(g) => format!("{what}: {}", g.key.label()),
                    None => format!(
                        "{what}: uncalibrated for {}/{}/{} (physical bound)",
                        d.backend.name(),
                        d.family,
                        quant.name()
                    ),
                };
                if !calibration.contains(&label) {
                    calibration.push(label);
                }
            }
            if i == 0 && d.fp16.is_none() {
                let note = match (d.backend, d.gpu_cores, d.fp32) {
                    (Backend::Metal, Some(c), _) => format!(
                        "{} publishes no FP16 tensor rate: prompt speed scales from its {c} GPU cores at the fitted rate per core",
                        d.name
                    ),
                    (_, _, Some(r)) => format!(
                        "{} publishes no FP16 tensor rate: prompt speed scales from its documented FP32 rate ({:.1} TFLOP/s) at the fitted efficiency",
                        d.name,
                        r.0 / 1e12
                    ),
                    _ => format!(
                        "{} publishes no FP16, FP32 or per-core compute rate: no prompt speed",
                        d.name
                    ),
                };
                warnings.push(note);
            }
            devs.push(Dev {
                bandwidth: d.bandwidth.0,
                vector: decode::vector_rate(d),
                rate: prefill::reference_rate(d),
                peak: prefill::peak_rate(d),
                decode: dp.params,
                prefill: pp.params,
            });
        }
        let (host_bandwidth, assumed) = offload::host_bandwidth(&s.devices);
        let cpu_family = s
            .devices
            .iter()
            .find(|d| d.kind == DeviceKind::Cpu)
            .map_or("ddr5", |d| d.family.as_str());
        let host_decode = p.decode(Backend::Cpu, cpu_family, quant);
        let host_peak = s
            .devices
            .iter()
            .find(|d| d.kind == DeviceKind::Cpu)
            .and_then(prefill::peak_rate);
        if !work.host.is_empty() {
            calibration.push(match host_decode.group {
                Some(g) => format!("CPU decode: {}", g.key.label()),
                None => format!("CPU decode: uncalibrated for cpu/{cpu_family} (physical bound)"),
            });
            if assumed {
                warnings.push(format!(
                    "system RAM bandwidth not given; assumed {:.1} GB/s (dual-channel DDR5-5600), and the generation band reaches down to a dual-channel DDR4-3200 host ({:.1} GB/s); give --host or --cpu to narrow it",
                    offload::DEFAULT_HOST_BANDWIDTH.as_gbs(),
                    offload::SLOW_HOST_BANDWIDTH.as_gbs()
                ));
            }
            if host_decode.group.is_none() {
                warnings.push(
                    "CPU speed is not calibrated: the CPU share is its physical bound (system RAM bandwidth)"
                        .into(),
                );
            }
        }
        let cpu = if accel.is_empty() {
            prepared(s, p, cpu_least_squares::cpu_work)
        } else {
            None
        };
        let host_cpu = if accel.is_empty() || work.host.is_empty() {
            None
        } else {
            prepared(s, p, cpu_least_squares::host_work)
        };
        match &host_cpu {
            Some(c) => {
                calibration.retain(|l| !l.starts_with("CPU decode"));
                if let Some(fit) = &p.cpu {
                    calibration.push(format!(
                        "CPU decode: the CPU fit ({} llama-bench runs on {}) for the layers in system RAM",
                        fit.n_decode + fit.n_prefill,
                        fit.isa.name()
                    ));
                }
                warnings.retain(|w| !w.starts_with("CPU speed is not calibrated"));
                warnings.extend(c.warnings.iter().cloned());
            }
            None if !accel.is_empty() && !work.host.is_empty() => warnings.push(
                "host CPU's threads, instruction set and clock not given: what system RAM holds is priced at the host's whole bandwidth, which llama.cpp's CPU threads seldom reach (--cpu GBS,THREADS,ISA,GHZ)"
                    .into(),
            ),
            None => {}
        }
        if let (Some(c), Some(fit)) = (&cpu, &p.cpu) {
            band = (
                half_width(fit.decode_rel_sd, fit.n_decode, 4),
                half_width(fit.prefill_rel_sd, fit.n_prefill, 3),
            );
            calibration.retain(|l| !l.starts_with("CPU decode"));
            calibration.push(format!(
                "CPU: fitted on {} llama-bench runs on {} ({} decode, {} prefill)",
                fit.n_decode + fit.n_prefill,
                fit.isa.name(),
                fit.n_decode,
                fit.n_prefill
            ));
            warnings.retain(|w| !w.starts_with("CPU speed is not calibrated"));
            warnings.extend(c.warnings.iter().cloned());
        } else if accel.is_empty() {
            warnings.push(match host_peak {
                Some(r) => format!(
                    "CPU prompt speed is its roofline: FLOPs over {:.2} TFLOP/s (threads x SIMD FLOPs per cycle x clock), not fitted to CPU runs",
                    r / 1e12
                ),
                None => "no compute rate for this CPU: prompt speed needs its threads, instruction set and clock (--cpu GBS,THREADS,ISA,GHZ)".into(),
            });
        }
        SpeedModel {
            devs,
            host_bandwidth,
            host_assumed: assumed,
            host_peak,
            host_decode: host_decode.params,
            cpu,
            host_cpu,
            host_link: offload::host_link(&s.devices),
            peer_link: multi_gpu::peer_link(
                &accel.iter().map(|d| (*d).clone()).collect::<Vec<_>>(),
            ),
            n_embd: f64::from(s.model.n_embd),
            band,
            calibration,
            warnings,
            work,
        }
    }

    /// Seconds per decode step (one token for each of `batch` sequences) averaged over `n` tokens
    /// generated from depth `d0`, with its terms; and the physical bound.
    pub fn decode_step(&self, d0: f64, n: f64, batch: f64) -> (DecodeTerms, f64) {
        let w = &self.work;
        let mut terms = DecodeTerms::default();
        let mut times = Vec::with_capacity(self.devs.len());
        let mut bound = 0.0;
        for (load, dev) in w.devices.iter().zip(&self.devs) {
            let kv = decode::mean_kv_bytes(load, d0, n, w.shape.window);
            let f = decode::step_features(
                load,
                dev.bandwidth,
                dev.vector,
                kv,
                batch,
                w.shape.expert_frac,
                w.shape.flash_attn,
            );
            let b = decode::bound(f);
            let mut t = decode::time(&dev.decode, f).max(b);
            let mut part = DecodeTerms::default();
            part.add_device(&dev.decode, f);
            // the batch's compute can outlast the reads; past the first sequence it also adds to
            // them (see `decode::batch_compute`)
            if let Some(rate) = dev.rate {
                let per_seq = load.lin_flops
                    + load.attn_full_per_pos * (d0 + n / 2.0)
                    + load.attn_swa_per_pos * (d0 + n / 2.0).min(w.shape.window);
                let one = dev.prefill.inv_lin.max(0.0) * per_seq / rate;
                let one = dev.peak.map_or(one, |p| one.max(per_seq / p));
                let extra = decode::batch_compute(t, one, batch) - t;
                if extra > 0.0 {
                    part.compute_s += extra;
                    t += extra;
                }
            }
            // attribute any clamp to the bound to the weights
            let diff = t - part.total();
            if diff > 0.0 {
                part.weights_s += diff;
            }
            bound += b;
            times.push(t);
            add_terms(&mut terms, &part);
        }
        let mut total = match w.shape.split {
            Split::Layers => multi_gpu::layer_split(&times),
            Split::Tensor { ways } => {
                let comm = multi_gpu::tensor_parallel_comm(
                    w.shape.n_layer,
                    self.n_embd * 2.0,
                    batch,
                    ways,
                    self.peer_link,
                );
                terms.link_s += comm;
                // only the slowest device counts; rescale the summed terms to it
                let sum: f64 = times.iter().sum();
                let max = times.iter().copied().fold(0.0, f64::max);
                if sum > 0.0 {
                    scale_terms(&mut terms, max / sum);
                }
                bound /= f64::from(ways);
                multi_gpu::tensor_split(&times, comm)
            }
        };
        if let (Some(c), true) = (&self.cpu, self.devs.is_empty()) {
            // a run whole on CPU threads: the CPU fit's reads, and each sequence's compute
            let (reads, kv, one) = c.decode_parts(d0, n);
            let fitted = decode::batch_compute(reads + kv * batch, one, batch);
            // never faster than reading the weights and cache at the whole bandwidth
            let t = fitted.max(c.read_floor(d0, n, batch));
            terms.weights_s += reads + (t - fitted);
            terms.kv_cache_s += kv * batch;
            terms.compute_s += fitted - reads - kv * batch;
            total += t;
            let f = decode::step_features(
                &w.host,
                self.host_bandwidth,
                None,
                decode::mean_kv_bytes(&w.host, d0, n, w.shape.window),
                batch,
                w.shape.expert_frac,
                w.shape.flash_attn,
            );
            bound += decode::bound(f);
        } else if !w.host.is_empty() {
            let kv = decode::mean_kv_bytes(&w.host, d0, n, w.shape.window);
            let f = decode::step_features(
                &w.host,
                self.host_bandwidth,
                None,
                kv,
                batch,
                w.shape.expert_frac,
                w.shape.flash_attn,
            );
            let t = match &self.host_cpu {
                // the CPU fit's reads and compute for what system RAM holds, as for a run whole
                // on the CPU, never faster than one read at the host's whole bandwidth
                Some(c) => {
                    let (reads, kv, one) = c.decode_parts(d0, n);
                    decode::batch_compute(reads + kv * batch, one, batch)
                        .max(c.read_floor(d0, n, batch))
                }
                None => {
                    let reads = decode::time(&self.host_decode, f).max(decode::bound(f));
                    // the CPU's share of the batch's FLOPs at its peak
                    let flops = w.host.lin_flops
                        + w.host.attn_full_per_pos * (d0 + n / 2.0)
                        + w.host.attn_swa_per_pos * (d0 + n / 2.0).min(w.shape.window);
                    let one = cpu::CpuRoofline::new(0.0, 0.0, flops, self.host_peak).compute_s;
                    decode::batch_compute(reads, one, batch)
                }
            };
            terms.cpu_s += t;
            total += t;
            bound += decode::bound(f);
            if !self.devs.is_empty() {
                // CPU layers come first (one crossing); experts kept on the CPU cross twice per layer
                let crossings = if w.host.layers > 0 {
                    1
                } else {
                    2 * w.shape.n_layer
                };
                let l = offload::decode_link_time(
                    w.shape.hidden_bytes,
                    crossings,
                    self.host_link,
                    batch,
                );
                terms.link_s += l;
                total += l;
            }
        }
        let diff = total - terms.total();
        if diff.abs() > 1e-15 {
            terms.overhead_s += diff;
        }
        (terms, bound)
    }

    /// Seconds to process `n` prompt tokens after `d0` cached ones; `None` without a compute rate.
    pub fn prefill_time(&self, d0: f64, n: f64) -> Option<PrefillTerms> {
        let w = &self.work;
        let mut terms = PrefillTerms::default();
        let mut times = Vec::with_capacity(self.devs.len());
        for (load, dev) in w.devices.iter().zip(&self.devs) {
            if load.is_empty() {
                times.push(0.0);
                continue;
            }
            let rate = dev.rate?;
            let f = prefill::features(load, rate, d0, n, w.shape.window, w.shape.flash_attn);
            let mut compute = prefill::time(&dev.prefill, f);
            if let Some(peak) = dev.peak {
                let bound = f.iter().sum::<f64>() * rate / peak;
                compute = compute.max(bound);
            }
            let mem = prefill::memory_time(
                load,
                dev.bandwidth,
                dev.decode.bw_efficiency(),
                n,
                w.shape.n_ubatch,
            );
            let fsum: f64 = f.iter().sum();
            let share = if fsum > 0.0 { f[0] / fsum } else { 1.0 };
            terms.matmul_s += compute * share;
            terms.attention_s += compute * (1.0 - share);
            terms.memory_s += (mem - compute).max(0.0);
            times.push(compute.max(mem));
        }
        let pipe = w.pipeline_factor(n);
        if pipe < 1.0 {
            terms.matmul_s *= pipe;
            terms.attention_s *= pipe;
            terms.memory_s *= pipe;
        }
        let mut total = match w.shape.split {
            Split::Layers => multi_gpu::layer_split(&times) * pipe,
            Split::Tensor { ways } => {
                let comm = multi_gpu::tensor_parallel_comm(
                    w.shape.n_layer,
                    self.n_embd * 2.0,
                    n,
                    ways,
                    self.peer_link,
                );
                let t = multi_gpu::tensor_split(&times, comm);
                let sum: f64 = times.iter().sum();
                if sum > 0.0 {
                    let k = (t - comm) / sum;
                    terms.matmul_s *= k;
                    terms.attention_s *= k;
                    terms.memory_s *= k;
                }
                terms.link_s += comm;
                t
            }
        };
        if !w.host.is_empty() {
            match self.devs.first() {
                // the GPU computes the host layers with weights copied in per micro-batch
                Some(dev) if n >= f64::from(offload::OP_OFFLOAD_MIN_BATCH) => {
                    let rate = dev.rate?;
                    let f =
                        prefill::features(&w.host, rate, d0, n, w.shape.window, w.shape.flash_attn);
                    let c = prefill::time(&dev.prefill, f);
                    let copy =
                        offload::prefill_copy_time(&w.host, self.host_link, n, w.shape.n_ubatch);
                    terms.matmul_s += c;
                    terms.link_s += copy;
                    total += c + copy;
                }
                // no GPU or a short prompt: the CPU reads its weights per token at best
                _ => {
                    let f = decode::features(
                        &w.host,
                        self.host_bandwidth,
                        None,
                        decode::mean_kv_bytes(&w.host, d0, n, w.shape.window),
                        1.0,
                        w.shape.flash_attn,
                    );
                    let per_token = decode::time(&self.host_decode, f).max(decode::bound(f));
                    if let (Some(c), true) = (&self.cpu, self.devs.is_empty()) {
                        let (lin, attn) = c.prefill_parts(d0, n)?;
                        terms.matmul_s += lin;
                        terms.attention_s += attn;
                        return Some(terms);
                    }
                    let t = match (self.devs.is_empty(), self.host_peak) {
                        // a CPU-only prompt: its roofline, the weights read once per micro-batch
                        (true, Some(peak)) => {
                            let chunks = (n / f64::from(w.shape.n_ubatch.max(1))).ceil().max(1.0);
                            let flops = w.host.lin_flops * n
                                + prefill::attention_flops(&w.host, d0, n, w.shape.window);
                            cpu::CpuRoofline::new(
                                chunks * w.host.resident_bytes,
                                self.host_bandwidth,
                                flops,
                                Some(peak),
                            )
                            .time()
                        }
                        (true, None) => return None,
                        (false, _) => n * per_token,
                    };
                    terms.cpu_s += t;
                    total += t;
                }
            }
        }
        let diff = total - terms.total();
        if diff.abs() > 1e-15 {
            terms.memory_s += diff;
        }
        Some(terms)
    }

    /// Answers one query.
    pub fn query(&self, q: &SpeedQuery) -> Speed {
        let batch = f64::from(q.batch.max(1));
        let d0 = f64::from(q.depth) + f64::from(q.prompt_tokens);
        let n = f64::from(q.gen_tokens.max(1));
        let (terms, bound) = self.decode_step(d0, n, batch);
        let step = terms.total();
        let prefill = (q.prompt_tokens > 0)
            .then(|| self.prefill_time(f64::from(q.depth), f64::from(q.prompt_tokens)))
            .flatten();
        let prefill_tok_s = prefill.map(|p| f64::from(q.prompt_tokens) / p.total());
        let first = self.decode_step(d0, 1.0, 1.0).0.total();
        let ttft_s = match (q.prompt_tokens, prefill) {
            (0, _) => Some(first),
            (_, Some(p)) => Some(p.total() + first),
            _ => None,
        };
        Speed {
            prefill_tok_s,
            decode_tok_s: 1.0 / step,
            aggregate_tok_s: batch / step,
            decode_bound_tok_s: if bound > 0.0 {
                1.0 / bound
            } else {
                f64::INFINITY
            },
            ttft_s,
            decode: terms,
            prefill,
        }
    }

    /// The ~90% band of a decode rate: [low, high], the high end never past the physical bound.
    pub fn decode_band(&self, s: &Speed) -> (f64, f64) {
        let h = self.band.0;
        let low = s.decode_tok_s / (1.0 + h);
        let high = (s.decode_tok_s / (1.0 - h)).min(s.decode_bound_tok_s.max(s.decode_tok_s));
        (low, high)
    }

    /// The ~90% band of a prompt rate.
    pub fn prefill_band(&self, tok_s: f64) -> (f64, f64) {
        let h = self.band.1;
        (tok_s / (1.0 + h), tok_s / (1.0 - h))
    }
}

/// The CPU fit prepared for the work `work` gives a scenario: `cpu_work` for a run whole on a CPU,
/// `host_work` for the host's share of a partial offload. `None`: no fit, or a CPU without its
/// threads (a CPU profile or a bare `--host` profile).
fn prepared(
    s: &Scenario,
    p: &SpeedParams,
    work: fn(&Scenario, Option<cpu::Isa>) -> cpu_least_squares::CpuWork,
) -> Option<Box<cpu_least_squares::CpuPrepared>> {
    let fit = p.cpu.as_ref()?;
    let machine = cpu_least_squares::machine_of(s)?;
    Some(Box::new(cpu_least_squares::CpuPrepared::new(
        fit,
        work(s, machine.isa),
        machine,
    )))
}

fn add_terms(a: &mut DecodeTerms, b: &DecodeTerms) {
    a.weights_s += b.weights_s;
    a.kv_cache_s += b.kv_cache_s;
    a.overhead_s += b.overhead_s;
    a.cpu_s += b.cpu_s;
    a.link_s += b.link_s;
    a.compute_s += b.compute_s;
}

fn scale_terms(a: &mut DecodeTerms, k: f64) {
    a.weights_s *= k;
    a.kv_cache_s *= k;
    a.overhead_s *= k;
    a.compute_s *= k;
}

/// The answer for the CLI's `speed` and `fit --json` (`speed` object).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SpeedReport {
    pub query: SpeedQuery,
    pub prefill_tok_s: Option<f64>,
    pub prefill_tok_s_low: Option<f64>,
    pub prefill_tok_s_high: Option<f64>,
    pub decode_tok_s: f64,
    pub decode_tok_s_low: f64,
    pub decode_tok_s_high: f64,
    /// Tokens per second over all sequences of the batch.
    pub aggregate_tok_s: f64,
    /// Bandwidth / bytes per token: no prediction exceeds it.
    pub decode_bound_tok_s: f64,
    pub ttft_s: Option<f64>,
    pub ttft_s_low: Option<f64>,
    pub ttft_s_high: Option<f64>,
    pub load_s: f64,
    pub joules_per_token: Option<f64>,
    /// Generated tokens per joule (all sequences together), the inverse of `joules_per_token`.
    pub tokens_per_joule: Option<f64>,
    /// `-ngl` of the offload these numbers are for, when the settings as given do not fit.
    pub offload_gpu_layers: Option<u32>,
    pub decode_terms: DecodeTerms,
    pub prefill_terms: Option<PrefillTerms>,
    pub verdicts: Vec<Verdict>,
    pub calibration: Vec<String>,
    pub warnings: Vec<String>,
}

/// Optional inputs that are not part of the scenario.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SpeedOptions {
    /// Disk read rate for the load time; `None` assumes a PCIe 4.0 x4 NVMe drive's link bound.
    pub disk_read: Option<BytesPerSec>,
    /// Measured power draw, replacing the board power in energy per token.
    pub power_w: Option<f64>,
}

/// Predicts speed for one query, with bands, load time, energy; verdicts are left empty
/// ([`assess`] fills them).
pub fn predict(s: &Scenario, q: &SpeedQuery, p: &SpeedParams) -> SpeedReport {
    predict_with(s, q, p, &SpeedOptions::default())
}

pub fn predict_with(
    s: &Scenario,
    q: &SpeedQuery,
    p: &SpeedParams,
    o: &SpeedOptions,
) -> SpeedReport {
    let m = SpeedModel::new(s, p);
    report(&m, s, q, o)
}

fn report(m: &SpeedModel, s: &Scenario, q: &SpeedQuery, o: &SpeedOptions) -> SpeedReport {
    let sp = m.query(q);
    let (mut dl, dh) = m.decode_band(&sp);
    if m.host_assumed && m.work.host.resident_bytes > 0.0 {
        // The host was not given: the low end of the band is the same run on a slow desktop.
        let slow = SpeedModel {
            host_bandwidth: offload::SLOW_HOST_BANDWIDTH.0,
            ..m.clone()
        };
        dl = dl.min(slow.decode_band(&slow.query(q)).0);
    }
    let pb = sp.prefill_tok_s.map(|t| m.prefill_band(t));
    let ttft_band = match (sp.ttft_s, sp.prefill, pb) {
        (Some(t), Some(pre), Some(_)) => {
            let first = t - pre.total();
            let h = m.band.1;
            Some((
                pre.total() * (1.0 - h) + first,
                pre.total() * (1.0 + h) + first,
            ))
        }
        _ => None,
    };
    let total: f64 = s.weights.iter().map(|t| t.bytes as f64).sum();
    let host: f64 = m.work.host.resident_bytes;
    let load_s = energy::load_time(
        total,
        total - host,
        o.disk_read.unwrap_or_else(energy::default_disk_read),
        &s.devices,
    );
    let per_token = 1.0 / sp.aggregate_tok_s;
    let joules = energy::joules_per_token(&s.devices, per_token, o.power_w);
    let mut warnings = m.warnings.clone();
    if let (Some(_), None) = (joules, o.power_w) {
        warnings.push(energy::assumption_note(&s.devices));
    } else if joules.is_none() {
        warnings.push(
            "energy unknown: no published power for this device; give a measured draw (--power-w)"
                .into(),
        );
    }
    SpeedReport {
        query: *q,
        prefill_tok_s: sp.prefill_tok_s,
        prefill_tok_s_low: pb.map(|b| b.0),
        prefill_tok_s_high: pb.map(|b| b.1),
        decode_tok_s: sp.decode_tok_s,
        decode_tok_s_low: dl,
        decode_tok_s_high: dh,
        aggregate_tok_s: sp.aggregate_tok_s,
        decode_bound_tok_s: sp.decode_bound_tok_s,
        ttft_s: sp.ttft_s,
        ttft_s_low: ttft_band.map(|b| b.0),
        ttft_s_high: ttft_band.map(|b| b.1),
        load_s,
        joules_per_token: joules,
        tokens_per_joule: joules.filter(|j| *j > 0.0).map(|j| 1.0 / j),
        offload_gpu_layers: None,
        decode_terms: sp.decode,
        prefill_terms: sp.prefill,
        verdicts: Vec::new(),
        calibration: m.calibration.clone(),
        warnings,
    }
}

/// A verdict for every use case at the user's own setting ([`verdict::judge_at_setting`]), the
/// run at the setting worked out once for all of them.
pub fn verdicts_at_setting(s: &Scenario, p: &SpeedParams) -> Vec<Verdict> {
    verdict::judge_all_at_setting(s, p)
}

/// The query at the user's setting: a `prompt`-token prompt and `gen` tokens generated by each
/// of the runtime's sequences, after `depth` cached tokens; without a depth, the rest of the
/// context per sequence is taken as already in use (the speed once the context set is full).
pub fn query_at_setting(s: &Scenario, prompt: u32, gen: u32, depth: Option<u32>) -> SpeedQuery {
    let ctx = verdict::context_per_sequence(s);
    let batch = match &s.runtime {
        crate::plan::Runtime::LlamaCpp(ls) => ls.n_parallel.max(1),
        _ => 1,
    };
    SpeedQuery {
        prompt_tokens: prompt,
        gen_tokens: gen,
        depth: depth.unwrap_or_else(|| ctx.saturating_sub(prompt.saturating_add(gen))),
        batch,
    }
}

/// [`predict`] at llama-bench's default query, with a verdict for every use case.
pub fn assess(s: &Scenario, p: &SpeedParams) -> SpeedReport {
    let mut r = predict(s, &SpeedQuery::default(), p);
    r.verdicts = UseCase::ALL
        .iter()
        .map(|u| verdict::judge(s, p, *u))
        .collect();
    r
}
