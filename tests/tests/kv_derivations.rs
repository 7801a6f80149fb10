//! KV cache per token for each attention family, derived by hand from the models' public config.json
//! (the catalog files under data/models/), against the memory model.
#![allow(clippy::unwrap_used)]

use headroom_core::memory::kv_cache::{self, KvSettings};
use headroom_core::quant::{stored_tensors, Quant};
use headroom_core::tensors::{n_active_params, n_params, synthesize};
use headroom_core::{Bytes, GgmlType, ModelSpec};
use headroom_data::catalog;

fn spec(id: &str) -> ModelSpec {
    catalog().unwrap().model(id).unwrap().spec.clone()
}

fn check_per_token(id: &str, expected: u64) {
    let got = kv_cache::bytes_per_token(&spec(id), GgmlType::F16, GgmlType::F16);
    assert_eq!(got, Bytes(expected), "{id}");
}

fn total_at(id: &str, n_ctx: u32) -> Bytes {
    let s = KvSettings {
        n_ctx,
        n_seq: 1,
        n_ubatch: 512,
        type_k: GgmlType::F16,
        type_v: GgmlType::F16,
        swa_full: false,
    };
    kv_cache::total(&spec(id), &s)
}

#[test]
fn gqa_dense() {
    // Qwen3-8B: 36 layers x 8 kv heads x head_dim 128 x (K + V) x 2 bytes = 147456 B/token.
    check_per_token("qwen3-8b", 36 * 8 * 128 * 2 * 2);
    // Llama-3.1-8B: 32 x 8 x (4096/32 = 128) x 2 x 2 = 131072.
    check_per_token("llama-3.1-8b", 32 * 8 * 128 * 2 * 2);
    // Llama-2-7B has no GQA: 32 layers x 32 heads x 128 x 2 x 2 = 524288.
    check_per_token("llama-2-7b", 32 * 32 * 128 * 2 * 2);
}

#[test]
fn gqa_moe() {
    // Qwen3-30B-A3B: 48 layers x 4 kv heads x 128 x 2 x 2 = 98304; experts do not change the cache.
    check_per_token("qwen3-30b-a3b", 48 * 4 * 128 * 2 * 2);
    // Mixtral-8x7B: 32 x 8 x 128 x 2 x 2 = 131072.
    check_per_token("mixtral-8x7b", 32 * 8 * 128 * 2 * 2);
}

#[test]
fn mla_caches_the_latent() {
    // DeepSeek-V3: 61 layers x (kv_lora_rank 512 + qk_rope_head_dim 64) x 2 bytes, K only = 70272.
    check_per_token("deepseek-v3", 61 * (512 + 64) * 2);
    // GLM-4.7-Flash: 47 layers x (512 + 64) x 2 = 54144.
    check_per_token("glm-4.7-flash", 47 * (512 + 64) * 2);
}

#[test]
fn sliding_window_layers() {
    // Gemma 3 12B: 48 layers, every 6th global (8 global, 40 local with window 1024); 8 kv heads x
    // head_dim 256 (transformers default) x 2 x 2 = 8192 B per layer per token.
    // Per token beyond the windows: 8 global layers x 8192 = 65536.
    check_per_token("gemma-3-12b", 8 * 8192);
    // At n_ctx 32768 a local layer holds pad(1024 + 512 ubatch, 256) = 1536 cells.
    assert_eq!(
        total_at("gemma-3-12b", 32768),
        Bytes(8 * 32768 * 8192 + 40 * 1536 * 8192)
    );
    // gpt-oss-20b: 24 layers alternating sliding (window 128) and full; 8 kv heads x 64 x 2 x 2 =
    // 2048 B per layer per token; a sliding layer holds pad(128 + 512, 256) = 768 cells.
    check_per_token("gpt-oss-20b", 12 * 2048);
    assert_eq!(
        total_at("gpt-oss-20b", 131072),
        Bytes(12 * 131072 * 2048 + 12 * 768 * 2048)
    );
}

#[test]
fn moe_active_parameters() {
    // Qwen3-30B-A3B per layer: q 2048x4096 + k,v 2 x 2048x512 + o 4096x2048 = 18,874,368;
    // 8 of 128 experts x 3 x 2048x768 = 37,748,736; router 2048x128 = 262,144;
    // norms 2 x 2048 + q/k norms 2 x 128 = 4,352. Per layer 56,889,600 x 48 = 2,730,700,800;
    // plus output 2048 x 151936 = 311,164,928, final norm 2048 and one embedding row 2048:
    // 3,041,869,824 active of 30,532,122,624 in all
    // (all 128 experts: 48 x (18,874,368 + 603,979,776 + 262,144 + 4,352) + 2 x 311,164,928 + 2048).
    let m = spec("qwen3-30b-a3b");
    let ts = synthesize(&m, GgmlType::BF16);
    assert_eq!(n_active_params(&m, &ts), 3_041_869_824);
    assert_eq!(n_params(&ts), 30_532_122_624);
}

