//! GGUF header parsing: a synthetic 1,000-tensor header built in memory (goal: under 2 ms), with
//! and without a 128k-entry tokenizer array, and a header shaped as Qwen3-0.6B's real GGUF
//! (310 tensors, 151,936 tokens, 151,387 merges; goal: at most 3 ms).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use headroom_formats::{gguf, gguf_spec};

fn put_str(b: &mut Vec<u8>, s: &str) {
    b.extend((s.len() as u64).to_le_bytes());
    b.extend(s.as_bytes());
}

fn kv_u32(b: &mut Vec<u8>, key: &str, v: u32) {
    put_str(b, key);
    b.extend(4u32.to_le_bytes());
    b.extend(v.to_le_bytes());
}

/// A llama-shaped header: 111 layers x 9 tensors + token_embd = 1,000 tensors, all F16, with an
/// optional tokenizer array of `n_tokens` strings.
fn header(n_tokens: u64) -> Vec<u8> {
    let (n_layer, n_embd, n_ff, n_vocab) = (111u32, 4096u64, 14336u64, n_tokens.max(32000));
    let mut kv = Vec::new();
    let mut n_kv = 0u64;
    put_str(&mut kv, "general.architecture");
    kv.extend(8u32.to_le_bytes());
    put_str(&mut kv, "llama");
    n_kv += 1;
    for (k, v) in [
        ("llama.block_count", n_layer),
        ("llama.embedding_length", n_embd as u32),
        ("llama.feed_forward_length", n_ff as u32),
        ("llama.attention.head_count", 32),
        ("llama.attention.head_count_kv", 8),
        ("llama.context_length", 8192),
        ("llama.vocab_size", n_vocab as u32),
        ("general.file_type", 1),
    ] {
        kv_u32(&mut kv, k, v);
        n_kv += 1;
    }
    if n_tokens > 0 {
        put_str(&mut kv, "tokenizer.ggml.tokens");
        kv.extend(9u32.to_le_bytes());
        kv.extend(8u32.to_le_bytes());
        kv.extend(n_tokens.to_le_bytes());
        for i in 0..n_tokens {
            put_str(&mut kv, &format!("token{i}"));
        }
        n_kv += 1;
    }
    let mut ti = Vec::new();
    let mut offset = 0u64;
    let mut tensor = |name: &str, dims: &[u64]| {
        put_str(&mut ti, name);
        ti.extend((dims.len() as u32).to_le_bytes());
        for d in dims {
            ti.extend(d.to_le_bytes());
        }
        ti.extend(1u32.to_le_bytes()); // F16
        ti.extend(offset.to_le_bytes());
        offset += (dims.iter().product::<u64>() * 2).next_multiple_of(32);
    };
    tensor("token_embd.weight", &[n_embd, n_vocab]);
    for il in 0..n_layer {
        tensor(&format!("blk.{il}.attn_norm.weight"), &[n_embd]);
        tensor(&format!("blk.{il}.attn_q.weight"), &[n_embd, n_embd]);
        tensor(&format!("blk.{il}.attn_k.weight"), &[n_embd, 1024]);
        tensor(&format!("blk.{il}.attn_v.weight"), &[n_embd, 1024]);
        tensor(&format!("blk.{il}.attn_output.weight"), &[n_embd, n_embd]);
        tensor(&format!("blk.{il}.ffn_norm.weight"), &[n_embd]);
        tensor(&format!("blk.{il}.ffn_gate.weight"), &[n_embd, n_ff]);
        tensor(&format!("blk.{il}.ffn_up.weight"), &[n_embd, n_ff]);
        tensor(&format!("blk.{il}.ffn_down.weight"), &[n_ff, n_embd]);
    }
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(1000u64.to_le_bytes());
    b.extend(n_kv.to_le_bytes());
    b.extend(kv);
    b.extend(ti);
    b
}

fn kv_head(b: &mut Vec<u8>, key: &str, ty: u32) {
    put_str(b, key);
    b.extend(ty.to_le_bytes());
}

