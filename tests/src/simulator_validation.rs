//! The simulator against the real llama-server on this CPU: the measured closed-loop runs in
//! `tests/fixtures/ground-truth/llama-server-cpu/runs.csv` set against `simulate` of the same
//! workload, with step times from llama-batched-bench runs of the same model on the same machine
//! (`tests/fixtures/ground-truth/llama-batched-bench-cpu/raw/`), never from the server runs.
//!
//! `build` runs the comparison, `render` writes the table that docs/simulator-validation.md
//! holds between its markers; the example `simulator_vs_server` rewrites it and a test fails
//! when the committed table differs from a fresh run.

use headroom_core::simulate::{
    simulate, Arrivals, EngineConfig, Lengths, LlamaServerConfig, MeasuredSteps, Percentiles,
    Workload,
};
use headroom_formats::import::{import_str, ImportFormat};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// The bar the issue sets: TTFT p50, TTFT p90 and TPOT p50 within 15% of the measured runs.
pub const TOLERANCE_PCT: f64 = 15.0;

/// The harness's llama-server settings (harness.py `server`): `-c 1024 x np`, llama-server's
/// default `-b 2048` and `-ub 512`, no unified cache (`common.h`: `kv_unified = false`).
const CTX_PER_SLOT: u32 = 1024;
const SERVER_N_BATCH: u32 = 2048;
const SERVER_N_UBATCH: u32 = 512;

/// The client's turnaround between the end of one answer and its next request. The harness's
/// client reads the last event, closes the connection and opens a new one on loopback before it
/// sends again; meanwhile llama-server starts its next pass as soon as the last one ends
/// (server-context.cpp `update_slots` posts `NEXT_RESPONSE` while any slot is busy), so the new
/// request waits for the pass after that one. Any turnaround shorter than a pass (tens of
/// milliseconds here) gives the same schedule; 1 ms stands for it.
pub const CLIENT_TURNAROUND_S: f64 = 0.001;

/// The marker lines around the generated part of docs/simulator-validation.md.
pub const BEGIN: &str = "<!-- simulator_vs_server: begin (cargo run -p headroom-tests --example simulator_vs_server) -->";
pub const END: &str = "<!-- simulator_vs_server: end -->";

/// One measured request.
#[derive(Clone, Debug, PartialEq)]
struct Measured {
    prompt_tokens: u32,
    gen_tokens: u32,
    ttft: f64,
    tpot: f64,
    loadavg: f64,
}

/// One (model, quant, -np, clients) group: measured and simulated percentiles.
#[derive(Clone, Debug, PartialEq)]
pub struct Row {
    pub model: String,
    pub quant: String,
    pub n_parallel: u32,
    pub clients: u32,
    pub requests: usize,
    /// The 1-minute load average when the group started (the largest, if its rows differ).
    pub loadavg: f64,
    /// TTFT p50, TTFT p90, TPOT p50, seconds.
    pub measured: [f64; 3],
    pub simulated: [f64; 3],
}

impl Row {
    /// Simulated against measured, percent.
    pub fn errors_pct(&self) -> [f64; 3] {
        let e = |i: usize| (self.simulated[i] / self.measured[i] - 1.0) * 100.0;
        [e(0), e(1), e(2)]
    }

