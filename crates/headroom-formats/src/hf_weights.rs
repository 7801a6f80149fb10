//! Safetensors tensors (Hugging Face names) as stored weights: the layer and role each name
//! belongs to, with its exact bytes, so a local checkpoint is sized as it is stored.

use crate::safetensors::SafeTensor;
use headroom_core::quant::StoredTensor;
use headroom_core::tensors::TensorRole;

/// The repeating layer in a Hugging Face tensor name (`model.layers.12.mlp...`).
fn layer_of(name: &str) -> Option<u32> {
    let rest = name
        .split_once(".layers.")
        .map(|(_, r)| r)
        .or_else(|| name.strip_prefix("layers."))?;
    rest.split('.').next()?.parse().ok()
}

fn role_of(name: &str, dims: usize, layer: Option<u32>) -> TensorRole {
    if name.contains("embed_tokens") || name.ends_with("wte.weight") {
        return TensorRole::TokenEmbd;
    }
    if name.starts_with("lm_head") {
        return TensorRole::Output;
    }
    if layer.is_none() {
        return if name.ends_with("norm.weight") {
            TensorRole::OutputNorm
        } else {
            TensorRole::Other
        };
    }
    if dims < 2 {
        return TensorRole::LayerOther;
    }
    if name.contains(".experts.") && !name.contains("shared_expert") {
        TensorRole::Experts
    } else if name.contains("shared_expert")
        || name.contains(".gate.weight")
        || name.contains(".router.")
    {
        TensorRole::SharedExperts
    } else if name.contains(".mlp.")
        || name.contains(".feed_forward.")
        || name.contains(".block_sparse_moe.")
    {
        TensorRole::Ffn
    } else if name.contains("attn") || name.contains("attention") {
        TensorRole::Attn
    } else {
        TensorRole::LayerOther
    }
}

/// Stored weights from safetensors headers, bytes exactly as the files hold them.
pub fn stored_tensors(tensors: &[SafeTensor]) -> Vec<StoredTensor> {
    tensors
        .iter()
        .map(|t| {
            let layer = layer_of(&t.name);
            StoredTensor {
                name: t.name.clone(),
                layer,
                role: role_of(&t.name, t.shape.len(), layer),
                n_elements: t.n_elements(),
                bytes: t.end.saturating_sub(t.begin),
                ggml_type: None,
                rows: 0,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_map_to_layers_and_roles() {
        assert_eq!(layer_of("model.layers.12.mlp.down_proj.weight"), Some(12));
        assert_eq!(layer_of("model.embed_tokens.weight"), None);
        assert_eq!(
            role_of("model.embed_tokens.weight", 2, None),
            TensorRole::TokenEmbd
        );
        assert_eq!(role_of("lm_head.weight", 2, None), TensorRole::Output);
        assert_eq!(
            role_of("model.norm.weight", 1, None),
            TensorRole::OutputNorm
        );
        assert_eq!(
            role_of("model.layers.3.mlp.experts.7.up_proj.weight", 2, Some(3)),
            TensorRole::Experts
        );
        assert_eq!(
            role_of("model.layers.3.mlp.gate.weight", 2, Some(3)),
            TensorRole::SharedExperts
        );
        assert_eq!(
            role_of("model.layers.3.self_attn.q_proj.weight", 2, Some(3)),
            TensorRole::Attn
        );
        assert_eq!(
            role_of("model.layers.3.input_layernorm.weight", 1, Some(3)),
            TensorRole::LayerOther
        );
    }
}
