//! llama.cpp on CPU threads, fitted to llama-bench runs measured on a CPU.
//!
//! A token's decode time is its bytes over the measured memory bandwidth plus its matmul FLOPs
//! over threads x clock at a rate per quantization kernel, plus a fixed cost per layer:
//!
//! `t_decode = a x W / B + b x KV(d) / B + sum_k c_k x F_k / (T' x f) + l x L`
//!
//! and a prompt of `n` tokens after `d` cached ones
//!
//! `t_prefill = (sum_k p_k x (F_k x n - H_k x (n - 1)) + q x A(d, n) + r x L x n) / (T' x f)`
//!
//! (H_k the output head's FLOPs, which a prompt runs for its last token only)
//!
//! with W the weight bytes a token reads (the routed experts it uses, the output head, not the
//! untied embedding table), KV(d) the cache bytes it reads at depth d, B the bandwidth measured
//! for the run's thread count, F_k the matmul FLOPs (2 x elements) of the weights llama.cpp runs
//! with kernel k (a ggml type, `+repack` for the interleaved copy `CPU_REPACK` keeps), A the
//! attention FLOPs, L the layers, f the clock and T' = 1 + s x (T - 1) the threads at the fitted
//! efficiency `s` of each thread past the first. `a`, `b` are 1 / efficiencies against the
//! bandwidth, `c_k`, `p_k`, `q`, `r` are cycles per FLOP (or per layer and token), all fitted by
//! non-negative least squares on relative error. The rates are per cycle of the instruction set
//! they were measured on; another instruction set keeps them scaled by its peak FLOPs per cycle
//! (`cpu::Isa::flops_per_cycle`) and is reported as not calibrated. A kernel no run measured takes
//! the median of the measured kernels' rates, and says so.

use super::cpu::Isa;
use super::work::{self, Load};
use crate::hardware::DeviceKind;
use crate::memory::cpu_repack;
use crate::plan::{Runtime, Scenario};
use crate::quant::{GgmlType, StoredTensor};
use crate::tensors::TensorRole;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// What one token costs llama.cpp's CPU backend, from the scenario's stored tensors.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuWork {
    /// Weight bytes a token reads.
    pub weight_bytes: f64,
    /// Matmul FLOPs per token by kernel (`q4_0+repack`, `q6_k`, `f16`).
    pub kernel_flops: BTreeMap<String, f64>,
    /// The output head's share of `kernel_flops`: a prompt computes it for its last token only
    /// (llama.cpp returns the last position's logits unless asked for all).
    #[serde(default)]
    pub head_flops: BTreeMap<String, f64>,
    pub kv_full_per_pos: f64,
    pub kv_swa_per_pos: f64,
    pub attn_full_per_pos: f64,
    pub attn_swa_per_pos: f64,
    /// Sliding window, tokens (infinite without one).
    pub window: f64,
    /// Repeating layers plus the output layer.
    pub layers: f64,
}

/// The kernel llama.cpp's CPU backend runs a weight of type `ty` with.
pub fn kernel_name(ty: GgmlType, repacked: bool) -> String {
    let base = match ty {
        GgmlType::F32 | GgmlType::F16 | GgmlType::BF16 => "f16",
        other => other.name(),
    };
    if repacked {
        format!("{base}+repack")
    } else {
        base.to_string()
    }
}

/// The CPU work of a token of `s` run whole on the CPU (every layer in system RAM).
pub fn cpu_work(s: &Scenario, isa: Option<Isa>) -> CpuWork {
    let w = work::workload(s);
    let host: Load = if w.devices.is_empty() {
        w.host.clone()
    } else {
        let mut l = w.host.clone();
        for d in &w.devices {
            l.kv_full_per_pos += d.kv_full_per_pos;
            l.kv_swa_per_pos += d.kv_swa_per_pos;
            l.attn_full_per_pos += d.attn_full_per_pos;
            l.attn_swa_per_pos += d.attn_swa_per_pos;
            l.weight_bytes += d.weight_bytes;
            l.layers += d.layers;
        }
        l
    };
    work_of(s, isa, &host, w.shape.window, |_| true)
}