#[test]
fn parameter_count_matches_the_published_safetensors_size() {
    // Every catalog model that records model.safetensors.index.json's total_size: BF16 weights are
    // two bytes per parameter, so params x 2 must match within 1%.
    for m in &catalog().unwrap().models {
        let Some(total) = m.record.safetensors_total_bytes else {
            continue;
        };
        let params = n_params(&synthesize(&m.spec, GgmlType::BF16));
        let err = (params as f64 * 2.0 - total as f64).abs() / total as f64;
        assert!(
            err < 0.01,
            "{}: {} params x 2 vs {total} bytes",
            m.record.id,
            params
        );
    }
}

#[test]
fn phi_fuses_qkv_and_gate_up() {
    // Phi-4 config: hidden 5120, 40 layers, 40 heads, 10 kv heads (head_dim 128), intermediate 17920,
    // vocab 100352, untied. Embeddings 2 x 100352 x 5120 = 1,027,604,480; per layer fused qkv
    // 5120 x (5120 + 2 x 1280) = 39,321,600, output 26,214,400, fused gate-up 5120 x 35840 =
    // 183,500,800, down 91,750,400, two norms 10,240: 340,797,440 x 40 = 13,631,897,600; final norm
    // 5120. Total 14,659,507,200.
    let m = spec("phi-4");
    let ts = synthesize(&m, GgmlType::BF16);
    assert_eq!(n_params(&ts), 14_659_507_200);
    assert!(ts.iter().any(|t| t.name == "blk.0.attn_qkv.weight"));
}

/// Parameters of a catalog vision tower as the mmproj holds them.
fn tower_params(id: &str) -> u64 {
    let t = catalog()
        .unwrap()
        .model(id)
        .unwrap()
        .vision
        .clone()
        .unwrap();
    headroom_core::memory::projector::tensors(&t, GgmlType::F16)
        .iter()
        .map(|t| t.n_elements())
        .sum()
}

#[test]
fn qwen3_2507_and_the_r1_distill_are_qwen3_shapes() {
    // Qwen3-4B-Instruct-2507: 36 layers, hidden 2560, 32 query heads x 128 (4096), 8 KV heads,
    // FFN 9728, vocabulary 151936, tied. Per layer: norms 2 x 2560; q 2560 x 4096 = 10,485,760;
    // k, v 2560 x 1024 = 2,621,440 each; o 10,485,760; q/k norms 2 x 128; gate, up, down
    // 3 x 2560 x 9728 = 74,711,040 -> 100,930,816; x 36 = 3,633,509,376; embeddings
    // 151936 x 2560 = 388,956,160 (tied, no output matrix); output norm 2560. 4,022,468,096.
    let m = spec("qwen3-4b-instruct-2507");
    assert_eq!(n_params(&synthesize(&m, GgmlType::BF16)), 4_022_468_096);
    // KV: 36 layers x 8 heads x 128 x (K + V) x 2 bytes = 147,456 per token.
    check_per_token("qwen3-4b-instruct-2507", 36 * 8 * 128 * 2 * 2);
    // DeepSeek-R1-0528-Qwen3-8B: Qwen3-8B's shapes (36 x 4096, 32/8 heads, FFN 12288, untied).
    // Per layer: norms 8,192; q, o 4096^2 = 16,777,216 each; k, v 4096 x 1024 = 4,194,304 each;
    // q/k norms 256; FFN 3 x 4096 x 12288 = 150,994,944 -> 192,946,432; x 36 = 6,946,071,552;
    // embeddings and output 2 x 151936 x 4096 = 1,244,659,712; output norm 4096. 8,190,735,360.
    let m = spec("deepseek-r1-0528-qwen3-8b");
    assert_eq!(n_params(&synthesize(&m, GgmlType::BF16)), 8_190_735_360);
    check_per_token("deepseek-r1-0528-qwen3-8b", 36 * 8 * 128 * 2 * 2);
    // Its YaRN factor 4 on 32768 gives the config's 131072 trained context.
    assert_eq!(m.n_ctx_train, 131_072);
}

