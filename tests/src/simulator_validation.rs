//! The simulator against the real llama-server on this CPU: the measured closed-loop runs in
//! `tests/fixtures/ground-truth/llama-server-cpu/runs.csv` set against `simulate` of the same
//! workload, with step times from llama-batched-bench runs of the same model on the same machine
//! (`tests/fixtures/ground-truth/llama-batched-bench-cpu/sapphire-rapids/raw/`: the Sapphire
//! Rapids VM the server runs were measured on), never from the server runs. The batch term of
//! the CPU speed model is checked on the re-measured runs with their CPU numbers
//! (`llama-batched-bench-cpu/records.jsonl`).
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

/// The records of every llama-batched-bench run of `model` `quant` on the machine of the server
/// runs: `sapphire-rapids/raw/<model>-<quant>.txt` and further runs
/// `sapphire-rapids/raw/<model>-<quant>-run<N>.txt`, in name order.
pub fn batched_records(
    model: &str,
    quant: &str,
) -> Result<Vec<headroom_core::measure::MeasurementRecord>, String> {
    let dir =
        root().join("tests/fixtures/ground-truth/llama-batched-bench-cpu/sapphire-rapids/raw");
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

/// The batch term on this CPU: a decode pass of `B` sequences as llama-batched-bench measured it
/// (`T_TG / TG`, the mean over the runs) and as the CPU speed fit's terms give it, the fit made
/// without the model predicted (leave one model out). The terms at the row's depth are those of
/// `cpu_least_squares::CpuPrepared::decode_parts`: `reads` (weights once per pass, per-layer costs), `kv`
/// (one sequence's cache) and `one` (one sequence's matmul compute).
#[derive(Clone, Debug, PartialEq)]
pub struct BatchRow {
    pub model: String,
    pub prompt: u32,
    pub seqs: u32,
    /// Measured seconds per decode pass.
    pub measured_s: f64,
    pub reads_s: f64,
    pub kv_s: f64,
    pub one_s: f64,
    /// Every byte of the pass read once at the measured bandwidth.
    pub floor_s: f64,
}

impl BatchRow {
    /// The speed model's pass (`SpeedModel::decode_step` on a CPU): the reads, every sequence's
    /// cache, and each sequence past the first adding its compute (`decode::batch_compute`),
    /// never under the read floor.
    pub fn speed_model_s(&self) -> f64 {
        let b = f64::from(self.seqs);
        headroom_core::speed::decode::batch_compute(self.reads_s + self.kv_s * b, self.one_s, b)
            .max(self.floor_s)
    }

    /// The pass with each sequence past the first adding `g` times one sequence's compute.
    pub fn with_extra_compute_s(&self, g: f64) -> f64 {
        let b = f64::from(self.seqs);
        (self.reads_s + self.kv_s * b + g * (b - 1.0) * self.one_s).max(self.floor_s)
    }
}

/// The models with llama-batched-bench runs.
pub const BATCHED_MODELS: [&str; 2] = ["qwen3-0.6b", "qwen2.5-0.5b"];

/// The llama-batched-bench records as the harness imported them, with the CPU numbers measured
/// beside each run.
pub fn batched_records_with_cpu() -> Result<Vec<headroom_core::measure::MeasurementRecord>, String>
{
    let p = root().join("tests/fixtures/ground-truth/llama-batched-bench-cpu/records.jsonl");
    let recs = crate::cpu_report::records(&read(&p)?);
    if let Some(r) = recs.iter().find(|r| r.cpu.is_none()) {
        return Err(format!(
            "{}: a record carries no CPU numbers ({:?})",
            p.display(),
            r.source.origin
        ));
    }
    Ok(recs)
}

pub fn batch_scaling() -> Result<Vec<BatchRow>, String> {
    use headroom_core::simulate::BatchedRow;
    use headroom_core::speed::cpu::Isa;
    use headroom_core::speed::cpu_least_squares::{self as cpu_fit, CpuPrepared, CpuRow};
    let cat = headroom_data::catalog().map_err(|e| e.to_string())?;
    let bench = crate::cpu_report::build(cat);
    let recs = batched_records_with_cpu()?;
    let mut out: Vec<(BatchRow, u32)> = Vec::new();
    for model in BATCHED_MODELS {
        // the CPU fit without any llama-bench run of the model predicted
        let train: Vec<&CpuRow> = bench.rows.iter().filter(|r| r.model != model).collect();
        let params = cpu_fit::fit(
            &train,
            Isa::Avx512,
            &[crate::cpu_report::SOURCE.to_string()],
        );
        for r in recs.iter().filter(|r| r.model.as_deref() == Some(model)) {
            let row = BatchedRow::from_record(r)?;
            let s = headroom_data::cpu_runs::cpu_record_scenario(cat, r)?;
            let machine = cpu_fit::machine_of(&s).ok_or("a batched record's CPU has no threads")?;
            let c = CpuPrepared::new(&params, cpu_fit::cpu_work(&s, machine.isa), machine);
            let (d0, n, b) = (
                f64::from(row.prompt),
                f64::from(row.gen),
                f64::from(row.seqs),
            );
            let (reads, kv, one) = c.decode_parts(d0, n);
            let x = BatchRow {
                model: model.to_string(),
                prompt: row.prompt,
                seqs: row.seqs,
                measured_s: row.gen_s / n,
                reads_s: reads,
                kv_s: kv,
                one_s: one,
                floor_s: c.read_floor(d0, n, b),
            };
            // a cell measured in several runs counts with the mean of each quantity
            match out
                .iter_mut()
                .find(|(y, _)| y.model == x.model && y.prompt == x.prompt && y.seqs == x.seqs)
            {
                Some((y, k)) => {
                    let w = f64::from(*k);
                    let mean = |a: f64, b: f64| (a * w + b) / (w + 1.0);
                    y.measured_s = mean(y.measured_s, x.measured_s);
                    y.reads_s = mean(y.reads_s, x.reads_s);
                    y.kv_s = mean(y.kv_s, x.kv_s);
                    y.one_s = mean(y.one_s, x.one_s);
                    y.floor_s = mean(y.floor_s, x.floor_s);
                    *k += 1;
                }
                None => out.push((x, 1)),
            }
        }
    }
    let mut rows: Vec<BatchRow> = out.into_iter().map(|(r, _)| r).collect();
    rows.sort_by(|a, b| {
        (
            BATCHED_MODELS.iter().position(|m| *m == a.model),
            a.prompt,
            a.seqs,
        )
            .cmp(&(
                BATCHED_MODELS.iter().position(|m| *m == b.model),
                b.prompt,
                b.seqs,
            ))
    });
    Ok(rows)
}

/// The least-squares `g` (on relative error) of `pass = reads + B kv + g (B - 1) one` over the
/// rows of the models `keep` accepts: what each sequence past the first costs in units of one
/// sequence's compute as the CPU fit counts it. The read floor is left out of the fit.
pub fn extra_compute_factor(rows: &[BatchRow], keep: &dyn Fn(&str) -> bool) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for r in rows.iter().filter(|r| keep(&r.model) && r.seqs > 1) {
        let b = f64::from(r.seqs);
        let base = (r.reads_s + r.kv_s * b) / r.measured_s;
        let x = (b - 1.0) * r.one_s / r.measured_s;
        num += x * (1.0 - base);
        den += x * x;
    }
    if den > 0.0 {
        (num / den).max(0.0)
    } else {
        0.0
    }
}

