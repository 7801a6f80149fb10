//! Speed budgets: one speed query on a prepared scenario (<= 2 µs) and `plan` over the whole
//! catalog for one device (<= 50 ms).

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use headroom_core::memory::llama_cpp::LlamaCppSettings;
use headroom_core::plan::{Runtime, Scenario};
use headroom_core::quant::{stored_tensors, Quant, WeightSummary};
use headroom_core::speed::rank::{plan, PlanContext};
use headroom_core::speed::{SpeedModel, SpeedQuery, UseCase};

fn scenario(model: &str, quant: &str, device: &str) -> Scenario {
    let cat = headroom_data::catalog().expect("catalog loads");
    let m = cat.model(model).expect("catalog model").spec.clone();
    let q = Quant::parse(quant).expect("known quantization");
    let weights = stored_tensors(&m, &q);
    Scenario {
        weight_summary: WeightSummary::new(m.n_layer, &weights),
        weights,
        quant: q.label(),
        model: m,
        devices: vec![cat.hardware(device).expect("catalog device")],
        host_ram: Some(headroom_core::Bytes::from_gib(64.0)),
        wired_limit: None,
        runtime: Runtime::LlamaCpp(LlamaCppSettings::default()),
        beyond_trained: false,
        notes: Vec::new(),
    }
}

fn speed_query(c: &mut Criterion) {
    let p = headroom_data::speed_params_for("llama.cpp").expect("speed parameters");
    let s = scenario("qwen3-30b-a3b", "Q4_K_M", "rtx-4090");
    let m = SpeedModel::new(&s, p);
    let q = SpeedQuery {
        prompt_tokens: 4096,
        gen_tokens: 256,
        depth: 8192,
        batch: 1,
    };
    c.bench_function("speed query (qwen3-30b-a3b Q4_K_M, rtx-4090)", |b| {
        b.iter(|| black_box(m.query(black_box(&q))))
    });
    c.bench_function(
        "speed model prepare (qwen3-30b-a3b Q4_K_M, rtx-4090)",
        |b| b.iter(|| black_box(SpeedModel::new(black_box(&s), p))),
    );
}

fn plan_catalog(c: &mut Criterion) {
    let cat = headroom_data::catalog().expect("catalog loads");
    let p = headroom_data::speed_params_for("llama.cpp").expect("speed parameters");
    let models: Vec<_> = cat
        .models
        .iter()
        .map(|m| (m.id().to_string(), m.spec.clone()))
        .collect();
    let quants: Vec<Quant> = ["Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "F16"]
        .iter()
        .map(|q| Quant::parse(q).expect("known quantization"))
        .collect();
    let base = scenario("llama-3-8b", "Q4_K_M", "rtx-4090");
    let cx = PlanContext {
        base: &base,
        params: p,
        use_case: UseCase::Agent,
        quality: Some(headroom_data::quality_table().expect("quality table")),
    };
    let mut g = c.benchmark_group("plan");
    g.sample_size(10);
    g.bench_function("whole catalog, rtx-4090, agent", |b| {
        b.iter(|| black_box(plan(&models, &quants, &cx)))
    });
    g.finish();
}

criterion_group!(benches, speed_query, plan_catalog);
criterion_main!(benches);