/// The CPU work of a token of a partial offload: only what the placement keeps in system RAM
/// (the layers past `-ngl`, the experts `--n-cpu-moe` keeps there), with its matmuls by kernel.
pub fn host_work(s: &Scenario, isa: Option<Isa>) -> CpuWork {
    let p = crate::placement::place(s);
    let w = work::Workload::from_placement(&p);
    // a tensor is known by its role and layer; the tied input table's copy on the host reads and
    // multiplies nothing (the output head's copy does the work where the output layer is)
    let on_host: Vec<(TensorRole, Option<u32>)> = p
        .tensors
        .iter()
        .filter(|t| t.site == crate::placement::Site::Host && t.flops_per_token > 0.0)
        .map(|t| (t.role, t.layer))
        .collect();
    work_of(s, isa, &w.host, w.shape.window, |t| {
        on_host.contains(&(t.role, t.layer))
    })
}

fn work_of(
    s: &Scenario,
    isa: Option<Isa>,
    host: &Load,
    window: f64,
    here: impl Fn(&StoredTensor) -> bool,
) -> CpuWork {
    let repack = match &s.runtime {
        Runtime::LlamaCpp(ls) => ls.repack && !matches!(isa, Some(Isa::Neon)),
        _ => false,
    };
    let m = &s.model;
    let mut kernel_flops = BTreeMap::new();
    let mut head_flops = BTreeMap::new();
    for t in s.weights.iter().filter(|t| here(t)) {
        let Some(ty) = t.ggml_type else { continue };
        let matmul = match t.role {
            TensorRole::Attn
            | TensorRole::Ffn
            | TensorRole::Experts
            | TensorRole::SharedExperts
            | TensorRole::Output => true,
            TensorRole::TokenEmbd => m.tied_embeddings,
            // the recurrent layers' in and out projections; norms, biases and the convolution
            // are F32 and no matmul
            TensorRole::LayerOther => ty != GgmlType::F32,
            TensorRole::OutputNorm | TensorRole::Other => false,
        };
        if !matmul {
            continue;
        }
        let f = crate::placement::active_fraction(m, t.role);
        let k = kernel_name(ty, repack && cpu_repack::repacked_on_x86(t));
        let flops = 2.0 * t.n_elements as f64 * f;
        if matches!(t.role, TensorRole::Output | TensorRole::TokenEmbd) {
            *head_flops.entry(k.clone()).or_insert(0.0) += flops;
        }
        *kernel_flops.entry(k).or_insert(0.0) += flops;
    }
    CpuWork {
        weight_bytes: host.weight_bytes,
        kernel_flops,
        head_flops,
        kv_full_per_pos: host.kv_full_per_pos,
        kv_swa_per_pos: host.kv_swa_per_pos,
        attn_full_per_pos: host.attn_full_per_pos,
        attn_swa_per_pos: host.attn_swa_per_pos,
        window,
        layers: f64::from(host.layers),
    }
}

impl CpuWork {
    /// Matmul FLOPs of kernel `k` for a prompt of `n` tokens: every token's layers, and the
    /// output head once.
    pub fn prompt_flops(&self, k: &str, n: f64) -> f64 {
        let all = self.kernel_flops.get(k).copied().unwrap_or(0.0);
        let head = self.head_flops.get(k).copied().unwrap_or(0.0);
        (all - head) * n + head
    }

    /// KV bytes a token reads on average while `n` tokens are generated from depth `d0`.
    pub fn mean_kv_bytes(&self, d0: f64, n: f64) -> f64 {
        let full = d0 + (n.max(1.0) - 1.0) / 2.0;
        self.kv_full_per_pos * full
            + self.kv_swa_per_pos * super::decode::mean_capped(d0, n, self.window)
    }

    /// Attention FLOPs of `n` prompt tokens after `d0` cached ones.
    pub fn attention_flops(&self, d0: f64, n: f64) -> f64 {
        let full = n * (d0 + (n - 1.0) / 2.0);
        let swa = n * super::decode::mean_capped(d0, n, self.window);
        self.attn_full_per_pos * full + self.attn_swa_per_pos * swa
    }
}

