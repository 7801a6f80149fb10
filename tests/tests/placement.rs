//! The placement: where each tensor, KV layer and buffer of a catalog scenario sits, derived by
//! hand from the models' public config.json values (data/models/), its resident bytes per device
//! against `fit`'s, and one reviewable snapshot per case of the placement with the answers `fit`
//! and the speed model give for it.
#![allow(clippy::unwrap_used)]

use headroom_core::memory::{mlx, transformers, vllm};
use headroom_core::placement::{self, BufferKind, Placement, Site};
use headroom_core::plan::{Runtime, Scenario};
use headroom_core::speed::{SpeedModel, SpeedQuery};
use headroom_core::tensors::TensorRole;
use headroom_data::ScenarioRequest;
use std::collections::BTreeMap;
use std::fmt::Write;

fn build(req: ScenarioRequest) -> Scenario {
    headroom_data::build(&req, None).unwrap()
}

fn request(model: &str, quant: &str, hardware: &[&str], runtime: &str) -> ScenarioRequest {
    ScenarioRequest {
        model: model.into(),
        quant: Some(quant.into()),
        hardware: hardware.iter().map(|h| h.to_string()).collect(),
        runtime: Some(runtime.into()),
        ..ScenarioRequest::default()
    }
}

/// Every layer's KV bytes per cached position, checked to be `per_layer` each; returns the sum.
fn kv_per_position(p: &Placement, per_layer: f64) -> f64 {
    for k in &p.kv {
        assert_eq!(k.read_per_position, per_layer, "layer {}", k.layer);
    }
    p.kv.iter().map(|k| k.read_per_position).sum()
}

#[test]
fn a_tied_embedding_is_read_whole_as_the_output_head() {
    // Qwen3-0.6B F16 on an RTX 4090 (config.json: hidden 1024, vocab 151936,
    // tie_word_embeddings true). The 151936 x 1024 F16 table, 311,164,928 bytes, is copied to the GPU
    // that runs the output layer and every token reads it whole for its logits; with the 28
    // layers and the output norm (881,065,984 bytes, tests/speed.rs) a token reads
    // 1,192,230,912 bytes there. The input table, in system RAM, costs a token one row.
    let s = build(request("qwen3-0.6b", "F16", &["rtx-4090"], "llama.cpp"));
    let p = placement::place(&s);
    let embd: Vec<_> = p
        .tensors
        .iter()
        .filter(|t| t.role == TensorRole::TokenEmbd)
        .collect();
    // the input table in system RAM, a lookup; its copy on the GPU, the output head
    assert_eq!(embd.len(), 2);
    assert_eq!((embd[0].site, embd[0].read_per_token), (Site::Host, 0.0));
    assert_eq!(embd[1].site, Site::Device(0));
    assert_eq!(embd[1].read_per_token, 311_164_928.0);
    assert_eq!(embd[1].flops_per_token, 2.0 * 151_936.0 * 1024.0);
    assert_eq!(p.weight_reads_at(Site::Device(0)), 1_192_230_912.0);
    assert_eq!(p.weight_reads_at(Site::Host), 0.0);
}

#[test]
fn an_untied_embedding_costs_a_token_one_row() {
    // Qwen3-8B (tie_word_embeddings false): the 151936 x 4096 table is a lookup, not a matmul.
    let s = build(request("qwen3-8b", "Q4_K_M", &["rtx-4090"], "llama.cpp"));
    let p = placement::place(&s);
    let embd = p
        .tensors
        .iter()
        .find(|t| t.role == TensorRole::TokenEmbd)
        .unwrap();
    assert_eq!((embd.read_per_token, embd.flops_per_token), (0.0, 0.0));
}

