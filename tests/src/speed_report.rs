//! The speed-model accuracy report: fit, leave-one-device-out, and docs/speed-accuracy.md's text.

use crate::current_fixture::{self, CurrentMeasured};
use crate::speed_fixture::{measured, rows, sources, Measured};
use headroom_core::hardware::Backend;
use headroom_core::speed::least_squares::{
    fit, in_sample, leave_one_device_out, leave_one_device_out_with, median, refit_era, Phase,
    Prediction,
};
use headroom_core::speed::{SpeedModel, SpeedParams};
use headroom_data::Catalog;
use std::collections::BTreeMap;
use std::fmt::Write as _;

/// Everything the report needs. `params` is the 2024 era (`llama.cpp@2024`), `current` the
/// current llama.cpp build refitted on top of it.
#[derive(Debug)]
pub struct Report {
    pub measured: Vec<Measured>,
    pub params: SpeedParams,
    pub in_sample: Vec<Prediction>,
    pub left_out: Vec<Prediction>,
    pub current: Current,
}

/// The current-build rows: the fitted ones (llama.cpp CUDA) with in-sample and left-out
/// predictions, and every row predicted by both eras.
#[derive(Debug)]
pub struct Current {
    pub measured: Vec<CurrentMeasured>,
    pub params: SpeedParams,
    /// Per row of `measured`: the current era's prediction (fitted rows in sample).
    pub predicted: Vec<f64>,
    /// Per row: the current era fitted without the row's device (rows not fitted: as `predicted`).
    pub left_out: Vec<f64>,
    /// Per row: the 2024 era's prediction.
    pub era_2024: Vec<f64>,
    /// mlx-lm's own fit (`data/speed/mlx.json`): its rows refitted on top of the current
    /// llama.cpp fit; MLX rows are predicted with it.
    pub mlx_params: SpeedParams,
}

/// The shortest mlx-lm prompt the MLX fit takes: a shorter prompt's time is mostly reading the
/// weights once (the memory floor, which a fit's prompt features leave out) and start-up.
pub const MLX_FIT_MIN_PROMPT: u32 = 512;

/// Where the MLX fit's measurements came from (recorded in data/speed/mlx.json).
pub fn mlx_sources() -> Vec<String> {
    vec![
        "tests/fixtures/speed/current_backends.csv and tests/fixtures/validation/current_builds.csv: mlx-lm rows (mlx_lm.generate and mlx_lm.benchmark) from ml-explore/mlx-examples issue #1029 (https://github.com/ml-explore/mlx-examples/issues/1029), ml-explore/mlx-lm PR #40 (https://github.com/ml-explore/mlx-lm/pull/40) and mlx-lm's mlx_lm/BENCHMARKS.md (the table ml-explore/mlx-lm PR #1569 extends), each row naming its source; prompts under 512 tokens are checked, not fitted".into(),
        "older groups kept from the current llama.cpp fit (data/speed/llama-cpp.json) for what the mlx-lm rows do not measure".into(),
    ]
}

/// Whether an mlx-lm row is fitted (generation, or a prompt of at least [`MLX_FIT_MIN_PROMPT`]).
fn mlx_fitted(m: &CurrentMeasured) -> bool {
    m.row.is_mlx() && (m.row.test.phase == Phase::Decode || m.row.test.tokens >= MLX_FIT_MIN_PROMPT)
}

/// The runtime name of the 2024 fit.
pub const ERA_2024: &str = "llama.cpp@2024";

/// Fits every measurement and cross-validates by device, for both eras.
pub fn build(cat: &Catalog) -> Report {
    let ms = measured(cat);
    let obs: Vec<_> = ms.iter().map(|m| m.obs.clone()).collect();
    let params = fit(&obs, ERA_2024, &sources());
    let ins = in_sample(&obs, &params);
    let loo = leave_one_device_out(&obs);
    let current = build_current(cat, &params);
    Report {
        measured: ms,
        params,
        in_sample: ins,
        left_out: loo,
        current,
    }
}

