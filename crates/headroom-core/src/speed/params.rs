//! Efficiency parameters: per runtime, backend, device family and quantization-kernel class, fitted to measurements.

use super::vulkan_path::VulkanMatmul;
use crate::hardware::Backend;
use crate::quant::{GgufMix, Quant};
use serde::{Deserialize, Serialize};

/// Quantization families whose kernels behave alike (one set of efficiencies each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QuantClass {
    /// Unquantized 16/32-bit weights (cuBLAS / Metal float matmuls).
    Float,
    /// llama.cpp's legacy block formats (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0).
    Legacy,
    /// K-quants and i-quants (Q2_K..Q6_K, IQ*).
    KQuant,
    /// MXFP4 (gpt-oss).
    Mxfp4,
    /// Formats of other runtimes (MLX, GPTQ, AWQ, FP8, NF4, EXL).
    Other,
}

impl QuantClass {
    pub fn of(q: &Quant) -> QuantClass {
        match q {
            Quant::Float16 | Quant::Float32 => QuantClass::Float,
            Quant::Gguf { mix } => match mix {
                GgufMix::F32 | GgufMix::F16 | GgufMix::BF16 => QuantClass::Float,
                GgufMix::Q4_0 | GgufMix::Q4_1 | GgufMix::Q5_0 | GgufMix::Q5_1 | GgufMix::Q8_0 => {
                    QuantClass::Legacy
                }
                GgufMix::MXFP4_MOE => QuantClass::Mxfp4,
                _ => QuantClass::KQuant,
            },
            _ => QuantClass::Other,
        }
    }

    /// The class of a quantization label (`Q4_K_M`, `f16`); unknown labels are `Other`.
    pub fn of_label(label: &str) -> QuantClass {
        Quant::parse(label).map_or(QuantClass::Other, |q| QuantClass::of(&q))
    }

    pub fn name(self) -> &'static str {
        match self {
            QuantClass::Float => "float",
            QuantClass::Legacy => "legacy",
            QuantClass::KQuant => "k_quant",
            QuantClass::Mxfp4 => "mxfp4",
            QuantClass::Other => "other",
        }
    }
}

/// Which measurements a parameter set describes. `None` fields are pooled ("any").
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ParamKey {
    pub backend: Option<Backend>,
    pub family: Option<String>,
    pub quant: Option<QuantClass>,
}

impl ParamKey {
    /// Every GPU backend, every family, every quantization: the root of the hierarchy.
    pub fn root() -> ParamKey {
        ParamKey {
            backend: None,
            family: None,
            quant: None,
        }
    }

    pub fn new(
        backend: Option<Backend>,
        family: Option<&str>,
        quant: Option<QuantClass>,
    ) -> ParamKey {
        ParamKey {
            backend,
            family: family.map(str::to_string),
            quant,
        }
    }

    /// The order a prediction looks for fitted parameters, most specific first: (backend, family,
    /// quant), (backend, quant), (backend, family), (backend), (quant), everything. On Vulkan the
    /// matmul path's groups ([`VulkanMatmul`]) come after the family's: (backend, path, quant)
    /// before (backend, quant), (backend, path) before (backend). The levels that name the backend
    /// come first; a CPU looks no further.
    pub fn chain(backend: Backend, family: &str, quant: QuantClass) -> Vec<ParamKey> {
        let b = Some(backend);
        let path = (backend == Backend::Vulkan).then(|| VulkanMatmul::of_family(family).label());
        let mut c = vec![ParamKey::new(b, Some(family), Some(quant))];
        if let Some(p) = path {
            c.push(ParamKey::new(b, Some(p), Some(quant)));
        }
        c.push(ParamKey::new(b, None, Some(quant)));
        c.push(ParamKey::new(b, Some(family), None));
        if let Some(p) = path {
            c.push(ParamKey::new(b, Some(p), None));
        }
        c.push(ParamKey::new(b, None, None));
        c.push(ParamKey::new(None, None, Some(quant)));
        c.push(ParamKey::root());
        c
    }

    /// Whether the key's family slot names a Vulkan matmul path.
    pub fn is_path(&self) -> bool {
        self.family.as_deref().is_some_and(VulkanMatmul::is_label)
    }

