//! Public measurements of current runtime builds (tests/fixtures/validation/current_builds.csv,
//! copied from shared/validation with its source column) mapped onto catalog scenarios: the
//! llama.cpp CUDA scoreboard rows the current era is fitted on, and the Metal and MLX rows it is
//! checked against.

use headroom_core::plan::{Runtime, Scenario};
use headroom_core::speed::fit::{observe, BenchTest, Observation, Phase};
use headroom_data::llama_bench::{self, BenchRow};
use headroom_data::{Catalog, ScenarioRequest};

pub const CURRENT_BUILDS: &str = include_str!("../fixtures/validation/current_builds.csv");

/// Where the current-era measurements came from (recorded in data/speed/llama-cpp.json).
pub fn sources() -> Vec<String> {
    vec![
        "tests/fixtures/validation/current_builds.csv: llama.cpp discussion #15013 'Performance of llama.cpp with CUDA' (https://github.com/ggml-org/llama.cpp/discussions/15013, 2025-26 builds, llama-bench -ngl 99, Llama 2 7B Q4_0 pp512/tg128), each row naming its transcription".into(),
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
];

/// Apple sells the 64 GB M3 Max only with the 40-core GPU (the 30-core chip comes with 36 GB):
/// https://www.apple.com/macbook-pro/specs/ (M3 Max configurations, 2023).
const M3_MAX_64GB: &str = "m3-max-40c";

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

/// Every row of the file the catalog can describe, parsed; the others are returned by description.
pub fn rows() -> (Vec<CurrentRow>, Vec<String>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let mut rd = csv::Reader::from_reader(CURRENT_BUILDS.as_bytes());
    for r in rd.records().flatten() {
        let get = |i: usize| r.get(i).unwrap_or_default().to_string();
        let (source, device, runtime, model, quant, test, value) =
            (get(0), get(2), get(3), get(4), get(5), get(6), get(7));
        let device_id = DEVICES
            .iter()
            .find(|(k, _)| *k == device)
            .map(|(_, v)| v.to_string())
            .or_else(|| {
                device
                    .starts_with("Apple M3 Max 64 GB")
                    .then(|| M3_MAX_64GB.into())
            })
            .or_else(|| (device == "Apple M2 Ultra").then(|| "m2-ultra".into()));
        let model_id = match model.as_str() {
            "Llama-2 7B" => Some("llama-2-7b"),
            "Llama-3.1-8B-Instruct" => Some("llama-3.1-8b"),
            // the PR's command line loads meta-llama/Meta-Llama-3-70B-Instruct
            m if m.contains("Meta-Llama-3-70B-Instruct") => Some("llama-3-70b"),
            _ => None,
        };
        let quant = match quant.as_str() {
            "MLX 4-bit" => "mlx-4bit".to_string(),
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
        gpu_cores: None,
        model_id: row.model_id.clone(),
        quant: row.quant.clone(),
        notes: String::new(),
    };
    let mut s = llama_bench::scenario(cat, &bench, row.test)?;
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
            let label = format!(
                "{} {} {} {}{} {}",
                row.device_id,
                if row.is_mlx() { "mlx-lm" } else { "llama.cpp" },
                row.model_id,
                row.quant,
                if row.is_mlx() { "" } else { fa },
                test
            );
            let obs = observe(&scenario, &row.device_id, row.test, row.tok_s, &label)?;
            Some(CurrentMeasured {
                fitted: row.is_cuda(),
                row,
                scenario,
                obs,
            })
        })
        .collect()
}
