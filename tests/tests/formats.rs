//! The GGUF and safetensors readers on the fixtures in tests/fixtures/formats/ (made by
//! scripts/make_fixtures.py with llama.cpp's gguf-py and the safetensors package): exact values,
//! every truncation point, and corrupt or oversized input rejected with a message.

use headroom_core::model::{Arch, ModelSpec, Moe, NativeDtype};
use headroom_core::quant::{GgmlType, GgufMix};
use headroom_core::tensors::{synthesize, Tensor};
use headroom_formats::gguf::{self, GgufHeader, MetaValue};
use headroom_formats::safetensors::{self as st, Dtype};
use headroom_formats::{gguf_spec, FormatError};

const LLAMA: &[u8] = include_bytes!("../fixtures/formats/tiny-llama-q4_k_m.gguf");
const MOE: &[u8] = include_bytes!("../fixtures/formats/tiny-qwen3moe-q8_0.gguf");
const GPT_OSS: &[u8] = include_bytes!("../fixtures/formats/tiny-gpt-oss-mxfp4.gguf");
const SAFETENSORS: &[u8] = include_bytes!("../fixtures/formats/tiny.safetensors");
const BF16_FP8: &[u8] = include_bytes!("../fixtures/formats/bf16-fp8.safetensors");
const INDEX: &[u8] = include_bytes!("../fixtures/formats/model.safetensors.index.json");

fn header(bytes: &[u8]) -> GgufHeader {
    gguf::parse_header(bytes).expect("fixture parses")
}

fn tensor<'a>(h: &'a GgufHeader, name: &str) -> &'a Tensor {
    h.tensors
        .iter()
        .find(|t| t.name == name)
        .expect("tensor in the fixture")
}

/// (name, elements) sorted by name.
fn names_and_counts(ts: &[Tensor]) -> Vec<(String, u64)> {
    let mut v: Vec<_> = ts
        .iter()
        .map(|t| (t.name.clone(), t.n_elements()))
        .collect();
    v.sort();
    v
}

#[test]
fn llama_fixture_metadata_has_every_value_type() {
    let h = header(LLAMA);
    assert_eq!(h.version, 3);
    assert_eq!(h.architecture(), Some("llama"));
    assert_eq!(h.get("headroom.test.u8"), Some(&MetaValue::U8(200)));
    assert_eq!(h.get("headroom.test.i8"), Some(&MetaValue::I8(-5)));
    assert_eq!(h.get("headroom.test.u16"), Some(&MetaValue::U16(60000)));
    assert_eq!(h.get("headroom.test.i16"), Some(&MetaValue::I16(-30000)));
    assert_eq!(
        h.get("headroom.test.i32"),
        Some(&MetaValue::I32(-2_000_000_000))
    );
    assert_eq!(h.get("headroom.test.u64"), Some(&MetaValue::U64(1 << 40)));
    assert_eq!(
        h.get("headroom.test.i64"),
        Some(&MetaValue::I64(-(1 << 40)))
    );
    assert_eq!(h.get("headroom.test.f64"), Some(&MetaValue::F64(0.125)));
    assert_eq!(
        h.get("llama.rope.freq_base"),
        Some(&MetaValue::F32(500000.0))
    );
    assert_eq!(
        h.get("tokenizer.ggml.add_bos_token"),
        Some(&MetaValue::Bool(true))
    );
    let u = |xs: &[i32]| MetaValue::Array(xs.iter().map(|&x| MetaValue::I32(x)).collect());
    assert_eq!(
        h.get("headroom.test.nested"),
        Some(&MetaValue::Array(vec![u(&[1, 2, 3]), u(&[4]), u(&[5, 6])]))
    );
    // Tokenizer arrays are skipped, their element type and count kept: the script writes 128
    // tokens, 128 scores and 128 token types.
    for (key, elem_type) in [
        ("tokenizer.ggml.tokens", "string"),
        ("tokenizer.ggml.scores", "f32"),
        ("tokenizer.ggml.token_type", "i32"),
    ] {
        assert_eq!(
            h.get(key),
            Some(&MetaValue::SkippedArray {
                elem_type,
                len: 128
            }),
            "{key}"
        );
    }
}

