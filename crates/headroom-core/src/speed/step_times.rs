//! The fitted speed model as the serving simulator's step times.

use super::SpeedModel;
use crate::simulate::StepTimes;

impl StepTimes for SpeedModel {
    /// A prefill chunk of `tokens` after `context` cached tokens (the batch shares the weight reads).
    fn prefill(&self, tokens: u32, context: u32, _batch: u32) -> f64 {
        if tokens == 0 {
            return 0.0;
        }
        self.prefill_time(f64::from(context), f64::from(tokens))
            .map_or(f64::INFINITY, |t| t.total())
    }

    /// One decode pass: a token for each of `batch` sequences at `mean_context`.
    fn decode(&self, batch: u32, mean_context: u32) -> f64 {
        if batch == 0 {
            return 0.0;
        }
        self.decode_step(f64::from(mean_context), 1.0, f64::from(batch))
            .0
            .total()
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
    use crate::speed::{SpeedParams, SpeedQuery};
    use crate::units::{Bytes, BytesPerSec, FlopsPerSec};

    #[test]
    fn step_times_match_the_speed_query() {
        let m = llama3_8b();
        let weights = stored_tensors(&m, &Quant::Float16);
        let dev = DeviceSpec {
            fp16: Some(FlopsPerSec::from_tflops(100.0)),
            ..DeviceSpec::test_gpu(
                "gpu",
                "x",
                Bytes::from_gib(80.0),
                BytesPerSec::from_gbs(1000.0),
            )
        };
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
        let sm = SpeedModel::new(&s, &SpeedParams::default());
        let q = SpeedQuery {
            prompt_tokens: 0,
            gen_tokens: 1,
            depth: 100,
            batch: 4,
        };
        let sp = sm.query(&q);
        assert!((sm.decode(4, 100) - 1.0 / sp.decode_tok_s).abs() < 1e-12);
        // longer context never makes a pass faster
        assert!(sm.decode(4, 4000) >= sm.decode(4, 100));
        assert!(sm.prefill(512, 1000, 1) > sm.prefill(512, 0, 1));
    }
}