/// The CPU a run had: measured bandwidth for its threads, the threads, the clock and the ISA.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuMachine {
    /// Bytes per second.
    pub bandwidth: f64,
    pub threads: u32,
    /// Cycles per second of one core, when known.
    pub hz: Option<f64>,
    pub isa: Option<Isa>,
}

/// The CPU of a scenario whose CPU device gives its threads (`--cpu GBS,THREADS[,ISA,GHZ]`, or a
/// named catalog CPU, whose family is then its instruction set and whose FP32 rate its peak): its
/// bandwidth, threads, and the clock its peak FP32 rate implies for its instruction set; `None`
/// for a CPU profile without threads.
pub fn machine_of(s: &Scenario) -> Option<CpuMachine> {
    let d = s.devices.iter().find(|d| d.kind == DeviceKind::Cpu)?;
    let threads = d.cpu_cores?;
    let isa = Isa::parse(&d.family);
    let hz = match (isa, d.fp32) {
        (Some(i), Some(r)) => Some(r.0 / (f64::from(threads.max(1)) * i.flops_per_cycle())),
        _ => None,
    };
    Some(CpuMachine {
        bandwidth: d.bandwidth.0,
        threads,
        hz,
        isa,
    })
}

impl CpuMachine {
    /// Threads at efficiency `s` for each past the first.
    fn threads_eff(&self, s: f64) -> f64 {
        1.0 + s * (f64::from(self.threads.max(1)) - 1.0)
    }
}

/// Decode parameters (see the module notes).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuDecodeParams {
    /// `a`: 1 / share of the measured bandwidth reached reading weights.
    pub inv_bw_eff: f64,
    /// `b`: the same for the KV cache at depth.
    pub inv_kv_eff: f64,
    /// `l`: seconds per layer per token.
    pub layer_s: f64,
    /// `c_k`: cycles per matmul FLOP on one thread, by kernel.
    pub cycles_per_flop: BTreeMap<String, f64>,
    /// `s`: each thread past the first counts as this share of one.
    pub thread_eff: f64,
}

/// Prefill parameters (see the module notes).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuPrefillParams {
    /// `p_k`: cycles per matmul FLOP on one thread, by kernel.
    pub cycles_per_flop: BTreeMap<String, f64>,
    /// `q`: cycles per attention FLOP.
    pub attn_cycles_per_flop: f64,
    /// `r`: cycles per layer per token (norms, rope, activations).
    pub layer_cycles: f64,
    pub thread_eff: f64,
}

/// The fitted CPU parameters and what they rest on.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuSpeedParams {
    /// The instruction set the runs used; other sets are scaled by their peak and not calibrated.
    pub isa: Isa,
    /// Where the measurements came from.
    pub sources: Vec<String>,
    pub decode: CpuDecodeParams,
    pub prefill: CpuPrefillParams,
    /// Catalog models and quantizations measured.
    pub models: Vec<String>,
    pub quants: Vec<String>,
    pub n_decode: usize,
    pub n_prefill: usize,
    /// Standard deviation of predicted / measured - 1 over the fitted rows.
    pub decode_rel_sd: f64,
    pub prefill_rel_sd: f64,
}

impl CpuSpeedParams {
    /// Every parameter finite and non-negative, thread efficiencies at most 1, and sources named.
    pub fn check(&self) -> Result<(), String> {
        if self.sources.is_empty() {
            return Err("no `sources`".into());
        }
        let d = &self.decode;
        let q = &self.prefill;
        let mut values = vec![
            ("decode.inv_bw_eff", d.inv_bw_eff),
            ("decode.inv_kv_eff", d.inv_kv_eff),
            ("decode.layer_s", d.layer_s),
            ("decode.thread_eff", d.thread_eff),
            ("prefill.attn_cycles_per_flop", q.attn_cycles_per_flop),
            ("prefill.layer_cycles", q.layer_cycles),
            ("prefill.thread_eff", q.thread_eff),
            ("decode_rel_sd", self.decode_rel_sd),
            ("prefill_rel_sd", self.prefill_rel_sd),
        ];
        values.extend(
            d.cycles_per_flop
                .values()
                .map(|v| ("decode.cycles_per_flop", *v)),
        );
        values.extend(
            q.cycles_per_flop
                .values()
                .map(|v| ("prefill.cycles_per_flop", *v)),
        );
        if let Some((name, v)) = values.iter().find(|(_, v)| !v.is_finite() || *v < 0.0) {
            return Err(format!("{name} is {v}"));
        }
        if d.thread_eff > 1.0 || q.thread_eff > 1.0 {
            return Err("a thread efficiency is above 1".into());
        }
        Ok(())
    }
}

