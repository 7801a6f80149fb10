//! What the page asks for: the CLI's shared `ScenarioRequest` (same field names as `headroom fit`'s
//! flags) with a model that may also be a config.json's text or a model read from a GGUF header.
//! Values from JavaScript are bounded here, then `headroom_data::build` makes the `Scenario`.

use crate::error::WebError;
use headroom_core::measure::CalibrationProfile;
use headroom_core::quant::StoredTensor;
use headroom_core::{ModelSpec, Scenario};
use headroom_data::{ScenarioRequest, SuppliedModel};
use headroom_formats::hf_config;
use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Serialize;
use serde_json::{Map, Number, Value};

/// Bounds on what a request may hold; past them the input is a mistake or hostile.
pub mod limits {
    /// Names (model, hardware, quant, runtime, cache types): the catalog's longest is far shorter,
    /// and "did you mean" compares a name against every entry.
    pub const MAX_NAME_LEN: usize = 256;
    pub const MAX_HARDWARE_ENTRIES: usize = 16;
    pub const MAX_TENSORS: usize = 1 << 17;
    pub const MAX_TENSOR_BYTES: u64 = 1 << 50;
    /// How deep a request's objects and arrays may nest.
    pub const MAX_DEPTH: u32 = 8;
}
use limits::*;

/// A model as read from a weights file: its shapes and its stored tensors.
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelFile {
    pub spec: ModelSpec,
    pub weights: Vec<StoredTensor>,
    pub quant: String,
}

/// The model of a request: a catalog name, a config.json's text, or a model read from a file.
#[derive(Clone, Debug)]
pub enum ModelInput {
    Catalog(String),
    Config(String),
    File(Box<ModelFile>),
}

/// A checked request: the shared request, the model it names or carries, and the calibration
/// profile it carries (checked here, matched to the scenario when the answer is made).
#[derive(Clone, Debug)]
pub struct WebRequest {
    pub request: ScenarioRequest,
    pub model: ModelInput,
    pub calibration: Option<CalibrationProfile>,
}

/// A JSON value from JavaScript that refuses NaN and infinities (which JSON cannot hold and
/// `serde_json` would quietly turn into null) and nests no deeper than `MAX_DEPTH`.
#[derive(Debug)]
pub struct Strict(pub Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Strict, D::Error> {
        d.deserialize_any(StrictVisitor(0)).map(Strict)
    }
}

struct StrictVisitor(u32);

struct Nested(u32);

impl<'de> de::DeserializeSeed<'de> for Nested {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(StrictVisitor(self.0))
    }
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::Number(v.into()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        const SAFE: f64 = 9_007_199_254_740_992.0;
        if v.fract() == 0.0 && v.abs() < SAFE {
            return Ok(Value::Number((v as i64).into()));
        }
        Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom(format!("{v} is not a finite number")))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if self.0 >= MAX_DEPTH {
            return Err(de::Error::custom("nested too deeply"));
        }
        let mut out = Vec::new();
        while let Some(v) = seq.next_element_seed(Nested(self.0 + 1))? {
            out.push(v);
        }
        Ok(Value::Array(out))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        if self.0 >= MAX_DEPTH {
            return Err(de::Error::custom("nested too deeply"));
        }
        let mut out = Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let v = map.next_value_seed(Nested(self.0 + 1))?;
            out.insert(k, v);
        }
        Ok(Value::Object(out))
    }
}

fn bad(what: &str, problem: impl std::fmt::Display) -> WebError {
    WebError::new(format!("{what}: {problem}"))
}

/// Fields that take whole numbers, with their largest value.
const WHOLE: [(&str, u64); 12] = [
    ("gpus", u32::MAX as u64),
    ("ctx", u32::MAX as u64),
    ("batch", u32::MAX as u64),
    ("ubatch", u32::MAX as u64),
    ("gpu_layers", u32::MAX as u64),
    ("parallel", u32::MAX as u64),
    ("n_cpu_moe", u32::MAX as u64),
    ("max_num_seqs", u32::MAX as u64),
    ("max_num_batched_tokens", u32::MAX as u64),
    ("tensor_parallel", u32::MAX as u64),
    ("kv_bits", u8::MAX as u64),
    ("wired_limit_mb", 1 << 40),
];