#[test]
fn llama_cpp_kv_per_position() {
    // Qwen3-8B (config.json): 36 layers, 8 key-value heads, head_dim 128. F16 cache: K and V rows
    // of 8 x 128 elements x 2 bytes = 4,096 bytes per layer, 147,456 per position.
    let s = build(request("qwen3-8b", "Q4_K_M", &["rtx-4090"], "llama.cpp"));
    let p = placement::place(&s);
    assert_eq!(p.kv.len(), 36);
    assert_eq!(kv_per_position(&p, 4096.0), 147_456.0);
    // q8_0 rows: 1,024 elements = 32 blocks of 34 bytes = 1,088 per row, 2,176 per layer.
    let s = build(ScenarioRequest {
        cache_type_k: Some("q8_0".into()),
        cache_type_v: Some("q8_0".into()),
        flash_attn: Some(true),
        ..request("qwen3-8b", "Q4_K_M", &["rtx-4090"], "llama.cpp")
    });
    assert_eq!(
        kv_per_position(&placement::place(&s), 2176.0),
        36.0 * 2176.0
    );
}

#[test]
fn mlx_caches_an_mla_models_latent() {
    // GLM-4.7-Flash (config.json): 47 layers, kv_lora_rank 512, qk_rope_head_dim 64, bfloat16.
    // mlx-lm caches the latent and the rope key (no V): (512 + 64) x 2 bytes = 1,152 per layer,
    // 54,144 per position, as the MLX memory model counts it.
    let s = build(request("glm-4.7-flash", "mlx-4bit", &["m4-max-40c"], "mlx"));
    let p = placement::place(&s);
    assert_eq!(p.kv.len(), 47);
    assert_eq!(kv_per_position(&p, 1152.0), 54_144.0);
    assert_eq!(mlx::kv_bytes_per_token(&s.model, None), 54_144.0);
    // --kv-bits 4: 4 bits plus a 16-bit scale and bias per 64 elements, 4.5 bits: 576 x 0.5625
    // = 324 bytes per layer.
    let s = build(ScenarioRequest {
        kv_bits: Some(4),
        ..request("glm-4.7-flash", "mlx-4bit", &["m4-max-40c"], "mlx")
    });
    assert_eq!(kv_per_position(&placement::place(&s), 324.0), 47.0 * 324.0);
}

#[test]
fn vllm_and_transformers_kv_per_position() {
    // vLLM, Qwen3-8B in bf16: 8 x 128 x (K + V) x 2 bytes = 4,096 per layer, as its pool counts.
    let s = build(request("qwen3-8b", "bf16", &["h100-sxm"], "vllm"));
    let p = placement::place(&s);
    assert_eq!(kv_per_position(&p, 4096.0), 147_456.0);
    let Runtime::Vllm(vs) = &s.runtime else {
        panic!("vllm scenario")
    };
    assert_eq!(vllm::kv_bytes_per_token(&s.model, vs), 147_456);
    // vLLM on GLM-4.7-Flash's MLA: the latent, (512 + 64) x 2 = 1,152 bytes per layer.
    let s = build(request("glm-4.7-flash", "bf16", &["h100-sxm"], "vllm"));
    assert_eq!(
        kv_per_position(&placement::place(&s), 1152.0),
        47.0 * 1152.0
    );
    // transformers keeps the decompressed K and V of every head: 20 heads x (qk_nope 192 +
    // qk_rope 64) + 20 x v_head_dim 256 = 10,240 elements x 2 bytes = 20,480 per layer.
    let s = build(request(
        "glm-4.7-flash",
        "bf16",
        &["h100-sxm"],
        "transformers",
    ));
    assert_eq!(
        kv_per_position(&placement::place(&s), 20_480.0),
        47.0 * 20_480.0
    );
    assert_eq!(transformers::kv_bytes_per_token(&s.model), 47 * 20_480);
}

