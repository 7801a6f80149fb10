//! The CPU speed fit (`speed::cpu_least_squares`) on the harness's llama-bench runs: the committed
//! parameters are a fresh fit of the committed records, one record's terms derived by hand, and a
//! catalog CPU's prompt speed from its instruction set and clock (or `--cpu`'s) by hand.

use headroom_core::hardware::DeviceKind;
use headroom_core::plan::Scenario;
use headroom_core::speed::cpu::Isa;
use headroom_core::speed::cpu_least_squares::{self, CpuPhase, CpuSpeedParams};
use headroom_core::speed::{SpeedModel, SpeedQuery};
use headroom_data::request::CpuNumbers;
use headroom_data::{catalog, speed_params_for, ScenarioRequest};
use headroom_tests::cpu_report::build;

fn committed() -> &'static CpuSpeedParams {
    speed_params_for("llama.cpp")
        .expect("speed params load")
        .cpu
        .as_ref()
        .expect("data/speed/llama-cpp-cpu.json is embedded")
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1e-12)
}

#[test]
fn committed_cpu_parameters_are_a_fresh_fit() {
    let r = build(catalog().expect("catalog loads"));
    let (c, f) = (committed(), &r.params);
    let stale = "data/speed/llama-cpp-cpu.json is stale: run `cargo run -p headroom-tests --example cpu_fit`";
    assert_eq!(c.models, f.models, "{stale}");
    assert_eq!(c.quants, f.quants, "{stale}");
    assert_eq!(
        (c.n_decode, c.n_prefill),
        (f.n_decode, f.n_prefill),
        "{stale}"
    );
    let pairs = [
        (c.decode.inv_bw_eff, f.decode.inv_bw_eff),
        (c.decode.inv_kv_eff, f.decode.inv_kv_eff),
        (c.decode.layer_s, f.decode.layer_s),
        (c.decode.thread_eff, f.decode.thread_eff),
        (
            c.prefill.attn_cycles_per_flop,
            f.prefill.attn_cycles_per_flop,
        ),
        (c.prefill.layer_cycles, f.prefill.layer_cycles),
        (c.prefill.thread_eff, f.prefill.thread_eff),
        (c.decode_rel_sd, f.decode_rel_sd),
        (c.prefill_rel_sd, f.prefill_rel_sd),
    ];
    for (i, (a, b)) in pairs.iter().enumerate() {
        assert!(close(*a, *b), "{stale}: parameter {i}: {a} vs {b}");
    }
    for (a, b) in [
        (&c.decode.cycles_per_flop, &f.decode.cycles_per_flop),
        (&c.prefill.cycles_per_flop, &f.prefill.cycles_per_flop),
    ] {
        assert_eq!(
            a.keys().collect::<Vec<_>>(),
            b.keys().collect::<Vec<_>>(),
            "{stale}"
        );
        for (k, v) in a {
            assert!(close(*v, b[k]), "{stale}: {k}: {v} vs {}", b[k]);
        }
    }
    // The fit rests on several architectures and more than one quantization, and every row it
    // fitted is predicted.
    assert!(f.models.len() >= 5, "{:?}", f.models);
    assert!(f.quants.len() >= 3, "{:?}", f.quants);
    assert_eq!(r.in_sample.len(), r.rows.len());
    // Left out, every architecture's rows are still predicted (by the others' fit).
    let (d, nd) = cpu_least_squares::mdape(&r.rows, &r.by_arch, CpuPhase::Decode);
    let (p, np) = cpu_least_squares::mdape(&r.rows, &r.by_arch, CpuPhase::Prefill);
    assert_eq!(nd + np, r.rows.len());
    assert!(d.is_finite() && p.is_finite());
}

