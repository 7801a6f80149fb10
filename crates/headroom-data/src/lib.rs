//! Headroom's built-in catalog: the JSON under data/, embedded at build time, parsed into core types
//! and looked up by id, Hugging Face repo name or alias.

#![deny(clippy::disallowed_methods)]

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}
pub mod answer;
mod hardware;
pub mod llama_bench;
mod lookup;
mod models;
pub mod profile;
mod quality;
pub mod request;
mod speed;

pub use answer::{
    fit_json, fit_json_with, fit_query, speed_placement, speed_report, speed_report_with, Placement,
};
pub use hardware::{HardwareEntry, HardwareRecord};
pub use lookup::LookupError;
pub use models::{ModelEntry, ModelRecord};
pub use profile::{parse_profile, ProfileError, MAX_PROFILE_BYTES};
pub use quality::{parse_quality, quality_table};
pub use request::{build, RequestError, ScenarioRequest, SuppliedModel};
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

    pub fn model(&self, query: &str) -> Result<&ModelEntry, LookupError> {
        lookup::find_model(self, query)
    }

    /// A device by id or alias; `-NNgb` after a name picks one of its memory options.
    pub fn hardware(&self, query: &str) -> Result<headroom_core::DeviceSpec, LookupError> {
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