    /// The order groups are fitted in: general before specific, and at one depth a Vulkan path
    /// before the device families that are pulled toward it.
    pub fn fit_order(&self) -> (usize, bool, String) {
        (self.depth(), !self.is_path(), self.label())
    }

    /// The group a fit of this key is pulled toward. A device family's quantization class leans on
    /// the family over all classes (fixed per-layer costs and attention do not depend on the
    /// weight format); a family on its backend (on Vulkan, on its matmul path, and the path on the
    /// backend); a backend's class on the class over all GPUs.
    pub fn parent(&self) -> Option<ParamKey> {
        let b = self.backend;
        let q = self.quant;
        match (b, self.family.as_deref(), q) {
            (Some(_), Some(f), Some(_)) => Some(ParamKey::new(b, Some(f), None)),
            (Some(Backend::Vulkan), Some(f), None) if !VulkanMatmul::is_label(f) => Some(
                ParamKey::new(b, Some(VulkanMatmul::of_family(f).label()), None),
            ),
            (Some(_), Some(_), None) => Some(ParamKey::new(b, None, None)),
            (Some(_), None, Some(_)) => Some(ParamKey::new(None, None, q)),
            (Some(_), None, None) => Some(ParamKey::root()),
            (None, _, Some(_)) => Some(ParamKey::root()),
            (None, _, None) => None,
        }
    }

    /// How specific the key is (0 for the root).
    pub fn depth(&self) -> usize {
        usize::from(self.backend.is_some())
            + usize::from(self.family.is_some())
            + usize::from(self.quant.is_some())
    }

    pub fn label(&self) -> String {
        format!(
            "{}/{}/{}",
            self.backend.map_or("*", Backend::name),
            self.family.as_deref().unwrap_or("*"),
            self.quant.map_or("*", QuantClass::name)
        )
    }
}

/// Token generation: seconds per token = `inv_bw_eff` x weight bytes / bandwidth
/// + `inv_kv_eff` (or `inv_kv_eff_fa` with flash attention) x KV bytes read / bandwidth
/// + `layer_s` x layers (kernel launches, synchronisation)
/// + `alu_per_byte` x weight bytes / vector FP32 rate (unpacking and dotting the quantized
///   blocks on the vector ALUs, where the device publishes that rate).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct DecodeParams {
    /// 1 / bandwidth efficiency for weights (1.0 = the physical bound).
    pub inv_bw_eff: f64,
    /// 1 / efficiency of attention's KV reads (above 1 when attention costs more than a plain read).
    pub inv_kv_eff: f64,
    /// The same with flash attention.
    pub inv_kv_eff_fa: f64,
    /// Fixed cost per layer per token, seconds.
    pub layer_s: f64,
    /// Vector operations per weight byte that do not overlap the reads (the mat-vec kernels'
    /// dequantize and dot products), counted against the published FP32 rate. Zero in
    /// parameter files written before the term existed.
    #[serde(default)]
    pub alu_per_byte: f64,
}

/// Number of decode parameters (and features).
pub const DECODE_N: usize = 5;
/// Number of prefill parameters (and features).
pub const PREFILL_N: usize = 3;

impl DecodeParams {
    pub const BOUND: DecodeParams = DecodeParams {
        inv_bw_eff: 1.0,
        inv_kv_eff: 1.0,
        inv_kv_eff_fa: 1.0,
        layer_s: 0.0,
        alu_per_byte: 0.0,
    };

    pub fn as_array(&self) -> [f64; DECODE_N] {
        [
            self.inv_bw_eff,
            self.inv_kv_eff,
            self.inv_kv_eff_fa,
            self.layer_s,
            self.alu_per_byte,
        ]
    }

    pub fn from_array(a: [f64; DECODE_N]) -> DecodeParams {
        DecodeParams {
            inv_bw_eff: a[0],
            inv_kv_eff: a[1],
            inv_kv_eff_fa: a[2],
            layer_s: a[3],
            alu_per_byte: a[4],
        }
    }