/// The non-negative least-squares `(k, m, g)` (on relative error) of
/// `pass = reads + m B kv + k one + g (B - 1) one` over the rows of the models `keep` accepts: the
/// CPU fit's compute and cache terms rescaled for this machine and the extra sequence's compute,
/// all three from the other model's batched runs.
pub fn machine_factors(rows: &[BatchRow], keep: &dyn Fn(&str) -> bool) -> [f64; 3] {
    let mut x = Vec::new();
    let mut y = Vec::new();
    for r in rows.iter().filter(|r| keep(&r.model)) {
        let b = f64::from(r.seqs);
        x.push(vec![
            r.one_s / r.measured_s,
            b * r.kv_s / r.measured_s,
            (b - 1.0) * r.one_s / r.measured_s,
        ]);
        y.push(1.0 - r.reads_s / r.measured_s);
    }
    let v = headroom_core::speed::cpu_least_squares::nnls(&x, &y);
    [v[0], v[1], v[2]]
}

impl BatchRow {
    /// The pass with the factors of [`machine_factors`].
    pub fn with_machine_factors_s(&self, [k, m, g]: [f64; 3]) -> f64 {
        let b = f64::from(self.seqs);
        self.reads_s + m * b * self.kv_s + k * self.one_s + g * (b - 1.0) * self.one_s
    }
}

