//! The web calculator's facade: Headroom's core and catalog for JavaScript, with no formulas of its own.
//!
//! Every export takes plain JavaScript values (read into JSON with `js_sys`), checks them
//! against bounds, calls the same core functions as `headroom fit`, and returns plain objects.
//! Bad input comes back as a thrown `Error` with a message; nothing here panics on any input.

pub mod answer;
pub mod catalog;
pub mod check;
pub mod error;
pub mod file_models;
pub mod gguf;
pub mod request;

use error::WebError;
use request::{ModelInput, WebRequest};
use serde::Serialize;
use wasm_bindgen::prelude::*;

pub use answer::{curve, Curve};

/// The one conversion from the facade's errors into a JavaScript `Error`.
fn into_error(e: WebError) -> JsError {
    JsError::new(e.message())
}

/// Any JavaScript value as JSON, refusing NaN, infinities and deep nesting (which JSON cannot
/// hold, or a hostile page could send). Walked with `js_sys` rather than deserialized with
/// `serde-wasm-bindgen`, whose generic deserializer made the wasm 3 KB larger gzipped.
fn json_from_js(what: &str, v: JsValue) -> Result<serde_json::Value, WebError> {
    js_value(&v, 0).map_err(|e| WebError::new(format!("{what}: {e}")))
}

fn js_value(v: &JsValue, depth: u32) -> Result<serde_json::Value, String> {
    use js_sys::{Array, Object};
    use serde_json::{Map, Number, Value};
    if v.is_null() || v.is_undefined() {
        return Ok(Value::Null);
    }
    if let Some(b) = v.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Some(x) = v.as_f64() {
        const SAFE: f64 = 9_007_199_254_740_992.0;
        if x.fract() == 0.0 && x.abs() < SAFE {
            return Ok(Value::Number((x as i64).into()));
        }
        return Number::from_f64(x)
            .map(Value::Number)
            .ok_or_else(|| format!("{x} is not a finite number"));
    }
    if let Some(s) = v.as_string() {
        return Ok(Value::String(s));
    }
    let nested = |depth: u32| {
        if depth >= request::limits::MAX_DEPTH {
            Err("nested too deeply".to_string())
        } else {
            Ok(depth + 1)
        }
    };
    if Array::is_array(v) {
        let d = nested(depth)?;
        let a = Array::from(v);
        return a
            .iter()
            .map(|x| js_value(&x, d))
            .collect::<Result<_, _>>()
            .map(Value::Array);
    }
    if v.is_object() {
        let d = nested(depth)?;
        let mut out = Map::new();
        for e in Object::entries(v.unchecked_ref()).iter() {
            let e = Array::from(&e);
            let k = e.get(0).as_string().unwrap_or_default();
            out.insert(k, js_value(&e.get(1), d)?);
        }
        return Ok(Value::Object(out));
    }
    Err("expected a JSON value (a number, string, boolean, null, array or object)".into())
}

fn request_from_js(v: JsValue) -> Result<WebRequest, WebError> {
    request::from_value(json_from_js("request", v)?)
}

/// An answer as a JavaScript object: written as JSON text in the wasm and parsed by the engine's
/// `JSON.parse`, one call across the boundary instead of one per field and number (the page's
/// answer has some 400), which took most of the facade's time. The values are the same as a
/// field-by-field conversion gives: JSON's numbers are JavaScript's doubles either way.
fn to_js<T: Serialize>(v: &T) -> Result<JsValue, WebError> {
    js_sys::JSON::parse(&json_text(v)?).map_err(|_| WebError::new("answer: not parsed as JSON"))
}