#[test]
fn qwen3_vl_language_model_and_tower_add_up_to_the_checkpoint() {
    // Qwen3-VL-8B's text_config is Qwen3-8B's shapes (see above): 8,190,735,360 parameters.
    let m = spec("qwen3-vl-8b");
    assert_eq!(m.arch, headroom_core::model::Arch::Qwen3);
    assert_eq!(n_params(&synthesize(&m, GgmlType::BF16)), 8_190_735_360);
    check_per_token("qwen3-vl-8b", 36 * 8 * 128 * 2 * 2);
    // The public model report of Qwen3-VL-8B-Instruct (search-index file id 62543607479) counts
    // 8,767,123,696 parameters in its safetensors; the vision tower is the rest, 576,388,336.
    assert_eq!(tower_params("qwen3-vl-8b"), 8_767_123_696 - 8_190_735_360);
    // Qwen3-VL-30B-A3B's text model is Qwen3-30B-A3B's (30,532,122,624, 3,041,869,824 active,
    // derived in moe_active_parameters); its report (file id 62501178117) counts 31,070,754,032.
    let m = spec("qwen3-vl-30b-a3b");
    let ts = synthesize(&m, GgmlType::BF16);
    assert_eq!(n_params(&ts), 30_532_122_624);
    assert_eq!(n_active_params(&m, &ts), 3_041_869_824);
    assert_eq!(
        tower_params("qwen3-vl-30b-a3b"),
        31_070_754_032 - 30_532_122_624
    );
    // KV: 48 layers x 4 KV heads x 128 x 2 x 2 = 98,304 per token.
    check_per_token("qwen3-vl-30b-a3b", 48 * 4 * 128 * 2 * 2);
}

#[test]
fn qwen2_5_vl_language_model_is_qwen2_with_biases() {
    // Qwen2.5-VL-7B: 28 layers, hidden 3584, 28 query heads x 128, 4 KV heads, FFN 18944,
    // vocabulary 152064, untied, Q/K/V biases. Per layer: norms 2 x 3584; q 3584^2 + 3584 =
    // 12,848,640; k, v 3584 x 512 + 512 = 1,835,520 each; o 12,845,056; FFN 3 x 3584 x 18944 =
    // 203,685,888 -> 233,057,792; x 28 = 6,525,618,176; embeddings and output
    // 2 x 152064 x 3584 = 1,089,994,752; output norm 3584. 7,615,616,512.
    let m = spec("qwen2.5-vl-7b");
    assert!(m.attn_bias);
    assert_eq!(n_params(&synthesize(&m, GgmlType::BF16)), 7_615_616_512);
    // KV: 28 layers x 4 heads x 128 x 2 x 2 = 57,344 per token.
    check_per_token("qwen2.5-vl-7b", 28 * 4 * 128 * 2 * 2);
}

