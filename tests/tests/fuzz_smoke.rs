//! The fuzz targets' entry points (fuzz/fuzz_targets/) fed deterministic pseudo-random bytes and
//! mutated fixtures on stable Rust: every input must give a result, never a panic, and an accepted
//! GGUF header must be self-consistent. Every input runs under a counting allocator and must stay
//! below the 256 MiB that the fuzz targets' `-rss_limit_mb=256` allows (fuzz/README.md).

use headroom_formats::{gguf, gguf_spec, hf_config, safetensors, FormatError};
use headroom_tests::peak_alloc::{peak_bytes, CountingAlloc};
use std::time::{Duration, Instant};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// The fuzz targets' memory limit (`-rss_limit_mb=256`), as a bound on the heap one input may hold.
const MEMORY_LIMIT: u64 = 256 << 20;

const LAYERS_OOM: &[u8] = include_bytes!("../fixtures/hostile/layers_oom.gguf");
const SLOW: &[u8] = include_bytes!("../fixtures/hostile/slow.gguf");

const FIXTURES: &[&[u8]] = &[
    include_bytes!("../fixtures/formats/tiny-llama-q4_k_m.gguf"),
    include_bytes!("../fixtures/formats/tiny-qwen3moe-q8_0.gguf"),
    include_bytes!("../fixtures/formats/tiny.safetensors"),
    include_bytes!("../fixtures/formats/bf16-fp8.safetensors"),
    include_bytes!("../fixtures/formats/model.safetensors.index.json"),
    LAYERS_OOM,
    SLOW,
];

const CONFIG: &str = r#"{"model_type":"qwen3_moe","hidden_size":2048,"num_hidden_layers":48,
"num_attention_heads":32,"num_key_value_heads":4,"head_dim":128,"intermediate_size":6144,
"moe_intermediate_size":768,"num_experts":128,"num_experts_per_tok":8,"vocab_size":151936,
"max_position_embeddings":40960,"quantization":{"group_size":64,"bits":4}}"#;

/// xorshift64*: a fixed sequence, so a failure reproduces.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn gguf_header(data: &[u8]) -> Result<(), FormatError> {
    let h = gguf::parse_header(data)?;
    assert_eq!(h.tensors.len(), h.tensor_offsets.len());
    assert!(h.header_len <= data.len() as u64);
    assert!(h.data_offset >= h.header_len && h.data_offset % h.alignment == 0);
    let _ = gguf_spec::to_model_spec(&h);
    let _ = gguf_spec::file_type(&h);
    Ok(())
}

fn safetensors_header(data: &[u8]) {
    if let Ok(h) = safetensors::parse_header(data, Some(data.len() as u64)) {
        assert!(h.data_offset + h.data_bytes <= data.len() as u64);
    }
    let _ = safetensors::parse_header(data, None);
    let _ = safetensors::parse_index(data);
}

fn hf_config(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = hf_config::parse(text);
    }
}

/// Runs `f` on one input and fails the test if it held more than `MEMORY_LIMIT` at once.
fn bounded<T>(data: &[u8], f: impl FnOnce() -> T) -> T {
    let (out, peak) = peak_bytes(f);
    assert!(
        peak < MEMORY_LIMIT,
        "{peak} bytes allocated at once for a {}-byte input starting {:02x?}",
        data.len(),
        &data[..data.len().min(32)]
    );
    out
}

fn all_targets(data: &[u8]) {
    bounded(data, || {
        let _ = gguf_header(data);
        safetensors_header(data);
        hf_config(data);
    });
}

/// One random edit: overwrite bytes, write a boundary integer, cut, or duplicate a span.
fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut b = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        if b.is_empty() {
            b.push(rng.next() as u8);
            continue;
        }
        let at = rng.below(b.len());
        match rng.below(5) {
            0 => b[at] = rng.next() as u8,
            1 => {
                let v: u64 = [0, 1, 0xff, 0xffff_ffff, u64::MAX, 1 << 20, 1 << 40][rng.below(7)];
                for (i, byte) in v.to_le_bytes().iter().enumerate() {
                    if let Some(slot) = b.get_mut(at + i) {
                        *slot = *byte;
                    }
                }
            }
            2 => b.truncate(at),
            3 => {
                let end = (at + rng.below(64)).min(b.len());
                let span = b[at..end].to_vec();
                let to = rng.below(b.len());
                b.splice(to..to, span);
            }
            _ => b[at] ^= 1 << rng.below(8),
        }
    }
    b
}

#[test]
fn random_bytes_never_panic() {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for _ in 0..5000 {
        let len = rng.below(512);
        let mut data: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        // Half the inputs start with a valid GGUF preamble so the reader gets past the magic.
        if rng.below(2) == 0 && data.len() >= 8 {
            data[..4].copy_from_slice(b"GGUF");
            data[4..8].copy_from_slice(&3u32.to_le_bytes());
        }
        all_targets(&data);
    }
}

#[test]
fn mutated_fixtures_never_panic() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    let mut accepted = 0;
    for round in 0..3000 {
        let fixture = FIXTURES[round % FIXTURES.len()];
        let data = mutate(&mut rng, fixture);
        if bounded(&data, || gguf_header(&data)).is_ok() {
            accepted += 1;
        }
        bounded(&data, || safetensors_header(&data));
    }
    // Mutations that miss the structure (a metadata float, a token's text) still parse.
    assert!(accepted > 0);
    for _ in 0..2000 {
        let data = mutate(&mut rng, CONFIG.as_bytes());
        bounded(&data, || hf_config(&data));
    }
}

/// The two inputs the gguf_header fuzz target found (tests/fixtures/hostile/README.md): 1,266
/// bytes declaring `gpt-oss.block_count` = 822,083,584. The header itself is well formed; the
/// model is refused at that key, before anything is sized by it. The bounds below are far from
/// what a bounded reader needs (a 1,266-byte header decodes into a few KiB) and far below the
/// 788 MB and 2 s the unbounded reader took.
#[test]
fn hostile_inputs_are_refused_at_the_field_quickly() {
    for (name, data) in [("layers_oom", LAYERS_OOM), ("slow", SLOW)] {
        let started = Instant::now();
        let (result, peak) = peak_bytes(|| {
            let h = gguf::parse_header(data)?;
            gguf_spec::to_model_spec(&h)
        });
        let elapsed = started.elapsed();
        let e = result.expect_err(name).to_string();
        assert!(
            e.contains("`gpt-oss.block_count`") && e.contains("822083584"),
            "{name}: {e}"
        );
        assert!(peak < 1 << 20, "{name}: {peak} bytes allocated at once");
        assert!(
            elapsed < Duration::from_millis(200),
            "{name}: {elapsed:?} to refuse"
        );
    }
}

/// The allocator counts: a 64 MiB buffer shows as at least 64 MiB, so the bounds above can fail.
#[test]
fn the_counting_allocator_sees_a_large_allocation() {
    let (len, peak) = peak_bytes(|| vec![1u8; 64 << 20].len());
    assert_eq!(len, 64 << 20);
    assert!(peak >= 64 << 20, "{peak}");
}
