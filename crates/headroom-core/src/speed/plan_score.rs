//! The score `plan` ranks by: model size, the quantization's measured quality loss, speed and
//! context, weighed for the use case.
//!
//! score = ln(params_b), for a mixture of experts ½ (ln total + ln active)
//!       − ln 2 × KLD / 0.2
//!       + w_speed × ln(clamp(decode / needed decode, 1/16, 4))
//!       + w_ctx × ln(clamp(max context / use-case context, 1/16, 4))
//!
//! - Size: each doubling of parameters adds ln 2. A mixture of experts counts as the geometric
//!   mean of its total and active parameters, a rule of thumb (not a measurement): Mixtral 8x7B
//!   (46.7B, 12.9B active) as a 24.5B, Qwen3-30B-A3B (30.5B, 3.3B active) as a 10B.
//! - Quality: each 0.2 nats of mean KL divergence from F16 (llama.cpp's scoreboard,
//!   `data/quality/`) costs as much as halving the parameters. So a 70B at Q3_K_M (KLD 0.10)
//!   counts as a 49B, a 32B at Q4_K_M (0.031) as a 29B, a 70B at Q2_K (0.45) as a 15B and a
//!   70B at IQ1_S (2.25) as under 0.1B. A quantization without a measurement costs nothing and
//!   its row says so.
//! - Speed and context: the margin over what the use case needs, counted up to 4x (beyond that
//!   the user gains little), down to 1/16. Weights (w_speed, w_ctx): chat (0.5, 0.25),
//!   agent (0.5, 0.5), summary (0.25, 0.5), batch (1.0, 0.25): a coding agent and a summary
//!   live on long prompts, a batch job on throughput.
//!
//! These weights are choices, not fits: no public data ranks such trade-offs. The verdict
//! (usable, slow, poor quality) orders the rows first; the score orders them within a verdict.

use super::verdict::UseCase;

/// What one plan row is scored on.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ScoreInputs {
    pub use_case: UseCase,
    /// Total parameters, billions.
    pub params_b: f64,
    /// Parameters one token uses (routed experts at their used fraction), billions; equal to
    /// `params_b` for a dense model.
    pub active_params_b: f64,
    /// Mean KL divergence from F16, when measured.
    pub kld: Option<f64>,
    /// Generation speed as the verdict judged it (all sequences together for batch).
    pub decode_tok_s: f64,
    pub max_context: Option<u32>,
}

/// Each doubling of parameters is worth this much KL divergence.
pub const KLD_PER_HALVING: f64 = 0.2;

/// (speed weight, context weight) per use case.
pub fn weights(u: UseCase) -> (f64, f64) {
    match u {
        UseCase::Chat => (0.5, 0.25),
        UseCase::Agent => (0.5, 0.5),
        UseCase::Summary => (0.25, 0.5),
        UseCase::Batch => (1.0, 0.25),
    }
}

fn ln_margin(have: f64, need: f64) -> f64 {
    if !(have.is_finite() && need > 0.0) {
        return (1.0f64 / 16.0).ln();
    }
    (have / need).clamp(1.0 / 16.0, 4.0).ln()
}

/// The score of one row (see the module's formula).
pub fn score(x: &ScoreInputs) -> f64 {
    let prof = x.use_case.profile();
    let (ws, wc) = weights(x.use_case);
    let size = 0.5 * (x.params_b.max(1e-3).ln() + x.active_params_b.max(1e-3).ln());
    let quality = -std::f64::consts::LN_2 * x.kld.unwrap_or(0.0).max(0.0) / KLD_PER_HALVING;
    let speed = ws * ln_margin(x.decode_tok_s, prof.min_decode_tok_s);
    let ctx = wc
        * ln_margin(
            f64::from(x.max_context.unwrap_or(0)),
            f64::from(prof.context),
        );
    size + quality + speed + ctx
}

#[cfg(test)]
mod tests {
    use super::*;

    fn x(params_b: f64, kld: f64, decode: f64, ctx: u32) -> ScoreInputs {
        ScoreInputs {
            use_case: UseCase::Chat,
            params_b,
            active_params_b: params_b,
            kld: Some(kld),
            decode_tok_s: decode,
            max_context: Some(ctx),
        }
    }

    #[test]
    fn a_poor_quantization_of_a_large_model_loses_to_a_good_one_of_a_smaller() {
        // chat needs 5.29 tok/s and 4096 tokens. 70B at IQ1_S (KLD 2.254554), 20 tok/s, 8192:
        // ln 70 - ln2 * 2.254554 / 0.2 + 0.5 ln(20/5.29) + 0.25 ln 2 = 4.2485 - 7.8138 + 0.6650
        // + 0.1733 = -2.727; 8B at Q4_K_M (0.031273), 100 tok/s (capped at 4x), 8192:
        // ln 8 - 0.1084 + 0.5 ln 4 + 0.1733 = 2.0794 - 0.1084 + 0.6931 + 0.1733 = 2.837
        let iq1 = score(&x(70.0, 2.254554, 20.0, 8192));
        let q4 = score(&x(8.0, 0.031273, 100.0, 8192));
        assert!((iq1 - -2.727).abs() < 0.01, "{iq1}");
        assert!((q4 - 2.837).abs() < 0.01, "{q4}");
    }

    #[test]
    fn speed_and_context_count_up_to_four_times_the_need() {
        let a = score(&x(8.0, 0.0, 4.0 * READING, 4 * 4096));
        let b = score(&x(8.0, 0.0, 40.0 * READING, 40 * 4096));
        assert_eq!(a, b);
        // chat: 0.5 ln 4 + 0.25 ln 4 = 0.75 * 1.386294 over the size term ln 8
        assert!((a - (8f64.ln() + 0.75 * 4f64.ln())).abs() < 1e-12);
    }

    #[test]
    fn a_mixture_of_experts_counts_as_the_geometric_mean_of_total_and_active() {
        // 46.7B total, 12.9B active: sqrt(46.7 x 12.9) = 24.544B
        let moe = ScoreInputs {
            active_params_b: 12.9,
            ..x(46.7, 0.0, 0.0, 0)
        };
        let dense = x((46.7f64 * 12.9).sqrt(), 0.0, 0.0, 0);
        assert!((score(&moe) - score(&dense)).abs() < 1e-12);
    }

    const READING: f64 = super::super::verdict::READING_TOK_S;
}