fn json_text<T: Serialize>(v: &T) -> Result<String, WebError> {
    serde_json::to_string(v).map_err(|e| WebError::new(format!("answer: {e}")))
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** A catalog model id, a config.json's text, or a model returned by `read_gguf`. */
export type ModelInput = string | { config_json: string } | GgufModel;
/** A model read from a GGUF header, held in the wasm instance that read it (the last 8 read). */
export interface GgufModel { gguf: number }
/** A device described by its numbers instead of a catalog id. */
export interface CustomDevice {
  name?: string; kind?: "gpu" | "unified" | "cpu"; memory_gib: number; bandwidth_gbs: number; fp16_tflops?: number;
}
/** A CPU by its numbers (`--cpu GBS,THREADS[,ISA,GHZ]`). */
export interface CpuNumbers { bandwidth_gbs: number; threads: number; isa?: string; ghz?: number }
/**
 * The flags of `headroom fit`, by the same names (the CLI's shared request). `hardware` holds
 * catalog ids (`m4-pro-48gb` picks a memory size) or one comma-separated string.
 */
export interface FitRequest {
  model: ModelInput; hardware?: string[] | string; gpus?: number; custom_device?: CustomDevice;
  memory_gib?: number; ram_gib?: number; wired_limit_mb?: number;
  runtime?: "llama.cpp" | "ollama" | "lmstudio" | "vllm" | "mlx" | "transformers"; quant?: string;
  ctx?: number; batch?: number; ubatch?: number; cache_type_k?: string; cache_type_v?: string;
  flash_attn?: boolean; gpu_layers?: number; parallel?: number; cpu_moe?: boolean; n_cpu_moe?: number; swa_full?: boolean;
  repack?: boolean; cpu?: CpuNumbers; host?: string;
  gpu_memory_utilization?: number; max_num_seqs?: number; max_num_batched_tokens?: number;
  kv_cache_dtype?: "auto" | "fp8"; tensor_parallel?: number; attention?: "sdpa" | "eager";
  kv_bits?: number; beyond_trained?: boolean;
  /** `--mmproj`: a vision-language model's projector too, of `mmproj_type` (`f16`, `q8_0`, `bf16`, `f32`); `mmproj_offload: false` keeps it on the CPU. */
  mmproj?: boolean; mmproj_type?: "f16" | "q8_0" | "bf16" | "f32"; mmproj_offload?: boolean;
  /** llama.cpp's backend build: `cuda`, `vulkan`, `rocm`, `metal`, `sycl` or `cpu` (default: the device's). */
  backend?: "cuda" | "vulkan" | "rocm" | "metal" | "sycl" | "cpu";
  /** A bare size instead of a catalog model (`70b`, `7.5b`, `500m`); `model` is then "". */
  params?: string;
  /** The operating system: Windows and WSL2 keep VRAM from CUDA, and `check` searches the driver's fallback. */
  os?: "linux" | "windows" | "wsl2" | "macos"; display_gpu?: boolean;
  /** Ollama's `OLLAMA_*` variables, for runtime `ollama`. */
  env?: Record<string, string>;
  /**
   * A calibration profile, as `--calibration FILE`: the JSON `headroom calibrate` writes (its text,
   * at most 4 MiB, or the parsed object). One fitted on another device or runtime is an error.
   */
  calibration?: string | CalibrationProfile;
}
/** What `headroom calibrate` writes: the device and runtime it was fitted on and its corrections. */
export interface CalibrationProfile {
  schema?: number; device?: string | null; runtime?: string | null; memory?: object | null; speed?: object | null; cpu?: object | null;
}
export interface Breakdown { weights: number; kv_cache: number; compute: number; output: number; overhead: number }
export interface DeviceReport { id: string; name: string; usable_bytes: number; total_bytes: number; breakdown: Breakdown; fits: boolean }
export interface CacheTypeContext { cache_type: string; flash_attn: boolean; max_context: number | null }
export interface OffloadPlan { gpu_layers: number; total_layers: number; n_cpu_moe: number | null; host_bytes: number; host_fits: boolean | null }
/** The same object `headroom fit --json` prints. */
export interface FitResult {
  model: string; quant: string; runtime: string; n_ctx: number;
  total_bytes: number; usable_bytes: number; fits: boolean; margin_bytes: number;
  breakdown: Breakdown; host_breakdown: Breakdown; devices: DeviceReport[];
  gpu_layers: number | null; kv_capacity: { kv_tokens: number; max_concurrency: number } | null;
  warnings: string[]; max_context: number | null;
  max_context_by_cache_type: CacheTypeContext[]; offload: OffloadPlan | null; speed: SpeedReport;
}
export interface SpeedQuery { prompt_tokens: number; gen_tokens: number; depth: number; batch: number }
export interface Verdict {
  use_case: "chat" | "agent" | "summary" | "batch"; verdict: "usable" | "runs_but_slow" | "context_too_short" | "poor_quality" | "does_not_fit";
  decode_tok_s: number | null; prefill_tok_s: number | null; ttft_s: number | null;
  reasons: string[]; suggestions: string[]; gpu_layers: number | null; n_cpu_moe?: number;
}
/** Speed at llama-bench's default query (pp512, tg128), with ~90% bands, and a verdict per use case. */
export interface SpeedReport {
  query: SpeedQuery;
  prefill_tok_s: number | null; prefill_tok_s_low: number | null; prefill_tok_s_high: number | null;
  decode_tok_s: number; decode_tok_s_low: number; decode_tok_s_high: number;
  aggregate_tok_s: number; decode_bound_tok_s: number;
  ttft_s: number | null; ttft_s_low: number | null; ttft_s_high: number | null;
  load_s: number; joules_per_token: number | null; tokens_per_joule: number | null;
  /** The `-ngl` the numbers are for when the settings as given do not fit and an offload does. */
  offload_gpu_layers: number | null;
  decode_terms: { weights_s: number; kv_cache_s: number; overhead_s: number; cpu_s: number; link_s: number; compute_s: number };
  prefill_terms: { matmul_s: number; attention_s: number; memory_s: number; link_s: number; cpu_s: number } | null;
  verdicts: Verdict[]; calibration: string[]; warnings: string[];
}
/**
 * What was claimed or seen, by the names of `headroom check`'s flags (`--tok-s` is `tok_s`); the
 * operating system is the request's `os`, as `--os` is a setting of the run.
 */
export interface CheckClaims {
  tok_s?: number; prompt_tok_s?: number; ttft?: number; vram_gb?: number; vram_rise_gb?: number; from_ctx?: number;
  load_s?: number; fits?: boolean; prompt?: number; gen?: number; depth?: number;
}
export type CheckQuantity = "decode_tok_s" | "prompt_tok_s" | "ttft_s" | "vram_gib" | "vram_rise_gib" | "load_s" | "fits";
export interface Explanation { cause: string; setting: string; predicted: number; low: number; high: number }
export interface ClaimCheck {
  quantity: CheckQuantity; claimed: number; verdict: "impossible" | "implausible" | "plausible";
  bound: number | null; bound_arithmetic: string | null; predicted: number | null; low: number | null; high: number | null;
  explanations: Explanation[];
}
/** The object `headroom check --json` prints. */
export interface CheckReport {
  model: string; quant: string; runtime: string; notes: string[]; n_ctx: number; as_run: string; claims: ClaimCheck[];
  warnings: string[];
}
export interface CurvePoint { ctx: number; n_ctx: number; total_bytes: number; fits: boolean }
export interface Curve { usable_bytes: number; points: CurvePoint[] }
export interface GgufRead { model?: GgufModel; need_bytes?: number }
export interface Evaluation { result: FitResult; curve: Curve }
export interface ModelItem {
  id: string; name: string; hf_repo: string; aliases: string[]; arch: string; n_layer: number;
  n_ctx_train: number; params: number; moe: boolean; native_quant: string | null;
}
export interface HardwareItem {
  id: string; name: string; aliases: string[]; vendor: string; kind: "gpu" | "unified" | "cpu";
  backend: string; memory_gib: number | null; memory_options_gib: number[]; bandwidth_gbs: number;
  fp16_tflops: number | null;
}
export interface CatalogList {
  models: ModelItem[]; hardware: HardwareItem[]; runtimes: string[]; quants: string[]; cache_types: string[];
}
"#;

/// The models, devices, runtimes, quantizations and cache types the calculator offers.
#[wasm_bindgen(unchecked_return_type = "CatalogList")]
pub fn catalog() -> Result<JsValue, JsError> {
    catalog::list().and_then(|c| to_js(&c)).map_err(into_error)
}

/// Does it fit, and how fast: the answer `headroom fit --json` gives for the same choices.
#[wasm_bindgen(unchecked_return_type = "FitResult")]
pub fn fit(
    #[wasm_bindgen(unchecked_param_type = "FitRequest")] request: JsValue,
) -> Result<JsValue, JsError> {
    request_from_js(request)
        .and_then(|r| answer::answer(&r))
        .and_then(|a| to_js(&a))
        .map_err(into_error)
}

/// Memory needed at `points` contexts from small to the trained length, for the chart.
#[wasm_bindgen(js_name = memoryCurve, unchecked_return_type = "Curve")]
pub fn memory_curve(
    #[wasm_bindgen(unchecked_param_type = "FitRequest")] request: JsValue,
    points: u32,
) -> Result<JsValue, JsError> {
    request_from_js(request)
        .and_then(|r| answer::curve(&r, points))
        .and_then(|c| to_js(&c))
        .map_err(into_error)
}

/// `fit` and `memoryCurve` together from one scenario, as the page asks on every change.
#[wasm_bindgen(unchecked_return_type = "Evaluation")]
pub fn evaluate(
    #[wasm_bindgen(unchecked_param_type = "FitRequest")] request: JsValue,
    points: u32,
) -> Result<JsValue, JsError> {
    request_from_js(request)
        .and_then(|r| answer::evaluate(&r, points))
        .and_then(|e| to_js(&e))
        .map_err(into_error)
}

/// `evaluate`'s answer as JSON text, for the page's Worker to pass on as it is: a string crosses
/// to the page's thread in one copy, where the object it parses to is cloned value by value.
#[wasm_bindgen(js_name = evaluateJson)]
pub fn evaluate_json(
    #[wasm_bindgen(unchecked_param_type = "FitRequest")] request: JsValue,
    points: u32,
) -> Result<String, JsError> {
    request_from_js(request)
        .and_then(|r| answer::evaluate(&r, points))
        .and_then(|e| json_text(&e))
        .map_err(into_error)
}

/// `headroom check --json`: each claimed number judged against the physical bound and the band
/// for the request's scenario, with the settings that reproduce an implausible one.
#[wasm_bindgen(unchecked_return_type = "CheckReport")]
pub fn check(
    #[wasm_bindgen(unchecked_param_type = "FitRequest")] request: JsValue,
    #[wasm_bindgen(unchecked_param_type = "CheckClaims")] claims: JsValue,
) -> Result<JsValue, JsError> {
    request_from_js(request)
        .and_then(|r| {
            let c = check::claims_from_value(json_from_js("claims", claims)?)?;
            check::check(&r, &c)
        })
        .and_then(|a| to_js(&a))
        .map_err(into_error)
}

/// A summary of any model input (catalog id, config.json text, or a read file), to show what was read.
#[wasm_bindgen(js_name = describeModel, unchecked_return_type = "ModelItem")]
pub fn describe_model(
    #[wasm_bindgen(unchecked_param_type = "ModelInput")] model: JsValue,
) -> Result<JsValue, JsError> {
    json_from_js("model", model)
        .and_then(request::model_from_value)
        .and_then(|m| describe(&m))
        .and_then(|d| to_js(&d))
        .map_err(into_error)
}

fn describe(m: &ModelInput) -> Result<catalog::ModelItem, WebError> {
    let (spec, weights, native) = match request::supplied(m)? {
        Some(s) => (s.spec, s.weights, s.native_quant),
        None => {
            let ModelInput::Catalog(id) = m else {
                return Err(WebError::new("model: nothing to describe"));
            };
            let e = headroom_data::catalog()?.model(id)?;
            return Ok(catalog::item(e));
        }
    };
    let params = match &weights {
        Some((w, _)) => w.iter().map(|t| t.n_elements).sum(),
        None => catalog::params(&spec),
    };
    Ok(catalog::ModelItem {
        id: String::new(),
        name: spec.name.clone(),
        hf_repo: String::new(),
        aliases: Vec::new(),
        arch: spec.arch.name().to_string(),
        n_layer: spec.n_layer,
        n_ctx_train: spec.n_ctx_train,
        params,
        moe: spec.moe.is_some(),
        native_quant: weights.map(|(_, q)| q).or(native.map(|q| q.label())),
    })
}

/// A GGUF file's model from the first bytes of the file: `{ model }` to pass as a request's model,
/// or `{ need_bytes }` when the header runs past `prefix` (read that many bytes and call again).
#[wasm_bindgen(unchecked_return_type = "GgufRead")]
pub fn read_gguf(prefix: &[u8]) -> Result<JsValue, JsError> {
    gguf::read(prefix)
        .and_then(|g| to_js(&g))
        .map_err(into_error)
}

/// The crate version, to show which core the page runs.
#[wasm_bindgen]
pub fn version() -> String {
    env!("CARGO_PKG_VERSION").to_string()
}

/// The TypeScript types above are checked against the Rust types they describe: a field added to
/// or renamed in a request or answer fails here until `TS_TYPES` says the same.
#[cfg(test)]
mod ts_types {
    use serde_json::{json, Value};
    use std::collections::BTreeSet;

    /// `TS_TYPES` as written in this file (wasm-bindgen consumes the constant itself).
    fn ts_types() -> &'static str {
        let src = include_str!("lib.rs");
        let start = src
            .find("const TS_TYPES: &'static str = r#\"")
            .expect("TS_TYPES in lib.rs");
        let body = &src[start..];
        let open = body.find('"').expect("its string") + 1;
        let close = body.find("\"#;").expect("its end");
        &body[open..close]
    }

    /// The field names of `export interface NAME { ... }`, its own fields only (not nested objects').
    fn fields(name: &str) -> BTreeSet<String> {
        let mut text = String::new();
        let mut rest = ts_types();
        while let Some(i) = rest.find("/**") {
            text.push_str(&rest[..i]);
            let end = rest[i..].find("*/").expect("a closed comment") + i + 2;
            rest = &rest[end..];
        }
        text.push_str(rest);
        let head = format!("export interface {name} {{");
        let start = text
            .find(&head)
            .unwrap_or_else(|| panic!("no interface {name}"))
            + head.len();
        let mut depth = 1;
        let mut out = BTreeSet::new();
        let mut word = String::new();
        for ch in text[start..].chars() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                c if c.is_alphanumeric() || c == '_' => {
                    word.push(c);
                    continue;
                }
                '?' | ':' if depth == 1 && !word.is_empty() => {
                    out.insert(std::mem::take(&mut word));
                    continue;
                }
                _ => {}
            }
            word.clear();
        }
        out
    }

    fn keys(v: &Value) -> BTreeSet<String> {
        v.as_object().expect("an object").keys().cloned().collect()
    }

    #[test]
    fn the_request_types_are_the_rust_requests() {
        let mut request =
            keys(&serde_json::to_value(headroom_data::ScenarioRequest::default()).unwrap());
        // the page's request also carries a calibration profile, as `--calibration FILE`
        request.insert("calibration".into());
        assert_eq!(fields("FitRequest"), request);
        let device = headroom_data::request::CustomDevice {
            name: Some("x".into()),
            kind: None,
            memory_gib: 1.0,
            bandwidth_gbs: 1.0,
            fp16_tflops: None,
        };
        assert_eq!(
            fields("CustomDevice"),
            keys(&serde_json::to_value(device).unwrap())
        );
        let cpu = headroom_data::request::CpuNumbers {
            bandwidth_gbs: 1.0,
            threads: 1,
            isa: None,
            ghz: None,
        };
        assert_eq!(
            fields("CpuNumbers"),
            keys(&serde_json::to_value(cpu).unwrap())
        );
        let file = crate::gguf::GgufModel { gguf: 1 };
        assert_eq!(
            fields("GgufModel"),
            keys(&serde_json::to_value(file).unwrap())
        );
        let claims = crate::check::ClaimsRequest::default();
        assert_eq!(
            fields("CheckClaims"),
            keys(&serde_json::to_value(claims).unwrap())
        );
    }

    #[test]
    fn the_answer_types_are_the_rust_answers() {
        let r = crate::request::from_value(
            json!({"model": "qwen3-8b", "hardware": "rtx-3060-ti", "os": "windows"}),
        )
        .unwrap();
        let fit = crate::answer::answer(&r).unwrap();
        assert_eq!(fields("FitResult"), keys(&fit));
        assert_eq!(fields("SpeedReport"), keys(&fit["speed"]));
        assert_eq!(fields("Breakdown"), keys(&fit["breakdown"]));
        // 20 tok/s for Qwen3-8B on an RTX 3060 Ti is below its band and explained (layers in
        // system RAM among others), so every level of the check answer has an example
        let c = crate::check::claims_from_value(json!({"tok_s": 20})).unwrap();
        let report = serde_json::to_value(crate::check::check(&r, &c).unwrap()).unwrap();
        assert_eq!(fields("CheckReport"), keys(&report));
        let claim = &report["claims"][0];
        assert_eq!(fields("ClaimCheck"), keys(claim));
        assert_eq!(claim["verdict"], "implausible");
        assert_eq!(fields("Explanation"), keys(&claim["explanations"][0]));
    }
}