/// The three held-out predictions of a row: the speed model's pass, the `g` law and the
/// machine factors, each fitted without the row's model.
pub fn held_out(rows: &[BatchRow], r: &BatchRow) -> [f64; 3] {
    let other = |m: &str| m != r.model;
    [
        r.speed_model_s(),
        r.with_extra_compute_s(extra_compute_factor(rows, &other)),
        r.with_machine_factors_s(machine_factors(rows, &other)),
    ]
}

/// The largest held-out |error|, %, per batch size over both models and prompt lengths, for each
/// of the three predictions of [`held_out`].
pub fn batch_errors(rows: &[BatchRow]) -> Vec<(u32, [f64; 3])> {
    let mut out: Vec<(u32, [f64; 3])> = Vec::new();
    for r in rows {
        let p = held_out(rows, r);
        let e = p.map(|v| (v / r.measured_s - 1.0).abs() * 100.0);
        match out.iter_mut().find(|x| x.0 == r.seqs) {
            Some(x) => {
                for (a, b) in x.1.iter_mut().zip(e) {
                    *a = a.max(b);
                }
            }
            None => out.push((r.seqs, e)),
        }
    }
    out.sort_by_key(|x| x.0);
    out
}

/// The batch-term table: the measured pass, the CPU fit's terms, and the three held-out
/// predictions with their errors.
pub fn render_batch(rows: &[BatchRow]) -> String {
    let pct = |p: f64, m: f64| (p / m - 1.0) * 100.0;
    let mut s = String::from(
        "| model | PP | B | decode pass, measured | CPU fit: reads / KV of one / compute of one | \
         speed model | error | g law | error | k, m, g | error |\n\
         |---|---|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in rows {
        let other = |m: &str| m != r.model;
        let g = extra_compute_factor(rows, &other);
        let [k, m, gm] = machine_factors(rows, &other);
        let [sm, gl, mf] = held_out(rows, r);
        let _ = writeln!(
            s,
            "| `{}` Q4_0 | {} | {} | {:.1} ms | {:.1} / {:.1} / {:.1} ms | {:.1} ms | {:+.0}% | \
             {:.1} ms (g = {:.2}) | {:+.0}% | {:.1} ms ({:.2}, {:.2}, {:.2}) | {:+.0}% |",
            r.model,
            r.prompt,
            r.seqs,
            r.measured_s * 1e3,
            r.reads_s * 1e3,
            r.kv_s * 1e3,
            r.one_s * 1e3,
            sm * 1e3,
            pct(sm, r.measured_s),
            gl * 1e3,
            g,
            pct(gl, r.measured_s),
            mf * 1e3,
            k,
            m,
            gm,
            pct(mf, r.measured_s),
        );
    }
    s.push_str(
        "\n| B | largest held-out \\|error\\|: speed model | g law | k, m, g |\n|---|---|---|---|\n",
    );
    for (b, e) in batch_errors(rows) {
        let _ = writeln!(s, "| {b} | {:.0}% | {:.0}% | {:.0}% |", e[0], e[1], e[2]);
    }
    s
}
