//! `headroom plan`: the models that fit a device, one row per distinct model at its best
//! quantization, best first, with context, measured quality, speed and verdict.

use crate::args::PlanArgs;
use crate::render::table;
use anyhow::{anyhow, Result};
use headroom_core::quant::{stored_tensors, Quant};
use headroom_core::speed::rank::{plan, plan_local, LocalModel, PlanContext, PlanEntry};
use headroom_core::speed::UseCase;
use headroom_data::ScenarioRequest;
use std::fmt::Write as _;

/// GGUF quantizations tried when none are given: the usual llama.cpp ladder.
const DEFAULT_QUANTS: &[&str] = &["Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "F16"];

pub fn run(a: &PlanArgs) -> Result<String> {
    let cat = headroom_data::catalog()?;
    let u = UseCase::parse(&a.use_case).ok_or_else(|| {
        anyhow!(
            "unknown use case `{}` (chat, agent, summary, batch)",
            a.use_case
        )
    })?;
    let first = cat
        .models
        .first()
        .ok_or_else(|| anyhow!("the catalog has no models"))?;
    let hardware: Vec<String> = a
        .hardware
        .split(',')
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    let req = ScenarioRequest {
        model: first.id().to_string(),
        hardware,
        gpus: a.gpus,
        memory_gib: a.memory,
        ram_gib: a.ram,
        runtime: a.runtime.clone(),
        backend: a.backend.clone(),
        ..ScenarioRequest::default()
    };
    // what an ambiguous hardware name (`h100`, `m4-pro`) or a short quantization (`int4`) was
    // taken as; the base scenario's other notes are about the placeholder model it is built with
    let mut hardware_notes = Vec::new();
    for h in &req.hardware {
        let found = cat
            .resolve_hardware(h)
            .map_err(|e| anyhow!("hardware: {e}"))?;
        for n in found
            .choice_note
            .into_iter()
            .chain(found.memory_note.filter(|_| a.memory.is_none()))
        {
            if !hardware_notes.contains(&n) {
                hardware_notes.push(n);
            }
        }
    }
    let base = headroom_data::build(&req, None)?;
    // a short form (`int4`, `q4`) is the runtime's usual format of that many bits, as in `fit`
    let quants: Vec<Quant> = match &a.quants {
        Some(list) => {
            let mut out = Vec::new();
            for q in list.split(',').map(str::trim).filter(|q| !q.is_empty()) {
                let (q, note) = headroom_data::parse_quant_on(q, &base.runtime)
                    .map_err(|e| anyhow!("{}", e.problem))?;
                hardware_notes.extend(note);
                out.push(q);
            }
            out
        }
        None => DEFAULT_QUANTS
            .iter()
            .map(|q| Quant::parse(q).map_err(|e| anyhow!("{e}")))
            .collect::<Result<_>>()?,
    };
    let profile = crate::calibration::load_for(a.calibration.as_deref(), &base)?;
    let p = &crate::calibration::speed_params(&base, profile.as_ref())?;
    let models: Vec<_> = cat
        .models
        .iter()
        .map(|m| (m.id().to_string(), m.spec.clone()))
        .collect();
    let quality = headroom_data::quality_table()?;
    let cx = PlanContext {
        base: &base,
        params: p,
        use_case: u,
        quality: Some(quality),
    };
    let (mut entries, warnings) = match &a.models_dir {
        Some(dir) => local(dir, &cx)?,
        None => (plan(&models, &quants, &cx), Vec::new()),
    };
    entries.truncate(a.top.max(1));
    if a.json {
        for w in hardware_notes.iter().chain(&warnings) {
            eprintln!("headroom: warning: {w}");
        }
        return Ok(serde_json::to_string_pretty(&entries)? + "\n");
    }
    let mut out = human(&base.devices, u, &entries);
    notes(&mut out, &base, &entries);
    for w in hardware_notes.iter().chain(&warnings) {
        let _ = writeln!(out, "warning: {w}");
    }
    if let Some(pr) = &profile {
        let _ = writeln!(
            out,
            "{} (speed only: the fit checks use the uncorrected memory model)",
            crate::calibration::applied_note(pr)
        );
    }
    Ok(out)
}

/// The models under `dir`, each at the weights it stores (a config.json alone: its own
/// quantization, else F16), and what could not be read.
fn local(dir: &std::path::Path, cx: &PlanContext) -> Result<(Vec<PlanEntry>, Vec<String>)> {
    let (loaded, warnings) = crate::models_dir::load_all(dir)?;
    let models = loaded
        .into_iter()
        .map(|l| {
            let (weights, quant) = match l.model.weights {
                Some(w) => w,
                None => {
                    let q = l.model.native_quant.unwrap_or(Quant::Float16);
                    (stored_tensors(&l.model.spec, &q), q.label())
                }
            };
            LocalModel {
                id: l.name,
                spec: l.model.spec,
                weights,
                quant,
            }
        })
        .collect();
    Ok((plan_local(models, cx), warnings))
}

fn human(devices: &[headroom_core::DeviceSpec], u: UseCase, entries: &[PlanEntry]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "best models for {} on {}",
        u.name(),
        devices
            .iter()
            .map(|d| d.name.as_str())
            .collect::<Vec<_>>()
            .join(" + ")
    );
    if entries.is_empty() {
        out.push_str("nothing fits\n");
        return out;
    }
    let rows: Vec<Vec<String>> = entries
        .iter()
        .map(|e| {
            let mut name = e.model.clone();
            if !e.same_shapes.is_empty() {
                let _ = write!(name, " (= {})", e.same_shapes.join(", "));
            }
            vec![
                name,
                e.quant.clone(),
                format!("{:.1}", e.params_b),
                e.max_context.map_or("-".into(), |c| c.to_string()),
                e.quality.as_ref().map_or("unmeasured".into(), |q| {
                    format!("{:.3} {}", q.kld, q.grade.label())
                }),
                format!("{:.1}", e.decode_tok_s),
                e.prefill_tok_s.map_or("-".into(), |p| format!("{p:.0}")),
                format!("{:.2}", e.score),
                e.verdict.verdict.label().to_string(),
                e.verdict.reasons.join("; "),
            ]
        })
        .collect();
    out.push_str(&table(
        &[
            "model",
            "quant",
            "params (B)",
            "context",
            "KLD quality",
            "gen t/s",
            "prompt t/s",
            "score",
            "verdict",
            "why",
        ],
        &rows,
    ));
    out
}

/// What the columns rest on: the quality table, the score, and whether system RAM was used.
fn notes(out: &mut String, base: &headroom_core::Scenario, entries: &[PlanEntry]) {
    if entries.is_empty() {
        return;
    }
    if let Some(q) = entries.iter().find_map(|e| e.quality.as_ref()) {
        let _ = writeln!(
            out,
            "KLD: mean KL divergence from F16 measured on {} ({}); other models lose differently, most larger ones less",
            q.measured_on, q.source
        );
    }
    let _ = writeln!(
        out,
        "context: the longest one sequence can have at that quantization; score: size, quality, speed and context for the use case (docs/speed-model.md, \"Ranking\")"
    );
    if base.host_ram.is_none() && base.has_discrete_gpus() {
        out.push_str("nothing placed in system RAM (give --ram GIB to allow partial offload)\n");
    }
}
