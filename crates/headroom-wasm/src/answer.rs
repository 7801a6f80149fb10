//! The answer to a request, exactly as `headroom fit --json` prints it (speed included, from the
//! same `headroom_data::fit_json`), and memory against context.

use crate::error::WebError;
use crate::request::{self, WebRequest};
use headroom_core::measure::CalibrationProfile;
use headroom_core::plan::fit;
use headroom_core::units::Bytes;
use headroom_core::Scenario;
use serde::Serialize;

/// `headroom fit --json`: the fit answer and its speed for the scenario the shared builder makes.
/// A calibration profile in the request is applied as `--calibration FILE` applies it.
pub fn answer(r: &WebRequest) -> Result<serde_json::Value, WebError> {
    let s = request::scenario(r)?;
    Ok(headroom_data::fit_json_with(&s, r.calibration.as_ref())?)
}

/// One point of the memory-against-context chart.
#[derive(Clone, Debug, Serialize)]
pub struct CurvePoint {
    /// The context asked for.
    pub ctx: u32,
    /// The context the runtime allocates.
    pub n_ctx: u32,
    pub total_bytes: Bytes,
    pub fits: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct Curve {
    pub usable_bytes: Bytes,
    pub points: Vec<CurvePoint>,
}

/// The chart's points never exceed this many.
pub const MAX_CURVE_POINTS: u32 = 64;

/// Memory at `points` contexts evenly spaced up to the larger of the trained length and the
/// requested context.
pub fn curve(r: &WebRequest, points: u32) -> Result<Curve, WebError> {
    let s = request::scenario(r)?;
    if let Some(p) = &r.calibration {
        headroom_data::profile::check_matches(p, &s)?;
    }
    curve_of(&s, r.calibration.as_ref(), points)
}

/// The answer and the chart together, from one scenario: what the page asks on every change.
#[derive(Clone, Debug, Serialize)]
pub struct Evaluation {
    /// The object `headroom fit --json` prints.
    pub result: serde_json::Value,
    pub curve: Curve,
}

pub fn evaluate(r: &WebRequest, points: u32) -> Result<Evaluation, WebError> {
    let s = request::scenario(r)?;
    let result = headroom_data::fit_json_with(&s, r.calibration.as_ref())?;
    Ok(Evaluation {
        curve: curve_of(&s, r.calibration.as_ref(), points)?,
        result,
    })
}

/// With a profile, each point is the memory its corrections give (as the answer's total is).
fn curve_of(s: &Scenario, p: Option<&CalibrationProfile>, points: u32) -> Result<Curve, WebError> {
    if !(2..=MAX_CURVE_POINTS).contains(&points) {
        return Err(WebError::new(format!(
            "points: {points} is outside 2..={MAX_CURVE_POINTS}"
        )));
    }
    let end = s.runtime.n_ctx().max(s.model.n_ctx_train).max(1);
    let granule = s.runtime.ctx_granule().max(1);
    let mut out = Vec::with_capacity(points as usize);
    let mut usable = Bytes::ZERO;
    for i in 1..=points {
        let raw = (u64::from(end) * u64::from(i) / u64::from(points)) as u32;
        let ctx = (raw / granule).max(1) * granule;
        let mut t = s.clone();
        t.runtime.set_n_ctx(ctx);
        let rep = match p {
            Some(p) => p.apply_memory(&fit(&t)),
            None => fit(&t),
        };
        usable = rep.usable_bytes;
        out.push(CurvePoint {
            ctx,
            n_ctx: rep.n_ctx,
            total_bytes: rep.total_bytes,
            fits: rep.fits,
        });
    }
    Ok(Curve {
        usable_bytes: usable,
        points: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_answer_is_the_fit_with_its_speed_and_evaluate_gives_the_same() {
        let r =
            request::from_value(json!({"model": "qwen3-8b", "hardware": "rtx-3060-ti"})).unwrap();
        let a = answer(&r).unwrap();
        let core =
            serde_json::to_value(headroom_core::plan::answer(&request::scenario(&r).unwrap()))
                .unwrap();
        // every field of the core's fit answer, plus `speed` at llama-bench's pp512/tg128
        for (k, v) in core.as_object().unwrap() {
            assert_eq!(&a[k], v, "{k}");
        }
        assert_eq!(a["speed"]["query"]["prompt_tokens"], 512);
        assert_eq!(a["speed"]["query"]["gen_tokens"], 128);
        assert_eq!(a["speed"]["verdicts"].as_array().unwrap().len(), 4);
        assert_eq!(evaluate(&r, 4).unwrap().result, a);
    }

    #[test]
    fn a_profile_is_applied_as_the_cli_applies_it_and_another_devices_is_refused() {
        let req = |cal: serde_json::Value, hw: &str| {
            request::from_value(json!({"model": "qwen3-8b", "hardware": hw, "calibration": cal}))
                .unwrap()
        };
        // A profile with no corrections: the numbers are the shipped ones, with the applied line.
        let p = json!({"schema": 1, "device": "rtx-3090", "runtime": "llama.cpp"});
        let r = req(p.clone(), "rtx-3090");
        let a = answer(&r).unwrap();
        let s = request::scenario(&r).unwrap();
        let cli = headroom_data::fit_json_with(&s, r.calibration.as_ref()).unwrap();
        assert_eq!(a, cli);
        assert_eq!(evaluate(&r, 4).unwrap().result, a);
        let warnings = a["speed"]["warnings"].as_array().unwrap();
        assert!(warnings
            .iter()
            .any(|w| w == "calibration profile applied: fitted on rtx-3090 with llama.cpp"));
        // the same profile as text
        assert_eq!(answer(&req(json!(p.to_string()), "rtx-3090")).unwrap(), a);

        let e = answer(&req(p.clone(), "rtx-4090")).unwrap_err();
        assert!(
            e.message()
                .contains("is for rtx-3090 with llama.cpp, not rtx-4090 with llama.cpp"),
            "{e}"
        );
        assert!(evaluate(&req(p.clone(), "rtx-4090"), 4).is_err());
        assert!(curve(&req(p, "rtx-4090"), 4).is_err());
    }

    #[test]
    fn a_garbage_or_oversized_profile_is_an_error() {
        let err = |cal: serde_json::Value| {
            request::from_value(json!({"model": "qwen3-8b", "calibration": cal}))
                .unwrap_err()
                .message()
                .to_string()
        };
        assert!(err(json!("{not json")).starts_with("calibration: not a calibration profile"));
        assert!(err(json!(42)).starts_with("calibration: expected"));
        assert!(err(json!({"schema": 2})).contains("profile schema 2"));
        let big = " ".repeat(headroom_data::MAX_PROFILE_BYTES + 1);
        assert!(err(json!(big)).contains("larger than 4 MiB"));
    }
}