    pub fn within(&self) -> bool {
        self.errors_pct().iter().all(|e| e.abs() <= TOLERANCE_PCT)
    }
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn read(p: &Path) -> Result<String, String> {
    std::fs::read_to_string(p).map_err(|e| format!("{}: {e}", p.display()))
}

/// A runs.csv group: (model, quant, -np, clients).
type GroupKey = (String, String, u32, u32);

/// The runs.csv rows, grouped in file order.
fn measured_groups(csv_text: &str) -> Result<Vec<(GroupKey, Vec<Measured>)>, String> {
    let mut rd = csv::Reader::from_reader(csv_text.as_bytes());
    let head = rd.headers().map_err(|e| e.to_string())?.clone();
    let col = |name: &str| {
        head.iter()
            .position(|h| h == name)
            .ok_or(format!("runs.csv: no `{name}` column"))
    };
    let (cm, cq, cn, cc) = (
        col("model_file")?,
        col("quant")?,
        col("n_parallel")?,
        col("clients")?,
    );
    let (cp, cg, ct, cto, cl) = (
        col("prompt_tokens")?,
        col("gen_tokens")?,
        col("ttft_s")?,
        col("tpot_s")?,
        col("loadavg")?,
    );
    let mut groups: Vec<(GroupKey, Vec<Measured>)> = Vec::new();
    for (i, rec) in rd.records().enumerate() {
        let rec = rec.map_err(|e| format!("runs.csv row {}: {e}", i + 2))?;
        let num = |c: usize| -> Result<f64, String> {
            rec[c]
                .parse::<f64>()
                .map_err(|_| format!("runs.csv row {}: `{}` is not a number", i + 2, &rec[c]))
        };
        let int = |c: usize| -> Result<u32, String> {
            rec[c]
                .parse::<u32>()
                .map_err(|_| format!("runs.csv row {}: `{}` is not a count", i + 2, &rec[c]))
        };
        let model = rec[cm]
            .strip_suffix(".json")
            .unwrap_or(&rec[cm])
            .to_string();
        let key = (model, rec[cq].to_string(), int(cn)?, int(cc)?);
        let m = Measured {
            prompt_tokens: int(cp)?,
            gen_tokens: int(cg)?,
            ttft: num(ct)?,
            tpot: num(cto)?,
            loadavg: num(cl).unwrap_or(f64::NAN),
        };
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, v)) => v.push(m),
            None => groups.push((key, vec![m])),
        }
    }
    Ok(groups)
}

/// The records of every llama-batched-bench run of `model` `quant`: `raw/<model>-<quant>.txt`
/// and further runs `raw/<model>-<quant>-run<N>.txt`, in name order.
pub fn batched_records(
    model: &str,
    quant: &str,
) -> Result<Vec<headroom_core::measure::MeasurementRecord>, String> {
    let dir = root().join("tests/fixtures/ground-truth/llama-batched-bench-cpu/raw");
    let stem = format!("{model}-{quant}");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n == format!("{stem}.txt")
                    || (n.starts_with(&format!("{stem}-run")) && n.ends_with(".txt"))
            })
        })
        .collect();
    files.sort();
    let mut recs = Vec::new();
    for p in files {
        let text = read(&p)?;
        recs.extend(
            import_str(
                ImportFormat::LlamaBatchedBench,
                &p.display().to_string(),
                &text,
            )
            .map_err(|e| format!("{}: {e}", p.display()))?,
        );
    }
    if recs.is_empty() {
        return Err(format!(
            "no llama-batched-bench run of {stem} in {}",
            dir.display()
        ));
    }
    Ok(recs)
}

/// The step times of `model` `quant` from all its llama-batched-bench runs (a cell measured in
/// several runs counts with their mean).
pub fn steps_for(model: &str, quant: &str) -> Result<MeasuredSteps, String> {
    let recs = batched_records(model, quant)?;
    MeasuredSteps::from_records(&recs, model, SERVER_N_UBATCH).map_err(|e| e.0)
}

/// The simulated percentiles of one group's workload: `clients` closed-loop users, as many
/// requests as were measured, the measured prompt lengths, the measured output length.
pub fn simulate_group(
    steps: &MeasuredSteps,
    n_parallel: u32,
    clients: u32,
    prompts: Vec<u32>,
    gen_tokens: u32,
    think_time: f64,
) -> Result<[f64; 3], String> {
    let requests = u32::try_from(prompts.len()).map_err(|e| e.to_string())?;
    let w = Workload {
        arrivals: Arrivals::Closed {
            users: clients,
            think_time,
        },
        prompt: Lengths::Empirical(prompts),
        output: Lengths::Fixed(gen_tokens),
        requests,
        seed: 1,
    };
    let engine = EngineConfig::LlamaServer(LlamaServerConfig {
        n_ctx: CTX_PER_SLOT * n_parallel,
        n_parallel,
        n_batch: SERVER_N_BATCH,
        kv_unified: false,
        max_queue: None,
    });
    let r = simulate(&w, &engine, steps).map_err(|e| e.0)?;
    Ok([r.ttft.p50, r.ttft.p90, r.tpot.p50])
}