/// The placement's resident bytes on each accelerator and on the host against what `fit` reports
/// there, to the byte. A CPU-only run's one device is the host. The buffers are the memory
/// model's own (`with_buffers`), so what this checks is that the placement puts every weight byte
/// where the memory model does.
fn resident_matches_fit(req: ScenarioRequest) {
    let s = build(req);
    let p = placement::with_buffers(&s);
    let f = headroom_core::fit(&s);
    if p.n_devices == 0 {
        assert_eq!(f.devices.len(), 1);
        assert_eq!(
            p.resident_at(Site::Host),
            f.devices[0].total_bytes,
            "{}",
            s.model.name
        );
        return;
    }
    assert_eq!(f.devices.len(), p.n_devices, "{}", s.model.name);
    for (i, d) in f.devices.iter().enumerate() {
        assert_eq!(
            p.resident_on(i),
            d.total_bytes,
            "{} on {}",
            s.model.name,
            d.name
        );
    }
    assert_eq!(
        p.resident_at(Site::Host),
        f.host_breakdown.total(),
        "{} host",
        s.model.name
    );
}

#[test]
fn resident_bytes_per_device_are_what_fit_reports() {
    // dense on one GPU
    resident_matches_fit(ScenarioRequest {
        ctx: Some(8192),
        ..request("qwen3-8b", "Q4_K_M", &["rtx-4090"], "llama.cpp")
    });
    // -ngl 20: twelve layers, the output layer and their KV in system RAM
    resident_matches_fit(ScenarioRequest {
        ctx: Some(8192),
        gpu_layers: Some(20),
        host: Some("ddr5-5600-2ch".into()),
        ..request("llama-3.1-8b", "Q4_K_M", &["rtx-3060"], "llama.cpp")
    });
    // --n-cpu-moe 24
    resident_matches_fit(ScenarioRequest {
        ctx: Some(8192),
        n_cpu_moe: Some(24),
        ..request("qwen3-30b-a3b", "Q4_K_M", &["rtx-4090"], "llama.cpp")
    });
    // split over two GPUs by memory
    resident_matches_fit(ScenarioRequest {
        ctx: Some(8192),
        gpus: Some(2),
        ..request("llama-3.1-70b", "Q4_K_M", &["rtx-3090"], "llama.cpp")
    });
    // a projector on the GPU
    resident_matches_fit(ScenarioRequest {
        ctx: Some(8192),
        mmproj: Some(true),
        ..request("qwen3-vl-8b", "Q4_K_M", &["rtx-4090"], "llama.cpp")
    });
    // CPU only, with the repacked copy
    resident_matches_fit(ScenarioRequest {
        ctx: Some(4096),
        ram_gib: Some(64.0),
        ..request("qwen3-0.6b", "Q4_0", &["ryzen-9-7950x"], "llama.cpp")
    });
    // MLX on a Mac, vLLM tensor parallel, transformers
    resident_matches_fit(ScenarioRequest {
        ctx: Some(8192),
        ..request("qwen3-8b", "mlx-4bit", &["m4-max-40c"], "mlx")
    });
    resident_matches_fit(ScenarioRequest {
        ctx: Some(32768),
        gpus: Some(2),
        tensor_parallel: Some(2),
        ..request("qwen3-32b", "bf16", &["h100-sxm"], "vllm")
    });
    resident_matches_fit(ScenarioRequest {
        ctx: Some(8192),
        ..request("qwen3-8b", "bf16", &["h100-sxm"], "transformers")
    });
}

#[test]
fn a_tied_table_is_resident_on_the_host_and_copied_to_the_output_gpu() {
    // Gemma 3 12B (tied embeddings) on an RTX 4090: the input table stays in system RAM, and
    // llama.cpp loads a copy as the output head into the output layer's buffer on the GPU
    // (llama-model-loader.cpp `create_tensor` gives a TENSOR_DUPLICATED token_embd
    // LLM_TENSOR_OUTPUT's buffer list). The placement holds both; fit's memory model counts the
    // host table only, so the GPU differs from fit by exactly the table.
    let s = build(ScenarioRequest {
        ctx: Some(16384),
        ..request("gemma-3-12b", "Q4_K_M", &["rtx-4090"], "llama.cpp")
    });
    assert!(s.model.tied_embeddings);
    let table = headroom_core::Bytes(s.weight_summary.token_embd);
    let p = placement::with_buffers(&s);
    let embd: Vec<_> = p
        .tensors
        .iter()
        .filter(|t| t.role == TensorRole::TokenEmbd)
        .map(|t| (t.site, t.resident, t.read_per_token))
        .collect();
    let whole = table.0 as f64;
    assert_eq!(
        embd,
        [(Site::Host, table, 0.0), (Site::Device(0), table, whole)]
    );
    let f = headroom_core::fit(&s);
    assert_eq!(p.resident_on(0), f.devices[0].total_bytes + table);
    assert_eq!(p.resident_at(Site::Host), f.host_breakdown.total());
}

