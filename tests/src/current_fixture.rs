//! Public measurements of current runtime builds mapped onto catalog scenarios:
//! tests/fixtures/validation/current_builds.csv (copied from shared/validation with its source
//! column) and tests/fixtures/speed/current_backends.csv (the llama.cpp scoreboards for CUDA,
//! Vulkan, ROCm and Metal, and the Strix Halo runs, each row naming its source). The llama-bench
//! rows (ppN/tgN) are what the current era is fitted on; the llama-cli and MLX rows are checked.

use headroom_core::hardware::Backend;
use headroom_core::plan::{Runtime, Scenario};
use headroom_core::speed::least_squares::{observe, BenchTest, Observation, Phase};
use headroom_data::llama_bench::{self, BenchRow};
use headroom_data::{Catalog, ScenarioRequest};

pub const CURRENT_BUILDS: &str = include_str!("../fixtures/validation/current_builds.csv");
pub const CURRENT_BACKENDS: &str = include_str!("../fixtures/speed/current_backends.csv");

/// Where the current-era measurements came from (recorded in data/speed/llama-cpp.json).
pub fn sources() -> Vec<String> {
    vec![
        "tests/fixtures/validation/current_builds.csv: llama.cpp discussion #15013 'Performance of llama.cpp with CUDA' (https://github.com/ggml-org/llama.cpp/discussions/15013, 2025-26 builds, llama-bench -ngl 99, Llama 2 7B Q4_0 pp512/tg128), each row naming its transcription".into(),
        "tests/fixtures/speed/current_backends.csv: more #15013 CUDA rows; llama.cpp discussion #10879 (Vulkan, https://github.com/ggml-org/llama.cpp/discussions/10879), #15021 (ROCm), #4167 (Apple Silicon M3/M4 rows, https://github.com/ggml-org/llama.cpp/discussions/4167), ROCm/ROCm#4748 and llm-tracker.info (Strix Halo), Llama 2 7B F16/Q8_0/Q4_0 pp512/tg128, each row naming its transcription".into(),
    ]
}

/// The scoreboard's device names -> catalog ids. "NVIDIA A100 80GB" does not say PCIe or SXM;
/// it maps to the PCIe card the 2024 tables measured (1935 GB/s; the SXM card has 2039 GB/s).
const DEVICES: &[(&str, &str)] = &[
    ("NVIDIA GeForce RTX 5090", "rtx-5090"),
    ("NVIDIA GeForce RTX 4090", "rtx-4090"),
    ("NVIDIA GeForce RTX 3090", "rtx-3090"),
    ("NVIDIA GeForce RTX 4060 Ti", "rtx-4060-ti-16gb"),
    ("NVIDIA GeForce RTX 3060 12GB", "rtx-3060"),
    ("NVIDIA A100 80GB", "a100-80gb-pcie"),
    ("NVIDIA RTX A6000", "rtx-a6000"),
    ("NVIDIA RTX PRO 6000 Blackwell", "rtx-pro-6000-blackwell"),
    // HBM3: the SXM5 card (the PCIe card has HBM2e)
    ("NVIDIA H100 80GB HBM3", "h100-sxm"),
    ("NVIDIA GeForce RTX 5080", "rtx-5080"),
    ("NVIDIA GeForce RTX 5070 Ti", "rtx-5070-ti"),
    // the scoreboard does not say 8 or 16 GB; both cards have the same GB206 chip and 448 GB/s
    ("NVIDIA GeForce RTX 5060 Ti", "rtx-5060-ti-16gb"),
    ("NVIDIA DGX Spark (GB10)", "dgx-spark"),
    ("AMD Radeon RX 9070 XT", "rx-9070-xt"),
    ("AMD Radeon RX 7900 XTX", "rx-7900-xtx"),
    ("Intel Arc A770", "arc-a770"),
    ("Intel Arc B580", "arc-b580"),
    ("AMD Ryzen AI Max+ 395 (Radeon 8060S)", "ryzen-ai-max-395"),
];

/// `Apple M4 Pro 16-core GPU` -> the catalog chip of that bin (`m4-pro-16c` where the catalog has
/// a file per bin, else the chip) and its core count.
fn apple_chip(cat: &Catalog, device: &str) -> Option<(String, u32)> {
    let rest = device.strip_prefix("Apple ")?;
    let (chip, cores) = rest.strip_suffix("-core GPU")?.rsplit_once(' ')?;
    let cores: u32 = cores.parse().ok()?;
    let stem = chip.to_ascii_lowercase().replace(' ', "-");
    let bin = format!("{stem}-{cores}c");
    let id = if cat.hardware(&bin).is_ok() {
        bin
    } else {
        stem
    };
    cat.hardware(&id).ok()?;
    Some((id, cores))
}

/// Apple sells the 64 GB M3 Max only with the 40-core GPU (the 30-core chip comes with 36 GB):
/// https://www.apple.com/macbook-pro/specs/ (M3 Max configurations, 2023).
const M3_MAX_64GB: &str = "m3-max-40c";

