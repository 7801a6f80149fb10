//! `headroom check` for the page: the claimed numbers (by the names of the command's flags) judged
//! against the scenario the shared builder makes, with the CLI's speed parameters, so the answer
//! is the object `headroom check --json` prints.

use crate::error::WebError;
use crate::request::{self, WebRequest};
use headroom_core::check::{self, CheckOptions, CheckReport, Claim, Os, Quantity};
use headroom_core::speed::SpeedQuery;
use serde::{Deserialize, Serialize};

/// What was claimed or seen, with the names of `headroom check`'s flags (`--tok-s` is `tok_s`).
/// Every field is optional; at least one claim is needed.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClaimsRequest {
    /// Generation tokens/s.
    pub tok_s: Option<f64>,
    /// Prompt tokens/s.
    pub prompt_tok_s: Option<f64>,
    /// Time to first token, seconds.
    pub ttft: Option<f64>,
    /// Accelerator memory in use, GiB.
    pub vram_gb: Option<f64>,
    /// How much accelerator memory rose, GiB, when the context went from `from_ctx` to `ctx`.
    pub vram_rise_gb: Option<f64>,
    pub from_ctx: Option<u32>,
    /// Load time, seconds.
    pub load_s: Option<f64>,
    /// The claim that it runs at all (true) or that it does not (false).
    pub fits: Option<bool>,
    /// The prompt the rates were measured over (the CLI's default: 512).
    pub prompt: Option<u32>,
    /// The tokens generated in the measurement (default 128).
    pub gen: Option<u32>,
    /// Tokens already in the KV cache before the prompt (default 0).
    pub depth: Option<u32>,
}

/// The claims and options `headroom check` makes of the same flags, refusing what it refuses.
/// The operating system is the request's `os` (the CLI's `--os`, which also sets the VRAM Windows
/// keeps), already bounded by `request::from_value`.
pub fn claims(c: &ClaimsRequest, os: Option<&str>) -> Result<(Vec<Claim>, CheckOptions), WebError> {
    let os = match os {
        None => None,
        Some(o) => Some(Os::parse(o).ok_or_else(|| {
            WebError::new(format!("os: unknown `{o}` (linux, windows, wsl2, macos)"))
        })?),
    };
    let mut out = Vec::new();
    let numbers = [
        (Quantity::DecodeTokS, c.tok_s, "tok_s", false),
        (Quantity::PrefillTokS, c.prompt_tok_s, "prompt_tok_s", false),
        (Quantity::TtftS, c.ttft, "ttft", false),
        (Quantity::VramGib, c.vram_gb, "vram_gb", false),
        (Quantity::VramRiseGib, c.vram_rise_gb, "vram_rise_gb", true),
        (Quantity::LoadS, c.load_s, "load_s", false),
    ];
    for (quantity, v, field, any_sign) in numbers {
        let Some(value) = v else { continue };
        if !value.is_finite() || (value <= 0.0 && !any_sign) {
            return Err(WebError::new(format!(
                "{field}: must be a positive finite number, got {value}"
            )));
        }
        out.push(Claim { quantity, value });
    }
    if let Some(f) = c.fits {
        out.push(Claim {
            quantity: Quantity::Fits,
            value: if f { 1.0 } else { 0.0 },
        });
    }
    if c.vram_rise_gb.is_some() && c.from_ctx.is_none() {
        return Err(WebError::new(
            "vram_rise_gb: needs from_ctx, the context before the rise",
        ));
    }
    if out.is_empty() {
        return Err(WebError::new(
            "claims: give a number to check: tok_s, prompt_tok_s, ttft, vram_gb, vram_rise_gb, load_s or fits",
        ));
    }
    let query = SpeedQuery {
        prompt_tokens: c.prompt.unwrap_or(512),
        gen_tokens: c.gen.unwrap_or(128).max(1),
        depth: c.depth.unwrap_or(0),
        batch: 1,
    };
    Ok((
        out,
        CheckOptions {
            query,
            os,
            from_ctx: c.from_ctx,
        },
    ))
}

/// The claims from JavaScript's plain object, checked (finite numbers only, bounded nesting).
pub fn claims_from_value(v: serde_json::Value) -> Result<ClaimsRequest, WebError> {
    if !v.is_object() {
        return Err(WebError::new("claims: expected an object"));
    }
    serde_json::from_value(v).map_err(|e| WebError::new(format!("claims: {e}")))
}

/// `headroom check --json` for the request's scenario. A calibration profile is not used: the
/// command judges claims with the shipped speed parameters.
pub fn check(r: &WebRequest, c: &ClaimsRequest) -> Result<CheckReport, WebError> {
    let (claims, options) = claims(c, r.request.os.as_deref())?;
    let s = request::scenario(r)?;
    let p = headroom_data::speed_params_for(s.runtime.name())?;
    Ok(check::check(&s, &claims, p, &options))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(c: serde_json::Value) -> String {
        claims_from_value(c)
            .and_then(|c| claims(&c, None).map(|_| ()))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_claims_are_named() {
        assert!(err(json!({"tok_s": -1.0})).starts_with("tok_s:"));
        assert!(err(json!({"ttft": 0})).starts_with("ttft:"));
        assert!(err(json!({})).starts_with("claims:"));
        assert!(err(json!({"tok_s": 5, "os": "linux"})).contains("os"));
        let beos = claims(
            &claims_from_value(json!({"tok_s": 5})).unwrap(),
            Some("beos"),
        );
        assert!(beos
            .unwrap_err()
            .to_string()
            .starts_with("os: unknown `beos`"));
        assert!(err(json!({"vram_rise_gb": 1.5})).starts_with("vram_rise_gb:"));
        assert!(err(json!({"tok_s": 5, "colour": 1})).contains("colour"));
        assert!(err(json!({"tok_s": "fast"})).starts_with("claims:"));
        assert!(err(json!([1])).starts_with("claims:"));
    }

    #[test]
    fn a_check_is_the_cores_for_the_clis_scenario() {
        let r = request::from_value(
            json!({"model": "llama-3-70b", "hardware": "rtx-4090", "quant": "Q4_K_M", "os": "linux"}),
        )
        .unwrap();
        let c = claims_from_value(json!({"tok_s": 300})).unwrap();
        let got = check(&r, &c).unwrap();
        let s = request::scenario(&r).unwrap();
        let p = headroom_data::speed_params_for(s.runtime.name()).unwrap();
        let (cl, o) = claims(&c, Some("linux")).unwrap();
        assert_eq!(o.os, Some(Os::Linux));
        assert_eq!(got, check::check(&s, &cl, p, &o));
        // llama.cpp's defaults: the 512-token prompt and 128 generated tokens of `headroom check`
        assert_eq!((o.query.prompt_tokens, o.query.gen_tokens), (512, 128));
        assert_eq!(got.claims[0].verdict, check::ClaimVerdict::Impossible);
    }
}