#[test]
fn llama_fixture_tensor_infos_are_exact() {
    let h = header(LLAMA);
    // token_embd + 2 layers x 9 + output_norm + output (the script's list).
    assert_eq!(h.tensors.len(), 21);
    assert_eq!(h.tensors[0].name, "token_embd.weight");
    assert_eq!(h.tensors[0].dims, vec![256, 128]);
    assert_eq!(h.tensors[0].ty, GgmlType::Q4_K);
    let v0 = tensor(&h, "blk.0.attn_v.weight");
    assert_eq!(
        (v0.dims.as_slice(), v0.ty),
        (&[256, 128][..], GgmlType::Q4_K)
    );
    let v1 = tensor(&h, "blk.1.attn_v.weight");
    assert_eq!(v1.ty, GgmlType::Q6_K);
    let down = tensor(&h, "blk.1.ffn_down.weight");
    assert_eq!(
        (down.dims.as_slice(), down.ty),
        (&[512, 256][..], GgmlType::Q6_K)
    );
    assert_eq!(tensor(&h, "blk.0.attn_norm.weight").ty, GgmlType::F32);
    assert_eq!(tensor(&h, "output.weight").ty, GgmlType::Q6_K);
    // Header-only fixture: the infos end where the file ends.
    assert_eq!(h.header_len, LLAMA.len() as u64);
    assert_eq!(h.alignment, 32);
    assert_eq!(h.data_offset, (LLAMA.len() as u64).next_multiple_of(32));
    // Hand sum of block bytes (Q4_K 144 B / 256, Q6_K 210 B / 256, F32 4 B), each a multiple of 32:
    // token_embd 18432; layer 0: norms 2x1024, q 36864, k 18432, v 18432, o 36864,
    // gate/up/down 3x73728 = 333824; layer 1: v 26880 and down 107520 instead = 376064;
    // output_norm 1024; output 26880. Total 756224.
    assert_eq!(h.data_size, 756_224);
    assert_eq!(h.tensor_bytes(), 756_224);
    assert_eq!(h.tensor_offsets[1], 18432);
}

#[test]
fn llama_fixture_builds_the_model_spec() {
    let h = header(LLAMA);
    let spec = gguf_spec::to_model_spec(&h).unwrap();
    // The values make_fixtures.py wrote for tiny_llama().
    let expected = ModelSpec {
        name: "tiny-llama".into(),
        arch: Arch::Llama,
        n_layer: 2,
        n_embd: 256,
        n_head: 4,
        n_head_kv: 2,
        head_dim_k: 64,
        head_dim_v: 64,
        n_ff: 512,
        n_vocab: 128,
        tied_embeddings: false,
        n_ctx_train: 4096,
        attn_bias: false,
        qk_norm: false,
        sliding_window: None,
        mla: None,
        moe: None,
        native_dtype: NativeDtype::Bf16,
        ssm: None,
    };
    assert_eq!(spec, expected);
    assert_eq!(gguf_spec::file_type(&h), Some(GgufMix::Q4_K_M));
}

#[test]
fn moe_fixture_builds_the_model_spec() {
    let h = header(MOE);
    assert_eq!(h.alignment, 64);
    assert_eq!(h.data_offset, (MOE.len() as u64).next_multiple_of(64));
    let exps = tensor(&h, "blk.1.ffn_down_exps.weight");
    assert_eq!(
        (exps.dims.as_slice(), exps.ty),
        (&[256, 256, 8][..], GgmlType::Q8_0)
    );
    let spec = gguf_spec::to_model_spec(&h).unwrap();
    // The values make_fixtures.py wrote for tiny_qwen3moe(); n_vocab from token_embd's ne[1].
    let expected = ModelSpec {
        name: "tiny-qwen3moe".into(),
        arch: Arch::Qwen3Moe,
        n_layer: 2,
        n_embd: 256,
        n_head: 4,
        n_head_kv: 2,
        head_dim_k: 128,
        head_dim_v: 128,
        n_ff: 768,
        n_vocab: 512,
        tied_embeddings: true,
        n_ctx_train: 32768,
        attn_bias: false,
        qk_norm: true,
        sliding_window: None,
        mla: None,
        moe: Some(Moe {
            n_expert: 8,
            n_expert_used: 2,
            shared_ff: 0,
            expert_ff: 256,
            n_dense_lead: 0,
            expert_bias: false,
        }),
        native_dtype: NativeDtype::Bf16,
        ssm: None,
    };
    assert_eq!(spec, expected);
    assert_eq!(gguf_spec::file_type(&h), Some(GgufMix::Q8_0));
}

#[test]
fn gpt_oss_fixture_builds_the_model_spec() {
    let h = header(GPT_OSS);
    let gate = tensor(&h, "blk.0.ffn_gate_exps.weight");
    assert_eq!(
        (gate.dims.as_slice(), gate.ty),
        (&[256, 256, 4][..], GgmlType::MXFP4)
    );
    // 256 x 256 x 4 elements in 32-element MXFP4 blocks of 17 bytes.
    assert_eq!(gate.bytes(), 256 * 256 * 4 / 32 * 17);
    let spec = gguf_spec::to_model_spec(&h).unwrap();
    // The values make_fixtures.py wrote for tiny_gpt_oss(); gpt-oss alternates sliding and
    // full layers starting with a sliding one (llama.cpp set_swa_pattern(2)).
    assert_eq!(spec.arch, Arch::GptOss);
    assert_eq!((spec.n_head, spec.n_head_kv, spec.head_dim_k), (4, 2, 64));
    assert!(spec.attn_bias && !spec.qk_norm && !spec.tied_embeddings);
    let sw = spec.sliding_window.clone().unwrap();
    assert_eq!((sw.window, sw.layers), (128, vec![true, false]));
    let moe = spec.moe.unwrap();
    assert_eq!(
        (moe.n_expert, moe.n_expert_used, moe.expert_ff),
        (4, 2, 256)
    );
    assert!(moe.expert_bias);
    assert_eq!(gguf_spec::file_type(&h), Some(GgufMix::MXFP4_MOE));
}