/// Apple sells the 64 GB M4 Max only with the 16-core CPU / 40-core GPU (the 14-core CPU /
/// 32-core GPU chip comes with 36 GB): https://www.apple.com/macbook-pro/specs/ (M4 Max
/// configurations, 2024).
const M4_MAX_64GB: &str = "m4-max-40c";

/// What a row measured, once read.
#[derive(Clone, Debug)]
pub struct CurrentRow {
    pub device_id: String,
    pub backend_runtime: String,
    pub model_id: String,
    pub quant: String,
    pub test: BenchTest,
    pub tok_s: f64,
    /// Flash attention as the row's runtime column states it; `None` when the source does not
    /// say (the transcription's note: "probably FA on").
    pub flash_attn: Option<bool>,
    /// The llama.cpp backend the row ran (`llama.cpp Vulkan` ...); MLX runs on Metal.
    pub backend: Backend,
    /// The chip's GPU core count where the row names its bin (Apple).
    pub gpu_cores: Option<u32>,
    pub source: String,
}

/// One current-build measurement with its scenario and observation.
#[derive(Clone, Debug)]
pub struct CurrentMeasured {
    pub row: CurrentRow,
    pub scenario: Scenario,
    pub obs: Observation,
    /// The llama.cpp CUDA scoreboard rows are fitted; the rest only checked.
    pub fitted: bool,
}

fn test_of(cell: &str) -> Option<BenchTest> {
    if let Some(t) = BenchTest::parse(cell) {
        return Some(t);
    }
    // the leading number of "32163 tokens" or "32163-token prompt"
    let num = |s: &str| {
        let digits: String = s.chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<u32>().ok()
    };
    if let Some(rest) = cell.strip_prefix("prompt processing, ") {
        return Some(BenchTest {
            phase: Phase::Prefill,
            tokens: num(rest)?,
            depth: 0,
        });
    }
    let rest = cell.strip_prefix("token generation, ")?;
    let tokens = num(rest)?;
    let depth = match rest.split_once(" after ") {
        Some((_, d)) => num(d)?,
        None => 0,
    };
    Some(BenchTest {
        phase: Phase::Decode,
        tokens,
        depth,
    })
}

fn flash_attn_of(runtime: &str) -> Option<bool> {
    let r = runtime.to_ascii_lowercase();
    if r.contains("not stated") {
        None
    } else if r.contains("no -fa") {
        Some(false)
    } else if r.contains("flash attention on") || r.contains(" -fa") {
        Some(true)
    } else {
        Some(false)
    }
}

fn backend_of(runtime: &str) -> Backend {
    let r = runtime.to_ascii_lowercase();
    if r.contains("vulkan") {
        Backend::Vulkan
    } else if r.contains("rocm") {
        Backend::Rocm
    } else if r.contains("cuda") {
        Backend::Cuda
    } else {
        Backend::Metal
    }
}

/// Every row of both files the catalog can describe, parsed; the others are returned by description.
pub fn rows() -> (Vec<CurrentRow>, Vec<String>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let Ok(cat) = headroom_data::catalog() else {
        return (out, vec!["the catalog does not load".into()]);
    };
    let files = [CURRENT_BUILDS, CURRENT_BACKENDS];
    for r in files
        .iter()
        .flat_map(|f| csv::Reader::from_reader(f.as_bytes()).into_records())
        .flatten()
    {
        let get = |i: usize| r.get(i).unwrap_or_default().to_string();
        let (source, device, runtime, model, quant, test, value) =
            (get(0), get(2), get(3), get(4), get(5), get(6), get(7));
        let apple = apple_chip(cat, &device);
        let device_id = DEVICES
            .iter()
            .find(|(k, _)| *k == device)
            .map(|(_, v)| v.to_string())
            .or_else(|| apple.as_ref().map(|(id, _)| id.clone()))
            .or_else(|| {
                device
                    .starts_with("Apple M3 Max 64 GB")
                    .then(|| M3_MAX_64GB.into())
            })
            .or_else(|| {
                device
                    .starts_with("Apple M4 Max 64 GB")
                    .then(|| M4_MAX_64GB.into())
            })
            .or_else(|| (device == "Apple M2 Ultra").then(|| "m2-ultra".into()));
        let model_id = match model.as_str() {
            "Llama-2 7B" => Some("llama-2-7b"),
            "Llama-3.1-8B-Instruct" => Some("llama-3.1-8b"),
            // the PR's command line loads meta-llama/Meta-Llama-3-70B-Instruct
            m if m.contains("Meta-Llama-3-70B-Instruct") => Some("llama-3-70b"),
            "Llama-3.3-70B-Instruct" => Some("llama-3.3-70b"),
            // the 2507 instruct releases keep their base models' shapes (layers, hidden size,
            // heads, KV heads, experts); only the trained context and RoPE base differ
            "Qwen3-4B-Instruct-2507" => Some("qwen3-4b"),
            "Qwen3-30B-A3B-Instruct-2507" => Some("qwen3-30b-a3b"),
            _ => None,
        };
        let quant = match quant.as_str() {
            "MLX 4-bit" => "mlx-4bit".to_string(),
            "MLX 8-bit" => "mlx-8bit".to_string(),
            q if q.starts_with("16-bit") => "bf16".to_string(),
            q => q.to_string(),
        };
        let (Some(device_id), Some(model_id), Some(test), Ok(tok_s)) =
            (device_id, model_id, test_of(&test), value.parse::<f64>())
        else {
            skipped.push(format!("{device} / {model} / {test}"));
            continue;
        };
        out.push(CurrentRow {
            device_id,
            flash_attn: flash_attn_of(&runtime),
            backend: backend_of(&runtime),
            gpu_cores: apple.map(|(_, c)| c),
            backend_runtime: runtime,
            model_id: model_id.to_string(),
            quant,
            test,
            tok_s,
            source,
        });
    }
    (out, skipped)
}