fn median_of(v: &BTreeMap<String, f64>) -> f64 {
    let mut x: Vec<f64> = v.values().copied().collect();
    if x.is_empty() {
        return 0.0;
    }
    x.sort_by(f64::total_cmp);
    let n = x.len();
    if n % 2 == 1 {
        x[n / 2]
    } else {
        (x[n / 2 - 1] + x[n / 2]) / 2.0
    }
}

/// Cycles a token's matmuls take on one thread with the fitted per-kernel rates, and the kernels
/// no run measured (they take the median rate).
fn kernel_cycles(
    rates: &BTreeMap<String, f64>,
    flops: &BTreeMap<String, f64>,
) -> (f64, Vec<String>) {
    let med = median_of(rates);
    let mut missing = Vec::new();
    let mut c = 0.0;
    for (k, f) in flops {
        match rates.get(k) {
            Some(r) => c += r * f,
            None => {
                if *f > 0.0 {
                    missing.push(k.clone());
                }
                c += med * f;
            }
        }
    }
    (c, missing)
}

/// A scenario's CPU costs with the parameters resolved, for fast queries.
#[derive(Clone, Debug, PartialEq)]
pub struct CpuPrepared {
    pub work: CpuWork,
    pub machine: CpuMachine,
    /// Decode: seconds per token of reads at depth 0 (weights, layers), seconds per KV byte.
    weights_s: f64,
    kv_s_per_byte: f64,
    layers_s: f64,
    /// Decode compute seconds per token, when the clock is known.
    decode_compute_s: Option<f64>,
    /// Prefill seconds per prompt token (matmuls and per-layer work) and per attention FLOP.
    prefill_token_s: Option<f64>,
    /// Prefill seconds of the output head, run for a prompt's last token.
    prefill_head_s: Option<f64>,
    prefill_attn_s_per_flop: Option<f64>,
    pub warnings: Vec<String>,
}

