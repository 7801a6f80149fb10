//! A model known only by its size (`--params 70b`): a dense transformer shaped after the catalog's
//! Llama models, for judging claims about "a 70B model".
//!
//! The shape: of the catalog's dense Llama-architecture models (Llama 1, 2, 3, 3.1, 3.2, 3.3),
//! the one nearest in parameter count (by ratio) lends its widths (hidden size, heads, KV heads,
//! feed-forward size, vocabulary, trained context), and its layer count is scaled so that the
//! parameters match: `layers = round((N - embeddings) / parameters per layer)`. Every answer
//! for such a model is an estimate and says so.

use crate::Catalog;
use headroom_core::model::Arch;
use headroom_core::quant::GgmlType;
use headroom_core::tensors::{n_params, synthesize};
use headroom_core::ModelSpec;

/// The smallest and largest sizes taken, in parameters.
pub const MIN_PARAMS: f64 = 1e8;
pub const MAX_PARAMS: f64 = 2e12;

/// Parses `70b`, `70B`, `7.5b`, `500m`, `1.2t` or a bare number of billions (`70`).
pub fn parse_params(s: &str) -> Option<f64> {
    let t = s.trim().to_ascii_lowercase();
    let (num, scale) = match t.chars().last()? {
        'b' => (&t[..t.len() - 1], 1e9),
        'm' => (&t[..t.len() - 1], 1e6),
        't' => (&t[..t.len() - 1], 1e12),
        _ => (t.as_str(), 1e9),
    };
    let v: f64 = num.trim().parse().ok()?;
    (v.is_finite() && v > 0.0).then_some(v * scale)
}

fn params_of(m: &ModelSpec) -> f64 {
    n_params(&synthesize(m, GgmlType::F16)) as f64
}

/// The generic model of `n` parameters and the note that says how it was shaped.
pub fn generic(cat: &Catalog, n: f64) -> Result<(ModelSpec, String), String> {
    if !(MIN_PARAMS..=MAX_PARAMS).contains(&n) {
        return Err(format!(
            "{:.3e} parameters is outside {MIN_PARAMS:.0e}..={MAX_PARAMS:.0e}",
            n
        ));
    }
    let template = cat
        .models
        .iter()
        .filter(|e| {
            let s = &e.spec;
            s.arch == Arch::Llama
                && s.moe.is_none()
                && s.mla.is_none()
                && s.ssm.is_none()
                && s.sliding_window.is_none()
        })
        .map(|e| (e, params_of(&e.spec)))
        .min_by(|a, b| {
            // equal sizes (Llama 3, 3.1, 3.3 70B): the longest trained context
            (a.1 / n)
                .ln()
                .abs()
                .total_cmp(&(b.1 / n).ln().abs())
                .then(b.0.spec.n_ctx_train.cmp(&a.0.spec.n_ctx_train))
        })
        .ok_or("the catalog has no dense Llama model to shape it after")?;
    let (entry, total) = template;
    let t = &entry.spec;
    let mut one = t.clone();
    one.n_layer = 1;
    let per_layer = total
        - params_of(&{
            let mut z = t.clone();
            z.n_layer = t.n_layer - 1;
            z
        });
    let outside = params_of(&one) - per_layer;
    let layers = ((n - outside) / per_layer).round().clamp(1.0, 1000.0) as u32;
    let mut m = t.clone();
    m.n_layer = layers;
    let billions = n / 1e9;
    m.name = format!("generic dense {billions:.3}B");
    let got = params_of(&m);
    let note = format!(
        "an estimate: a generic dense {billions:.3}B model shaped after {} ({:.2}B): its widths (hidden {}, {} heads, {} KV heads, feed-forward {}, vocabulary {}) with {layers} layers instead of {} ({:.2}B parameters)",
        entry.record.name,
        total / 1e9,
        t.n_embd,
        t.n_head,
        t.n_head_kv,
        t.n_ff,
        t.n_vocab,
        t.n_layer,
        got / 1e9
    );
    Ok((m, note))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_their_suffix() {
        assert_eq!(parse_params("70b"), Some(70e9));
        assert_eq!(parse_params("7.5B"), Some(7.5e9));
        assert_eq!(parse_params("500m"), Some(500e6));
        assert_eq!(parse_params("70"), Some(70e9));
        assert_eq!(parse_params("seventy"), None);
        assert_eq!(parse_params("-3b"), None);
    }

    #[test]
    fn a_70b_model_takes_llama_70b_widths() {
        // Llama 3.1 70B (config.json: hidden 8192, 80 layers, ffn 28672, vocab 128256, 8 KV
        // heads of 128) holds 70.55e9 parameters, the nearest dense Llama to 70e9 (Llama 2 70B,
        // vocab 32000, holds 68.98e9). One layer holds 2 x 8192^2 (Q, O) + 2 x 8192 x 1024
        // (K, V) + 3 x 8192 x 28672 (gate, up, down) + 2 x 8192 (norms) = 855.65e6; outside
        // the layers 2 x 128256 x 8192 + 8192 = 2101.3e6; (70e9 - 2101.3e6) / 855.65e6 = 79.35,
        // so 79 layers; of the three 70B Llama 3 configs the 131072-token one is taken.
        let cat = crate::catalog().unwrap();
        let (m, note) = generic(cat, 70e9).unwrap();
        assert_eq!((m.n_embd, m.n_ff, m.n_head_kv), (8192, 28672, 8));
        assert_eq!(m.n_layer, 79);
        assert_eq!(m.n_ctx_train, 131_072);
        assert!(note.starts_with("an estimate"), "{note}");
        assert!(generic(cat, 1e15).is_err());
    }
}
