//! Fitted speed parameters (data/speed/*.json, written by the `speed_report` example), parsed and checked.

use crate::{catalog, DataError};
use headroom_core::speed::cpu_least_squares::CpuSpeedParams;
use headroom_core::speed::SpeedParams;
use std::sync::OnceLock;

/// Parses one embedded speed file, checking that every parameter is a finite, non-negative number
/// and names the measurements it came from.
pub fn parse_speed(stem: &str, text: &str) -> Result<SpeedParams, DataError> {
    let err = |problem: String| DataError {
        file: format!("speed/{stem}.json"),
        problem,
    };
    let p: SpeedParams = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
    if p.sources.is_empty() {
        return Err(err("no `sources`".into()));
    }
    for g in &p.groups {
        let mut values: Vec<f64> = Vec::new();
        if let Some(d) = g.decode {
            values.extend(d.as_array());
        }
        if let Some(pp) = g.prefill {
            values.extend(pp.as_array());
        }
        values.extend([g.decode_rel_sd, g.prefill_rel_sd]);
        if let Some(v) = values.iter().find(|v| !v.is_finite() || **v < 0.0) {
            return Err(err(format!("group {} has parameter {v}", g.key.label())));
        }
        if g.devices.is_empty() {
            return Err(err(format!("group {} names no devices", g.key.label())));
        }
    }
    Ok(p)
}

/// The file of the CPU backend's fit (`speed::cpu_least_squares`), attached to current llama.cpp.
pub const CPU_SPEED_FILE: &str = "llama-cpp-cpu";

/// Parses the CPU fit's file, checking every parameter is finite and non-negative and that it
/// names its sources.
pub fn parse_cpu_speed(text: &str) -> Result<CpuSpeedParams, DataError> {
    let err = |problem: String| DataError {
        file: format!("speed/{CPU_SPEED_FILE}.json"),
        problem,
    };
    let p: CpuSpeedParams = serde_json::from_str(text).map_err(|e| err(e.to_string()))?;
    p.check().map_err(err)?;
    Ok(p)
}

/// Every embedded speed file, parsed once; the CPU fit rides on current llama.cpp's.
pub fn speed_params() -> Result<&'static [SpeedParams], DataError> {
    static PARAMS: OnceLock<Result<Vec<SpeedParams>, DataError>> = OnceLock::new();
    PARAMS
        .get_or_init(|| {
            let files = &catalog()?.speed_files;
            let cpu = files
                .iter()
                .find(|(stem, _)| *stem == CPU_SPEED_FILE)
                .map(|(_, text)| parse_cpu_speed(text))
                .transpose()?;
            let mut all = files
                .iter()
                .filter(|(stem, _)| *stem != CPU_SPEED_FILE)
                .map(|(stem, text)| parse_speed(stem, text))
                .collect::<Result<Vec<_>, _>>()?;
            for p in &mut all {
                if p.runtime == "llama.cpp" {
                    p.cpu = cpu.clone();
                }
            }
            Ok(all)
        })
        .as_ref()
        .map(Vec::as_slice)
        .map_err(Clone::clone)
}

/// The fitted parameters for a runtime (`llama.cpp`); other runtimes use llama.cpp's until fitted.
pub fn speed_params_for(runtime: &str) -> Result<&'static SpeedParams, DataError> {
    let all = speed_params()?;
    all.iter()
        .find(|p| p.runtime == runtime)
        .or_else(|| all.iter().find(|p| p.runtime == "llama.cpp"))
        .ok_or_else(|| DataError {
            file: "speed/".into(),
            problem: format!("no fitted speed parameters for `{runtime}`"),
        })
}

/// llama.cpp build eras with their own fit: `current` (the default) and `2024` (the May 2024
/// builds the public llama-bench tables ran).
pub const LLAMA_CPP_ERAS: &[&str] = &["current", "2024"];

/// The fitted parameters for a runtime in a llama.cpp build era (`current` or `2024`). The era
/// names llama.cpp builds: other runtimes get their own parameters whatever it is.
pub fn speed_params_for_era(runtime: &str, era: &str) -> Result<&'static SpeedParams, DataError> {
    let err = |problem: String| DataError {
        file: "speed/".into(),
        problem,
    };
    match era {
        "current" => speed_params_for(runtime),
        "2024" if runtime == "llama.cpp" => speed_params_for("llama.cpp@2024"),
        "2024" => speed_params_for(runtime),
        other => Err(err(format!(
            "unknown llama.cpp era `{other}` (expected one of {})",
            LLAMA_CPP_ERAS.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_speed_files_parse() {
        let p = speed_params_for("llama.cpp").unwrap();
        assert!(!p.groups.is_empty());
        assert!(p.groups.iter().all(|g| g.n_decode + g.n_prefill > 0));
    }

    #[test]
    fn both_eras_are_embedded_and_named() {
        let current = speed_params_for_era("llama.cpp", "current").unwrap();
        let old = speed_params_for_era("llama.cpp", "2024").unwrap();
        assert_eq!(
            (current.runtime.as_str(), old.runtime.as_str()),
            ("llama.cpp", "llama.cpp@2024")
        );
        assert_ne!(current.groups, old.groups);
        assert_eq!(
            speed_params_for_era("mlx", "2024").unwrap(),
            speed_params_for("mlx").unwrap()
        );
        let e = speed_params_for_era("llama.cpp", "2023").unwrap_err();
        assert!(e.to_string().contains("2023"), "{e}");
    }

    #[test]
    fn negative_parameters_are_rejected() {
        let text = r#"{"runtime":"x","sources":["s"],"groups":[{"key":{"backend":null,"family":null,"quant":null},
            "decode":{"inv_bw_eff":-1.0,"inv_kv_eff":1.0,"inv_kv_eff_fa":1.0,"layer_s":0.0},"prefill":null,
            "devices":["d"],"n_decode":1,"n_prefill":0,"decode_rel_sd":0.0,"prefill_rel_sd":0.0}]}"#;
        let e = parse_speed("x", text).unwrap_err();
        assert!(e.to_string().contains("-1"), "{e}");
        assert!(parse_speed("x", "{").is_err());
    }
}