#[test]
fn synthesized_tensors_match_the_files() {
    // headroom-core's synthesizer, given the spec read from a file, must list the file's tensors
    // (names from gguf-py's TENSOR_NAMES) with the same element counts.
    for bytes in [LLAMA, MOE, GPT_OSS] {
        let h = header(bytes);
        let spec = gguf_spec::to_model_spec(&h).unwrap();
        let synth = synthesize(&spec, GgmlType::F16);
        assert_eq!(names_and_counts(&synth), names_and_counts(&h.tensors));
        for t in &synth {
            assert_eq!(t.dims, tensor(&h, &t.name).dims, "{}", t.name);
        }
    }
}

#[test]
fn every_gguf_prefix_asks_for_more_bytes_and_the_retry_converges() {
    for bytes in [LLAMA, MOE, GPT_OSS] {
        let end = header(bytes).header_len as usize;
        for len in 0..end {
            match gguf::parse_header(&bytes[..len]) {
                Err(FormatError::NeedMoreBytes {
                    needed, available, ..
                }) => {
                    assert_eq!(available, len as u64);
                    assert!(
                        needed > len as u64 && needed <= end as u64,
                        "{len}: {needed}"
                    );
                }
                other => panic!("prefix of {len} bytes: {other:?}"),
            }
        }
        // A caller that reads what each error asks for reaches the header.
        let mut len = 0usize;
        let mut tries = 0;
        while let Err(e) = gguf::parse_header(&bytes[..len]) {
            len = e.bytes_needed().expect("only NeedMoreBytes") as usize;
            tries += 1;
        }
        assert!(tries > 1 && len <= end);
    }
}

#[test]
fn the_need_more_bytes_message_says_how_much() {
    let e = gguf::parse_header(&LLAMA[..100]).unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("100 bytes read"), "{msg}");
    assert!(msg.contains("needs at least"), "{msg}");
}

/// A GGUF byte builder for corrupt and oversized inputs.
#[derive(Default)]
struct Gguf {
    version: u32,
    n_kv: u64,
    kv: Vec<u8>,
    n_tensors: u64,
    ti: Vec<u8>,
}

impl Gguf {
    fn new() -> Gguf {
        Gguf {
            version: 3,
            ..Gguf::default()
        }
    }
    fn str(buf: &mut Vec<u8>, s: &str) {
        buf.extend((s.len() as u64).to_le_bytes());
        buf.extend(s.as_bytes());
    }
    fn kv_raw(mut self, key: &str, ty: u32, value: &[u8]) -> Gguf {
        Self::str(&mut self.kv, key);
        self.kv.extend(ty.to_le_bytes());
        self.kv.extend(value);
        self.n_kv += 1;
        self
    }
    fn kv_u32(self, key: &str, v: u32) -> Gguf {
        self.kv_raw(key, 4, &v.to_le_bytes())
    }
    fn kv_str(self, key: &str, v: &str) -> Gguf {
        let mut b = Vec::new();
        Self::str(&mut b, v);
        self.kv_raw(key, 8, &b)
    }
    fn tensor(mut self, name: &str, dims: &[u64], ty: u32, offset: u64) -> Gguf {
        Self::str(&mut self.ti, name);
        self.ti.extend((dims.len() as u32).to_le_bytes());
        for d in dims {
            self.ti.extend(d.to_le_bytes());
        }
        self.ti.extend(ty.to_le_bytes());
        self.ti.extend(offset.to_le_bytes());
        self.n_tensors += 1;
        self
    }
    fn bytes(&self) -> Vec<u8> {
        let mut b = b"GGUF".to_vec();
        b.extend(self.version.to_le_bytes());
        b.extend(self.n_tensors.to_le_bytes());
        b.extend(self.n_kv.to_le_bytes());
        b.extend(&self.kv);
        b.extend(&self.ti);
        b
    }
}

/// Parses `bytes`, expecting an error whose message contains every one of `words`.
fn gguf_rejects(bytes: &[u8], words: &[&str]) {
    let e = gguf::parse_header(bytes).expect_err("must be rejected");
    let msg = e.to_string();
    assert!(
        e.bytes_needed().is_none(),
        "should be rejected, not asked for more: {msg}"
    );
    for w in words {
        assert!(msg.contains(w), "`{msg}` lacks `{w}`");
    }
}

