//! `--calibration FILE`: reads a calibration profile (bounded, checked), refuses one fitted on
//! another device or runtime, and predicts speed with its groups in place.

use anyhow::{bail, Context, Result};
use headroom_core::measure::{CalibrationProfile, MeasurementRecord, Quantity};
use headroom_core::speed::{SpeedOptions, SpeedParams, SpeedQuery, SpeedReport};
use headroom_core::Scenario;
use std::io::Read;
use std::path::Path;

/// A profile file larger than this is refused (the bound the web calculator applies too).
pub const MAX_PROFILE_BYTES: u64 = headroom_data::MAX_PROFILE_BYTES as u64;

/// Reads and checks a profile file.
pub fn read_profile(path: &Path) -> Result<CalibrationProfile> {
    let f = std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
    let mut text = String::new();
    f.take(MAX_PROFILE_BYTES + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {}", path.display()))?;
    if text.len() as u64 > MAX_PROFILE_BYTES {
        bail!(
            "{}: larger than {} MiB, not a calibration profile",
            path.display(),
            MAX_PROFILE_BYTES >> 20
        );
    }
    let p: CalibrationProfile = serde_json::from_str(&text)
        .with_context(|| format!("{}: not a calibration profile", path.display()))?;
    p.check()
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(p)
}

/// The catalog id a profile is matched on: the scenario's first accelerator (else its first device).
pub fn device_id(s: &Scenario) -> &str {
    headroom_data::profile::device_id(s)
}

/// The profile at `path`, when one is given, after checking it was fitted for this scenario's
/// device and runtime (another device's profile is an error, not a silent no-op).
pub fn load_for(path: Option<&Path>, s: &Scenario) -> Result<Option<CalibrationProfile>> {
    let Some(path) = path else {
        return Ok(None);
    };
    let p = read_profile(path)?;
    p.matches(device_id(s), s.runtime.name())
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    Ok(Some(p))
}

/// The line outputs carry when a profile was applied.
pub fn applied_note(p: &CalibrationProfile) -> String {
    headroom_data::profile::applied_note(p)
}

/// The speed parameters for the scenario's runtime, with the profile's groups in place.
pub fn speed_params(s: &Scenario, p: Option<&CalibrationProfile>) -> Result<SpeedParams> {
    let base = headroom_data::speed_params_for(s.runtime.name())?;
    Ok(p.map_or_else(|| base.clone(), |p| p.speed_params(base)))
}

/// `headroom_data::speed_report`, with the profile's speed groups replacing the shipped ones.
pub fn speed_report(
    s: &Scenario,
    q: &SpeedQuery,
    o: &SpeedOptions,
    p: Option<&CalibrationProfile>,
) -> Result<SpeedReport> {
    Ok(headroom_data::speed_report_with(s, q, o, p)?)
}

/// A record's speed reading predicted with the given parameters (as `speed_cmd::predict_record_speed_in_era`).
pub fn predict_record_speed_with(
    r: &MeasurementRecord,
    o: &crate::record_scenario::Overrides,
    params: &SpeedParams,
    q: Quantity,
    n_prompt: u32,
    n_gen: u32,
    depth: u32,
) -> Result<f64, String> {
    let s = crate::record_scenario::scenario_of(r, o)?;
    crate::speed_cmd::record_reading(r, &s, params, q, n_prompt, n_gen, depth)
}