#[test]
fn one_record_by_hand() {
    // qwen3-0.6b Q4_0, llama-bench tg32 at depth 0 on one thread (raw/bench/qwen3-0.6b-Q4_0-t1-d0.jsonl
    // line 3). Qwen/Qwen3-0.6B config.json: hidden 1024, 28 layers, 16 heads of 128, 8 KV heads,
    // intermediate 3072, vocab 151936, tied embeddings.
    let r = build(catalog().expect("catalog loads"));
    let row = r
        .rows
        .iter()
        .find(|x| x.label == "qwen3-0.6b Q4_0 t1 tg32@d0")
        .expect("the qwen3-0.6b Q4_0 one-thread decode row is fitted");
    // Per layer the matmuls hold q 1024x2048 + k 1024x1024 + v 1024x1024 + o 2048x1024 + 3 x
    // 1024x3072 = 15,728,640 elements, 440,401,920 over 28 layers, all Q4_0 (18 bytes per 32):
    // 247,726,080 bytes. The tied embedding is the output head, Q6_K as llama-quantize stores it
    // (210 bytes per 256): 151936 x 1024 = 155,582,464 elements, 127,626,240 bytes. The F32
    // norms: 28 x (1024 + 1024 + 128 + 128) x 4 + 1024 x 4 = 262,144 bytes. A token reads it all:
    // 375,614,464 bytes, llama-bench's model_size for the file.
    assert_eq!(row.work.weight_bytes, 375_614_464.0);
    assert_eq!(row.work.kernel_flops["q4_0+repack"], 2.0 * 440_401_920.0);
    assert_eq!(row.work.kernel_flops["q6_k"], 2.0 * 155_582_464.0);
    assert_eq!(row.work.head_flops["q6_k"], 2.0 * 155_582_464.0);
    // f16 K and V: 28 layers x 2 x 8 heads x 128 x 2 bytes per position.
    assert_eq!(row.work.kv_full_per_pos, 28.0 * 2.0 * 8.0 * 128.0 * 2.0);
    // The record's CPU: the one-thread bandwidth measured before the run, 2.6 GHz.
    assert_eq!(row.machine.bandwidth, 15.164e9);
    assert_eq!(row.machine.threads, 1);
    assert!((row.machine.hz.expect("clock") - 2.6e9).abs() < 1.0);
    // The decode time from the committed parameters, term by term: weights over bandwidth, the
    // KV read over 32 tokens from depth 0 (mean position 15.5), the per-layer cost of 28 layers
    // and the output, and the matmul cycles on one thread at 2.6 GHz.
    let p = committed();
    let d = &p.decode;
    let kv = 114_688.0 * 15.5;
    let cycles = d.cycles_per_flop["q4_0+repack"] * 880_803_840.0
        + d.cycles_per_flop["q6_k"] * 311_164_928.0;
    let t = d.inv_bw_eff * 375_614_464.0 / 15.164e9
        + d.inv_kv_eff * kv / 15.164e9
        + d.layer_s * row.work.layers
        + cycles / 2.6e9;
    let predicted = cpu_least_squares::predict(p, row).expect("a clock is given");
    assert!(
        (predicted - 1.0 / t).abs() < 1e-9 * predicted,
        "{predicted} vs {}",
        1.0 / t
    );
}

fn cpu_scenario(hardware: &[&str], cpu: Option<CpuNumbers>) -> Scenario {
    let req = ScenarioRequest {
        model: "qwen3-0.6b".into(),
        quant: Some("Q4_0".into()),
        hardware: hardware.iter().map(|h| h.to_string()).collect(),
        runtime: Some("llama.cpp".into()),
        ctx: Some(4096),
        ram_gib: Some(64.0),
        cpu,
        ..ScenarioRequest::default()
    };
    headroom_data::build(&req, None).expect("the scenario builds")
}

fn speed_model(s: &Scenario) -> SpeedModel {
    SpeedModel::new(s, speed_params_for("llama.cpp").expect("speed params load"))
}

