//! `fit`'s margin is the one `fits` is judged by: the tightest memory limit, not the sum over
//! devices (two GPUs with 5 GiB free on one and 1 GiB over on the other do not fit, and the
//! margin says -1 GiB, not +4).

use headroom_core::plan::{fit, FitReport};
use headroom_data::{build, ScenarioRequest};

fn request(
    model: &str,
    hardware: &[&str],
    gpus: Option<u32>,
    ctx: u32,
    ram: Option<f64>,
) -> ScenarioRequest {
    ScenarioRequest {
        model: model.into(),
        hardware: hardware.iter().map(|h| h.to_string()).collect(),
        gpus,
        ctx: Some(ctx),
        ram_gib: ram,
        ..ScenarioRequest::default()
    }
}

fn report(model: &str, hardware: &[&str], gpus: Option<u32>, ctx: u32) -> FitReport {
    fit(&build(&request(model, hardware, gpus, ctx, None), None).expect("scenario builds"))
}

fn device_margins(r: &FitReport) -> Vec<i64> {
    r.devices
        .iter()
        .map(|d| d.usable_bytes.0 as i64 - d.total_bytes.0 as i64)
        .collect()
}

#[test]
fn the_margin_is_the_tightest_device_and_agrees_with_fits() {
    let cases = [
        ("llama-3.1-70b", vec!["rtx-3090"], Some(2), 8192),
        ("llama-3.1-70b", vec!["rtx-3090"], Some(2), 32768),
        ("qwen3-32b", vec!["rtx-4090", "rtx-3060"], None, 16384),
        ("qwen3-32b", vec!["rtx-4090", "rtx-3060"], None, 40960),
        ("qwen3-8b", vec!["rtx-3060-ti"], None, 4096),
        ("qwen3-8b", vec!["rtx-3060-ti"], None, 40960),
    ];
    let mut differs_from_the_sum = 0;
    for (model, hw, gpus, ctx) in cases {
        let r = report(model, &hw, gpus, ctx);
        let m = device_margins(&r);
        let tightest = *m.iter().min().expect("a device");
        assert_eq!(
            r.margin_bytes, tightest,
            "{model} on {hw:?} at {ctx}: {m:?}"
        );
        assert_eq!(r.fits, r.margin_bytes >= 0, "{model} on {hw:?} at {ctx}");
        if tightest != m.iter().sum::<i64>() {
            differs_from_the_sum += 1;
        }
    }
    // the multi-GPU cases are where the tightest device and the sum part ways
    assert!(differs_from_the_sum >= 4, "{differs_from_the_sum}");
}

#[test]
fn with_system_ram_given_its_limit_counts_too() {
    // Llama 3.3 70B Q4_K_M (about 40 GiB) on one RTX 4090 (24 GB) leaves about half its layers to
    // the host at -ngl 44 (about 20 GiB): with 16 GiB of RAM the host is over, the tightest limit.
    let mut host_tightest = 0;
    for ram in [16.0, 24.0, 64.0] {
        let mut req = request("llama-3.3-70b", &["rtx-4090"], None, 8192, Some(ram));
        req.gpu_layers = Some(44);
        let r = fit(&build(&req, None).expect("scenario builds"));
        let gpu = device_margins(&r)[0];
        let host = (ram * (1u64 << 30) as f64) as i64 - r.host_breakdown.total().0 as i64;
        assert_eq!(r.margin_bytes, gpu.min(host), "ram {ram}");
        assert_eq!(r.fits, r.margin_bytes >= 0, "ram {ram}");
        if host < gpu {
            host_tightest += 1;
        }
    }
    assert!(
        host_tightest >= 1,
        "the host's RAM is never the tightest limit here"
    );
}
