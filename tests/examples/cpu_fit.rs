//! Fits the CPU speed model to the harness's llama-bench runs and writes
//! data/speed/llama-cpp-cpu.json; prints the leave-one-group-out errors. The CPU section of
//! docs/speed-accuracy.md follows with `cargo run -p headroom-tests --example speed_report`.
//! Run: `cargo run -p headroom-tests --example cpu_fit`; with a records.jsonl path it fits those
//! records and prints the report without writing anything.

use headroom_core::speed::cpu_least_squares::{mdape, CpuPhase};
use headroom_tests::cpu_report::{build, build_from, render};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let cat = headroom_data::catalog()?;
    let given = std::env::args().nth(1);
    let r = match &given {
        Some(path) => build_from(cat, &std::fs::read_to_string(path)?),
        None => build(cat),
    };
    if given.is_some() {
        println!("{}", render(&r));
    } else {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        std::fs::write(
            root.join("data/speed/llama-cpp-cpu.json"),
            serde_json::to_string_pretty(&r.params)? + "\n",
        )?;
    }
    for (name, pred) in [
        ("in sample", &r.in_sample),
        ("leave one architecture out", &r.by_arch),
        ("leave one quantization out", &r.by_quant),
    ] {
        let (d, nd) = mdape(&r.rows, pred, CpuPhase::Decode);
        let (p, np) = mdape(&r.rows, pred, CpuPhase::Prefill);
        println!("{name}: decode {d:.1}% ({nd} rows), prefill {p:.1}% ({np} rows)");
    }
    for (l, why) in &r.skipped {
        println!("not used: {l}: {why}");
    }
    Ok(())
}
