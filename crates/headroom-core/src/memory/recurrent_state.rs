//! Recurrent state of hybrid models' Mamba-2 and gated delta net (Qwen3-Next) layers: a fixed-size
//! state per sequence, not per token.
//!
//! llama.cpp (src/llama-memory-recurrent.cpp, `llama_memory_recurrent` constructor) gives every
//! recurrent layer two tensors, `cache_r_l{il}` of `n_embd_r() * mem_size` elements in `type_r` and
//! `cache_s_l{il}` of `n_embd_s() * mem_size` elements in `type_s`, on the layer's device when the
//! KV cache is offloaded (`model.dev_layer(i)`), else in host memory, and logs them as the
//! "RS buffer". A hybrid model (src/llama-memory-hybrid.cpp, created in src/llama-model.cpp
//! `create_memory`) passes `recurrent_type_r = recurrent_type_s = GGML_TYPE_F32` and
//! `recurrent_kv_size = max(1, n_seq_max)`: the state grows with `-np`, never with `-c`; its
//! attention layers keep an ordinary KV cache of `n_ctx` cells. The scan's scratch lives in the
//! compute buffer, which `compute_buffer` sizes from the attention shapes only.

use crate::model::Ssm;
use crate::quant::GgmlType;
use crate::units::Bytes;

/// `type_r` and `type_s` of a hybrid model's recurrent memory (llama-model.cpp `create_memory`).
pub const STATE_TYPE: GgmlType = GgmlType::F32;

/// Cells the recurrent memory holds: one per parallel sequence, at least one.
pub fn cells(n_seq: u32) -> u64 {
    u64::from(n_seq.max(1))
}

/// Bytes of one recurrent layer's conv and SSM state for `n_seq` sequences.
pub fn layer_bytes(ssm: &Ssm, n_seq: u32) -> Bytes {
    let c = cells(n_seq);
    let r = STATE_TYPE.bytes_for(ssm.n_embd_r().saturating_mul(c));
    let s = STATE_TYPE.bytes_for(ssm.n_embd_s().saturating_mul(c));
    Bytes(r.saturating_add(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::fixtures::granite_h_tiny;

    #[test]
    fn granite_h_tiny_state_from_its_config() {
        // d_conv 4, d_inner 48 x 64 = 3072, n_group 1, d_state 128:
        // n_embd_r = (4 - 1) x (3072 + 2 x 1 x 128) = 3 x 3328 = 9984,
        // n_embd_s = 128 x 3072 = 393216; F32: (9984 + 393216) x 4 = 1,612,800 bytes per sequence.
        let m = granite_h_tiny();
        let ssm = m.ssm.as_ref().unwrap();
        assert_eq!(ssm.n_embd_r(), 9984);
        assert_eq!(ssm.n_embd_s(), 393_216);
        assert_eq!(layer_bytes(ssm, 1), Bytes(1_612_800));
        // -np 4 holds four states; -np 0 is treated as one sequence, as max(1, n_seq_max) does.
        assert_eq!(layer_bytes(ssm, 4), Bytes(4 * 1_612_800));
        assert_eq!(layer_bytes(ssm, 0), Bytes(1_612_800));
    }

    #[test]
    fn gated_delta_net_state_with_the_converters_mapping() {
        // linear_conv_kernel_dim 4, linear_num_key_heads 16, linear_num_value_heads 32,
        // linear_key_head_dim 128, linear_value_head_dim 128 (the linear_* keys of a public
        // Qwen3NextForCausalLM test config, search-index file id 63122333178), mapped as
        // convert_hf_to_gguf.py Qwen3NextModel does: d_inner = 128 x 32 = 4096.
        // n_embd_r = 3 x (4096 + 2 x 16 x 128) = 24576 (the q, k, v conv history);
        // n_embd_s = 128 x 4096 = 524288 (32 heads of 128 x 128);
        // F32: (24576 + 524288) x 4 = 2,195,456 bytes per sequence.
        let ssm = Ssm {
            d_conv: 4,
            d_inner: 128 * 32,
            d_state: 128,
            n_group: 16,
            n_head: 32,
            conv_bias: false,
            layers: vec![true],
        };
        assert_eq!((ssm.n_embd_r(), ssm.n_embd_s()), (24_576, 524_288));
        assert_eq!(layer_bytes(&ssm, 1), Bytes(2_195_456));
    }
}
