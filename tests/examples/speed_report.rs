//! Fits the speed model to the public measurements, writes data/speed/llama-cpp.json (current
//! builds), llama-cpp-2024.json (the May 2024 tables) and
//! docs/speed-accuracy.md (leave-one-device-out errors, and the CPU section of `cpu_report`). Run: `cargo run -p headroom-tests --example speed_report`.

use headroom_core::hardware::Backend;
use headroom_core::speed::least_squares::Phase;
use headroom_tests::speed_report::{build, current_mdape, mdape};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cat = headroom_data::catalog()?;
    let r = build(cat);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::write(
        root.join("data/speed/llama-cpp-2024.json"),
        serde_json::to_string_pretty(&r.params)? + "\n",
    )?;
    std::fs::write(
        root.join("data/speed/llama-cpp.json"),
        serde_json::to_string_pretty(&r.current.params)? + "\n",
    )?;
    std::fs::write(
        root.join("data/speed/mlx.json"),
        serde_json::to_string_pretty(&r.current.mlx_params)? + "\n",
    )?;
    let cpu = headroom_tests::cpu_report::build(cat);
    std::fs::write(
        root.join("docs/speed-accuracy.md"),
        headroom_tests::cpu_report::speed_accuracy_doc(&r, &cpu),
    )?;
    let all = |_: &_| true;
    let (d, _) = mdape(&r.measured, &r.left_out, Phase::Decode, &all);
    let (p, _) = mdape(&r.measured, &r.left_out, Phase::Prefill, &all);
    println!("2024 tables, leave-one-device-out median |error|: decode {d:.1}%, prefill {p:.1}%");
    let c = &r.current;
    for b in [
        Backend::Cuda,
        Backend::Vulkan,
        Backend::Rocm,
        Backend::Metal,
    ] {
        let keep = |m: &headroom_tests::current_fixture::CurrentMeasured| {
            m.row.is_llama_bench() && m.row.backend == b
        };
        let (d, nd) = current_mdape(c, &c.left_out, Phase::Decode, &keep);
        let (p, np) = current_mdape(c, &c.left_out, Phase::Prefill, &keep);
        println!(
            "current {} builds, leave-one-device-out: decode {d:.1}% ({nd} rows), prefill {p:.1}% ({np} rows)",
            b.name()
        );
    }
    Ok(())
}
