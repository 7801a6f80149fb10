//! llama.cpp's repacked weight copy on the CPU: the `CPU_REPACK` extra buffer.
//!
//! On a CPU, llama.cpp keeps the file-mapped weights (`CPU_Mapped`) and, for the matrix weights
//! its interleaved kernels take, a second copy laid out for them (`ggml-cpu/repack.cpp`,
//! `ggml_repack_get_optimal_repack_type`). On x86 with AVX2 those are Q4_0 (`q4_0_8x8`) and Q4_K
//! (`q4_K_8x8`) matrices whose row count `ne[1]` is a multiple of 8; Q2_K is repacked only with
//! AVX-512 and IQ4_NL only on ARM, so neither is counted here. The buffer takes matrix
//! multiplications (`MUL_MAT`, `MUL_MAT_ID` for experts): the layers' attention, FFN and expert
//! weights and the output head, never the token embeddings (a row lookup). The repacked layout
//! holds the same blocks as the file (`block_q4_0x8` is eight `block_q4_0`), so the copy takes the
//! tensor's stored bytes again. `--no-repack` turns it off. A native build on a CPU with AMX keeps
//! an `AMX` buffer instead, with other rules, which this module does not model.

use crate::quant::{GgmlType, StoredTensor};
use crate::tensors::TensorRole;

/// Whether llama.cpp's x86 (AVX2) CPU backend keeps a repacked copy of `t`.
pub fn repacked_on_x86(t: &StoredTensor) -> bool {
    let matmul = matches!(
        t.role,
        TensorRole::Attn
            | TensorRole::Ffn
            | TensorRole::Experts
            | TensorRole::SharedExperts
            | TensorRole::Output
            // a recurrent layer's in and out projections (Mamba-2 `ssm_in`, `ssm_out`) are
            // matmul weights too; its norms and convolution are F32 and never repacked
            | TensorRole::LayerOther
    );
    let ty = matches!(t.ggml_type, Some(GgmlType::Q4_0 | GgmlType::Q4_K));
    matmul && ty && t.rows > 0 && t.rows % 8 == 0
}

#[cfg(test)]
mod tests {
    use crate::model::ModelSpec;
    use crate::quant::{stored_tensors, GgufMix, Quant, WeightSummary};

    fn qwen3_06b() -> ModelSpec {
        // Qwen/Qwen3-0.6B config.json (https://huggingface.co/Qwen/Qwen3-0.6B/blob/main/config.json):
        // hidden 1024, 28 layers, 16 heads of 128, 8 KV heads, intermediate 3072, vocab 151936,
        // tied embeddings, q/k norms.
        ModelSpec {
            name: "Qwen3-0.6B".into(),
            arch: crate::model::Arch::Other("qwen3".into()),
            n_layer: 28,
            n_embd: 1024,
            n_head: 16,
            n_head_kv: 8,
            head_dim_k: 128,
            head_dim_v: 128,
            n_ff: 3072,
            n_vocab: 151936,
            tied_embeddings: true,
            n_ctx_train: 40960,
            qk_norm: true,
            ..crate::model::fixtures::llama3_8b()
        }
    }

    #[test]
    fn q4_0_repacks_every_layer_matrix() {
        // Per layer: q 2048x1024, k and v 1024x1024 each, o 1024x2048, gate and up 3072x1024,
        // down 1024x3072: 2,097,152 x 3 + 1,048,576 x 2 ... = 15,728,640 weights; x 28 layers =
        // 440,401,920, all Q4_0 (18 bytes per 32) = 247,726,080 bytes = 236.25 MiB. The embeddings
        // (tied, Q6_K in the Q4_0 mix) are not repacked. llama.cpp printed `CPU_REPACK model buffer
        // size = 236.25 MiB` for this file (llamacpp_cpu_buffers_qwen3.csv, build=noamx).
        let m = qwen3_06b();
        let ts = stored_tensors(&m, &Quant::Gguf { mix: GgufMix::Q4_0 });
        let w = WeightSummary::new(m.n_layer, &ts);
        assert_eq!(w.cpu_repack, 440_401_920 / 32 * 18);
        assert_eq!(w.cpu_repack, 247_726_080);
    }

    #[test]
    fn q4_k_m_repacks_its_q4_k_matrices_not_the_q6_k_ones() {
        // Q4_K_M keeps attn_v and ffn_down at Q6_K in 14 of the 28 layers (layers 0-2, 24-27 and
        // every third from 5: llama-quantize's use_more_bits), 14 x (1,048,576 + 3,145,728) =
        // 58,720,256 weights; the other 440,401,920 - 58,720,256 = 381,681,664 are Q4_K (144 bytes
        // per 256) = 214,695,936 bytes = 204.75 MiB, as llama.cpp printed for this file
        // (llamacpp_cpu_buffers_qwen3.csv, Q4_K - Medium, build=noamx: CPU_REPACK=204.75).
        let m = qwen3_06b();
        let ts = stored_tensors(
            &m,
            &Quant::Gguf {
                mix: GgufMix::Q4_K_M,
            },
        );
        let w = WeightSummary::new(m.n_layer, &ts);
        assert_eq!(w.cpu_repack, 381_681_664 / 256 * 144);
    }

    #[test]
    fn q8_0_and_f16_are_not_repacked() {
        // Q8_0 files print no CPU_REPACK buffer (llamacpp_cpu_buffers_qwen3.csv, build=noamx).
        let m = qwen3_06b();
        for mix in [GgufMix::Q8_0, GgufMix::F16] {
            let ts = stored_tensors(&m, &Quant::Gguf { mix });
            assert_eq!(WeightSummary::new(m.n_layer, &ts).cpu_repack, 0, "{mix:?}");
        }
    }
}
