//! KV cache per token for each attention family, derived by hand from the models' public config.json
//! (the catalog files under data/models/), against the memory model.
#![allow(clippy::unwrap_used)]

use headroom_core::memory::kv_cache::{self, KvSettings};
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
