//! `headroom speed`: prefill, decode and time to first token with their bands, what dominates,
//! and a verdict per use case.

use crate::args::SpeedArgs;
use crate::render::table;
use crate::scenario;
use anyhow::Result;
use headroom_core::speed::{SpeedOptions, SpeedQuery, SpeedReport, UseCase};
use headroom_core::units::BytesPerSec;
use headroom_core::Scenario;
use std::fmt::Write as _;

pub fn run(a: &SpeedArgs) -> Result<String> {
    let s = scenario::build(&a.scenario)?;
    let q = SpeedQuery {
        prompt_tokens: a.prompt,
        gen_tokens: a.gen,
        depth: a.depth,
        batch: a.sequences.max(1),
    };
    if a.power_w.is_some_and(|w| !(w.is_finite() && w > 0.0)) {
        anyhow::bail!("--power-w must be a positive number of watts");
    }
    if a.disk_gbs.is_some_and(|g| !(g.is_finite() && g > 0.0)) {
        anyhow::bail!("--disk-gbs must be a positive number of GB/s");
    }
    let o = SpeedOptions {
        disk_read: a.disk_gbs.map(BytesPerSec::from_gbs),
        power_w: a.power_w,
    };
    let profile = crate::calibration::load_for(a.calibration.as_deref(), &s)?;
    let mut r = crate::calibration::speed_report(&s, &q, &o, profile.as_ref())?;
    if let Some(u) = &a.use_case {
        let u = UseCase::parse(u).ok_or_else(|| {
            anyhow::anyhow!("unknown use case `{u}` (chat, agent, summary, batch)")
        })?;
        r.verdicts.retain(|v| v.use_case == u);
    }
    if a.json {
        return Ok(serde_json::to_string_pretty(&r)? + "\n");
    }
    Ok(human(&s, &r))
}

fn band(v: Option<f64>, lo: Option<f64>, hi: Option<f64>, prec: usize) -> String {
    match (v, lo, hi) {
        (Some(v), Some(l), Some(h)) => format!("{v:.prec$}  ({l:.prec$} - {h:.prec$})"),
        (Some(v), _, _) => format!("{v:.prec$}"),
        _ => "-".into(),
    }
}

fn ms(x: f64) -> String {
    format!("{:.2}", x * 1e3)
}

pub fn human(s: &Scenario, r: &SpeedReport) -> String {
    let mut out = String::new();
    let q = &r.query;
    let _ = writeln!(
        out,
        "{} {} on {} — prompt {}, generate {}, depth {}, {} sequence(s)",
        s.model.name,
        s.quant,
        s.devices
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>()
            .join(" + "),
        q.prompt_tokens,
        q.gen_tokens,
        q.depth,
        q.batch
    );
    let rows = vec![
        vec![
            "prompt (tokens/s)".to_string(),
            band(
                r.prefill_tok_s,
                r.prefill_tok_s_low,
                r.prefill_tok_s_high,
                0,
            ),
        ],
        vec![
            "generation (tokens/s)".to_string(),
            band(
                Some(r.decode_tok_s),
                Some(r.decode_tok_s_low),
                Some(r.decode_tok_s_high),
                1,
            ),
        ],
        vec![
            "physical bound (tokens/s)".to_string(),
            format!("{:.1}", r.decode_bound_tok_s),
        ],
        vec![
            "time to first token (s)".to_string(),
            band(r.ttft_s, r.ttft_s_low, r.ttft_s_high, 2),
        ],
        vec!["load from disk (s)".to_string(), format!("{:.1}", r.load_s)],
        vec![
            "energy (J/token)".to_string(),
            r.joules_per_token.map_or("-".into(), |j| format!("{j:.2}")),
        ],
        vec![
            "energy (tokens/J)".to_string(),
            r.tokens_per_joule.map_or("-".into(), |t| format!("{t:.2}")),
        ],
    ];
    if q.batch > 1 {
        let _ = writeln!(out, "all sequences: {:.1} tokens/s", r.aggregate_tok_s);
    }
    out.push_str(&table(&["", "predicted  (~90% band)"], &rows));
    let d = &r.decode_terms;
    let _ = writeln!(
        out,
        "\ngeneration step (ms): weights {}, KV cache {}, fixed {}, CPU {}, links {}, compute {}",
        ms(d.weights_s),
        ms(d.kv_cache_s),
        ms(d.overhead_s),
        ms(d.cpu_s),
        ms(d.link_s),
        ms(d.compute_s)
    );
    if let Some(p) = &r.prefill_terms {
        let _ = writeln!(
            out,
            "prompt (ms): matmul {}, attention {}, weight reads {}, links (PCIe copies, all-reduce) {}, CPU {}",
            ms(p.matmul_s),
            ms(p.attention_s),
            ms(p.memory_s),
            ms(p.link_s),
            ms(p.cpu_s)
        );
    }
    if !r.verdicts.is_empty() {
        let _ = writeln!(out);
        for v in &r.verdicts {
            let _ = writeln!(
                out,
                "{:<8} {}{}",
                v.use_case.name(),
                v.verdict.label(),
                if v.reasons.is_empty() {
                    String::new()
                } else {
                    format!(": {}", v.reasons.join("; "))
                }
            );
            if !v.suggestions.is_empty() {
                let _ = writeln!(out, "         would help: {}", v.suggestions.join("; "));
            }
        }
    }
    let _ = writeln!(out, "\ncalibration: {}", r.calibration.join(", "));
    // what the names were taken as (an ambiguous `h100`, a repo name's quantization), then the
    // speed model's own warnings
    for w in s
        .notes
        .iter()
        .chain(r.warnings.iter().filter(|w| !s.notes.contains(w)))
    {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

/// A record's speed reading predicted: prompt tokens/s for `pp`, generation tokens/s for `tg`,
/// at the record's depth, in the scenario it was measured in (for `headroom validate`).
/// With llama.cpp, `era` picks the build era's fit (`current` or `2024`).
pub fn predict_record_speed_in_era(
    r: &headroom_core::measure::MeasurementRecord,
    o: &crate::record_scenario::Overrides,
    q: headroom_core::measure::Quantity,
    n_prompt: u32,
    n_gen: u32,
    depth: u32,
    era: &str,
) -> Result<f64, String> {
    let s = crate::record_scenario::speed_scenario_of(r, o, q, n_prompt, n_gen, depth)?;
    let p =
        headroom_data::speed_params_for_era(s.runtime.name(), era).map_err(|e| e.to_string())?;
    record_reading(r, &s, p, q, n_prompt, n_gen, depth)
}

/// The reading record `r` reports, predicted in scenario `s` with parameters `p`: its sequences
/// (`n_seq`, llama-batched-bench) decode together.
pub fn record_reading(
    r: &headroom_core::measure::MeasurementRecord,
    s: &headroom_core::plan::Scenario,
    p: &headroom_core::speed::SpeedParams,
    q: headroom_core::measure::Quantity,
    n_prompt: u32,
    n_gen: u32,
    depth: u32,
) -> Result<f64, String> {
    let m = headroom_core::speed::SpeedModel::new(s, p);
    let n_seq = r.settings.n_seq.unwrap_or(1);
    headroom_core::speed::reading::reading(&m, q, n_prompt, n_gen, depth, n_seq)
        .map_err(|e| e.to_string())
}