fn site_name(s: Site) -> String {
    match s {
        Site::Device(i) => format!("gpu{i}"),
        Site::Shards(n) => format!("shards/{n}"),
        Site::Host => "host".into(),
    }
}

fn role_name(r: TensorRole) -> &'static str {
    match r {
        TensorRole::TokenEmbd => "token_embd",
        TensorRole::Output => "output",
        TensorRole::OutputNorm => "output_norm",
        TensorRole::Attn => "attn",
        TensorRole::Ffn => "ffn",
        TensorRole::Experts => "experts",
        TensorRole::SharedExperts => "shared_experts",
        TensorRole::LayerOther => "layer_other",
        TensorRole::Other => "other",
    }
}

const MIB: f64 = 1_048_576.0;

/// Tensors of one role at one site, summed.
#[derive(Default)]
struct Group {
    count: u32,
    resident: u64,
    read: f64,
    flops: f64,
}

/// The placement with its buffers and the answers, as fixed-precision text tables.
fn render(s: &Scenario) -> String {
    let p = placement::with_buffers(s);
    let mut out = String::new();
    let w = &mut out;
    writeln!(
        w,
        "{} {} on {} via {}",
        s.model.name,
        s.quant,
        devices(s),
        s.runtime.label()
    )
    .unwrap();
    writeln!(w, "\ntensors").unwrap();
    writeln!(
        w,
        "{:<15} {:>6} {:<9} {:>12} {:>14} {:>14}",
        "role", "count", "device", "resident MiB", "MiB read/token", "GFLOP/token"
    )
    .unwrap();
    // tensors grouped by role and site, in the order each group first appears
    let mut groups: Vec<((TensorRole, Site), Group)> = Vec::new();
    for t in &p.tensors {
        let key = (t.role, t.site);
        let i = match groups.iter().position(|(k, _)| *k == key) {
            Some(i) => i,
            None => {
                groups.push((key, Group::default()));
                groups.len() - 1
            }
        };
        let g = &mut groups[i].1;
        g.count += 1;
        g.resident += t.resident.0;
        g.read += t.read_per_token;
        g.flops += t.flops_per_token;
    }
    for ((role, site), g) in &groups {
        writeln!(
            w,
            "{:<15} {:>6} {:<9} {:>12.2} {:>14.2} {:>14.3}",
            role_name(*role),
            g.count,
            site_name(*site),
            g.resident as f64 / MIB,
            g.read / MIB,
            g.flops / 1e9
        )
        .unwrap();
    }
    writeln!(w, "\nkv layers").unwrap();
    writeln!(
        w,
        "{:<7} {:>6} {:<9} {:<9} {:>16} {:>17}",
        "kind", "layers", "cache", "attention", "KiB read/position", "MFLOP/position"
    )
    .unwrap();
    let mut kv: BTreeMap<(bool, Site, Site), (u32, f64, f64)> = BTreeMap::new();
    for k in &p.kv {
        let e = kv.entry((k.sliding, k.cache, k.attention)).or_default();
        e.0 += 1;
        e.1 += k.read_per_position;
        e.2 += k.flops_per_position;
    }
    for ((sliding, cache, attn), (n, read, flops)) in &kv {
        writeln!(
            w,
            "{:<7} {:>6} {:<9} {:<9} {:>16.3} {:>17.4}",
            if *sliding { "sliding" } else { "full" },
            n,
            site_name(*cache),
            site_name(*attn),
            read / 1024.0,
            flops / 1e6
        )
        .unwrap();
    }
    writeln!(w, "\nbuffers").unwrap();
    writeln!(w, "{:<10} {:<9} {:>12}", "kind", "device", "resident MiB").unwrap();
    for b in &p.buffers {
        writeln!(
            w,
            "{:<10} {:<9} {:>12.2}",
            buffer_name(b.kind),
            site_name(b.site),
            b.resident.0 as f64 / MIB
        )
        .unwrap();
    }
    let f = headroom_core::fit(s);
    writeln!(w, "\nfit: n_ctx {}, fits {}", f.n_ctx, f.fits).unwrap();
    for d in &f.devices {
        writeln!(
            w,
            "{:<24} total {:>10.2} MiB of {:>10.2} MiB usable",
            d.name,
            d.total_bytes.0 as f64 / MIB,
            d.usable_bytes.0 as f64 / MIB
        )
        .unwrap();
    }
    if f.host_breakdown.total().0 > 0 {
        writeln!(
            w,
            "{:<24} total {:>10.2} MiB",
            "host",
            f.host_breakdown.total().0 as f64 / MIB
        )
        .unwrap();
    }
    let params = headroom_data::speed_params_for(s.runtime.name()).unwrap();
    let q = SpeedQuery::default();
    let sp = SpeedModel::new(s, params).query(&q);
    writeln!(
        w,
        "speed (pp{} tg{}): decode {:.2} tok/s (bound {:.2}), prefill {}",
        q.prompt_tokens,
        q.gen_tokens,
        sp.decode_tok_s,
        sp.decode_bound_tok_s,
        sp.prefill_tok_s
            .map_or("none".to_string(), |t| format!("{t:.1} tok/s"))
    )
    .unwrap();
    out
}

