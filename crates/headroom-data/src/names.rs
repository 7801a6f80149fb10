//! What a model name people type says: the base model's stem, and the weight format and runtime
//! its repo or tag names (`-GGUF`, `-AWQ`, `-FP8`, `mlx-community/…-4bit`, `qwen3:8b-q4_K_M`).

use headroom_core::quant::{GgufMix, Quant};

/// A name taken apart. `stems` are tried in order against the catalog's stems.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Read {
    pub stems: Vec<String>,
    pub quant: Option<Quant>,
    pub runtime: Option<&'static str>,
    /// Whether a variant word (`Instruct`, `it`, `Base`) was dropped.
    pub variant: bool,
}

/// A repo name (no organisation) without its format and variant words.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct RepoName {
    pub stem: String,
    pub quant: Option<Quant>,
    pub runtime: Option<&'static str>,
    pub variant: bool,
}

/// Words after a model's name that keep its shapes: chat tuning and packaging.
const VARIANT_WORDS: &[&str] = &["instruct", "it", "pt", "base", "chat", "hf", "text"];

fn bits_word(w: &str) -> Option<u8> {
    w.strip_suffix("bit")
        .and_then(|b| b.parse::<u8>().ok())
        .filter(|b| (2..=8).contains(b))
}

/// Reads trailing format and variant words off a repo name, last word first.
/// `mlx` says the organisation is mlx-community, where `-4bit` means MLX weights.
pub(crate) fn read_repo_name(name: &str, mlx: bool) -> RepoName {
    let name = name.strip_suffix(".gguf").unwrap_or(name);
    let mut words: Vec<&str> = name.split('-').collect();
    let mut out = RepoName {
        stem: String::new(),
        quant: None,
        runtime: if mlx { Some("mlx") } else { None },
        variant: false,
    };
    let set_quant = |out: &mut RepoName, q: Quant| {
        if out.quant.is_none() {
            out.quant = Some(q);
        }
    };
    let set_runtime = |out: &mut RepoName, r: &'static str| {
        if out.runtime.is_none() {
            out.runtime = Some(r);
        }
    };
    while words.len() > 1 {
        let w = words[words.len() - 1];
        let before = words.get(words.len().wrapping_sub(2)).copied();
        if w == "gguf" {
            set_runtime(&mut out, "llama.cpp");
        } else if let Some(mix) = GgufMix::from_name(w).filter(|_| w.starts_with(['q', 'i'])) {
            set_quant(&mut out, Quant::Gguf { mix });
            set_runtime(&mut out, "llama.cpp");
        } else if w == "awq" {
            set_quant(
                &mut out,
                Quant::Awq {
                    bits: 4,
                    group_size: 128,
                },
            );
            set_runtime(&mut out, "vllm");
        } else if (w == "int4" || w == "int8") && before == Some("gptq") {
            let bits = if w == "int4" { 4 } else { 8 };
            set_quant(
                &mut out,
                Quant::Gptq {
                    bits,
                    group_size: 128,
                },
            );
            set_runtime(&mut out, "vllm");
            words.pop();
        } else if w == "gptq" {
            set_quant(
                &mut out,
                Quant::Gptq {
                    bits: 4,
                    group_size: 128,
                },
            );
            set_runtime(&mut out, "vllm");
        } else if w == "fp8" || (w == "dynamic" && before == Some("fp8")) {
            set_quant(&mut out, Quant::Fp8);
            set_runtime(&mut out, "vllm");
            if w == "dynamic" {
                words.pop();
            }
        } else if w == "4bit" && before == Some("bnb") {
            set_quant(
                &mut out,
                Quant::Nf4 {
                    double_quant: false,
                },
            );
            set_runtime(&mut out, "transformers");
            words.pop();
        } else if let Some(bits) = bits_word(w) {
            set_quant(
                &mut out,
                Quant::Mlx {
                    bits,
                    group_size: 64,
                },
            );
            set_runtime(&mut out, "mlx");
        } else if w == "mlx" || w == "dwq" {
            set_runtime(&mut out, "mlx");
        } else if matches!(w, "bf16" | "fp16" | "f16") {
            set_quant(&mut out, Quant::Float16);
        } else if VARIANT_WORDS.contains(&w) {
            out.variant = true;
        } else {
            break;
        }
        words.pop();
    }
    out.stem = words.join("-");
    out
}

