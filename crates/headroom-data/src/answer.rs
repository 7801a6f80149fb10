//! The whole answer `headroom fit --json` prints — the core's fit answer with its speed report —
//! assembled once here, so the CLI and the web calculator cannot differ.

use crate::profile::{applied_note, check_matches, ProfileError};
use crate::{speed_params_for, DataError};
use headroom_core::measure::CalibrationProfile;
use headroom_core::plan::{answer, fit, offload_plan};
use headroom_core::speed::{
    predict_with, query_at_setting, verdicts_at_setting, SpeedOptions, SpeedParams, SpeedQuery,
    SpeedReport,
};
use headroom_core::{Runtime, Scenario};

/// The speed report `headroom speed` prints and `fit --json` embeds: the query's numbers plus a
/// verdict for every use case at the user's setting, with a warning when the runtime was never
/// measured. When the settings do not fit, the numbers are those of the llama.cpp offload that
/// would fit (`offload_gpu_layers`), never the full-speed ones; with no placement that fits they
/// are for the placement as given, and say so (`fit --json` then gives no speed).
pub fn speed_report(
    s: &Scenario,
    q: &SpeedQuery,
    o: &SpeedOptions,
) -> Result<SpeedReport, DataError> {
    let p = speed_params_for(s.runtime.name())?;
    Ok(report_with(s, q, o, p))
}

/// The scenario the speed is for: the settings, or the offload that makes them fit.
pub fn speed_placement(s: &Scenario) -> Placement {
    if fit(s).fits {
        return Placement::AsGiven;
    }
    match (offload_plan(s), &s.runtime) {
        (Some(o), Runtime::LlamaCpp(ls)) if o.host_fits != Some(false) => {
            let mut ls = ls.clone();
            ls.n_gpu_layers = Some(o.gpu_layers);
            ls.n_cpu_moe = o.n_cpu_moe.unwrap_or(0);
            Placement::Offload {
                scenario: Box::new(Scenario {
                    runtime: Runtime::LlamaCpp(ls),
                    ..s.clone()
                }),
                gpu_layers: o.gpu_layers,
                n_cpu_moe: o.n_cpu_moe,
            }
        }
        _ => Placement::None,
    }
}

/// Where the speed numbers come from.
#[derive(Clone, Debug)]
pub enum Placement {
    /// The settings fit as given.
    AsGiven,
    /// They do not; the llama.cpp offload that fits.
    Offload {
        scenario: Box<Scenario>,
        gpu_layers: u32,
        n_cpu_moe: Option<u32>,
    },
    /// Nothing fits.
    None,
}

fn report_with(s: &Scenario, q: &SpeedQuery, o: &SpeedOptions, p: &SpeedParams) -> SpeedReport {
    let runtime = s.runtime.name();
    let placement = speed_placement(s);
    let mut r = match &placement {
        Placement::Offload {
            scenario,
            gpu_layers,
            n_cpu_moe,
        } => {
            let mut r = predict_with(scenario, q, p, o);
            r.offload_gpu_layers = Some(*gpu_layers);
            r.warnings.insert(
                0,
                format!(
                    "these settings do not fit; the speed is that of the offload that fits (-ngl {gpu_layers}{})",
                    n_cpu_moe.map_or(String::new(), |n| format!(" --n-cpu-moe {n}"))
                ),
            );
            r
        }
        Placement::AsGiven => predict_with(s, q, p, o),
        Placement::None => {
            let mut r = predict_with(s, q, p, o);
            r.warnings.insert(
                0,
                "these settings do not fit and no offload fits either (see `headroom fit`); the numbers are for the placement as given and would not run"
                    .into(),
            );
            r
        }
    };
    r.verdicts = verdicts_at_setting(s, p);
    if runtime == "mlx" && p.runtime == runtime {
        if let Some(w) = mlx_fit_note(s, p) {
            r.warnings.push(w);
        }
    }
    if p.runtime != runtime {
        r.warnings.push(if runtime == "mlx" {
            format!(
                "no mlx-lm speed fit yet (too few public mlx-lm rows): {}'s Metal efficiencies are used with MLX's own bytes per weight ({}) and {}-token prefill chunks; the band is theirs",
                p.runtime,
                s.quant,
                match &s.runtime {
                    headroom_core::Runtime::Mlx(m) => m.prefill_step,
                    _ => 0,
                }
            )
        } else {
            format!(
                "no {runtime} measurements yet: {}'s fitted efficiencies are used",
                p.runtime
            )
        });
    }
    r
}