impl CurrentRow {
    pub fn is_mlx(&self) -> bool {
        self.backend_runtime.starts_with("mlx")
    }

    pub fn is_cuda(&self) -> bool {
        self.backend_runtime.starts_with("llama.cpp CUDA")
    }

    /// A llama-bench run (ppN / tgN from an empty cache) of a llama.cpp scoreboard: the rows the
    /// current era is fitted on. The llama-cli runs at 32K and the MLX rows are only checked.
    pub fn is_llama_bench(&self) -> bool {
        !self.is_mlx() && self.test.depth == 0 && self.test.tokens <= 512
    }

    /// MLX before its memory was wired (mlx-examples PR #1069) paged weights from disk: a
    /// measurement of swapping, not of the speed model.
    pub fn is_unwired_mlx(&self) -> bool {
        self.is_mlx() && self.backend_runtime.contains("not wired")
    }

    /// mlx-lm before the causal-mask change of PR #40 (an older build than today's).
    pub fn is_superseded_mlx(&self) -> bool {
        self.is_mlx() && self.backend_runtime.contains("before PR")
    }
}

/// The scenario a row ran: llama-bench or llama-cli with every layer on the GPU (`-ub 512`, batch
/// 2048, f16 cache), or mlx-lm with its defaults.
pub fn scenario(cat: &Catalog, row: &CurrentRow) -> Option<Scenario> {
    if row.is_mlx() {
        let req = ScenarioRequest {
            model: row.model_id.clone(),
            quant: Some(row.quant.clone()),
            hardware: vec![row.device_id.clone()],
            runtime: Some("mlx".into()),
            ctx: Some(row.test.depth + row.test.tokens),
            beyond_trained: Some(true),
            ..ScenarioRequest::default()
        };
        return headroom_data::build(&req, None).ok();
    }
    let bench = BenchRow {
        device_id: row.device_id.clone(),
        n_devices: 1,
        gpu_cores: row.gpu_cores,
        model_id: row.model_id.clone(),
        quant: row.quant.clone(),
        notes: String::new(),
    };
    let mut s = llama_bench::scenario(cat, &bench, row.test)?;
    headroom_data::request::set_backend(&mut s.devices, row.backend).ok()?;
    if let Runtime::LlamaCpp(ls) = &mut s.runtime {
        ls.flash_attn = row.flash_attn.unwrap_or(true);
    }
    Some(s)
}

/// Every usable current-build row as an observation.
pub fn measured(cat: &Catalog) -> Vec<CurrentMeasured> {
    let (rows, _) = rows();
    rows.into_iter()
        .filter(|r| !r.is_unwired_mlx() && !r.is_superseded_mlx())
        .filter_map(|row| {
            let scenario = scenario(cat, &row)?;
            let fa = match row.flash_attn {
                Some(true) => " FA on",
                Some(false) => " FA off",
                None => " FA not stated (taken as on)",
            };
            let test = if row.test.depth > 0 {
                format!(
                    "{:?} {} @ depth {}",
                    row.test.phase, row.test.tokens, row.test.depth
                )
            } else {
                format!("{:?} {}", row.test.phase, row.test.tokens)
            };
            let cores = row.gpu_cores.map_or(String::new(), |c| format!(" {c}c"));
            let label = format!(
                "{}{cores} {} {} {}{} {}",
                row.device_id,
                if row.is_mlx() {
                    "mlx-lm".to_string()
                } else {
                    format!("llama.cpp {}", row.backend.name())
                },
                row.model_id,
                row.quant,
                if row.is_mlx() { "" } else { fa },
                test
            );
            let obs = observe(&scenario, &row.device_id, row.test, row.tok_s, &label)?;
            Some(CurrentMeasured {
                fitted: row.is_llama_bench(),
                row,
                scenario,
                obs,
            })
        })
        .collect()
}
