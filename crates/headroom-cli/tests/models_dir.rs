//! `plan --models-dir` and `inspect DIR` over fake LM Studio, Ollama and Hugging Face cache
//! layouts built in a temporary folder from the fixtures in `tests/fixtures/formats/`.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;
mod common;

use common::{fixture, headroom};
fn put(path: &Path, bytes: &[u8]) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, bytes).unwrap();
}

fn copy(name: &str, to: &Path) {
    put(to, &std::fs::read(fixture(name)).unwrap());
}

/// A llama config with the tiny GGUF's shapes (256 wide, 4 heads, 2 KV heads, FFN 512, 2 layers).
const CONFIG: &str = r#"{"model_type": "llama", "architectures": ["LlamaForCausalLM"],
  "hidden_size": 256, "num_hidden_layers": 2, "num_attention_heads": 4,
  "num_key_value_heads": 2, "intermediate_size": 512, "vocab_size": 128,
  "max_position_embeddings": 2048, "rms_norm_eps": 1e-5, "torch_dtype": "bfloat16"QUANT}"#;

const HEX: &str = "1111111111111111111111111111111111111111111111111111111111111111";

/// Every layout under one root: LM Studio's, Ollama's, the Hugging Face cache, an MLX folder,
/// a broken GGUF, a non-model file, and (on Unix) a folder link back to the root.
fn layouts(root: &Path) {
    let lms = root.join("lmstudio/models");
    copy(
        "tiny-llama-q4_k_m.gguf",
        &lms.join("acme/tiny-GGUF/tiny-llama-q4_k_m.gguf"),
    );
    put(&lms.join("acme/tiny-GGUF/README.md"), b"# not a model");
    put(
        &lms.join("acme/broken-GGUF/broken.gguf"),
        b"GGUF\x03\x00\x00\x00\xff\xff",
    );

    let ol = root.join("ollama/models");
    let manifest = format!(
        r#"{{"schemaVersion":2,"layers":[
        {{"mediaType":"application/vnd.ollama.image.template","digest":"sha256:{}","size":5}},
        {{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:{HEX}","size":9}}]}}"#,
        "2".repeat(64)
    );
    put(
        &ol.join("manifests/registry.ollama.ai/library/tinymoe/q8"),
        manifest.as_bytes(),
    );
    copy(
        "tiny-qwen3moe-q8_0.gguf",
        &ol.join(format!("blobs/sha256-{HEX}")),
    );
    put(
        &ol.join("manifests/registry.ollama.ai/library/bad/latest"),
        b"{}",
    );

    let hf = root.join("hf/hub/models--org--tiny-llama");
    let cfg = CONFIG.replace("QUANT", "");
    put(&hf.join("blobs/abc"), cfg.as_bytes());
    let snap = hf.join("snapshots/0123abcd");
    std::fs::create_dir_all(&snap).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink("../../blobs/abc", snap.join("config.json")).unwrap();
    #[cfg(not(unix))]
    put(&snap.join("config.json"), cfg.as_bytes());

    let mlx = CONFIG.replace(
        "QUANT",
        r#", "quantization": {"group_size": 64, "bits": 4}"#,
    );
    put(
        &root.join("mlx/tiny-llama-4bit/config.json"),
        mlx.as_bytes(),
    );

    #[cfg(unix)]
    std::os::unix::fs::symlink(root, root.join("lmstudio/loop")).unwrap();
}

#[test]
fn inspect_finds_and_names_every_model_and_reports_the_broken_one() {
    let tmp = tempfile::tempdir().unwrap();
    layouts(tmp.path());
    let dir = tmp.path().to_str().unwrap();
    let (code, out, err) = headroom(&["inspect", dir, "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let names: Vec<&str> = v["models"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["name"].as_str().unwrap())
        .collect();
    // path order: hf/, lmstudio/, mlx/, ollama/; each once, the link loop not followed
    assert_eq!(
        names,
        [
            "org/tiny-llama",
            "lmstudio/models/acme/tiny-GGUF/tiny-llama-q4_k_m.gguf",
            "mlx/tiny-llama-4bit",
            "tinymoe:q8",
        ],
        "{out}"
    );
    let models = v["models"].as_array().unwrap();
    assert_eq!(models[1]["stored_as"], "Q4_K_M");
    assert_eq!(models[3]["arch"], "qwen3moe");
    assert_eq!(models[2]["stored_as"], "mlx-4bit-g64");
    let warnings = v["warnings"].to_string();
    assert!(warnings.contains("broken.gguf"), "{warnings}");
    assert!(warnings.contains("library/bad/latest"), "{warnings}");

    let (code, out, err) = headroom(&["inspect", dir]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out.lines().filter(|l| !l.starts_with("warning:")).count(),
        4,
        "{out}"
    );
    assert!(out.contains("tinymoe:q8: qwen3moe"), "{out}");
    assert!(
        out.contains("warning: ") && out.contains("broken.gguf"),
        "{out}"
    );
}

#[test]
fn plan_ranks_the_models_the_user_has() {
    let tmp = tempfile::tempdir().unwrap();
    layouts(tmp.path());
    let dir = tmp.path().to_str().unwrap();
    let (code, out, err) = headroom(&[
        "plan",
        "--hardware",
        "rtx-4090",
        "--models-dir",
        dir,
        "--json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["model"].as_str().unwrap())
        .collect();
    names.sort_unstable();
    // tiny models all fit a 24 GB card
    assert_eq!(
        names,
        [
            "lmstudio/models/acme/tiny-GGUF/tiny-llama-q4_k_m.gguf",
            "mlx/tiny-llama-4bit",
            "org/tiny-llama",
            "tinymoe:q8",
        ],
        "{out}"
    );
    assert!(err.contains("broken.gguf"), "{err}");

    let (code, out, err) = headroom(&["plan", "--hardware", "rtx-4090", "--models-dir", dir]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("tinymoe:q8"), "{out}");
    assert!(
        out.contains("warning: ") && out.contains("broken.gguf"),
        "{out}"
    );
}

#[test]
fn a_missing_folder_is_an_error() {
    let (code, _, err) = headroom(&[
        "plan",
        "--hardware",
        "rtx-4090",
        "--models-dir",
        "/nonexistent/models",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("/nonexistent/models"), "{err}");
}