#[test]
fn a_catalog_cpu_gets_a_prompt_speed_by_hand() {
    // data/hardware/ryzen-9-7950x.json: 16 cores, AVX-512, base clock 4.5 GHz (AMD's spec page).
    let s = cpu_scenario(&["ryzen-9-7950x"], None);
    let m = cpu_least_squares::machine_of(&s).expect("the catalog CPU gives its threads");
    assert_eq!(m.threads, 16);
    assert_eq!(m.isa, Some(Isa::Avx512));
    assert_eq!(m.hz, Some(4.5e9));
    // Qwen3-0.6B Q4_0 (one_record_by_hand): 440,401,920 Q4_0 matmul elements, repacked on x86,
    // and the tied Q6_K output head of 155,582,464; 28 layers and the output layer.
    let w = cpu_least_squares::cpu_work(&s, m.isa);
    assert_eq!(w.kernel_flops["q4_0+repack"], 880_803_840.0);
    assert_eq!(w.head_flops["q6_k"], 311_164_928.0);
    assert_eq!(w.layers, 29.0);
    // A 512-token prompt from depth 0 on AVX-512, the fit's own instruction set (no scaling):
    // threads_eff = 1 + s x 15, and each kernel's cycles/FLOP x FLOPs over threads_eff x clock,
    // the body for 512 tokens and the head for the last; the per-layer cycles ride with them.
    let p = &committed().prefill;
    let t_eff = 1.0 + p.thread_eff * 15.0;
    let cycles = p.cycles_per_flop["q4_0+repack"] * 880_803_840.0 * 512.0
        + p.cycles_per_flop["q6_k"] * 311_164_928.0
        + p.layer_cycles * 29.0 * 512.0;
    let by_hand = cycles / (t_eff * 4.5e9);
    let sm = speed_model(&s);
    let terms = sm.prefill_time(0.0, 512.0).expect("a prompt speed");
    assert!(
        close(terms.matmul_s, by_hand),
        "{} vs {by_hand}",
        terms.matmul_s
    );
    let q = sm.query(&SpeedQuery::default());
    assert!(q.prefill_tok_s.is_some_and(|t| t > 0.0), "{q:?}");
    // The same CPU by its numbers answers the same.
    let by_numbers = cpu_scenario(
        &[],
        Some(CpuNumbers {
            bandwidth_gbs: 83.2,
            threads: 16,
            isa: Some("avx512".into()),
            ghz: Some(4.5),
        }),
    );
    let q2 = speed_model(&by_numbers).query(&SpeedQuery::default());
    assert_eq!(
        (q2.prefill_tok_s, q2.decode_tok_s),
        (q.prefill_tok_s, q.decode_tok_s)
    );
}

#[test]
fn cpu_numbers_override_the_catalog_profile() {
    // The 7950X with 8 threads, 60 GB/s measured and AVX2 at 4.0 GHz: every number is --cpu's.
    let given = |isa: Option<&str>, ghz: Option<f64>| CpuNumbers {
        bandwidth_gbs: 60.0,
        threads: 8,
        isa: isa.map(Into::into),
        ghz,
    };
    let s = cpu_scenario(&["ryzen-9-7950x"], Some(given(Some("avx2"), Some(4.0))));
    assert_eq!(s.devices.len(), 1);
    assert_eq!(s.devices[0].id, "ryzen-9-7950x");
    let m = cpu_least_squares::machine_of(&s).expect("threads given");
    assert_eq!((m.bandwidth, m.threads), (60e9, 8));
    assert_eq!((m.isa, m.hz), (Some(Isa::Avx2), Some(4.0e9)));
    // AVX2 is scaled from the fit's AVX-512 by the peak ratio 64 / 32: the cycles per FLOP double.
    let p = &committed().prefill;
    let t_eff = 1.0 + p.thread_eff * 7.0;
    let cycles = 2.0
        * (p.cycles_per_flop["q4_0+repack"] * 880_803_840.0 * 512.0
            + p.cycles_per_flop["q6_k"] * 311_164_928.0
            + p.layer_cycles * 29.0 * 512.0);
    let terms = speed_model(&s)
        .prefill_time(0.0, 512.0)
        .expect("a prompt speed");
    let by_hand = cycles / (t_eff * 4.0e9);
    assert!(
        close(terms.matmul_s, by_hand),
        "{} vs {by_hand}",
        terms.matmul_s
    );
    // GBS,THREADS alone keeps the profile's instruction set and clock.
    let s = cpu_scenario(&["ryzen-9-7950x"], Some(given(None, None)));
    let m = cpu_least_squares::machine_of(&s).expect("threads given");
    assert_eq!((m.bandwidth, m.threads), (60e9, 8));
    assert_eq!((m.isa, m.hz), (Some(Isa::Avx512), Some(4.5e9)));
    // As the GPUs' host, the same.
    let req = ScenarioRequest {
        model: "qwen3-8b".into(),
        quant: Some("Q4_K_M".into()),
        hardware: vec!["rtx-3060".into()],
        host: Some("ryzen-9-7950x".into()),
        cpu: Some(given(None, None)),
        ram_gib: Some(64.0),
        ..ScenarioRequest::default()
    };
    let s = headroom_data::build(&req, None).expect("the scenario builds");
    let host = s
        .devices
        .iter()
        .find(|d| d.kind == DeviceKind::Cpu)
        .expect("a host");
    assert_eq!(
        (host.id.as_str(), host.cpu_cores),
        ("ryzen-9-7950x", Some(8))
    );
    assert_eq!(host.bandwidth.0, 60e9);
    // its family is the profile's instruction set, its FP32 rate 8 threads x 64 x 4.5 GHz
    assert_eq!(host.family, "avx512");
    assert_eq!(host.fp32.map(|r| r.0), Some(8.0 * 64.0 * 4.5e9));
}