#[test]
fn qwen3_next_caches_only_its_attention_layers_and_keeps_a_recurrent_state() {
    // Qwen3-Next-80B-A3B-Instruct's config.json: 48 layers, full_attention_interval 4, so
    // llama.cpp (src/models/qwen3next.cpp load_arch_hparams) makes layers 3, 7, ..., 47
    // attention and the other 36 gated delta net layers.
    let m = spec("qwen3-next-80b-a3b");
    assert_eq!(m.arch, headroom_core::model::Arch::Qwen3Next);
    let attention: Vec<u32> = (0..48).filter(|&il| !m.is_recurrent_layer(il)).collect();
    assert_eq!(attention, (0..12).map(|i| 4 * i + 3).collect::<Vec<u32>>());
    // KV cache: the 12 attention layers only, 2 KV heads x head_dim 256 x (K + V) x 2 bytes =
    // 2,048 B per layer, 24,576 B per token.
    check_per_token("qwen3-next-80b-a3b", 12 * 2 * 256 * 2 * 2);
    // Recurrent state per gated delta net layer and sequence (llama-hparams.cpp n_embd_r,
    // n_embd_s; F32 as llama-model.cpp create_memory gives a hybrid model): conv
    // (4 - 1) x (4096 + 2 x 16 x 128) = 24,576 and SSM 128 x 4096 = 524,288 elements,
    // (24,576 + 524,288) x 4 = 2,195,456 B; the cache at 32,768 tokens for one sequence is the
    // attention layers' 12 x 32,768 x 2,048 plus 36 x 2,195,456, whatever the context.
    let ssm = m.ssm.as_ref().unwrap();
    assert_eq!(
        headroom_core::memory::recurrent_state::layer_bytes(ssm, 1),
        Bytes(2_195_456)
    );
    assert_eq!(
        total_at("qwen3-next-80b-a3b", 32768),
        Bytes(12 * 32768 * 2048 + 36 * 2_195_456)
    );
    // Parameters as llama.cpp loads them (qwen3next.cpp load_arch_tensors; the converter drops
    // the MTP block): embeddings and output 2 x 151936 x 2048 = 622,329,856 and output norm 2048;
    // per layer two norms 4,096, router 2048 x 512 = 1,048,576, 512 experts 3 x 2048 x 512 x 512
    // = 1,610,612,736, shared expert 3 x 2048 x 512 = 3,145,728 and its gate 2048: 1,614,813,184;
    // attention layer q (with gate) 2048 x 8192 = 16,777,216, k and v 2048 x 512 each, o 4096 x
    // 2048 = 8,388,608, q/k norms 2 x 256: 27,263,488; gated delta net layer qkv 2048 x 8192,
    // gate 2048 x 4096, conv 4 x 8192 = 32,768, dt bias and A 2 x 32, beta/alpha 2048 x 64 =
    // 131,072, norm 128, out 4096 x 2048: 33,718,464. 48 x 1,614,813,184 + 12 x 27,263,488 +
    // 36 x 33,718,464 + 622,331,904 = 79,674,391,296, the public report's 81,324,862,720
    // safetensors parameters (search-index file id 62751147890) less its MTP block's
    // 1,650,471,424 (fc 2048 x 4096, five norms, one attention and one MoE layer as above).
    let ts = synthesize(&m, GgmlType::BF16);
    let dims = |name: &str| ts.iter().find(|t| t.name == name).map(|t| t.dims.clone());
    assert_eq!(dims("blk.0.attn_qkv.weight"), Some(vec![2048, 8192]));
    assert_eq!(dims("blk.0.attn_gate.weight"), Some(vec![2048, 4096]));
    assert_eq!(dims("blk.0.ssm_ba.weight"), Some(vec![2048, 64]));
    assert_eq!(dims("blk.0.ssm_conv1d.weight"), Some(vec![4, 8192]));
    assert_eq!(dims("blk.0.attn_q.weight"), None);
    assert_eq!(dims("blk.3.attn_q.weight"), Some(vec![2048, 8192]));
    assert_eq!(dims("blk.3.attn_qkv.weight"), None);
    assert_eq!(dims("blk.3.ffn_gate_inp_shexp.weight"), Some(vec![2048]));
    assert_eq!(dims("blk.3.post_attention_norm.weight"), Some(vec![2048]));
    assert_eq!(n_params(&ts), 79_674_391_296);
    assert_eq!(n_params(&ts), 81_324_862_720 - 1_650_471_424);
    // Weights at Q8_0: every quantized matrix at 34 bytes per 32 (79,622,569,984 elements), the
    // norms, routers, shared-expert gates, conv kernels, dt biases and A in F32 (51,821,312
    // elements): 84,598,980,608 + 207,285,248 = 84,806,265,856 bytes.
    let q8: u64 = stored_tensors(&m, &Quant::parse("Q8_0").unwrap())
        .iter()
        .map(|t| t.bytes)
        .sum();
    assert_eq!(q8, 79_622_569_984 / 32 * 34 + 51_821_312 * 4);
    assert_eq!(q8, 84_806_265_856);
}

#[test]
fn granite_4_0_h_1b_caches_four_attention_layers() {
    // Granite-4.0-H-1B: 40 layers, attention at 5, 15, 25 and 35 (layer_types), Mamba-2 in the
    // other 36. KV: 4 layers x 4 KV heads x (1536 / 12 = 128) x 2 x 2 = 8,192 B per token.
    check_per_token("granite-4.0-h-1b", 4 * 4 * 128 * 2 * 2);
    // Each Mamba-2 layer's state (d_inner = mamba_expand 2 x 1536 = 3072, 1 group, d_state 128,
    // d_conv 4): conv 3 x (3072 + 2 x 128) = 9,984 and SSM 128 x 3072 = 393,216 elements,
    // x 4 bytes = 1,612,800 B per sequence; at 32,768 tokens the cache is
    // 4 x 32,768 x 2,048 + 36 x 1,612,800.
    assert_eq!(
        total_at("granite-4.0-h-1b", 32768),
        Bytes(4 * 32768 * 2048 + 36 * 1_612_800)
    );
}