/// How many mlx-lm rows the MLX speed fit that answers for this Mac rests on, said always: the
/// public mlx-lm measurements are few (data/speed/mlx.json lists them).
fn mlx_fit_note(s: &Scenario, p: &SpeedParams) -> Option<String> {
    let d = s
        .devices
        .iter()
        .find(|d| d.kind != headroom_core::hardware::DeviceKind::Cpu)?;
    let q = headroom_core::speed::QuantClass::of_label(&s.quant);
    let dec = p.decode(d.backend, &d.family, q).group?;
    let pre = p.prefill(d.backend, &d.family, q).group?;
    let step = match &s.runtime {
        headroom_core::Runtime::Mlx(m) => m.prefill_step,
        _ => 0,
    };
    Some(format!(
        "mlx-lm's speed fit rests on few public rows: generation on {} rows of {} Mac(s) (group {}), prompts on {} rows of {} (group {}); MLX's own bytes per weight ({}) and {step}-token prefill chunks are in its terms",
        dec.n_decode,
        dec.devices.len(),
        dec.key.label(),
        pre.n_prefill,
        pre.devices.len(),
        pre.key.label(),
        s.quant,
    ))
}

/// `speed_report` with a calibration profile's speed groups in place of the shipped ones, the
/// shipped report's warnings kept, and the "calibration profile applied" line added. The profile
/// is taken as already matched to the scenario (`fit_json_with` checks it).
pub fn speed_report_with(
    s: &Scenario,
    q: &SpeedQuery,
    o: &SpeedOptions,
    p: Option<&CalibrationProfile>,
) -> Result<SpeedReport, DataError> {
    let shipped = speed_report(s, q, o)?;
    let Some(profile) = p else {
        return Ok(shipped);
    };
    let params = profile.speed_params(speed_params_for(s.runtime.name())?);
    let mut r = report_with(s, q, o, &params);
    for w in shipped.warnings {
        if !r.warnings.contains(&w) {
            r.warnings.push(w);
        }
    }
    r.warnings.push(applied_note(profile));
    Ok(r)
}

/// The query `fit` answers: llama-bench's pp512 and tg128 for each of the runtime's sequences,
/// with the rest of the context set already in the cache.
pub fn fit_query(s: &Scenario) -> SpeedQuery {
    let d = SpeedQuery::default();
    query_at_setting(s, d.prompt_tokens, d.gen_tokens, None)
}

/// `headroom fit --json`: the fit answer's fields plus `speed` (at [`fit_query`]),
/// as one JSON object with its keys sorted.
pub fn fit_json(s: &Scenario) -> Result<serde_json::Value, DataError> {
    assemble(s, None)
}

/// `headroom fit --json --calibration FILE`: `fit_json` with the profile's memory corrections
/// applied to the answer and its speed groups to the speed report. A profile fitted on another
/// device or runtime is refused with an error naming both.
pub fn fit_json_with(
    s: &Scenario,
    p: Option<&CalibrationProfile>,
) -> Result<serde_json::Value, ProfileError> {
    if let Some(p) = p {
        check_matches(p, s)?;
    }
    Ok(assemble(s, p)?)
}

fn assemble(s: &Scenario, p: Option<&CalibrationProfile>) -> Result<serde_json::Value, DataError> {
    let err = |e: serde_json::Error| DataError {
        file: "speed/".into(),
        problem: format!("the answer does not serialize: {e}"),
    };
    let mut ans = answer(s);
    if let Some(p) = p {
        ans = p.apply_to_answer(s, &ans);
    }
    let mut v = serde_json::to_value(ans).map_err(err)?;
    // a setup that does not fit anywhere shows no speed
    let speed = match speed_placement(s) {
        Placement::None => serde_json::Value::Null,
        _ => serde_json::to_value(speed_report_with(
            s,
            &fit_query(s),
            &SpeedOptions::default(),
            p,
        )?)
        .map_err(err)?,
    };
    if let Some(o) = v.as_object_mut() {
        o.insert("speed".into(), speed);
    }
    Ok(v)
}