#[test]
fn a_profile_without_isa_and_clock_says_why_there_is_no_prompt_speed() {
    // ddr5-5600-2ch is a memory type only: no threads, instruction set or clock.
    let s = cpu_scenario(&["ddr5-5600-2ch"], None);
    assert!(cpu_least_squares::machine_of(&s).is_none());
    let sm = speed_model(&s);
    assert!(sm.prefill_time(0.0, 512.0).is_none());
    assert!(
        sm.warnings
            .iter()
            .any(|w| w.starts_with("no compute rate for this CPU: prompt speed needs its threads, instruction set and clock")),
        "{:?}",
        sm.warnings
    );
    // With threads but neither instruction set nor clock, the CPU fit says what it leaves out.
    let s = cpu_scenario(
        &["ddr5-5600-2ch"],
        Some(CpuNumbers {
            bandwidth_gbs: 89.6,
            threads: 8,
            isa: None,
            ghz: None,
        }),
    );
    let sm = speed_model(&s);
    assert!(sm.prefill_time(0.0, 512.0).is_none());
    assert!(
        sm.warnings
            .iter()
            .any(|w| w.starts_with("no CPU clock and instruction set given")),
        "{:?}",
        sm.warnings
    );
}

#[test]
fn the_host_share_of_an_expert_offload_is_priced_by_the_cpu_fit_by_hand() {
    // Qwen3-30B-A3B Q4_0 on an RTX 2080 with the routed experts of its first 36 layers in system
    // RAM (`-ngl 99 --n-cpu-moe 36`), the host an i9-10900X as llmfit#755 gives it: 102 GB/s
    // measured, 10 cores, AVX-512, base clock 3.7 GHz (Intel's spec).
    let req = ScenarioRequest {
        model: "qwen3-30b-a3b".into(),
        quant: Some("Q4_0".into()),
        hardware: vec!["rtx-2080".into()],
        runtime: Some("llama.cpp".into()),
        ctx: Some(4096),
        ram_gib: Some(62.0),
        gpu_layers: Some(99),
        n_cpu_moe: Some(36),
        cpu: Some(CpuNumbers {
            bandwidth_gbs: 102.0,
            threads: 10,
            isa: Some("avx512".into()),
            ghz: Some(3.7),
        }),
        ..ScenarioRequest::default()
    };
    let s = headroom_data::build(&req, None).expect("the scenario builds");
    let m = cpu_least_squares::machine_of(&s).expect("--cpu gives the host's threads");
    let w = cpu_least_squares::host_work(&s, m.isa);
    // Qwen3-30B-A3B config.json: hidden 2048, expert ffn 768, 128 experts of which 8 are used:
    // gate, up and down of 8 experts are 3 x 2048 x 768 x 8 = 37,748,736 elements a layer, 2
    // FLOPs each, over 36 layers: 2,717,908,992 FLOPs, all Q4_0 with rows a multiple of 8
    // (repacked); nothing else is on the host (attention, cache and output are on the GPU).
    assert_eq!(w.kernel_flops.len(), 1, "{:?}", w.kernel_flops);
    assert_eq!(w.kernel_flops["q4_0+repack"], 2_717_908_992.0);
    assert_eq!(w.layers, 0.0);
    assert_eq!(w.kv_full_per_pos, 0.0);
    // The same elements at Q4_0's 18 bytes per 32: 36 x 37,748,736 x 18 / 32 = 764,411,904 B.
    assert_eq!(w.weight_bytes, 764_411_904.0);
    // The fit's decode reads weights at inv_bw_eff = 0 and no layers here, so the step is its
    // compute: cycles/FLOP x FLOPs / ((1 + s x 9) x 3.7 GHz), or one read at 102 GB/s if longer.
    let p = committed();
    let compute = p.decode.cycles_per_flop["q4_0+repack"] * 2_717_908_992.0
        / ((1.0 + p.decode.thread_eff * 9.0) * 3.7e9);
    let by_hand = compute.max(764_411_904.0 / 102e9);
    let terms = speed_model(&s).decode_step(0.0, 1.0, 1.0).0;
    assert!(
        close(terms.cpu_s, by_hand),
        "{} s vs {by_hand} s by hand",
        terms.cpu_s
    );
    // with the committed fit that is 11.98 ms, 1.6 x the 7.49 ms of the whole bandwidth that
    // priced it before
    assert!(by_hand > 1.5 * 764_411_904.0 / 102e9);
}