#[test]
fn the_2025_26_catalog_additions_cache_as_their_configs_say() {
    // Kimi K2 Instruct (kimi_k2, DeepSeek-V3 layout): 61 MLA layers caching kv_lora_rank 512 +
    // qk_rope_head_dim 64 at 2 bytes = 70,272 B per token.
    check_per_token("kimi-k2", 61 * (512 + 64) * 2);
    let k = spec("kimi-k2");
    assert_eq!(k.arch, headroom_core::model::Arch::Deepseek2);
    assert_eq!(k.moe.map(|e| (e.n_expert, e.n_dense_lead)), Some((384, 1)));
    // MiniMax M2.7: 62 layers x 8 KV heads x head_dim 128 x (K + V) x 2 bytes = 253,952.
    check_per_token("minimax-m2.7", 62 * 8 * 128 * 2 * 2);
    // QwQ-32B: 64 layers x 8 KV heads x (5120 / 40 = 128) x 2 x 2 = 262,144 B per token.
    check_per_token("qwq-32b", 64 * 8 * 128 * 2 * 2);
    // Its parameters: embeddings and output 2 x 152064 x 5120 = 1,557,135,360; per layer norms
    // 2 x 5120, q 5120^2 + 5120, k and v 5120 x 1024 + 1024 each, o 5120^2, FFN 3 x 5120 x
    // 27648 = 487,605,248; x 64 = 31,206,735,872; output norm 5120. 32,763,876,352, the count
    // the public report of its safetensors gives (search-index file id 63012281180).
    assert_eq!(
        n_params(&synthesize(&spec("qwq-32b"), GgmlType::BF16)),
        32_763_876_352
    );
    // SmolLM3-3B: 36 layers x 4 KV heads x (2048 / 16 = 128) x 2 x 2 = 73,728 B per token.
    check_per_token("smollm3-3b", 36 * 4 * 128 * 2 * 2);
    // Gemma 3 270M: 18 layers, full attention at 5, 11 and 17 (layer_types), the other 15
    // sliding over 512 tokens; 1 KV head x head_dim 256 x 2 x 2 = 1,024 B per layer per token.
    // Per token beyond the windows: 3 x 1,024 = 3,072. At 32,768 tokens a sliding layer holds
    // pad(512 + 512 ubatch, 256) = 1,024 cells.
    check_per_token("gemma-3-270m", 3 * 1024);
    assert_eq!(
        total_at("gemma-3-270m", 32768),
        Bytes(3 * 32768 * 1024 + 15 * 1024 * 1024)
    );
    // Its parameters: tied embeddings 262144 x 640 = 167,772,160; per layer four norms 4 x 640,
    // q 640 x 1024 = 655,360, k and v 640 x 256 each, o 1024 x 640, q/k norms 2 x 256, FFN
    // 3 x 640 x 2048 = 3,932,160: 5,573,632; x 18 = 100,325,376; output norm 640. 268,098,176
    // (Google's "170M embedding + 100M transformer").
    assert_eq!(
        n_params(&synthesize(&spec("gemma-3-270m"), GgmlType::BF16)),
        268_098_176
    );
}

/// LiquidAI/LFM2.5-1.2B-Base's config.json as a public architecture write-up reproduces it
/// (search-index file id 54373641805: its JSON and its layer layout, attention at 2, 5, 8, 10,
/// 12 and 14); `layer_types` is that layout.
const LFM2_5_1_2B_BASE: &str = r#"{
  "model_type": "lfm2", "architectures": ["Lfm2ForCausalLM"],
  "hidden_size": 2048, "intermediate_size": 12288, "num_hidden_layers": 16,
  "num_attention_heads": 32, "num_key_value_heads": 8, "vocab_size": 65536,
  "max_position_embeddings": 128000, "rope_theta": 1000000.0, "conv_L_cache": 3,
  "conv_bias": false, "block_auto_adjust_ff_dim": true, "block_use_swiglu": true,
  "norm_eps": 1e-05, "tie_embedding": true, "dtype": "bfloat16",
  "layer_types": ["conv", "conv", "full_attention", "conv", "conv", "full_attention", "conv",
    "conv", "full_attention", "conv", "full_attention", "conv", "full_attention", "conv",
    "full_attention", "conv"]
}"#;