    /// Weight bandwidth efficiency, 0..1.
    pub fn bw_efficiency(&self) -> f64 {
        if self.inv_bw_eff > 0.0 {
            1.0 / self.inv_bw_eff
        } else {
            1.0
        }
    }
}

/// Prompt processing: seconds = `inv_lin` x matmul FLOPs / reference rate + `inv_attn` (or
/// `inv_attn_fa` with flash attention) x attention FLOPs / reference rate. The reference rate is the published dense FP16 tensor rate, or for
/// Apple GPUs (no published rate) 1 TFLOP/s per GPU core, so `1 / inv_lin` is the effective share
/// of peak (or TFLOP/s per core).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct PrefillParams {
    pub inv_lin: f64,
    pub inv_attn: f64,
    pub inv_attn_fa: f64,
}

impl PrefillParams {
    pub const BOUND: PrefillParams = PrefillParams {
        inv_lin: 1.0,
        inv_attn: 1.0,
        inv_attn_fa: 1.0,
    };

    pub fn as_array(&self) -> [f64; PREFILL_N] {
        [self.inv_lin, self.inv_attn, self.inv_attn_fa]
    }

    pub fn from_array(a: [f64; PREFILL_N]) -> PrefillParams {
        PrefillParams {
            inv_lin: a[0],
            inv_attn: a[1],
            inv_attn_fa: a[2],
        }
    }
}

/// One fitted group: its parameters, the measurements behind them and their relative residuals.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct GroupParams {
    pub key: ParamKey,
    pub decode: Option<DecodeParams>,
    pub prefill: Option<PrefillParams>,
    /// Catalog ids of the devices whose measurements were fitted.
    pub devices: Vec<String>,
    pub n_decode: usize,
    pub n_prefill: usize,
    /// Standard deviation of (predicted / measured - 1) over the fitted rows.
    pub decode_rel_sd: f64,
    pub prefill_rel_sd: f64,
}

/// Everything the speed model was fitted to, for one runtime.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SpeedParams {
    pub runtime: String,
    /// Where the measurements came from.
    pub sources: Vec<String>,
    pub groups: Vec<GroupParams>,
    /// The CPU backend's own fit (`speed::cpu_least_squares`), for runs whole on CPU threads.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<super::cpu_least_squares::CpuSpeedParams>,
}

/// The parameters a prediction used: which group answered, and whether any did.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Resolved<'a, T> {
    pub params: T,
    /// `None` when no fitted group covers the device: the physical bound is used.
    pub group: Option<&'a GroupParams>,
}

impl SpeedParams {
    pub fn group(&self, key: &ParamKey) -> Option<&GroupParams> {
        self.groups.iter().find(|g| &g.key == key)
    }

    /// The most specific fitted decode parameters for a device; CPUs fall back only to CPU fits.
    pub fn decode(
        &self,
        backend: Backend,
        family: &str,
        quant: QuantClass,
    ) -> Resolved<'_, DecodeParams> {
        self.resolve(backend, family, quant, |g| g.decode).map_or(
            Resolved {
                params: DecodeParams::BOUND,
                group: None,
            },
            |(p, g)| Resolved {
                params: p,
                group: Some(g),
            },
        )
    }

    pub fn prefill(
        &self,
        backend: Backend,
        family: &str,
        quant: QuantClass,
    ) -> Resolved<'_, PrefillParams> {
        self.resolve(backend, family, quant, |g| g.prefill).map_or(
            Resolved {
                params: PrefillParams::BOUND,
                group: None,
            },
            |(p, g)| Resolved {
                params: p,
                group: Some(g),
            },
        )
    }

    fn resolve<T>(
        &self,
        backend: Backend,
        family: &str,
        quant: QuantClass,
        pick: impl Fn(&GroupParams) -> Option<T>,
    ) -> Option<(T, &GroupParams)> {
        // GPU-wide levels (no backend) were fitted on GPUs only; a CPU does not inherit them.
        ParamKey::chain(backend, family, quant)
            .iter()
            .filter(|k| backend != Backend::Cpu || k.backend.is_some())
            .find_map(|k| self.group(k).and_then(|g| pick(g).map(|p| (p, g))))
    }
}