impl CpuPrepared {
    pub fn new(p: &CpuSpeedParams, work: CpuWork, machine: CpuMachine) -> CpuPrepared {
        let mut warnings = Vec::new();
        let bw = machine.bandwidth.max(1.0);
        // cycles per FLOP scale inversely with the peak FLOPs per cycle of the instruction set
        let isa_scale = machine
            .isa
            .map(|i| p.isa.flops_per_cycle() / i.flops_per_cycle());
        if let Some(i) = machine.isa {
            if i != p.isa {
                warnings.push(format!(
                    "CPU speed was fitted on {} runs only: {} is scaled by its peak FLOPs per cycle ({} vs {}), not calibrated",
                    p.isa.name(),
                    i.name(),
                    i.flops_per_cycle(),
                    p.isa.flops_per_cycle()
                ));
            }
        }
        let (dec_cycles, missing_d) = kernel_cycles(&p.decode.cycles_per_flop, &work.kernel_flops);
        let body: BTreeMap<String, f64> = work
            .kernel_flops
            .iter()
            .map(|(k, f)| {
                (
                    k.clone(),
                    f - work.head_flops.get(k).copied().unwrap_or(0.0),
                )
            })
            .collect();
        let (pre_cycles, missing_p) = kernel_cycles(&p.prefill.cycles_per_flop, &body);
        let (head_cycles, _) = kernel_cycles(&p.prefill.cycles_per_flop, &work.head_flops);
        let mut missing = missing_d;
        for k in missing_p {
            if !missing.contains(&k) {
                missing.push(k);
            }
        }
        if !missing.is_empty() {
            warnings.push(format!(
                "CPU kernel(s) {} not in the CPU fit: the median rate of the measured kernels is used",
                missing.join(", ")
            ));
        }
        let cycles = match (machine.hz, isa_scale) {
            (Some(hz), Some(k)) if hz > 0.0 => Some(hz / k),
            _ => None,
        };
        if cycles.is_none() {
            warnings.push(
                "no CPU clock and instruction set given: decode leaves out its compute share and there is no prompt speed (--cpu GBS,THREADS,ISA,GHZ)"
                    .into(),
            );
        }
        let td = machine.threads_eff(p.decode.thread_eff);
        let tp = machine.threads_eff(p.prefill.thread_eff);
        CpuPrepared {
            weights_s: p.decode.inv_bw_eff * work.weight_bytes / bw,
            kv_s_per_byte: p.decode.inv_kv_eff / bw,
            layers_s: p.decode.layer_s * work.layers,
            decode_compute_s: cycles.map(|c| dec_cycles / (td * c)),
            prefill_token_s: cycles
                .map(|c| (pre_cycles + p.prefill.layer_cycles * work.layers) / (tp * c)),
            prefill_head_s: cycles.map(|c| head_cycles / (tp * c)),
            prefill_attn_s_per_flop: cycles.map(|c| p.prefill.attn_cycles_per_flop / (tp * c)),
            work,
            machine,
            warnings,
        }
    }

    /// Seconds per decode step averaged over `n` tokens generated from depth `d0`, split into
    /// (weights and layers, KV cache, compute of one sequence).
    pub fn decode_parts(&self, d0: f64, n: f64) -> (f64, f64, f64) {
        let kv = self.kv_s_per_byte * self.work.mean_kv_bytes(d0, n);
        (
            self.weights_s + self.layers_s,
            kv,
            self.decode_compute_s.unwrap_or(0.0),
        )
    }

    /// Seconds a decode step of `batch` sequences takes at least: its weights and KV cache read
    /// once at the machine's whole bandwidth. The fit's terms come from machines where compute
    /// dominates; on one with many more cores they would otherwise add up to less than this.
    pub fn read_floor(&self, d0: f64, n: f64, batch: f64) -> f64 {
        (self.work.weight_bytes + batch * self.work.mean_kv_bytes(d0, n))
            / self.machine.bandwidth.max(1.0)
    }

    /// Seconds per token of one sequence decoded from `d0` over `n` tokens.
    pub fn decode_time(&self, d0: f64, n: f64) -> f64 {
        let (a, b, c) = self.decode_parts(d0, n);
        (a + b + c).max(self.read_floor(d0, n, 1.0))
    }

    /// Seconds for `n` prompt tokens after `d0` cached ones, split into (matmuls and per-layer
    /// work, attention); `None` without a clock.
    pub fn prefill_parts(&self, d0: f64, n: f64) -> Option<(f64, f64)> {
        Some((
            self.prefill_token_s? * n + self.prefill_head_s?,
            self.prefill_attn_s_per_flop? * self.work.attention_flops(d0, n),
        ))
    }
}

/// Which phase a measured row is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CpuPhase {
    Decode,
    Prefill,
}

/// One llama-bench test measured on a CPU, with what the model needs to predict it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CpuRow {
    pub label: String,
    /// Catalog model id (the left-out group of leave-one-architecture-out).
    pub model: String,
    pub quant: String,
    pub phase: CpuPhase,
    pub tokens: u32,
    pub depth: u32,
    pub tok_s: f64,
    pub work: CpuWork,
    pub machine: CpuMachine,
}