/// The comparison over every group of runs.csv.
pub fn build() -> Result<Vec<Row>, String> {
    let csv_path = root().join("tests/fixtures/ground-truth/llama-server-cpu/runs.csv");
    let groups = measured_groups(&read(&csv_path)?)?;
    let mut rows = Vec::new();
    for ((model, quant, n_parallel, clients), ms) in groups {
        let steps = steps_for(&model, &quant)?;
        let mut ttft: Vec<f64> = ms.iter().map(|m| m.ttft).collect();
        let mut tpot: Vec<f64> = ms.iter().map(|m| m.tpot).collect();
        let (t, p) = (Percentiles::of(&mut ttft), Percentiles::of(&mut tpot));
        let gen = ms.iter().map(|m| m.gen_tokens).max().unwrap_or(1);
        let prompts = ms.iter().map(|m| m.prompt_tokens).collect();
        let simulated = simulate_group(
            &steps,
            n_parallel,
            clients,
            prompts,
            gen,
            CLIENT_TURNAROUND_S,
        )?;
        rows.push(Row {
            loadavg: ms.iter().map(|m| m.loadavg).fold(f64::NAN, f64::max),
            requests: ms.len(),
            model,
            quant,
            n_parallel,
            clients,
            measured: [t.p50, t.p90, p.p50],
            simulated,
        });
    }
    Ok(rows)
}

/// The markdown table and its summary line.
pub fn render(rows: &[Row]) -> String {
    let mut s = String::new();
    s.push_str(
        "| model | -np | clients | requests | load avg | TTFT p50 measured / simulated | err | \
         TTFT p90 measured / simulated | err | TPOT p50 measured / simulated | err | within 15% |\n",
    );
    s.push_str("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let e = r.errors_pct();
        let _ = writeln!(
            s,
            "| `{}` {} | {} | {} | {} | {:.2} | {:.3} s / {:.3} s | {:+.1}% | {:.3} s / {:.3} s | \
             {:+.1}% | {:.1} ms / {:.1} ms | {:+.1}% | {} |",
            r.model,
            r.quant,
            r.n_parallel,
            r.clients,
            r.requests,
            r.loadavg,
            r.measured[0],
            r.simulated[0],
            e[0],
            r.measured[1],
            r.simulated[1],
            e[1],
            r.measured[2] * 1e3,
            r.simulated[2] * 1e3,
            e[2],
            if r.within() { "yes" } else { "no" }
        );
    }
    let n_in = rows.iter().filter(|r| r.within()).count();
    let worst = rows
        .iter()
        .flat_map(|r| r.errors_pct())
        .fold(0.0_f64, |a, e| a.max(e.abs()));
    let _ = writeln!(
        s,
        "\n{n_in} of {} rows have all three within 15%; the largest |error| is {worst:.1}%.",
        rows.len()
    );
    s
}

/// The doc with its generated part replaced by `table`.
pub fn splice(doc: &str, table: &str) -> Result<String, String> {
    let b = doc.find(BEGIN).ok_or("the doc has no begin marker")?;
    let e = doc.find(END).ok_or("the doc has no end marker")?;
    if e < b {
        return Err("the end marker comes before the begin marker".into());
    }
    Ok(format!("{}{BEGIN}\n{table}{}", &doc[..b], &doc[e..]))
}

/// The generated part of the doc, between the markers.
pub fn committed(doc: &str) -> Option<&str> {
    let b = doc.find(BEGIN)? + BEGIN.len() + 1;
    let e = doc.find(END)?;
    doc.get(b..e)
}

/// The batch term: a decode pass of `B` sequences over the pass of one, as llama-batched-bench
/// measured it (`T_TG / TG` at the shortest prompt) and as the speed model predicts it on the
/// harness's CPU profile at the same context.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchRow {
    pub model: String,
    pub seqs: u32,
    pub measured_ratio: f64,
    pub speed_model_ratio: f64,
}