fn build_current(cat: &Catalog, base: &SpeedParams) -> Current {
    let cm = current_fixture::measured(cat);
    let fitted: Vec<_> = cm
        .iter()
        .filter(|m| m.fitted)
        .map(|m| m.obs.clone())
        .collect();
    let mut src = current_fixture::sources();
    src.extend(
        base.sources
            .iter()
            .map(|s| format!("older groups kept from the 2024 fit: {s}")),
    );
    let params = refit_era(base, &fitted, "llama.cpp", &src);
    let loo = leave_one_device_out_with(&fitted, |train| refit_era(base, train, "", &[]));
    let mlx_obs: Vec<_> = cm
        .iter()
        .filter(|m| mlx_fitted(m))
        .map(|m| m.obs.clone())
        .collect();
    let mlx_params = refit_era(&params, &mlx_obs, "mlx", &mlx_sources());
    // an MLX device left out: neither the llama.cpp fit under it nor the MLX fit saw the device
    let mut mlx_left_out: BTreeMap<String, SpeedParams> = BTreeMap::new();
    for m in cm.iter().filter(|m| m.row.is_mlx()) {
        let d = &m.row.device_id;
        if mlx_left_out.contains_key(d) {
            continue;
        }
        let lc: Vec<_> = fitted.iter().filter(|o| &o.device != d).cloned().collect();
        let mo: Vec<_> = mlx_obs.iter().filter(|o| &o.device != d).cloned().collect();
        let lc_p = refit_era(base, &lc, "", &[]);
        mlx_left_out.insert(d.clone(), refit_era(&lc_p, &mo, "", &[]));
    }
    let predicted: Vec<f64> = cm
        .iter()
        .map(|m| {
            if m.row.is_mlx() {
                model_tok_s(m, &mlx_params)
            } else {
                model_tok_s(m, &params)
            }
        })
        .collect();
    let mut k = 0;
    let left_out = cm
        .iter()
        .zip(&predicted)
        .map(|(m, p)| {
            if m.fitted {
                k += 1;
                loo[k - 1].predicted_tok_s
            } else if let Some(lp) = mlx_left_out
                .get(&m.row.device_id)
                .filter(|_| m.row.is_mlx())
            {
                model_tok_s(m, lp)
            } else {
                *p
            }
        })
        .collect();
    Current {
        era_2024: cm.iter().map(|m| model_tok_s(m, base)).collect(),
        measured: cm,
        params,
        predicted,
        left_out,
        mlx_params,
    }
}

/// What the speed model answers for a row's test with the given parameters (the memory floor of
/// a short prompt included, which the fit's observation leaves out).
fn model_tok_s(m: &CurrentMeasured, p: &SpeedParams) -> f64 {
    let model = SpeedModel::new(&m.scenario, p);
    let (d0, n) = (f64::from(m.row.test.depth), f64::from(m.row.test.tokens));
    match m.row.test.phase {
        Phase::Decode => 1.0 / model.decode_step(d0, n, 1.0).0.total(),
        Phase::Prefill => model
            .prefill_time(d0, n)
            .map_or(f64::NAN, |t| n / t.total()),
    }
}

/// Median absolute percentage error of `pred` against the current rows `keep` selects, and their count.
pub fn current_mdape(
    c: &Current,
    pred: &[f64],
    phase: Phase,
    keep: &dyn Fn(&CurrentMeasured) -> bool,
) -> (f64, usize) {
    let v: Vec<f64> = c
        .measured
        .iter()
        .zip(pred)
        .filter(|(m, _)| m.obs.phase == phase && keep(m))
        .map(|(m, p)| (p / m.obs.measured_tok_s() - 1.0).abs() * 100.0)
        .collect();
    let n = v.len();
    (median(v), n)
}

/// Median absolute percentage error over the rows of one phase that `keep` selects, and their count.
pub fn mdape(
    ms: &[Measured],
    p: &[Prediction],
    phase: Phase,
    keep: &dyn Fn(&Measured) -> bool,
) -> (f64, usize) {
    let v: Vec<f64> = p
        .iter()
        .filter(|x| ms[x.index].obs.phase == phase && keep(&ms[x.index]))
        .map(Prediction::abs_pct_error)
        .collect();
    let n = v.len();
    (median(v), n)
}

