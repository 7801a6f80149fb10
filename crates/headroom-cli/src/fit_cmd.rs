//! `headroom fit`: the memory breakdown, the verdict, the max context and the offload plan.

use crate::args::FitArgs;
use crate::render::{breakdown_cells_with, gib, table};
use crate::scenario;
use anyhow::Result;
use headroom_core::plan::{answer, FitAnswer};
use std::fmt::Write as _;

pub fn run(a: &FitArgs) -> Result<String> {
    let (s, free_note) = if a.free {
        let (sa, note) =
            crate::free_memory::with_free(&a.scenario, &crate::free_memory::detect_now())?;
        (scenario::build(&sa)?, Some(note))
    } else {
        (scenario::build(&a.scenario)?, None)
    };
    let profile = crate::calibration::load_for(a.calibration.as_deref(), &s)?;
    let mut ans = answer(&s);
    if let Some(p) = &profile {
        ans = p.apply_to_answer(&s, &ans);
    }
    ans.report.warnings.extend(free_note);
    let q = match a.depth {
        None => headroom_data::fit_query(&s),
        Some(d) => {
            let def = headroom_core::speed::SpeedQuery::default();
            headroom_core::speed::query_at_setting(&s, def.prompt_tokens, def.gen_tokens, Some(d))
        }
    };
    if a.json {
        if !a.free && a.depth.is_none() {
            // The same assembly the web calculator uses, the profile's corrections included.
            let v = headroom_data::fit_json_with(&s, profile.as_ref())?;
            return Ok(serde_json::to_string_pretty(&v)? + "\n");
        }
        let mut v = serde_json::to_value(&ans)?;
        let speed = match headroom_data::speed_placement(&s) {
            headroom_data::Placement::None => serde_json::Value::Null,
            _ => serde_json::to_value(crate::calibration::speed_report(
                &s,
                &q,
                &headroom_core::speed::SpeedOptions::default(),
                profile.as_ref(),
            )?)?,
        };
        if let Some(o) = v.as_object_mut() {
            o.insert("speed".into(), speed);
        }
        return Ok(serde_json::to_string_pretty(&v)? + "\n");
    }
    let mut text = human(&ans);
    if let headroom_data::Placement::None = headroom_data::speed_placement(&s) {
        let _ = writeln!(
            text,
            "speed: none (these settings do not fit, and no offload fits either)"
        );
        return Ok(text);
    }
    // When it does not fit, the report is the offload's, with layers in system RAM.
    let speed = crate::calibration::speed_report(
        &s,
        &q,
        &headroom_core::speed::SpeedOptions::default(),
        profile.as_ref(),
    )?;
    let label = match speed.offload_gpu_layers {
        Some(n) => format!("speed with the offload above (-ngl {n})"),
        None => "speed".to_string(),
    };
    let num =
        |v: Option<f64>, prec: usize| v.map_or_else(|| "-".to_string(), |x| format!("{x:.prec$}"));
    let streams = if q.batch > 1 {
        format!(
            ", {} sequences: {} tok/s each, {} tok/s together",
            q.batch,
            num(Some(speed.decode_tok_s), 1),
            num(Some(speed.aggregate_tok_s), 1)
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        text,
        "{label} ({}-token prompt after {} cached, {} generated{streams}): prompt {} tok/s, generation {} tok/s ({}-{}), first token {} s",
        q.prompt_tokens,
        q.depth,
        q.gen_tokens,
        num(speed.prefill_tok_s, 0),
        num(Some(speed.decode_tok_s), 1),
        num(Some(speed.decode_tok_s_low), 1),
        num(Some(speed.decode_tok_s_high), 1),
        num(speed.ttft_s, 2),
    );
    match (speed.joules_per_token, speed.tokens_per_joule) {
        (Some(j), Some(t)) => {
            let _ = writeln!(text, "energy: {j:.2} J/token, {t:.2} tokens/J");
        }
        _ => {
            let _ = writeln!(
                text,
                "energy: unknown (no published power figure for this device; `headroom speed --power-w W` takes a measured one)"
            );
        }
    }
    for v in &speed.verdicts {
        let why = if v.reasons.is_empty() {
            String::new()
        } else {
            format!(": {}", v.reasons.join("; "))
        };
        let _ = writeln!(
            text,
            "  {:<8} {}{why}",
            v.use_case.name(),
            v.verdict.label()
        );
    }
    Ok(text)
}

fn human(a: &FitAnswer) -> String {
    let r = &a.report;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} on {} — context {}",
        r.model, r.quant, r.runtime, r.n_ctx
    );
    // The mmproj column appears only when a projector is loaded, so text-only tables keep their shape.
    let projector =
        r.host_breakdown.projector.0 > 0 || r.devices.iter().any(|d| d.breakdown.projector.0 > 0);
    let mut rows: Vec<Vec<String>> = r
        .devices
        .iter()
        .map(|d| {
            let mut row = vec![d.name.clone()];
            row.extend(breakdown_cells_with(&d.breakdown, projector));
            row.push(gib(d.usable_bytes));
            row.push(if d.fits { "yes".into() } else { "NO".into() });
            row
        })
        .collect();
    if r.host_breakdown.total().0 > 0 {
        let mut row = vec!["host RAM".to_string()];
        row.extend(breakdown_cells_with(&r.host_breakdown, projector));
        row.push("-".into());
        row.push("-".into());
        rows.push(row);
    }
    let mut header = vec![
        "device (GiB)",
        "weights",
        "kv cache",
        "compute",
        "output",
        "overhead",
    ];
    if projector {
        header.push("mmproj");
    }
    header.extend(["total", "usable", "fits"]);
    out.push_str(&table(&header, &rows));
    let margin = r.margin_bytes as f64 / (1u64 << 30) as f64;
    if !r.fits && r.margin_bytes >= 0 {
        // the memory holds it, but the runtime cannot start here (MLX off a Mac, a vLLM KV pool
        // shorter than max_model_len, too few GPUs for the tensor parallelism): the warnings say which
        let _ = writeln!(
            out,
            "\nDOES NOT FIT: the runtime cannot run these settings here (see the warnings below), \
             though the memory would hold them: needs {} GiB of {} GiB usable (margin {:+.2} GiB)",
            gib(r.total_bytes),
            gib(r.usable_bytes),
            margin
        );
    } else {
        let _ = writeln!(
            out,
            "\n{}: needs {} GiB of {} GiB usable (margin {:+.2} GiB)",
            if r.fits { "FITS" } else { "DOES NOT FIT" },
            gib(r.total_bytes),
            gib(r.usable_bytes),
            margin
        );
    }
    match a.max_context {
        Some(n) => {
            let _ = writeln!(out, "max context with these settings: {n} tokens");
        }
        None => {
            let _ = writeln!(out, "max context with these settings: none fits");
        }
    }
    if !a.max_context_by_cache_type.is_empty() {
        let parts: Vec<String> = a
            .max_context_by_cache_type
            .iter()
            .map(|c| {
                format!(
                    "{} {}",
                    c.cache_type,
                    c.max_context.map_or("-".to_string(), |n| n.to_string())
                )
            })
            .collect();
        let _ = writeln!(out, "max context by KV cache type: {}", parts.join(", "));
    }
    if let Some(kv) = &r.kv_capacity {
        let _ = writeln!(
            out,
            "KV pool: {} tokens, {:.2}x concurrency at full length",
            kv.kv_tokens, kv.max_concurrency
        );
    }
    if let Some(o) = &a.offload {
        let moe = o
            .n_cpu_moe
            .map_or(String::new(), |n| format!(" --n-cpu-moe {n}"));
        let host = match o.host_fits {
            Some(true) => "fits system RAM",
            Some(false) => "does NOT fit system RAM",
            None => "system RAM not given (--ram)",
        };
        let _ = writeln!(
            out,
            "to fit: -ngl {}{} ({} of {} layers on GPU), {} GiB left in system RAM ({host})",
            o.gpu_layers,
            moe,
            o.gpu_layers,
            o.total_layers,
            gib(o.host_bytes)
        );
    }
    for w in &r.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}
