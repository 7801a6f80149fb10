//! The web calculator's facade: Headroom's core and catalog for JavaScript, with no formulas of its own.
//!
//! Every export takes plain JavaScript values (converted with `serde-wasm-bindgen`), checks them
//! against bounds, calls the same core functions as `headroom fit`, and returns plain objects.
//! Bad input comes back as a thrown `Error` with a message; nothing here panics on any input.

pub mod answer;
pub mod catalog;
pub mod error;
pub mod gguf;
pub mod request;

use error::WebError;
use request::{ModelInput, Strict, WebRequest};
use serde::Serialize;
use wasm_bindgen::prelude::*;

pub use answer::{curve, Curve};

/// The one conversion from the facade's errors into a JavaScript `Error`.
fn into_error(e: WebError) -> JsError {
    JsError::new(e.message())
}

/// Any JavaScript value as JSON, refusing NaN, infinities and deep nesting.
fn json_from_js(what: &str, v: JsValue) -> Result<serde_json::Value, WebError> {
    serde_wasm_bindgen::from_value::<Strict>(v)
        .map(|s| s.0)
        .map_err(|e| {
            WebError::new(format!(
                "{what}: {}",
                e.to_string().trim_start_matches("Error: ")
            ))
        })
}

fn request_from_js(v: JsValue) -> Result<WebRequest, WebError> {
    request::from_value(json_from_js("request", v)?)
}

fn to_js<T: Serialize>(v: &T) -> Result<JsValue, WebError> {
    v.serialize(&serde_wasm_bindgen::Serializer::json_compatible())
        .map_err(WebError::from)
}

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &'static str = r#"
/** A catalog model id, a config.json's text, or a model returned by `read_gguf`. */
export type ModelInput = string | { config_json: string } | ModelFile;
export interface ModelFile { spec: object; weights: object[]; quant: string }
/** A device described by its numbers instead of a catalog id. */
export interface CustomDevice {
  name?: string; kind?: "gpu" | "unified" | "cpu"; memory_gib: number; bandwidth_gbs: number; fp16_tflops?: number;
}
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
  gpu_memory_utilization?: number; max_num_seqs?: number; max_num_batched_tokens?: number;
  kv_cache_dtype?: "auto" | "fp8"; tensor_parallel?: number; attention?: "sdpa" | "eager";
  kv_bits?: number; beyond_trained?: boolean;
  /**
   * A calibration profile, as `--calibration FILE`: the JSON `headroom calibrate` writes (its text,
   * at most 4 MiB, or the parsed object). One fitted on another device or runtime is an error.
   */
  calibration?: string | CalibrationProfile;
}
/** What `headroom calibrate` writes: the device and runtime it was fitted on and its corrections. */
export interface CalibrationProfile {
  schema?: number; device?: string | null; runtime?: string | null; memory?: object | null; speed?: object | null;
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
  use_case: "chat" | "agent" | "summary" | "batch"; verdict: "usable" | "runs_but_slow" | "poor_quality" | "does_not_fit";
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
  load_s: number; joules_per_token: number | null;
  decode_terms: { weights_s: number; kv_cache_s: number; overhead_s: number; cpu_s: number; link_s: number; compute_s: number };
  prefill_terms: { matmul_s: number; attention_s: number; memory_s: number; link_s: number; cpu_s: number } | null;
  verdicts: Verdict[]; calibration: string[]; warnings: string[];
}
export interface CurvePoint { ctx: number; n_ctx: number; total_bytes: number; fits: boolean }
export interface Curve { usable_bytes: number; points: CurvePoint[] }
export interface GgufRead { model?: ModelFile; need_bytes?: number }
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
