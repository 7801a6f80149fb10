//! Calibration profiles (what `headroom calibrate` writes) read from text, checked and matched to a
//! scenario, shared by the CLI's `--calibration FILE` and the web calculator.

use headroom_core::hardware::DeviceKind;
use headroom_core::measure::CalibrationProfile;
use headroom_core::Scenario;

/// A profile larger than this is refused (a real one is a few kilobytes).
pub const MAX_PROFILE_BYTES: usize = 4 << 20;

/// A profile that is too large, does not parse, fails its checks, or was fitted elsewhere.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ProfileError(pub String);

impl std::fmt::Display for ProfileError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ProfileError {}

impl From<crate::DataError> for ProfileError {
    fn from(e: crate::DataError) -> ProfileError {
        ProfileError(e.to_string())
    }
}

/// A profile from its JSON text: bounded by `MAX_PROFILE_BYTES`, parsed, then checked.
pub fn parse_profile(text: &str) -> Result<CalibrationProfile, ProfileError> {
    if text.len() > MAX_PROFILE_BYTES {
        return Err(ProfileError(format!(
            "larger than {} MiB, not a calibration profile",
            MAX_PROFILE_BYTES >> 20
        )));
    }
    let p: CalibrationProfile = serde_json::from_str(text)
        .map_err(|e| ProfileError(format!("not a calibration profile: {e}")))?;
    p.check().map_err(ProfileError)?;
    Ok(p)
}

/// The catalog id a profile is matched on: the scenario's first accelerator; a run whole on CPUs
/// is `cpu`, whether the CPU was a catalog profile or given by its numbers (`--cpu`): the CPU
/// fit's parameters are per byte of the measured bandwidth and per cycle of the given clock.
pub fn device_id(s: &Scenario) -> &str {
    if !s.devices.is_empty() && s.devices.iter().all(|d| d.kind == DeviceKind::Cpu) {
        return "cpu";
    }
    s.devices
        .iter()
        .find(|d| d.kind != DeviceKind::Cpu)
        .or(s.devices.first())
        .map_or("", |d| d.id.as_str())
}

/// Refuses a profile fitted on another device or for another runtime than the scenario's.
pub fn check_matches(p: &CalibrationProfile, s: &Scenario) -> Result<(), ProfileError> {
    p.matches(device_id(s), s.runtime.name())
        .map_err(ProfileError)
}

/// The line outputs carry when a profile was applied.
pub fn applied_note(p: &CalibrationProfile) -> String {
    format!(
        "calibration profile applied: fitted on {}{}{}",
        p.describe(),
        if p.memory.as_ref().is_some_and(|m| !m.corrections.is_empty()) {
            "; memory"
        } else {
            ""
        },
        if p.speed.is_some() { "; speed" } else { "" }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn oversized_and_garbage_text_are_errors_not_panics() {
        let big = " ".repeat(MAX_PROFILE_BYTES + 1);
        assert!(parse_profile(&big)
            .unwrap_err()
            .0
            .contains("larger than 4 MiB"));
        for bad in ["", "{", "null", "{\"memory\": 3}", "\u{0}"] {
            assert!(
                parse_profile(bad).is_err(),
                "{bad:?} should not be a profile"
            );
        }
    }
}
