//! The CPU roofline: a token reads its bytes at the memory bandwidth, and its FLOPs run on
//! `threads` cores at the SIMD rate the instruction set allows per cycle.
//!
//! Per-core FP32 FLOPs per cycle, from the vendors' optimization manuals:
//! - AVX2 with FMA3: two 256-bit FMA units, 2 x 8 lanes x 2 = 32 (Intel 64 and IA-32
//!   Architectures Optimization Reference Manual, Haswell microarchitecture: two FMA ports);
//! - AVX-512: two 512-bit FMA units, 2 x 16 x 2 = 64 (same manual, Skylake Server: ports 0 and 5);
//! - AMX: 1024 BF16 FLOPs per cycle per core in the tile unit (Intel, "Intel Advanced Matrix
//!   Extensions Overview": 1024 BF16 / 2048 INT8 operations per cycle per core);
//! - NEON: two 128-bit FMA pipes, 2 x 4 x 2 = 16 (Arm Cortex-A78 Software Optimization Guide,
//!   two ASIMD/FP pipes; Neoverse V-class and Apple cores have four, so this is a floor).
//!
//! llama.cpp's threads are best set to physical cores: SMT siblings share the FMA units, so a
//! thread counts as one core here. These are peaks; measured runs are below them.

use serde::{Deserialize, Serialize};

/// The widest SIMD unit llama.cpp's CPU backend uses for matrix work.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Isa {
    Avx2,
    /// The default: the instruction set the CPU fit was measured on.
    #[default]
    Avx512,
    Amx,
    Neon,
}

impl Isa {
    pub const ALL: [Isa; 4] = [Isa::Avx2, Isa::Avx512, Isa::Amx, Isa::Neon];

    pub fn name(self) -> &'static str {
        match self {
            Isa::Avx2 => "avx2",
            Isa::Avx512 => "avx512",
            Isa::Amx => "amx",
            Isa::Neon => "neon",
        }
    }

    pub fn parse(s: &str) -> Option<Isa> {
        match s
            .trim()
            .to_ascii_lowercase()
            .replace(['-', '_'], "")
            .as_str()
        {
            "avx2" => Some(Isa::Avx2),
            "avx512" => Some(Isa::Avx512),
            "amx" => Some(Isa::Amx),
            "neon" | "arm" | "arm64" | "aarch64" => Some(Isa::Neon),
            _ => None,
        }
    }

    /// FLOPs one core completes per cycle at peak (see the module notes for the sources).
    pub fn flops_per_cycle(self) -> f64 {
        match self {
            Isa::Avx2 => 32.0,
            Isa::Avx512 => 64.0,
            Isa::Amx => 1024.0,
            Isa::Neon => 16.0,
        }
    }
}

/// Peak FLOP/s of `threads` cores at `ghz` with `isa`.
pub fn peak_flops(threads: u32, isa: Isa, ghz: f64) -> f64 {
    f64::from(threads) * isa.flops_per_cycle() * ghz * 1e9
}

/// The two roofline terms of one token (or one prompt) on the CPU, seconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct CpuRoofline {
    /// Bytes read / memory bandwidth.
    pub memory_s: f64,
    /// FLOPs / (threads x FLOPs per cycle x clock).
    pub compute_s: f64,
}

impl CpuRoofline {
    pub fn new(bytes: f64, bandwidth: f64, flops: f64, peak: Option<f64>) -> CpuRoofline {
        CpuRoofline {
            memory_s: if bandwidth > 0.0 {
                bytes / bandwidth
            } else {
                0.0
            },
            compute_s: match peak {
                Some(p) if p > 0.0 => flops / p,
                _ => 0.0,
            },
        }
    }

    /// Reads and compute overlap: the slower one decides.
    pub fn time(&self) -> f64 {
        self.memory_s.max(self.compute_s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roofline_terms_by_hand() {
        // 16 AVX2 cores at 4.5 GHz: 16 x 32 x 4.5e9 = 2.304e12 FLOP/s.
        let peak = peak_flops(16, Isa::Avx2, 4.5);
        assert!((peak - 2.304e12).abs() < 1.0);
        // Qwen3-8B Q4_K_M decode on dual-channel DDR5-5600 (89.6 GB/s): about 4.68e9 bytes per
        // token (4.35 GiB of weights as `headroom fit` prints them, x 1.073741824) / 89.6e9 =
        // 52.2 ms; its 2 x 8.19e9 parameters = 16.38 GFLOP / 2.304e12 = 7.1 ms. Memory decides.
        let t = CpuRoofline::new(4.35 * 1.073_741_824e9, 89.6e9, 16.38e9, Some(peak));
        assert!((t.memory_s - 0.052_128).abs() < 1e-5, "{}", t.memory_s);
        assert!((t.compute_s - 0.007_109).abs() < 1e-5, "{}", t.compute_s);
        assert_eq!(t.time(), t.memory_s);
        // A 512-token prompt: 512 x 16.38e9 = 8.386e12 FLOP / 2.304e12 = 3.64 s, compute decides.
        let p = CpuRoofline::new(4.35 * 1.073_741_824e9, 89.6e9, 512.0 * 16.38e9, Some(peak));
        assert!((p.time() - 3.64).abs() < 0.001, "{}", p.time());
        // AVX-512 doubles the per-cycle rate, AMX is 32x AVX2, NEON half of it.
        assert_eq!(peak_flops(16, Isa::Avx512, 4.5), 2.0 * peak);
        assert_eq!(peak_flops(1, Isa::Amx, 1.0), 1.024e12);
        assert_eq!(peak_flops(2, Isa::Neon, 1.0), 32e9);
    }

    #[test]
    fn names_round_trip() {
        for i in Isa::ALL {
            assert_eq!(Isa::parse(i.name()), Some(i));
        }
        assert_eq!(Isa::parse("AVX-512"), Some(Isa::Avx512));
        assert_eq!(Isa::parse("sse2"), None);
    }
}