fn buffer_name(k: BufferKind) -> &'static str {
    k.name()
}

fn devices(s: &Scenario) -> String {
    s.devices
        .iter()
        .map(|d| d.id.as_str())
        .collect::<Vec<_>>()
        .join(" + ")
}

/// One snapshot per case: dense GQA on a CUDA GPU, a partial offload (-ngl), a MoE with
/// --n-cpu-moe, a sliding-window model, MLX on a Mac, a CPU-only run.
#[test]
fn snapshots_of_the_placement_and_its_answers() {
    let cases = [
        (
            "dense_gqa_cuda",
            ScenarioRequest {
                ctx: Some(8192),
                ..request("qwen3-8b", "Q4_K_M", &["rtx-4090"], "llama.cpp")
            },
        ),
        (
            "partial_offload_ngl",
            ScenarioRequest {
                ctx: Some(8192),
                gpu_layers: Some(20),
                host: Some("ddr5-5600-2ch".into()),
                ..request("llama-3.1-8b", "Q4_K_M", &["rtx-3060"], "llama.cpp")
            },
        ),
        (
            "moe_n_cpu_moe",
            ScenarioRequest {
                ctx: Some(8192),
                n_cpu_moe: Some(24),
                host: Some("ddr5-5600-2ch".into()),
                ..request("qwen3-30b-a3b", "Q4_K_M", &["rtx-4090"], "llama.cpp")
            },
        ),
        (
            "sliding_window",
            ScenarioRequest {
                ctx: Some(16384),
                ..request("gemma-3-12b", "Q4_K_M", &["rtx-4090"], "llama.cpp")
            },
        ),
        (
            "mlx_mac",
            ScenarioRequest {
                ctx: Some(8192),
                ..request("qwen3-8b", "mlx-4bit", &["m4-max-40c"], "mlx")
            },
        ),
        (
            "cpu_only",
            ScenarioRequest {
                ctx: Some(4096),
                ram_gib: Some(64.0),
                ..request("qwen3-0.6b", "Q4_0", &["ryzen-9-7950x"], "llama.cpp")
            },
        ),
    ];
    for (name, req) in cases {
        insta::assert_snapshot!(name, render(&build(req)));
    }
}