/// Reads a lower-cased name: a Hugging Face repo (with or without organisation or URL), an Ollama
/// `name:tag`, or a GGUF repo with `:QUANT` as `llama-server -hf` and Ollama's `hf.co/` take it.
pub(crate) fn read(q: &str) -> Read {
    let mut q = q.trim();
    for prefix in ["https://", "http://", "huggingface.co/", "hf.co/", "www."] {
        q = q.strip_prefix(prefix).unwrap_or(q);
    }
    q = q.strip_prefix("huggingface.co/").unwrap_or(q);
    let (path, tag) = match q.rsplit_once(':') {
        Some((p, t)) => (p, Some(t)),
        None => (q, None),
    };
    let (org, base) = match path.rsplit_once('/') {
        Some((o, b)) => (Some(o), b),
        None => (None, path),
    };
    let mlx = org.is_some_and(|o| o.ends_with("mlx-community") || o.contains("mlx"));
    let repo = read_repo_name(base, mlx);
    let mut stems = vec![repo.stem.clone()];
    // bartowski's quantizations are `ORG_NAME-GGUF` (`google_gemma-3-12b-it-GGUF`, files
    // `google_gemma-3-12b-it-Q4_K_M.gguf`): the name without its original organisation, second
    if let Some((_, rest)) = repo
        .stem
        .split_once('_')
        .filter(|(o, r)| !o.is_empty() && !r.is_empty())
    {
        stems.push(rest.to_string());
    }
    let mut read = Read {
        stems,
        quant: repo.quant,
        runtime: repo.runtime,
        variant: repo.variant,
    };
    let Some(tag) = tag else {
        return read;
    };
    // `repo-GGUF:Q4_K_M`: the tag is the file's quantization.
    if let Some(mix) = GgufMix::from_name(tag) {
        read.quant = Some(Quant::Gguf { mix });
        read.runtime = Some("llama.cpp");
        if org.is_some() || repo.runtime.is_some() {
            return read;
        }
    }
    // Ollama `name:tag`: the tag is a size, variant words and a quantization (`8b-instruct-q4_K_M`).
    let mut words: Vec<&str> = tag.split('-').filter(|w| !w.is_empty()).collect();
    let mut quant = None;
    if let Some(last) = words.last() {
        if let Some(mix) = GgufMix::from_name(last) {
            quant = Some(Quant::Gguf { mix });
        } else if matches!(*last, "fp16" | "f16" | "bf16") {
            quant = Some(Quant::Gguf { mix: GgufMix::F16 });
        }
    }
    if quant.is_some() {
        words.pop();
    }
    let mut variant = false;
    while words.len() > 1 && VARIANT_WORDS.contains(&words[words.len() - 1]) {
        words.pop();
        variant = true;
    }
    if words == ["latest"] {
        words.clear();
    }
    let size = words.join("-");
    let mut stems = Vec::new();
    if !size.is_empty() {
        stems.push(format!("{path}:{size}"));
        stems.push(format!("{path}-{size}"));
    } else {
        stems.push(path.to_string());
    }
    Read {
        stems,
        quant: quant.or(read.quant),
        // an Ollama tag is run by Ollama
        runtime: Some("ollama"),
        variant: variant || read.variant,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, stem: &str, quant: Option<&str>, runtime: Option<&str>) {
        let r = read(&name.to_ascii_lowercase());
        assert_eq!(r.stems[0], stem, "{name}: {r:?}");
        assert_eq!(r.quant.map(|q| q.label()).as_deref(), quant, "{name}");
        assert_eq!(r.runtime, runtime, "{name}");
    }

    #[test]
    fn repo_names_give_stem_format_and_runtime() {
        check("Qwen/Qwen2.5-7B-Instruct", "qwen2.5-7b", None, None);
        check("Qwen/Qwen3-8B-GGUF", "qwen3-8b", None, Some("llama.cpp"));
        check(
            "mlx-community/Qwen2.5-Coder-32B-Instruct-4bit",
            "qwen2.5-coder-32b",
            Some("mlx-4bit-g64"),
            Some("mlx"),
        );
        check(
            "mlx-community/Meta-Llama-3.1-8B-Instruct-8bit",
            "meta-llama-3.1-8b",
            Some("mlx-8bit-g64"),
            Some("mlx"),
        );
        check(
            "Qwen/Qwen2.5-7B-Instruct-AWQ",
            "qwen2.5-7b",
            Some("awq-4bit-g128"),
            Some("vllm"),
        );
        check("Qwen/Qwen3-8B-FP8", "qwen3-8b", Some("fp8"), Some("vllm"));
        check(
            "Qwen/Qwen2.5-7B-Instruct-GPTQ-Int8",
            "qwen2.5-7b",
            Some("gptq-8bit-g128"),
            Some("vllm"),
        );
        check(
            "unsloth/Llama-3.2-3B-Instruct-bnb-4bit",
            "llama-3.2-3b",
            Some("nf4"),
            Some("transformers"),
        );
        check("google/gemma-3-4b-it", "gemma-3-4b", None, None);
        check(
            "Qwen3-8B-Q4_K_M.gguf",
            "qwen3-8b",
            Some("Q4_K_M"),
            Some("llama.cpp"),
        );
        check(
            "hf.co/bartowski/Qwen2.5-7B-Instruct-GGUF:Q5_K_M",
            "qwen2.5-7b",
            Some("Q5_K_M"),
            Some("llama.cpp"),
        );
    }

    #[test]
    fn ollama_tags_give_size_and_quantization() {
        check(
            "qwen3:8b-q4_K_M",
            "qwen3:8b",
            Some("Q4_K_M"),
            Some("ollama"),
        );
        check(
            "llama3.1:8b-instruct-q8_0",
            "llama3.1:8b",
            Some("Q8_0"),
            Some("ollama"),
        );
        check(
            "llama3.1:70b-instruct-fp16",
            "llama3.1:70b",
            Some("F16"),
            Some("ollama"),
        );
        check("qwen3:latest", "qwen3", None, Some("ollama"));
    }

    #[test]
    fn a_bartowski_name_is_also_read_without_its_original_organisation() {
        let r = read("bartowski/google_gemma-3-12b-it-gguf");
        assert_eq!(r.stems, ["google_gemma-3-12b", "gemma-3-12b"]);
        assert_eq!(r.runtime, Some("llama.cpp"));
        let r = read("ibm-granite_granite-3.1-1b-a400m-instruct-q4_k_m.gguf");
        assert_eq!(
            r.stems,
            ["ibm-granite_granite-3.1-1b-a400m", "granite-3.1-1b-a400m"]
        );
        assert_eq!(r.quant.map(|q| q.label()).as_deref(), Some("Q4_K_M"));
        // no underscore, one stem
        assert_eq!(read("qwen/qwen3-8b").stems, ["qwen3-8b"]);
    }

    #[test]
    fn a_name_that_is_only_a_word_keeps_it() {
        // A repo named just `instruct` keeps its one word rather than becoming empty.
        check("org/instruct", "instruct", None, None);
    }
}