#[test]
fn lfm2_caches_its_attention_layers_and_keeps_a_conv_state_per_sequence() {
    let m = headroom_formats::hf_config::parse(LFM2_5_1_2B_BASE)
        .unwrap()
        .spec;
    assert_eq!(m.arch, headroom_core::model::Arch::Lfm2);
    // convert_hf_to_gguf.py LFM2Model: int(2 x 12288 / 3) = 8192, x 1.0, a multiple of 256
    assert_eq!(m.n_ff, 8192);
    let attention: Vec<u32> = (0..16).filter(|&il| !m.is_recurrent_layer(il)).collect();
    assert_eq!(attention, vec![2, 5, 8, 10, 12, 14]);
    // KV: 6 attention layers x 8 KV heads x (2048 / 32 = 64) x (K + V) x 2 bytes = 12,288 B a
    // token.
    let per_token = kv_cache::bytes_per_token(&m, GgmlType::F16, GgmlType::F16);
    assert_eq!(per_token, Bytes(6 * 8 * 64 * 2 * 2));
    // Each short-conv layer's state (llama-hparams.cpp n_embd_r: n_embd x (L_cache - 1) =
    // 2048 x 2 = 4,096 elements, F32, no SSM state) is 16,384 B per sequence. At 4,096 tokens
    // with two sequences (-np 2: llama.cpp's recurrent memory holds max(1, n_seq) cells) the
    // cache is 6 x 4,096 x 2,048 + 10 x 2 x 16,384.
    let ssm = m.ssm.as_ref().unwrap();
    assert_eq!((ssm.n_embd_r(), ssm.n_embd_s()), (4096, 0));
    assert_eq!(
        headroom_core::memory::recurrent_state::layer_bytes(ssm, 1),
        Bytes(16_384)
    );
    let s = KvSettings {
        n_ctx: 4096,
        n_seq: 2,
        n_ubatch: 512,
        type_k: GgmlType::F16,
        type_v: GgmlType::F16,
        swa_full: false,
    };
    assert_eq!(
        kv_cache::total(&m, &s),
        Bytes(6 * 4096 * 2048 + 10 * 2 * 16_384)
    );
    // Parameters as src/models/lfm2.cpp load_arch_tensors lays them out: embeddings (tied)
    // 65536 x 2048 = 134,217,728 and the final norm 2048; per layer two norms 4,096 and the
    // SwiGLU FFN 3 x 2048 x 8192 = 50,331,648; a conv layer's kernel 3 x 2048 = 6,144, in_proj
    // 2048 x 6144 = 12,582,912 and out_proj 2048 x 2048 = 4,194,304: 16,783,360; an attention
    // layer's q and o 2 x 4,194,304, k and v 2 x 2048 x 512, q/k norms 2 x 64: 10,485,888.
    // 134,219,776 + 16 x 50,335,744 + 10 x 16,783,360 + 6 x 10,485,888 = 1,170,340,608, the
    // "~1.17 billion" the write-up gives.
    let ts = synthesize(&m, GgmlType::BF16);
    let dims = |name: &str| ts.iter().find(|t| t.name == name).map(|t| t.dims.clone());
    assert_eq!(dims("blk.0.shortconv.conv.weight"), Some(vec![3, 2048]));
    assert_eq!(
        dims("blk.0.shortconv.in_proj.weight"),
        Some(vec![2048, 6144])
    );
    assert_eq!(dims("blk.0.attn_q.weight"), None);
    assert_eq!(dims("blk.2.attn_k.weight"), Some(vec![2048, 512]));
    assert_eq!(dims("blk.2.shortconv.conv.weight"), None);
    assert_eq!(dims("token_embd_norm.weight"), Some(vec![2048]));
    assert_eq!(dims("output.weight"), None);
    assert_eq!(n_params(&ts), 1_170_340_608);
    // llama-quantize keeps the conv kernels in F32 (llama-quant.cpp: `shortconv.conv.weight`)
    let q8 = stored_tensors(&m, &Quant::parse("Q8_0").unwrap());
    let conv = q8
        .iter()
        .find(|t| t.name == "blk.0.shortconv.conv.weight")
        .unwrap();
    assert_eq!(conv.bytes, 3 * 2048 * 4);
    // the catalog's LFM2.5 1.2B (a fine-tune's verbatim config with the same shapes) agrees
    let c = spec("lfm2.5-1.2b");
    assert_eq!(
        (c.n_ff, c.n_ctx_train, c.tied_embeddings),
        (8192, 128000, true)
    );
    assert_eq!(c.ssm, m.ssm);
    check_per_token("lfm2.5-1.2b", 6 * 8 * 64 * 2 * 2);
    assert_eq!(n_params(&synthesize(&c, GgmlType::BF16)), 1_170_340_608);
}
