//! Headroom's built-in catalog: the JSON under data/, embedded at build time, parsed into core types
//! and looked up by id, Hugging Face repo name or alias.

#![deny(clippy::disallowed_methods)]

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}
pub mod answer;
pub mod cpu_runs;
pub mod generic_model;
mod hardware;
pub mod llama_bench;
mod lookup;
mod models;
mod names;
mod ollama_env;
pub mod os;
pub mod profile;
mod quality;
pub mod request;
mod speed;

pub use answer::{
    fit_json, fit_json_with, fit_query, speed_placement, speed_report, speed_report_with, Placement,
};
pub use hardware::{HardwareEntry, HardwareRecord};
pub use lookup::{HardwareMatch, LookupError, ModelMatch};
pub use models::{ModelEntry, ModelRecord};
pub use profile::{parse_profile, ProfileError, MAX_PROFILE_BYTES};
pub use quality::{parse_quality, quality_table};
pub use request::{build, parse_quant_on, RequestError, ScenarioRequest, SuppliedModel};
pub use speed::{
    parse_speed, speed_params, speed_params_for, speed_params_for_era, LLAMA_CPP_ERAS,
};

use std::sync::OnceLock;

/// An embedded file that did not parse or validate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataError {
    pub file: String,
    pub problem: String,
}

impl std::fmt::Display for DataError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "data/{}: {}", self.file, self.problem)
    }
}

impl std::error::Error for DataError {}

/// The whole catalog.
#[derive(Debug)]
pub struct Catalog {
    pub models: Vec<ModelEntry>,
    pub hardware: Vec<HardwareEntry>,
    /// Raw embedded speed-calibration files (name, JSON text), for the speed model to parse.
    pub speed_files: Vec<(&'static str, &'static str)>,
}

impl Catalog {
    /// Parses every embedded file. Fails on the first bad one, naming it.
    pub fn load() -> Result<Catalog, DataError> {
        let models = embedded::MODELS
            .iter()
            .map(|(stem, text)| models::parse(stem, text))
            .collect::<Result<Vec<_>, _>>()?;
        let hardware = embedded::HARDWARE
            .iter()
            .map(|(stem, text)| hardware::parse(stem, text))
            .collect::<Result<Vec<_>, _>>()?;
        let cat = Catalog {
            models,
            hardware,
            speed_files: embedded::SPEED.to_vec(),
        };
        lookup::check_unique(&cat)?;
        Ok(cat)
    }

    /// A model by id, alias, Hugging Face repo of any variant sharing its shapes, Ollama tag or
    /// short form.
    pub fn model(&self, query: &str) -> Result<&ModelEntry, LookupError> {
        lookup::find_model(self, query).map(|m| m.entry)
    }

    /// `model`, with the weight format and runtime the name states and what was read into it.
    pub fn resolve_model(&self, query: &str) -> Result<ModelMatch<'_>, LookupError> {
        lookup::find_model(self, query)
    }

    /// A device by id or alias; `-NNgb` after a name picks one of its memory options.
    pub fn hardware(&self, query: &str) -> Result<headroom_core::DeviceSpec, LookupError> {
        lookup::find_hardware(self, query).map(|h| h.spec)
    }

    /// `hardware`, with the choice an ambiguous name (`h100`, `m4-max`) or a device sold with
    /// several memory sizes needed, said in notes.
    pub fn resolve_hardware(&self, query: &str) -> Result<HardwareMatch, LookupError> {
        lookup::find_hardware(self, query)
    }
}

