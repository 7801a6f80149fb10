//! The `headroom` command: parse arguments, run one command, print its text; a closed pipe ends quietly.

mod args;
mod calibrate_cmd;
mod calibration;
mod check_cmd;
mod cpu_speed;
mod detect_cmd;
mod fit_cmd;
mod free_memory;
mod import_cmd;
mod inspect_cmd;
mod list_cmd;
mod measure_cmd;
mod model_file;
mod models_dir;
mod plan_cmd;
mod record_scenario;
mod render;
mod scenario;
mod simulate_cmd;
mod speed_cmd;
mod validate_cmd;

use args::{Cli, Command};
use clap::Parser;
use std::io::Write;
use std::process::ExitCode;

fn run(cli: &Cli) -> anyhow::Result<String> {
    match &cli.command {
        Command::Fit(a) => fit_cmd::run(a),
        Command::Models(a) => list_cmd::models(a.json),
        Command::Hardware(a) => list_cmd::hardware(a.json),
        Command::Inspect(a) => inspect_cmd::run(a),
        Command::Measure(a) => measure_cmd::run(a),
        Command::Detect(a) => detect_cmd::run(a),
        Command::Import(a) => import_cmd::run(a),
        Command::Validate(a) => validate_cmd::run(a),
        Command::Calibrate(a) => calibrate_cmd::run(a),
        Command::Simulate(a) => simulate_cmd::run(a),
        Command::Speed(a) => speed_cmd::run(a),
        Command::Plan(a) => plan_cmd::run(a),
        Command::Check(a) => check_cmd::run(a),
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(&cli) {
        Ok(text) => {
            let mut out = std::io::stdout().lock();
            match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
                Err(e) => {
                    eprintln!("headroom: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Err(e) => {
            eprintln!("headroom: error: {e:#}");
            ExitCode::from(2)
        }
    }
}