/// docs/speed-accuracy.md.
pub fn render(r: &Report) -> String {
    let (ms, ins, loo) = (&r.measured[..], &r.in_sample[..], &r.left_out[..]);
    let mut s = String::new();
    let _ = writeln!(s, "# Speed model accuracy\n");
    let _ = writeln!(
        s,
        "Generated by `cargo run -p headroom-tests --example speed_report` from the public llama-bench \
         measurements in `tests/fixtures/speed/` (copied from the project's validation set, each row \
         with its source), and the current-build rows in `tests/fixtures/validation/current_builds.csv`. \
         The same run writes the fitted parameters to `data/speed/llama-cpp.json` (current builds, the \
         default) and `data/speed/llama-cpp-2024.json` (the 2024 era); \
         `cargo test -p headroom-tests --test speed` checks them against a fresh fit.\n"
    );
    let _ = writeln!(
        s,
        "Error is |predicted - measured| / measured of the tokens/s, summarised by the median (MdAPE). \
         *Fitted*: one fit on every row. *Left out*: leave-one-device-out, every row of a device \
         (all its chips' core counts, 1 or 2 cards, both files) predicted from a fit that never saw \
         that device; the device's family, backend and quantization class are then fitted from the \
         other devices only.\n"
    );
    render_current(&mut s, &r.current);
    let _ = writeln!(s, "## The 2024 era (runtime `llama.cpp@2024`)\n");
    let _ = writeln!(
        s,
        "The May 2024 llama-bench tables below are fitted as their own era, kept so the old tables \
         still validate and as the prior of the current era where current rows are missing.\n"
    );
    let all = |_: &Measured| true;
    let (fd, nd) = mdape(ms, ins, Phase::Decode, &all);
    let (fp, np) = mdape(ms, ins, Phase::Prefill, &all);
    let (ld, _) = mdape(ms, loo, Phase::Decode, &all);
    let (lp, _) = mdape(ms, loo, Phase::Prefill, &all);
    let _ = writeln!(s, "### Summary (2024 tables)\n");
    let _ = writeln!(
        s,
        "| | rows | MdAPE fitted | MdAPE left out | bar (left out) |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|");
    let _ = writeln!(s, "| decode (tg) | {nd} | {fd:.1}% | {ld:.1}% | 10% |");
    let _ = writeln!(s, "| prefill (pp) | {np} | {fp:.1}% | {lp:.1}% | 20% |");
    let _ = writeln!(s);
    let verdict = |e: f64, bar: f64| if e <= bar { "met" } else { "NOT met" };
    let _ = writeln!(
        s,
        "Decode bar {}; prefill bar {}.\n",
        verdict(ld, 10.0),
        verdict(lp, 20.0)
    );

    let _ = writeln!(s, "### Per device (left out)\n");
    let _ = writeln!(
        s,
        "| device | decode rows | decode MdAPE | prefill rows | prefill MdAPE |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|");
    let mut devices: BTreeMap<&str, ()> = BTreeMap::new();
    for m in ms {
        devices.insert(&m.row.device_id, ());
    }
    for d in devices.keys() {
        let keep = |m: &Measured| m.row.device_id == *d;
        let (e1, n1) = mdape(ms, loo, Phase::Decode, &keep);
        let (e2, n2) = mdape(ms, loo, Phase::Prefill, &keep);
        let _ = writeln!(s, "| {d} | {n1} | {e1:.1}% | {n2} | {e2:.1}% |");
    }
    let _ = writeln!(s);
    let over: Vec<String> = devices
        .keys()
        .filter_map(|d| {
            let keep = |m: &Measured| m.row.device_id == *d;
            let (e1, _) = mdape(ms, loo, Phase::Decode, &keep);
            let (e2, _) = mdape(ms, loo, Phase::Prefill, &keep);
            (e1 > 10.0 || e2 > 20.0).then(|| format!("{d} (decode {e1:.1}%, prefill {e2:.1}%)"))
        })
        .collect();
    let _ = writeln!(
        s,
        "Devices whose own rows miss a bar when left out: {}. See docs/speed-model.md for why.\n",
        if over.is_empty() {
            "none".to_string()
        } else {
            over.join(", ")
        }
    );

    let _ = writeln!(
        s,
        "### M2 Ultra at depth (llama.cpp benches, `-ub 2048 -fa 1`)\n"
    );
    let _ = writeln!(
        s,
        "| model | test | measured t/s | fitted t/s | left out t/s | left-out error |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|");
    for (i, m) in ms
        .iter()
        .enumerate()
        .filter(|(_, m)| m.row.is_upstream_bench())
    {
        let _ = writeln!(
            s,
            "| {} {} | {} | {:.1} | {:.1} | {:.1} | {:+.1}% |",
            m.row.model_id,
            m.row.quant,
            m.row.test,
            m.obs.measured_tok_s(),
            ins[i].predicted_tok_s,
            loo[i].predicted_tok_s,
            (loo[i].predicted_tok_s / loo[i].measured_tok_s - 1.0) * 100.0
        );
    }
    let deep = |m: &Measured| m.row.is_upstream_bench() && m.test.depth >= 4096;
    let (e1, _) = mdape(ms, ins, Phase::Decode, &deep);
    let (e2, _) = mdape(ms, ins, Phase::Prefill, &deep);
    let (e3, _) = mdape(ms, loo, Phase::Decode, &deep);
    let (e4, _) = mdape(ms, loo, Phase::Prefill, &deep);
    let _ = writeln!(
        s,
        "\nAt depth 4K-32K: tg MdAPE {e1:.1}% fitted, {e3:.1}% left out; pp MdAPE {e2:.1}% fitted, {e4:.1}% left out.\n"
    );

    let _ = writeln!(s, "### Every row\n");
    let _ = writeln!(
        s,
        "| measurement | measured t/s | fitted t/s | left out t/s |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|");
    for (i, m) in ms.iter().enumerate() {
        let _ = writeln!(
            s,
            "| {} | {:.2} | {:.2} | {:.2} |",
            m.obs.label,
            m.obs.measured_tok_s(),
            ins[i].predicted_tok_s,
            loo[i].predicted_tok_s
        );
    }
    let (all_rows, unmapped) = rows();
    let _ = writeln!(s, "\n### Rows not used\n");
    let _ = writeln!(
        s,
        "- {} rows marked OOM (no rate) and {} marked SUSPICIOUS in the source notes.",
        all_rows.iter().filter(|r| r.tok_s.is_none()).count(),
        all_rows.iter().filter(|r| r.is_suspicious()).count()
    );
    let _ = writeln!(
        s,
        "- {} rows whose device or model has no catalog entry.",
        unmapped.len()
    );
    s
}