/// The catalog, parsed once.
pub fn catalog() -> Result<&'static Catalog, DataError> {
    static CATALOG: OnceLock<Result<Catalog, DataError>> = OnceLock::new();
    CATALOG
        .get_or_init(Catalog::load)
        .as_ref()
        .map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_catalog_loads() {
        let cat = catalog().unwrap();
        assert!(cat.models.len() >= 30);
        assert!(cat.hardware.len() >= 60);
    }

    #[test]
    fn models_are_found_by_repo_with_or_without_org_and_case() {
        let cat = catalog().unwrap();
        assert_eq!(
            cat.model("meta-llama/Meta-Llama-3-8B").unwrap().id(),
            "llama-3-8b"
        );
        assert_eq!(cat.model("meta-llama-3-8b").unwrap().id(), "llama-3-8b");
        let e = cat.model("qwen3-8").unwrap_err();
        assert!(e.suggestions.iter().any(|s| s == "qwen3-8b"), "{e}");
    }

    /// One model name as a person types it: the catalog id it must find, the weight format and
    /// runtime the name states (labels as `Quant::label` prints them).
    fn check_model(name: &str, id: &str, quant: Option<&str>, runtime: Option<&str>) {
        let cat = catalog().unwrap();
        let m = cat
            .resolve_model(name)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(m.entry.id(), id, "{name}");
        assert_eq!(m.quant.map(|q| q.label()).as_deref(), quant, "{name}");
        assert_eq!(m.runtime, runtime, "{name}");
    }

    #[test]
    fn the_2025_catalog_names_resolve() {
        // The repo and its GGUF repacks, -2507 kept as part of the name (it is not a variant word).
        check_model(
            "Qwen/Qwen3-4B-Instruct-2507",
            "qwen3-4b-instruct-2507",
            None,
            None,
        );
        check_model(
            "unsloth/Qwen3-4B-Instruct-2507-GGUF:Q4_K_M",
            "qwen3-4b-instruct-2507",
            Some("Q4_K_M"),
            Some("llama.cpp"),
        );
        check_model(
            "qwen3:4b-instruct-2507-q4_K_M",
            "qwen3-4b-instruct-2507",
            Some("Q4_K_M"),
            Some("ollama"),
        );
        // The original Qwen3-4B keeps its own entry.
        check_model("Qwen/Qwen3-4B", "qwen3-4b", None, None);
        // LFM2.5 1.2B's variants, and LFM2-1.2B, which has its shapes
        check_model("LiquidAI/LFM2.5-1.2B-Instruct", "lfm2.5-1.2b", None, None);
        check_model(
            "LiquidAI/LFM2-1.2B-GGUF:Q8_0",
            "lfm2.5-1.2b",
            Some("Q8_0"),
            Some("llama.cpp"),
        );
        check_model("Qwen/Qwen3-VL-8B-Instruct", "qwen3-vl-8b", None, None);
        check_model(
            "Qwen/Qwen3-VL-4B-Instruct-GGUF",
            "qwen3-vl-4b",
            None,
            Some("llama.cpp"),
        );
        check_model("qwen3-vl:8b", "qwen3-vl-8b", None, Some("ollama"));
        check_model(
            "qwen3-vl:30b-a3b-instruct",
            "qwen3-vl-30b-a3b",
            None,
            Some("ollama"),
        );
        check_model("qwen2.5vl:7b", "qwen2.5-vl-7b", None, Some("ollama"));
        check_model(
            "unsloth/Qwen2.5-VL-7B-Instruct-GGUF",
            "qwen2.5-vl-7b",
            None,
            Some("llama.cpp"),
        );
        check_model("gemma3:12b", "gemma-3-12b", None, Some("ollama"));
        // Ollama's deepseek-r1:8b is the R1-0528 distill of Qwen3-8B.
        check_model(
            "deepseek-r1:8b",
            "deepseek-r1-0528-qwen3-8b",
            None,
            Some("ollama"),
        );
        check_model(
            "deepseek-r1:8b-0528-qwen3-q8_0",
            "deepseek-r1-0528-qwen3-8b",
            Some("Q8_0"),
            Some("ollama"),
        );
        check_model(
            "lmstudio-community/DeepSeek-R1-0528-Qwen3-8B-GGUF",
            "deepseek-r1-0528-qwen3-8b",
            None,
            Some("llama.cpp"),
        );
    }

    #[test]
    fn the_2025_26_additions_resolve() {
        check_model(
            "Qwen/Qwen3-Next-80B-A3B-Instruct",
            "qwen3-next-80b-a3b",
            None,
            None,
        );
        check_model("qwen3-next:80b", "qwen3-next-80b-a3b", None, Some("ollama"));
        check_model(
            "unsloth/Qwen3-Next-80B-A3B-Instruct-GGUF:Q4_K_M",
            "qwen3-next-80b-a3b",
            Some("Q4_K_M"),
            Some("llama.cpp"),
        );
        check_model(
            "Qwen/Qwen3-Next-80B-A3B-Instruct-FP8",
            "qwen3-next-80b-a3b",
            Some("fp8"),
            Some("vllm"),
        );
        check_model("moonshotai/Kimi-K2-Instruct", "kimi-k2", None, None);
        check_model("MiniMaxAI/MiniMax-M2.7", "minimax-m2.7", None, None);
        // The instruct release shares the base's entry (`Base` is a variant word).
        check_model("HuggingFaceTB/SmolLM3-3B", "smollm3-3b", None, None);
        check_model("HuggingFaceTB/SmolLM3-3B-Base", "smollm3-3b", None, None);
        check_model("Qwen/QwQ-32B", "qwq-32b", None, None);
        check_model("qwq:32b", "qwq-32b", None, Some("ollama"));
        check_model("qwq:32b-q8_0", "qwq-32b", Some("Q8_0"), Some("ollama"));
        check_model("google/gemma-3-270m-it", "gemma-3-270m", None, None);
        check_model(
            "ibm-granite/granite-4.0-h-1b",
            "granite-4.0-h-1b",
            None,
            None,
        );
        check_model("granite4:1b-h", "granite-4.0-h-1b", None, Some("ollama"));
        check_model("gemma3:270m", "gemma-3-270m", None, Some("ollama"));
        check_model("Qwen/QwQ-32B-GGUF", "qwq-32b", None, Some("llama.cpp"));
    }

    #[test]
    fn the_issues_model_names_resolve() {
        // Instruct and base share a catalog entry (Qwen/Qwen2.5-7B is the file's hf_repo).
        check_model("Qwen/Qwen2.5-7B-Instruct", "qwen2.5-7b", None, None);
        check_model("Qwen/Qwen3-8B-GGUF", "qwen3-8b", None, Some("llama.cpp"));
        check_model(
            "mlx-community/Qwen2.5-Coder-32B-Instruct-4bit",
            "qwen2.5-coder-32b",
            Some("mlx-4bit-g64"),
            Some("mlx"),
        );
        check_model("qwen3:8b", "qwen3-8b", None, Some("ollama"));
        check_model(
            "qwen3:8b-q4_K_M",
            "qwen3-8b",
            Some("Q4_K_M"),
            Some("ollama"),
        );
        check_model("llama3-70b", "llama-3-70b", None, None);
        check_model("llama3.1:8b", "llama-3.1-8b", None, Some("ollama"));
        check_model("Qwen/Qwen3-8B-FP8", "qwen3-8b", Some("fp8"), Some("vllm"));
        check_model(
            "Qwen/Qwen2.5-72B-Instruct-AWQ",
            "qwen2.5-72b",
            Some("awq-4bit-g128"),
            Some("vllm"),
        );
        // the base of a catalog entry whose hf_repo is the Instruct one
        check_model("Qwen/Qwen2.5-72B", "qwen2.5-72b", None, None);
        check_model(
            "mlx-community/Meta-Llama-3.1-8B-Instruct-8bit",
            "llama-3.1-8b",
            Some("mlx-8bit-g64"),
            Some("mlx"),
        );
        check_model(
            "meta-llama/Llama-3.1-8B-Instruct",
            "llama-3.1-8b",
            None,
            None,
        );
        check_model("google/gemma-3-4b-pt", "gemma-3-4b", None, None);
        check_model(
            "bartowski/Qwen2.5-7B-Instruct-GGUF:Q5_K_M",
            "qwen2.5-7b",
            Some("Q5_K_M"),
            Some("llama.cpp"),
        );
        // bartowski's `ORG_NAME-GGUF` repos and their files
        check_model(
            "bartowski/google_gemma-3-12b-it-GGUF",
            "gemma-3-12b",
            None,
            Some("llama.cpp"),
        );
        check_model(
            "bartowski/meta-llama_Llama-3.3-70B-Instruct-GGUF",
            "llama-3.3-70b",
            None,
            Some("llama.cpp"),
        );
        check_model(
            "Qwen_Qwen2.5-Coder-32B-Instruct-Q4_K_M.gguf",
            "qwen2.5-coder-32b",
            Some("Q4_K_M"),
            Some("llama.cpp"),
        );
        check_model(
            "llama3.1:70b-instruct-q8_0",
            "llama-3.1-70b",
            Some("Q8_0"),
            Some("ollama"),
        );
    }

    #[test]
    fn unknown_model_names_still_get_suggestions() {
        let cat = catalog().unwrap();
        let e = cat.resolve_model("Qwen/Qwen3-9B-GGUF").unwrap_err();
        assert!(e.to_string().contains("did you mean"), "{e}");
        let e = cat.resolve_model("qwen3-8").unwrap_err();
        assert!(e.suggestions.iter().any(|s| s == "qwen3-8b"), "{e}");
        // a distilled model has other shapes and is not its teacher's variant
        assert!(cat
            .resolve_model("deepseek-ai/DeepSeek-R1-Distill-Qwen-7B")
            .is_err());
    }

    /// One device name: the id it is taken as, its memory in GiB, and whether a choice note is due.
    fn check_hardware(name: &str, id: &str, gib: f64, ambiguous: bool) {
        let cat = catalog().unwrap();
        let h = cat
            .resolve_hardware(name)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(h.spec.id, id, "{name}");
        assert_eq!(h.spec.memory.as_gib(), gib, "{name}");
        assert_eq!(
            h.choice_note.is_some(),
            ambiguous,
            "{name}: {:?}",
            h.choice_note
        );
    }

    #[test]
    fn mac_names_with_memory_and_ambiguous_names() {
        // Apple's options (data/hardware): M3 Max 30c 36/96 GB, 40c 48/64/128 GB; M4 Max 32c 36 GB,
        // 40c 48/64/128 GB; M4 Pro 20c and 16c 24/48/64 GB.
        check_hardware("m3-max-48gb", "m3-max-40c", 48.0, false);
        check_hardware("m3-max-36gb", "m3-max-30c", 36.0, false);
        check_hardware("m4-max-128gb", "m4-max-40c", 128.0, false);
        check_hardware("mac mini m4 pro 64gb", "m4-pro", 64.0, true);
        check_hardware("m4-pro-16c", "m4-pro-16c", 24.0, false);
        check_hardware("MacBook Pro M4 Max 36GB", "m4-max-32c", 36.0, false);
        check_hardware("m4-max", "m4-max-40c", 48.0, true);
        check_hardware("M4 Max", "m4-max-40c", 48.0, true);
        check_hardware("h100", "h100-sxm", 80.0, true);
        check_hardware("h100 80gb", "h100-sxm", 80.0, true);
        check_hardware("h100-pcie", "h100-pcie", 80.0, false);
        check_hardware("rtx 4060 ti", "rtx-4060-ti-8gb", 8.0, true);
        check_hardware("rtx 4060", "rtx-4060", 8.0, false);
        // the bare aliases of the 8 GB card say that a 16 GB one exists (data/hardware)
        check_hardware("4060 ti", "rtx-4060-ti-8gb", 8.0, true);
        check_hardware("rtx4060ti", "rtx-4060-ti-8gb", 8.0, true);
        check_hardware("4060 ti 8gb", "rtx-4060-ti-8gb", 8.0, false);
        check_hardware("4060 ti 16gb", "rtx-4060-ti-16gb", 16.0, false);
        check_hardware("rtx-4060-ti-8gb", "rtx-4060-ti-8gb", 8.0, false);
        check_hardware("3060", "rtx-3060", 12.0, false);
        // the maker's and the line's names are optional
        check_hardware("geforce rtx 4090", "rtx-4090", 24.0, false);
        check_hardware("nvidia rtx 4090", "rtx-4090", 24.0, false);
        check_hardware("Radeon RX 7900 XTX", "rx-7900-xtx", 24.0, false);
        check_hardware("nvidia h100", "h100-sxm", 80.0, true);
        check_hardware("m4-pro@48gb", "m4-pro", 48.0, true);
        let cat = catalog().unwrap();
        let pro = cat.resolve_hardware("m4-pro").unwrap();
        let note = pro.memory_note.unwrap();
        assert!(
            note.contains("24 GB") && note.contains("m4-pro-64gb"),
            "{note}"
        );
        // Apple's Mac mini specs: M4 Pro with a 16-core or a 20-core GPU; the name is taken as the
        // 20-core chip and says so
        let note = pro.choice_note.unwrap();
        assert!(
            note.contains("20-core GPU") && note.contains("m4-pro-16c"),
            "{note}"
        );
        let note = cat.resolve_hardware("h100").unwrap().choice_note.unwrap();
        assert!(note.contains("h100-pcie"), "{note}");
        let e = cat.resolve_hardware("m4-max-96gb").unwrap_err();
        assert_eq!(e.kind, "memory option", "{e}");
    }

    #[test]
    fn name_choices_reach_the_answers_warnings() {
        let req = ScenarioRequest {
            model: "mlx-community/Qwen2.5-Coder-32B-Instruct-4bit".into(),
            hardware: vec!["m4-max".into()],
            ..Default::default()
        };
        let s = build(&req, None).unwrap();
        assert_eq!(s.runtime.name(), "mlx");
        assert_eq!(s.quant, "mlx-4bit-g64");
        let w = headroom_core::plan::fit(&s).warnings;
        assert!(w.iter().any(|x| x.contains("m4-max-32c")), "{w:?}");
        assert!(
            w.iter()
                .any(|x| x.contains("Qwen/Qwen2.5-Coder-32B-Instruct")),
            "{w:?}"
        );
        // a flag overrides what the name states
        let req = ScenarioRequest {
            model: "Qwen/Qwen3-8B-GGUF".into(),
            hardware: vec!["rtx-4090".into()],
            quant: Some("int4".into()),
            ..Default::default()
        };
        let s = build(&req, None).unwrap();
        assert_eq!(s.runtime.name(), "llama.cpp");
        assert_eq!(s.quant, "Q4_K_M");
        assert!(
            s.notes
                .iter()
                .any(|n| n.contains("`int4` is taken as Q4_K_M")),
            "{:?}",
            s.notes
        );
        // `--memory` answers the memory choice, so no note about it; the GPU bin stays ambiguous
        let req = ScenarioRequest {
            model: "qwen3-8b".into(),
            hardware: vec!["m4-pro".into()],
            memory_gib: Some(48.0),
            ..Default::default()
        };
        let notes = build(&req, None).unwrap().notes;
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("m4-pro-16c"), "{notes:?}");
    }

    #[test]
    fn a_backend_is_set_on_the_devices_that_have_it() {
        let req = |hw: &[&str], backend: &str| ScenarioRequest {
            model: "qwen3-8b".into(),
            hardware: hw.iter().map(|h| h.to_string()).collect(),
            backend: Some(backend.into()),
            ..Default::default()
        };
        let s = build(&req(&["rtx-4090"], "vulkan"), None).unwrap();
        assert_eq!(
            s.devices[0].backend,
            headroom_core::hardware::Backend::Vulkan
        );
        let s = build(&req(&["rx-7900-xtx"], "ROCm"), None).unwrap();
        assert_eq!(s.devices[0].backend, headroom_core::hardware::Backend::Rocm);
        // no CUDA on an AMD card, no Vulkan on a Mac: named, with what the device runs
        let e = build(&req(&["rx-7900-xtx"], "cuda"), None).unwrap_err();
        assert_eq!(e.field, "backend");
        assert!(e.problem.contains("rocm or vulkan"), "{e}");
        let e = build(&req(&["m4-max-40c"], "vulkan"), None).unwrap_err();
        assert!(e.problem.contains("metal"), "{e}");
        let e = build(&req(&["rtx-4090"], "opencl"), None).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("backend: unknown backend `opencl`"),
            "{e}"
        );
        // cpu runs on the host: the GPU is dropped, and without a host it is refused
        let mut r = req(&["rtx-4090"], "cpu");
        assert_eq!(build(&r, None).unwrap_err().field, "backend");
        r.host = Some("ddr5-5600-2ch".into());
        r.ram_gib = Some(64.0);
        let s = build(&r, None).unwrap();
        assert_eq!(s.devices.len(), 1);
        assert_eq!(s.devices[0].kind, headroom_core::hardware::DeviceKind::Cpu);
        // another runtime keeps its own backend
        let mut r = req(&["m4-max-40c"], "cuda");
        r.runtime = Some("mlx".into());
        assert!(build(&r, None).is_err());
    }

    #[test]
    fn swa_full_reaches_llama_cpp() {
        let req = ScenarioRequest {
            model: "gemma-3-4b".into(),
            hardware: vec!["rtx-4090".into()],
            swa_full: Some(true),
            ..Default::default()
        };
        let s = build(&req, None).unwrap();
        let headroom_core::Runtime::LlamaCpp(ls) = &s.runtime else {
            panic!("llama.cpp is the default runtime");
        };
        assert!(ls.swa_full);
    }

    #[test]
    fn hardware_memory_options_are_selectable() {
        let cat = catalog().unwrap();
        let m = cat.hardware("m4-pro-64gb").unwrap();
        assert_eq!(m.memory.as_gib(), 64.0);
        assert!(cat.hardware("m4-pro-65gb").is_err());
        assert!(cat.hardware("rtx-3060-ti").is_ok());
        let e = cat.hardware("rtx 4900").unwrap_err();
        assert!(!e.suggestions.is_empty(), "{e}");
    }
}
