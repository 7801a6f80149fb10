//! The vision projector at the command line: `inspect` of an mmproj GGUF, `fit --mmproj` and its
//! column in the text table, and an mmproj given where a language model belongs.
#![allow(clippy::unwrap_used)]

mod common;
use common::{fixture, headroom, json};

#[test]
fn inspect_says_an_mmproj_is_one() {
    // tests/fixtures/formats/tiny-qwen3vl-mmproj-f16.gguf, written by write_mmproj.py from
    // tiny-qwen3vl-mmproj.json: a 2-layer Qwen3-VL tower 64 wide (MLP 128), patch 16, 16
    // positions, 2x2 merge (256), one deepstack merger, writing 32 wide. At F16, by hand:
    //   per layer: ln1, ln2 (w + b) 1,024; qkv 64 x 192 x 2 + 192 x 4 = 25,344;
    //   out 8,192 + 256; up 16,384 + 512; down 16,384 + 256  -> 68,352, x 2 = 136,704
    //   patch_embd 2 x 16 x 16 x 3 x 64 x 2 = 196,608 + bias 256; position 16 x 64 x 4 = 4,096;
    //   post_ln 512; mm.0 256 x 256 x 2 + 1,024 = 132,096; mm.2 256 x 32 x 2 + 128 = 16,512;
    //   deepstack: norm 2,048 + fc1 132,096 + fc2 16,512 = 150,656.      Total 637,440.
    // Compute buffer (Qwen3-VL's measured form, memory/projector.rs): warmup 46 x 16 x 2 = 1472 px,
    // 92 x 92 = 8464 patches: image 1472^2 x 3 x 4 = 26,001,408 + positions 8464 x 16 = 135,424
    // + 9 x 8464 x 64 x 4 = 19,501,056 -> 45,637,888.
    let v = json(&[
        "inspect",
        &fixture("tiny-qwen3vl-mmproj-f16.gguf"),
        "--json",
    ]);
    assert_eq!(v["kind"], "mmproj");
    assert_eq!(v["projector_type"], "qwen3vl_merger");
    assert_eq!(v["stored_bytes"], 637_440);
    assert_eq!(v["tower"]["n_deepstack"], 1);
    assert_eq!(v["compute_buffer_bytes"], 45_637_888);
    let (code, out, err) = headroom(&["inspect", &fixture("tiny-qwen3vl-mmproj-f16.gguf")]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("mmproj (vision projector `qwen3vl_merger`)"),
        "{out}"
    );
}

#[test]
fn an_mmproj_given_as_the_model_is_refused_by_name() {
    let (code, _, err) = headroom(&[
        "fit",
        "-m",
        &fixture("tiny-qwen3vl-mmproj-f16.gguf"),
        "--hardware",
        "rtx-4090",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("is an mmproj"), "{err}");
    assert!(err.contains("--mmproj"), "{err}");
}

#[test]
fn fit_mmproj_adds_the_projector_on_the_first_gpu() {
    let base = [
        "fit",
        "-m",
        "qwen3-vl-8b",
        "--hardware",
        "rtx-4090",
        "-q",
        "Q4_K_M",
        "--json",
    ];
    let without = json(&base);
    let mut args = base.to_vec();
    args.push("--mmproj");
    let with = json(&args);
    // The JSON term: the Qwen3-VL-8B tower's F16 weights (1,159,009,216, derived by hand in
    // tests/tests/projector.rs) and its clip compute buffer: 1472 px warmup, 8464 patches,
    // 26,001,408 + 135,424 + 9 x 8464 x 1152 x 4 = 351,019,008 -> 377,155,840.
    let gpu = &with["devices"][0]["breakdown"];
    assert_eq!(gpu["projector"], 1_159_009_216u64 + 377_155_840);
    assert!(without["devices"][0]["breakdown"]
        .get("projector")
        .is_none());
    let total = |v: &serde_json::Value| v["devices"][0]["total_bytes"].as_u64().unwrap();
    assert_eq!(total(&with) - total(&without), 1_159_009_216 + 377_155_840);
    // --no-mmproj-offload keeps it in system RAM instead.
    args.push("--no-mmproj-offload");
    let host = json(&args);
    assert_eq!(
        host["host_breakdown"]["projector"],
        1_159_009_216u64 + 377_155_840
    );
    assert!(host["devices"][0]["breakdown"].get("projector").is_none());
}

#[test]
fn fit_text_shows_the_mmproj_column() {
    let (code, out, err) = headroom(&[
        "fit",
        "-m",
        "qwen3-vl-8b",
        "--hardware",
        "rtx-4090",
        "-q",
        "Q4_K_M",
        "--mmproj",
    ]);
    assert_eq!(code, 0, "{err}");
    // The memory part of the answer; the speed lines below it follow the speed fit.
    let memory: String = out
        .lines()
        .take_while(|l| !l.starts_with("speed"))
        .map(|l| format!("{l}\n"))
        .collect();
    insta::assert_snapshot!("fit_qwen3_vl_8b_mmproj", memory);
}