impl CpuRow {
    /// The row of a llama-bench test run in `s` (a scenario whole on a CPU given by its threads),
    /// or `None` when the scenario's CPU gives no threads.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        s: &Scenario,
        label: String,
        model: String,
        quant: String,
        phase: CpuPhase,
        tokens: u32,
        depth: u32,
        tok_s: f64,
    ) -> Option<CpuRow> {
        let machine = machine_of(s)?;
        Some(CpuRow {
            label,
            model,
            quant,
            phase,
            tokens,
            depth,
            tok_s,
            work: cpu_work(s, machine.isa),
            machine,
        })
    }

    /// The measured time the row's features add up to: seconds per token for decode (its
    /// features are per token), seconds for the whole prompt for prefill.
    fn seconds(&self) -> f64 {
        match self.phase {
            CpuPhase::Decode => 1.0 / self.tok_s,
            CpuPhase::Prefill => f64::from(self.tokens.max(1)) / self.tok_s,
        }
    }
}

/// The kernels a set of rows measured, in order.
fn kernels(rows: &[&CpuRow]) -> Vec<String> {
    let mut k: Vec<String> = rows
        .iter()
        .flat_map(|r| r.work.kernel_flops.keys().cloned())
        .collect();
    k.sort();
    k.dedup();
    k
}

/// Non-negative least squares (Lawson and Hanson's active set) of `x b = y`.
pub fn nnls(x: &[Vec<f64>], y: &[f64]) -> Vec<f64> {
    use nalgebra::{DMatrix, DVector};
    let m = y.len();
    let n = x.first().map_or(0, Vec::len);
    if m == 0 || n == 0 {
        return vec![0.0; n];
    }
    let a = DMatrix::from_fn(m, n, |i, j| x[i][j]);
    let yv = DVector::from_column_slice(y);
    let mut beta = DVector::zeros(n);
    let mut passive = vec![false; n];
    let solve = |passive: &[bool]| -> DVector<f64> {
        let cols: Vec<usize> = (0..n).filter(|j| passive[*j]).collect();
        let mut out = DVector::zeros(n);
        if cols.is_empty() {
            return out;
        }
        let sub = DMatrix::from_fn(m, cols.len(), |i, j| a[(i, cols[j])]);
        let svd = sub.svd(true, true);
        if let Ok(z) = svd.solve(&yv, 1e-12) {
            for (k, j) in cols.iter().enumerate() {
                out[*j] = z[k];
            }
        }
        out
    };
    for _ in 0..(3 * n + 10) {
        let w = a.transpose() * (&yv - &a * &beta);
        let cand = (0..n)
            .filter(|j| !passive[*j] && w[*j] > 1e-12)
            .max_by(|p, q| w[*p].total_cmp(&w[*q]));
        let Some(j) = cand else { break };
        passive[j] = true;
        loop {
            let z = solve(&passive);
            if (0..n).all(|k| !passive[k] || z[k] > 0.0) {
                beta = z;
                break;
            }
            let mut alpha = 1.0f64;
            for k in 0..n {
                if passive[k] && z[k] <= 0.0 {
                    let d = beta[k] - z[k];
                    if d > 0.0 {
                        alpha = alpha.min(beta[k] / d);
                    }
                }
            }
            beta = &beta + (z - &beta) * alpha;
            for k in 0..n {
                if passive[k] && beta[k] <= 1e-15 {
                    passive[k] = false;
                    beta[k] = 0.0;
                }
            }
        }
    }
    beta.iter().map(|v| v.max(0.0)).collect()
}

/// The thread efficiencies tried: 0.30 to 1.00 in steps of 0.01.
fn thread_grid() -> impl Iterator<Item = f64> {
    (30..=100).map(|i| f64::from(i) / 100.0)
}

fn decode_features(r: &CpuRow, ks: &[String], s: f64) -> Option<Vec<f64>> {
    let bw = r.machine.bandwidth;
    let hz = r.machine.hz?;
    let t = r.machine.threads_eff(s) * hz;
    let n = f64::from(r.tokens.max(1));
    let d0 = f64::from(r.depth);
    let mut x = vec![
        r.work.weight_bytes / bw,
        r.work.mean_kv_bytes(d0, n) / bw,
        r.work.layers,
    ];
    x.extend(
        ks.iter()
            .map(|k| r.work.kernel_flops.get(k).copied().unwrap_or(0.0) / t),
    );
    Some(x)
}

