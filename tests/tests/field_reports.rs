//! The situations in shared/field-reports.md, answered end to end and pinned as JSON snapshots
//! (tests/tests/snapshots/). A snapshot file that no test names is rejected.
#![allow(clippy::unwrap_used, clippy::panic)]

use headroom_core::plan::answer;
use headroom_data::{build, ScenarioRequest};

fn req(model: &str, hardware: &str) -> ScenarioRequest {
    ScenarioRequest {
        model: model.into(),
        hardware: vec![hardware.into()],
        ..Default::default()
    }
}

/// name, request
fn cases() -> Vec<(&'static str, ScenarioRequest)> {
    vec![
        // 1. RTX 3060 Ti 8 GB with Ollama: Qwen3-4B at 32768 and Qwen3-8B at 16384 tokens.
        (
            "qwen3_4b_3060ti_32k",
            ScenarioRequest {
                ctx: Some(32768),
                runtime: Some("ollama".into()),
                ..req("qwen3-4b", "rtx-3060-ti")
            },
        ),
        (
            "qwen3_8b_3060ti_16k",
            ScenarioRequest {
                ctx: Some(16384),
                runtime: Some("ollama".into()),
                ram_gib: Some(32.0),
                ..req("qwen3-8b", "rtx-3060-ti")
            },
        ),
        // 2. Mac mini M4 Pro 64 GB: Qwen2.5 72B and 32B at 4 bits in MLX, the 32B also as GGUF Q4_K_M.
        (
            "qwen2_5_72b_m4pro_mlx4",
            ScenarioRequest {
                runtime: Some("mlx".into()),
                ctx: Some(16384),
                ..req("qwen2.5-72b", "m4-pro-64gb")
            },
        ),
        (
            "qwen2_5_coder_32b_m4pro_mlx4",
            ScenarioRequest {
                runtime: Some("mlx".into()),
                ctx: Some(16384),
                ..req("qwen2.5-coder-32b", "m4-pro-64gb")
            },
        ),
        (
            "qwen2_5_coder_14b_m4pro_mlx4",
            ScenarioRequest {
                runtime: Some("mlx".into()),
                ctx: Some(16384),
                ..req("qwen2.5-coder-14b", "m4-pro-64gb")
            },
        ),
        (
            "qwen2_5_coder_32b_m4pro_q4km",
            ScenarioRequest {
                ctx: Some(16384),
                quant: Some("Q4_K_M".into()),
                ..req("qwen2.5-coder-32b", "m4-pro-64gb")
            },
        ),
        // 3. A 24 GB GPU with 64 GB of RAM: an 8B at 4 bits, and a 70B that must spill.
        (
            "llama3_1_8b_3090_q4km",
            ScenarioRequest {
                ctx: Some(32768),
                ram_gib: Some(64.0),
                ..req("llama-3.1-8b", "rtx-3090")
            },
        ),
        (
            "llama3_70b_3090_q4km",
            ScenarioRequest {
                ctx: Some(8192),
                ram_gib: Some(64.0),
                ..req("llama-3-70b", "rtx-3090")
            },
        ),
        // 4. 70B-class models on an RTX 4090 and an H100.
        (
            "qwen2_72b_4090_q4km",
            ScenarioRequest {
                ram_gib: Some(128.0),
                ..req("qwen2-72b", "rtx-4090")
            },
        ),
        (
            "llama3_3_70b_h100_vllm_fp8",
            ScenarioRequest {
                runtime: Some("vllm".into()),
                quant: Some("fp8".into()),
                ctx: Some(32768),
                ..req("llama-3.3-70b", "h100-sxm")
            },
        ),
        // MoE with experts on the CPU, and a CPU-only run.
        (
            "qwen3_30b_a3b_3060ti",
            ScenarioRequest {
                ctx: Some(16384),
                ram_gib: Some(32.0),
                ..req("qwen3-30b-a3b", "rtx-3060-ti")
            },
        ),
        (
            "qwen3_8b_ddr5_cpu",
            ScenarioRequest {
                memory_gib: Some(32.0),
                ..req("qwen3-8b", "ddr5-5600-2ch")
            },
        ),
        (
            "gpt_oss_20b_transformers_h100",
            ScenarioRequest {
                runtime: Some("transformers".into()),
                ctx: Some(8192),
                ..req("gpt-oss-20b", "h100-sxm")
            },
        ),
    ]
}

#[test]
fn field_report_answers() {
    for (name, r) in cases() {
        let s = build(&r, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        let a = answer(&s);
        // The lean check used by max-context searches agrees with the full report.
        assert_eq!(
            headroom_core::plan::judge::fits(&s),
            a.report.fits,
            "{name}"
        );
        insta::assert_json_snapshot!(name, a);
    }
}

#[test]
fn no_stale_snapshots() {
    let dir = format!("{}/tests/snapshots", env!("CARGO_MANIFEST_DIR"));
    let names: Vec<String> = cases()
        .iter()
        .map(|(n, _)| format!("field_reports__{n}.snap"))
        .collect();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let file = entry.unwrap().file_name().to_string_lossy().to_string();
        if file.starts_with("field_reports__") && file.ends_with(".snap") {
            assert!(
                names.contains(&file),
                "stale snapshot {file}: no test case produces it"
            );
        }
    }
}
