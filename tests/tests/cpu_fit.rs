//! The CPU speed fit (`speed::cpu_fit`) on the harness's llama-bench runs: the committed
//! parameters are a fresh fit of the committed records, and one record's terms derived by hand.

use headroom_core::speed::cpu_fit::{self, CpuPhase, CpuSpeedParams};
use headroom_data::{catalog, speed_params_for};
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
    let (d, nd) = cpu_fit::mdape(&r.rows, &r.by_arch, CpuPhase::Decode);
    let (p, np) = cpu_fit::mdape(&r.rows, &r.by_arch, CpuPhase::Prefill);
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
    let predicted = cpu_fit::predict(p, row).expect("a clock is given");
    assert!(
        (predicted - 1.0 / t).abs() < 1e-9 * predicted,
        "{predicted} vs {}",
        1.0 / t
    );
}