/// Fields that name something; each is bounded in length.
const NAMES: [&str; 7] = [
    "quant",
    "runtime",
    "cache_type_k",
    "cache_type_v",
    "kv_cache_dtype",
    "attention",
    "model",
];

fn check_name(what: &str, s: &str) -> Result<(), WebError> {
    if s.len() > MAX_NAME_LEN {
        return Err(bad(what, format!("longer than {MAX_NAME_LEN} bytes")));
    }
    Ok(())
}

/// Checks the request object field by field (naming the field at fault) and splits off the model.
pub fn from_value(v: Value) -> Result<WebRequest, WebError> {
    let Value::Object(mut m) = v else {
        return Err(bad("request", "expected an object"));
    };
    for (field, max) in WHOLE {
        match m.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) if n.as_u64().is_some_and(|x| x <= max) => {}
            Some(other) => {
                return Err(bad(
                    field,
                    format!("{other} is not a whole number in 0..={max}"),
                ))
            }
        }
    }
    for field in NAMES {
        if let Some(Value::String(s)) = m.get(field) {
            check_name(field, s)?;
        }
    }
    match m.get("hardware") {
        Some(Value::Array(h)) => {
            if h.len() > MAX_HARDWARE_ENTRIES {
                return Err(bad(
                    "hardware",
                    format!("{} entries, more than {MAX_HARDWARE_ENTRIES}", h.len()),
                ));
            }
            for x in h {
                if let Value::String(s) = x {
                    check_name("hardware", s)?;
                }
            }
        }
        Some(Value::String(s)) => {
            // a comma list, as the CLI's --hardware takes
            check_name("hardware", s)?;
            let list: Vec<Value> = s
                .split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(|x| Value::String(x.to_string()))
                .collect();
            m.insert("hardware".into(), Value::Array(list));
        }
        _ => {}
    }
    let model = model_from_value(m.remove("model").unwrap_or(Value::Null))?;
    let calibration = profile_from_value(m.remove("calibration").unwrap_or(Value::Null))?;
    let mut request: ScenarioRequest =
        serde_json::from_value(Value::Object(m)).map_err(|e| bad("request", e))?;
    if let ModelInput::Catalog(id) = &model {
        request.model = id.clone();
    }
    Ok(WebRequest {
        request,
        model,
        calibration,
    })
}

/// A calibration profile: the JSON text `headroom calibrate` writes, or that text parsed into an
/// object; bounded by the CLI's `MAX_PROFILE_BYTES` and checked as the CLI checks it.
pub fn profile_from_value(v: Value) -> Result<Option<CalibrationProfile>, WebError> {
    let text = match v {
        Value::Null => return Ok(None),
        Value::String(t) => t,
        o @ Value::Object(_) => o.to_string(),
        other => {
            return Err(bad(
                "calibration",
                format!("expected a profile's JSON text or object, got {other}"),
            ))
        }
    };
    headroom_data::parse_profile(&text)
        .map(Some)
        .map_err(|e| bad("calibration", e))
}

/// A model input: a catalog name, `{ config_json }`, or a model returned by `read_gguf`.
pub fn model_from_value(v: Value) -> Result<ModelInput, WebError> {
    Ok(match v {
        Value::String(s) => ModelInput::Catalog(s),
        Value::Object(o) if o.contains_key("config_json") => match o.get("config_json") {
            Some(Value::String(t)) if o.len() == 1 => ModelInput::Config(t.clone()),
            _ => return Err(bad("model", "expected { config_json: <the file's text> }")),
        },
        o @ Value::Object(_) => ModelInput::File(Box::new(
            serde_json::from_value(o).map_err(|e| bad("model", e))?,
        )),
        Value::Null => return Err(bad("model", "missing")),
        other => {
            return Err(bad(
                "model",
                format!("expected a name, {{ config_json }} or a read file, got {other}"),
            ))
        }
    })
}