/// A header with the keys, arrays and tensor infos of a Q8_0 Qwen3-0.6B GGUF as
/// convert_hf_to_gguf.py writes them, from the model's public config
/// (https://huggingface.co/Qwen/Qwen3-0.6B/blob/main/config.json: 28 layers, hidden 1024, 16
/// heads of 128, 8 kv heads, intermediate 3072, vocab 151,936, 40,960 positions, tied embeddings)
/// and its tokenizer's sizes (151,936 token slots, 151,387 merges). The token and merge strings
/// are synthetic, 1 to 12 and 3 to 19 bytes long; the reader steps over them by their lengths.
fn qwen3_0_6b_header() -> Vec<u8> {
    let (n_layer, n_embd, n_ff, n_vocab, n_merges) =
        (28u64, 1024u64, 3072u64, 151_936u64, 151_387u64);
    let (n_head, n_head_kv, head_dim) = (16u64, 8u64, 128u64);
    let mut kv = Vec::new();
    let mut n_kv = 0u64;
    let s = |kv: &mut Vec<u8>, k: &str, v: &str| {
        kv_head(kv, k, 8);
        put_str(kv, v);
    };
    for (k, v) in [
        ("general.architecture", "qwen3"),
        ("general.type", "model"),
        ("general.name", "Qwen3 0.6B"),
        ("general.basename", "Qwen3"),
        ("general.size_label", "0.6B"),
        ("general.license", "apache-2.0"),
        ("tokenizer.ggml.model", "gpt2"),
        ("tokenizer.ggml.pre", "qwen2"),
    ] {
        s(&mut kv, k, v);
        n_kv += 1;
    }
    // The chat template: a string of about 4 KB.
    s(
        &mut kv,
        "tokenizer.chat_template",
        &"{%- if messages %}".repeat(220),
    );
    n_kv += 1;
    for (k, v) in [
        ("qwen3.block_count", n_layer as u32),
        ("qwen3.context_length", 40_960),
        ("qwen3.embedding_length", n_embd as u32),
        ("qwen3.feed_forward_length", n_ff as u32),
        ("qwen3.attention.head_count", n_head as u32),
        ("qwen3.attention.head_count_kv", n_head_kv as u32),
        ("qwen3.attention.key_length", head_dim as u32),
        ("qwen3.attention.value_length", head_dim as u32),
        ("general.file_type", 7),
        ("general.quantization_version", 2),
        ("tokenizer.ggml.eos_token_id", 151_645),
        ("tokenizer.ggml.padding_token_id", 151_643),
        ("tokenizer.ggml.bos_token_id", 151_643),
    ] {
        kv_u32(&mut kv, k, v);
        n_kv += 1;
    }
    for (k, v) in [
        ("qwen3.rope.freq_base", 1_000_000f32),
        ("qwen3.attention.layer_norm_rms_epsilon", 1e-6),
    ] {
        kv_head(&mut kv, k, 6);
        kv.extend(v.to_le_bytes());
        n_kv += 1;
    }
    kv_head(&mut kv, "tokenizer.ggml.add_bos_token", 7);
    kv.push(0);
    n_kv += 1;
    let strings = |kv: &mut Vec<u8>, key: &str, n: u64, len: fn(u64) -> usize| {
        kv_head(kv, key, 9);
        kv.extend(8u32.to_le_bytes());
        kv.extend(n.to_le_bytes());
        for i in 0..n {
            let l = len(i);
            kv.extend((l as u64).to_le_bytes());
            kv.extend(std::iter::repeat_n(b'a' + (i % 26) as u8, l));
        }
    };
    strings(&mut kv, "tokenizer.ggml.tokens", n_vocab, |i| {
        1 + (i % 12) as usize
    });
    kv_head(&mut kv, "tokenizer.ggml.token_type", 9);
    kv.extend(5u32.to_le_bytes());
    kv.extend(n_vocab.to_le_bytes());
    for i in 0..n_vocab {
        kv.extend((if i < 151_643 { 1i32 } else { 3 }).to_le_bytes());
    }
    strings(&mut kv, "tokenizer.ggml.merges", n_merges, |i| {
        3 + (i % 17) as usize
    });
    n_kv += 3;

    let mut ti = Vec::new();
    let mut offset = 0u64;
    let mut n_tensors = 0u64;
    // Q8_0 (type 8: 32-element blocks of 34 bytes) for matrices, F32 (type 0) for norms.
    let mut tensor = |name: &str, dims: &[u64]| {
        let (ty, bytes) = if dims.len() == 2 {
            (8u32, dims.iter().product::<u64>() / 32 * 34)
        } else {
            (0u32, dims.iter().product::<u64>() * 4)
        };
        put_str(&mut ti, name);
        ti.extend((dims.len() as u32).to_le_bytes());
        for d in dims {
            ti.extend(d.to_le_bytes());
        }
        ti.extend(ty.to_le_bytes());
        ti.extend(offset.to_le_bytes());
        offset += bytes.next_multiple_of(32);
        n_tensors += 1;
    };
    let (q, kvw) = (n_head * head_dim, n_head_kv * head_dim);
    tensor("token_embd.weight", &[n_embd, n_vocab]);
    for il in 0..n_layer {
        tensor(&format!("blk.{il}.attn_k.weight"), &[n_embd, kvw]);
        tensor(&format!("blk.{il}.attn_k_norm.weight"), &[head_dim]);
        tensor(&format!("blk.{il}.attn_norm.weight"), &[n_embd]);
        tensor(&format!("blk.{il}.attn_output.weight"), &[q, n_embd]);
        tensor(&format!("blk.{il}.attn_q.weight"), &[n_embd, q]);
        tensor(&format!("blk.{il}.attn_q_norm.weight"), &[head_dim]);
        tensor(&format!("blk.{il}.attn_v.weight"), &[n_embd, kvw]);
        tensor(&format!("blk.{il}.ffn_down.weight"), &[n_ff, n_embd]);
        tensor(&format!("blk.{il}.ffn_gate.weight"), &[n_embd, n_ff]);
        tensor(&format!("blk.{il}.ffn_norm.weight"), &[n_embd]);
        tensor(&format!("blk.{il}.ffn_up.weight"), &[n_embd, n_ff]);
    }
    tensor("output_norm.weight", &[n_embd]);
    let mut b = b"GGUF".to_vec();
    b.extend(3u32.to_le_bytes());
    b.extend(n_tensors.to_le_bytes());
    b.extend(n_kv.to_le_bytes());
    b.extend(kv);
    b.extend(ti);
    b
}