/// The current-build section: per backend and runtime, the rows behind each number, both eras.
fn render_current(s: &mut String, c: &Current) {
    let _ = writeln!(s, "## Current builds (the default era)\n");
    let _ = writeln!(
        s,
        "Rows from `tests/fixtures/validation/current_builds.csv` and \
         `tests/fixtures/speed/current_backends.csv` (each with its source). The llama-bench rows \
         of the llama.cpp scoreboards (Llama 2 7B, pp512/tg128: discussion #15013 for CUDA, #10879 \
         for Vulkan, #15021 for ROCm, #4167 for Apple Silicon's M3 and M4 rows, and the Strix Halo \
         runs) are fitted: every group they cover is refitted on them alone, pulled toward the 2024 \
         fit, and the 2024 groups of each backend they measure are dropped \
         (`speed::least_squares::refit_era`). *Left out* refits without the row's device (all its backends \
         and core counts). The llama-cli rows at 32K (M3 Max) are only checked. The mlx-lm rows \
         (generation, and prompts of 512 tokens or more) fit mlx-lm's own parameters \
         (`data/speed/mlx.json`) on top of the current llama.cpp fit, the same way; *left out*, an \
         MLX device is predicted from a llama.cpp fit and an MLX fit that both never saw it.\n"
    );
    let _ = writeln!(
        s,
        "| backend / runtime | phase | rows | devices | MdAPE 2024 era | MdAPE current, fitted | MdAPE current, left out | bar (left out) |"
    );
    let _ = writeln!(s, "|---|---|---:|---:|---:|---:|---:|---:|");
    type Keep = Box<dyn Fn(&CurrentMeasured) -> bool>;
    let bench = |b: Backend| -> Keep {
        Box::new(move |m: &CurrentMeasured| m.row.is_llama_bench() && m.row.backend == b)
    };
    let groups: Vec<(&str, Keep, f64, f64)> = vec![
        ("llama.cpp CUDA", bench(Backend::Cuda), 10.0, 15.0),
        ("llama.cpp Vulkan", bench(Backend::Vulkan), 10.0, 15.0),
        ("llama.cpp ROCm", bench(Backend::Rocm), 10.0, 15.0),
        (
            "llama.cpp Metal (llama-bench)",
            bench(Backend::Metal),
            10.0,
            15.0,
        ),
        (
            "llama.cpp Metal (M3 Max, llama-cli at 32K)",
            Box::new(|m: &CurrentMeasured| !m.row.is_llama_bench() && !m.row.is_mlx()),
            10.0,
            15.0,
        ),
        (
            "MLX (mlx-lm)",
            Box::new(|m: &CurrentMeasured| m.row.is_mlx()),
            10.0,
            20.0,
        ),
    ];
    let mut verdicts = Vec::new();
    for (name, keep, dbar, pbar) in &groups {
        for (phase, bar) in [(Phase::Decode, *dbar), (Phase::Prefill, *pbar)] {
            let (e0, n) = current_mdape(c, &c.era_2024, phase, keep.as_ref());
            let devices: std::collections::BTreeSet<&str> = c
                .measured
                .iter()
                .filter(|m| m.obs.phase == phase && keep(m))
                .map(|m| m.row.device_id.as_str())
                .collect();
            let nd = devices.len();
            if n == 0 {
                let _ = writeln!(s, "| {name} | {phase:?} | 0 | 0 | - | - | - | {bar:.0}% |");
                verdicts.push(format!("{name} {phase:?}: no rows, bar not tested"));
                continue;
            }
            let (e1, _) = current_mdape(c, &c.predicted, phase, keep.as_ref());
            let (e2, _) = current_mdape(c, &c.left_out, phase, keep.as_ref());
            let _ = writeln!(
                s,
                "| {name} | {phase:?} | {n} | {nd} | {e0:.1}% | {e1:.1}% | {e2:.1}% | {bar:.0}% |"
            );
            verdicts.push(format!(
                "{name} {phase:?}: {} ({e2:.1}% on {n} rows, {nd} devices)",
                if e2 <= bar { "met" } else { "NOT met" }
            ));
        }
    }
    let _ = writeln!(s, "\nBars on devices left out: {}.\n", verdicts.join("; "));
    let _ = writeln!(
        s,
        "Vulkan rows are grouped by llama.cpp's matmul path (NV coopmat2, KHR coopmat, scalar \
         shaders; `speed/vulkan_path.rs`) between the backend and the device family, so a device \
         left out takes its path's efficiency. \
         SYCL has no current rows: it is predicted from the GPU-wide groups and says so in its \
         warnings. CPUs are not in this table: llama.cpp on CPU threads has its own fit, in the \
         section \"CPU: llama.cpp on CPU threads\" below.\n"
    );
    let _ = writeln!(
        s,
        "| measurement | measured t/s | 2024 era t/s | current t/s | current, left out t/s |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---:|");
    for (i, m) in c.measured.iter().enumerate() {
        let _ = writeln!(
            s,
            "| {} | {:.2} | {:.2} | {:.2} | {:.2} |",
            m.obs.label,
            m.obs.measured_tok_s(),
            c.era_2024[i],
            c.predicted[i],
            c.left_out[i]
        );
    }
    let (_, skipped) = current_fixture::rows();
    let _ = writeln!(
        s,
        "\nNot used: {} rows the catalog cannot describe; mlx-lm rows from before memory wiring \
         (mlx-examples PR #1069, weights paged from disk) and before the causal-mask change (mlx-lm \
         PR #40), which measure superseded builds.\n",
        skipped.len()
    );
}
