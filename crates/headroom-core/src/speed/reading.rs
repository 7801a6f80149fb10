//! A measured speed reading predicted: the rate a llama-bench `pp` or `tg` row reports, for one
//! sequence at a depth, or a llama-batched-bench decode of several sequences together.

use super::{SpeedModel, SpeedQuery};
use crate::measure::Quantity;
use std::fmt;

/// Why a reading has no prediction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoReading {
    /// A prompt's speed needs a compute rate the devices do not publish.
    NoComputeRate,
    /// The quantity is not a speed (a memory reading, say).
    NotASpeed(Quantity),
}

impl fmt::Display for NoReading {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NoReading::NoComputeRate => f.write_str("no compute rate to predict prompt speed from"),
            NoReading::NotASpeed(q) => write!(f, "{} is not a speed", q.name()),
        }
    }
}

impl std::error::Error for NoReading {}

/// Prompt tokens/s for [`Quantity::Prefill`] (a prompt of `n_prompt`, at least one token),
/// generation tokens/s for [`Quantity::Decode`] (`n_gen` tokens, at least one), after `depth`
/// cached tokens. A decode of `n_seq` sequences together (llama-batched-bench) is their summed
/// rate: `n_seq` times one sequence's rate at that batch.
pub fn reading(
    m: &SpeedModel,
    q: Quantity,
    n_prompt: u32,
    n_gen: u32,
    depth: u32,
    n_seq: u32,
) -> Result<f64, NoReading> {
    match q {
        Quantity::Prefill => m
            .query(&SpeedQuery {
                prompt_tokens: n_prompt.max(1),
                gen_tokens: 1,
                depth,
                batch: 1,
            })
            .prefill_tok_s
            .ok_or(NoReading::NoComputeRate),
        Quantity::Decode => {
            let batch = n_seq.max(1);
            Ok(m.query(&SpeedQuery {
                prompt_tokens: 0,
                gen_tokens: n_gen.max(1),
                depth,
                batch,
            })
            .decode_tok_s
                * f64::from(batch))
        }
        other => Err(NoReading::NotASpeed(other)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hardware::DeviceSpec;
    use crate::memory::llama_cpp::LlamaCppSettings;
    use crate::model::fixtures::llama3_8b;
    use crate::plan::{Runtime, Scenario};
    use crate::quant::{stored_tensors, Quant, WeightSummary};
    use crate::speed::SpeedParams;
    use crate::units::{Bytes, BytesPerSec};

    /// Llama 3 8B F16 on an 80 GiB, 1000 GB/s GPU that publishes no compute rate.
    fn model() -> SpeedModel {
        let m = llama3_8b();
        let weights = stored_tensors(&m, &Quant::Float16);
        let dev = DeviceSpec::test_gpu(
            "gpu",
            "x",
            Bytes::from_gib(80.0),
            BytesPerSec::from_gbs(1000.0),
        );
        let s = Scenario {
            weight_summary: WeightSummary::new(m.n_layer, &weights),
            weights,
            quant: "f16".into(),
            model: m,
            devices: vec![dev],
            host_ram: None,
            wired_limit: None,
            runtime: Runtime::LlamaCpp(LlamaCppSettings::default()),
            beyond_trained: false,
            notes: Vec::new(),
        };
        SpeedModel::new(&s, &SpeedParams::default())
    }

    #[test]
    fn a_memory_quantity_is_not_a_speed() {
        let e = reading(&model(), Quantity::Weights, 512, 128, 0, 1).unwrap_err();
        assert_eq!(e, NoReading::NotASpeed(Quantity::Weights));
        assert_eq!(e.to_string(), "weights is not a speed");
    }

    #[test]
    fn decode_is_bounded_by_the_bandwidth_over_the_weights() {
        // A token reads at least every F16 weight but the embedding table's rows (2 bytes per
        // parameter of Llama 3 8B's 8.03e9, less its 128256 x 4096 table): 1000 GB/s over about
        // 15.0 GB is at most about 66.5 tokens/s, with every efficiency at best 1.
        let tg = reading(&model(), Quantity::Decode, 512, 128, 0, 1).unwrap();
        let bytes = 2.0 * (8.03e9 - 128_256.0 * 4096.0);
        assert!(tg > 0.0 && tg <= 1.0e12 / bytes * 1.01, "{tg}");
    }
}