fn prefill_features(r: &CpuRow, ks: &[String], s: f64) -> Option<Vec<f64>> {
    let hz = r.machine.hz?;
    let t = r.machine.threads_eff(s) * hz;
    let n = f64::from(r.tokens.max(1));
    let d0 = f64::from(r.depth);
    let mut x: Vec<f64> = ks.iter().map(|k| r.work.prompt_flops(k, n) / t).collect();
    x.push(r.work.attention_flops(d0, n) / t);
    x.push(r.work.layers * n / t);
    Some(x)
}

/// Fits one phase: the thread efficiency on the grid, the rest by NNLS on relative error.
/// Returns (coefficients, thread efficiency, kernels).
fn fit_phase(
    rows: &[&CpuRow],
    phase: CpuPhase,
    feat: fn(&CpuRow, &[String], f64) -> Option<Vec<f64>>,
) -> (Vec<f64>, f64, Vec<String>) {
    let rows: Vec<&CpuRow> = rows.iter().copied().filter(|r| r.phase == phase).collect();
    let ks = kernels(&rows);
    let mut best: Option<(f64, Vec<f64>, f64)> = None;
    for s in thread_grid() {
        let mut x = Vec::new();
        let mut y = Vec::new();
        for r in &rows {
            let Some(f) = feat(r, &ks, s) else { continue };
            let t = r.seconds();
            x.push(f.iter().map(|v| v / t).collect::<Vec<f64>>());
            y.push(1.0);
        }
        if x.is_empty() {
            break;
        }
        let b = nnls(&x, &y);
        let sse: f64 = x
            .iter()
            .map(|row| {
                let p: f64 = row.iter().zip(&b).map(|(u, v)| u * v).sum();
                (p - 1.0).powi(2)
            })
            .sum();
        if best.as_ref().is_none_or(|(e, _, _)| sse < *e) {
            best = Some((sse, b, s));
        }
    }
    let (_, b, s) = best.unwrap_or((0.0, Vec::new(), 1.0));
    (b, s, ks)
}

/// Fits the CPU parameters to `rows` (decode and prefill rows; rows without a clock are skipped).
pub fn fit(rows: &[&CpuRow], isa: Isa, sources: &[String]) -> CpuSpeedParams {
    let (bd, sd, kd) = fit_phase(rows, CpuPhase::Decode, decode_features);
    let (bp, sp, kp) = fit_phase(rows, CpuPhase::Prefill, prefill_features);
    let get = |b: &[f64], i: usize| b.get(i).copied().unwrap_or(0.0);
    let decode = CpuDecodeParams {
        inv_bw_eff: get(&bd, 0),
        inv_kv_eff: get(&bd, 1),
        layer_s: get(&bd, 2),
        cycles_per_flop: kd
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), get(&bd, 3 + i)))
            .collect(),
        thread_eff: sd,
    };
    let prefill = CpuPrefillParams {
        cycles_per_flop: kp
            .iter()
            .enumerate()
            .map(|(i, k)| (k.clone(), get(&bp, i)))
            .collect(),
        attn_cycles_per_flop: get(&bp, kp.len()),
        layer_cycles: get(&bp, kp.len() + 1),
        thread_eff: sp,
    };
    let mut models: Vec<String> = rows.iter().map(|r| r.model.clone()).collect();
    models.sort();
    models.dedup();
    let mut quants: Vec<String> = rows.iter().map(|r| r.quant.clone()).collect();
    quants.sort();
    quants.dedup();
    let mut p = CpuSpeedParams {
        isa,
        sources: sources.to_vec(),
        decode,
        prefill,
        models,
        quants,
        n_decode: rows.iter().filter(|r| r.phase == CpuPhase::Decode).count(),
        n_prefill: rows.iter().filter(|r| r.phase == CpuPhase::Prefill).count(),
        decode_rel_sd: 0.0,
        prefill_rel_sd: 0.0,
    };
    let rel = |phase: CpuPhase| {
        let e: Vec<f64> = rows
            .iter()
            .filter(|r| r.phase == phase)
            .filter_map(|r| predict(&p, r).map(|v| v / r.tok_s - 1.0))
            .collect();
        if e.len() < 2 {
            return 0.0;
        }
        let m = e.iter().sum::<f64>() / e.len() as f64;
        (e.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (e.len() - 1) as f64).sqrt()
    };
    let (d, q) = (rel(CpuPhase::Decode), rel(CpuPhase::Prefill));
    p.decode_rel_sd = d;
    p.prefill_rel_sd = q;
    p
}