/// The model a request carries, checked, in the form the shared builder takes.
pub fn supplied(m: &ModelInput) -> Result<Option<SuppliedModel>, WebError> {
    match m {
        ModelInput::Catalog(id) => {
            check_name("model", id)?;
            Ok(None)
        }
        ModelInput::Config(text) => {
            let c = hf_config::parse(text)?;
            c.spec.validate()?;
            Ok(Some(SuppliedModel {
                spec: c.spec,
                weights: None,
                native_quant: c.quant,
            }))
        }
        ModelInput::File(f) => {
            f.spec.validate()?;
            check_name("model name", &f.spec.name)?;
            check_name("quant", &f.quant)?;
            if f.weights.is_empty() || f.weights.len() > MAX_TENSORS {
                return Err(bad(
                    "weights",
                    format!("{} tensors is outside 1..={MAX_TENSORS}", f.weights.len()),
                ));
            }
            for t in &f.weights {
                check_name("tensor name", &t.name)?;
                if t.layer.is_some_and(|l| l >= f.spec.n_layer) {
                    return Err(bad(
                        &format!("tensor `{}`", t.name),
                        format!("layer is past the model's {} layers", f.spec.n_layer),
                    ));
                }
                if t.bytes > MAX_TENSOR_BYTES || t.n_elements > MAX_TENSOR_BYTES {
                    return Err(bad(&format!("tensor `{}`", t.name), "is impossibly large"));
                }
            }
            Ok(Some(SuppliedModel {
                spec: f.spec.clone(),
                weights: Some((f.weights.clone(), f.quant.clone())),
                native_quant: None,
            }))
        }
    }
}

/// The scenario `headroom fit` builds for the same request.
pub fn scenario(r: &WebRequest) -> Result<Scenario, WebError> {
    let s = supplied(&r.model)?;
    Ok(headroom_data::build(&r.request, s)?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(v: Value) -> String {
        from_value(v)
            .and_then(|r| scenario(&r).map(|_| ()))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn a_request_builds_the_scenario_the_cli_builds() {
        let r =
            from_value(json!({"model": "qwen3-8b", "hardware": "rtx-4090,rtx-3090", "ctx": 8192}))
                .unwrap();
        let s = scenario(&r).unwrap();
        let cli = headroom_data::build(
            &ScenarioRequest {
                model: "qwen3-8b".into(),
                hardware: vec!["rtx-4090".into(), "rtx-3090".into()],
                ctx: Some(8192),
                ..ScenarioRequest::default()
            },
            None,
        )
        .unwrap();
        assert_eq!(s, cli);
    }

    #[test]
    fn bad_fields_are_named() {
        assert!(
            err(json!({"model": "qwen3-8b", "hardware": ["rtx-4090"], "ctx": -1}))
                .starts_with("ctx:")
        );
        assert!(
            err(json!({"model": "qwen3-8b", "hardware": ["rtx-4090"], "ctx": 1.5}))
                .starts_with("ctx:")
        );
        assert!(
            err(json!({"model": "qwen3-8b", "hardware": ["rtx-4090"], "gpus": 5e9}))
                .starts_with("gpus:")
        );
        assert!(
            err(json!({"model": "x".repeat(300), "hardware": ["rtx-4090"]})).starts_with("model:")
        );
        assert!(
            err(json!({"model": "qwen3-8b", "hardware": vec!["rtx-4090"; 17]}))
                .starts_with("hardware:")
        );
        assert!(
            err(json!({"model": "qwen3-8b", "hardware": ["rtx-4090"], "colour": 1}))
                .contains("colour")
        );
        assert!(err(json!({"hardware": ["rtx-4090"]})).starts_with("model:"));
        assert!(err(json!([1, 2])).starts_with("request:"));
    }
}