fn bench(c: &mut Criterion) {
    let qwen3 = qwen3_0_6b_header();
    let parsed = gguf::parse_header(&qwen3).expect("Qwen3-0.6B-shaped header parses");
    assert_eq!(parsed.tensors.len(), 310);
    let spec = gguf_spec::to_model_spec(&parsed).expect("Qwen3-0.6B-shaped header is a model");
    assert_eq!((spec.n_layer, spec.n_vocab), (28, 151_936));
    c.bench_function("gguf_header_qwen3_0_6b", |b| {
        b.iter(|| gguf::parse_header(black_box(&qwen3)))
    });
    c.bench_function("gguf_header_qwen3_0_6b_to_model_spec", |b| {
        b.iter(|| {
            let h = gguf::parse_header(black_box(&qwen3))?;
            gguf_spec::to_model_spec(&h)
        })
    });

    let plain = header(0);
    let parsed = gguf::parse_header(&plain).expect("bench header parses");
    assert_eq!(parsed.tensors.len(), 1000);
    c.bench_function("gguf_header_1000_tensors", |b| {
        b.iter(|| gguf::parse_header(black_box(&plain)))
    });
    c.bench_function("gguf_header_1000_tensors_to_model_spec", |b| {
        b.iter(|| {
            let h = gguf::parse_header(black_box(&plain))?;
            gguf_spec::to_model_spec(&h)
        })
    });
    let with_vocab = header(128_000);
    c.bench_function("gguf_header_1000_tensors_128k_tokens", |b| {
        b.iter(|| gguf::parse_header(black_box(&with_vocab)))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
