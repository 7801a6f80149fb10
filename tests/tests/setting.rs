//! Speed at the user's setting: the host given next to GPUs, a CPU by its numbers, the headline
//! at the context set, the offload's speed (or none) when the settings do not fit.

use headroom_core::hardware::DeviceKind;
use headroom_data::request::CpuNumbers;
use headroom_data::{build, fit_json, ScenarioRequest};

fn req(model: &str, hardware: &[&str], ctx: u32, ram: f64) -> ScenarioRequest {
    ScenarioRequest {
        model: model.into(),
        hardware: hardware.iter().map(|h| h.to_string()).collect(),
        ctx: Some(ctx),
        ram_gib: Some(ram),
        ..ScenarioRequest::default()
    }
}

#[test]
fn a_cpu_profile_next_to_a_gpu_is_its_host() {
    let s = build(
        &req("qwen3-8b", &["rtx-3060-ti", "ddr4-3200-2ch"], 32768, 32.0),
        None,
    )
    .unwrap();
    // data/hardware/ddr4-3200-2ch.json: 2 channels x 8 B x 3200 MT/s = 51.2 GB/s
    let host = s
        .devices
        .iter()
        .find(|d| d.kind == DeviceKind::Cpu)
        .unwrap();
    assert_eq!(host.bandwidth.0, 51.2e9);
    let v = fit_json(&s).unwrap();
    let warnings = v["speed"]["warnings"].as_array().unwrap();
    assert!(
        !warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("assumed")),
        "{warnings:?}"
    );
    // the same with --host
    let mut r = req("qwen3-8b", &["rtx-3060-ti"], 32768, 32.0);
    r.host = Some("ddr4-3200-2ch".into());
    let t = build(&r, None).unwrap();
    assert_eq!(t.devices, s.devices);
    // a GPU is not a host
    r.host = Some("rtx-3090".into());
    let e = build(&r, None).unwrap_err();
    assert_eq!(e.field, "host");
}

#[test]
fn a_cpu_by_its_numbers_gets_its_roofline_rate() {
    let mut r = req("qwen3-8b", &[], 4096, 64.0);
    r.cpu = Some(CpuNumbers {
        bandwidth_gbs: 83.2,
        threads: 16,
        isa: Some("avx512".into()),
        ghz: Some(4.5),
    });
    let s = build(&r, None).unwrap();
    let d = &s.devices[0];
    // 16 threads x 64 FP32 FLOPs per cycle (two 512-bit FMA units) x 4.5 GHz = 4.608 TFLOP/s
    assert_eq!(d.fp32.unwrap().0, 4.608e12);
    assert_eq!(d.bandwidth.0, 83.2e9);
    let v = fit_json(&s).unwrap();
    assert!(v["speed"]["prefill_tok_s"].as_f64().unwrap() > 0.0);
    for (field, cpu) in [
        (
            "cpu.threads",
            CpuNumbers {
                bandwidth_gbs: 50.0,
                threads: 0,
                isa: None,
                ghz: None,
            },
        ),
        (
            "cpu.isa",
            CpuNumbers {
                bandwidth_gbs: 50.0,
                threads: 8,
                isa: Some("sse2".into()),
                ghz: Some(3.0),
            },
        ),
        (
            "cpu",
            CpuNumbers {
                bandwidth_gbs: 50.0,
                threads: 8,
                isa: Some("avx2".into()),
                ghz: None,
            },
        ),
        (
            "cpu.bandwidth_gbs",
            CpuNumbers {
                bandwidth_gbs: -1.0,
                threads: 8,
                isa: None,
                ghz: None,
            },
        ),
    ] {
        r.cpu = Some(cpu);
        assert_eq!(build(&r, None).unwrap_err().field, field);
    }
}

#[test]
fn fit_answers_at_the_context_set_and_never_with_full_speed_when_it_does_not_fit() {
    // fits: the headline is pp512 + tg128 with the rest of the 16,384-token context cached
    let s = build(&req("qwen3-8b", &["rtx-3060-ti"], 16384, 32.0), None).unwrap();
    let v = fit_json(&s).unwrap();
    assert_eq!(v["speed"]["query"]["depth"], 16384 - 512 - 128);
    assert!(v["speed"]["offload_gpu_layers"].is_null());
    let fits_decode = v["speed"]["decode_tok_s"].as_f64().unwrap();
    // 32K does not fit an 8 GB card: the speed is the offload's, the one `offload` names
    let s = build(&req("qwen3-8b", &["rtx-3060-ti"], 32768, 32.0), None).unwrap();
    let v = fit_json(&s).unwrap();
    assert_eq!(v["fits"], false);
    assert_eq!(v["speed"]["offload_gpu_layers"], v["offload"]["gpu_layers"]);
    assert!(v["speed"]["decode_tok_s"].as_f64().unwrap() < fits_decode);
    // a 70B model with 8 GiB of system RAM fits nowhere: no speed at all
    let s = build(&req("llama-3.1-70b", &["rtx-3060-ti"], 4096, 8.0), None).unwrap();
    let v = fit_json(&s).unwrap();
    assert_eq!(v["fits"], false);
    assert!(v["speed"].is_null());
}

#[test]
fn verdicts_judge_the_context_set_and_name_the_threshold() {
    let s = build(&req("qwen3-8b", &["rtx-3060-ti"], 8192, 32.0), None).unwrap();
    let v = fit_json(&s).unwrap();
    let summary = v["speed"]["verdicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["use_case"] == "summary")
        .unwrap();
    assert_eq!(summary["verdict"], "does_not_fit");
    assert_eq!(
        summary["reasons"][0],
        "the context is 8192 tokens per sequence, below the 32768 this use needs"
    );
}

#[test]
fn verdicts_judged_together_are_those_judged_one_by_one() {
    use headroom_core::speed::verdict::{judge_at_setting, UseCase};
    use headroom_core::speed::verdicts_at_setting;
    // on the device; with layers in system RAM (a 70B on 8 GB); not at all (no RAM to spill to);
    // several sequences (the batch use case at the user's sequences); a short context (below
    // the agent's and summary's needs); another runtime
    let mut cases = vec![
        req("qwen3-8b", &["rtx-3060-ti"], 32768, 32.0),
        req("llama-3.1-70b", &["rtx-3060-ti"], 8192, 64.0),
        req("llama-3.1-70b", &["rtx-3060-ti"], 8192, 4.0),
        req("qwen3-8b", &["rtx-4090"], 2048, 32.0),
    ];
    let mut par = req("qwen3-8b", &["rtx-4090"], 65536, 32.0);
    par.parallel = Some(4);
    cases.push(par);
    let mut vllm = req("qwen3-8b", &["rtx-4090"], 8192, 32.0);
    vllm.runtime = Some("vllm".into());
    cases.push(vllm);
    let mut kinds = std::collections::BTreeSet::new();
    for r in &cases {
        let s = build(r, None).unwrap();
        let p = headroom_data::speed_params_for(s.runtime.name()).unwrap();
        let one_by_one: Vec<_> = UseCase::ALL
            .iter()
            .map(|u| judge_at_setting(&s, p, *u))
            .collect();
        let together = verdicts_at_setting(&s, p);
        assert_eq!(together, one_by_one, "{} {:?}", r.model, r.hardware);
        kinds.extend(together.iter().map(|v| format!("{:?}", v.verdict)));
    }
    // the cases reach every kind of verdict, so each path is compared
    assert!(kinds.len() >= 3, "{kinds:?}");
}