/// The models with llama-batched-bench runs.
pub const BATCHED_MODELS: [&str; 2] = ["qwen3-0.6b", "qwen2.5-0.5b"];

pub fn batch_scaling() -> Result<Vec<BatchRow>, String> {
    use headroom_core::simulate::{BatchedRow, StepTimes};
    let mut out = Vec::new();
    for model in BATCHED_MODELS {
        let recs = batched_records(model, "Q4_0")?;
        let rows: Vec<BatchedRow> = recs
            .iter()
            .map(BatchedRow::from_record)
            .collect::<Result<_, _>>()?;
        let pp = rows.iter().map(|r| r.prompt).min().unwrap_or(0);
        let step = |r: &BatchedRow| r.gen_s / f64::from(r.gen);
        // the mean decode pass at the shortest prompt, per batch size, over the runs
        let mut by_b: Vec<(u32, f64, u32, u32)> = Vec::new();
        for r in rows.iter().filter(|r| r.prompt == pp) {
            match by_b.iter_mut().find(|x| x.0 == r.seqs) {
                Some(x) => {
                    x.1 += step(r);
                    x.2 += 1;
                }
                None => by_b.push((r.seqs, step(r), 1, r.gen)),
            }
        }
        let mean = |x: &(u32, f64, u32, u32)| x.1 / f64::from(x.2);
        let one = by_b
            .iter()
            .find(|x| x.0 == 1)
            .map(mean)
            .ok_or(format!("{model}: no B = 1 row"))?;
        let gen = by_b.first().map_or(0, |x| x.3);
        let req = headroom_data::ScenarioRequest {
            model: model.into(),
            quant: Some("Q4_0".into()),
            hardware: vec!["ddr5-4800-8ch".into()],
            memory_gib: Some(64.0),
            runtime: Some("llama.cpp".into()),
            ctx: Some(8192),
            ..headroom_data::ScenarioRequest::default()
        };
        let s = headroom_data::build(&req, None).map_err(|e| e.to_string())?;
        let params = headroom_data::speed_params_for("llama.cpp").map_err(|e| e.to_string())?;
        let sm = headroom_core::speed::SpeedModel::new(&s, params);
        let ctx = pp + gen / 2;
        for x in &by_b {
            out.push(BatchRow {
                model: model.to_string(),
                seqs: x.0,
                measured_ratio: mean(x) / one,
                speed_model_ratio: sm.decode(x.0, ctx) / sm.decode(1, ctx),
            });
        }
    }
    Ok(out)
}

/// The least-squares `f` of `ratio = 1 + f (B - 1)` (each sequence past the first adds `f` of a
/// single-sequence pass) over the rows of the models `keep` accepts.
pub fn extra_sequence_fraction(rows: &[BatchRow], keep: &dyn Fn(&str) -> bool) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for r in rows.iter().filter(|r| keep(&r.model)) {
        let x = f64::from(r.seqs) - 1.0;
        num += x * (r.measured_ratio - 1.0);
        den += x * x;
    }
    if den > 0.0 {
        num / den
    } else {
        0.0
    }
}

/// The batch-term table: measured, the speed model, and the one-parameter law fitted on the
/// other model (leave one model out).
pub fn render_batch(rows: &[BatchRow]) -> String {
    let mut s = String::from(
        "| model | B | decode pass / pass of one, measured | speed model | error | \
         1 + f (B - 1), f fitted on the other model | error |\n|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let f = extra_sequence_fraction(rows, &|m| m != r.model);
        let lomo = 1.0 + f * (f64::from(r.seqs) - 1.0);
        let _ = writeln!(
            s,
            "| `{}` Q4_0 | {} | {:.2} | {:.2} | {:+.0}% | {:.2} (f = {:.3}) | {:+.0}% |",
            r.model,
            r.seqs,
            r.measured_ratio,
            r.speed_model_ratio,
            (r.speed_model_ratio / r.measured_ratio - 1.0) * 100.0,
            lomo,
            f,
            (lomo / r.measured_ratio - 1.0) * 100.0
        );
    }
    s
}