/// The predicted tokens per second of a row.
pub fn predict(p: &CpuSpeedParams, r: &CpuRow) -> Option<f64> {
    let c = CpuPrepared::new(p, r.work.clone(), r.machine);
    let n = f64::from(r.tokens.max(1));
    let d0 = f64::from(r.depth);
    match r.phase {
        CpuPhase::Decode => {
            r.machine.hz?;
            Some(1.0 / c.decode_time(d0, n))
        }
        CpuPhase::Prefill => {
            let (a, b) = c.prefill_parts(d0, n)?;
            Some(n / (a + b))
        }
    }
}

/// Each row predicted by a fit on the rows whose `group` differs (leave one group out):
/// (row index, predicted tok/s).
pub fn leave_one_out(
    rows: &[CpuRow],
    group: impl Fn(&CpuRow) -> String,
    isa: Isa,
) -> Vec<(usize, f64)> {
    let mut groups: Vec<String> = rows.iter().map(&group).collect();
    groups.sort();
    groups.dedup();
    let mut out = Vec::new();
    for g in &groups {
        let train: Vec<&CpuRow> = rows.iter().filter(|r| &group(r) != g).collect();
        let p = fit(&train, isa, &[]);
        for (i, r) in rows.iter().enumerate() {
            if &group(r) == g {
                if let Some(v) = predict(&p, r).filter(|v| v.is_finite() && *v > 0.0) {
                    out.push((i, v));
                }
            }
        }
    }
    out.sort_by_key(|(i, _)| *i);
    out
}

/// Median absolute percentage error of predictions against the rows they predict.
pub fn mdape(rows: &[CpuRow], pred: &[(usize, f64)], phase: CpuPhase) -> (f64, usize) {
    let mut e: Vec<f64> = pred
        .iter()
        .filter(|(i, _)| rows[*i].phase == phase)
        .map(|(i, v)| (v / rows[*i].tok_s - 1.0).abs() * 100.0)
        .collect();
    let n = e.len();
    if n == 0 {
        return (f64::NAN, 0);
    }
    e.sort_by(f64::total_cmp);
    let m = if n % 2 == 1 {
        e[n / 2]
    } else {
        (e[n / 2 - 1] + e[n / 2]) / 2.0
    };
    (m, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nnls_recovers_a_non_negative_solution() {
        // y = 2 x0 + 3 x1 exactly; a third column that would take a negative weight is dropped.
        let x = vec![
            vec![1.0, 0.0, 1.0],
            vec![0.0, 1.0, 1.0],
            vec![1.0, 1.0, 0.0],
            vec![2.0, 1.0, 0.5],
        ];
        let y = [2.0, 3.0, 5.0, 7.0];
        let b = nnls(&x, &y);
        assert!(
            (b[0] - 2.0).abs() < 1e-9 && (b[1] - 3.0).abs() < 1e-9,
            "{b:?}"
        );
        assert!(b[2].abs() < 1e-12, "{b:?}");
        // y = -x0: the best non-negative answer is zero.
        let b = nnls(&[vec![1.0], vec![2.0]], &[-1.0, -2.0]);
        assert_eq!(b, vec![0.0]);
    }

    #[test]
    fn kernel_names() {
        assert_eq!(kernel_name(GgmlType::Q4_0, true), "q4_0+repack");
        assert_eq!(kernel_name(GgmlType::BF16, false), "f16");
        assert_eq!(kernel_name(GgmlType::Q6_K, false), "q6_k");
    }
}
