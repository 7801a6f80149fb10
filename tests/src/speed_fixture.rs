//! Public llama-bench measurements (tests/fixtures/speed/*.csv, copied from shared/validation with
//! their source column) mapped onto catalog devices and models, as speed-model observations.

use headroom_core::plan::Scenario;
use headroom_core::speed::least_squares::{observe, BenchTest, Observation};
use headroom_data::llama_bench::{self, BenchRow};
use headroom_data::Catalog;

pub const GPU_LLM_BENCH: &str = include_str!("../fixtures/speed/gpu_llm_bench.csv");
pub const APPLE_SILICON: &str = include_str!("../fixtures/speed/apple_silicon_llamacpp.csv");

/// Where the measurements came from (recorded in data/speed/llama-cpp.json).
pub fn sources() -> Vec<String> {
    vec![
        "tests/fixtures/speed/gpu_llm_bench.csv: XiongjieDai/GPU-Benchmarks-on-LLM-Inference @ aa72e0ec (llama.cpp b2795-b2843, CUDA and Metal) and llama.cpp benches/mac-m2-ultra (build b828e18c7)".into(),
        "tests/fixtures/speed/apple_silicon_llamacpp.csv: llama.cpp discussion #4167 (build 8e672ef, Metal)".into(),
    ]
}

/// One measurement with its mapping.
#[derive(Clone, Debug)]
pub struct Row {
    pub file: &'static str,
    pub device_name: String,
    pub device_id: String,
    pub n_devices: u32,
    pub gpu_cores: Option<u32>,
    pub model_id: String,
    pub quant: String,
    pub test: String,
    pub tok_s: Option<f64>,
    pub notes: String,
}

impl Row {
    pub fn is_suspicious(&self) -> bool {
        llama_bench::is_suspicious(&self.notes)
    }

    /// Rows from llama.cpp's benches/ (newer build, `-ub 2048 -fa 1`).
    pub fn is_upstream_bench(&self) -> bool {
        llama_bench::is_upstream_bench(&self.notes)
    }

    /// The row as the shared mapping sees it.
    pub fn bench_row(&self) -> BenchRow {
        BenchRow {
            device_id: self.device_id.clone(),
            n_devices: self.n_devices,
            gpu_cores: self.gpu_cores,
            model_id: self.model_id.clone(),
            quant: self.quant.clone(),
            notes: self.notes.clone(),
        }
    }
}

/// Parses both files. Rows whose device or model has no mapping are returned in the error list.
pub fn rows() -> (Vec<Row>, Vec<String>) {
    let mut out = Vec::new();
    let mut unmapped = Vec::new();
    let mut rd = csv::Reader::from_reader(GPU_LLM_BENCH.as_bytes());
    for r in rd.records().flatten() {
        let dev = r.get(1).unwrap_or_default().to_string();
        let model = llama_bench::model_key(r.get(4).unwrap_or_default());
        let (Some(d), Some(m)) = (llama_bench::device_id(&dev), llama_bench::model_id(model))
        else {
            unmapped.push(format!("{dev} / {model}"));
            continue;
        };
        out.push(Row {
            file: "gpu_llm_bench.csv",
            gpu_cores: llama_bench::named_cores(&dev),
            device_name: dev,
            device_id: d.to_string(),
            n_devices: r.get(2).and_then(|x| x.parse().ok()).unwrap_or(1),
            model_id: m.to_string(),
            quant: llama_bench::quant_key(r.get(5).unwrap_or_default()).to_string(),
            test: r.get(6).unwrap_or_default().to_string(),
            tok_s: r.get(7).and_then(|x| x.parse().ok()),
            notes: r.get(8).unwrap_or_default().to_string(),
        });
    }
    let mut rd = csv::Reader::from_reader(APPLE_SILICON.as_bytes());
    for r in rd.records().flatten() {
        let dev = r.get(1).unwrap_or_default().to_string();
        let model = llama_bench::model_key(r.get(4).unwrap_or_default());
        let (Some(d), Some(m)) = (llama_bench::device_id(&dev), llama_bench::model_id(model))
        else {
            unmapped.push(format!("{dev} / {model}"));
            continue;
        };
        out.push(Row {
            file: "apple_silicon_llamacpp.csv",
            device_name: format!("{dev} {}-core", r.get(2).unwrap_or_default()),
            device_id: d.to_string(),
            n_devices: 1,
            gpu_cores: r.get(2).and_then(|x| x.parse().ok()),
            model_id: m.to_string(),
            quant: r.get(5).unwrap_or_default().to_string(),
            test: r.get(6).unwrap_or_default().to_string(),
            tok_s: r.get(7).and_then(|x| x.parse().ok()),
            notes: String::new(),
        });
    }
    (out, unmapped)
}

/// The scenario a row was measured in (`headroom_data::llama_bench::scenario`, which `headroom
/// validate` uses too).
pub fn scenario(cat: &Catalog, row: &Row, test: BenchTest) -> Option<Scenario> {
    llama_bench::scenario(cat, &row.bench_row(), test)
}

/// A row ready for fitting, with the scenario it came from.
#[derive(Debug)]
pub struct Measured {
    pub row: Row,
    pub test: BenchTest,
    pub scenario: Scenario,
    pub obs: Observation,
}

/// Every usable measurement (not OOM, not marked suspicious) as an observation.
pub fn measured(cat: &Catalog) -> Vec<Measured> {
    let (rows, _) = rows();
    rows.into_iter()
        .filter(|r| !r.is_suspicious())
        .filter_map(|row| {
            let tok_s = row.tok_s?;
            let test = BenchTest::parse(&row.test)?;
            let scenario = scenario(cat, &row, test)?;
            let label = format!(
                "{} x{} {} {} {}",
                row.device_name, row.n_devices, row.model_id, row.quant, row.test
            );
            let obs = observe(&scenario, &row.device_id, test, tok_s, &label)?;
            Some(Measured {
                row,
                test,
                scenario,
                obs,
            })
        })
        .collect()
}
