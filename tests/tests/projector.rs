//! The vision projector (`mmproj`): its weights derived by hand from the catalog configs'
//! `vision_config`, and its weights and clip compute buffer against what llama-mtmd-cli printed
//! for random-weight mmproj files of the same towers (tests/fixtures/ground-truth/mmproj/, written
//! by scripts/ground-truth/mmproj_memory.sh; each log names the command that made it).
#![allow(clippy::unwrap_used, clippy::panic)]

use headroom_core::memory::projector::{self, VisionTower};
use headroom_core::{Bytes, GgmlType};
use headroom_data::catalog;

fn tower(id: &str) -> VisionTower {
    catalog()
        .unwrap()
        .model(id)
        .unwrap()
        .vision
        .clone()
        .unwrap()
}

#[test]
fn gemma3_mmproj_weights_by_hand() {
    // google/gemma-3-12b-it vision_config: 27 layers, hidden 1152, MLP 4304, patch 14, image 896;
    // text hidden_size 3840. convert_hf_to_gguf --mmproj at F16, per layer:
    //   ln1, ln2 weight + bias (f32): 4 x 1152 x 4                              =     18,432
    //   attn q, k, v, out: 4 x (1152 x 1152 x 2 + 1152 x 4 bias)                 = 10,635,264
    //   ffn_up 4304 x 1152 x 2 + 4304 x 4; ffn_down 1152 x 4304 x 2 + 1152 x 4  = 19,854,656
    //   = 30,508,352 per layer, x 27                                             = 823,725,504
    // patch_embd 14 x 14 x 3 x 1152 f32 2,709,504 + bias 4,608; position (896/14)^2 = 4096
    // x 1152 f32 18,874,368; post_ln 9,216; input_projection 1152 x 3840 f16 8,847,360;
    // soft_emb_norm 4,608. Total 854,175,168.
    assert_eq!(
        projector::weight_bytes(&tower("gemma-3-12b"), GgmlType::F16),
        Bytes(854_175_168)
    );
}

#[test]
fn qwen3_vl_mmproj_weights_by_hand() {
    // Qwen/Qwen3-VL-8B-Instruct vision_config: depth 27, hidden 1152, MLP 4304, patch 16,
    // 2304 positions, merge 2 (merged width 4 x 1152 = 4608), deepstack [8, 16, 24], out 4096.
    // Per layer: ln1, ln2 weight + bias 18,432; fused qkv 1152 x 3456 x 2 + 3456 x 4 = 7,976,448;
    // attn_out 2,654,208 + 4,608; ffn_up 9,916,416 + 17,216; ffn_down 9,916,416 + 4,608
    //   = 30,508,352, x 27 = 823,725,504.
    // Two temporal patch_embd slices 2 x 16 x 16 x 3 x 1152 x 2 = 3,538,944 + bias 4,608;
    // position 2304 x 1152 f32 10,616,832; post_ln 9,216; merger mm.0 4608 x 4608 x 2 + 4608 x 4
    // = 42,485,760, mm.2 4608 x 4096 x 2 + 4096 x 4 = 37,765,120; each deepstack merger: norm
    // 2 x 4608 x 4 = 36,864 + fc1 42,485,760 + fc2 37,765,120 = 80,287,744, x 3 = 240,863,232.
    // Total 1,159,009,216.
    assert_eq!(
        projector::weight_bytes(&tower("qwen3-vl-8b"), GgmlType::F16),
        Bytes(1_159_009_216)
    );
    // Qwen3-VL-30B-A3B has the same tower writing 2048 wide: mm.2 and each fc2 lose
    // 4608 x 2048 x 2 + 2048 x 4 = 18,882,560 bytes, four times: 1,159,009,216 - 75,530,240.
    assert_eq!(
        projector::weight_bytes(&tower("qwen3-vl-30b-a3b"), GgmlType::F16),
        Bytes(1_159_009_216 - 75_530_240)
    );
}

/// The number printed after `key` on the first line holding it, in MiB.
fn printed_mib(log: &str, key: &str) -> f64 {
    let line = log
        .lines()
        .find(|l| l.contains(key))
        .unwrap_or_else(|| panic!("no `{key}` line"));
    let after = &line[line.find(key).unwrap() + key.len()..];
    let num: String = after
        .trim_start_matches([' ', '='])
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    num.parse().unwrap()
}

/// A measured run: the catalog tower, with the projector's output width the log's file used.
fn measured(id: &str, n_embd_text: u32) -> (VisionTower, f64, f64) {
    let path = format!(
        "{}/fixtures/ground-truth/mmproj/{id}.log",
        env!("CARGO_MANIFEST_DIR")
    );
    let log = std::fs::read_to_string(&path).unwrap();
    assert!(
        log.contains(&format!("--n-embd-text {n_embd_text}")),
        "{path} was made with another width"
    );
    let t = VisionTower {
        n_embd_text,
        ..tower(id)
    };
    let weights = printed_mib(&log, "load_hparams: model size:");
    let compute = printed_mib(&log, "CPU compute buffer size");
    (t, weights, compute)
}

#[test]
fn projector_memory_against_llama_mtmd_cli() {
    // (tower, width the file was written with, compute-buffer tolerance in MiB)
    let cases: [(&str, u32, f64); 4] = [
        ("gemma-3-12b", 1152, 0.01),
        ("qwen3-vl-4b", 256, 0.01),
        ("qwen3-vl-8b", 256, 0.01),
        // Qwen2.5-VL's peak is modelled by phases; 713.43 MiB against 704.79 printed (+1.2%).
        ("qwen2.5-vl-7b", 896, 704.79 * 0.015),
    ];
    for (id, width, tol) in cases {
        let (t, weights, compute) = measured(id, width);
        let w = projector::weight_bytes(&t, GgmlType::F16).as_mib();
        // clip prints two decimals: the weights agree to the printed digit.
        assert!(
            (w - weights).abs() < 0.006,
            "{id}: weights {w:.3} MiB, printed {weights}"
        );
        let c = projector::compute_buffer(&t).as_mib();
        assert!(
            (c - compute).abs() <= tol.max(0.006),
            "{id}: compute buffer {c:.3} MiB, printed {compute}"
        );
    }
}