#[test]
fn corrupt_gguf_headers_are_rejected_with_what_and_where() {
    let ok = Gguf::new().tensor("a.weight", &[32, 2], 8, 0);
    assert!(gguf::parse_header(&ok.bytes()).is_ok());

    let mut bad_magic = ok.bytes();
    bad_magic[0] = b'X';
    gguf_rejects(&bad_magic, &["magic", "byte 0"]);
    for (version, word) in [
        (1, "version 1"),
        (99, "unknown version 99"),
        (3u32.swap_bytes(), "big-endian"),
    ] {
        let g = Gguf {
            version,
            ..Gguf::new()
        };
        gguf_rejects(&g.bytes(), &[word]);
    }
    let v2 = Gguf {
        version: 2,
        ..Gguf::new()
    };
    assert_eq!(gguf::parse_header(&v2.bytes()).unwrap().version, 2);

    let mut many = ok.bytes();
    many[8..16].copy_from_slice(&(1u64 << 40).to_le_bytes());
    gguf_rejects(&many, &["tensor count", "over the limit"]);
    let mut many_kv = ok.bytes();
    many_kv[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
    gguf_rejects(&many_kv, &["metadata count", "over the limit"]);

    gguf_rejects(
        &Gguf::new().kv_raw("k", 13, &[]).bytes(),
        &["metadata value type", "unknown type id 13"],
    );
    gguf_rejects(
        &Gguf::new().kv_raw("k", 7, &[2]).bytes(),
        &["bool", "byte 2 is not 0 or 1"],
    );
    let mut long = Vec::new();
    long.extend((2u64 << 20).to_le_bytes());
    gguf_rejects(
        &Gguf::new().kv_raw("k", 8, &long).bytes(),
        &[
            "metadata string length at byte 37",
            "over the limit of 1048576",
        ],
    );
    let mut huge_array = 4u32.to_le_bytes().to_vec();
    huge_array.extend((1u64 << 30).to_le_bytes());
    gguf_rejects(
        &Gguf::new().kv_raw("k", 9, &huge_array).bytes(),
        &["array length", "over the limit"],
    );
    // Arrays of arrays nested past the limit.
    let mut nested = Vec::new();
    for _ in 0..6 {
        nested.extend(9u32.to_le_bytes());
        nested.extend(1u64.to_le_bytes());
    }
    nested.extend(4u32.to_le_bytes());
    nested.extend(0u64.to_le_bytes());
    gguf_rejects(
        &Gguf::new().kv_raw("k", 9, &nested[..]).bytes()[..],
        &["nested deeper"],
    );
    let mut bad_utf8 = Vec::new();
    bad_utf8.extend(2u64.to_le_bytes());
    bad_utf8.extend([0xff, 0xfe]);
    let mut g = Gguf::new();
    g.kv.extend(&bad_utf8);
    g.kv.extend(4u32.to_le_bytes());
    g.kv.extend(0u32.to_le_bytes());
    g.n_kv = 1;
    gguf_rejects(&g.bytes(), &["metadata key", "not UTF-8"]);
    gguf_rejects(
        &Gguf::new().kv_u32("k", 1).kv_u32("k", 2).bytes(),
        &["duplicate key `k`"],
    );
    gguf_rejects(
        &Gguf::new().kv_u32("general.alignment", 48).bytes(),
        &["general.alignment", "power-of-two"],
    );

    let t = |dims: &[u64], ty: u32, off: u64| Gguf::new().tensor("w", dims, ty, off).bytes();
    gguf_rejects(&t(&[32, 1, 1, 1, 1], 0, 0), &["5 dimensions", "byte 33"]);
    gguf_rejects(&t(&[1 << 32, 1 << 32], 0, 0), &["63 bits"]);
    // 2^62 F32 elements fit in 63 bits but their 2^64 bytes do not (found by cargo-fuzz).
    gguf_rejects(&t(&[1 << 62], 0, 0), &["data size overflows 64 bits"]);
    gguf_rejects(&t(&[32], 4, 0), &["unknown ggml type id 4"]);
    gguf_rejects(&t(&[32], 99, 0), &["unknown ggml type id 99"]);
    gguf_rejects(&t(&[100], 12, 0), &["256-element q4_k blocks"]);
    gguf_rejects(&t(&[32], 0, 32), &["offset", "expected 0"]);
    gguf_rejects(
        &Gguf::new()
            .tensor("w", &[32], 0, 0)
            .tensor("w", &[32], 0, 128)
            .bytes(),
        &["duplicate tensor `w`"],
    );
    // A second tensor must start where the first (128 bytes, aligned to 32) ends.
    let two = Gguf::new()
        .tensor("a", &[32], 0, 0)
        .tensor("b", &[8], 1, 128);
    assert_eq!(
        gguf::parse_header(&two.bytes()).unwrap().data_size,
        128 + 32
    );
}

#[test]
fn oversized_counts_that_do_not_fit_ask_for_bytes_without_allocating() {
    // 1M tensors (the limit) declared in a 24-byte file: each info takes at least 24 bytes, so
    // the reader asks for 24 MiB instead of reserving memory for a million tensors.
    let mut b = Gguf::new().bytes();
    b[8..16].copy_from_slice(&(1u64 << 20).to_le_bytes());
    let e = gguf::parse_header(&b).unwrap_err();
    assert_eq!(e.bytes_needed(), Some(24 + 24 * (1 << 20)));
    // A 16M-element array of strings in a short file likewise.
    let mut arr = 8u32.to_le_bytes().to_vec();
    arr.extend((16u64 << 20).to_le_bytes());
    let e = gguf::parse_header(&Gguf::new().kv_raw("k", 9, &arr).bytes()).unwrap_err();
    assert!(e.bytes_needed().unwrap() > 8 * (16 << 20));
}

/// An array value: element type id, length, then the elements' bytes.
fn array(elem_ty: u32, len: u64, elems: &[u8]) -> Vec<u8> {
    let mut b = elem_ty.to_le_bytes().to_vec();
    b.extend(len.to_le_bytes());
    b.extend(elems);
    b
}

fn strings(items: &[&str]) -> Vec<u8> {
    let mut b = Vec::new();
    for s in items {
        Gguf::str(&mut b, s);
    }
    b
}

#[test]
fn skipped_arrays_keep_their_length_and_are_still_checked() {
    // A tokenizer string array is skipped whatever its length.
    let tokens = array(8, 3, &strings(&["a", "bc", "def"]));
    let h = gguf::parse_header(
        &Gguf::new()
            .kv_raw("tokenizer.ggml.tokens", 9, &tokens)
            .bytes(),
    )
    .unwrap();
    assert_eq!(
        h.get("tokenizer.ggml.tokens"),
        Some(&MetaValue::SkippedArray {
            elem_type: "string",
            len: 3
        })
    );
    assert_eq!(h.get("tokenizer.ggml.tokens").unwrap().array_len(), Some(3));
    // Any array longer than MAX_DECODED_ARRAY_LEN (4,096) is skipped too: 4,097 u32s.
    let long = array(4, 4097, &[0u8; 4 * 4097]);
    let h = gguf::parse_header(&Gguf::new().kv_raw("k", 9, &long).bytes()).unwrap();
    assert_eq!(
        h.get("k"),
        Some(&MetaValue::SkippedArray {
            elem_type: "u32",
            len: 4097
        })
    );
    // 4,096 are decoded.
    let short = array(4, 4096, &[0u8; 4 * 4096]);
    let h = gguf::parse_header(&Gguf::new().kv_raw("k", 9, &short).bytes()).unwrap();
    assert_eq!(
        h.get("k").and_then(MetaValue::as_array).map(<[_]>::len),
        Some(4096)
    );

    // Skipping checks every string's length: 2 MiB is over the 1 MiB limit. The key is 21 bytes,
    // so the array starts at 24 + 8 + 21 + 4 = 57, its first string at 57 + 12 = 69 and the
    // second string's length at 69 + 8 + 1 = 78.
    let mut bad = array(8, 2, &strings(&["a"]));
    bad.extend((2u64 << 20).to_le_bytes());
    gguf_rejects(
        &Gguf::new().kv_raw("tokenizer.ggml.tokens", 9, &bad).bytes(),
        &[
            "metadata string length at byte 78",
            "over the limit of 1048576",
        ],
    );
    // A bool array's bytes are checked when skipped.
    gguf_rejects(
        &Gguf::new()
            .kv_raw("tokenizer.ggml.flags", 9, &array(7, 3, &[0, 1, 2]))
            .bytes(),
        &["bool", "byte 2 is not 0 or 1"],
    );
    // Nested arrays are walked, with the depth limit.
    let inner = array(4, 2, &[0u8; 8]);
    let outer = array(9, 2, &[inner.clone(), inner].concat());
    let h = gguf::parse_header(&Gguf::new().kv_raw("tokenizer.x", 9, &outer).bytes()).unwrap();
    assert_eq!(h.get("tokenizer.x").unwrap().array_len(), Some(2));
    let mut deep = Vec::new();
    for _ in 0..6 {
        deep.extend(array(9, 1, &[]));
    }
    deep.extend(array(4, 0, &[]));
    gguf_rejects(
        &Gguf::new().kv_raw("tokenizer.x", 9, &deep).bytes(),
        &["nested deeper"],
    );
    // A skipped array cut short asks for more bytes: 3 strings of 8-byte lengths at least.
    let cut = array(8, 3, &strings(&["a"]));
    let e = gguf::parse_header(&Gguf::new().kv_raw("tokenizer.ggml.tokens", 9, &cut).bytes())
        .unwrap_err();
    assert!(e.bytes_needed().is_some(), "{e}");
}

#[test]
fn counts_are_bounded_before_use_and_the_vocabulary_is_the_token_count() {
    let base = |g: Gguf| {
        g.kv_str("general.architecture", "llama")
            .kv_u32("llama.embedding_length", 1024)
            .kv_u32("llama.attention.head_count", 8)
            .kv_u32("llama.context_length", 8192)
    };
    let spec = |g: Gguf| gguf_spec::to_model_spec(&gguf::parse_header(&g.bytes()).unwrap());
    // The vocabulary is the skipped token array's length: 3.
    let tokens = array(8, 3, &strings(&["a", "b", "c"]));
    let s = spec(base(Gguf::new()).kv_u32("llama.block_count", 2).kv_raw(
        "tokenizer.ggml.tokens",
        9,
        &tokens,
    ))
    .unwrap();
    assert_eq!(s.n_vocab, 3);
    // Each count over its `limits` bound is refused at its key.
    for (key, v, limit) in [
        ("llama.block_count", 1025, "1024"),
        ("llama.vocab_size", (1 << 23) + 1, "8388608"),
        ("llama.expert_count", 4097, "4096"),
        ("llama.attention.head_count_kv", 4097, "4096"),
    ] {
        let mut g = base(Gguf::new()).kv_u32(key, v);
        if key != "llama.block_count" {
            g = g.kv_u32("llama.block_count", 2);
        }
        let e = spec(g).unwrap_err().to_string();
        assert!(
            e.contains(&format!("`{key}`")) && e.contains(&format!("over the limit of {limit}")),
            "{key}: {e}"
        );
    }
    // A per-layer kv-head array must have one entry per layer (here 3 for 2 layers).
    let kv = array(4, 3, &[0u8; 12]);
    let e = spec(
        base(Gguf::new())
            .kv_u32("llama.block_count", 2)
            .kv_u32("llama.vocab_size", 100)
            .kv_u32("llama.ssm.conv_kernel", 4)
            .kv_raw("llama.attention.head_count_kv", 9, &kv),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("`llama.attention.head_count_kv`") && e.contains("3 entries for 2 layers"),
        "{e}"
    );
}

#[test]
fn model_spec_errors_name_the_key() {
    let h = gguf::parse_header(&Gguf::new().bytes()).unwrap();
    let e = gguf_spec::to_model_spec(&h).unwrap_err();
    assert!(e.to_string().contains("general.architecture"), "{e}");
    let g = Gguf::new()
        .kv_str("general.architecture", "llama")
        .kv_u32("llama.block_count", 2);
    let e = gguf_spec::to_model_spec(&gguf::parse_header(&g.bytes()).unwrap()).unwrap_err();
    assert!(e.to_string().contains("llama.embedding_length"), "{e}");
    assert!(e.to_string().contains("missing"), "{e}");
}

/// Metadata for a model with the given extra keys; only header parsing and the spec are tested.
fn spec_with(arch: &str, extra: impl FnOnce(Gguf) -> Gguf) -> Result<ModelSpec, FormatError> {
    let k = |s: &str| format!("{arch}.{s}");
    let g = Gguf::new()
        .kv_str("general.architecture", arch)
        .kv_u32(&k("block_count"), 12)
        .kv_u32(&k("embedding_length"), 1024)
        .kv_u32(&k("attention.head_count"), 8)
        .kv_u32(&k("context_length"), 8192)
        .kv_u32(&k("vocab_size"), 1000);
    gguf_spec::to_model_spec(&gguf::parse_header(&extra(g).bytes())?)
}

#[test]
fn sliding_window_patterns_follow_llama_cpp() {
    // llama.cpp set_swa_pattern(n): layer il slides unless il % n == n - 1.
    let gemma = spec_with("gemma3", |g| {
        g.kv_u32("gemma3.attention.sliding_window", 1024)
    })
    .unwrap();
    let sw = gemma.sliding_window.unwrap();
    assert_eq!(sw.window, 1024);
    let globals: Vec<usize> = (0..12).filter(|&i| !sw.layers[i]).collect();
    assert_eq!(globals, vec![5, 11]);
    let oss = spec_with("gpt-oss", |g| {
        g.kv_u32("gpt-oss.attention.sliding_window", 128)
    })
    .unwrap();
    let sw = oss.sliding_window.unwrap();
    assert!(sw.layers[0] && !sw.layers[1] && sw.layers[10] && !sw.layers[11]);
    // Other architectures ignore the key, as llama.cpp does.
    let llama = spec_with("llama", |g| {
        g.kv_u32("llama.attention.sliding_window", 4096)
    })
    .unwrap();
    assert_eq!(llama.sliding_window, None);
    // An explicit per-layer bool array wins.
    let mut flags = 7u32.to_le_bytes().to_vec();
    flags.extend(12u64.to_le_bytes());
    flags.extend((0..12).map(|i| u8::from(i % 3 == 0)));
    let s = spec_with("gemma3", |g| {
        g.kv_u32("gemma3.attention.sliding_window", 512).kv_raw(
            "gemma3.attention.sliding_window_pattern",
            9,
            &flags,
        )
    })
    .unwrap();
    assert_eq!(s.n_full_attn_layers(), 8);
}

#[test]
fn per_layer_head_counts_and_mla_keys_are_read() {
    // head_count_kv as a per-layer array (llama.cpp get_key_or_arr): the widest layer is kept.
    let mut arr = 4u32.to_le_bytes().to_vec();
    arr.extend(12u64.to_le_bytes());
    for i in 0..12u32 {
        arr.extend((if i % 2 == 0 { 2u32 } else { 4 }).to_le_bytes());
    }
    let s = spec_with("llama", |g| {
        g.kv_raw("llama.attention.head_count_kv", 9, &arr)
    })
    .unwrap();
    assert_eq!(s.n_head_kv, 4);
    // DeepSeek-V2-Lite's published shapes (config.json: kv_lora_rank 512, qk_rope_head_dim 64,
    // qk_nope_head_dim 128, v_head_dim 128) as a current converter writes them: key_length
    // 512 + 64 for the latent, *_mla for the per-head sizes, head_count_kv 1.
    let s = spec_with("deepseek2", |g| {
        g.kv_u32("deepseek2.attention.kv_lora_rank", 512)
            .kv_u32("deepseek2.rope.dimension_count", 64)
            .kv_u32("deepseek2.attention.key_length", 576)
            .kv_u32("deepseek2.attention.value_length", 512)
            .kv_u32("deepseek2.attention.key_length_mla", 192)
            .kv_u32("deepseek2.attention.value_length_mla", 128)
            .kv_u32("deepseek2.attention.head_count_kv", 1)
            .kv_u32("deepseek2.expert_count", 64)
            .kv_u32("deepseek2.expert_used_count", 6)
            .kv_u32("deepseek2.expert_feed_forward_length", 1408)
            .kv_u32("deepseek2.expert_shared_count", 2)
            .kv_u32("deepseek2.leading_dense_block_count", 1)
            .kv_u32("deepseek2.feed_forward_length", 10944)
    })
    .unwrap();
    let mla = s.mla.unwrap();
    assert_eq!(
        (
            mla.kv_lora_rank,
            mla.qk_rope_head_dim,
            mla.qk_nope_head_dim,
            mla.v_head_dim
        ),
        (512, 64, 128, 128)
    );
    assert_eq!(mla.q_lora_rank, None);
    assert_eq!((s.head_dim_k, s.head_dim_v, s.n_head_kv), (192, 128, 8));
    let moe = s.moe.unwrap();
    assert_eq!(
        (moe.n_expert, moe.n_expert_used, moe.expert_ff),
        (64, 6, 1408)
    );
    assert_eq!((moe.shared_ff, moe.n_dense_lead), (2 * 1408, 1));
    assert_eq!(s.n_ff, 10944);
}

#[test]
fn safetensors_fixture_is_read_exactly() {
    let h = st::parse_header(SAFETENSORS, Some(SAFETENSORS.len() as u64)).unwrap();
    assert_eq!(
        h.metadata,
        vec![
            ("format".to_string(), "pt".to_string()),
            ("source".to_string(), "make_fixtures.py".to_string())
        ]
    );
    let find = |n: &str| h.tensors.iter().find(|t| t.name == n).unwrap();
    // Shapes and dtypes as make_fixtures.py wrote them with numpy.
    let expect = [
        ("model.embed_tokens.weight", Dtype::F16, vec![16, 8], 256),
        (
            "model.layers.0.input_layernorm.weight",
            Dtype::F32,
            vec![8],
            32,
        ),
        (
            "model.layers.0.self_attn.q_proj.qweight",
            Dtype::I32,
            vec![1, 8],
            32,
        ),
        (
            "model.layers.0.self_attn.q_proj.scales",
            Dtype::F16,
            vec![1, 8],
            16,
        ),
        ("model.layers.0.mlp.router.bias", Dtype::F64, vec![4], 32),
        ("model.layers.0.mask", Dtype::BOOL, vec![2, 3], 6),
        ("model.layers.0.ids", Dtype::I64, vec![3], 24),
        ("model.layers.0.bytes", Dtype::U8, vec![5], 5),
    ];
    assert_eq!(h.tensors.len(), expect.len());
    for (name, dtype, shape, bytes) in expect {
        let t = find(name);
        assert_eq!(
            (t.dtype, &t.shape, t.bytes()),
            (dtype, &shape, bytes),
            "{name}"
        );
    }
    // 128 + 8 + 8 + 8 + 4 + 6 + 3 + 5 elements; 256 + 32 + 32 + 16 + 32 + 6 + 24 + 5 bytes.
    assert_eq!(h.n_elements, 170);
    assert_eq!(h.data_bytes, 403);
    assert_eq!(h.data_offset + h.data_bytes, SAFETENSORS.len() as u64);
    assert!(h.tensors.windows(2).all(|w| w[0].end <= w[1].begin));

    let h = st::parse_header(BF16_FP8, Some(BF16_FP8.len() as u64)).unwrap();
    let dt: Vec<_> = h
        .tensors
        .iter()
        .map(|t| (t.dtype, t.n_elements()))
        .collect();
    assert_eq!(
        dt,
        vec![(Dtype::BF16, 8), (Dtype::F8_E4M3, 16), (Dtype::F32, 1)]
    );
}

#[test]
fn every_safetensors_prefix_asks_for_the_exact_header_length() {
    let full = st::parse_header(SAFETENSORS, None).unwrap().data_offset;
    for len in 0..full as usize {
        let e = st::parse_header(&SAFETENSORS[..len], None).unwrap_err();
        let want = if len < 8 { 8 } else { full };
        assert_eq!(e.bytes_needed(), Some(want), "{len}");
    }
    assert!(st::parse_header(&SAFETENSORS[..full as usize], None).is_ok());
}

fn safetensors_with(
    json: &str,
    file_size: Option<u64>,
) -> Result<st::SafetensorsHeader, FormatError> {
    let mut b = (json.len() as u64).to_le_bytes().to_vec();
    b.extend(json.as_bytes());
    st::parse_header(&b, file_size)
}

#[test]
fn corrupt_safetensors_headers_are_rejected() {
    let mut huge = SAFETENSORS.to_vec();
    huge[..8].copy_from_slice(&(200u64 << 20).to_le_bytes());
    let e = st::parse_header(&huge, None).unwrap_err();
    assert!(e.to_string().contains("over the limit"), "{e}");

    let cases = [
        (r#"[1]"#, "does not start with"),
        (r#"{"a": 1"#, "not a JSON object"),
        (
            r#"{"a": {"dtype": "F17", "shape": [1], "data_offsets": [0, 2]}}"#,
            "unknown dtype `F17`",
        ),
        (
            r#"{"a": {"dtype": "F16", "shape": [1], "data_offsets": [4, 2]}}"#,
            "after end",
        ),
        (
            r#"{"a": {"dtype": "F16", "shape": [3], "data_offsets": [0, 2]}}"#,
            "which takes 6",
        ),
        (
            r#"{"a": {"dtype": "F16", "shape": [-1], "data_offsets": [0, 2]}}"#,
            "shape entry -1",
        ),
        (r#"{"a": {"dtype": "F16", "shape": [1]}}"#, "data_offsets"),
        (
            r#"{"a": {"dtype": "U8", "shape": [4294967296, 4294967296], "data_offsets": [0, 1]}}"#,
            "64 bits",
        ),
        (
            r#"{"a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]},
                "b": {"dtype": "F16", "shape": [2], "data_offsets": [2, 6]}}"#,
            "overlap tensor `a`",
        ),
        (r#"{"__metadata__": {"k": 1}}"#, "not a string"),
    ];
    for (json, word) in cases {
        let e = safetensors_with(json, None).unwrap_err();
        assert!(e.to_string().contains(word), "{json}: {e}");
    }
    let ok = r#"{"a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]}}"#;
    let header_end = 8 + ok.len() as u64;
    assert!(safetensors_with(ok, Some(header_end + 4)).is_ok());
    let e = safetensors_with(ok, Some(header_end + 3)).unwrap_err();
    assert!(e.to_string().contains("past the 3 bytes"), "{e}");
    let e = safetensors_with(ok, Some(10)).unwrap_err();
    assert!(e.to_string().contains("does not fit"), "{e}");
}

#[test]
fn safetensors_index_is_read() {
    let idx = st::parse_index(INDEX).unwrap();
    // total_size: the 403 data bytes of tiny.safetensors, as the script sums numpy nbytes.
    assert_eq!(idx.total_size, Some(403));
    assert_eq!(idx.weight_map.len(), 8);
    assert_eq!(
        idx.shards(),
        vec![
            "model-00001-of-00002.safetensors",
            "model-00002-of-00002.safetensors"
        ]
    );
    assert!(st::parse_index(b"{}")
        .unwrap_err()
        .to_string()
        .contains("weight_map"));
    assert!(st::parse_index(br#"{"weight_map": {"a": 1}}"#).is_err());
    assert!(st::parse_index(br#"{"metadata": {"total_size": "x"}, "weight_map": {}}"#).is_err());
}

#[test]
fn llama_fixture_types_agree_with_the_q4_k_m_rules() {
    // The fixture's types were assigned by hand from llama-quantize's Q4_K_M rules (see
    // make_fixtures.py); headroom-core's port of those rules must size each tensor the same.
    use headroom_core::quant::{stored_from_gguf, stored_tensors, Quant};
    let h = header(LLAMA);
    let spec = gguf_spec::to_model_spec(&h).unwrap();
    let mix = gguf_spec::file_type(&h).unwrap();
    let mut from_rules = stored_tensors(&spec, &Quant::Gguf { mix });
    let mut from_file = stored_from_gguf(&h.tensors);
    from_rules.sort_by(|a, b| a.name.cmp(&b.name));
    from_file.sort_by(|a, b| a.name.cmp(&b.name));
    assert_eq!(from_rules, from_file);
}
