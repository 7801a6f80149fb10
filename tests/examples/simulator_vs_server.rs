//! Runs the simulator against the measured llama-server runs on this CPU and rewrites the table
//! in docs/simulator-validation.md. Run: `cargo run -p headroom-tests --example simulator_vs_server`.

use headroom_tests::simulator_validation::{batch_scaling, build, render, render_batch, splice};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let rows = build()?;
    let table = render(&rows) + "\n" + &render_batch(&batch_scaling()?);
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/simulator-validation.md");
    let doc = std::fs::read_to_string(&path)?;
    std::fs::write(&path, splice(&doc, &table)?)?;
    print!("{table}");
    Ok(())
}
