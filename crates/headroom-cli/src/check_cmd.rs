//! `headroom check`: a claimed or observed number against the physical bound and Headroom's band,
//! with the settings that reproduce it; a pasted log's speed readings become claims.

use crate::args::{CheckArgs, YesNo};
use crate::scenario;
use anyhow::{bail, Result};
use headroom_core::check::{self, CheckOptions, CheckReport, Claim, ClaimCheck, Os, Quantity};
use headroom_core::measure::SpeedKind;
use headroom_core::speed::SpeedQuery;
use std::fmt::Write as _;

pub fn run(a: &CheckArgs) -> Result<String> {
    let s = scenario::build(&a.scenario)?;
    let os =
        match &a.scenario.os {
            None => None,
            Some(o) => Some(Os::parse(o).ok_or_else(|| {
                anyhow::anyhow!("--os: unknown `{o}` (linux, windows, wsl2, macos)")
            })?),
        };
    let mut query = SpeedQuery {
        prompt_tokens: a.prompt,
        gen_tokens: a.gen.max(1),
        depth: a.depth,
        batch: 1,
    };
    let mut claims = Vec::new();
    let mut add = |q: Quantity, v: Option<f64>, flag: &str, neg_ok: bool| -> Result<()> {
        if let Some(v) = v {
            if !v.is_finite() || (v < 0.0 && !neg_ok) || (v == 0.0 && !neg_ok) {
                bail!("{flag} must be a positive finite number, got {v}");
            }
            claims.push(Claim {
                quantity: q,
                value: v,
            });
        }
        Ok(())
    };
    add(Quantity::DecodeTokS, a.tok_s, "--tok-s", false)?;
    add(
        Quantity::PrefillTokS,
        a.prompt_tok_s,
        "--prompt-tok-s",
        false,
    )?;
    add(Quantity::TtftS, a.ttft, "--ttft", false)?;
    add(Quantity::VramGib, a.vram_gb, "--vram-gb", false)?;
    add(
        Quantity::VramRiseGib,
        a.vram_rise_gb,
        "--vram-rise-gb",
        true,
    )?;
    add(Quantity::LoadS, a.load_s, "--load-s", false)?;
    if let Some(f) = a.fits {
        claims.push(Claim {
            quantity: Quantity::Fits,
            value: if f == YesNo::Yes { 1.0 } else { 0.0 },
        });
    }
    if a.vram_rise_gb.is_some() && a.from_ctx.is_none() {
        bail!("--vram-rise-gb needs --from-ctx, the context before the rise");
    }
    if let Some(log) = &a.log {
        let records =
            crate::import_cmd::read_records(std::slice::from_ref(log), a.log_format.as_deref())?;
        let mut found = 0;
        for r in &records {
            for sp in &r.speed {
                let q = match sp.kind {
                    SpeedKind::Prefill => Quantity::PrefillTokS,
                    SpeedKind::Decode => Quantity::DecodeTokS,
                    _ => continue,
                };
                if !(sp.tokens_per_sec.is_finite() && sp.tokens_per_sec > 0.0) {
                    continue;
                }
                if sp.kind == SpeedKind::Prefill && sp.n_prompt > 0 {
                    query.prompt_tokens = sp.n_prompt;
                }
                if sp.kind == SpeedKind::Decode && sp.n_gen > 0 {
                    query.gen_tokens = sp.n_gen;
                }
                query.depth = sp.depth;
                claims.push(Claim {
                    quantity: q,
                    value: sp.tokens_per_sec,
                });
                found += 1;
            }
        }
        if found == 0 {
            bail!(
                "{}: no prompt or generation speed found in {} record(s)",
                log.display(),
                records.len()
            );
        }
    }
    if claims.is_empty() {
        bail!("give a number to check: --tok-s, --prompt-tok-s, --ttft, --vram-gb, --vram-rise-gb, --load-s, --fits or --log FILE");
    }
    let p = headroom_data::speed_params_for(s.runtime.name())?;
    let o = CheckOptions {
        query,
        os,
        from_ctx: a.from_ctx,
    };
    let r = check::check(&s, &claims, p, &o);
    if a.json {
        return Ok(serde_json::to_string_pretty(&r)? + "\n");
    }
    Ok(human(&r))
}

fn unit(q: Quantity) -> &'static str {
    match q {
        Quantity::DecodeTokS | Quantity::PrefillTokS => "tok/s",
        Quantity::TtftS | Quantity::LoadS => "s",
        Quantity::VramGib | Quantity::VramRiseGib => "GiB",
        Quantity::Fits => "",
    }
}

fn num(q: Quantity, v: f64) -> String {
    match q {
        Quantity::Fits => (if v >= 0.5 { "runs" } else { "does not run" }).to_string(),
        Quantity::PrefillTokS => format!("{v:.0} {}", unit(q)),
        Quantity::VramGib | Quantity::VramRiseGib | Quantity::TtftS => {
            format!("{v:.2} {}", unit(q))
        }
        _ => format!("{v:.1} {}", unit(q)),
    }
}

pub fn human(r: &CheckReport) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {} on {} — context {}, {}",
        r.model, r.quant, r.runtime, r.n_ctx, r.as_run
    );
    for n in &r.notes {
        let _ = writeln!(out, "  {n}");
    }
    for c in &r.claims {
        claim(&mut out, c);
    }
    for w in &r.warnings {
        let _ = writeln!(out, "warning: {w}");
    }
    out
}

fn claim(out: &mut String, c: &ClaimCheck) {
    let q = c.quantity;
    let _ = writeln!(
        out,
        "\n{} {}: {}",
        q.name(),
        num(q, c.claimed),
        c.verdict.name().to_uppercase()
    );
    if let (Some(p), Some(l), Some(h)) = (c.predicted, c.low, c.high) {
        if q == Quantity::Fits {
            let _ = writeln!(out, "  predicted: {}", num(q, p));
        } else {
            let _ = writeln!(
                out,
                "  predicted: {} (band {} - {})",
                num(q, p),
                num(q, l),
                num(q, h)
            );
        }
    }
    if let (Some(b), Some(a)) = (c.bound, &c.bound_arithmetic) {
        let side = if q.bound_is_ceiling() {
            "at most"
        } else {
            "at least"
        };
        if q == Quantity::Fits {
            let _ = writeln!(out, "  bound: {a}");
        } else {
            let _ = writeln!(out, "  physical bound: {side} {} — {a}", num(q, b));
        }
    }
    if c.verdict == check::ClaimVerdict::Implausible {
        if c.explanations.is_empty() {
            let _ = writeln!(out, "  no setting searched reproduces it");
        } else {
            let _ = writeln!(out, "  settings that reproduce it, best match first:");
            for (i, e) in c.explanations.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "  {}. {}: {} -> {}",
                    i + 1,
                    e.cause,
                    e.setting,
                    num(q, e.predicted)
                );
            }
        }
    }
}
